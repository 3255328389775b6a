//! One regression test per defect of AAAX (`docs/aaax-defects.md`) that belongs to the
//! kernel, each showing it cannot happen here. The config (C8), HTTP (S12, C11) and
//! Python-only (C9) items belong to the shell and HTTP issues.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exokern_actors::capability::Denial;
use exokern_actors::channel::{ChannelError, SubscribeOptions};
use exokern_actors::kernel::{
    Dock, DockError, GovernanceError, Kernel, KernelStopped, LifecycleState, PortError, Visibility,
};
use exokern_actors::policy::{
    ActionQuery, ActionVerdict, CapabilityQuery, CapabilityVerdict, Decision, Evaluation,
    ModuleQuery, ModuleVerdict, PayloadChange, Policy, Risk, RuleSet,
};
use exokern_actors::prelude::*;
use exokern_actors::protocol::{decode, CapabilityRequest, LifecycleCommand, Reply};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::{cid, sid};
use crate::support::{dock_probe, dock_seen, http, kernel, rules, Probe};

fn executor_http() -> exokern_actors::capability::Scope {
    "executor:http".parse().unwrap()
}

#[actix_rt::test]
async fn s1_identity_comes_from_the_client_never_from_the_request() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let bob = dock_probe(&kernel, "bob", false).await;
    for field in ["from", "system_id", "sender"] {
        let body = format!(
            r#"{{"type":"capability_request","resource":"executor:http","rights":"EXECUTE","{field}":"alice"}}"#
        );
        let error = decode(body.as_bytes()).unwrap_err();
        assert!(error.reason.contains(&format!("unknown field `{field}`")));
    }
    let granted = bob.request(executor_http(), Rights::EXECUTE).await.unwrap();
    let records = kernel.audit(0, 100);
    let grant = records
        .iter()
        .rfind(|r| r.request == "capability_request")
        .unwrap();
    assert_eq!(grant.system, Some(sid("bob")));
    let used = alice
        .authorize(http("GET"), Some(&granted.capability))
        .await;
    assert!(
        matches!(
            used,
            Err(GovernanceError::Capability(Denial::WrongHolder { .. }))
        ),
        "{used:?}"
    );
}

