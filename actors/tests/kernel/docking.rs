//! Dock and undock: atomic, collision-free, a full teardown.

use exokern_actors::kernel::{Dock, DockError, GovernanceError, LifecycleState, Visibility};
use exokern_actors::policy::RuleSet;
use exokern_actors::prelude::*;
use exokern_actors::protocol::LifecycleCommand;

use crate::common::{cid, sid};
use crate::support::{dock_probe, http, kernel, Probe};

#[actix_rt::test]
async fn an_undocked_system_gets_nothing() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let cap = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    kernel.undock(&sid("alice")).await.unwrap();
    let denied = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await;
    assert!(
        matches!(
            denied,
            Err(GovernanceError::NotRunning {
                state: LifecycleState::Stopped,
                ..
            })
        ),
        "{denied:?}"
    );
    assert!(kernel.snapshot().await.unwrap().systems.is_empty());
    // Its capability is gone too: a new alice cannot inherit it.
    let again = dock_probe(&kernel, "alice", false).await;
    let reused = again.authorize(http("GET"), Some(&cap.capability)).await;
    assert!(
        matches!(reused, Err(GovernanceError::Capability(_))),
        "{reused:?}"
    );
}

#[actix_rt::test]
async fn a_dock_that_collides_or_overreaches_is_refused_and_changes_nothing() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let news = Broadcast::<String>::builder(cid("news")).start().unwrap();
    kernel.add_channel(news, Visibility::Public).await.unwrap();
    let before = kernel.snapshot().await.unwrap();
    let probe = Probe::blind;
    // S3: a system cannot shadow an existing channel.
    let shadow = Broadcast::<String>::builder(cid("news")).start().unwrap();
    let refused = kernel
        .dock(Dock::new(sid("evil"), probe).owns(shadow, Visibility::Private))
        .await;
    assert!(
        matches!(refused, Err(DockError::ChannelCollision { .. })),
        "{refused:?}"
    );
    // S4: kernel channels cannot even be named in a dock; their tiers are granted by
    // the kernel alone.
    assert!("kernel.approvals".parse::<ChannelId>().is_err());
    let refused = kernel
        .dock(Dock::new(sid("evil"), probe).subscribe(cid("missing"), Default::default()))
        .await;
    assert!(
        matches!(refused, Err(DockError::UnknownChannel { .. })),
        "{refused:?}"
    );
    let wrong = Broadcast::<u64>::builder(cid("numbers")).start().unwrap();
    kernel
        .add_channel(wrong, Visibility::Private)
        .await
        .unwrap();
    let refused = kernel
        .dock(Dock::new(sid("evil"), probe).subscribe(cid("numbers"), Default::default()))
        .await;
    assert!(
        matches!(refused, Err(DockError::WrongType { .. })),
        "{refused:?}"
    );
    let after = kernel.snapshot().await.unwrap();
    assert_eq!(after.systems, before.systems);
    assert_eq!(after.channels.len(), before.channels.len() + 1);
    dock_probe(&kernel, "alice", false).await;
    let twice = kernel.dock(Dock::new(sid("alice"), probe)).await;
    assert!(
        matches!(twice, Err(DockError::AlreadyDocked(_))),
        "{twice:?}"
    );
}

/// Asks for a capability the moment it starts, and reports whether it got one.
struct Eager {
    report: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl System for Eager {
    type Message = String;

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let client = ctx.kernel().cloned().unwrap();
        let report = self.report.take();
        ctx.spawn(async move {
            let granted = client
                .request("executor:http".parse().unwrap(), Rights::EXECUTE)
                .await;
            report.map(|report| report.send(granted.is_ok()));
        });
    }
}

#[actix_rt::test]
async fn a_system_is_served_from_its_first_hook() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let (report, granted) = tokio::sync::oneshot::channel();
    let mut report = Some(report);
    kernel
        .dock(Dock::new(sid("eager"), move || Eager {
            report: report.take(),
        }))
        .await
        .unwrap();
    assert!(granted.await.unwrap());
}

/// Records the payloads it is handed.
struct Recorder(tokio::sync::mpsc::UnboundedSender<u32>);

impl System for Recorder {
    type Message = u32;

    fn on_message(
        &mut self,
        _: &mut SystemContext<'_, Self>,
        msg: exokern_actors::channel::Inbound<u32>,
    ) {
        let _ = self.0.send(*msg.payload());
    }
}

