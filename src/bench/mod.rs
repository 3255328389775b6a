//! A harness for benchmarking agent systems: define a [`Workload`], run it through a
//! [`Runner`] beside a baseline doing the same work, and read a [`Report`].
//!
//! The runner warms each workload up, then measures it under a [`Budget`] of time or
//! iterations, recording every iteration in a latency histogram
//! ([`hdrhistogram`](https://docs.rs/hdrhistogram)). A comparison alternates between
//! the two sides in rounds, so that a machine whose speed drifts slows both alike, and
//! reports each side's median and 99th percentile per unit of work, its throughput, and
//! the ratio of the medians. Every iteration reports the work its actors counted; a
//! count that differs from what the workload declares fails the run instead of
//! reporting a time for lost or duplicated messages.
//!
//! [`suite`] is the standard suite `exokern bench` runs: the Savina micro-benchmarks
//! and exokern's channels and governance, each beside raw actix.
//!
//! # Your own workload
//!
//! ```
//! use exokern::bench::{Budget, Failure, Runner, Workload};
//!
//! /// Sums numbers: `n` units of work per iteration.
//! struct Sum {
//!     n: u64,
//!     step: u64,
//! }
//!
//! impl Workload for Sum {
//!     type State = u64;
//!
//!     fn work(&self) -> u64 {
//!         self.n
//!     }
//!
//!     async fn setup(&mut self) -> Result<u64, Failure> {
//!         Ok(0)
//!     }
//!
//!     async fn iteration(&mut self, total: &mut u64) -> Result<u64, Failure> {
//!         for i in 0..self.n {
//!             *total = total.wrapping_add(std::hint::black_box(i * self.step));
//!         }
//!         Ok(self.n)
//!     }
//!
//!     async fn teardown(&mut self, _: u64) {}
//! }
//!
//! # actix_rt::System::new().block_on(async {
//! let runner = Runner::new(Budget::iterations(2, 20));
//! let report = runner
//!     .compare("sum", "number", Sum { n: 1_000, step: 3 }, Sum { n: 1_000, step: 1 })
//!     .await?;
//! assert_eq!(report.exokern.iterations(), 20);
//! assert_eq!(report.baseline.counted(), 20 * 1_000);
//! println!("{}", exokern::bench::table(&[report]));
//! # Ok::<(), exokern::bench::BenchError>(())
//! # }).unwrap();
//! ```

pub mod boltzmann;
mod budget;
mod error;
mod machine;
mod measurement;
mod report;
mod runner;
pub mod suite;
mod workload;

pub use budget::{Budget, Phase};
pub use error::BenchError;
pub use machine::Machine;
pub use measurement::{Figures, Measurement};
pub use report::{nanos, table, Line, Report};
pub use runner::Runner;
pub use suite::{Entry, Scale};
pub use workload::{Failure, Workload};
