//! A system's state and counters, shared between its host and its [`SystemRef`]s.
//!
//! [`SystemRef`]: crate::system::SystemRef

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use tokio::sync::Notify;

use crate::ids::SystemId;

/// Where a system is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemState {
    /// Being wired to its channels.
    Starting,
    /// Running.
    Running,
    /// Stopped on request.
    Stopped,
    /// Stopped because it panicked more often than its restart policy allows.
    Failed,
}

impl SystemState {
    fn from_u8(v: u8) -> SystemState {
        match v {
            0 => SystemState::Starting,
            1 => SystemState::Running,
            2 => SystemState::Stopped,
            _ => SystemState::Failed,
        }
    }
}

/// A system's counters, readable at any time through
/// [`SystemRef::stats`](crate::system::SystemRef::stats), also after it stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SystemStats {
    /// The system.
    pub id: SystemId,
    /// Its state.
    pub state: SystemState,
    /// Messages handled.
    pub handled: u64,
    /// Ticks handled.
    pub ticks: u64,
    /// Panics caught.
    pub panics: u64,
    /// Restarts made.
    pub restarts: u64,
    /// Broadcast messages it missed by falling behind.
    pub lagged: u64,
}

/// Counters and state shared between a host and its [`SystemRef`]s.
#[derive(Debug, Default)]
pub(crate) struct Status {
    pub(crate) state: AtomicU8,
    pub(crate) handled: AtomicU64,
    pub(crate) ticks: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) lagged: AtomicU64,
    pub(crate) changed: Notify,
}

impl Status {
    pub(crate) fn set_state(&self, state: SystemState) {
        self.state.store(state as u8, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// Adds to a counter. Only the system's host writes its counters, so a plain load
    /// and store does, without the locked read-modify-write a `fetch_add` costs on every
    /// message handled.
    pub(crate) fn bump(counter: &AtomicU64, by: u64) {
        counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> SystemState {
        SystemState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn snapshot(&self, id: &SystemId) -> SystemStats {
        SystemStats {
            id: id.clone(),
            state: self.state(),
            handled: self.handled.load(Ordering::Relaxed),
            ticks: self.ticks.load(Ordering::Relaxed),
            panics: self.panics.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            lagged: self.lagged.load(Ordering::Relaxed),
        }
    }

    /// Resolves once the system has stopped or failed.
    pub(crate) async fn stopped(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if matches!(self.state(), SystemState::Stopped | SystemState::Failed) {
                return;
            }
            notified.await;
        }
    }
}