#[actix_rt::test]
async fn s2_l4_every_request_gets_its_own_answer_under_many_concurrent_requesters() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let mut requesters = Vec::new();
    for n in 0..8 {
        let client = dock_probe(&kernel, &format!("agent-{n}"), false).await;
        requesters.push(actix_rt::spawn(async move {
            let calls = (0..200).map(|_| client.request(executor_http(), Rights::EXECUTE));
            let granted = join_all(calls).await;
            let mut ids = Vec::new();
            for granted in granted {
                let granted = granted.unwrap();
                // Each answer is usable by its requester: it was made for it.
                client
                    .authorize(http("GET"), Some(&granted.capability))
                    .await
                    .unwrap();
                ids.push(granted.capability.id());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for requester in requesters {
        all.extend(requester.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!((total, all.len()), (1600, 1600), "lost or shared answers");
}

#[actix_rt::test]
async fn s3_a_dock_cannot_shadow_or_hijack_a_kernel_or_existing_channel() {
    let kernel = kernel(RuleSet::allow_all()).await;
    for reserved in ["kernel.heartbeat", "KERNEL.approvals", "kernel.audit"] {
        assert!(ChannelId::new(reserved).is_err(), "{reserved} was accepted");
    }
    let jobs = WorkQueue::<String>::builder(cid("jobs")).start().unwrap();
    kernel.add_channel(jobs, Visibility::Private).await.unwrap();
    let twin = WorkQueue::<String>::builder(cid("jobs")).start().unwrap();
    let refused = kernel
        .dock(Dock::new(sid("evil"), Probe::blind).owns(twin, Visibility::Private))
        .await;
    assert!(
        matches!(refused, Err(DockError::ChannelCollision { .. })),
        "{refused:?}"
    );
    let twin = WorkQueue::<String>::builder(cid("jobs")).start().unwrap();
    let refused = kernel.add_channel(twin, Visibility::Private).await;
    assert!(
        matches!(refused, Err(DockError::ChannelCollision { .. })),
        "{refused:?}"
    );
}

#[actix_rt::test]
async fn s4_s6_privileged_channels_and_requests_need_a_privileged_dock() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let plain = dock_seen(&kernel, "plain", false).await;
    let admin = dock_seen(&kernel, "admin", true).await;
    assert!(plain.heartbeat.is_ok());
    assert!(matches!(plain.approvals, Err(PortError::NotGranted { .. })));
    assert!(matches!(plain.audit, Err(PortError::NotGranted { .. })));
    assert!(admin.approvals.is_ok() && admin.audit.is_ok());
    let client = &plain.client;
    let lifecycle = client
        .lifecycle(LifecycleCommand::Pause, sid("admin"), None)
        .await;
    let module = client
        .load_module(exokern_actors::protocol::ModuleLoad::new(sid("m"), "noop"))
        .await;
    let decision = client.decide(some_approval(), true, None).await;
    for refused in [lifecycle.map(|_| ()), module.map(|_| ()), decision] {
        assert!(
            matches!(refused, Err(GovernanceError::NotPrivileged { .. })),
            "{refused:?}"
        );
    }
    // S6: each refusal is audited with the requester.
    let refusals = kernel
        .audit(0, 100)
        .into_iter()
        .filter(|r| r.system == Some(sid("plain")) && r.reason.contains("not privileged"))
        .count();
    assert_eq!(refusals, 3);
}

/// An approval id, for requests refused before it is looked up.
fn some_approval() -> exokern_actors::protocol::ApprovalId {
    serde_json::from_value(json!("6f1c1d2e-0000-4000-8000-000000000000")).unwrap()
}

#[actix_rt::test]
async fn s5_s13_kernel_channels_cannot_be_written_and_slow_readers_stall_nothing() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let admin = dock_seen(&kernel, "admin", true).await;
    let approvals = admin.approvals.clone().unwrap();
    let forged: exokern_actors::protocol::ApprovalEvent =
        serde_json::from_value(json!({"type": "approval_resolved",
        "approval": "6f1c1d2e-0000-4000-8000-000000000000", "approved": true,
        "decided_by": "kernel", "reason": "forged"}))
        .unwrap();
    let refused = approvals.publish(forged).await;
    assert!(
        matches!(refused, Err(ChannelError::MissingRights { .. })),
        "{refused:?}"
    );
    let heartbeat = admin.heartbeat.clone().unwrap();
    let beat: exokern_actors::protocol::Heartbeat =
        serde_json::from_value(json!({"kernel_id": "forged", "timestamp": 0.0, "beat": 0,
        "systems": [], "capabilities_active": 0, "approvals_pending": 0, "channels": []}))
        .unwrap();
    assert!(heartbeat.publish(beat).await.is_err());
    // S13: a reader of kernel.audit that never reads holds up no decision.
    let audit = admin.audit.clone().unwrap();
    let mut stalled = audit
        .subscribe(SubscribeOptions::default().buffer(1))
        .await
        .unwrap();
    let client = dock_probe(&kernel, "busy", false).await;
    for _ in 0..500 {
        client
            .request(executor_http(), Rights::EXECUTE)
            .await
            .unwrap();
    }
    // It learns how much it missed instead.
    let first = stalled.recv().await;
    assert!(
        matches!(
            first,
            Err(exokern_actors::channel::RecvError::Lagged { .. })
        ),
        "{first:?}"
    );
}

#[actix_rt::test]
async fn s7_risk_is_the_registrys_and_cannot_be_declared() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "low-only", "on": "action", "effect": "allow", "risks": ["low"]},
    ]})))
    .await;
    let error = decode(
        br#"{"type":"action_authorize","action":"run","executor":"shell","target":"rm -rf /","risk":"low"}"#,
    )
    .unwrap_err();
    assert!(error.reason.contains("unknown field `risk`"), "{error}");
    let alice = dock_probe(&kernel, "alice", false).await;
    alice
        .request("executor:shell".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let run = exokern_actors::protocol::ActionRequest::new("run", "shell", "rm -rf /");
    let denied = alice.authorize(run, None).await;
    assert!(
        matches!(denied, Err(GovernanceError::Denied { .. })),
        "{denied:?}"
    );
    // The registry changes the answer; nothing the requester says does.
    kernel
        .register_executor("shell", Risk::Low, None)
        .await
        .unwrap();
    let run = exokern_actors::protocol::ActionRequest::new("run", "shell", "ls");
    alice.authorize(run, None).await.unwrap();
}

