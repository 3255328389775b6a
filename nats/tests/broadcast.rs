//! A broadcast shared through a real NATS server by several kernels' channel actors.

mod common;

use common::{fresh_channel, Shared};
use exokern_actors::channel::{
    Broadcast, BroadcastHandle, ChannelError, StartAt, SubscribeOptions,
};
use exokern_actors::{ChannelId, Rights, Seq, SystemId};
use exokern_nats::{Nats, NatsError, StreamSpec};

/// One kernel's broadcast on the shared stream, with a publisher and a reader handle.
struct Kernel {
    publisher: BroadcastHandle<u64>,
    reader: BroadcastHandle<u64>,
    _channel: Broadcast<u64>,
}

async fn kernel(nats: &Nats, id: &ChannelId, spec: StreamSpec) -> Kernel {
    let shared = nats.broadcast(id, spec).await.expect("the stream opens");
    let channel = Broadcast::<u64>::builder(id.clone())
        .shared(shared)
        .start()
        .expect("the broadcast starts");
    let publisher = channel
        .grant(SystemId::new("clock").unwrap(), Rights::WRITE)
        .await
        .unwrap();
    let reader = channel
        .grant(SystemId::new("reader").unwrap(), Rights::READ)
        .await
        .unwrap();
    Kernel {
        publisher,
        reader,
        _channel: channel,
    }
}

#[actix_rt::test]
async fn every_kernel_sees_every_message_in_the_same_order_with_dense_seqs() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("news");
    let a = kernel(
        &server.connect("kernel-a").await,
        &id,
        StreamSpec::default(),
    )
    .await;
    let b = kernel(
        &server.connect("kernel-b").await,
        &id,
        StreamSpec::default(),
    )
    .await;
    let mut at_a = a
        .reader
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();
    let mut at_b = b
        .reader
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();

    let mut seqs = Vec::new();
    for i in 0..100u64 {
        let from = if i % 2 == 0 {
            &a.publisher
        } else {
            &b.publisher
        };
        seqs.push(from.publish(i).await.unwrap());
    }
    assert_eq!(
        seqs,
        (1..=100).map(Seq::new).collect::<Vec<_>>(),
        "dense, in publish order"
    );
    for sub in [&mut at_a, &mut at_b] {
        for i in 0..100u64 {
            let msg = sub.recv().await.unwrap();
            assert_eq!((msg.seq(), *msg.payload()), (Seq::new(i + 1), i));
            assert_eq!(msg.sender().as_str(), "clock");
            let kernel = if i % 2 == 0 { "kernel-a" } else { "kernel-b" };
            assert_eq!(msg.kernel(), Some(kernel), "the kernel that published it");
        }
    }
}

#[actix_rt::test]
async fn a_publish_is_read_back_at_once_in_the_kernel_that_made_it() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("ryw");
    let a = kernel(
        &server.connect("kernel-a").await,
        &id,
        StreamSpec::default(),
    )
    .await;
    for i in 0..20u64 {
        let seq = a.publisher.publish(i).await.unwrap();
        let read = a.reader.read(Seq::new(seq.get() - 1), 1).await.unwrap();
        assert_eq!((read[0].seq(), *read[0].payload()), (seq, i));
    }
}

#[actix_rt::test]
async fn a_late_joiner_catches_up_from_the_servers_history_then_goes_on_live() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("late");
    let a = kernel(
        &server.connect("kernel-a").await,
        &id,
        StreamSpec::default(),
    )
    .await;
    for i in 0..50u64 {
        a.publisher.publish(i).await.unwrap();
    }
    let late = kernel(
        &server.connect("kernel-late").await,
        &id,
        StreamSpec::default(),
    )
    .await;
    let history = late.reader.read(Seq::ZERO, 100).await.unwrap();
    let got: Vec<_> = history
        .iter()
        .map(|m| (m.seq().get(), *m.payload()))
        .collect();
    assert_eq!(got, (0..50).map(|i| (i + 1, i)).collect::<Vec<_>>());
    let options = SubscribeOptions::default().start(StartAt::Earliest);
    let mut sub = late.reader.subscribe(options).await.unwrap();
    a.publisher.publish(50).await.unwrap();
    for i in 0..=50u64 {
        let msg = sub.recv().await.unwrap();
        assert_eq!((msg.seq().get(), *msg.payload()), (i + 1, i));
    }
}

