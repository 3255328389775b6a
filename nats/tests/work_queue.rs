//! A work queue shared through a real NATS server by several kernels' queue actors.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use common::{fresh_channel, Shared};
use exokern_actors::channel::{ChannelError, ClaimToken, WorkQueue, WorkQueueHandle};
use exokern_actors::{ChannelId, Rights, SystemId};
use exokern_nats::{Nats, NatsError, QueueSpec};
use futures_util::StreamExt;

const LEASE: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(5);

/// One kernel's queue on the shared stream, with a producer and a worker handle.
struct Kernel {
    queue: WorkQueue<String>,
    producer: WorkQueueHandle<String>,
    worker: WorkQueueHandle<String>,
}

async fn kernel(nats: &Nats, id: &ChannelId, spec: QueueSpec) -> Kernel {
    let shared = nats.work_queue(id, spec).await.expect("the queue opens");
    let queue = WorkQueue::<String>::builder(id.clone())
        .shared(shared)
        .start()
        .expect("the queue starts");
    let producer = queue
        .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
        .await
        .unwrap();
    let worker = queue
        .grant(SystemId::new("worker").unwrap(), Rights::READ)
        .await
        .unwrap();
    Kernel {
        queue,
        producer,
        worker,
    }
}

/// The first `n` dead letters of `id`'s queue, as the server keeps them, waiting for
/// them to come (a queue buries in the background).
async fn dead_letters(
    jetstream: &async_nats::jetstream::Context,
    id: &ChannelId,
    n: usize,
) -> Vec<serde_json::Value> {
    let dead = format!("{}_DEAD", exokern_nats::default_stream(id));
    let consumer = jetstream
        .get_stream(&dead)
        .await
        .unwrap()
        .create_consumer(OrderedConfig::default())
        .await
        .unwrap();
    let letters = consumer
        .messages()
        .await
        .unwrap()
        .take(n)
        .map(|message| serde_json::from_slice(&message.unwrap().payload).unwrap());
    tokio::time::timeout(WAIT, letters.collect())
        .await
        .expect("the dead letters are kept")
}

#[actix_rt::test]
async fn a_send_is_claimed_with_the_servers_seq_and_an_ack_removes_it() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let nats = server.connect("kernel-a").await;
    let id = fresh_channel("basic");
    let a = kernel(&nats, &id, QueueSpec::default()).await;

    let first = a.producer.send("one".to_string()).await.unwrap();
    let second = a.producer.send("two".to_string()).await.unwrap();
    assert!(second > first, "{second} after {first}");

    let claimed = a.worker.claim(10, LEASE).await.unwrap();
    let got: Vec<_> = claimed
        .iter()
        .map(|i| (i.seq(), i.payload().clone(), i.attempt()))
        .collect();
    assert_eq!(
        got,
        vec![
            (first, "one".to_string(), 1),
            (second, "two".to_string(), 1)
        ]
    );
    assert_eq!(claimed[0].sender().as_str(), "producer");
    assert_eq!(
        claimed[0].envelope().kernel(),
        Some("kernel-a"),
        "the sending kernel"
    );
    for item in &claimed {
        a.worker.ack(item.claim_token().unwrap()).await.unwrap();
    }
    assert!(
        a.worker.claim(10, LEASE).await.unwrap().is_empty(),
        "acked items are gone"
    );
    // A second ack of the same claim is stale and changes nothing.
    let error = a
        .worker
        .ack(claimed[0].claim_token().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, ChannelError::StaleClaim { .. }), "{error}");
    let stats = a.queue.stats().await.unwrap();
    assert_eq!((stats.accepted, stats.acked), (2, 2));
}