#[actix_rt::test]
async fn s8_lifetimes_are_capped_and_rights_validated() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "short", "on": "capability", "effect": "allow", "max_ttl_secs": 60},
    ]})))
    .await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let asked = CapabilityRequest::new(executor_http(), Rights::EXECUTE)
        .ttl(Duration::from_secs(10 * 24 * 3600));
    let granted = alice.request_capability(asked).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let lifetime = granted.info().expires.unwrap() - now;
    assert!(lifetime <= 60.5, "lived {lifetime} s, the rule allows 60");
    let empty = alice.request(executor_http(), Rights::NONE).await;
    assert!(
        matches!(empty, Err(GovernanceError::Invalid(_))),
        "{empty:?}"
    );
    let unknown =
        decode(br#"{"type":"capability_request","resource":"executor:http","rights":"FLY"}"#);
    assert!(unknown.is_err());
}

#[actix_rt::test]
async fn s9_one_capability_is_revoked_alone_and_a_revoked_system_is_served_nothing() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let first = alice
        .request(executor_http(), Rights::EXECUTE)
        .await
        .unwrap();
    let second = alice
        .request(executor_http(), Rights::EXECUTE)
        .await
        .unwrap();
    assert_eq!(alice.revoke(&first.capability).await.unwrap(), 1);
    let gone = alice.authorize(http("GET"), Some(&first.capability)).await;
    assert!(
        matches!(gone, Err(GovernanceError::Capability(_))),
        "{gone:?}"
    );
    alice
        .authorize(http("GET"), Some(&second.capability))
        .await
        .unwrap();
    kernel
        .lifecycle(LifecycleCommand::Revoke, &sid("alice"), None)
        .await
        .unwrap();
    let served = alice.request(executor_http(), Rights::EXECUTE).await;
    assert!(
        matches!(
            served,
            Err(GovernanceError::NotRunning {
                state: LifecycleState::Revoked,
                ..
            })
        ),
        "{served:?}"
    );
}

#[test]
fn s10_a_typo_in_the_policy_fails_closed_at_load() {
    let typos = [
        json!({"rules": [{"name": "a", "on": "capability", "effect": "Deny"}]}),
        json!({"rules": [{"name": "a", "on": "capability", "effect": "allow", "resource": ["x"]}]}),
        json!({"rules": [{"name": "a", "on": "capabilities", "effect": "allow"}]}),
        json!({"rules": [{"name": "a", "on": "action", "effect": "allow", "risks": ["lowish"]}]}),
        json!({"rule": []}),
    ];
    for typo in typos {
        let loaded: Result<RuleSet, _> = serde_json::from_value(typo.clone());
        assert!(loaded.is_err(), "{typo} loaded");
    }
}

/// A system that reports what it handled, in order.
struct Recorder {
    got: Arc<Mutex<Vec<String>>>,
}

impl System for Recorder {
    type Message = String;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<String>) {
        self.got.lock().unwrap().push(msg.payload().clone());
    }
}

#[actix_rt::test]
async fn s11_initial_capabilities_pass_the_policy_and_belong_to_the_system() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "http-only", "on": "capability", "effect": "allow", "resources": ["executor:http"]},
        {"name": "acts", "on": "action", "effect": "allow"},
    ]})))
    .await;
    let refused = kernel
        .dock(Dock::new(sid("greedy"), Probe::blind).executes("shell"))
        .await;
    assert!(
        matches!(refused, Err(DockError::Capability { .. })),
        "{refused:?}"
    );
    assert!(kernel.snapshot().await.unwrap().systems.is_empty());
    let seen = Arc::new(Mutex::new(Vec::new()));
    struct Holder {
        seen: Arc<Mutex<Vec<String>>>,
    }
    impl System for Holder {
        type Message = String;
        fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
            let held = ctx.capabilities().iter().map(|g| g.info().resource);
            self.seen.lock().unwrap().extend(held);
        }
    }
    let slot = Arc::clone(&seen);
    kernel
        .dock(
            Dock::new(sid("holder"), move || Holder {
                seen: Arc::clone(&slot),
            })
            .executes("http"),
        )
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["executor:http"]);
}

