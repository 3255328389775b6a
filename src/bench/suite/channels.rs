//! Channels beside raw actix: a broadcast fan-out, and a work queue pushing to workers
//! that ack.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;
use rustc_hash::FxHashMap;

use super::raw::{Broadcaster, Cast, Halt};
use super::tally::Tally;
use super::Scale;
use crate::bench::{BenchError, Failure, Report, Runner, Workload};
use crate::channel::{
    Broadcast, BroadcastHandle, Delivery, Inbound, SubscribeOptions, WorkQueue, WorkQueueHandle,
    WorkerOptions,
};
use crate::system::{System, SystemActor, SystemContext, SystemRef};
use crate::{ChannelId, Rights, SystemId};

pub(super) fn fan_out(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let subscribers = scale.pick(10_000, 10_000, 50);
    Box::pin(runner.compare(
        "broadcast-fan-out",
        "delivery",
        FanOutOnExokern { subscribers },
        FanOutOnActix { subscribers },
    ))
}

pub(super) fn work_queue(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let queue = Queue {
        items: scale.pick(10_000, 2_000, 100),
        workers: 8,
        prefetch: 16,
    };
    Box::pin(runner.compare(
        "work-queue",
        "item",
        QueueOnExokern(queue),
        QueueOnActix(queue),
    ))
}

// ------------------------------------------------------------------ broadcast --

/// A subscriber: counts what it is handed, from a channel or from the raw broadcaster.
/// Both sides of the fan-out use it, so they differ only in how messages reach it.
struct Sink {
    tally: Arc<Tally>,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Delivery<u64>> for Sink {
    type Result = ();

    fn handle(&mut self, delivery: Delivery<u64>, _: &mut Context<Self>) {
        let mut handled = 0;
        for msg in delivery {
            black_box(msg.payload());
            handled += 1;
        }
        self.tally.add(handled);
    }
}

/// The raw broadcaster's message: a shared payload, as exokern's envelopes are shared.
#[derive(Clone, Message)]
#[rtype(result = "()")]
struct Shared(Arc<u64>);

impl Handler<Shared> for Sink {
    type Result = ();

    fn handle(&mut self, Shared(payload): Shared, _: &mut Context<Self>) {
        black_box(&payload);
        self.tally.add(1);
    }
}

fn sinks(n: usize, tally: &Arc<Tally>) -> Vec<Addr<Sink>> {
    (0..n)
        .map(|_| {
            Sink {
                tally: Arc::clone(tally),
            }
            .start()
        })
        .collect()
}

/// On exokern: a broadcast channel, every sink subscribed for push delivery.
struct FanOutOnExokern {
    subscribers: usize,
}

struct FanOutChannel {
    channel: Broadcast<u64>,
    writer: BroadcastHandle<u64>,
    tally: Arc<Tally>,
    _sinks: Vec<Addr<Sink>>,
}

impl Workload for FanOutOnExokern {
    type State = FanOutChannel;

    fn work(&self) -> u64 {
        self.subscribers as u64
    }

    async fn setup(&mut self) -> Result<FanOutChannel, Failure> {
        let tally = Tally::new();
        let channel = Broadcast::<u64>::builder(ChannelId::new("bench.fan-out")?)
            .retention(0)
            .max_subscribers(self.subscribers)
            .start()?;
        let writer = channel
            .grant(SystemId::new("writer")?, Rights::WRITE)
            .await?;
        let sinks = sinks(self.subscribers, &tally);
        for (i, sink) in sinks.iter().enumerate() {
            let handle = channel
                .grant(SystemId::new(format!("sink-{i}"))?, Rights::READ)
                .await?;
            handle
                .subscribe_actor(sink.clone().recipient(), SubscribeOptions::default())
                .await?;
        }
        Ok(FanOutChannel {
            channel,
            writer,
            tally,
            _sinks: sinks,
        })
    }

    async fn iteration(&mut self, state: &mut FanOutChannel) -> Result<u64, Failure> {
        let start = state.tally.expect(self.work())?;
        state.writer.publish(start).await?;
        state.tally.wait(start).await
    }

    async fn teardown(&mut self, state: FanOutChannel) {
        state.channel.stop().await;
    }
}

/// On raw actix: a broadcaster actor `try_send`s a shared payload to every sink.
struct FanOutOnActix {
    subscribers: usize,
}

impl Workload for FanOutOnActix {
    type State = (Addr<Broadcaster<Shared>>, Arc<Tally>);

    fn work(&self) -> u64 {
        self.subscribers as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let tally = Tally::new();
        let sinks = sinks(self.subscribers, &tally);
        let broadcaster = Broadcaster(sinks.into_iter().map(Addr::recipient).collect()).start();
        Ok((broadcaster, tally))
    }

    async fn iteration(&mut self, (broadcaster, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.work())?;
        broadcaster.send(Cast(Shared(Arc::new(start)))).await??;
        tally.wait(start).await
    }

    async fn teardown(&mut self, _: Self::State) {}
}

// ----------------------------------------------------------------- work queue --

/// A batch of `items` sent at once, pushed to `workers` workers holding at most
/// `prefetch` unacked items each.
#[derive(Debug, Clone, Copy)]
struct Queue {
    items: u64,
    workers: usize,
    prefetch: usize,
}

/// An exokern worker: handles an item; its host acks it when the hook returns.
struct QueueWorker {
    tally: Arc<Tally>,
}

impl System for QueueWorker {
    type Message = u64;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, item: Inbound<u64>) {
        black_box(item.payload());
        self.tally.add(1);
    }
}

/// On exokern: a work queue, the batch sent with one `send_batch`, workers registered
/// as push workers.
struct QueueOnExokern(Queue);

