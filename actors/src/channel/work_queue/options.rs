//! Options and reports of work-queue consumers.

use std::time::Duration;

use super::ClaimToken;

/// Identifies a push worker registered on a work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerId(pub(super) u64);

/// How a push worker receives items.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct WorkerOptions {
    pub(super) prefetch: usize,
    pub(super) lease: Option<Duration>,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions {
            prefetch: 16,
            lease: None,
        }
    }
}

impl WorkerOptions {
    /// The most unsettled items the worker holds at once (default 16), like JetStream's
    /// MaxAckPending.
    pub fn prefetch(mut self, items: usize) -> Self {
        self.prefetch = items;
        self
    }

    /// The lease of each delivery (default: the queue's).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }
}

/// The outcome of settling several claims at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettleReport {
    /// Tokens whose item was settled.
    pub settled: usize,
    /// Tokens that were not live leases of the caller; nothing was done for them.
    pub stale: Vec<ClaimToken>,
}
