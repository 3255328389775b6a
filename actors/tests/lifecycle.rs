//! Channel lifecycle: drain (stop accepting, deliver what is held, stop) and stop.

mod common;

use std::time::Duration;

use common::{cid, queue_with_dead_letters, sid, QueueWithDeadLetters};
use exokern_actors::channel::{
    ChannelError, ChannelState, CloseReason, DeadLetterReason, DrainOutcome, DrainReport, RecvError,
};
use exokern_actors::prelude::*;

const LONG: Duration = Duration::from_secs(3600);

#[actix_rt::test]
async fn a_broadcast_drain_waits_for_subscribers_to_take_what_they_hold() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let mut sub = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    for n in 0..5 {
        writer.publish(n).await.unwrap();
    }
    let drain = {
        let ch = ch.clone();
        actix::spawn(async move { ch.drain(LONG).await })
    };
    actix_rt::task::yield_now().await;
    assert!(matches!(
        writer.publish(99).await,
        Err(ChannelError::Draining { .. })
    ));
    assert!(matches!(
        ch.grant(sid("late"), Rights::READ).await,
        Err(ChannelError::Draining { .. })
    ));
    assert_eq!(ch.stats().await.unwrap().state, ChannelState::Draining);
    for n in 0..5 {
        assert_eq!(*sub.recv().await.unwrap().payload(), n);
    }
    assert_eq!(
        drain.await.unwrap(),
        DrainReport {
            outcome: DrainOutcome::Completed,
            undelivered: 0
        }
    );
    assert_eq!(
        sub.recv().await.unwrap_err(),
        RecvError::Closed(CloseReason::ChannelStopped)
    );
    assert!(matches!(
        writer.publish(1).await,
        Err(ChannelError::Closed { .. })
    ));
    assert!(matches!(ch.stats().await, Err(ChannelError::Closed { .. })));
    assert!(!ch.is_running());
}

#[actix_rt::test]
async fn a_drain_that_times_out_stops_anyway_and_loses_nothing_buffered() {
    tokio::time::pause();
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let mut sub = reader.subscribe(SubscribeOptions::default()).await.unwrap();
    for n in 0..3 {
        writer.publish(n).await.unwrap();
    }
    let report = ch.drain(Duration::from_secs(5)).await;
    assert_eq!(
        report,
        DrainReport {
            outcome: DrainOutcome::TimedOut,
            undelivered: 3
        }
    );
    // The subscriber still gets what was buffered for it, then the close.
    for n in 0..3 {
        assert_eq!(*sub.recv().await.unwrap().payload(), n);
    }
    assert_eq!(
        sub.recv().await.unwrap_err(),
        RecvError::Closed(CloseReason::ChannelStopped)
    );
}

#[actix_rt::test]
async fn a_work_queue_drain_waits_for_acks() {
    tokio::time::pause();
    let q = WorkQueue::<u32>::builder(cid("jobs")).start().unwrap();
    let producer = q.grant(sid("producer"), Rights::WRITE).await.unwrap();
    let worker = q.grant(sid("worker"), Rights::READ).await.unwrap();
    producer.send_batch([1, 2]).await.unwrap();
    let first = worker.claim(1, LONG).await.unwrap().remove(0);
    let drain = {
        let q = q.clone();
        actix::spawn(async move { q.drain(Duration::from_secs(60)).await })
    };
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(matches!(
        producer.send(3).await,
        Err(ChannelError::Draining { .. })
    ));
    // Consumers keep working while the queue drains.
    worker.ack(first.claim_token().unwrap()).await.unwrap();
    let second = worker.claim(5, LONG).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(!drain.is_finished());
    worker.ack(second[0].claim_token().unwrap()).await.unwrap();
    assert_eq!(drain.await.unwrap().outcome, DrainOutcome::Completed);
    assert!(matches!(
        worker.claim(1, LONG).await,
        Err(ChannelError::Closed { .. })
    ));
}

#[actix_rt::test]
async fn a_work_queue_that_stops_dead_letters_what_it_held() {
    tokio::time::pause();
    let QueueWithDeadLetters {
        queue: q,
        producer,
        worker,
        ops: dlq_reader,
    } = queue_with_dead_letters(|b| b.capacity(3)).await;
    producer.send_batch([1, 2, 3]).await.unwrap();
    worker.claim(1, LONG).await.unwrap();
    let blocked = {
        let producer = producer.clone();
        actix::spawn(async move { producer.send(4).await })
    };
    let report = q.drain(Duration::from_secs(10)).await;
    assert_eq!(
        report,
        DrainReport {
            outcome: DrainOutcome::TimedOut,
            undelivered: 3
        }
    );
    // A producer waiting for room is told the queue closed.
    assert!(matches!(
        blocked.await.unwrap(),
        Err(ChannelError::Closed { .. })
    ));
    let letters = dlq_reader.claim(10, LONG).await.unwrap();
    let mut payloads: Vec<u32> = letters
        .iter()
        .map(|l| *l.payload().envelope().payload())
        .collect();
    payloads.sort_unstable();
    assert_eq!(payloads, vec![1, 2, 3]);
    assert!(letters
        .iter()
        .all(|l| l.payload().reason() == &DeadLetterReason::ChannelStopped));
}

#[actix_rt::test]
async fn a_mailbox_drain_waits_for_recipients_to_read() {
    let mail = Mailbox::<u32>::builder(cid("mail")).start().unwrap();
    let alice = mail.grant(sid("alice"), Rights::WRITE).await.unwrap();
    let bob = mail.grant(sid("bob"), Rights::READ).await.unwrap();
    alice.send(&sid("bob"), 1).await.unwrap();
    alice.send(&sid("bob"), 2).await.unwrap();
    let drain = {
        let mail = mail.clone();
        actix::spawn(async move { mail.drain(LONG).await })
    };
    actix_rt::task::yield_now().await;
    assert!(matches!(
        alice.send(&sid("bob"), 3).await,
        Err(ChannelError::Draining { .. })
    ));
    assert_eq!(*bob.recv().await.unwrap().payload(), 1);
    assert!(!drain.is_finished());
    assert_eq!(*bob.recv().await.unwrap().payload(), 2);
    assert_eq!(drain.await.unwrap().outcome, DrainOutcome::Completed);
    assert_eq!(
        bob.recv().await.unwrap_err(),
        RecvError::Closed(CloseReason::ChannelStopped)
    );
}

#[actix_rt::test]
async fn stop_is_immediate_and_idempotent() {
    let ch = Broadcast::<u32>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    writer.publish(1).await.unwrap();
    assert_eq!(ch.stop().await.outcome, DrainOutcome::Stopped);
    assert_eq!(ch.stop().await.outcome, DrainOutcome::AlreadyStopped);
    assert_eq!(ch.drain(LONG).await.outcome, DrainOutcome::AlreadyStopped);
    assert!(matches!(
        writer.publish(2).await,
        Err(ChannelError::Closed { .. })
    ));
    assert!(matches!(
        ch.grant(sid("late"), Rights::READ).await,
        Err(ChannelError::Closed { .. })
    ));
    assert!(!ch.revoke(&sid("writer")).await);
}

#[actix_rt::test]
async fn a_drain_with_nothing_held_completes_at_once() {
    let q = WorkQueue::<u32>::builder(cid("idle")).start().unwrap();
    assert_eq!(
        q.drain(LONG).await,
        DrainReport {
            outcome: DrainOutcome::Completed,
            undelivered: 0
        }
    );
}
