//! Work queues: competing consumers, leases, redelivery, dead letters, backpressure.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix::{Actor, Context, Handler};
use common::{cid, queue_with_dead_letters, sid, QueueWithDeadLetters};
use exokern_actors::channel::{
    ChannelError, ClaimToken, DeadLetterReason, WorkQueueHandle, MAX_BATCH, MAX_LEASE,
};
use exokern_actors::prelude::*;

const LEASE: Duration = Duration::from_secs(30);

async fn queue(capacity: usize) -> (WorkQueue<u32>, WorkQueueHandle<u32>, WorkQueueHandle<u32>) {
    let q = WorkQueue::<u32>::builder(cid("jobs"))
        .capacity(capacity)
        .start()
        .unwrap();
    let producer = q.grant(sid("producer"), Rights::WRITE).await.unwrap();
    let consumer = q.grant(sid("consumer"), Rights::READ).await.unwrap();
    (q, producer, consumer)
}

fn token(item: &Inbound<u32>) -> ClaimToken {
    item.claim_token().expect("work items carry a claim token")
}

#[actix_rt::test]
async fn eight_producers_and_eight_consumers_lose_and_duplicate_nothing() {
    const PER_PRODUCER: u32 = 2_000;
    let q = WorkQueue::<u32>::builder(cid("jobs"))
        .capacity(256)
        .start()
        .unwrap();
    let mut producers = Vec::new();
    for p in 0..8u32 {
        let handle = q.grant(sid(&format!("p{p}")), Rights::WRITE).await.unwrap();
        producers.push(actix::spawn(async move {
            for n in 0..PER_PRODUCER {
                handle.send(p * PER_PRODUCER + n).await.unwrap();
            }
        }));
    }
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut consumers = Vec::new();
    for c in 0..8 {
        let handle = q.grant(sid(&format!("c{c}")), Rights::READ).await.unwrap();
        let done = done_tx.clone();
        consumers.push(actix::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let items = handle
                    .claim_wait(32, LEASE, Duration::from_secs(1))
                    .await
                    .unwrap();
                if items.is_empty() {
                    return seen;
                }
                let tokens = items.iter().map(token).collect();
                seen.extend(items.iter().map(|item| *item.payload()));
                let report = handle.ack_many(tokens).await.unwrap();
                assert!(report.stale.is_empty());
                done.send(items.len()).unwrap();
            }
        }));
    }
    drop(done_tx);
    for producer in producers {
        producer.await.unwrap();
    }
    let mut acked = 0;
    while acked < 8 * PER_PRODUCER as usize {
        acked += done_rx.recv().await.unwrap();
    }
    let mut all: Vec<u32> = Vec::new();
    for consumer in consumers {
        all.extend(consumer.await.unwrap());
    }
    all.sort_unstable();
    let expected: Vec<u32> = (0..8 * PER_PRODUCER).collect();
    assert_eq!(all, expected, "every item exactly once");
    let stats = q.stats().await.unwrap();
    assert_eq!(
        (stats.accepted, stats.acked, stats.redelivered),
        (16_000, 16_000, 0)
    );
    assert_eq!((stats.depth, stats.in_flight), (0, 0));
}

