//! Systems hosted in actors: delivery, ticks, panics and restarts, replies.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{cid, queue_with_dead_letters, sid, QueueWithDeadLetters};
use exokern_actors::channel::{ChannelError, DeadLetterReason, WorkQueueHandle};
use exokern_actors::prelude::*;
use exokern_actors::system::{SpawnError, SystemState};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// What a test system reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Started,
    Got {
        payload: u32,
        attempt: u32,
        seen_before: u32,
    },
    Tick(u64),
    Lagged(u64),
    Stopping,
}

/// A system that reports everything and panics on the payloads it is told to.
struct Probe {
    events: UnboundedSender<Event>,
    handled: u32,
    panic_on: Arc<dyn Fn(u32, u32) -> bool + Send + Sync>,
    nack_first_attempt: bool,
}

impl System for Probe {
    type Message = u32;

    fn started(&mut self, _: &mut SystemContext<'_, Self>) {
        let _ = self.events.send(Event::Started);
    }

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<u32>) {
        if (self.panic_on)(*msg.payload(), msg.attempt()) {
            panic!("probe told to panic on {}", msg.payload());
        }
        if self.nack_first_attempt && msg.attempt() == 1 {
            assert!(ctx.nack(&msg, Some("not yet")));
        }
        let _ = self.events.send(Event::Got {
            payload: *msg.payload(),
            attempt: msg.attempt(),
            seen_before: self.handled,
        });
        self.handled += 1;
    }

    fn on_tick(&mut self, _: &mut SystemContext<'_, Self>, tick: Tick) {
        let _ = self.events.send(Event::Tick(tick.n));
    }

    fn on_lagged(&mut self, _: &mut SystemContext<'_, Self>, _: &ChannelId, missed: u64) {
        let _ = self.events.send(Event::Lagged(missed));
    }

    fn stopping(&mut self, _: &mut SystemContext<'_, Self>) {
        let _ = self.events.send(Event::Stopping);
    }
}

fn probe(
    panic_on: impl Fn(u32, u32) -> bool + Send + Sync + 'static,
) -> (
    impl FnMut() -> Probe + Send + 'static,
    UnboundedReceiver<Event>,
) {
    let (tx, rx) = unbounded_channel();
    let panic_on: Arc<dyn Fn(u32, u32) -> bool + Send + Sync> = Arc::new(panic_on);
    let factory = move || Probe {
        events: tx.clone(),
        handled: 0,
        panic_on: Arc::clone(&panic_on),
        nack_first_attempt: false,
    };
    (factory, rx)
}

fn never(_: u32, _: u32) -> bool {
    false
}

