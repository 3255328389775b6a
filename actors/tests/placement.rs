//! Placement: systems and channels on other arbiters, and use outside a System.

mod common;

use std::thread::ThreadId;
use std::time::Duration;

use common::{cid, sid};
use exokern_actors::channel::StartError;
use exokern_actors::placement::PlacementError;
use exokern_actors::prelude::*;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

/// Reports the thread it starts on and the payloads it receives.
struct Reporter {
    thread: UnboundedSender<ThreadId>,
    got: UnboundedSender<u64>,
}

impl System for Reporter {
    type Message = u64;

    fn started(&mut self, _: &mut SystemContext<'_, Self>) {
        let _ = self.thread.send(std::thread::current().id());
    }

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
        let _ = self.got.send(*msg.payload());
    }
}

#[actix_rt::test]
async fn systems_on_a_pool_receive_from_channels_on_other_arbiters() {
    let pool = ArbiterPool::new(2).unwrap();
    let here = std::thread::current().id();
    // The channel is owned by "alpha": on the pool it runs on alpha's arbiter.
    let feed = Broadcast::<u64>::builder(cid("feed"))
        .owner(sid("alpha"))
        .placement(Placement::Pool(pool.clone()))
        .start()
        .unwrap();
    let jobs = WorkQueue::<u64>::builder(cid("jobs")).start().unwrap();
    let writer = feed.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let producer = jobs.grant(sid("writer"), Rights::WRITE).await.unwrap();

    let (thread_tx, mut threads) = unbounded_channel();
    let (got_tx, mut got) = unbounded_channel();
    let mut systems = Vec::new();
    for name in ["alpha", "beta"] {
        let port = feed.grant(sid(name), Rights::READ).await.unwrap();
        let work = jobs.grant(sid(name), Rights::READ).await.unwrap();
        let (thread, got) = (thread_tx.clone(), got_tx.clone());
        systems.push(
            SystemActor::builder(sid(name), move || Reporter {
                thread: thread.clone(),
                got: got.clone(),
            })
            .subscribe(port, SubscribeOptions::default())
            .worker(work, WorkerOptions::default())
            .placement(Placement::Pool(pool.clone()))
            .spawn()
            .await
            .unwrap(),
        );
    }
    let alpha = threads.recv().await.unwrap();
    let beta = threads.recv().await.unwrap();
    assert!(alpha != here && beta != here && alpha != beta);

    for n in 1..=100 {
        writer.publish(n).await.unwrap();
    }
    producer.send_batch(1_000..1_100u64).await.unwrap();
    let mut broadcast_sum = 0;
    let mut work_sum = 0;
    for _ in 0..300 {
        let n = got.recv().await.unwrap();
        if n < 1_000 {
            broadcast_sum += n;
        } else {
            work_sum += n;
        }
    }
    assert_eq!(broadcast_sum, 2 * 5050, "both systems got every broadcast");
    assert_eq!(work_sum, (1_000..1_100u64).sum::<u64>(), "each job once");
    for system in &systems {
        system.stop().await;
    }
    let stats = jobs.stats().await.unwrap();
    assert_eq!((stats.acked, stats.in_flight), (100, 0));
}

#[actix_rt::test]
async fn a_pinned_system_runs_on_its_arbiter() {
    let arbiter = actix_rt::Arbiter::new();
    let (thread_tx, mut threads) = unbounded_channel();
    let (got_tx, _got) = unbounded_channel();
    let system = SystemActor::builder(sid("pinned"), move || Reporter {
        thread: thread_tx.clone(),
        got: got_tx.clone(),
    })
    .placement(Placement::Pinned(arbiter.handle()))
    .tick_every(Duration::from_secs(3600))
    .spawn()
    .await
    .unwrap();
    assert_ne!(threads.recv().await.unwrap(), std::thread::current().id());
    system.stop().await;
    arbiter.stop();
}

