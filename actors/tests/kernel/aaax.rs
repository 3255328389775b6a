//! The behaviours the test suite of AAAX (the Python kernel exokern descends from)
//! checks, here. Its boundary-copy tests have no counterpart: requests are owned values,
//! and a policy is moved into the kernel, so nobody can change either afterwards.

use exokern_actors::capability::Denial;
use exokern_actors::kernel::{Dock, GovernanceError, LifecycleState, Visibility};
use exokern_actors::policy::RuleSet;
use exokern_actors::prelude::*;
use exokern_actors::protocol::{ActionRequest, ApprovalEvent, LifecycleCommand, Reply};
use serde_json::json;

use crate::common::{cid, sid};
use crate::support::{dock_probe, http, kernel, rules, Probe};

#[actix_rt::test]
async fn the_gate_denies_without_a_capability_approves_with_one_and_escalates_irreversible() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "low", "on": "action", "effect": "allow", "risks": ["low", "medium"]},
        {"name": "ask", "on": "action", "effect": "escalate", "risks": ["irreversible"],
         "escalate_to": "human"},
    ]})))
    .await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let none = alice.authorize(http("GET"), None).await;
    assert!(
        matches!(
            none,
            Err(GovernanceError::Capability(Denial::NotHeld { .. }))
        ),
        "{none:?}"
    );
    let granted = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let reply = alice
        .call(exokern_actors::protocol::Request::ActionAuthorize(
            http("GET")
                .payload(json!({"q": [1, 2]}))
                .capability(granted.capability.id()),
        ))
        .await;
    let Reply::ActionApproved {
        executor, payload, ..
    } = reply
    else {
        panic!("{reply:?}");
    };
    assert_eq!((executor.as_str(), payload), ("http", json!({"q": [1, 2]})));
    alice
        .request("executor:shell".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let approvals = kernel.watch_approvals(sid("human")).await.unwrap();
    let mut events = approvals.subscribe(Default::default()).await.unwrap();
    let pending = actix_rt::spawn({
        let alice = alice.clone();
        async move {
            alice
                .authorize(ActionRequest::new("run", "shell", "rm -rf /"), None)
                .await
        }
    });
    let event = events.recv().await.unwrap();
    let ApprovalEvent::ActionEscalated {
        approval,
        escalated_to,
        ..
    } = event.payload().clone()
    else {
        panic!("{:?}", event.payload());
    };
    assert_eq!(escalated_to, "human");
    kernel
        .decide(approval, false, Some("no".into()))
        .await
        .unwrap();
    let denied = pending.await.unwrap();
    assert!(
        matches!(denied, Err(GovernanceError::ApprovalDenied { .. })),
        "{denied:?}"
    );
}

#[actix_rt::test]
async fn the_kernel_creates_its_channels_and_wires_provided_channels_to_others() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let snapshot = kernel.snapshot().await.unwrap();
    let ids: Vec<_> = snapshot.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["kernel.approvals", "kernel.audit", "kernel.heartbeat"]
    );
    let provided = Broadcast::<String>::builder(cid("provided"))
        .start()
        .unwrap();
    kernel
        .dock(Dock::new(sid("provider"), Probe::blind).owns(provided, Visibility::Private))
        .await
        .unwrap();
    kernel
        .dock(
            Dock::new(sid("consumer"), Probe::blind).subscribe(cid("provided"), Default::default()),
        )
        .await
        .unwrap();
    let snapshot = kernel.snapshot().await.unwrap();
    let consumer = snapshot
        .systems
        .iter()
        .find(|s| s.id == sid("consumer"))
        .unwrap();
    assert!(consumer.channels.contains(&"provided".to_string()));
    assert!(consumer.channels.contains(&"kernel.heartbeat".to_string()));
    let provided = snapshot
        .channels
        .iter()
        .find(|c| c.id == "provided")
        .unwrap();
    assert_eq!(provided.owner, Some(sid("provider")));
}

#[actix_rt::test]
async fn capabilities_are_bound_to_their_system_and_revoke_all_removes_them() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let bob = dock_probe(&kernel, "bob", false).await;
    let granted = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    alice
        .authorize(http("GET"), Some(&granted.capability))
        .await
        .unwrap();
    assert!(bob
        .authorize(http("GET"), Some(&granted.capability))
        .await
        .is_err());
    kernel
        .lifecycle(LifecycleCommand::Revoke, &sid("alice"), None)
        .await
        .unwrap();
    kernel
        .lifecycle(LifecycleCommand::Resume, &sid("alice"), None)
        .await
        .unwrap();
    let gone = alice
        .authorize(http("GET"), Some(&granted.capability))
        .await;
    assert!(
        matches!(gone, Err(GovernanceError::Capability(Denial::Revoked))),
        "{gone:?}"
    );
}

#[actix_rt::test]
async fn pause_and_resume_are_states_pause_keeps_capabilities_and_drain_ends_drained() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let granted = alice
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let state = |kernel: exokern_actors::kernel::KernelHandle| async move {
        kernel.snapshot().await.unwrap().systems[0].state
    };
    let alice_id = sid("alice");
    kernel
        .lifecycle(LifecycleCommand::Pause, &alice_id, None)
        .await
        .unwrap();
    assert_eq!(state(kernel.clone()).await, LifecycleState::Paused);
    kernel
        .lifecycle(LifecycleCommand::Resume, &alice_id, None)
        .await
        .unwrap();
    assert_eq!(state(kernel.clone()).await, LifecycleState::Running);
    alice
        .authorize(http("GET"), Some(&granted.capability))
        .await
        .unwrap();
    let drained = kernel
        .lifecycle(LifecycleCommand::Drain, &alice_id, None)
        .await
        .unwrap();
    assert_eq!(drained, LifecycleState::Drained);
    assert_eq!(state(kernel.clone()).await, LifecycleState::Drained);
}

#[actix_rt::test]
async fn any_kind_of_system_gets_a_capability_grant_over_the_wire() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let client = std::sync::Arc::new(std::sync::Mutex::new(None));
    /// A robot, not an agent: the kernel does not care what a system is.
    struct Robot(std::sync::Arc<std::sync::Mutex<Option<exokern_actors::kernel::KernelClient>>>);
    impl System for Robot {
        type Message = f64;
        fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
            *self.0.lock().unwrap() = ctx.kernel().cloned();
        }
    }
    let slot = std::sync::Arc::clone(&client);
    kernel
        .dock(Dock::new(sid("robot"), move || {
            Robot(std::sync::Arc::clone(&slot))
        }))
        .await
        .unwrap();
    let client = client.lock().unwrap().clone().unwrap();
    let reply = client
        .call_json(
            br#"{"type":"capability_request","resource":"executor:gripper","rights":"EXECUTE"}"#,
        )
        .await;
    assert_eq!(reply.kind(), "capability_grant", "{reply:?}");
}
