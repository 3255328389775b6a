//! Handles as capabilities: identity stamping, rights checks, revocation.

mod common;

use std::time::Duration;

use actix::{Actor, Context, Handler};
use common::{cid, sid};
use exokern_actors::channel::{ChannelError, ChannelHandle, ChannelKind, CloseReason, RecvError};
use exokern_actors::prelude::*;

#[actix_rt::test]
async fn the_sender_is_always_the_handles_holder() {
    let ch = Broadcast::<String>::builder(cid("feed")).start().unwrap();
    let alice = ch
        .grant(sid("alice"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    let bob = ch.grant(sid("bob"), Rights::WRITE).await.unwrap();
    let mut sub = alice.subscribe(SubscribeOptions::default()).await.unwrap();
    // Metadata can say anything; the stamped sender cannot be chosen.
    let spoof = Outgoing::new("hi".to_string())
        .metadata("sender", "alice")
        .unwrap();
    bob.publish(spoof).await.unwrap();
    let msg = sub.recv().await.unwrap();
    assert_eq!(msg.sender(), &sid("bob"));
    assert_eq!(msg.metadata().get("sender"), Some("alice"));
    assert_eq!(bob.holder(), &sid("bob"));
}

#[actix_rt::test]
async fn each_operation_needs_its_right() {
    let ch = Broadcast::<u8>::builder(cid("feed")).start().unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    match reader.publish(1).await {
        Err(ChannelError::MissingRights { needed, held, .. }) => {
            assert_eq!((needed, held), (Rights::WRITE, Rights::READ));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        writer.read(Seq::ZERO, 1).await,
        Err(ChannelError::MissingRights { .. })
    ));
    assert!(matches!(
        writer.subscribe(SubscribeOptions::default()).await,
        Err(ChannelError::MissingRights { .. })
    ));

    let q = WorkQueue::<u8>::builder(cid("jobs")).start().unwrap();
    let producer = q.grant(sid("producer"), Rights::WRITE).await.unwrap();
    let consumer = q.grant(sid("consumer"), Rights::READ).await.unwrap();
    assert!(matches!(
        consumer.send(1).await,
        Err(ChannelError::MissingRights { .. })
    ));
    assert!(matches!(
        producer.claim(1, Duration::from_secs(1)).await,
        Err(ChannelError::MissingRights { .. })
    ));
    let stats = ch.stats().await.unwrap();
    assert_eq!(stats.accepted, 0);
}

#[actix_rt::test]
async fn changing_a_grant_changes_what_existing_handles_may_do() {
    let ch = Broadcast::<u8>::builder(cid("feed")).start().unwrap();
    let handle = ch
        .grant(sid("agent"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    handle.publish(1).await.unwrap();
    let narrowed = ch.grant(sid("agent"), Rights::READ).await.unwrap();
    assert_eq!(handle.rights(), Rights::READ);
    assert!(matches!(
        handle.publish(2).await,
        Err(ChannelError::MissingRights { .. })
    ));
    assert_eq!(narrowed.read(Seq::ZERO, 10).await.unwrap().len(), 1);
}

fn revoked<T>(result: Result<T, ChannelError>) -> bool {
    matches!(result, Err(ChannelError::Revoked { .. }))
}

#[actix_rt::test]
async fn a_revoked_holders_handles_fail_from_then_on_everywhere() {
    let ch = Broadcast::<u8>::builder(cid("feed")).start().unwrap();
    let q = WorkQueue::<u8>::builder(cid("jobs")).start().unwrap();
    let mail = Mailbox::<u8>::builder(cid("mail")).start().unwrap();
    let all = Rights::READ | Rights::WRITE;
    let feed = ch.grant(sid("agent"), all).await.unwrap();
    let jobs = q.grant(sid("agent"), all).await.unwrap();
    let inbox = mail.grant(sid("agent"), all).await.unwrap();
    let friend = mail.grant(sid("friend"), all).await.unwrap();
    let mut sub = feed.subscribe(SubscribeOptions::default()).await.unwrap();
    feed.publish(1).await.unwrap();
    friend.send(&sid("agent"), 9).await.unwrap();

    assert!(ch.revoke(&sid("agent")).await);
    assert!(q.revoke(&sid("agent")).await);
    assert!(mail.revoke(&sid("agent")).await);
    assert!(!ch.revoke(&sid("agent")).await, "already revoked");

    assert!(!feed.is_live());
    assert!(revoked(feed.publish(2).await));
    assert!(revoked(feed.read(Seq::ZERO, 1).await));
    assert!(revoked(jobs.send(1).await));
    assert!(revoked(jobs.claim(1, Duration::from_secs(1)).await));
    assert!(revoked(inbox.send(&sid("friend"), 1).await));
    // Even what was already buffered for the holder is out of reach now.
    assert!(matches!(
        sub.recv().await,
        Err(RecvError::Channel(ChannelError::Revoked { .. }))
    ));
    assert!(matches!(
        inbox.try_recv(),
        Err(RecvError::Channel(ChannelError::Revoked { .. }))
    ));
    // Nobody can send to a revoked holder's inbox.
    assert!(matches!(
        friend.send(&sid("agent"), 1).await,
        Err(ChannelError::UnknownRecipient { .. })
    ));

    // A new grant is a new capability; the old handles stay dead.
    let fresh = ch.grant(sid("agent"), all).await.unwrap();
    fresh.publish(3).await.unwrap();
    assert!(revoked(feed.publish(4).await));
}

/// Reports how its push subscription ended.
struct Watcher(tokio::sync::mpsc::UnboundedSender<Option<CloseReason>>);

impl Actor for Watcher {
    type Context = Context<Self>;
}

impl Handler<Delivery<u8>> for Watcher {
    type Result = ();
    fn handle(&mut self, mut delivery: Delivery<u8>, _: &mut Context<Self>) {
        delivery.by_ref().for_each(drop);
        self.0.send(delivery.closed()).unwrap();
    }
}

#[actix_rt::test]
async fn revocation_ends_push_subscriptions_with_a_reason() {
    let ch = Broadcast::<u8>::builder(cid("feed")).start().unwrap();
    let writer = ch.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let (tx, mut ends) = tokio::sync::mpsc::unbounded_channel();
    let watcher = Watcher(tx).start();
    reader
        .subscribe_actor(watcher.recipient(), SubscribeOptions::default())
        .await
        .unwrap();
    writer.publish(1).await.unwrap();
    assert_eq!(ends.recv().await.unwrap(), None);
    ch.revoke(&sid("reader")).await;
    assert_eq!(ends.recv().await.unwrap(), Some(CloseReason::Revoked));
    writer.publish(2).await.unwrap();
    let stats = ch.stats().await.unwrap();
    assert_eq!((stats.consumers, stats.holders, stats.delivered), (0, 1, 1));
}

#[actix_rt::test]
async fn revoking_a_consumer_redelivers_its_claims() {
    let q = WorkQueue::<u8>::builder(cid("jobs")).start().unwrap();
    let producer = q.grant(sid("producer"), Rights::WRITE).await.unwrap();
    let rogue = q.grant(sid("rogue"), Rights::READ).await.unwrap();
    let honest = q.grant(sid("honest"), Rights::READ).await.unwrap();
    producer.send_batch([1, 2, 3]).await.unwrap();
    let taken = rogue.claim(3, Duration::from_secs(60)).await.unwrap();
    q.revoke(&sid("rogue")).await;
    assert!(rogue.ack(taken[0].claim_token().unwrap()).await.is_err());
    let again = honest.claim(3, Duration::from_secs(60)).await.unwrap();
    let payloads: Vec<u8> = again.iter().map(|i| *i.payload()).collect();
    assert_eq!(payloads, vec![1, 2, 3]);
    assert!(again.iter().all(|i| i.attempt() == 2));
}

#[actix_rt::test]
async fn under_concurrent_writes_nothing_is_accepted_after_revoke_returns() {
    let ch = Broadcast::<u32>::builder(cid("feed"))
        .retention(100_000)
        .start()
        .unwrap();
    let reader = ch.grant(sid("reader"), Rights::READ).await.unwrap();
    let (warm, mut warmed) = tokio::sync::mpsc::unbounded_channel();
    let mut writers = Vec::new();
    for w in 0..8 {
        let handle = ch
            .grant(sid(&format!("w{w}")), Rights::WRITE)
            .await
            .unwrap();
        let warm = warm.clone();
        writers.push(actix::spawn(async move {
            let mut ok = 0u32;
            for n in 0..10_000 {
                if n == 100 {
                    warm.send(()).unwrap();
                }
                match handle.publish(n).await {
                    Ok(_) => ok += 1,
                    Err(ChannelError::Revoked { .. }) => return (ok, true),
                    Err(other) => panic!("{other}"),
                }
            }
            (ok, false)
        }));
    }
    // Revoke while all eight are mid-stream.
    for _ in 0..8 {
        warmed.recv().await.unwrap();
    }
    for w in 0..8 {
        ch.revoke(&sid(&format!("w{w}"))).await;
    }
    let accepted_at_revoke = ch.stats().await.unwrap().accepted;
    let mut total_ok = 0;
    for writer in writers {
        let (ok, _) = writer.await.unwrap();
        total_ok += u64::from(ok);
    }
    let stats = ch.stats().await.unwrap();
    assert!((800..80_000).contains(&total_ok), "{total_ok}");
    // Every publish that was told Ok was accepted, and none after the revokes.
    assert_eq!(stats.accepted, total_ok);
    assert_eq!(stats.accepted, accepted_at_revoke);
    let retained = reader.read(Seq::ZERO, 10_000).await.unwrap().len() as u64;
    assert_eq!(retained, total_ok.min(10_000));
}

#[actix_rt::test]
async fn a_handle_of_any_kind_still_speaks_for_its_holder() {
    let ch = Broadcast::<u8>::builder(cid("feed")).start().unwrap();
    let q = WorkQueue::<u8>::builder(cid("jobs")).start().unwrap();
    let mail = Mailbox::<u8>::builder(cid("mail")).start().unwrap();
    let handles: Vec<ChannelHandle<u8>> = vec![
        ch.grant(sid("agent"), Rights::READ).await.unwrap().into(),
        q.grant(sid("agent"), Rights::WRITE).await.unwrap().into(),
        mail.grant(sid("agent"), Rights::ALL).await.unwrap().into(),
    ];
    let kinds: Vec<ChannelKind> = handles.iter().map(ChannelHandle::kind).collect();
    assert_eq!(
        kinds,
        vec![
            ChannelKind::Broadcast,
            ChannelKind::WorkQueue,
            ChannelKind::Mailbox
        ]
    );
    assert!(handles
        .iter()
        .all(|h| h.holder() == &sid("agent") && h.is_live()));
    assert_eq!(handles[1].rights(), Rights::WRITE);
    q.revoke(&sid("agent")).await;
    assert!(!handles[1].is_live());
    match &handles[1] {
        ChannelHandle::WorkQueue(jobs) => assert!(matches!(
            jobs.send(1).await,
            Err(ChannelError::Revoked { .. })
        )),
        other => panic!("{:?}", other.kind()),
    }
}
