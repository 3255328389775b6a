#![doc = include_str!("../README.md")]

mod activity;
pub mod capability;
pub mod channel;
mod clock;
mod envelope;
mod glob;
mod ids;
pub mod kernel;
pub mod placement;
pub mod policy;
pub mod prelude;
pub mod protocol;
mod rights;
mod serde_with;
pub mod simulation;
pub mod store;
pub mod system;
pub mod systems;

pub use envelope::{
    Envelope, Metadata, MetadataError, Outgoing, SharedEnvelope, MAX_METADATA_ENTRIES,
    MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN,
};
pub use glob::{Glob, GlobError, MAX_GLOB_LEN};
pub use ids::{ChannelId, IdError, IdKind, MessageId, Seq, SystemId, KERNEL_PREFIX, MAX_ID_LEN};
pub use rights::{ParseRightsError, Rights};
