//! The workloads the benchmarks time, each beside a raw-actix twin doing the same work.
//! Shared by the criterion benchmarks and the paired runner (`benches/paired.rs`).
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::Criterion;
use exokern::channel::MailboxHandle;
use exokern::prelude::*;
use tokio::sync::Notify;

/// A system id from a literal.
pub(crate) fn sid(name: &str) -> SystemId {
    SystemId::new(name).expect("valid system id")
}

/// A channel id from a literal.
pub(crate) fn cid(name: &str) -> ChannelId {
    ChannelId::new(name).expect("valid channel id")
}

/// Criterion settings that keep `cargo bench` to a few minutes on a 2-core machine.
pub(crate) fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

/// One iteration of a workload.
pub(crate) trait Round {
    /// Does the work once; `n` numbers the iteration.
    fn round(&self, n: u64) -> impl Future<Output = ()> + '_;
}

/// Any async closure is a workload whose rounds ignore their number.
impl<F: AsyncFn()> Round for F {
    fn round(&self, _: u64) -> impl Future<Output = ()> + '_ {
        self()
    }
}

/// Times `iters` rounds of `workload` inside `system`.
pub(crate) fn time_rounds<W: Round>(
    system: &actix_rt::SystemRunner,
    workload: &W,
    iters: u64,
) -> Duration {
    system.block_on(async {
        let start = Instant::now();
        for n in 0..iters {
            workload.round(n).await;
        }
        start.elapsed()
    })
}

/// Times `iters` rounds of `timed`, with as many rounds of `other` run untimed in
/// between, `block` rounds at a time, so that both workloads are measured in the same
/// state of the heap and the caches. Timed one after the other, at 10,000 subscribers
/// whichever fan-out runs second is two to three times slower, in the heap the first
/// left behind, whichever it is.
pub(crate) fn time_interleaved<A: Round, B: Round>(
    system: &actix_rt::SystemRunner,
    timed: &A,
    other: &B,
    iters: u64,
    block: u64,
) -> Duration {
    system.block_on(async {
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let rounds = block.min(iters - done);
            for n in done..done + rounds {
                other.round(n).await;
            }
            let start = Instant::now();
            for n in done..done + rounds {
                timed.round(n).await;
            }
            total += start.elapsed();
            done += rounds;
        }
        total
    })
}

// ---------------------------------------------------------------- broadcast fan-out --