#[actix_rt::test]
async fn two_kernels_share_the_items_and_each_is_acked_once() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("shared");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    let b = kernel(&server.connect("kernel-b").await, &id, QueueSpec::default()).await;

    let sent: usize = 400;
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let handle = if p % 2 == 0 {
                a.producer.clone()
            } else {
                b.producer.clone()
            };
            actix_rt::spawn(async move {
                for i in 0..sent / 4 {
                    handle.send(format!("{p}-{i}")).await.unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = [&a, &b, &a, &b]
        .into_iter()
        .map(|k| {
            let worker = k.worker.clone();
            actix_rt::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let items = worker
                        .claim_wait(16, LEASE, Duration::from_millis(800))
                        .await
                        .unwrap();
                    if items.is_empty() {
                        return got;
                    }
                    for item in items {
                        assert_eq!(item.attempt(), 1);
                        worker.ack(item.claim_token().unwrap()).await.unwrap();
                        got.push(item.payload().clone());
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let mut all = Vec::new();
    let mut per_kernel = [0usize; 2];
    for (n, c) in consumers.into_iter().enumerate() {
        let got = c.await.unwrap();
        per_kernel[n % 2] += got.len();
        all.extend(got);
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), sent, "each item acked once");
    assert_eq!(unique.len(), sent, "no item twice");
    assert!(
        per_kernel.iter().all(|&n| n > 0),
        "both kernels worked: {per_kernel:?}"
    );
}

#[actix_rt::test]
async fn a_nacked_item_comes_back_with_the_next_attempt_in_either_kernel() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("nack");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    let b = kernel(&server.connect("kernel-b").await, &id, QueueSpec::default()).await;

    let seq = a.producer.send("flaky".to_string()).await.unwrap();
    let first = a.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
    assert_eq!((first[0].seq(), first[0].attempt()), (seq, 1));
    a.worker
        .nack(first[0].claim_token().unwrap(), Some("try again"))
        .await
        .unwrap();

    let again = b.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
    assert_eq!(again.len(), 1, "kernel b takes the item a gave back");
    assert_eq!((again[0].seq(), again[0].attempt()), (seq, 2));
    // a's old token is stale: the item is b's now.
    let stale = a
        .worker
        .ack(first[0].claim_token().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(stale, ChannelError::StaleClaim { .. }), "{stale}");
    b.worker.ack(again[0].claim_token().unwrap()).await.unwrap();
}

#[actix_rt::test]
async fn a_forged_token_is_refused_and_changes_nothing() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("forged");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    a.producer.send("x".to_string()).await.unwrap();
    let claimed = a.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
    let real = claimed[0].claim_token().unwrap();
    let forged: ClaimToken = format!("{}-{:016x}", real.seq(), 12345).parse().unwrap();
    assert_ne!(forged, real);
    let error = a.worker.ack(forged).await.unwrap_err();
    assert!(matches!(error, ChannelError::StaleClaim { .. }), "{error}");
    // Another holder cannot settle it either.
    let other = a
        .queue
        .grant(SystemId::new("thief").unwrap(), Rights::READ)
        .await
        .unwrap();
    let error = other.ack(real).await.unwrap_err();
    assert!(matches!(error, ChannelError::StaleClaim { .. }), "{error}");
    a.worker.ack(real).await.unwrap();
}

#[actix_rt::test]
async fn an_expired_lease_gives_the_item_back_with_the_next_attempt() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("lease");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    let b = kernel(&server.connect("kernel-b").await, &id, QueueSpec::default()).await;
    let seq = a.producer.send("slow".to_string()).await.unwrap();
    let first = a
        .worker
        .claim_wait(1, Duration::from_millis(300), WAIT)
        .await
        .unwrap();
    assert_eq!(first[0].attempt(), 1);
    // The lease ends here long before the server's ack wait (30 s): the item is given
    // back at once.
    let again = b.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].seq(), again[0].attempt()), (seq, 2));
    b.worker.ack(again[0].claim_token().unwrap()).await.unwrap();
}

