//! The benchmark harness: the runner's statistics on synthetic workloads whose
//! timings are known (tokio's paused time), its errors, and every workload of the
//! standard suite doing the same work on both sides.

mod runner;
mod suite;
