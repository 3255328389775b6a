//! What a channel reports about itself: kind, lifecycle state, counters, drain results.

use std::fmt;

use serde::Serialize;

use crate::ids::ChannelId;

/// The three kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Every subscriber gets every message.
    Broadcast,
    /// Competing consumers claim items, at least once.
    WorkQueue,
    /// One bounded inbox per recipient.
    Mailbox,
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelKind::Broadcast => "broadcast",
            ChannelKind::WorkQueue => "work_queue",
            ChannelKind::Mailbox => "mailbox",
        })
    }
}

/// Where a channel is in its life: `Running → Draining → Stopped`, or straight to
/// `Stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    /// Accepting and delivering.
    Running,
    /// Delivering what it holds; refusing new messages with
    /// [`ChannelError::Draining`](crate::channel::ChannelError::Draining).
    Draining,
    /// Stopped; every operation fails with
    /// [`ChannelError::Closed`](crate::channel::ChannelError::Closed).
    Stopped,
}

/// A snapshot of a channel's counters. Counters only grow; gauges (`depth`,
/// `in_flight`, `lag`, `consumers`, `holders`) are current values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChannelStats {
    /// The channel.
    pub channel: ChannelId,
    /// Its kind.
    pub kind: ChannelKind,
    /// Its lifecycle state.
    pub state: ChannelState,
    /// Its bound: retained history (broadcast), items (work queue), per-inbox items
    /// (mailbox).
    pub capacity: usize,
    /// Items accepted and not yet taken by a consumer.
    pub depth: u64,
    /// Work items claimed and not yet acked or nacked.
    pub in_flight: u64,
    /// Messages accepted from writers.
    pub accepted: u64,
    /// Deliveries made to consumers (a broadcast counts one per subscriber).
    pub delivered: u64,
    /// Work items acknowledged.
    pub acked: u64,
    /// Messages dropped: overflowing subscriber buffers, and items left in the buffers of
    /// consumers that went away.
    pub dropped: u64,
    /// The largest backlog of any one consumer.
    pub lag: u64,
    /// Work items delivered again after a nack, an expired lease or a released claim.
    pub redelivered: u64,
    /// Work items moved to the dead-letter channel (or discarded, if none is set).
    pub dead_lettered: u64,
    /// Operations refused: missing rights, revoked grants, full, draining or stale claims.
    pub rejected: u64,
    /// Subscribers (broadcast), push workers (work queue) or inboxes (mailbox).
    pub consumers: usize,
    /// Live grants.
    pub holders: usize,
}

/// How a drain or stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DrainOutcome {
    /// Everything accepted was delivered (and, for a work queue, settled) in time.
    Completed,
    /// The timeout passed first; what was left is counted in `undelivered`.
    TimedOut,
    /// Stopped at once, without draining.
    Stopped,
    /// The channel had already stopped.
    AlreadyStopped,
}

/// The result of [`drain`](crate::channel::ChannelControl::drain) or
/// [`stop`](crate::channel::ChannelControl::stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    /// How it ended.
    pub outcome: DrainOutcome,
    /// Messages not yet taken by a consumer when the channel stopped. Broadcast and
    /// mailbox consumers can still take them from their buffers; a work queue sends its
    /// leftovers to its dead-letter channel.
    pub undelivered: u64,
}
