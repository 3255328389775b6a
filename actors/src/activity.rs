//! [`Activity`]: the work in flight in a simulation round, counted by the runtime so a
//! round's end is detected without help from user code.
//!
//! Every unit of work a round starts enters the count and leaves it when it ends: a
//! cohort's pass over its agents, each future an agent spawned, each batch delivered
//! immediately, each governance request an agent made. The round is quiescent when the
//! count is zero. It lives at the bottom of the crate so the kernel's client can count
//! governance requests without knowing of simulations.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;
use tokio::sync::Notify;

/// Work in flight, and who it belongs to.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    outstanding: AtomicUsize,
    decisions: AtomicU64,
    quiet: Notify,
    /// Agents (by rank) with futures or requests in flight, for the error that names
    /// them when a round does not end.
    busy: Mutex<FxHashMap<u32, usize>>,
}

/// One unit of work; it leaves the count when dropped.
#[derive(Debug)]
pub(crate) struct Busy {
    activity: Arc<Activity>,
    agent: Option<u32>,
}

impl Activity {
    /// Counts a unit of work of no agent in particular (a cohort's pass).
    pub(crate) fn enter(self: &Arc<Self>) -> Busy {
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        Busy {
            activity: Arc::clone(self),
            agent: None,
        }
    }

    /// Counts a unit of work of agent `rank` (a future it spawned, a request it made).
    pub(crate) fn enter_for(self: &Arc<Self>, rank: u32) -> Busy {
        *self.busy_agents().entry(rank).or_default() += 1;
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        Busy {
            activity: Arc::clone(self),
            agent: Some(rank),
        }
    }

    /// Counts one governance decision answered.
    pub(crate) fn decided(&self) {
        self.decisions.fetch_add(1, Ordering::Relaxed);
    }

    /// Governance decisions answered so far.
    pub(crate) fn decisions(&self) -> u64 {
        self.decisions.load(Ordering::Relaxed)
    }

    /// Resolves once no work is in flight.
    pub(crate) async fn quiescent(&self) {
        loop {
            let quiet = self.quiet.notified();
            tokio::pin!(quiet);
            quiet.as_mut().enable();
            if self.outstanding.load(Ordering::Acquire) == 0 {
                return;
            }
            quiet.await;
        }
    }

    /// The ranks of the agents with work in flight, ascending.
    pub(crate) fn busy(&self) -> Vec<u32> {
        let mut ranks: Vec<u32> = self.busy_agents().keys().copied().collect();
        ranks.sort_unstable();
        ranks
    }

    fn busy_agents(&self) -> std::sync::MutexGuard<'_, FxHashMap<u32, usize>> {
        // A panic while the map is held cannot leave it half-changed: every change is
        // one insert or one decrement.
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(rank) = self.agent {
            let mut busy = self.activity.busy_agents();
            if let Some(count) = busy.get_mut(&rank) {
                *count -= 1;
                if *count == 0 {
                    busy.remove(&rank);
                }
            }
        }
        if self.activity.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.activity.quiet.notify_waiters();
        }
    }
}