#[actix_rt::test]
async fn l1_requests_are_served_as_they_arrive_without_polling() {
    tokio::time::pause();
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let start = tokio::time::Instant::now();
    for _ in 0..1000 {
        alice
            .request(executor_http(), Rights::EXECUTE)
            .await
            .unwrap();
    }
    // The clock is paused and only moves when everything waits on a timer: no request
    // waited for a polling tick.
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[actix_rt::test]
async fn l3_the_audit_ring_and_the_heartbeat_history_are_bounded() {
    tokio::time::pause();
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .audit_capacity(10)
        .heartbeat_interval(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let admin = dock_seen(&kernel, "admin", true).await;
    for _ in 0..50 {
        admin
            .client
            .request(executor_http(), Rights::EXECUTE)
            .await
            .unwrap();
    }
    let kept: Vec<u64> = kernel.audit(0, 100).iter().map(|r| r.seq).collect();
    assert_eq!(kept, (42..=51).collect::<Vec<_>>());
    assert_eq!(kernel.audited(), 51, "counts the records the ring let go");
    let mut beats = admin
        .heartbeat
        .unwrap()
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();
    let mut beat = beats.recv().await.unwrap();
    while beat.payload().beat <= 100 {
        beat = beats.recv().await.unwrap();
    }
    assert!(beat.payload().beat > 100);
    let kept = beat
        .payload()
        .channels
        .iter()
        .find(|c| c.id == "kernel.heartbeat")
        .map(|c| c.depth);
    assert!(
        kept.is_some_and(|kept| kept <= 16),
        "{kept:?} heartbeats retained"
    );
}

#[actix_rt::test]
async fn l5_a_drain_runs_in_the_background_and_a_timeout_is_a_state() {
    tokio::time::pause();
    let kernel = kernel(RuleSet::allow_all()).await;
    let backlog = WorkQueue::<String>::builder(cid("backlog"))
        .start()
        .unwrap();
    let filler = backlog.grant(sid("filler"), Rights::WRITE).await.unwrap();
    kernel
        .dock(Dock::new(sid("slow"), Probe::blind).owns(backlog, Visibility::Private))
        .await
        .unwrap();
    filler.send("never taken".to_string()).await.unwrap();
    let other = dock_probe(&kernel, "other", false).await;
    let drain = actix_rt::spawn({
        let kernel = kernel.clone();
        async move {
            kernel
                .lifecycle(
                    LifecycleCommand::Drain,
                    &sid("slow"),
                    Some(Duration::from_secs(5)),
                )
                .await
        }
    });
    // The kernel serves others while the drain waits.
    other
        .request(executor_http(), Rights::EXECUTE)
        .await
        .unwrap();
    assert!(!drain.is_finished());
    let outcome = drain.await.unwrap();
    assert!(
        matches!(outcome, Err(GovernanceError::DrainTimedOut { .. })),
        "{outcome:?}"
    );
    let snapshot = kernel.snapshot().await.unwrap();
    let slow = snapshot
        .systems
        .iter()
        .find(|s| s.id == sid("slow"))
        .unwrap();
    assert_eq!(slow.state, LifecycleState::DrainFailed);
}

#[actix_rt::test]
async fn l7_expiry_follows_the_monotonic_clock() {
    tokio::time::pause();
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let asked =
        CapabilityRequest::new(executor_http(), Rights::EXECUTE).ttl(Duration::from_secs(5));
    let granted = alice.request_capability(asked).await.unwrap();
    tokio::time::advance(Duration::from_secs(4)).await;
    alice
        .authorize(http("GET"), Some(&granted.capability))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    let late = alice
        .authorize(http("GET"), Some(&granted.capability))
        .await;
    assert!(
        matches!(
            late,
            Err(GovernanceError::Capability(Denial::Expired | Denial::Stale))
        ),
        "{late:?}"
    );
}

#[actix_rt::test]
async fn l8_a_flooding_system_delays_others_by_a_bounded_amount() {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .max_in_flight_per_system(64)
        .start()
        .await
        .unwrap();
    let flood = dock_probe(&kernel, "flood", false).await;
    let polite = dock_probe(&kernel, "polite", false).await;
    let done = Arc::new(AtomicU64::new(0));
    let mut flooding = Vec::new();
    for _ in 0..2000 {
        let (flood, done) = (flood.clone(), Arc::clone(&done));
        flooding.push(actix_rt::spawn(async move {
            flood
                .request(executor_http(), Rights::EXECUTE)
                .await
                .unwrap();
            done.fetch_add(1, Ordering::Relaxed);
        }));
    }
    actix_rt::task::yield_now().await;
    polite
        .request(executor_http(), Rights::EXECUTE)
        .await
        .unwrap();
    let ahead = done.load(Ordering::Relaxed);
    assert!(
        ahead <= 2 * 64,
        "{ahead} flood requests were served before one polite one"
    );
    for task in flooding {
        task.await.unwrap();
    }
    assert_eq!(done.load(Ordering::Relaxed), 2000);
}

#[actix_rt::test]
async fn l9_pause_parks_deliveries_in_order_and_transitions_are_checked() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let news = Broadcast::<String>::builder(cid("news")).start().unwrap();
    let writer = news.grant(sid("writer"), Rights::WRITE).await.unwrap();
    kernel.add_channel(news, Visibility::Private).await.unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let slot = Arc::clone(&got);
    kernel
        .dock(
            Dock::new(sid("reader"), move || Recorder {
                got: Arc::clone(&slot),
            })
            .subscribe(cid("news"), SubscribeOptions::default()),
        )
        .await
        .unwrap();
    let reader = sid("reader");
    kernel
        .lifecycle(LifecycleCommand::Pause, &reader, None)
        .await
        .unwrap();
    for n in 0..20 {
        writer.publish(format!("m{n}")).await.unwrap();
    }
    let snapshot = kernel.snapshot().await.unwrap();
    assert!(got.lock().unwrap().is_empty(), "delivered while paused");
    assert_eq!(snapshot.systems[0].state, LifecycleState::Paused);
    let wrong = kernel
        .lifecycle(LifecycleCommand::Pause, &reader, None)
        .await;
    assert!(
        matches!(wrong, Err(GovernanceError::Transition { .. })),
        "{wrong:?}"
    );
    kernel
        .lifecycle(LifecycleCommand::Resume, &reader, None)
        .await
        .unwrap();
    let wrong = kernel
        .lifecycle(LifecycleCommand::Resume, &reader, None)
        .await;
    assert!(
        matches!(wrong, Err(GovernanceError::Transition { .. })),
        "{wrong:?}"
    );
    kernel
        .lifecycle(LifecycleCommand::Drain, &reader, None)
        .await
        .unwrap();
    let expected: Vec<String> = (0..20).map(|n| format!("m{n}")).collect();
    assert_eq!(*got.lock().unwrap(), expected);
}

#[actix_rt::test]
async fn l10_shutdown_undocks_everything_and_refuses_what_comes_after() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let owned = Broadcast::<String>::builder(cid("owned")).start().unwrap();
    let control = (*owned).clone();
    kernel
        .dock(Dock::new(sid("owner"), Probe::blind).owns(owned, Visibility::Private))
        .await
        .unwrap();
    kernel.shutdown().await;
    assert!(!kernel.is_running());
    assert!(
        !control.is_running(),
        "an owned channel outlived the kernel"
    );
    let late = alice.request(executor_http(), Rights::EXECUTE).await;
    assert!(late.is_err());
    let dock = kernel.dock(Dock::new(sid("late"), Probe::blind)).await;
    assert!(
        matches!(dock, Err(DockError::Stopped(KernelStopped))),
        "{dock:?}"
    );
}

