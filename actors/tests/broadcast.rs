//! Broadcast channels: fan-out, ordering, retained history, lag, slow subscribers.

mod common;

use actix::{Actor, Context, Handler};
use common::{cid, payloads, sid};
use exokern_actors::channel::{ChannelError, CloseReason, RecvError, MAX_BATCH};
use exokern_actors::prelude::*;

#[actix_rt::test]
async fn every_subscriber_gets_every_message_in_publish_order() {
    let ch = Broadcast::<u32>::builder(cid("ticks")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let mut subs = Vec::new();
    for i in 0..5 {
        let reader = ch.grant(sid(&format!("r{i}")), Rights::READ).await.unwrap();
        subs.push(reader.subscribe(SubscribeOptions::default()).await.unwrap());
    }
    for n in 0..100 {
        assert_eq!(writer.publish(n).await.unwrap(), Seq::new(u64::from(n) + 1));
    }
    for sub in &mut subs {
        for n in 0..100u32 {
            let msg = sub.recv().await.unwrap();
            assert_eq!((*msg.payload(), msg.seq().get()), (n, u64::from(n) + 1));
            assert_eq!(msg.sender(), &sid("writer"));
            assert_eq!(msg.channel(), &cid("ticks"));
        }
        assert!(sub.try_recv().unwrap().is_none());
    }
    let stats = ch.stats().await.unwrap();
    assert_eq!(
        (stats.accepted, stats.delivered, stats.dropped),
        (100, 500, 0)
    );
    assert_eq!(stats.consumers, 5);
}

#[actix_rt::test]
async fn concurrent_writers_keep_their_own_order_and_lose_nothing() {
    let ch = Broadcast::<(u32, u32)>::builder(cid("events"))
        .retention(0)
        .subscriber_buffer(8 * 500)
        .start()
        .unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let mut sub = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    let mut writers = Vec::new();
    for w in 0..8u32 {
        let handle = ch
            .grant(sid(&format!("w{w}")), Rights::WRITE)
            .await
            .unwrap();
        writers.push(actix::spawn(async move {
            for n in 0..500u32 {
                handle.publish((w, n)).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let mut next = [0u32; 8];
    let mut last_seq = 0;
    for _ in 0..8 * 500 {
        let msg = sub.recv().await.unwrap();
        let (w, n) = *msg.payload();
        assert_eq!(n, next[w as usize], "writer {w} out of order");
        assert_eq!(msg.sender().as_str(), format!("w{w}"));
        assert!(msg.seq().get() > last_seq, "seqs are monotonic");
        last_seq = msg.seq().get();
        next[w as usize] += 1;
    }
    assert_eq!(next, [500; 8]);
}

#[actix_rt::test]
async fn a_subscriber_that_never_reads_does_not_hold_up_the_others() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let slow = ch.grant(sid("slow"), Rights::READ).await.unwrap();
    let fast = ch.grant(sid("fast"), Rights::READ).await.unwrap();
    let mut stuck = slow
        .subscribe(SubscribeOptions::default().buffer(10))
        .await
        .unwrap();
    let mut live = fast
        .subscribe(SubscribeOptions::default().buffer(1000))
        .await
        .unwrap();

    for n in 0..1000 {
        writer.publish(n).await.unwrap();
    }
    for n in 0..1000 {
        assert_eq!(*live.recv().await.unwrap().payload(), n);
    }
    // The slow subscriber's buffer stayed at its bound; 990 were dropped and counted.
    assert_eq!(stuck.len(), 10);
    let stats = ch.stats().await.unwrap();
    assert_eq!(stats.dropped, 990);
    assert_eq!(stats.delivered, 2000);
    // When it reads, it learns how much it missed before the messages after the gap.
    assert_eq!(
        stuck.recv().await.unwrap_err(),
        RecvError::Lagged { missed: 990 }
    );
    for n in 990..1000 {
        assert_eq!(*stuck.recv().await.unwrap().payload(), n);
    }
}

#[actix_rt::test]
async fn a_lagging_subscriber_with_disconnect_gets_its_buffer_then_a_close() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let mut sub = reader
        .subscribe(
            SubscribeOptions::default()
                .buffer(3)
                .overflow(Overflow::Disconnect),
        )
        .await
        .unwrap();
    for n in 0..5 {
        writer.publish(n).await.unwrap();
    }
    for n in 0..3 {
        assert_eq!(*sub.recv().await.unwrap().payload(), n);
    }
    assert_eq!(
        sub.recv().await.unwrap_err(),
        RecvError::Closed(CloseReason::Lagging)
    );
    // Only the message that overflowed its buffer is dropped for it; once
    // disconnected it is no longer a subscriber.
    let stats = ch.stats().await.unwrap();
    assert_eq!((stats.consumers, stats.dropped), (0, 1));
}

#[actix_rt::test]
async fn eviction_never_makes_a_reader_skip_an_unseen_message() {
    let ch = Broadcast::<u32>::builder(cid("log"))
        .retention(4)
        .start()
        .unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch
        .grant(sid("reader"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    for n in 1..=3 {
        writer.publish(n).await.unwrap();
    }
    let first = reader.read(Seq::ZERO, 2).await.unwrap();
    assert_eq!(payloads(&first), vec![1, 2]);
    let cursor = first.last().unwrap().seq();

    // Seven more arrive: seqs 1..=6 are evicted, 7..=10 retained.
    for n in 4..=10 {
        writer.publish(n).await.unwrap();
    }
    match reader.read(cursor, 10).await {
        Err(ChannelError::Lagged {
            after,
            missed,
            next,
            ..
        }) => {
            assert_eq!((after, missed, next), (Seq::new(2), 4, Seq::new(7)));
            // Resuming from the oldest retained seq reads 7..=10, nothing in between.
            let rest = reader.read(Seq::new(next.get() - 1), 10).await.unwrap();
            assert_eq!(payloads(&rest), vec![7, 8, 9, 10]);
        }
        other => panic!("expected Lagged, got {other:?}"),
    }
    // Reading at the head is empty, not an error; so is a seq from the future.
    assert!(reader.read(Seq::new(10), 5).await.unwrap().is_empty());
    assert!(reader.read(Seq::new(99), 5).await.unwrap().is_empty());
}

#[actix_rt::test]
async fn a_late_joiner_gets_the_retained_history_then_live_messages() {
    let ch = Broadcast::<u32>::builder(cid("log"))
        .retention(3)
        .start()
        .unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    for n in 1..=5 {
        writer.publish(n).await.unwrap();
    }
    let mut from_start = reader
        .subscribe(SubscribeOptions::default().start(StartAt::Earliest))
        .await
        .unwrap();
    let mut from_one = reader
        .subscribe(SubscribeOptions::default().start(StartAt::After(Seq::new(1))))
        .await
        .unwrap();
    let mut live = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    writer.publish(6).await.unwrap();

    for n in 3..=6 {
        assert_eq!(*from_start.recv().await.unwrap().payload(), n);
    }
    // It asked for everything after seq 1, but 2 was already evicted: it is told first.
    assert_eq!(
        from_one.recv().await.unwrap_err(),
        RecvError::Lagged { missed: 1 }
    );
    for n in 3..=6 {
        assert_eq!(*from_one.recv().await.unwrap().payload(), n);
    }
    assert_eq!(*live.recv().await.unwrap().payload(), 6);
    assert!(live.try_recv().unwrap().is_none());
}

#[actix_rt::test]
async fn reads_check_their_limits() {
    let ch = Broadcast::<u32>::builder(cid("log")).start().unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    for limit in [0, MAX_BATCH + 1] {
        assert!(matches!(
            reader.read(Seq::ZERO, limit).await,
            Err(ChannelError::InvalidArgument { .. })
        ));
    }
    assert!(matches!(
        reader
            .subscribe(SubscribeOptions::default().buffer(0))
            .await,
        Err(ChannelError::InvalidArgument { .. })
    ));
}

#[actix_rt::test]
async fn reading_or_subscribing_after_the_last_possible_seq_is_empty_not_a_crash() {
    let ch = Broadcast::<u32>::builder(cid("log")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    writer.publish(1).await.unwrap();
    let end = Seq::new(u64::MAX);
    assert!(reader.read(end, 10).await.unwrap().is_empty());
    let mut sub = reader
        .subscribe(SubscribeOptions::default().start(StartAt::After(end)))
        .await
        .unwrap();
    assert!(sub.try_recv().unwrap().is_none());
    writer.publish(2).await.unwrap();
    assert_eq!(payloads(&reader.read(Seq::ZERO, 10).await.unwrap()), [1, 2]);
}

#[actix_rt::test]
async fn dropping_a_subscription_unsubscribes_it() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let sub = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    assert_eq!(ch.stats().await.unwrap().consumers, 1);
    drop(sub);
    writer.publish(1).await.unwrap();
    assert_eq!(ch.stats().await.unwrap().consumers, 0);
}

#[actix_rt::test]
async fn a_holder_cannot_unsubscribe_someone_else() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let alice = ch.grant(sid("alice"), Rights::READ).await.unwrap();
    let mallory = ch.grant(sid("mallory"), Rights::READ).await.unwrap();
    let sub = alice.subscribe(SubscribeOptions::default()).await.unwrap();
    assert!(!mallory.unsubscribe(sub.id()).await.unwrap());
    assert_eq!(ch.stats().await.unwrap().consumers, 1);
    assert!(alice.unsubscribe(sub.id()).await.unwrap());
    assert_eq!(ch.stats().await.unwrap().consumers, 0);
}

/// A plain actix actor, knowing nothing of exokern but the `Delivery` message.
struct Summer {
    sum: u64,
    report: tokio::sync::watch::Sender<u64>,
}

impl Actor for Summer {
    type Context = Context<Self>;
}

impl Handler<Delivery<u64>> for Summer {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<u64>, _: &mut Context<Self>) {
        for msg in delivery {
            self.sum += msg.payload();
        }
        self.report.send_replace(self.sum);
    }
}

#[actix_rt::test]
async fn any_actix_actor_can_subscribe_for_push_delivery() {
    let ch = Broadcast::<u64>::builder(cid("numbers")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("summer"), Rights::READ).await.unwrap();
    let (report, mut sums) = tokio::sync::watch::channel(0);
    let summer = Summer { sum: 0, report }.start();
    reader
        .subscribe_actor(summer.recipient(), SubscribeOptions::default())
        .await
        .unwrap();
    for n in 1..=100 {
        writer.publish(n).await.unwrap();
    }
    sums.wait_for(|&sum| sum == 5050).await.unwrap();
}

#[actix_rt::test]
async fn subscriptions_are_bounded() {
    let ch = Broadcast::<u32>::builder(cid("feed"))
        .max_subscribers(2)
        .start()
        .unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let first = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    let _second = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    assert!(matches!(
        reader.subscribe(SubscribeOptions::default()).await,
        Err(ChannelError::TooManyConsumers { limit: 2, .. })
    ));
    // Room comes back when a subscription ends.
    reader.unsubscribe(first.id()).await.unwrap();
    reader.subscribe(SubscribeOptions::default()).await.unwrap();
}
