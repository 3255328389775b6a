//! The kernel through its public API: docking, capability requests, the action gate,
//! escalation, lifecycle and undock.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{cid, sid};
use exokern::capability::Denial;
use exokern::kernel::{
    Dock, DockError, GovernanceError, Kernel, KernelClient, KernelHandle, LifecycleState,
    Visibility,
};
use exokern::policy::{Risk, RuleSet};
use exokern::prelude::*;
use exokern::protocol::{ActionRequest, ApprovalEvent, LifecycleCommand};
use serde_json::json;

/// A system that hands its kernel client to the test.
struct Probe {
    client: Arc<Mutex<Option<KernelClient>>>,
}

impl System for Probe {
    type Message = String;

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        *self.client.lock().unwrap() = ctx.kernel().cloned();
    }
}

async fn dock_probe(kernel: &KernelHandle, id: &str, privileged: bool) -> KernelClient {
    let slot = Arc::new(Mutex::new(None));
    let client = Arc::clone(&slot);
    let mut dock = Dock::new(sid(id), move || Probe {
        client: Arc::clone(&client),
    });
    if privileged {
        dock = dock.privileged();
    }
    kernel.dock(dock).await.expect("dock");
    let client = slot.lock().unwrap().clone();
    client.expect("a docked system has a kernel client")
}

fn rules(value: serde_json::Value) -> RuleSet {
    serde_json::from_value(value).unwrap()
}

async fn kernel(policy: RuleSet) -> KernelHandle {
    let kernel = Kernel::builder().policy(policy).start().await.unwrap();
    kernel
        .register_executor("http", Risk::Low, None)
        .await
        .unwrap();
    kernel
        .register_executor("shell", Risk::Irreversible, None)
        .await
        .unwrap();
    kernel
}

fn http(action: &str) -> ActionRequest {
    ActionRequest::new(action, "http", "https://example.com/")
}

#[actix_rt::test]
async fn a_granted_capability_passes_the_gate_and_its_holder_alone_can_use_it() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let mallory = dock_probe(&kernel, "mallory", false).await;
    let granted = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    assert_eq!(granted.info.resource, "executor:http");
    assert!(granted.info.expires.is_some());
    let approval = alice
        .authorize(
            http("GET").payload(json!({"q": 1})),
            Some(&granted.capability),
        )
        .await
        .unwrap();
    assert_eq!(approval.payload, json!({"q": 1}));
    // S1: mallory presents alice's capability and gets nowhere.
    let stolen = mallory
        .authorize(http("GET"), Some(&granted.capability))
        .await;
    assert!(
        matches!(
            stolen,
            Err(GovernanceError::Capability(Denial::WrongHolder { .. }))
        ),
        "{stolen:?}"
    );
    // And holds nothing of its own.
    let ambient = mallory.authorize(http("GET"), None).await;
    assert!(
        matches!(
            ambient,
            Err(GovernanceError::Capability(Denial::NotHeld { .. }))
        ),
        "{ambient:?}"
    );
}

#[actix_rt::test]
async fn the_policy_decides_and_risk_comes_from_the_registry() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow", "resources": ["executor:*"], "max_ttl_secs": 60},
        {"name": "low", "on": "action", "effect": "allow", "risks": ["low"]},
    ]})))
    .await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let shell = alice
        .request("executor:shell".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    // S7: the shell is irreversible in the registry; nothing the requester says changes it.
    let denied = alice
        .authorize(
            ActionRequest::new("run", "shell", "rm -rf /"),
            Some(&shell.capability),
        )
        .await;
    assert!(
        matches!(denied, Err(GovernanceError::Denied { .. })),
        "{denied:?}"
    );
    let refused = alice
        .request("mcp:github".parse().unwrap(), Rights::READ)
        .await;
    assert!(
        matches!(refused, Err(GovernanceError::Denied { ref rule, .. }) if rule.is_none()),
        "{refused:?}"
    );
    let records = kernel.audit(0, 100);
    assert!(records
        .iter()
        .any(|r| r.request == "action_authorize" && r.decision == "denied"));
    assert!(records.iter().any(|r| r.request == "capability_request"
        && r.decision == "granted"
        && r.rule.as_deref() == Some("caps")));
}