struct QueueState {
    queue: WorkQueue<u64>,
    producer: WorkQueueHandle<u64>,
    workers: Vec<SystemRef<QueueWorker>>,
    tally: Arc<Tally>,
}

impl Workload for QueueOnExokern {
    type State = QueueState;

    fn work(&self) -> u64 {
        self.0.items
    }

    async fn setup(&mut self) -> Result<QueueState, Failure> {
        let Queue {
            items,
            workers,
            prefetch,
        } = self.0;
        let tally = Tally::new();
        // Room for a batch, and for the last batch's items whose acks are in flight.
        let queue = WorkQueue::<u64>::builder(ChannelId::new("bench.queue")?)
            .capacity(2 * items as usize + workers * prefetch)
            .start()?;
        let producer = queue
            .grant(SystemId::new("producer")?, Rights::WRITE)
            .await?;
        let mut hosts = Vec::with_capacity(workers);
        for i in 0..workers {
            let id = SystemId::new(format!("worker-{i}"))?;
            let handle = queue.grant(id.clone(), Rights::READ).await?;
            let tally = Arc::clone(&tally);
            let host = SystemActor::builder(id, move || QueueWorker {
                tally: Arc::clone(&tally),
            })
            .worker(handle, WorkerOptions::default().prefetch(prefetch))
            .spawn()
            .await?;
            hosts.push(host);
        }
        Ok(QueueState {
            queue,
            producer,
            workers: hosts,
            tally,
        })
    }

    async fn iteration(&mut self, state: &mut QueueState) -> Result<u64, Failure> {
        let start = state.tally.expect(self.0.items)?;
        state.producer.send_batch(0..self.0.items).await?;
        state.tally.wait(start).await
    }

    async fn teardown(&mut self, state: QueueState) {
        for worker in &state.workers {
            worker.stop().await;
        }
        state.queue.stop().await;
    }
}

/// The raw queue: a ready list, a map of items out with workers, round-robin push up
/// to the prefetch limit, and acks that settle items and free a worker's slot.
struct RawQueue {
    next_id: u64,
    ready: VecDeque<(u64, Arc<u64>)>,
    out: FxHashMap<u64, Arc<u64>>,
    workers: Vec<(Recipient<Job>, usize)>,
    turn: usize,
    prefetch: usize,
}

impl RawQueue {
    fn dispatch(&mut self) {
        while !self.ready.is_empty() {
            let count = self.workers.len();
            let Some(w) = (0..count)
                .map(|i| (self.turn + i) % count)
                .find(|&w| self.workers[w].1 < self.prefetch)
            else {
                return;
            };
            let Some((id, item)) = self.ready.pop_front() else {
                return;
            };
            self.out.insert(id, Arc::clone(&item));
            let (worker, held) = &mut self.workers[w];
            *held += 1;
            self.turn = (w + 1) % count;
            if let Err(refused) = worker.try_send(Job {
                id,
                item,
                worker: w,
            }) {
                let job = refused.into_inner();
                self.out.remove(&job.id);
                *held -= 1;
                self.ready.push_front((job.id, job.item));
                return;
            }
        }
    }
}

impl Actor for RawQueue {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.workers.len() * self.prefetch + 16);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Enqueue(Vec<u64>);

impl Handler<Enqueue> for RawQueue {
    type Result = ();

    fn handle(&mut self, Enqueue(items): Enqueue, _: &mut Context<Self>) {
        for item in items {
            self.next_id += 1;
            self.ready.push_back((self.next_id, Arc::new(item)));
        }
        self.dispatch();
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Acked {
    id: u64,
    worker: usize,
}

impl Handler<Acked> for RawQueue {
    type Result = ();

    fn handle(&mut self, Acked { id, worker }: Acked, _: &mut Context<Self>) {
        if self.out.remove(&id).is_some() {
            self.workers[worker].1 -= 1;
        }
        self.dispatch();
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Job {
    id: u64,
    item: Arc<u64>,
    worker: usize,
}

struct RawWorker {
    queue: Recipient<Acked>,
    tally: Arc<Tally>,
    prefetch: usize,
}

impl Actor for RawWorker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.prefetch);
    }
}

impl Handler<Job> for RawWorker {
    type Result = ();

    fn handle(&mut self, Job { id, item, worker }: Job, _: &mut Context<Self>) {
        black_box(&item);
        self.tally.add(1);
        if let Err(error) = self.queue.try_send(Acked { id, worker }) {
            self.tally.fail(format!("an ack was refused: {error}"));
        }
    }
}

impl Handler<Halt> for RawQueue {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// On raw actix: the raw queue and its workers.
struct QueueOnActix(Queue);

impl Workload for QueueOnActix {
    type State = (Addr<RawQueue>, Arc<Tally>);

    fn work(&self) -> u64 {
        self.0.items
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let Queue {
            workers, prefetch, ..
        } = self.0;
        let tally = Tally::new();
        let queue = RawQueue::create(|ctx| {
            let me = ctx.address().recipient();
            let workers = (0..workers)
                .map(|_| {
                    let worker = RawWorker {
                        queue: me.clone(),
                        tally: Arc::clone(&tally),
                        prefetch,
                    };
                    (worker.start().recipient(), 0)
                })
                .collect();
            RawQueue {
                next_id: 0,
                ready: VecDeque::new(),
                out: FxHashMap::default(),
                workers,
                turn: 0,
                prefetch,
            }
        });
        Ok((queue, tally))
    }

    async fn iteration(&mut self, (queue, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.0.items)?;
        queue.send(Enqueue((0..self.0.items).collect())).await?;
        tally.wait(start).await
    }

    async fn teardown(&mut self, (queue, _): Self::State) {
        let _ = queue.send(Halt).await;
    }
}