#[actix_rt::test]
async fn a_paused_system_holds_its_inbox_until_resumed_and_a_drain_hands_it_over() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let mail = Mailbox::<u32>::builder(cid("letters"))
        .inbox_capacity(64)
        .start()
        .unwrap();
    let post = mail.grant(sid("post"), Rights::WRITE).await.unwrap();
    kernel.add_channel(mail, Visibility::Private).await.unwrap();
    let (tx, mut got) = tokio::sync::mpsc::unbounded_channel();
    kernel
        .dock(Dock::new(sid("reader"), move || Recorder(tx.clone())).inbox(cid("letters")))
        .await
        .unwrap();
    let reader = sid("reader");
    post.send(&reader, 0).await.unwrap();
    assert_eq!(got.recv().await, Some(0));

    let lifecycle = |command| kernel.lifecycle(command, &reader, None);
    let post_all = |numbers: std::ops::RangeInclusive<u32>| {
        let (post, reader) = (post.clone(), reader.clone());
        async move {
            for n in numbers {
                post.send(&reader, n).await.unwrap();
            }
        }
    };

    lifecycle(LifecycleCommand::Pause).await.unwrap();
    post_all(1..=40).await;
    // Let the reader's arbiter run: nothing reaches a paused system.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(got.try_recv().is_err());
    lifecycle(LifecycleCommand::Resume).await.unwrap();
    for n in 1..=40 {
        assert_eq!(got.recv().await, Some(n));
    }

    lifecycle(LifecycleCommand::Pause).await.unwrap();
    post_all(41..=50).await;
    let drained = lifecycle(LifecycleCommand::Drain).await.unwrap();
    assert_eq!(drained, LifecycleState::Drained);
    for n in 41..=50 {
        assert_eq!(got.recv().await, Some(n));
    }
}

/// Forwards each number from its inbox to `reader`, one more, through its own port on
/// the mailbox.
struct Relay;

impl System for Relay {
    type Message = u32;

    fn on_message(
        &mut self,
        ctx: &mut SystemContext<'_, Self>,
        msg: exokern_actors::channel::Inbound<u32>,
    ) {
        let ports = ctx.ports().expect("a docked system has ports");
        let mailbox = ports
            .mailbox::<u32>(&cid("letters"))
            .expect("the inbox's handle is a port");
        mailbox
            .try_send(&sid("reader"), *msg.payload() + 1)
            .expect("room in the reader's inbox");
    }
}

/// A system reads its inbox and sends on the same mailbox through `ctx.ports()`,
/// whether or not its dock also names the mailbox with `publish`.
#[actix_rt::test]
async fn a_system_sends_on_the_mailbox_it_reads_its_inbox_from() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let mail = Mailbox::<u32>::builder(cid("letters")).start().unwrap();
    let post = mail.grant(sid("post"), Rights::WRITE).await.unwrap();
    kernel.add_channel(mail, Visibility::Private).await.unwrap();
    let (tx, mut got) = tokio::sync::mpsc::unbounded_channel();
    kernel
        .dock(Dock::new(sid("reader"), move || Recorder(tx.clone())).inbox(cid("letters")))
        .await
        .unwrap();
    kernel
        .dock(Dock::new(sid("inbox-only"), || Relay).inbox(cid("letters")))
        .await
        .unwrap();
    let both = Dock::new(sid("inbox-and-publish"), || Relay)
        .inbox(cid("letters"))
        .publish(cid("letters"));
    kernel.dock(both).await.unwrap();
    let snapshot = kernel.snapshot().await.unwrap();
    let entry = snapshot
        .systems
        .iter()
        .find(|s| s.id.as_str() == "inbox-and-publish")
        .unwrap();
    let letters = entry.channels.iter().filter(|c| *c == "letters").count();
    assert_eq!(letters, 1, "one grant: {:?}", entry.channels);
    for (relay, n) in [("inbox-only", 10), ("inbox-and-publish", 20)] {
        post.send(&sid(relay), n).await.unwrap();
        assert_eq!(got.recv().await, Some(n + 1), "{relay}");
    }
    let twice = Dock::new(sid("twice"), || Relay)
        .inbox(cid("letters"))
        .inbox(cid("letters"));
    let refused = kernel.dock(twice).await;
    assert!(
        matches!(refused, Err(DockError::ChannelCollision { .. })),
        "{refused:?}"
    );
}