#[actix_rt::test]
async fn a_stale_ack_after_lease_expiry_is_rejected_and_changes_nothing() {
    tokio::time::pause();
    let (q, producer, first) = queue(10).await;
    let second = q.grant(sid("second"), Rights::READ).await.unwrap();
    producer.send(7).await.unwrap();

    let claimed = first.claim(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(claimed[0].attempt(), 1);
    let stale = token(&claimed[0]);
    tokio::time::advance(Duration::from_secs(6)).await;

    let again = second.claim(1, LEASE).await.unwrap();
    assert_eq!((*again[0].payload(), again[0].attempt()), (7, 2));
    assert_eq!(
        again[0].id(),
        claimed[0].id(),
        "the same message, redelivered"
    );

    let before = q.stats().await.unwrap();
    assert!(matches!(
        first.ack(stale).await,
        Err(ChannelError::StaleClaim { token, .. }) if token == stale
    ));
    assert!(first.nack(stale, None).await.is_err());
    assert!(first.extend(stale, LEASE).await.is_err());
    let after = q.stats().await.unwrap();
    assert_eq!(
        (after.acked, after.in_flight, after.depth),
        (before.acked, before.in_flight, before.depth)
    );
    assert_eq!(after.redelivered, 1);
    second.ack(token(&again[0])).await.unwrap();
    assert_eq!(q.stats().await.unwrap().acked, 1);
}

#[actix_rt::test]
async fn forged_and_foreign_tokens_are_rejected() {
    let (q, producer, consumer) = queue(10).await;
    let thief = q.grant(sid("thief"), Rights::READ).await.unwrap();
    producer.send(1).await.unwrap();
    let item = consumer.claim(1, LEASE).await.unwrap().remove(0);
    let real = token(&item);

    // Another holder presenting the real token is refused.
    assert!(matches!(
        thief.ack(real).await,
        Err(ChannelError::StaleClaim { .. })
    ));
    // A token with the right seq but a guessed nonce is refused.
    let forged: ClaimToken = format!("{}-{:016x}", real.seq(), 0x1234u64)
        .parse()
        .unwrap();
    assert!(consumer.ack(forged).await.is_err());
    // Malformed tokens do not even parse.
    for bad in [
        "",
        "1",
        "1-xyz",
        "1-00000000000000000",
        "-0000000000000000",
        "a-0000000000000000",
    ] {
        assert!(bad.parse::<ClaimToken>().is_err(), "{bad:?}");
    }
    assert_eq!(q.stats().await.unwrap().in_flight, 1);
    consumer.ack(real).await.unwrap();
    // Replaying a settled token is refused too.
    assert!(consumer.ack(real).await.is_err());
    assert_eq!(real.to_string().parse::<ClaimToken>().unwrap(), real);
}

#[actix_rt::test]
async fn items_past_max_attempts_go_to_the_dead_letter_queue_with_the_reason() {
    tokio::time::pause();
    let QueueWithDeadLetters {
        queue: q,
        producer,
        worker,
        ops: dlq_reader,
    } = queue_with_dead_letters(|b| b.max_attempts(3)).await;
    producer.send(13).await.unwrap();
    producer.send(14).await.unwrap();

    // Item 13: nacked twice, then its third lease expires.
    for attempt in 1..=2 {
        let item = worker.claim(1, LEASE).await.unwrap().remove(0);
        assert_eq!((*item.payload(), item.attempt()), (13, attempt));
        worker
            .nack(token(&item), Some(&format!("boom {attempt}")))
            .await
            .unwrap();
    }
    let third = worker
        .claim(1, Duration::from_secs(1))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(third.attempt(), 3);
    tokio::time::advance(Duration::from_secs(2)).await;

    // Item 14 is next, and nothing else is left for the worker.
    let rest = worker.claim(10, LEASE).await.unwrap();
    assert_eq!(
        rest.iter().map(|i| *i.payload()).collect::<Vec<_>>(),
        vec![14]
    );

    let letters = dlq_reader.claim(10, LEASE).await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = letters[0].payload();
    assert_eq!(*letter.envelope().payload(), 13);
    assert_eq!(letter.attempts(), 3);
    assert_eq!(
        letter.reason(),
        &DeadLetterReason::MaxAttempts { last_error: None }
    );
    assert_eq!(letters[0].sender(), &sid("jobs"));
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.dead_lettered, stats.redelivered), (1, 2));
}

#[actix_rt::test]
async fn a_nack_reason_is_kept_for_the_dead_letter() {
    let QueueWithDeadLetters {
        queue: q,
        producer,
        worker,
        ops: dlq_reader,
    } = queue_with_dead_letters(|b| b.max_attempts(1)).await;
    producer.send(5).await.unwrap();
    let item = worker.claim(1, LEASE).await.unwrap().remove(0);
    worker.nack(token(&item), Some("bad input")).await.unwrap();
    let letter = dlq_reader.claim(1, LEASE).await.unwrap().remove(0);
    assert_eq!(
        letter.payload().reason(),
        &DeadLetterReason::MaxAttempts {
            last_error: Some("bad input".into())
        }
    );
    // Dead-lettering frees the item's room in the source queue.
    assert_eq!(q.stats().await.unwrap().depth, 0);
}

