//! The heartbeat on `kernel.heartbeat`, and the audit log: ring, sink and `kernel.audit`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use exokern_actors::channel::{StartAt, SubscribeOptions};
use exokern_actors::kernel::{AuditRecord, AuditSink, Kernel, PortError, Visibility};
use exokern_actors::policy::RuleSet;
use exokern_actors::prelude::*;

use crate::common::{cid, sid};
use crate::support::{dock_seen, http, rules, start};

#[actix_rt::test]
async fn the_heartbeat_reports_systems_capabilities_approvals_and_channel_depths() {
    tokio::time::pause();
    let kernel = Kernel::builder()
        .id("pulse")
        .policy(RuleSet::allow_all())
        .heartbeat_interval(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let jobs = WorkQueue::<u32>::builder(cid("jobs")).start().unwrap();
    let producer = jobs.grant(sid("producer"), Rights::WRITE).await.unwrap();
    kernel.add_channel(jobs, Visibility::Private).await.unwrap();
    for job in 0..3 {
        producer.send(job).await.unwrap();
    }
    let alice = dock_seen(&kernel, "alice", false).await;
    alice
        .client
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    let mut beats = alice
        .heartbeat
        .expect("every system reads the heartbeat")
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();
    let first = beats.recv().await.unwrap();
    let first_at = tokio::time::Instant::now();
    let beat = first.payload();
    assert_eq!(first.sender().as_str(), "kernel.core");
    assert_eq!(beat.kernel_id, "pulse");
    assert_eq!(
        beat.systems
            .iter()
            .map(|s| (s.id.as_str(), s.state.as_str(), s.privileged))
            .collect::<Vec<_>>(),
        [("alice", "running", false)]
    );
    assert_eq!(beat.capabilities_active, 1);
    assert_eq!(beat.approvals_pending, 0);
    let depth = |id: &str| {
        beat.channels
            .iter()
            .find(|c| c.id == id)
            .map(|c| (c.kind.clone(), c.depth))
    };
    assert_eq!(depth("jobs"), Some(("work_queue".into(), 3)));
    assert!(depth("kernel.heartbeat").is_some());
    assert!(depth("kernel.audit").is_some());
    let second = beats.recv().await.unwrap();
    assert_eq!(second.payload().beat, beat.beat + 1);
    let gap = first_at.elapsed();
    assert!(
        gap >= Duration::from_millis(1900) && gap <= Duration::from_millis(2100),
        "beats {gap:?} apart, not 2 s"
    );
}

/// C12: AAAX counted expired capabilities until a sweep ran.
#[actix_rt::test]
async fn expired_capabilities_leave_the_heartbeat_count() {
    tokio::time::pause();
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .heartbeat_interval(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let alice = dock_seen(&kernel, "alice", false).await;
    let request = exokern_actors::protocol::CapabilityRequest::new(
        "executor:http".parse().unwrap(),
        Rights::EXECUTE,
    )
    .ttl(Duration::from_secs(3));
    alice.client.request_capability(request).await.unwrap();
    let mut beats = alice
        .heartbeat
        .unwrap()
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();
    let mut counts = Vec::new();
    for _ in 0..5 {
        counts.push(beats.recv().await.unwrap().payload().capabilities_active);
    }
    assert_eq!(counts[..2], [1, 1], "{counts:?}");
    assert_eq!(counts[3..], [0, 0], "{counts:?}");
}

/// A sink that keeps what it was given, and counts flushes.
#[derive(Clone, Default)]
struct Collect {
    records: Arc<Mutex<Vec<AuditRecord>>>,
    flushes: Arc<Mutex<usize>>,
}

impl AuditSink for Collect {
    fn write(&mut self, record: &AuditRecord) {
        self.records.lock().unwrap().push(record.clone());
    }

    fn flush(&mut self) {
        *self.flushes.lock().unwrap() += 1;
    }
}

#[actix_rt::test]
async fn every_decision_is_audited_to_the_ring_the_sink_and_kernel_audit() {
    tokio::time::pause();
    let sink = Collect::default();
    let kernel = start(
        Kernel::builder()
            .policy(rules(serde_json::json!({"rules": [
                {"name": "caps", "on": "capability", "effect": "allow", "resources": ["executor:*"]},
                {"name": "low", "on": "action", "effect": "allow", "risks": ["low"]},
            ]})))
            .audit_sink(sink.clone())
            .heartbeat_interval(Duration::from_secs(1)),
    )
    .await;
    let ops = dock_seen(&kernel, "ops", true).await;
    let mut live = ops
        .audit
        .expect("a privileged system reads kernel.audit")
        .subscribe(SubscribeOptions::default().start(StartAt::Earliest))
        .await
        .unwrap();
    let alice = dock_seen(&kernel, "alice", false).await;
    // Privileged tier: an ordinary system holds neither kernel.audit nor kernel.approvals.
    assert!(matches!(alice.audit, Err(PortError::NotGranted { .. })));
    assert!(matches!(alice.approvals, Err(PortError::NotGranted { .. })));
    let cap = alice
        .client
        .request("executor:http".parse().unwrap(), Rights::EXECUTE)
        .await
        .unwrap();
    alice
        .client
        .authorize(http("GET"), Some(&cap.capability))
        .await
        .unwrap();
    alice
        .client
        .request("mcp:github".parse().unwrap(), Rights::READ)
        .await
        .unwrap_err();

    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(live.recv().await.unwrap().payload().clone());
    }
    let ring = kernel.audit(0, 100);
    assert_eq!(seen, ring, "kernel.audit republishes the ring, in order");
    let summary: Vec<_> = ring
        .iter()
        .map(|r| {
            (
                r.seq,
                r.system.as_ref().map(|s| s.to_string()),
                &*r.request,
                &*r.decision,
                r.rule.as_deref(),
            )
        })
        .collect();
    let alice_id = Some("alice".to_string());
    assert_eq!(
        summary,
        [
            (1, None, "dock", "ok", None),
            (2, None, "dock", "ok", None),
            (
                3,
                alice_id.clone(),
                "capability_request",
                "granted",
                Some("caps")
            ),
            (
                4,
                alice_id.clone(),
                "action_authorize",
                "approved",
                Some("low")
            ),
            (5, alice_id, "capability_request", "denied", None),
        ]
    );
    assert_eq!(ring[2].capability, Some(cap.capability.id()));
    assert_eq!(ring[3].capability, Some(cap.capability.id()));
    assert!(ring.iter().all(|r| r.timestamp > 1.0e9));
    assert_eq!(*sink.records.lock().unwrap(), ring);
    // The sink is flushed at each heartbeat, after publishing it, and at shutdown: once
    // a second beat arrives, the first one's flush has happened.
    let mut beats = ops
        .heartbeat
        .expect("every docked system reads kernel.heartbeat")
        .subscribe(SubscribeOptions::default())
        .await
        .unwrap();
    for _ in 0..2 {
        beats.recv().await.unwrap();
    }
    assert!(*sink.flushes.lock().unwrap() >= 1);
    let before = *sink.flushes.lock().unwrap();
    kernel.shutdown().await;
    assert!(*sink.flushes.lock().unwrap() > before);
}