/// The next message a system reports handling, skipping (re)starts.
async fn next_got(events: &mut UnboundedReceiver<Event>) -> (u32, u32, u32) {
    loop {
        match events.recv().await.expect("the system reports") {
            Event::Got {
                payload,
                attempt,
                seen_before,
            } => return (payload, attempt, seen_before),
            Event::Started => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[actix_rt::test]
async fn a_system_receives_what_its_channels_push() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let port = ch.grant(sid("probe"), Rights::READ).await.unwrap();
    let (factory, mut events) = probe(never);
    let system = SystemActor::builder(sid("probe"), factory)
        .subscribe(port, SubscribeOptions::default())
        .spawn()
        .await
        .unwrap();
    assert_eq!(events.recv().await, Some(Event::Started));
    assert_eq!(system.stats().state, SystemState::Running);
    for n in 0..10 {
        writer.publish(n).await.unwrap();
    }
    for n in 0..10 {
        assert_eq!(next_got(&mut events).await, (n, 1, n));
    }
    assert_eq!(system.stats().handled, 10);
}

#[actix_rt::test]
async fn ticks_come_on_the_interval_and_from_an_external_clock() {
    tokio::time::pause();
    let (factory, mut events) = probe(never);
    let system = SystemActor::builder(sid("ticker"), factory)
        .tick_every(Duration::from_secs(1))
        .spawn()
        .await
        .unwrap();
    assert_eq!(events.recv().await, Some(Event::Started));
    for n in 0..3 {
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(events.recv().await, Some(Event::Tick(n)));
    }
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(events.try_recv().is_err(), "no tick between boundaries");
    system.tick(100).await.unwrap();
    assert_eq!(events.recv().await, Some(Event::Tick(100)));
    assert_eq!(system.stats().ticks, 4);
}

#[actix_rt::test]
async fn a_system_that_falls_behind_its_clock_skips_ticks_instead_of_bursting() {
    tokio::time::pause();
    let (factory, mut events) = probe(never);
    let _system = SystemActor::builder(sid("ticker"), factory)
        .tick_every(Duration::from_secs(1))
        .spawn()
        .await
        .unwrap();
    assert_eq!(events.recv().await, Some(Event::Started));
    // The clock jumps 3.5 s at once: the late first tick runs, boundaries 2 s and 3 s
    // are skipped, and the next tick is the one due at 4 s, numbered accordingly.
    tokio::time::advance(Duration::from_millis(3_500)).await;
    assert_eq!(events.recv().await, Some(Event::Tick(0)));
    assert!(events.try_recv().is_err(), "no burst of missed ticks");
    tokio::time::advance(Duration::from_millis(500)).await;
    assert_eq!(events.recv().await, Some(Event::Tick(3)));
}

#[actix_rt::test]
async fn a_panic_is_caught_and_the_system_restarted_fresh() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let port = ch.grant(sid("fragile"), Rights::READ).await.unwrap();
    let bystander_port = ch.grant(sid("bystander"), Rights::READ).await.unwrap();
    let (factory, mut events) = probe(|payload, _| payload == 3);
    let fragile = SystemActor::builder(sid("fragile"), factory)
        .subscribe(port, SubscribeOptions::default())
        .spawn()
        .await
        .unwrap();
    let (bystander_factory, mut bystander_events) = probe(never);
    let bystander = SystemActor::builder(sid("bystander"), bystander_factory)
        .subscribe(bystander_port, SubscribeOptions::default())
        .spawn()
        .await
        .unwrap();
    for n in 0..6 {
        writer.publish(n).await.unwrap();
    }
    assert_eq!(events.recv().await, Some(Event::Started));
    for n in 0..3 {
        assert_eq!(next_got(&mut events).await, (n, 1, n));
    }
    // After the panic on 3: a fresh instance (it has seen nothing) handles 4 and 5.
    assert_eq!(events.recv().await, Some(Event::Started));
    assert_eq!(next_got(&mut events).await, (4, 1, 0));
    assert_eq!(next_got(&mut events).await, (5, 1, 1));
    let stats = fragile.stats();
    assert_eq!(
        (stats.panics, stats.restarts, stats.state),
        (1, 1, SystemState::Running)
    );
    // The other system saw all six, untouched.
    for n in 0..6 {
        assert_eq!(next_got(&mut bystander_events).await, (n, 1, n));
    }
    assert_eq!(bystander.stats().panics, 0);
}

async fn work_setup(
    names: &[&str],
) -> (
    WorkQueue<u32>,
    WorkQueueHandle<u32>,
    Vec<WorkQueueHandle<u32>>,
) {
    let q = WorkQueue::<u32>::builder(cid("jobs")).start().unwrap();
    let producer = q.grant(sid("producer"), Rights::WRITE).await.unwrap();
    let mut ports = Vec::new();
    for name in names {
        ports.push(q.grant(sid(name), Rights::READ).await.unwrap());
    }
    (q, producer, ports)
}

#[actix_rt::test]
async fn a_panicking_workers_claimed_items_are_redelivered_and_only_the_culprit_pays_an_attempt() {
    let (q, producer, ports) = work_setup(&["worker"]).await;
    let panicked = Arc::new(AtomicBool::new(false));
    let once = Arc::clone(&panicked);
    let (factory, mut events) =
        probe(move |payload, _| payload == 2 && !once.swap(true, Ordering::SeqCst));
    let _worker = SystemActor::builder(sid("worker"), factory)
        .worker(ports[0].clone(), WorkerOptions::default().prefetch(4))
        .spawn()
        .await
        .unwrap();
    producer.send_batch(0..8u32).await.unwrap();

    let mut got = Vec::new();
    while got.len() < 8 {
        got.push(next_got(&mut events).await);
    }
    assert!(panicked.load(Ordering::SeqCst));
    // 0 and 1 were acked before the panic. 2 made the system panic: it came back on
    // its second attempt. 3 was claimed with them but never handed to the system: it
    // came back too, still on its first attempt.
    let mut items: Vec<(u32, u32)> = got.iter().map(|&(p, a, _)| (p, a)).collect();
    items.sort_unstable();
    assert_eq!(
        items,
        vec![
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 1),
            (4, 1),
            (5, 1),
            (6, 1),
            (7, 1)
        ]
    );
    let stats = q.stats().await.unwrap();
    assert_eq!(
        (stats.acked, stats.redelivered, stats.in_flight, stats.depth),
        (8, 1, 0, 0)
    );
}

