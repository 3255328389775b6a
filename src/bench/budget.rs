//! [`Budget`]: how long the runner warms up and measures.

use std::time::Duration;

/// When a phase (warm-up or measurement) ends: once it has run for `time` and done at
/// least `min` iterations, or once it has done `max`, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase {
    /// How long the phase runs, at least.
    pub time: Duration,
    /// Iterations it does, at least, however long they take.
    pub min: u64,
    /// Iterations it does, at most, however short they are.
    pub max: u64,
}

impl Phase {
    /// Exactly `n` iterations, whatever they take.
    pub fn iterations(n: u64) -> Phase {
        Phase {
            time: Duration::ZERO,
            min: n,
            max: n,
        }
    }

    /// At least `time`, and at least `min` iterations.
    pub fn timed(time: Duration, min: u64) -> Phase {
        Phase {
            time,
            min,
            max: u64::MAX,
        }
    }

    /// Part `index` of this phase split into `parts` nearly equal parts (time, and
    /// both iteration bounds), so that the parts add up to the whole.
    pub(crate) fn part(&self, index: u64, parts: u64) -> Phase {
        let share = |total: u64| {
            if total == u64::MAX {
                u64::MAX
            } else {
                total / parts + u64::from(index < total % parts)
            }
        };
        Phase {
            time: self.time / parts as u32,
            min: share(self.min),
            max: share(self.max),
        }
    }

    /// Whether a phase that has done `iterations` in `elapsed` is over.
    pub(crate) fn is_over(&self, iterations: u64, elapsed: Duration) -> bool {
        iterations >= self.max || (iterations >= self.min && elapsed >= self.time)
    }
}

/// How long a workload warms up (iterations run and thrown away) and how long it is
/// measured.
///
/// ```
/// use std::time::Duration;
/// use exokern::bench::Budget;
///
/// // A second of warm-up, then at least three seconds and ten iterations measured.
/// let budget = Budget::timed(Duration::from_secs(1), Duration::from_secs(3)).min_iterations(10);
/// // Or exactly 2 iterations of warm-up and 100 measured, whatever they take.
/// let counted = Budget::iterations(2, 100);
/// assert_eq!(counted.measure.max, 100);
/// # let _ = budget;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The warm-up: run, not recorded.
    pub warm_up: Phase,
    /// The measurement: every iteration recorded.
    pub measure: Phase,
}

impl Budget {
    /// `warm_up` of warm-up (at least one iteration) and `measure` of measurement (at
    /// least five iterations).
    pub fn timed(warm_up: Duration, measure: Duration) -> Budget {
        Budget {
            warm_up: Phase::timed(warm_up, 1),
            measure: Phase::timed(measure, 5),
        }
    }

    /// Exactly `warm_up` iterations of warm-up and `measure` measured.
    pub fn iterations(warm_up: u64, measure: u64) -> Budget {
        Budget {
            warm_up: Phase::iterations(warm_up),
            measure: Phase::iterations(measure),
        }
    }

    /// Measures at least `n` iterations, however long they take.
    pub fn min_iterations(mut self, n: u64) -> Budget {
        self.measure.min = n;
        self.measure.max = self.measure.max.max(n);
        self
    }

    /// Measures at most `n` iterations, however short they are.
    pub fn max_iterations(mut self, n: u64) -> Budget {
        self.measure.max = n;
        self.measure.min = self.measure.min.min(n);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_to_the_whole() {
        let phase = Phase {
            time: Duration::from_millis(1000),
            min: 7,
            max: 23,
        };
        let parts: Vec<Phase> = (0..5).map(|i| phase.part(i, 5)).collect();
        assert_eq!(parts.iter().map(|p| p.min).sum::<u64>(), 7);
        assert_eq!(parts.iter().map(|p| p.max).sum::<u64>(), 23);
        assert!(parts.iter().all(|p| p.time == Duration::from_millis(200)));
        assert_eq!(Phase::timed(Duration::ZERO, 1).part(3, 10).max, u64::MAX);
    }

    #[test]
    fn a_phase_ends_at_its_maximum_or_after_its_time_and_minimum() {
        let phase = Phase {
            time: Duration::from_secs(1),
            min: 3,
            max: 10,
        };
        assert!(!phase.is_over(2, Duration::from_secs(5)));
        assert!(!phase.is_over(5, Duration::from_millis(999)));
        assert!(phase.is_over(3, Duration::from_secs(1)));
        assert!(phase.is_over(10, Duration::ZERO));
        assert!(Phase::iterations(0).is_over(0, Duration::ZERO));
    }
}