#[actix_rt::test]
async fn an_item_past_its_attempts_goes_to_the_dead_letter_stream_with_its_reason() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let nats = server.connect("kernel-a").await;
    let id = fresh_channel("dead");
    let spec = QueueSpec::default().max_attempts(2);
    let a = kernel(&nats, &id, spec.clone()).await;
    let seq = a.producer.send("poison".to_string()).await.unwrap();
    for attempt in 1..=2 {
        let items = a.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
        assert_eq!(items[0].attempt(), attempt);
        a.worker
            .nack(items[0].claim_token().unwrap(), Some("bad input"))
            .await
            .unwrap();
    }
    assert!(
        a.worker
            .claim_wait(1, LEASE, Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty(),
        "no third attempt"
    );

    let client = async_nats::connect(server.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let letters = dead_letters(&jetstream, &id, 1).await;
    let letter = letters.first().expect("the dead letter is kept");
    assert_eq!(letter["seq"], seq.get());
    assert_eq!(letter["attempts"], 2);
    assert_eq!(letter["reason"], "max_attempts");
    assert_eq!(letter["last_error"], "bad input");
    assert_eq!(letter["envelope"]["payload"], "poison");
    assert_eq!(letter["envelope"]["sender"], "producer");
    // Terminated, not waiting: the work stream is empty.
    let mut work = jetstream
        .get_stream(exokern_nats::default_stream(&id))
        .await
        .unwrap();
    assert_eq!(work.info().await.unwrap().state.messages, 0);
}

#[actix_rt::test]
async fn a_full_stream_refuses_a_send_with_full() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("full");
    let a = kernel(
        &server.connect("kernel-a").await,
        &id,
        QueueSpec::default().capacity(2),
    )
    .await;
    a.producer.send("1".to_string()).await.unwrap();
    a.producer.send("2".to_string()).await.unwrap();
    let error = a.producer.send("3".to_string()).await.unwrap_err();
    assert!(
        matches!(error, ChannelError::Full { capacity: 2, .. }),
        "{error}"
    );
    let items = a.worker.claim_wait(5, LEASE, WAIT).await.unwrap();
    let payloads: Vec<_> = items.iter().map(|i| i.payload().as_str()).collect();
    assert_eq!(payloads, ["1", "2"]);
}

#[actix_rt::test]
async fn a_kernel_asking_for_other_settings_is_refused_by_name() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let nats = server.connect("kernel-a").await;
    let id = fresh_channel("mismatch");
    nats.work_queue(&id, QueueSpec::default()).await.unwrap();
    let error = nats
        .work_queue(&id, QueueSpec::default().ack_wait(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NatsError::Mismatch {
                setting: "ack_wait",
                ..
            }
        ),
        "{error}"
    );
    let error = nats
        .work_queue(&id, QueueSpec::default().capacity(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NatsError::Mismatch {
                setting: "capacity",
                ..
            }
        ),
        "{error}"
    );
    let error = nats
        .work_queue(&id, QueueSpec::default().stream("no.dots"))
        .await
        .unwrap_err();
    assert!(matches!(error, NatsError::Invalid { .. }), "{error}");
}

#[actix_rt::test]
async fn a_claim_that_does_not_wait_answers_at_once_on_an_empty_queue() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("empty");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    // Well before a waiting fetch would give up (5 s).
    let claimed = tokio::time::timeout(Duration::from_secs(4), a.worker.claim(5, LEASE)).await;
    assert!(claimed.expect("answered at once").unwrap().is_empty());
}

#[actix_rt::test]
async fn a_message_that_did_not_come_from_a_kernel_is_dead_lettered_and_never_delivered() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("forged-msg");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    let stream = exokern_nats::default_stream(&id);
    let client = async_nats::connect(server.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let record = br#"{"id":"00000000-0000-8000-8000-000000000001","sent_at":1,"sender":"admin","payload":"rm -rf"}"#;
    let subject = format!("exokern.{stream}.items");
    // No headers at all; then headers whose sender is not the record's.
    jetstream
        .publish(subject.clone(), record.to_vec().into())
        .await
        .unwrap()
        .await
        .unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(exokern_nats::KERNEL_HEADER, "kernel-x");
    headers.insert(exokern_nats::SENDER_HEADER, "producer");
    jetstream
        .publish_with_headers(subject, headers, record.to_vec().into())
        .await
        .unwrap()
        .await
        .unwrap();
    let honest = a.producer.send("fine".to_string()).await.unwrap();

    let items = a.worker.claim_wait(10, LEASE, WAIT).await.unwrap();
    let seqs: Vec<_> = items.iter().map(|i| i.seq()).collect();
    assert_eq!(seqs, [honest], "only the kernel's item is delivered");
    a.worker.ack(items[0].claim_token().unwrap()).await.unwrap();

    let reasons: Vec<_> = dead_letters(&jetstream, &id, 2)
        .await
        .into_iter()
        .map(|letter| {
            let detail = letter["detail"].as_str().unwrap().to_owned();
            (letter["reason"].clone(), detail)
        })
        .collect();
    assert_eq!(reasons.len(), 2, "both are kept as dead letters");
    assert!(
        reasons.iter().all(|(reason, _)| reason == "unverified"),
        "{reasons:?}"
    );
    assert!(reasons[0].1.contains("no kernel name"), "{reasons:?}");
    assert!(reasons[1].1.contains("`admin`"), "{reasons:?}");
}