#[test]
fn outside_an_actix_system_starting_fails_with_a_typed_error() {
    assert!(matches!(
        Broadcast::<u8>::builder(cid("feed")).start(),
        Err(StartError::Placement(PlacementError::NoSystem))
    ));
    assert!(matches!(
        WorkQueue::<u8>::builder(cid("jobs")).start(),
        Err(StartError::Placement(PlacementError::NoSystem))
    ));
    assert!(matches!(
        Mailbox::<u8>::builder(cid("mail")).start(),
        Err(StartError::Placement(PlacementError::NoSystem))
    ));
    let message = StartError::Placement(PlacementError::NoSystem).to_string();
    assert!(message.contains("actix System"), "{message}");
}

#[test]
fn bad_channel_settings_are_refused_before_anything_starts() {
    actix_rt::System::new().block_on(async {
        assert!(matches!(
            WorkQueue::<u8>::builder(cid("q")).capacity(0).start(),
            Err(StartError::InvalidSpec { .. })
        ));
        assert!(matches!(
            WorkQueue::<u8>::builder(cid("q"))
                .lease(Duration::ZERO)
                .start(),
            Err(StartError::InvalidSpec { .. })
        ));
        assert!(matches!(
            WorkQueue::<u8>::builder(cid("q")).max_attempts(0).start(),
            Err(StartError::InvalidSpec { .. })
        ));
        assert!(matches!(
            Broadcast::<u8>::builder(cid("b"))
                .subscriber_buffer(0)
                .start(),
            Err(StartError::InvalidSpec { .. })
        ));
        assert!(matches!(
            Mailbox::<u8>::builder(cid("m")).inbox_capacity(0).start(),
            Err(StartError::InvalidSpec { .. })
        ));
        let too_big = usize::try_from(u64::from(u32::MAX) + 1).unwrap_or(usize::MAX);
        let refused = Mailbox::<u8>::builder(cid("m"))
            .inbox_capacity(too_big)
            .start()
            .err()
            .map(|error| error.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|error| error.contains("inbox_capacity must be from 1 to")),
            "{refused:?}"
        );
    });
}

/// Answers every request with its payload doubled, and says where it runs.
struct Doubler {
    thread: UnboundedSender<ThreadId>,
}

impl System for Doubler {
    type Message = u64;

    fn started(&mut self, _: &mut SystemContext<'_, Self>) {
        let _ = self.thread.send(std::thread::current().id());
    }

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, mut msg: Inbound<u64>) {
        let doubled = msg.payload() * 2;
        ctx.reply(&mut msg, doubled).unwrap();
    }
}

#[actix_rt::test]
async fn mail_crosses_arbiters_in_both_directions_and_a_dropped_pool_handle_stops_nothing() {
    let pool = ArbiterPool::new(2).unwrap();
    let mail = Mailbox::<u64>::builder(cid("rpc")).start().unwrap();
    let client = mail.grant(sid("client"), Rights::WRITE).await.unwrap();
    let inbox = mail
        .grant(sid("doubler"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    let (thread_tx, mut threads) = unbounded_channel();
    let _doubler = SystemActor::builder(sid("doubler"), move || Doubler {
        thread: thread_tx.clone(),
    })
    .inbox(inbox)
    // The only handle on the pool goes with the builder: its arbiters keep running.
    .placement(Placement::Pool(pool))
    .spawn()
    .await
    .unwrap();
    assert_ne!(threads.recv().await.unwrap(), std::thread::current().id());
    let mut asks = Vec::new();
    for n in 0..200u64 {
        let client = client.clone();
        asks.push(actix::spawn(async move {
            client
                .request(&sid("doubler"), n, Duration::from_secs(10))
                .await
                .map(|reply| (n, *reply.payload()))
        }));
    }
    for ask in asks {
        let (n, doubled) = ask.await.unwrap().unwrap();
        assert_eq!(doubled, n * 2);
    }
    let stats = mail.stats().await.unwrap();
    assert_eq!(
        (stats.accepted, stats.delivered, stats.depth),
        (400, 400, 0)
    );
}
