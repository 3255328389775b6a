//! Mailboxes: private inboxes, backpressure per recipient, correlated requests.

mod common;

use std::time::Duration;

use actix::{Actor, Context, Handler};
use common::{cid, sid};
use exokern_actors::channel::{ChannelError, MailboxHandle, RecvError};
use exokern_actors::prelude::*;

const SECOND: Duration = Duration::from_secs(1);

async fn mailbox(capacity: usize, names: &[&str]) -> (Mailbox<String>, Vec<MailboxHandle<String>>) {
    let mail = Mailbox::<String>::builder(cid("mail"))
        .inbox_capacity(capacity)
        .start()
        .unwrap();
    let mut handles = Vec::new();
    for name in names {
        handles.push(
            mail.grant(sid(name), Rights::READ | Rights::WRITE)
                .await
                .unwrap(),
        );
    }
    (mail, handles)
}

/// A mailbox with inboxes of `capacity` for `senders` holders named `sender-0`, ...,
/// and one named `sink`, whose handle comes last.
async fn senders_and_sink(
    senders: usize,
    capacity: usize,
) -> (Mailbox<String>, Vec<MailboxHandle<String>>) {
    let names: Vec<String> = (0..senders).map(|i| format!("sender-{i}")).collect();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.push("sink");
    mailbox(capacity, &all).await
}

/// Starts a task per handle that sends `each` messages to `sink`, numbered from 0: half
/// the sends wait for room, half retry when refused.
fn spawn_senders(
    handles: &[MailboxHandle<String>],
    each: usize,
) -> Vec<actix_rt::task::JoinHandle<()>> {
    handles
        .iter()
        .cloned()
        .map(|handle| {
            actix::spawn(async move {
                for n in 0..each {
                    if n % 2 == 0 {
                        handle.send(&sid("sink"), n.to_string()).await.unwrap();
                    } else {
                        while let Err(ChannelError::Full { .. }) =
                            handle.try_send(&sid("sink"), n.to_string())
                        {
                            tokio::task::yield_now().await;
                        }
                    }
                }
            })
        })
        .collect()
}

/// Checks that each of several senders' messages, numbered 0, 1, ... in their payloads,
/// arrive once each and in order.
struct InOrder(Vec<usize>);

impl InOrder {
    fn new(senders: usize) -> InOrder {
        InOrder(vec![0; senders])
    }

    /// `payload` arrived from the sender whose index `from` ends with.
    fn saw(&mut self, from: &str, payload: &str) {
        let sender: usize = from.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(payload, self.0[sender].to_string(), "from {from}");
        self.0[sender] += 1;
    }

    fn all_seen(&self, each: usize) -> bool {
        self.0.iter().all(|&n| n == each)
    }
}

/// Takes what waits in `holder`'s inbox (up to ten messages), as payloads.
fn waiting_in(holder: &MailboxHandle<String>) -> Vec<String> {
    let taken = holder.read(10).unwrap();
    taken.iter().map(|m| m.payload().clone()).collect()
}