#[actix_rt::test]
async fn a_poison_item_is_dead_lettered_alone_and_its_batch_mates_are_untouched() {
    let QueueWithDeadLetters {
        queue: q,
        producer,
        worker: port,
        ops: dlq_reader,
    } = queue_with_dead_letters(|b| b.max_attempts(3)).await;
    let (factory, mut events) = probe(|payload, _| payload == 1);
    let _worker = SystemActor::builder(sid("worker"), factory)
        .worker(port, WorkerOptions::default().prefetch(4))
        .restart(RestartPolicy::up_to(10, Duration::from_secs(60)))
        .spawn()
        .await
        .unwrap();
    producer.send_batch(0..8u32).await.unwrap();

    let mut got = Vec::new();
    while got.len() < 7 {
        got.push(next_got(&mut events).await);
    }
    let mut items: Vec<(u32, u32)> = got.iter().map(|&(p, a, _)| (p, a)).collect();
    items.sort_unstable();
    let expected: Vec<(u32, u32)> = (0..8).filter(|&n| n != 1).map(|n| (n, 1)).collect();
    assert_eq!(
        items, expected,
        "everything but the poison, each on its first attempt"
    );
    let letter = dlq_reader
        .claim_wait(10, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(letter.len(), 1);
    let letter = letter[0].payload();
    assert_eq!((*letter.envelope().payload(), letter.attempts()), (1, 3));
    match letter.reason() {
        DeadLetterReason::MaxAttempts {
            last_error: Some(error),
        } => assert!(error.contains("probe told to panic on 1"), "{error}"),
        other => panic!("{other:?}"),
    }
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.acked, stats.dead_lettered), (7, 1));
}

#[actix_rt::test]
async fn past_its_restart_policy_a_system_fails_and_its_work_goes_to_others() {
    let (q, producer, ports) = work_setup(&["doomed", "steady"]).await;
    let (doomed_factory, mut doomed_events) = probe(|_, _| true);
    let doomed = SystemActor::builder(sid("doomed"), doomed_factory)
        .worker(ports[0].clone(), WorkerOptions::default().prefetch(2))
        .restart(RestartPolicy::up_to(2, Duration::from_secs(60)))
        .spawn()
        .await
        .unwrap();
    producer.send_batch(0..6u32).await.unwrap();
    doomed.stopped().await;
    let stats = doomed.stats();
    assert_eq!(
        (stats.state, stats.panics, stats.restarts),
        (SystemState::Failed, 3, 2)
    );
    while let Ok(event) = doomed_events.try_recv() {
        assert!(!matches!(event, Event::Got { .. }), "{event:?}");
    }

    let (steady_factory, mut steady_events) = probe(never);
    let _steady = SystemActor::builder(sid("steady"), steady_factory)
        .worker(ports[1].clone(), WorkerOptions::default())
        .spawn()
        .await
        .unwrap();
    let mut got: Vec<u32> = Vec::new();
    while got.len() < 6 {
        got.push(next_got(&mut steady_events).await.0);
    }
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(q.stats().await.unwrap().acked, 6);
}

