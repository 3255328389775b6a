//! [`BenchError`]: why a benchmark has no result.

use std::time::Duration;

use thiserror::Error;

use super::Failure;

/// Why a benchmark has no result.
#[derive(Debug, Error)]
pub enum BenchError {
    /// A workload's hook returned an error.
    #[error("`{workload}` failed in {step}: {source}")]
    Failed {
        /// The workload, and which side of the comparison.
        workload: String,
        /// `setup`, `prepare` or `iteration`.
        step: &'static str,
        /// What it returned.
        source: Failure,
    },
    /// An iteration did a different amount of work than the workload declares.
    #[error(
        "`{workload}` reported {counted} units of work in an iteration that should do \
         {expected}: it lost or duplicated work, so its time would mean nothing"
    )]
    Miscounted {
        /// The workload, and which side of the comparison.
        workload: String,
        /// What [`Workload::work`](super::Workload::work) declares.
        expected: u64,
        /// What the iteration reported.
        counted: u64,
    },
    /// A comparison's two sides declare different work per iteration.
    #[error(
        "`{name}` compares unlike work: exokern does {exokern} units per iteration and \
         the baseline {baseline}; give both the same size"
    )]
    UnlikeWork {
        /// The benchmark.
        name: String,
        /// Units per iteration of the exokern side.
        exokern: u64,
        /// Units per iteration of the baseline.
        baseline: u64,
    },
    /// An iteration did not finish in time.
    #[error(
        "`{workload}` did not finish an iteration within {after:?}: a message it waits \
         for was probably lost"
    )]
    Stalled {
        /// The workload, and which side of the comparison.
        workload: String,
        /// How long the runner waited.
        after: Duration,
    },
}
