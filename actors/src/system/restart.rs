//! How often a panicking system is restarted before it is stopped for good.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// At most `max_restarts` restarts within any `within` window; one more panic in the
/// window stops the system (Erlang's restart intensity).
///
/// ```
/// use std::time::Duration;
/// use exokern_actors::system::RestartPolicy;
///
/// let policy = RestartPolicy::up_to(5, Duration::from_secs(60));
/// assert_eq!(policy.max_restarts(), 5);
/// assert_eq!(RestartPolicy::never().max_restarts(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    max_restarts: u32,
    within: Duration,
}

impl RestartPolicy {
    /// Restart at most `max_restarts` times within any window of `within`.
    pub fn up_to(max_restarts: u32, within: Duration) -> RestartPolicy {
        RestartPolicy {
            max_restarts,
            within,
        }
    }

    /// Never restart: the first panic stops the system.
    pub fn never() -> RestartPolicy {
        RestartPolicy::up_to(0, Duration::ZERO)
    }

    /// The restart budget per window.
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The window.
    pub fn within(&self) -> Duration {
        self.within
    }
}

/// Three restarts within five seconds.
impl Default for RestartPolicy {
    fn default() -> RestartPolicy {
        RestartPolicy::up_to(3, Duration::from_secs(5))
    }
}

/// The restarts made recently, to apply a [`RestartPolicy`].
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    recent: VecDeque<Instant>,
}

impl RestartWindow {
    /// Records a restart at `now` if the policy allows one; `false` means stop.
    pub(crate) fn try_restart(&mut self, policy: &RestartPolicy, now: Instant) -> bool {
        while let Some(&oldest) = self.recent.front() {
            if now.duration_since(oldest) >= policy.within {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= policy.max_restarts as usize {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_budget_per_window_then_refuses() {
        let policy = RestartPolicy::up_to(2, Duration::from_secs(10));
        let mut window = RestartWindow::default();
        let t0 = Instant::now();
        assert!(window.try_restart(&policy, t0));
        assert!(window.try_restart(&policy, t0 + Duration::from_secs(1)));
        assert!(!window.try_restart(&policy, t0 + Duration::from_secs(2)));
    }

    #[test]
    fn old_restarts_leave_the_window() {
        let policy = RestartPolicy::up_to(2, Duration::from_secs(10));
        let mut window = RestartWindow::default();
        let t0 = Instant::now();
        assert!(window.try_restart(&policy, t0));
        assert!(window.try_restart(&policy, t0 + Duration::from_secs(5)));
        assert!(window.try_restart(&policy, t0 + Duration::from_secs(10)));
        assert!(!window.try_restart(&policy, t0 + Duration::from_secs(11)));
        assert!(window.try_restart(&policy, t0 + Duration::from_secs(16)));
    }

    #[test]
    fn never_refuses_the_first_restart() {
        let mut window = RestartWindow::default();
        assert!(!window.try_restart(&RestartPolicy::never(), Instant::now()));
    }
}
