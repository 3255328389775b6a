//! Modules: the built-in frameworks at work, one load path for the embedding program and
//! privileged systems, module policy, and initial capabilities held by the module (S11).

use std::sync::Arc;
use std::time::Duration;

use exokern_actors::capability::Denial;
use exokern_actors::channel::SubscribeOptions;
use exokern_actors::kernel::{
    DockError, Framework, FrameworkError, GovernanceError, Kernel, KernelHandle, ModuleDock,
    ModuleSpec, RemoteDock, Visibility,
};
use exokern_actors::policy::Risk;
use exokern_actors::prelude::*;
use exokern_actors::protocol::{ActionRequest, ModuleLoad};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::common::{cid, sid};
use crate::support::{dock_probe, http, rules, start};

/// The channels the modules are wired to, as the program that made them holds them.
struct Channels {
    ticks: Broadcast<Value>,
    jobs: WorkQueue<Value>,
    desk: Mailbox<Value>,
}

async fn modules_kernel(policy: serde_json::Value) -> (KernelHandle, Channels) {
    let kernel = Kernel::builder()
        .built_in_frameworks()
        .policy(rules(policy))
        .start()
        .await
        .unwrap();
    let channels = Channels {
        ticks: Broadcast::builder(cid("ticks")).start().unwrap(),
        jobs: WorkQueue::builder(cid("jobs")).start().unwrap(),
        desk: Mailbox::builder(cid("desk")).start().unwrap(),
    };
    let visible = Visibility::Private;
    kernel
        .add_channel(channels.ticks.clone(), visible)
        .await
        .unwrap();
    kernel
        .add_channel(channels.jobs.clone(), visible)
        .await
        .unwrap();
    kernel
        .add_channel(channels.desk.clone(), visible)
        .await
        .unwrap();
    (kernel, channels)
}

fn allow_everything() -> serde_json::Value {
    json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "acts", "on": "action", "effect": "allow"},
        {"name": "mods", "on": "module", "effect": "allow"},
    ]})
}

#[actix_rt::test]
async fn a_ticker_publishes_and_a_logger_and_others_hear_it() {
    tokio::time::pause();
    let (kernel, channels) = modules_kernel(allow_everything()).await;
    let tap = channels
        .ticks
        .grant(sid("tap"), Rights::READ)
        .await
        .unwrap();
    let mut heard = tap.subscribe(SubscribeOptions::default()).await.unwrap();
    kernel
        .load_module(ModuleLoad::new(sid("log"), "logger").channel(cid("ticks")))
        .await
        .unwrap();
    let loaded = kernel
        .load_module(
            ModuleLoad::new(sid("clock"), "ticker")
                .channel(cid("ticks"))
                .settings(json!({"every_ms": 50, "payload": "hi"})),
        )
        .await
        .unwrap();
    assert!(loaded.channels.contains(&cid("ticks")));
    let first = heard.recv().await.unwrap();
    assert_eq!(first.sender().as_str(), "clock");
    assert_eq!(first.payload()["payload"], "hi");
    let second = heard.recv().await.unwrap();
    assert_eq!(
        second.payload()["tick"].as_u64(),
        first.payload()["tick"].as_u64().map(|n| n + 1)
    );
    let modules: Vec<_> = kernel
        .modules()
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.module_id.to_string(), m.framework))
        .collect();
    assert_eq!(
        modules,
        [
            ("clock".to_string(), "ticker".to_string()),
            ("log".to_string(), "logger".to_string())
        ]
    );
}