#[actix_rt::test]
async fn only_the_recipient_reads_its_inbox() {
    let (_mail, h) = mailbox(16, &["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&h[0], &h[1], &h[2]);
    alice
        .send(&sid("bob"), "for bob".to_string())
        .await
        .unwrap();

    // Carol and Alice see nothing; no API lets them name Bob's inbox.
    assert!(carol.try_recv().unwrap().is_none());
    assert!(alice.try_recv().unwrap().is_none());
    let got = bob.recv().await.unwrap();
    assert_eq!(got.payload(), "for bob");
    assert_eq!(got.sender(), &sid("alice"));
    assert_eq!(got.recipient(), Some(&sid("bob")));
    assert_eq!(bob.inbox_len(), 0);
}

#[actix_rt::test]
async fn a_write_only_holder_has_no_inbox_and_cannot_be_addressed() {
    let mail = Mailbox::<String>::builder(cid("mail")).start().unwrap();
    let writer = mail.grant(sid("writer"), Rights::WRITE).await.unwrap();
    let reader = mail.grant(sid("reader"), Rights::READ).await.unwrap();
    assert!(matches!(
        writer.try_recv(),
        Err(RecvError::Channel(ChannelError::MissingRights { .. }))
    ));
    assert!(matches!(
        reader.send(&sid("writer"), "hi".to_string()).await,
        Err(ChannelError::MissingRights { .. })
    ));
    assert!(matches!(
        writer.send(&sid("writer"), "to self".to_string()).await,
        Err(ChannelError::UnknownRecipient { .. })
    ));
    assert!(matches!(
        writer.send(&sid("nobody"), "hello?".to_string()).await,
        Err(ChannelError::UnknownRecipient { .. })
    ));
    writer.send(&sid("reader"), "hi".to_string()).await.unwrap();
    assert_eq!(reader.recv().await.unwrap().payload(), "hi");
}

#[actix_rt::test]
async fn a_full_inbox_makes_its_senders_wait_and_nobody_else() {
    tokio::time::pause();
    let (_mail, h) = mailbox(2, &["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (h[0].clone(), h[1].clone(), h[2].clone());
    alice.send(&sid("bob"), "1".to_string()).await.unwrap();
    alice.send(&sid("bob"), "2".to_string()).await.unwrap();
    assert!(matches!(
        alice.try_send(&sid("bob"), "3".to_string()),
        Err(ChannelError::Full { capacity: 2, .. })
    ));
    let waiting = {
        let alice = alice.clone();
        actix::spawn(async move { alice.send(&sid("bob"), "3".to_string()).await })
    };
    // Bob's full inbox holds up only the senders writing to Bob.
    alice
        .send(&sid("carol"), "unaffected".to_string())
        .await
        .unwrap();
    assert_eq!(carol.recv().await.unwrap().payload(), "unaffected");
    tokio::time::advance(Duration::from_secs(30)).await;
    assert!(!waiting.is_finished());

    assert_eq!(bob.recv().await.unwrap().payload(), "1");
    waiting.await.unwrap().unwrap();
    assert_eq!(waiting_in(&bob), vec!["2", "3"]);
}

#[actix_rt::test]
async fn a_thousand_concurrent_requests_from_one_sender_each_get_their_own_reply() {
    let (mail, h) = mailbox(64, &["client", "server"]).await;
    let (client, server) = (h[0].clone(), h[1].clone());
    let serving = actix::spawn(async move {
        let mut served = 0;
        while served < 1000 {
            let mut request = server.recv().await.unwrap();
            let answer = format!("re: {}", request.payload());
            server.reply(&mut request, answer).unwrap();
            served += 1;
        }
    });
    let mut requests = Vec::new();
    for n in 0..1000 {
        let client = client.clone();
        requests.push(actix::spawn(async move {
            let question = format!("q{n}");
            let reply = client
                .request(&sid("server"), question.clone(), Duration::from_secs(60))
                .await
                .unwrap();
            (question, reply)
        }));
    }
    for request in requests {
        let (question, reply) = request.await.unwrap();
        assert_eq!(reply.payload(), &format!("re: {question}"));
        assert_eq!(reply.sender(), &sid("server"));
        assert_eq!(reply.recipient(), Some(&sid("client")));
        assert!(reply.correlation().is_some());
    }
    serving.await.unwrap();
    let stats = mail.stats().await.unwrap();
    assert_eq!((stats.accepted, stats.delivered), (2000, 2000));
}

#[actix_rt::test]
async fn a_reply_is_correlated_to_its_request() {
    let (_mail, h) = mailbox(4, &["client", "server"]).await;
    let (client, server) = (h[0].clone(), h[1].clone());
    let serving = actix::spawn(async move {
        let mut request = server.recv().await.unwrap();
        assert!(request.is_request());
        let request_id = request.id();
        server.reply(&mut request, "pong".to_string()).unwrap();
        // A request is answered once.
        assert!(matches!(
            server.reply(&mut request, "again".to_string()),
            Err(ChannelError::NotARequest { .. })
        ));
        request_id
    });
    let reply = client
        .request(&sid("server"), "ping".to_string(), SECOND)
        .await
        .unwrap();
    assert_eq!(reply.correlation(), Some(serving.await.unwrap()));
}

#[actix_rt::test]
async fn a_request_nobody_answers_times_out_and_a_dropped_one_fails_at_once() {
    tokio::time::pause();
    let (_mail, h) = mailbox(4, &["client", "server"]).await;
    let (client, server) = (h[0].clone(), h[1].clone());
    assert!(matches!(
        client
            .request(&sid("server"), "hello?".to_string(), SECOND)
            .await,
        Err(ChannelError::Timeout { .. })
    ));
    // The server now reads the stale request and answers too late.
    let mut late = server.recv().await.unwrap();
    assert!(matches!(
        server.reply(&mut late, "sorry".to_string()),
        Err(ChannelError::RequesterGone { .. })
    ));

    let dropper = actix::spawn(async move {
        let request = server.recv().await.unwrap();
        drop(request);
    });
    assert!(matches!(
        client
            .request(
                &sid("server"),
                "anyone?".to_string(),
                Duration::from_secs(3600)
            )
            .await,
        Err(ChannelError::NoReply { .. })
    ));
    dropper.await.unwrap();
}

#[actix_rt::test]
async fn replies_go_only_through_the_mailbox_they_came_from() {
    let (_mail, h) = mailbox(4, &["client", "server"]).await;
    let other = Mailbox::<String>::builder(cid("other")).start().unwrap();
    let elsewhere = other
        .grant(sid("server"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    let (client, server) = (h[0].clone(), h[1].clone());
    let serving = actix::spawn(async move {
        let mut request = server.recv().await.unwrap();
        assert!(matches!(
            elsewhere.reply(&mut request, "wrong door".to_string()),
            Err(ChannelError::WrongChannel { .. })
        ));
        server
            .reply(&mut request, "right door".to_string())
            .unwrap();
    });
    let reply = client
        .request(&sid("server"), "?".to_string(), SECOND)
        .await
        .unwrap();
    assert_eq!(reply.payload(), "right door");
    serving.await.unwrap();
}

struct Echo {
    inbox: MailboxHandle<String>,
}

impl Actor for Echo {
    type Context = Context<Self>;
}

impl Handler<Delivery<String>> for Echo {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<String>, _: &mut Context<Self>) {
        for mut msg in delivery {
            let echo = msg.payload().to_uppercase();
            self.inbox.reply(&mut msg, echo).unwrap();
        }
    }
}

#[actix_rt::test]
async fn an_inbox_can_be_pushed_to_any_actix_actor() {
    let (_mail, h) = mailbox(16, &["client", "echo"]).await;
    let (client, echo) = (h[0].clone(), h[1].clone());
    // A message already waiting is delivered as soon as the actor subscribes.
    let early = {
        let client = client.clone();
        actix::spawn(async move {
            client
                .request(&sid("echo"), "early".to_string(), SECOND)
                .await
        })
    };
    actix_rt::task::yield_now().await;
    let actor = Echo {
        inbox: echo.clone(),
    }
    .start();
    echo.subscribe_actor(actor.recipient()).unwrap();
    assert_eq!(early.await.unwrap().unwrap().payload(), "EARLY");
    for word in ["a", "bc", "def"] {
        let reply = client
            .request(&sid("echo"), word.to_string(), SECOND)
            .await
            .unwrap();
        assert_eq!(reply.payload(), &word.to_uppercase());
    }
}

#[actix_rt::test]
async fn a_sender_waiting_for_room_fails_when_the_recipient_is_revoked() {
    tokio::time::pause();
    let (mail, h) = mailbox(1, &["alice", "bob"]).await;
    let alice = h[0].clone();
    alice
        .send(&sid("bob"), "fills it".to_string())
        .await
        .unwrap();
    let waiting = {
        let alice = alice.clone();
        actix::spawn(async move { alice.send(&sid("bob"), "waits".to_string()).await })
    };
    tokio::time::advance(SECOND).await;
    assert!(!waiting.is_finished());
    assert!(mail.revoke(&sid("bob")).await);
    assert!(matches!(
        waiting.await.unwrap(),
        Err(ChannelError::UnknownRecipient { recipient, .. }) if recipient == sid("bob")
    ));
    let stats = mail.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.dropped), (1, 1), "{stats:?}");
}

#[actix_rt::test]
async fn a_request_waiting_for_room_times_out_at_its_deadline_and_sends_nothing() {
    tokio::time::pause();
    let (_mail, h) = mailbox(1, &["client", "server"]).await;
    let (client, server) = (h[0].clone(), h[1].clone());
    client
        .send(&sid("server"), "fills it".to_string())
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    assert!(matches!(
        client
            .request(&sid("server"), "never sent".to_string(), SECOND)
            .await,
        Err(ChannelError::Timeout { timeout, .. }) if timeout == SECOND
    ));
    // Paused time fires timers on whole milliseconds.
    let waited = started.elapsed();
    assert!(
        (SECOND..SECOND + Duration::from_millis(2)).contains(&waited),
        "{waited:?}"
    );
    assert_eq!(waiting_in(&server), ["fills it"]);
    // The room the request waited for is still there for the next sender.
    client.try_send(&sid("server"), "next".to_string()).unwrap();
}

/// Eight senders, each on its own task, push into one small inbox while its recipient
/// reads: each sender's messages arrive once, in the order it sent them, and the
/// channel counts every one.
#[actix_rt::test]
async fn many_senders_into_one_small_inbox_lose_nothing_and_keep_their_order() {
    const SENDERS: usize = 8;
    const EACH: usize = 500;
    let (mail, h) = senders_and_sink(SENDERS, 4).await;
    let sink = h[SENDERS].clone();
    let senders = spawn_senders(&h[..SENDERS], EACH);
    let mut order = InOrder::new(SENDERS);
    for _ in 0..SENDERS * EACH {
        let msg = sink.recv().await.unwrap();
        order.saw(msg.sender().as_str(), msg.payload());
    }
    for sender in senders {
        sender.await.unwrap();
    }
    assert!(order.all_seen(EACH));
    assert!(sink.try_recv().unwrap().is_none());
    let stats = mail.stats().await.unwrap();
    let total = (SENDERS * EACH) as u64;
    assert_eq!((stats.delivered, stats.dropped), (total, 0), "{stats:?}");
}

/// Collects what its deliveries hand it, as (sender, payload), and says when it has
/// `expected` messages.
struct Collector {
    got: Vec<(String, String)>,
    expected: usize,
    done: Option<tokio::sync::oneshot::Sender<Vec<(String, String)>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Delivery<String>> for Collector {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<String>, _: &mut Context<Self>) {
        for msg in delivery {
            self.got
                .push((msg.sender().to_string(), msg.payload().clone()));
        }
        if self.got.len() >= self.expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(std::mem::take(&mut self.got));
            }
        }
    }
}

#[actix_rt::test]
async fn an_actor_on_another_arbiter_gets_every_message_of_many_senders_in_order() {
    const SENDERS: usize = 4;
    const EACH: usize = 500;
    let (mail, h) = senders_and_sink(SENDERS, 8).await;
    let arbiter = actix::Arbiter::new();
    let (done, collected) = tokio::sync::oneshot::channel();
    let collector = Collector::start_in_arbiter(&arbiter.handle(), move |_| Collector {
        got: Vec::new(),
        expected: SENDERS * EACH,
        done: Some(done),
    });
    h[SENDERS].subscribe_actor(collector.recipient()).unwrap();
    let senders = spawn_senders(&h[..SENDERS], EACH);
    for sender in senders {
        sender.await.unwrap();
    }
    let got = tokio::time::timeout(10 * SECOND, collected)
        .await
        .expect("every message arrives")
        .unwrap();
    assert_eq!(got.len(), SENDERS * EACH);
    let mut order = InOrder::new(SENDERS);
    for (sender, payload) in &got {
        order.saw(sender, payload);
    }
    assert!(order.all_seen(EACH));
    let stats = mail.stats().await.unwrap();
    assert_eq!(stats.dropped, 0, "{stats:?}");
    arbiter.stop();
}

#[actix_rt::test]
async fn sending_to_an_inbox_whose_actor_is_gone_fails_and_is_counted() {
    let (mail, h) = mailbox(4, &["alice", "sink"]).await;
    let arbiter = actix::Arbiter::new();
    let (done, _collected) = tokio::sync::oneshot::channel();
    let collector = Collector::start_in_arbiter(&arbiter.handle(), move |_| Collector {
        got: Vec::new(),
        expected: 1,
        done: Some(done),
    });
    h[1].subscribe_actor(collector.clone().recipient()).unwrap();
    arbiter.stop();
    while collector.connected() {
        actix_rt::task::yield_now().await;
    }
    assert!(matches!(
        h[0].try_send(&sid("sink"), "lost".to_string()),
        Err(ChannelError::UnknownRecipient { recipient, .. }) if recipient == sid("sink")
    ));
    assert!(matches!(
        h[0].try_send(&sid("sink"), "lost too".to_string()),
        Err(ChannelError::UnknownRecipient { .. })
    ));
    let stats = mail.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.dropped), (0, 2), "{stats:?}");
}

