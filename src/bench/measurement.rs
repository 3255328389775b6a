//! [`Measurement`]: the recorded iterations of one workload, and the figures drawn
//! from them.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest iteration recorded as what it took, in nanoseconds (an hour); longer
/// ones are recorded as an hour.
const LONGEST: u64 = 3_600_000_000_000;

/// Every measured iteration of one workload: a latency histogram (nanoseconds per
/// iteration, three significant digits), the count and the total time. Each iteration
/// did the workload's work exactly (the runner records no other), so the units done
/// follow from the count.
#[derive(Clone)]
pub struct Measurement {
    histogram: Histogram<u64>,
    work: u64,
    elapsed: Duration,
}

impl Measurement {
    /// An empty measurement of a workload doing `work` units per iteration.
    pub fn new(work: u64) -> Measurement {
        Measurement {
            histogram: Histogram::new_with_bounds(1, LONGEST, 3)
                .expect("1 ns to an hour at 3 significant digits are valid bounds"),
            work,
            elapsed: Duration::ZERO,
        }
    }

    /// Records one iteration, of the workload's work, that took `took`.
    pub fn record(&mut self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(nanos);
        self.elapsed += took;
    }

    /// Iterations recorded.
    pub fn iterations(&self) -> u64 {
        self.histogram.len()
    }

    /// Units of work per iteration.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Units of work the recorded iterations did, in total.
    pub fn counted(&self) -> u64 {
        self.iterations() * self.work
    }

    /// Time spent in recorded iterations, in total.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The iteration time at `quantile` (0.0 to 1.0), in nanoseconds: the middle of
    /// the histogram bucket holding it, within 0.1% of what was recorded.
    pub fn iteration_nanos(&self, quantile: f64) -> u64 {
        let bucket = self.histogram.value_at_quantile(quantile);
        self.histogram.median_equivalent(bucket)
    }

    /// The figures a report shows: per unit of work, and units per second.
    pub fn figures(&self) -> Figures {
        let per_unit = |nanos: u64| nanos as f64 / self.work.max(1) as f64;
        let seconds = self.elapsed.as_secs_f64();
        Figures {
            median: per_unit(self.iteration_nanos(0.5)),
            p99: per_unit(self.iteration_nanos(0.99)),
            throughput: if seconds > 0.0 {
                self.counted() as f64 / seconds
            } else {
                0.0
            },
            iterations: self.iterations(),
        }
    }
}

impl fmt::Debug for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Measurement")
            .field("iterations", &self.iterations())
            .field("work", &self.work)
            .field("counted", &self.counted())
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// A measurement summed up: nanoseconds per unit of work at the median and the 99th
/// percentile iteration, and units of work per second over all recorded iterations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Nanoseconds per unit in the median iteration.
    pub median: f64,
    /// Nanoseconds per unit in the 99th-percentile iteration.
    pub p99: f64,
    /// Units per second, all recorded iterations together.
    pub throughput: f64,
    /// Iterations recorded.
    pub iterations: u64,
}
