//! What a subscription is: its id, where it starts and its options.

use crate::channel::outlet::Overflow;
use crate::ids::Seq;

/// Identifies one subscription on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(pub(super) u64);

/// Where a new subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// With the next message published.
    #[default]
    Live,
    /// With the retained messages after this seq, then live. If some of them were
    /// already evicted the subscriber is told how many it missed, first.
    After(Seq),
    /// With every retained message, then live.
    Earliest,
}

/// How to subscribe; anything not set takes the channel's default.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct SubscribeOptions {
    pub(super) start: StartAt,
    pub(super) buffer: Option<usize>,
    pub(super) overflow: Option<Overflow>,
}

impl SubscribeOptions {
    /// Where to start.
    pub fn start(mut self, start: StartAt) -> Self {
        self.start = start;
        self
    }

    /// How many messages may wait for the subscriber (at least 1). A push subscriber
    /// also holds the one message being handed to it.
    pub fn buffer(mut self, buffer: usize) -> Self {
        self.buffer = Some(buffer);
        self
    }

    /// What happens when the buffer is full.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }
}