#[actix_rt::test]
async fn a_nack_from_the_context_sends_the_item_round_again() {
    let (q, producer, ports) = work_setup(&["picky"]).await;
    let (tx, mut events) = unbounded_channel();
    let factory = move || Probe {
        events: tx.clone(),
        handled: 0,
        panic_on: Arc::new(never),
        nack_first_attempt: true,
    };
    let _picky = SystemActor::builder(sid("picky"), factory)
        .worker(ports[0].clone(), WorkerOptions::default())
        .spawn()
        .await
        .unwrap();
    producer.send(9).await.unwrap();
    assert_eq!(next_got(&mut events).await, (9, 1, 0));
    assert_eq!(next_got(&mut events).await, (9, 2, 1));
    while q.stats().await.unwrap().acked == 0 {
        actix_rt::task::yield_now().await;
    }
    assert_eq!(q.stats().await.unwrap().redelivered, 1);
}

/// Answers every request with its payload doubled.
struct Doubler;

impl System for Doubler {
    type Message = u32;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, mut msg: Inbound<u32>) {
        let doubled = msg.payload() * 2;
        ctx.reply(&mut msg, doubled).unwrap();
    }
}

#[actix_rt::test]
async fn a_system_answers_requests_in_its_inbox() {
    let mail = Mailbox::<u32>::builder(cid("rpc")).start().unwrap();
    let client = mail.grant(sid("client"), Rights::WRITE).await.unwrap();
    let inbox = mail
        .grant(sid("doubler"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    let _doubler = SystemActor::builder(sid("doubler"), || Doubler)
        .inbox(inbox)
        .spawn()
        .await
        .unwrap();
    for n in 0..50 {
        let reply = client
            .request(&sid("doubler"), n, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(
            (*reply.payload(), reply.sender().as_str()),
            (n * 2, "doubler")
        );
    }
}

#[actix_rt::test]
async fn stopping_runs_the_hook_and_returns_claimed_work() {
    let (q, producer, ports) = work_setup(&["quitter"]).await;
    let (factory, mut events) = probe(never);
    let quitter = SystemActor::builder(sid("quitter"), factory)
        .worker(ports[0].clone(), WorkerOptions::default())
        .spawn()
        .await
        .unwrap();
    quitter.stop().await;
    assert!(!quitter.is_running());
    assert_eq!(quitter.stats().state, SystemState::Stopped);
    assert_eq!(events.recv().await, Some(Event::Started));
    assert_eq!(events.recv().await, Some(Event::Stopping));
    producer.send(1).await.unwrap();
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.consumers, stats.depth), (0, 1));
}

/// Handles one item, then stops itself.
struct OneAndDone;

impl System for OneAndDone {
    type Message = u32;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, _: Inbound<u32>) {
        ctx.stop();
    }
}

#[actix_rt::test]
async fn a_worker_that_stops_hands_back_what_it_never_saw_without_charging_an_attempt() {
    let (q, producer, ports) = work_setup(&["quitter", "steady"]).await;
    let quitter = SystemActor::builder(sid("quitter"), || OneAndDone)
        .worker(ports[0].clone(), WorkerOptions::default().prefetch(4))
        .spawn()
        .await
        .unwrap();
    producer.send_batch(0..4u32).await.unwrap();
    quitter.stopped().await;

    let (factory, mut events) = probe(never);
    let _steady = SystemActor::builder(sid("steady"), factory)
        .worker(ports[1].clone(), WorkerOptions::default())
        .spawn()
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        let (payload, attempt, _) = next_got(&mut events).await;
        got.push((payload, attempt));
    }
    got.sort_unstable();
    assert_eq!(got, vec![(1, 1), (2, 1), (3, 1)]);
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.acked, stats.redelivered), (4, 0));
}

