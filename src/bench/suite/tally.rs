//! [`Tally`]: how a driver learns that an iteration's work is all done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::bench::Failure;

/// Counts units of work as the actors doing them finish them, and wakes the driver when
/// an iteration's are all in. Work done after its iteration was over (a duplicate) is
/// caught when the next iteration starts. Both sides of every comparison use the same
/// tally.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    done: AtomicU64,
    target: AtomicU64,
    wake: Notify,
    failure: Mutex<Option<String>>,
}

impl Tally {
    pub(crate) fn new() -> Arc<Tally> {
        Arc::new(Tally {
            target: AtomicU64::new(u64::MAX),
            ..Tally::default()
        })
    }

    /// Counts `n` units done.
    pub(crate) fn add(&self, n: u64) {
        let total = self.done.fetch_add(n, Ordering::AcqRel) + n;
        if total == self.target.load(Ordering::Acquire) {
            self.wake.notify_one();
        }
    }

    /// Reports that an actor could not do its part; the driver's wait fails with it.
    pub(crate) fn fail(&self, why: impl ToString) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert_with(|| why.to_string());
        self.wake.notify_one();
    }

    /// Starts an iteration of `units`; pass the answer to [`wait`](Self::wait). Fails
    /// if work was done since the last iteration ended.
    pub(crate) fn expect(&self, units: u64) -> Result<u64, Failure> {
        let start = self.done.load(Ordering::Acquire);
        let last = self.target.load(Ordering::Acquire);
        if last != u64::MAX && start != last {
            return Err(format!(
                "work was done after its iteration was over: {} extra unit(s)",
                start.abs_diff(last)
            )
            .into());
        }
        self.target.store(start + units, Ordering::Release);
        Ok(start)
    }

    /// Waits until the iteration begun at `start` is done; answers the units done.
    pub(crate) async fn wait(&self, start: u64) -> Result<u64, Failure> {
        loop {
            let woken = self.wake.notified();
            if let Some(why) = self
                .failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Err(why.into());
            }
            let done = self.done.load(Ordering::Acquire);
            if done >= self.target.load(Ordering::Acquire) {
                return Ok(done - start);
            }
            woken.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn work_done_before_the_wait_counts_and_late_work_fails_the_next_iteration() {
        let tally = Tally::new();
        let start = tally.expect(3).unwrap();
        tally.add(2);
        tally.add(1);
        assert_eq!(tally.wait(start).await.unwrap(), 3);
        let start = tally.expect(2).unwrap();
        tally.add(2);
        assert_eq!(tally.wait(start).await.unwrap(), 2);
        tally.add(1);
        let error = tally.expect(2).unwrap_err();
        assert!(error.to_string().contains("1 extra unit"), "{error}");
    }

    #[actix_rt::test]
    async fn a_failure_wakes_the_driver() {
        let tally = Tally::new();
        let start = tally.expect(5).unwrap();
        tally.fail("inbox full");
        let error = tally.wait(start).await.unwrap_err();
        assert_eq!(error.to_string(), "inbox full");
    }
}
