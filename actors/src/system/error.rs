//! [`SpawnError`]: why a system could not be spawned.

use crate::channel::ChannelError;
use crate::ids::{ChannelId, SystemId};
use crate::placement::PlacementError;

/// Why a system could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// A channel handle given to the builder belongs to another holder.
    #[error("system `{system}` was given a handle of `{holder}` on channel `{channel}`: a system consumes channels only through its own handles")]
    WrongHolder {
        /// The system being spawned.
        system: SystemId,
        /// The handle's holder.
        holder: SystemId,
        /// The handle's channel.
        channel: ChannelId,
    },
    /// The same channel was linked twice.
    #[error("system `{system}` links channel `{channel}` twice: link each channel once")]
    DuplicateLink {
        /// The system being spawned.
        system: SystemId,
        /// The channel.
        channel: ChannelId,
    },
    /// A tick interval of zero.
    #[error("system `{system}` has a tick interval of zero: use a positive interval")]
    ZeroTick {
        /// The system being spawned.
        system: SystemId,
    },
    /// There is no arbiter to run it on.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// A channel refused to deliver to the system.
    #[error("a channel refused the system's subscription: {0}")]
    Link(ChannelError),
    /// The factory or `started` hook panicked more often than the restart policy allows.
    #[error("system `{system}` failed while starting: its factory or `started` hook panicked (see the log)")]
    Failed {
        /// The system.
        system: SystemId,
    },
}
