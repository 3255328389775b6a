//! Mailbox request/reply round trip, beside raw actix asking an actor that answers: with
//! a plain `send().await`, and with `send().timeout(..)`, which does the same work as a
//! request (every request has a deadline). On one arbiter, and with the answering actor
//! on a second arbiter.

#[path = "common/mod.rs"]
mod common;

use common::{config, time_rounds, MailboxAsk, RawAsk};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn round_trip(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let other = system.block_on(async { actix_rt::Arbiter::new() });
    let mut group = c.benchmark_group("mailbox_request_reply");
    for (placement, on) in [
        ("same_arbiter", None),
        ("two_arbiters", Some(other.handle())),
    ] {
        let raw = system.block_on(async { RawAsk::start(on.as_ref(), false) });
        let raw_timeout = system.block_on(async { RawAsk::start(on.as_ref(), true) });
        let ours = system.block_on(MailboxAsk::start(on.as_ref()));
        group.bench_function(BenchmarkId::new("raw_actix", placement), |b| {
            b.iter_custom(|iters| time_rounds(&system, &raw, iters))
        });
        group.bench_function(BenchmarkId::new("raw_actix_timeout", placement), |b| {
            b.iter_custom(|iters| time_rounds(&system, &raw_timeout, iters))
        });
        group.bench_function(BenchmarkId::new("exokern", placement), |b| {
            b.iter_custom(|iters| time_rounds(&system, &ours, iters))
        });
    }
    group.finish();
    other.stop();
}

criterion_group! {
    name = benches;
    config = config();
    targets = round_trip
}
criterion_main!(benches);