#[actix_rt::test]
async fn a_nacked_item_comes_back_first() {
    let (_q, producer, consumer) = queue(10).await;
    for n in 1..=3 {
        producer.send(n).await.unwrap();
    }
    let first = consumer.claim(1, LEASE).await.unwrap().remove(0);
    consumer.nack(token(&first), None).await.unwrap();
    let again = consumer.claim(3, LEASE).await.unwrap();
    let seen: Vec<(u32, u32)> = again.iter().map(|i| (*i.payload(), i.attempt())).collect();
    assert_eq!(seen, vec![(1, 2), (2, 1), (3, 1)]);
}

#[actix_rt::test]
async fn extending_a_lease_keeps_the_item_claimed() {
    tokio::time::pause();
    let (q, producer, consumer) = queue(10).await;
    producer.send(1).await.unwrap();
    let item = consumer
        .claim(1, Duration::from_secs(5))
        .await
        .unwrap()
        .remove(0);
    tokio::time::advance(Duration::from_secs(4)).await;
    consumer
        .extend(token(&item), Duration::from_secs(10))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(8)).await;
    // 12 s after the claim, past the first lease but inside the extended one.
    assert_eq!(q.stats().await.unwrap().in_flight, 1);
    assert!(consumer.claim(1, LEASE).await.unwrap().is_empty());
    consumer.ack(token(&item)).await.unwrap();
    assert!(matches!(
        consumer.extend(token(&item), Duration::ZERO).await,
        Err(ChannelError::InvalidArgument { .. })
    ));
}

#[actix_rt::test]
async fn producers_wait_when_the_queue_is_full_and_try_send_is_refused() {
    tokio::time::pause();
    let (q, producer, consumer) = queue(2).await;
    producer.send(1).await.unwrap();
    producer.send(2).await.unwrap();
    assert!(matches!(
        producer.try_send(3).await,
        Err(ChannelError::Full { capacity: 2, .. })
    ));

    let waiting = {
        let producer = producer.clone();
        actix::spawn(async move { producer.send(3).await })
    };
    // Claimed items still take room: the producer keeps waiting.
    let item = consumer.claim(1, LEASE).await.unwrap().remove(0);
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(!waiting.is_finished());
    // An ack frees room; the waiting send completes.
    consumer.ack(token(&item)).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), Seq::new(3));
    assert_eq!(q.stats().await.unwrap().depth, 2);
}

#[actix_rt::test]
async fn batches_are_sent_claimed_and_acked_in_one_request_each() {
    let (q, producer, consumer) = queue(1_000).await;
    let seqs = producer.send_batch(0..500u32).await.unwrap();
    assert_eq!((seqs.start().get(), seqs.end().get()), (1, 500));
    let items = consumer.claim(MAX_BATCH, LEASE).await.unwrap();
    assert_eq!(items.len(), 500);
    assert!(items
        .iter()
        .enumerate()
        .all(|(i, item)| *item.payload() == i as u32));
    let report = consumer
        .ack_many(items.iter().map(token).collect())
        .await
        .unwrap();
    assert_eq!((report.settled, report.stale.len()), (500, 0));
    assert!(matches!(
        producer.send_batch(0..1_001u32).await,
        Err(ChannelError::BatchTooLarge {
            requested: 1001,
            ..
        })
    ));
    assert!(matches!(
        producer.send_batch(Vec::<u32>::new()).await,
        Err(ChannelError::BatchTooLarge { requested: 0, .. })
    ));
    assert_eq!(q.stats().await.unwrap().acked, 500);
}

