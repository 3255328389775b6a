//! Work queue: produce → claim → ack, in batches of 1,000 and one item at a time,
//! beside a raw actix queue actor doing the same bookkeeping (a ready list, a map of
//! claimed items, acks that remove them). Throughput is in items.

#[path = "common/mod.rs"]
mod common;

use common::{config, time_rounds, QueueBatch, RawQueue};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn produce_claim_ack(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let mut group = c.benchmark_group("work_queue_produce_claim_ack");
    for batch in [1usize, 1_000] {
        group.throughput(Throughput::Elements(batch as u64));
        let raw = system.block_on(async { RawQueue::start(batch) });
        let ours = system.block_on(QueueBatch::start(batch));
        group.bench_function(BenchmarkId::new("raw_actix", batch), |b| {
            b.iter_custom(|iters| time_rounds(&system, &raw, iters))
        });
        group.bench_function(BenchmarkId::new("exokern", batch), |b| {
            b.iter_custom(|iters| time_rounds(&system, &ours, iters))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = produce_claim_ack
}
criterion_main!(benches);