#[actix_rt::test]
async fn an_echo_answers_requests_in_its_inbox() {
    let (kernel, channels) = modules_kernel(allow_everything()).await;
    kernel
        .load_module(ModuleLoad::new(sid("echo"), "echo").channel(cid("desk")))
        .await
        .unwrap();
    let mailbox = channels
        .desk
        .grant(sid("caller"), Rights::WRITE)
        .await
        .unwrap();
    for n in 0..10 {
        let reply = mailbox
            .request(&sid("echo"), json!({"n": n}), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(*reply.payload(), json!({"n": n}));
        assert_eq!(reply.sender().as_str(), "echo");
    }
}

#[actix_rt::test]
async fn a_worker_executes_each_job_through_the_gate_with_the_capability_it_was_given() {
    let (kernel, channels) = modules_kernel(allow_everything()).await;
    let (ran, mut runs) = mpsc::unbounded_channel();
    let runner = move |action: exokern_actors::kernel::ApprovedAction| {
        let ran = ran.clone();
        async move {
            ran.send((action.system.to_string(), action.target, action.payload))
                .unwrap();
            Ok(Value::Null)
        }
    };
    kernel
        .register_executor("http", Risk::Low, Some(Arc::new(runner)))
        .await
        .unwrap();
    let loaded = kernel
        .load_module(
            ModuleLoad::new(sid("crew"), "worker")
                .channel(cid("jobs"))
                .executor("http")
                .settings(json!({"executor": "http", "action": "GET"})),
        )
        .await
        .unwrap();
    assert_eq!(loaded.capabilities.len(), 1);
    assert_eq!(loaded.capabilities[0].resource, "executor:http");
    let producer = channels
        .jobs
        .grant(sid("producer"), Rights::WRITE)
        .await
        .unwrap();
    for n in 0..5 {
        producer
            .send(json!({"n": n, "target": format!("https://example.com/{n}")}))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(runs.recv().await.unwrap());
    }
    seen.sort_by_key(|(_, target, _)| target.clone());
    for (n, (system, target, payload)) in seen.into_iter().enumerate() {
        assert_eq!(system, "crew");
        assert_eq!(target, format!("https://example.com/{n}"));
        assert_eq!(payload["n"], n);
    }
    // S11: the initial capability was requested as the module, through the policy.
    let initial: Vec<_> = kernel
        .audit(0, 100)
        .into_iter()
        .filter(|r| r.request == "capability_initial")
        .map(|r| {
            (
                r.system.map(|s| s.to_string()),
                r.decision.into_owned(),
                r.rule.as_deref().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        initial,
        [(
            Some("crew".to_string()),
            "granted".to_string(),
            Some("caps".to_string())
        )]
    );
}

#[actix_rt::test]
async fn privileged_systems_load_modules_whose_capabilities_they_do_not_hold() {
    let (kernel, _channels) = modules_kernel(allow_everything()).await;
    kernel
        .register_executor("http", Risk::Low, None)
        .await
        .unwrap();
    let plain = dock_probe(&kernel, "plain", false).await;
    let admin = dock_probe(&kernel, "admin", true).await;
    let request = ModuleLoad::new(sid("helper"), "noop").executor("http");
    let refused = plain.load_module(request.clone()).await;
    assert!(
        matches!(refused, Err(GovernanceError::NotPrivileged { .. })),
        "{refused:?}"
    );
    let loaded = admin.load_module(request).await.unwrap();
    assert_eq!(loaded.capabilities.len(), 1);
    // The capability went to the module, not to the privileged requester.
    let borrowed = admin.authorize(http("GET"), None).await;
    assert!(
        matches!(
            borrowed,
            Err(GovernanceError::Capability(Denial::NotHeld { .. }))
        ),
        "{borrowed:?}"
    );
    let refused = plain.unload_module(sid("helper")).await;
    assert!(
        matches!(refused, Err(GovernanceError::NotPrivileged { .. })),
        "{refused:?}"
    );
    admin.unload_module(sid("helper")).await.unwrap();
    assert!(kernel.modules().await.unwrap().is_empty());
    let snapshot = kernel.snapshot().await.unwrap();
    assert!(snapshot.systems.iter().all(|s| s.id.as_str() != "helper"));
    // Only modules are unloaded this way.
    let not_module = admin.unload_module(sid("plain")).await;
    assert!(
        matches!(not_module, Err(GovernanceError::NotAModule(_))),
        "{not_module:?}"
    );
}

#[actix_rt::test]
async fn a_refused_module_load_changes_nothing() {
    let (kernel, _channels) = modules_kernel(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow", "resources": ["executor:http"]},
        {"name": "mods", "on": "module", "effect": "allow"},
        {"name": "no-tickers", "on": "module", "effect": "deny", "frameworks": ["ticker"]},
    ]}))
    .await;
    let before = kernel.snapshot().await.unwrap();
    let attempts: Vec<(ModuleLoad, &str)> = vec![
        (
            ModuleLoad::new(sid("t"), "ticker").channel(cid("ticks")),
            "denied by policy",
        ),
        (ModuleLoad::new(sid("x"), "lllm"), "no framework `lllm`"),
        (
            ModuleLoad::new(sid("l"), "logger")
                .channel(cid("ticks"))
                .settings(json!({"levle": "info"})),
            "unknown field `levle`",
        ),
        (
            ModuleLoad::new(sid("n"), "noop").channel(cid("ticks")),
            "takes no channels",
        ),
        (
            ModuleLoad::new(sid("e"), "echo").channel(cid("ticks")),
            "is a broadcast",
        ),
        (
            ModuleLoad::new(sid("w"), "worker").channel(cid("missing")),
            "does not exist",
        ),
        (
            ModuleLoad::new(sid("s"), "noop").executor("shell"),
            "initial capability on executor `shell` was refused",
        ),
    ];
    for (request, expected) in attempts {
        let id = request.module_id.clone();
        let error = kernel.load_module(request).await.unwrap_err();
        assert!(
            error.to_string().contains(expected),
            "{id}: `{error}` does not say `{expected}`"
        );
    }
    let after = kernel.snapshot().await.unwrap();
    assert_eq!(after, before);
    assert!(kernel.modules().await.unwrap().is_empty());
    let rejected = kernel
        .audit(0, 100)
        .into_iter()
        .filter(|r| r.request == "module_load" && r.decision == "rejected")
        .count();
    assert_eq!(rejected, 7);
    let denied = kernel
        .audit(0, 100)
        .into_iter()
        .find(|r| r.request == "module_load")
        .unwrap();
    assert_eq!(denied.rule.as_deref(), Some("no-tickers"));
}

