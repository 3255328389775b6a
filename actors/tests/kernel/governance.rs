//! Capability requests through the policy, the action gate, escalation.

use std::sync::Arc;
use std::time::Duration;

use exokern_actors::capability::Denial;
use exokern_actors::kernel::{GovernanceError, Kernel, LifecycleState};
use exokern_actors::policy::{
    ActionQuery, ActionVerdict, CapabilityQuery, CapabilityVerdict, Decision, Evaluation,
    ModuleQuery, ModuleVerdict, PayloadChange, Policy, Risk, RuleSet,
};
use exokern_actors::prelude::*;
use exokern_actors::protocol::{ActionRequest, ApprovalEvent, LifecycleCommand};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::common::sid;
use crate::support::{dock_probe, http, kernel, rules, start};

#[actix_rt::test]
async fn a_granted_capability_passes_the_gate_and_its_holder_alone_can_use_it() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let mallory = dock_probe(&kernel, "mallory", false).await;
    let granted = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    assert_eq!(granted.info().resource, "executor:http");
    assert!(granted.info().expires.is_some());
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
    let kernel = start(
        Kernel::builder()
            .policy(policy)
            .approval_timeout(Duration::from_secs(5)),
    )
    .await;
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
async fn typed_requests_are_checked_like_wire_requests() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let instant = exokern_actors::protocol::CapabilityRequest::new(
        "executor:http".parse().unwrap(),
        Rights::EXECUTE,
    )
    .ttl(Duration::ZERO);
    let refused = alice.request_capability(instant).await;
    assert!(
        matches!(refused, Err(GovernanceError::Invalid(_))),
        "{refused:?}"
    );
    let huge = ActionRequest::new("GET", "http", "x".repeat(100_000));
    let refused = alice.authorize(huge, None).await;
    assert!(
        matches!(refused, Err(GovernanceError::Invalid(_))),
        "{refused:?}"
    );
    let refused = kernel
        .lifecycle(LifecycleCommand::Drain, &sid("alice"), Some(Duration::ZERO))
        .await;
    assert!(
        matches!(refused, Err(GovernanceError::Invalid(_))),
        "{refused:?}"
    );
}

/// Allows everything; deliberates over `executor:slow` until released, saying when
/// it starts to.
#[derive(Debug)]
struct Deliberate {
    asked: Arc<Semaphore>,
    release: Arc<Semaphore>,
}

impl Policy for Deliberate {
    fn capability(&self, query: &CapabilityQuery) -> Evaluation<CapabilityVerdict> {
        let allow = Decision::new(CapabilityVerdict::Allow { max_ttl: None }, "deliberated");
        if query.scope.to_string() != "executor:slow" {
            return allow.into();
        }
        self.asked.add_permits(1);
        let release = Arc::clone(&self.release);
        Evaluation::pending(async move {
            release.acquire().await.unwrap().forget();
            allow
        })
    }

    fn action(&self, _: &ActionQuery) -> Evaluation<ActionVerdict> {
        Decision::new(ActionVerdict::Approve(PayloadChange::Unchanged), "ok").into()
    }

    fn module(&self, _: &ModuleQuery) -> Evaluation<ModuleVerdict> {
        Decision::new(ModuleVerdict::Reject, "no modules").into()
    }
}

#[actix_rt::test]
async fn a_deliberating_policy_holds_up_only_its_request_and_a_revoke_meanwhile_wins() {
    let (asked, release) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let policy = Deliberate {
        asked: Arc::clone(&asked),
        release: Arc::clone(&release),
    };
    let kernel = start(Kernel::builder().policy(policy)).await;
    kernel
        .register_executor("slow", Risk::Low, None)
        .await
        .unwrap();
    let alice = dock_probe(&kernel, "alice", false).await;
    let bob = dock_probe(&kernel, "bob", false).await;
    let slow = || {
        let alice = alice.clone();
        actix_rt::spawn(async move {
            alice
                .request("executor:slow".parse().unwrap(), Rights::EXECUTE)
                .await
        })
    };

    let waiting = slow();
    asked.acquire().await.unwrap().forget();
    bob.request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .expect("served while the policy deliberates over alice's request");
    assert!(!waiting.is_finished());
    release.add_permits(1);
    let granted = waiting.await.unwrap().expect("granted once decided");
    assert_eq!(granted.info().resource, "executor:slow");

    let waiting = slow();
    asked.acquire().await.unwrap().forget();
    kernel
        .lifecycle(LifecycleCommand::Revoke, &sid("alice"), None)
        .await
        .unwrap();
    release.add_permits(1);
    let refused = waiting.await.unwrap();
    assert!(
        matches!(
            refused,
            Err(GovernanceError::NotRunning {
                state: LifecycleState::Revoked,
                ..
            })
        ),
        "{refused:?}"
    );
    kernel
        .lifecycle(LifecycleCommand::Resume, &sid("alice"), None)
        .await
        .unwrap();
    let slow_action = ActionRequest::new("GET", "slow", "x");
    let holds_nothing = alice.authorize(slow_action, None).await;
    assert!(
        matches!(holds_nothing, Err(GovernanceError::Capability(_))),
        "{holds_nothing:?}"
    );
    let requests: Vec<_> = kernel
        .audit(0, usize::MAX)
        .into_iter()
        .filter(|r| r.request == "capability_request" && &*r.subject == "executor:slow")
        .map(|r| (r.decision.into_owned(), r.capability.is_some()))
        .collect();
    assert_eq!(
        requests,
        [("granted".to_owned(), true), ("denied".to_owned(), false)]
    );
}
