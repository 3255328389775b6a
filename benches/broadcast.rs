//! Broadcast fan-out: publish one message and wait until every subscriber has handled
//! it, at 1, 100 and 10,000 subscribers, beside raw actix doing the same fan-out (a
//! broadcaster actor `try_send`ing a shared payload to each subscriber's `Recipient`).
//! Throughput is per delivery, so the reported time is the cost of one delivery.

#[path = "common/mod.rs"]
mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use common::{cid, config, sid};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use exokern::prelude::*;
use tokio::sync::Notify;

/// Counts handled messages; the one that completes a round wakes the benchmark.
struct Sink {
    handled: Rc<Cell<usize>>,
    round: usize,
    done: Rc<Notify>,
}

impl Sink {
    fn bump(&self) {
        let n = self.handled.get() + 1;
        if n == self.round {
            self.handled.set(0);
            self.done.notify_one();
        } else {
            self.handled.set(n);
        }
    }
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Delivery<u64>> for Sink {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<u64>, _: &mut Context<Self>) {
        for msg in delivery {
            std::hint::black_box(msg.payload());
            self.bump();
        }
    }
}

/// The baseline's message: a shared payload, as our envelopes are shared.
#[derive(Message)]
#[rtype(result = "()")]
struct Raw(Arc<u64>);

impl Handler<Raw> for Sink {
    type Result = ();
    fn handle(&mut self, msg: Raw, _: &mut Context<Self>) {
        std::hint::black_box(&msg.0);
        self.bump();
    }
}

/// The baseline broadcaster.
struct Fanout(Vec<Recipient<Raw>>);

impl Actor for Fanout {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Publish(u64);

impl Handler<Publish> for Fanout {
    type Result = ();
    fn handle(&mut self, Publish(n): Publish, _: &mut Context<Self>) {
        let payload = Arc::new(n);
        for sub in &self.0 {
            sub.try_send(Raw(Arc::clone(&payload)))
                .expect("subscriber mailboxes have room");
        }
    }
}

fn sinks(n: usize, done: &Rc<Notify>) -> Vec<Addr<Sink>> {
    let handled = Rc::new(Cell::new(0));
    (0..n)
        .map(|_| {
            Sink {
                handled: Rc::clone(&handled),
                round: n,
                done: Rc::clone(done),
            }
            .start()
        })
        .collect()
}

fn fan_out(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let mut group = c.benchmark_group("broadcast_per_delivery");
    for subscribers in [1usize, 100, 10_000] {
        group.throughput(Throughput::Elements(subscribers as u64));

        let (fanout, done) = system.block_on(async {
            let done = Rc::new(Notify::new());
            let subs = sinks(subscribers, &done);
            let fanout = Fanout(subs.into_iter().map(Addr::recipient).collect()).start();
            (fanout, done)
        });
        group.bench_with_input(
            BenchmarkId::new("raw_actix", subscribers),
            &subscribers,
            |b, _| {
                b.iter_custom(|iters| {
                    system.block_on(async {
                        let start = Instant::now();
                        for n in 0..iters {
                            fanout.send(Publish(n)).await.unwrap();
                            done.notified().await;
                        }
                        start.elapsed()
                    })
                })
            },
        );

        let (writer, done, _channel) = system.block_on(async {
            let done = Rc::new(Notify::new());
            let channel = Broadcast::<u64>::builder(cid("bench"))
                .retention(0)
                .start()
                .unwrap();
            let writer = channel.grant(sid("writer"), Rights::WRITE).await.unwrap();
            for (i, sink) in sinks(subscribers, &done).into_iter().enumerate() {
                let handle = channel
                    .grant(sid(&format!("s{i}")), Rights::READ)
                    .await
                    .unwrap();
                handle
                    .subscribe_actor(sink.recipient(), SubscribeOptions::default())
                    .await
                    .unwrap();
            }
            (writer, done, channel)
        });
        group.bench_with_input(
            BenchmarkId::new("exokern", subscribers),
            &subscribers,
            |b, _| {
                b.iter_custom(|iters| {
                    system.block_on(async {
                        let start = Instant::now();
                        for n in 0..iters {
                            writer.publish(n).await.unwrap();
                            done.notified().await;
                        }
                        start.elapsed()
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = fan_out
}
criterion_main!(benches);