#[actix_rt::test]
async fn a_lease_longer_than_the_ack_wait_is_kept_alive_and_no_other_kernel_gets_the_item() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("long-lease");
    let spec = QueueSpec::default().ack_wait(Duration::from_secs(1));
    let a = kernel(&server.connect("kernel-a").await, &id, spec.clone()).await;
    let b = kernel(&server.connect("kernel-b").await, &id, spec).await;
    a.producer.send("long job".to_string()).await.unwrap();
    let held = a
        .worker
        .claim_wait(1, Duration::from_secs(10), WAIT)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    // Three ack waits pass; kernel a tells the server work goes on, so b gets nothing.
    let stolen = b
        .worker
        .claim_wait(1, LEASE, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(
        stolen.is_empty(),
        "the server delivered a kept-alive item again"
    );
    a.worker.ack(held[0].claim_token().unwrap()).await.unwrap();
}

#[actix_rt::test]
async fn revoking_a_holder_gives_its_claims_back_to_the_server_for_other_kernels() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("revoked");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    let b = kernel(&server.connect("kernel-b").await, &id, QueueSpec::default()).await;
    for i in 0..3 {
        a.producer.send(format!("job {i}")).await.unwrap();
    }
    let held = a.worker.claim_wait(3, LEASE, WAIT).await.unwrap();
    assert_eq!(held.len(), 3);
    assert!(a.queue.revoke(a.worker.holder()).await);
    let mut again = Vec::new();
    while again.len() < 3 {
        let items = b.worker.claim_wait(3, LEASE, WAIT).await.unwrap();
        assert!(!items.is_empty(), "the revoked holder's items came back");
        again.extend(items);
    }
    let mut seqs: Vec<_> = again.iter().map(|i| (i.seq(), i.attempt())).collect();
    seqs.sort();
    let before: Vec<_> = held.iter().map(|i| (i.seq(), i.attempt() + 1)).collect();
    assert_eq!(seqs, before, "each back once, with the next attempt");
    // The revoked handle can no longer settle them.
    let error = a
        .worker
        .ack(held[0].claim_token().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ChannelError::Revoked { .. } | ChannelError::StaleClaim { .. }
        ),
        "{error}"
    );
}

#[actix_rt::test]
async fn a_nack_with_a_delay_is_held_back_by_the_server_for_every_kernel() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("delayed");
    let a = kernel(&server.connect("kernel-a").await, &id, QueueSpec::default()).await;
    let b = kernel(&server.connect("kernel-b").await, &id, QueueSpec::default()).await;
    let seq = a.producer.send("later".to_string()).await.unwrap();
    let first = a.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
    a.worker
        .nack_after(
            first[0].claim_token().unwrap(),
            Duration::from_secs(2),
            Some("busy"),
        )
        .await
        .unwrap();
    let early = b
        .worker
        .claim_wait(1, LEASE, Duration::from_millis(1200))
        .await
        .unwrap();
    assert!(early.is_empty(), "held back by the server");
    let again = b.worker.claim_wait(1, LEASE, WAIT).await.unwrap();
    assert_eq!((again[0].seq(), again[0].attempt()), (seq, 2));
    b.worker.ack(again[0].claim_token().unwrap()).await.unwrap();
}