/// A kernel's preflight refuses what its loader refuses, with the same error, and
/// leaves to the dock only what depends on the running kernel's channels.
#[actix_rt::test]
async fn the_preflight_refuses_what_the_loader_refuses_starting_nothing() {
    let policy = json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow", "resources": ["executor:http"]},
        {"name": "mods", "on": "module", "effect": "allow"},
        {"name": "no-tickers", "on": "module", "effect": "deny", "frameworks": ["ticker"]},
    ]});
    let preflight = Kernel::builder()
        .built_in_frameworks()
        .policy(rules(policy.clone()))
        .preflight();
    let (kernel, _channels) = modules_kernel(policy).await;
    let refused = [
        ModuleLoad::new(sid("t"), "ticker").channel(cid("ticks")),
        ModuleLoad::new(sid("x"), "lllm"),
        ModuleLoad::new(sid("l"), "logger")
            .channel(cid("ticks"))
            .settings(json!({"levle": "info"})),
        ModuleLoad::new(sid("n"), "noop").channel(cid("ticks")),
        ModuleLoad::new(sid("s"), "noop").executor("shell"),
    ];
    for request in refused {
        let before = preflight.module(&request).await.unwrap_err();
        let loaded = kernel.load_module(request.clone()).await.unwrap_err();
        assert_eq!(
            before.to_string(),
            loaded.to_string(),
            "{}",
            request.module_id
        );
    }
    let left_to_the_dock = ModuleLoad::new(sid("w"), "worker").channel(cid("missing"));
    preflight.module(&left_to_the_dock).await.unwrap();
    let passes = ModuleLoad::new(sid("h"), "noop").executor("http");
    preflight.module(&passes).await.unwrap();
    kernel.load_module(passes).await.unwrap();
    let remote = RemoteDock::new(sid("r")).executes("shell");
    let error = preflight.remote(&remote).await.unwrap_err();
    assert!(
        matches!(&error, DockError::Capability { executor, .. } if executor == "shell"),
        "{error:?}"
    );
    preflight
        .remote(&RemoteDock::new(sid("r")).executes("http"))
        .await
        .unwrap();
}