#[test]
fn c1_every_reply_is_tagged_by_its_wire_name() {
    let replies = [
        Reply::InvalidRequest { reason: "x".into() },
        Reply::ModuleUnloaded {
            module_id: sid("m"),
        },
        Reply::CapabilityDeny {
            resource: None,
            reason: "x".into(),
            rule: None,
        },
        Reply::ActionDenied {
            reason: "x".into(),
            rule: Some("r".into()),
        },
    ];
    for reply in replies {
        let wire = serde_json::to_value(&reply).unwrap();
        assert_eq!(wire["type"], reply.kind());
        let back: Reply = serde_json::from_value(wire).unwrap();
        assert_eq!(back, reply);
    }
}

#[actix_rt::test]
async fn c2_c3_a_failed_dock_leaves_no_grant_and_undock_stops_what_the_system_owned() {
    let kernel = kernel(rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow", "resources": ["executor:http"]},
    ]})))
    .await;
    let news = Broadcast::<String>::builder(cid("news")).start().unwrap();
    let control = (*news).clone();
    kernel.add_channel(news, Visibility::Private).await.unwrap();
    let holders = || async { control.stats().await.unwrap().holders };
    let before = holders().await;
    let refused = kernel
        .dock(
            Dock::new(sid("half"), Probe::blind)
                .publish(cid("news"))
                .executes("shell"),
        )
        .await;
    assert!(
        matches!(refused, Err(DockError::Capability { .. })),
        "{refused:?}"
    );
    assert_eq!(
        holders().await,
        before,
        "a refused dock left a grant behind"
    );
    let owned = WorkQueue::<String>::builder(cid("owned")).start().unwrap();
    let owned_control = (*owned).clone();
    kernel
        .dock(
            Dock::new(sid("full"), Probe::blind)
                .publish(cid("news"))
                .owns(owned, Visibility::Private),
        )
        .await
        .unwrap();
    assert_eq!(holders().await, before + 1);
    kernel.undock(&sid("full")).await.unwrap();
    assert_eq!(holders().await, before);
    assert!(!owned_control.is_running());
    let snapshot = kernel.snapshot().await.unwrap();
    assert!(snapshot.channels.iter().all(|c| c.id != "owned"));
}