#[actix_rt::test]
async fn claims_check_their_arguments() {
    let (_q, producer, consumer) = queue(10).await;
    let too_long = MAX_LEASE + Duration::from_millis(1);
    for (max, lease) in [
        (0, LEASE),
        (MAX_BATCH + 1, LEASE),
        (1, Duration::ZERO),
        (1, too_long),
        (1, Duration::MAX),
    ] {
        assert!(matches!(
            consumer.claim(max, lease).await,
            Err(ChannelError::InvalidArgument { .. })
        ));
    }
    producer.send(7).await.unwrap();
    let item = consumer.claim(1, MAX_LEASE).await.unwrap().remove(0);
    let token = item.claim_token().unwrap();
    assert!(matches!(
        consumer.extend(token, Duration::MAX).await,
        Err(ChannelError::InvalidArgument { .. })
    ));
    consumer.ack(token).await.unwrap();
}

#[actix_rt::test]
async fn claim_wait_parks_until_an_item_arrives_or_the_wait_ends() {
    tokio::time::pause();
    let (_q, producer, consumer) = queue(10).await;
    assert!(consumer
        .claim_wait(1, LEASE, Duration::from_secs(5))
        .await
        .unwrap()
        .is_empty());
    let waiting = {
        let consumer = consumer.clone();
        actix::spawn(async move { consumer.claim_wait(5, LEASE, Duration::from_secs(60)).await })
    };
    tokio::time::advance(Duration::from_secs(1)).await;
    producer.send(42).await.unwrap();
    let items = waiting.await.unwrap().unwrap();
    assert_eq!(
        items.iter().map(|i| *i.payload()).collect::<Vec<_>>(),
        vec![42]
    );
}

#[actix_rt::test]
async fn release_all_returns_a_holders_claims() {
    let (q, producer, consumer) = queue(10).await;
    producer.send_batch([1, 2, 3]).await.unwrap();
    consumer.claim(2, LEASE).await.unwrap();
    assert_eq!(consumer.release_all().await.unwrap(), 2);
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.in_flight), (3, 0));
    let again: Vec<u32> = consumer
        .claim(3, LEASE)
        .await
        .unwrap()
        .iter()
        .map(|i| *i.payload())
        .collect();
    assert_eq!(again, vec![1, 2, 3]);
}

/// A raw actix worker that records what it gets and acks only when told to.
struct Hoarder {
    name: &'static str,
    got: tokio::sync::mpsc::UnboundedSender<(&'static str, u32, ClaimToken)>,
}

impl Actor for Hoarder {
    type Context = Context<Self>;
}

impl Handler<Delivery<u32>> for Hoarder {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<u32>, _: &mut Context<Self>) {
        for item in delivery {
            self.got
                .send((self.name, *item.payload(), item.claim_token().unwrap()))
                .unwrap();
        }
    }
}

#[actix_rt::test]
async fn push_workers_share_round_robin_within_their_prefetch() {
    let (q, producer, _) = queue(100).await;
    let (got, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let mut handles = HashMap::new();
    for name in ["a", "b"] {
        let handle = q.grant(sid(name), Rights::READ).await.unwrap();
        let worker = Hoarder {
            name,
            got: got.clone(),
        }
        .start();
        handle
            .register_worker(worker.recipient(), WorkerOptions::default().prefetch(3))
            .await
            .unwrap();
        handles.insert(name, handle);
    }
    producer.send_batch(0..10u32).await.unwrap();

    // Neither worker acks: each holds exactly its prefetch, alternating.
    let mut first = Vec::new();
    for _ in 0..6 {
        first.push(seen.recv().await.unwrap());
    }
    let of = |w: &str| -> Vec<u32> {
        first
            .iter()
            .filter(|(n, _, _)| *n == w)
            .map(|(_, p, _)| *p)
            .collect()
    };
    assert_eq!((of("a"), of("b")), (vec![0, 2, 4], vec![1, 3, 5]));
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.in_flight, stats.depth), (6, 4));

    // Acking a's items frees its prefetch: it gets the next ones.
    let a_tokens: Vec<ClaimToken> = first
        .iter()
        .filter(|(n, _, _)| *n == "a")
        .map(|(_, _, t)| *t)
        .collect();
    handles["a"].ack_many(a_tokens).await.unwrap();
    for _ in 0..3 {
        let (name, payload, _) = seen.recv().await.unwrap();
        assert_eq!(name, "a");
        assert!((6..9).contains(&payload));
    }
    assert_eq!(q.stats().await.unwrap().depth, 1);
}