/// A framework of the embedding program's own.
fn quiet(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    struct Quiet;
    impl System for Quiet {
        type Message = Value;
    }
    spec.channel_count(0, 0)?;
    Ok(ModuleDock::new(exokern_actors::kernel::Dock::new(
        spec.id.clone(),
        || Quiet,
    )))
}

/// A framework that builds a dock for some other system than the module.
fn impostor(_: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    quiet(&ModuleSpec::new(
        sid("someone-else"),
        Vec::new(),
        Value::Null,
    ))
}

#[actix_rt::test]
async fn frameworks_registered_by_the_program_load_like_the_built_ins() {
    let kernel = Kernel::builder()
        .policy(rules(allow_everything()))
        .framework("quiet", quiet)
        .start()
        .await
        .unwrap();
    kernel
        .register_framework("impostor", impostor)
        .await
        .unwrap();
    kernel
        .load_module(ModuleLoad::new(sid("q"), "quiet"))
        .await
        .unwrap();
    let error = kernel
        .load_module(ModuleLoad::new(sid("i"), "impostor"))
        .await
        .unwrap_err();
    assert!(matches!(error, GovernanceError::Module { .. }), "{error:?}");
    let twice = kernel
        .load_module(ModuleLoad::new(sid("q"), "quiet"))
        .await
        .unwrap_err();
    assert!(
        matches!(&twice, GovernanceError::Dock(e) if matches!(**e, DockError::AlreadyDocked(_))),
        "{twice:?}"
    );
    let _: &dyn Framework = &quiet;
}

#[actix_rt::test]
async fn the_approver_decides_escalations_by_executor_and_leaves_the_rest() {
    let policy = rules(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "modules", "on": "module", "effect": "allow"},
        {"name": "risky", "on": "action", "effect": "escalate", "risks": ["high", "irreversible"]},
    ]}));
    let kernel = start(
        Kernel::builder()
            .built_in_frameworks()
            .policy(policy)
            .approval_timeout(std::time::Duration::from_secs(5)),
    )
    .await;
    kernel
        .register_executor("deploy", Risk::High, None)
        .await
        .unwrap();
    kernel
        .register_executor("wipe", Risk::High, None)
        .await
        .unwrap();
    let mut load = ModuleLoad::new(sid("gatekeeper"), "approver");
    load.privileged = true;
    load.settings = json!({"approve": ["deploy"], "deny": ["shell"]});
    kernel.load_module(load).await.unwrap();
    let alice = dock_probe(&kernel, "alice", false).await;
    for executor in ["deploy", "shell", "wipe"] {
        alice
            .request(
                format!("executor:{executor}").parse().unwrap(),
                Rights::EXECUTE,
            )
            .await
            .unwrap();
    }
    let act = |executor: &str| ActionRequest::new("run", executor, "prod");
    let approved = alice.authorize(act("deploy"), None).await.unwrap();
    assert!(approved.approval.is_some(), "approved after escalation");
    let denied = alice.authorize(act("shell"), None).await;
    assert!(
        matches!(&denied, Err(GovernanceError::ApprovalDenied { decided_by, .. }) if decided_by == "gatekeeper"),
        "{denied:?}"
    );
    tokio::time::pause();
    let undecided = alice.authorize(act("wipe"), None).await;
    assert!(
        matches!(undecided, Err(GovernanceError::ApprovalExpired { .. })),
        "left for another approver, then denied at the timeout: {undecided:?}"
    );

    let refused = kernel
        .load_module(ModuleLoad::new(sid("plain"), "approver").channel("ticks".parse().unwrap()))
        .await;
    assert!(
        matches!(refused, Err(GovernanceError::Module { .. })),
        "{refused:?}"
    );
}