#[actix_rt::test]
async fn c5_registered_executors_run_approved_actions_and_only_those() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let runner = |action: exokern_actors::kernel::ApprovedAction| async move {
        Ok(json!({"fetched": action.target}))
    };
    kernel
        .register_executor("fetch", Risk::Low, Some(Arc::new(runner)))
        .await
        .unwrap();
    let alice = dock_probe(&kernel, "alice", false).await;
    let unheld = alice
        .execute(
            exokern_actors::protocol::ActionRequest::new("GET", "fetch", "/a"),
            None,
        )
        .await;
    assert!(
        matches!(unheld, Err(GovernanceError::Capability(_))),
        "{unheld:?}"
    );
    alice
        .request("executor:fetch".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let done = alice
        .execute(
            exokern_actors::protocol::ActionRequest::new("GET", "fetch", "/a"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.output, Some(json!({"fetched": "/a"})));
    alice
        .request(executor_http(), Rights::EXECUTE)
        .await
        .unwrap();
    let no_runner = alice.execute(http("GET"), None).await;
    assert!(
        matches!(no_runner, Err(GovernanceError::Executor { .. })),
        "{no_runner:?}"
    );
}

/// A policy that approves every action with its payload removed.
#[derive(Debug)]
struct Redact;

impl Policy for Redact {
    fn capability(&self, _: &CapabilityQuery) -> Evaluation<CapabilityVerdict> {
        Decision::new(CapabilityVerdict::Allow { max_ttl: None }, "ok").into()
    }

    fn action(&self, _: &ActionQuery) -> Evaluation<ActionVerdict> {
        let redacted = ActionVerdict::Approve(PayloadChange::Replace(Value::Null));
        Decision::by_rule(redacted, "redact", "payloads are not passed on").into()
    }

    fn module(&self, _: &ModuleQuery) -> Evaluation<ModuleVerdict> {
        Decision::new(ModuleVerdict::Reject, "no modules").into()
    }
}

#[actix_rt::test]
async fn c10_a_policy_can_redact_the_whole_payload() {
    let kernel = Kernel::builder().policy(Redact).start().await.unwrap();
    kernel
        .register_executor("http", Risk::Low, None)
        .await
        .unwrap();
    let alice = dock_probe(&kernel, "alice", false).await;
    alice
        .request(executor_http(), Rights::EXECUTE)
        .await
        .unwrap();
    let approved = alice
        .authorize(http("POST").payload(json!({"secret": 1})), None)
        .await
        .unwrap();
    assert_eq!((approved.payload, approved.rewritten), (Value::Null, true));
}