#[actix_rt::test]
async fn a_recipient_revoked_and_granted_again_gets_what_is_sent_after_the_new_grant() {
    let (mail, h) = mailbox(4, &["alice", "bob"]).await;
    let alice = h[0].clone();
    // Sent to twice in a row, bob's inbox is the one alice's handle keeps.
    for n in 0..2 {
        alice.try_send(&sid("bob"), format!("old {n}")).unwrap();
    }
    assert!(mail.revoke(&sid("bob")).await);
    assert!(matches!(
        alice.try_send(&sid("bob"), "into the void".to_string()),
        Err(ChannelError::UnknownRecipient { recipient, .. }) if recipient == sid("bob")
    ));
    let bob = mail
        .grant(sid("bob"), Rights::READ | Rights::WRITE)
        .await
        .unwrap();
    for n in 0..2 {
        alice.try_send(&sid("bob"), format!("new {n}")).unwrap();
    }
    assert_eq!(waiting_in(&bob), ["new 0", "new 1"]);
    let stats = mail.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.dropped), (4, 2), "{stats:?}");
}

#[actix_rt::test]
async fn one_handle_shared_by_many_threads_loses_and_repeats_nothing() {
    const THREADS: usize = 4;
    const EACH: usize = 2_000;
    let (mail, h) = mailbox(16, &["writer", "sink"]).await;
    let (writer, sink) = (std::sync::Arc::new(h[0].clone()), h[1].clone());
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let writer = std::sync::Arc::clone(&writer);
            std::thread::spawn(move || {
                for n in 0..EACH {
                    let msg = format!("{thread}:{n}");
                    while let Err(ChannelError::Full { .. }) =
                        writer.try_send(&sid("sink"), msg.clone())
                    {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut order = InOrder::new(THREADS);
    for _ in 0..THREADS * EACH {
        let msg = sink.recv().await.unwrap();
        let (thread, n) = msg.payload().split_once(':').unwrap();
        order.saw(&format!("thread-{thread}"), n);
    }
    assert!(order.all_seen(EACH));
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(sink.try_recv().unwrap().is_none());
    let stats = mail.stats().await.unwrap();
    assert_eq!(stats.dropped, 0, "{stats:?}");
}