#[actix_rt::test]
async fn a_worker_that_stops_gets_its_items_redelivered_to_others() {
    let (q, producer, _) = queue(100).await;
    let (got, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let quitter = q.grant(sid("quitter"), Rights::READ).await.unwrap();
    let worker = Hoarder {
        name: "quitter",
        got: got.clone(),
    }
    .start();
    let id = quitter
        .register_worker(worker.recipient(), WorkerOptions::default().prefetch(5))
        .await
        .unwrap();
    producer.send_batch(0..5u32).await.unwrap();
    for _ in 0..5 {
        seen.recv().await.unwrap();
    }
    assert!(quitter.unregister_worker(id).await.unwrap());
    assert!(!quitter.unregister_worker(id).await.unwrap());
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.in_flight, stats.consumers), (5, 0, 0));
}

#[actix_rt::test]
async fn worker_registrations_are_bounded() {
    let q = WorkQueue::<u32>::builder(cid("jobs"))
        .max_workers(1)
        .start()
        .unwrap();
    let handle = q.grant(sid("worker"), Rights::READ).await.unwrap();
    let (got, _seen) = tokio::sync::mpsc::unbounded_channel();
    let hoarder = |got| Hoarder { name: "w", got }.start().recipient();
    let id = handle
        .register_worker(hoarder(got.clone()), WorkerOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        handle
            .register_worker(hoarder(got.clone()), WorkerOptions::default())
            .await,
        Err(ChannelError::TooManyConsumers { limit: 1, .. })
    ));
    handle.unregister_worker(id).await.unwrap();
    handle
        .register_worker(hoarder(got), WorkerOptions::default())
        .await
        .unwrap();
}

#[actix_rt::test]
async fn a_nack_with_a_delay_holds_the_item_back_until_the_delay_is_over() {
    tokio::time::pause();
    let (q, producer, consumer) = queue(10).await;
    producer.send(1).await.unwrap();
    producer.send(2).await.unwrap();
    let first = consumer.claim(1, LEASE).await.unwrap();
    consumer
        .nack_after(token(&first[0]), Duration::from_secs(10), Some("busy"))
        .await
        .unwrap();
    // Held back: the next claim gets the item behind it, and then nothing.
    let next = consumer.claim(5, LEASE).await.unwrap();
    assert_eq!(next.iter().map(|i| *i.payload()).collect::<Vec<_>>(), [2]);
    consumer.ack(token(&next[0])).await.unwrap();
    assert_eq!(
        q.stats().await.unwrap().depth,
        1,
        "a held-back item is counted"
    );
    tokio::time::advance(Duration::from_secs(9)).await;
    assert!(consumer.claim(5, LEASE).await.unwrap().is_empty());
    // A waiting claim is answered once the delay is over.
    let waiting = consumer.claim_wait(5, LEASE, Duration::from_secs(5));
    let (again, ()) = tokio::join!(waiting, tokio::time::advance(Duration::from_secs(2)));
    let again = again.unwrap();
    assert_eq!((*again[0].payload(), again[0].attempt()), (1, 2));

    let too_long = consumer
        .nack_after(token(&again[0]), Duration::from_secs(8 * 24 * 3600), None)
        .await
        .unwrap_err();
    assert!(
        matches!(too_long, ChannelError::InvalidArgument { .. }),
        "{too_long}"
    );
    consumer.ack(token(&again[0])).await.unwrap();
}

#[actix_rt::test]
async fn a_delayed_nack_of_the_last_attempt_dead_letters_at_once() {
    tokio::time::pause();
    let QueueWithDeadLetters {
        producer,
        worker,
        ops,
        ..
    } = queue_with_dead_letters(|b| b.max_attempts(1)).await;
    producer.send(5).await.unwrap();
    let item = worker.claim(1, LEASE).await.unwrap();
    worker
        .nack_after(token(&item[0]), Duration::from_secs(60), Some("gave up"))
        .await
        .unwrap();
    let dead = ops
        .claim_wait(1, LEASE, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1, "dead-lettered without waiting out the delay");
    assert_eq!(*dead[0].payload().envelope().payload(), 5);
}
