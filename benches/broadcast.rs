//! Broadcast fan-out: publish one message and wait until every subscriber has handled
//! it, at 1, 100 and 10,000 subscribers, beside raw actix doing the same fan-out (a
//! broadcaster actor `try_send`ing a shared payload to each subscriber's `Recipient`).
//! Throughput is per delivery, so the reported time is the cost of one delivery.
//!
//! The two fan-outs run interleaved, a block of untimed rounds of one before each block
//! of timed rounds of the other (see `time_interleaved`): at 10,000 subscribers the
//! heap one leaves behind slows the other down two to three times, so measuring them
//! one after the other measures their order.

#[path = "common/mod.rs"]
mod common;

use common::{config, time_interleaved, ChannelFanout, RawFanout};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn fan_out(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let mut group = c.benchmark_group("broadcast_per_delivery");
    for subscribers in [1usize, 100, 10_000] {
        group.throughput(Throughput::Elements(subscribers as u64));
        // About a millisecond of rounds per block, at least one.
        let block = (1_000 / subscribers as u64).max(1);
        let raw = system.block_on(async { RawFanout::start(subscribers) });
        let ours = system.block_on(ChannelFanout::start(subscribers));
        group.bench_function(BenchmarkId::new("raw_actix", subscribers), |b| {
            b.iter_custom(|iters| time_interleaved(&system, &raw, &ours, iters, block))
        });
        group.bench_function(BenchmarkId::new("exokern", subscribers), |b| {
            b.iter_custom(|iters| time_interleaved(&system, &ours, &raw, iters, block))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = fan_out
}
criterion_main!(benches);