#[actix_rt::test]
async fn a_reader_behind_the_servers_retention_is_told_it_lagged() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("lag");
    let spec = StreamSpec::default().retention(10);
    let a = kernel(&server.connect("kernel-a").await, &id, spec.clone()).await;
    for i in 0..30u64 {
        a.publisher.publish(i).await.unwrap();
    }
    let late = kernel(&server.connect("kernel-late").await, &id, spec).await;
    for k in [&a, &late] {
        let error = k.reader.read(Seq::ZERO, 100).await.unwrap_err();
        assert!(
            matches!(error, ChannelError::Lagged { missed: 20, next, .. } if next == Seq::new(21)),
            "{error}"
        );
        let kept = k.reader.read(Seq::new(20), 100).await.unwrap();
        assert_eq!(kept.len(), 10);
    }
}

#[actix_rt::test]
async fn a_kernel_asking_for_another_retention_is_refused() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let nats = server.connect("kernel-a").await;
    let id = fresh_channel("mismatch");
    nats.broadcast(&id, StreamSpec::default()).await.unwrap();
    let error = nats
        .broadcast(&id, StreamSpec::default().retention(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NatsError::Mismatch {
                setting: "retention",
                ..
            }
        ),
        "{error}"
    );
    let error = nats
        .broadcast(&id, StreamSpec::default().retention(0))
        .await
        .unwrap_err();
    assert!(matches!(error, NatsError::Invalid { .. }), "{error}");
}

#[actix_rt::test]
async fn a_kernel_that_only_publishes_follows_once_a_holder_may_read() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("writers");
    let nats = server.connect("kernel-a").await;
    let shared = nats.broadcast(&id, StreamSpec::default()).await.unwrap();
    let channel = Broadcast::<u64>::builder(id)
        .shared(shared)
        .start()
        .unwrap();
    let clock = channel
        .grant(SystemId::new("clock").unwrap(), Rights::WRITE)
        .await
        .unwrap();
    for i in 0..10u64 {
        assert_eq!(clock.publish(i).await.unwrap(), Seq::new(i + 1));
    }
    let stats = channel.stats().await.unwrap();
    assert_eq!(
        (stats.accepted, stats.delivered),
        (10, 0),
        "nothing came back: no one here reads"
    );

    let reader = channel
        .grant(SystemId::new("reader").unwrap(), Rights::READ)
        .await
        .unwrap();
    let options = SubscribeOptions::default().start(StartAt::Earliest);
    let mut sub = reader.subscribe(options).await.unwrap();
    clock.publish(10).await.unwrap();
    for i in 0..=10u64 {
        let msg = sub.recv().await.unwrap();
        assert_eq!((msg.seq().get(), *msg.payload()), (i + 1, i));
    }
}

#[actix_rt::test]
async fn a_message_that_did_not_come_from_a_kernel_is_skipped() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let id = fresh_channel("forged-news");
    let a = kernel(
        &server.connect("kernel-a").await,
        &id,
        StreamSpec::default(),
    )
    .await;
    let mut sub = a
        .reader
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let subject = format!("exokern.{}.messages", exokern_nats::default_stream(&id));
    let record = br#"{"id":"00000000-0000-8000-8000-000000000001","sent_at":1,"sender":"clock","payload":99}"#;
    jetstream
        .publish(subject, record.to_vec().into())
        .await
        .unwrap()
        .await
        .unwrap();
    let seq = a.publisher.publish(7).await.unwrap();
    let msg = sub.recv().await.unwrap();
    assert_eq!(
        (msg.seq(), *msg.payload()),
        (seq, 7),
        "the forged message is not delivered"
    );
    assert_eq!(seq, Seq::new(2));
}
