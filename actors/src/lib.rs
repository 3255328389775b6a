//! The exokern runtime: channels, systems and kernel managers as actix actors.
#![warn(missing_docs, missing_debug_implementations)]

pub mod channel;
pub mod envelope;
pub mod ids;
pub mod placement;
pub mod prelude;
pub mod rights;

pub use envelope::{Envelope, Metadata, MetadataError, Outgoing};
pub use ids::{ChannelId, IdError, IdKind, MessageId, Seq, SystemId};
pub use rights::{ParseRightsError, Rights};
pub mod system;
