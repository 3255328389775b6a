#![doc = include_str!("../README.md")]
#![warn(missing_docs, missing_debug_implementations)]

mod activity;
pub mod capability;
pub mod channel;
mod clock;
pub mod envelope;
pub mod glob;
pub mod ids;
pub mod kernel;
pub mod placement;
pub mod policy;
pub mod prelude;
pub mod protocol;
pub mod rights;
mod serde_with;
pub mod simulation;
pub mod system;
pub mod systems;

pub use envelope::{Envelope, Metadata, MetadataError, Outgoing};
pub use glob::{Glob, GlobError};
pub use ids::{ChannelId, IdError, IdKind, MessageId, Seq, SystemId};
pub use rights::{ParseRightsError, Rights};