/// Blocks its own mailbox until released, to fall behind on purpose.
struct Sleeper {
    events: UnboundedSender<Event>,
    gate: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl System for Sleeper {
    type Message = u32;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<u32>) {
        let _ = self.events.send(Event::Got {
            payload: *msg.payload(),
            attempt: 1,
            seen_before: 0,
        });
        if let Some(gate) = self.gate.take() {
            use actix::AsyncContext;
            // Handle nothing more until the test opens the gate.
            ctx.actix()
                .expect("a system actor has an actix context")
                .wait(actix::fut::wrap_future(async move {
                    let _ = gate.await;
                }));
        }
    }

    fn on_lagged(&mut self, _: &mut SystemContext<'_, Self>, _: &ChannelId, missed: u64) {
        let _ = self.events.send(Event::Lagged(missed));
    }
}

#[actix_rt::test]
async fn a_system_that_falls_behind_is_told_how_much_it_missed() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let port = ch.grant(sid("sleeper"), Rights::READ).await.unwrap();
    let (tx, mut events) = unbounded_channel();
    let (release, gate) = tokio::sync::oneshot::channel();
    let mut gate = Some(gate);
    let sleeper = SystemActor::builder(sid("sleeper"), move || Sleeper {
        events: tx.clone(),
        gate: gate.take(),
    })
    .subscribe(port, SubscribeOptions::default().buffer(3))
    .spawn()
    .await
    .unwrap();
    writer.publish(0).await.unwrap();
    assert_eq!(next_got(&mut events).await.0, 0);
    // The sleeper is blocked; ten more arrive for a buffer of three: 8, 9 and 10 wait
    // in its buffer, and the seven before them were dropped.
    for n in 1..=10 {
        writer.publish(n).await.unwrap();
    }
    release.send(()).unwrap();
    for n in [8, 9, 10] {
        assert_eq!(next_got(&mut events).await.0, n);
    }
    assert_eq!(events.recv().await, Some(Event::Lagged(7)));
    assert_eq!(sleeper.stats().lagged, 7);
    assert_eq!(ch.stats().await.unwrap().dropped, 7);
}

#[actix_rt::test]
async fn spawning_checks_its_wiring() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let theirs = ch.grant(sid("someone-else"), Rights::READ).await.unwrap();
    let mine = ch.grant(sid("me"), Rights::READ).await.unwrap();
    let (factory, _events) = probe(never);
    assert!(matches!(
        SystemActor::builder(sid("me"), factory)
            .subscribe(theirs, SubscribeOptions::default())
            .spawn()
            .await,
        Err(SpawnError::WrongHolder { .. })
    ));
    let (factory, _events) = probe(never);
    assert!(matches!(
        SystemActor::builder(sid("me"), factory)
            .subscribe(mine.clone(), SubscribeOptions::default())
            .subscribe(mine.clone(), SubscribeOptions::default())
            .spawn()
            .await,
        Err(SpawnError::DuplicateLink { .. })
    ));
    let (factory, _events) = probe(never);
    assert!(matches!(
        SystemActor::builder(sid("me"), factory)
            .tick_every(Duration::ZERO)
            .spawn()
            .await,
        Err(SpawnError::ZeroTick { .. })
    ));
    let (factory, _events) = probe(never);
    assert!(matches!(
        SystemActor::builder(sid("me"), factory)
            .subscribe(mine, SubscribeOptions::default().buffer(0))
            .spawn()
            .await,
        Err(SpawnError::Link(ChannelError::InvalidArgument { .. }))
    ));
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let failing = move || -> Probe {
        counted.fetch_add(1, Ordering::SeqCst);
        panic!("cannot build");
    };
    assert!(matches!(
        SystemActor::builder(sid("me"), failing).spawn().await,
        Err(SpawnError::Failed { .. })
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
