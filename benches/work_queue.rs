//! Work queue: produce → claim → ack, in batches of 1,000 and one item at a time,
//! beside a raw actix queue actor doing the same bookkeeping (a ready list, a map of
//! claimed items, acks that remove them). Throughput is in items.

#[path = "common/mod.rs"]
mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use common::{cid, config, sid};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use exokern::prelude::*;

/// The baseline: a queue as a plain actix actor.
#[derive(Default)]
struct RawQueue {
    next_id: u64,
    ready: VecDeque<(u64, Arc<u64>)>,
    claimed: HashMap<u64, Arc<u64>>,
}

impl Actor for RawQueue {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Enqueue(Vec<u64>);

#[derive(Message)]
#[rtype(result = "Vec<(u64, Arc<u64>)>")]
struct Claim(usize);

#[derive(Message)]
#[rtype(result = "usize")]
struct Ack(Vec<u64>);

impl Handler<Enqueue> for RawQueue {
    type Result = ();
    fn handle(&mut self, Enqueue(items): Enqueue, _: &mut Context<Self>) {
        for item in items {
            self.next_id += 1;
            self.ready.push_back((self.next_id, Arc::new(item)));
        }
    }
}

impl Handler<Claim> for RawQueue {
    type Result = MessageResult<Claim>;
    fn handle(&mut self, Claim(n): Claim, _: &mut Context<Self>) -> Self::Result {
        let n = n.min(self.ready.len());
        let items: Vec<(u64, Arc<u64>)> = self.ready.drain(..n).collect();
        for (id, item) in &items {
            self.claimed.insert(*id, Arc::clone(item));
        }
        MessageResult(items)
    }
}

impl Handler<Ack> for RawQueue {
    type Result = usize;
    fn handle(&mut self, Ack(ids): Ack, _: &mut Context<Self>) -> usize {
        ids.iter()
            .filter(|id| self.claimed.remove(id).is_some())
            .count()
    }
}

const LEASE: Duration = Duration::from_secs(30);

fn produce_claim_ack(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let mut group = c.benchmark_group("work_queue_produce_claim_ack");
    for batch in [1usize, 1_000] {
        group.throughput(Throughput::Elements(batch as u64));

        let raw = system.block_on(async { RawQueue::default().start() });
        group.bench_with_input(BenchmarkId::new("raw_actix", batch), &batch, |b, &batch| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        raw.send(Enqueue((0..batch as u64).collect()))
                            .await
                            .unwrap();
                        let items = raw.send(Claim(batch)).await.unwrap();
                        let ids = items.iter().map(|(id, _)| *id).collect();
                        assert_eq!(raw.send(Ack(ids)).await.unwrap(), batch);
                    }
                    start.elapsed()
                })
            })
        });

        let (producer, consumer, _queue) = system.block_on(async {
            let queue = WorkQueue::<u64>::builder(cid("bench"))
                .capacity(10_000)
                .start()
                .unwrap();
            let producer = queue.grant(sid("producer"), Rights::WRITE).await.unwrap();
            let consumer = queue.grant(sid("consumer"), Rights::READ).await.unwrap();
            (producer, consumer, queue)
        });
        group.bench_with_input(BenchmarkId::new("exokern", batch), &batch, |b, &batch| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        producer.send_batch(0..batch as u64).await.unwrap();
                        let items = consumer.claim(batch, LEASE).await.unwrap();
                        let tokens = items.iter().filter_map(|i| i.claim_token()).collect();
                        let report = consumer.ack_many(tokens).await.unwrap();
                        assert_eq!(report.settled, batch);
                    }
                    start.elapsed()
                })
            })
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
