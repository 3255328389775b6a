//! Helpers shared by the benchmarks.
#![allow(dead_code)]

use std::time::Duration;

use criterion::Criterion;
use exokern::prelude::*;

/// A system id from a literal.
pub fn sid(name: &str) -> SystemId {
    SystemId::new(name).expect("valid system id")
}

/// A channel id from a literal.
pub fn cid(name: &str) -> ChannelId {
    ChannelId::new(name).expect("valid channel id")
}

/// Criterion settings that keep `cargo bench` to a few minutes on a 2-core machine.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}