/// Counts handled messages; the one that completes a round wakes the benchmark.
pub(crate) struct Sink {
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
pub(crate) struct Raw(Arc<u64>);

impl Handler<Raw> for Sink {
    type Result = ();
    fn handle(&mut self, msg: Raw, _: &mut Context<Self>) {
        std::hint::black_box(&msg.0);
        self.bump();
    }
}

/// The baseline broadcaster: `try_send`s a shared payload to every subscriber.
pub(crate) struct Fanout(Vec<Recipient<Raw>>);

impl Actor for Fanout {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Publish(u64);

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

/// Raw actix: publish one message to `n` subscribers and wait until all handled it.
pub(crate) struct RawFanout {
    fanout: Addr<Fanout>,
    done: Rc<Notify>,
}

impl RawFanout {
    /// Starts the broadcaster and `subscribers` subscribers.
    pub(crate) fn start(subscribers: usize) -> RawFanout {
        let done = Rc::new(Notify::new());
        let subs = sinks(subscribers, &done);
        let fanout = Fanout(subs.into_iter().map(Addr::recipient).collect()).start();
        RawFanout { fanout, done }
    }
}

impl Round for RawFanout {
    async fn round(&self, n: u64) {
        self.fanout.send(Publish(n)).await.expect("running");
        self.done.notified().await;
    }
}

/// exokern: the same through a broadcast channel with push subscribers.
pub(crate) struct ChannelFanout {
    writer: BroadcastHandle<u64>,
    done: Rc<Notify>,
    _channel: Broadcast<u64>,
}

impl ChannelFanout {
    /// Starts the channel and `subscribers` subscribers.
    pub(crate) async fn start(subscribers: usize) -> ChannelFanout {
        let done = Rc::new(Notify::new());
        let channel = Broadcast::<u64>::builder(cid("bench"))
            .retention(0)
            .start()
            .expect("starts");
        let writer = channel
            .grant(sid("writer"), Rights::WRITE)
            .await
            .expect("granted");
        for (i, sink) in sinks(subscribers, &done).into_iter().enumerate() {
            let handle = channel
                .grant(sid(&format!("s{i}")), Rights::READ)
                .await
                .expect("granted");
            handle
                .subscribe_actor(sink.recipient(), SubscribeOptions::default())
                .await
                .expect("subscribed");
        }
        ChannelFanout {
            writer,
            done,
            _channel: channel,
        }
    }
}

impl Round for ChannelFanout {
    async fn round(&self, n: u64) {
        self.writer.publish(n).await.expect("published");
        self.done.notified().await;
    }
}

// ------------------------------------------------------------- request / reply --------

/// Deadline of every request, in both variants that have one.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// Answers every question with the number plus one: as a raw actix message, or as a
/// request in its exokern inbox.
pub(crate) struct Responder {
    inbox: Option<MailboxHandle<u64>>,
}

impl Actor for Responder {
    type Context = Context<Self>;
}

impl Handler<Delivery<u64>> for Responder {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<u64>, _: &mut Context<Self>) {
        let inbox = self.inbox.as_ref().expect("wired before use");
        for mut request in delivery {
            let answer = request.payload() + 1;
            inbox.reply(&mut request, answer).expect("requester waits");
        }
    }
}

#[derive(Message)]
#[rtype(result = "u64")]
pub(crate) struct Ping(u64);

impl Handler<Ping> for Responder {
    type Result = u64;
    fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Wire(MailboxHandle<u64>);

impl Handler<Wire> for Responder {
    type Result = ();
    fn handle(&mut self, Wire(inbox): Wire, ctx: &mut Context<Self>) {
        inbox
            .subscribe_actor(ctx.address().recipient())
            .expect("the responder may read its inbox");
        self.inbox = Some(inbox);
    }
}

fn responder(on: Option<&actix_rt::ArbiterHandle>) -> Addr<Responder> {
    match on {
        None => Responder { inbox: None }.start(),
        Some(arbiter) => Responder::start_in_arbiter(arbiter, |_| Responder { inbox: None }),
    }
}

/// Raw actix: `send(..).await` to the responder, with or without a timeout.
pub(crate) struct RawAsk {
    responder: Addr<Responder>,
    timeout: bool,
}

impl RawAsk {
    /// A responder here or on `on`; `timeout` adds a deadline to every ask.
    pub(crate) fn start(on: Option<&actix_rt::ArbiterHandle>, timeout: bool) -> RawAsk {
        RawAsk {
            responder: responder(on),
            timeout,
        }
    }
}

impl Round for RawAsk {
    async fn round(&self, n: u64) {
        let answer = if self.timeout {
            self.responder.send(Ping(n)).timeout(TIMEOUT).await
        } else {
            self.responder.send(Ping(n)).await
        };
        assert_eq!(answer.expect("answered"), n + 1);
    }
}

/// exokern: a request through a mailbox to the same responder.
pub(crate) struct MailboxAsk {
    client: MailboxHandle<u64>,
    server: SystemId,
    _mail: Mailbox<u64>,
}

impl MailboxAsk {
    /// A mailbox, and a responder here or on `on` reading its inbox.
    pub(crate) async fn start(on: Option<&actix_rt::ArbiterHandle>) -> MailboxAsk {
        let mail = Mailbox::<u64>::builder(cid("rpc")).start().expect("starts");
        let client = mail
            .grant(sid("client"), Rights::WRITE)
            .await
            .expect("granted");
        let inbox = mail
            .grant(sid("server"), Rights::READ | Rights::WRITE)
            .await
            .expect("granted");
        responder(on).send(Wire(inbox)).await.expect("wired");
        MailboxAsk {
            client,
            server: sid("server"),
            _mail: mail,
        }
    }
}

impl Round for MailboxAsk {
    async fn round(&self, n: u64) {
        let reply = self
            .client
            .request(&self.server, n, TIMEOUT)
            .await
            .expect("answered");
        assert_eq!(*reply.payload(), n + 1);
    }
}

// ---------------------------------------------------------------- work queue ---------

/// The baseline: a queue as a plain actix actor with the same bookkeeping (a ready
/// list, a map of claimed items, acks that remove them).
#[derive(Default)]
pub(crate) struct RawQueueActor {
    next_id: u64,
    ready: VecDeque<(u64, Arc<u64>)>,
    claimed: HashMap<u64, Arc<u64>>,
}

impl Actor for RawQueueActor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Enqueue(Vec<u64>);

#[derive(Message)]
#[rtype(result = "Vec<(u64, Arc<u64>)>")]
pub(crate) struct Claim(usize);

#[derive(Message)]
#[rtype(result = "usize")]
pub(crate) struct Ack(Vec<u64>);

impl Handler<Enqueue> for RawQueueActor {
    type Result = ();
    fn handle(&mut self, Enqueue(items): Enqueue, _: &mut Context<Self>) {
        for item in items {
            self.next_id += 1;
            self.ready.push_back((self.next_id, Arc::new(item)));
        }
    }
}

impl Handler<Claim> for RawQueueActor {
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

impl Handler<Ack> for RawQueueActor {
    type Result = usize;
    fn handle(&mut self, Ack(ids): Ack, _: &mut Context<Self>) -> usize {
        ids.iter()
            .filter(|id| self.claimed.remove(id).is_some())
            .count()
    }
}

/// Lease of every exokern claim.
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// Raw actix: enqueue a batch, claim it, ack it.
pub(crate) struct RawQueue {
    queue: Addr<RawQueueActor>,
    batch: usize,
}

impl RawQueue {
    /// A queue actor, worked in batches of `batch`.
    pub(crate) fn start(batch: usize) -> RawQueue {
        RawQueue {
            queue: RawQueueActor::default().start(),
            batch,
        }
    }
}

impl Round for RawQueue {
    async fn round(&self, _: u64) {
        let batch = self.batch;
        self.queue
            .send(Enqueue((0..batch as u64).collect()))
            .await
            .expect("running");
        let items = self.queue.send(Claim(batch)).await.expect("running");
        let ids = items.iter().map(|(id, _)| *id).collect();
        assert_eq!(self.queue.send(Ack(ids)).await.expect("running"), batch);
    }
}

/// exokern: the same through a work queue.
pub(crate) struct QueueBatch {
    producer: WorkQueueHandle<u64>,
    consumer: WorkQueueHandle<u64>,
    batch: usize,
    _queue: WorkQueue<u64>,
}

impl QueueBatch {
    /// A work queue, worked in batches of `batch`.
    pub(crate) async fn start(batch: usize) -> QueueBatch {
        let queue = WorkQueue::<u64>::builder(cid("bench"))
            .capacity(10_000)
            .start()
            .expect("starts");
        let producer = queue
            .grant(sid("producer"), Rights::WRITE)
            .await
            .expect("granted");
        let consumer = queue
            .grant(sid("consumer"), Rights::READ)
            .await
            .expect("granted");
        QueueBatch {
            producer,
            consumer,
            batch,
            _queue: queue,
        }
    }
}

impl Round for QueueBatch {
    async fn round(&self, _: u64) {
        let batch = self.batch;
        self.producer
            .send_batch(0..batch as u64)
            .await
            .expect("queued");
        let items = self.consumer.claim(batch, LEASE).await.expect("claimed");
        let tokens = items.iter().filter_map(|i| i.claim_token()).collect();
        let report = self.consumer.ack_many(tokens).await.expect("acked");
        assert_eq!(report.settled, batch);
    }
}