#[actix_rt::test]
async fn an_escalated_action_waits_for_a_privileged_approver() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "ask", "on": "action", "effect": "escalate", "escalate_to": "ops"},
    ]})))
    .await;
    let watch = kernel.watch_approvals(sid("test")).await.unwrap();
    let mut events = watch.subscribe(Default::default()).await.unwrap();
    let alice = dock_probe(&kernel, "alice", false).await;
    let approver = dock_probe(&kernel, "approver", true).await;
    let cap = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let pending = actix_rt::spawn({
        let alice = alice.clone();
        async move { alice.authorize(http("POST"), Some(&cap.capability)).await }
    });
    let event = events.recv().await.unwrap();
    let ApprovalEvent::ActionEscalated {
        approval,
        escalated_to,
        system,
        ..
    } = event.payload().clone()
    else {
        panic!("expected an escalation, got {:?}", event.payload());
    };
    assert_eq!((escalated_to.as_str(), system.as_str()), ("ops", "alice"));
    // An unprivileged system cannot decide.
    let refused = alice.decide(approval, true, None).await;
    assert!(
        matches!(refused, Err(GovernanceError::NotPrivileged { .. })),
        "{refused:?}"
    );
    approver
        .decide(approval, true, Some("fine".into()))
        .await
        .unwrap();
    let approved = pending.await.unwrap().unwrap();
    assert_eq!(approved.approval, Some(approval));
}

#[actix_rt::test]
async fn an_undecided_escalation_is_denied_at_its_timeout() {
    tokio::time::pause();
    let policy = rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "ask", "on": "action", "effect": "escalate"},
    ]}));
    let kernel = Kernel::builder()
        .policy(policy)
        .approval_timeout(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    kernel
        .register_executor("http", Risk::Low, None)
        .await
        .unwrap();
    let alice = dock_probe(&kernel, "alice", false).await;
    alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let outcome = alice.authorize(http("POST"), None).await;
    assert!(
        matches!(outcome, Err(GovernanceError::ApprovalExpired { .. })),
        "{outcome:?}"
    );
    assert!(kernel.pending_approvals().await.unwrap().is_empty());
}

#[actix_rt::test]
async fn a_revoke_issued_before_an_action_denies_it_and_paused_systems_are_not_served() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let cap = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let state = kernel
        .lifecycle(LifecycleCommand::Revoke, &sid("alice"), None)
        .await
        .unwrap();
    assert_eq!(state, LifecycleState::Revoked);
    let denied = alice.authorize(http("GET"), Some(&cap.capability)).await;
    assert!(
        matches!(
            denied,
            Err(GovernanceError::NotRunning {
                state: LifecycleState::Revoked,
                ..
            })
        ),
        "{denied:?}"
    );
    kernel
        .lifecycle(LifecycleCommand::Resume, &sid("alice"), None)
        .await
        .unwrap();
    let still = alice.authorize(http("GET"), Some(&cap.capability)).await;
    assert!(
        matches!(still, Err(GovernanceError::Capability(Denial::Revoked))),
        "{still:?}"
    );
    kernel
        .lifecycle(LifecycleCommand::Pause, &sid("alice"), None)
        .await
        .unwrap();
    let paused = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await;
    assert!(
        matches!(
            paused,
            Err(GovernanceError::NotRunning {
                state: LifecycleState::Paused,
                ..
            })
        ),
        "{paused:?}"
    );
    let bad = kernel
        .lifecycle(LifecycleCommand::Pause, &sid("alice"), None)
        .await;
    assert!(
        matches!(bad, Err(GovernanceError::Transition { .. })),
        "{bad:?}"
    );
    // S6: an unprivileged system cannot issue lifecycle commands.
    let bob = dock_probe(&kernel, "bob", false).await;
    let refused = bob
        .lifecycle(LifecycleCommand::Resume, sid("alice"), None)
        .await;
    assert!(
        matches!(refused, Err(GovernanceError::NotPrivileged { .. })),
        "{refused:?}"
    );
}

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
    let probe = || Probe {
        client: Arc::default(),
    };
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
