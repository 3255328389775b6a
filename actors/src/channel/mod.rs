//! Channels: broadcast, work queue and mailbox, each run by an actix actor.
//!
//! A broadcast's publishes and a work queue's sends, claims and settlements are
//! messages to the channel's actor, whose mailbox is their queue and whose one thread
//! orders them. A mailbox's sends do not pass through its actor: the sending handle
//! pushes straight into the recipient's bounded inbox, which orders what each sender
//! sends; the actor keeps the access list, the directory of inboxes, the counters and
//! the drain.
//!
//! A channel is created by its owner through a builder, e.g.
//! [`Broadcast::builder`]; the owner grants rights to holders and gets back their
//! handles ([`BroadcastHandle`], [`WorkQueueHandle`], [`MailboxHandle`]). A handle is a
//! capability: it has private fields, can only be made by a grant, and stamps its
//! holder's identity on everything sent through it. The handle checks the holder's
//! rights before sending and the channel checks them again on every operation, so
//! revoking a holder ([`ChannelControl::revoke`]) makes its handles fail from then on.
//!
//! Consumers either pull (`recv`, `claim`, `read`) or have messages pushed to an actix
//! actor that handles [`Delivery`]. Every path is bounded; see each kind for what happens
//! when a bound is reached.

mod access;
pub(crate) mod actor;
mod after_sync;
mod broadcast;
mod delivery;
mod error;
mod handle;
mod inbound;
mod mailbox;
mod notice;
mod options;
mod outlet;
mod room;
mod stats;
mod work_queue;

pub use broadcast::{
    Broadcast, BroadcastBuilder, BroadcastHandle, StartAt, SubscribeOptions, Subscription,
    SubscriptionId,
};
pub use delivery::Delivery;
pub use error::{ChannelError, CloseReason, RecvError};
pub use handle::{ChannelControl, ChannelHandle};
pub use inbound::Inbound;
pub use mailbox::{Mailbox, MailboxBuilder, MailboxHandle};
pub use outlet::Overflow;
pub use stats::{ChannelKind, ChannelState, ChannelStats, DrainOutcome, DrainReport};
pub use work_queue::{
    ClaimToken, DeadLetter, DeadLetterReason, ParseClaimTokenError, SettleReport, WorkQueue,
    WorkQueueBuilder, WorkQueueHandle, WorkerId, WorkerOptions, MAX_LEASE,
};

pub(crate) use outlet::{Outlet, Wake};
pub(crate) use work_queue::Settle;

use crate::ids::ChannelId;
use crate::placement::PlacementError;

/// The most items one read, claim or prefetch may ask for.
pub const MAX_BATCH: usize = 10_000;

/// Why a channel could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A setting is out of range.
    #[error("channel `{channel}` cannot start: {reason}")]
    InvalidSpec {
        /// The channel.
        channel: ChannelId,
        /// What was wrong.
        reason: String,
    },
    /// There is no arbiter to run it on.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// Its store could not give back what it kept.
    #[error("channel `{channel}` cannot start: {error}")]
    Store {
        /// The channel.
        channel: ChannelId,
        /// What the store said.
        error: crate::store::StoreError,
    },
}

impl StartError {
    pub(crate) fn invalid(channel: &ChannelId, reason: impl Into<String>) -> StartError {
        StartError::InvalidSpec {
            channel: channel.clone(),
            reason: reason.into(),
        }
    }
}
