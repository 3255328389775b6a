//! Remote systems: docked like any other, acting through the ports and client the dock
//! answers, governed by the same policy, lifecycle and undock.

use exokern_actors::kernel::{DockError, GovernanceError, LifecycleState, RemoteDock, Visibility};
use exokern_actors::policy::RuleSet;
use exokern_actors::prelude::*;
use exokern_actors::protocol::{LifecycleCommand, Reply, Request};
use serde_json::json;

use crate::common::{cid, sid};
use crate::support::{http, kernel, rules};

#[actix_rt::test]
async fn a_remote_system_acts_with_exactly_its_grants_and_capabilities() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let events = Broadcast::<String>::builder(cid("events")).start().unwrap();
    kernel
        .add_channel(events.clone(), Visibility::Public)
        .await
        .unwrap();
    let remote = kernel
        .dock_remote(
            RemoteDock::new(sid("dashboard"))
                .channel(cid("events"), Rights::READ | Rights::WRITE)
                .executes("http"),
        )
        .await
        .unwrap();
    assert_eq!(remote.id(), &sid("dashboard"));
    assert_eq!(remote.state(), LifecycleState::Running);
    assert!(remote.is_docked());
    assert_eq!(remote.capabilities().len(), 1);

    let port = remote.ports().broadcast::<String>(&cid("events")).unwrap();
    let seq = port.publish("hello".to_owned()).await.unwrap();
    let read = port.read(Seq::ZERO, 10).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].seq(), seq);
    assert_eq!(
        read[0].sender(),
        &sid("dashboard"),
        "stamped with the remote's id"
    );
    assert!(remote.ports().heartbeat().is_ok(), "the COMMON tier");
    assert_eq!(
        remote.ports().visibility(&cid("events")),
        Some(Visibility::Public)
    );
    assert_eq!(remote.ports().visibility(&cid("nowhere")), None);
    assert_eq!(
        remote.client().public_channels().await.unwrap(),
        [cid("events")]
    );
    assert!(remote.ports().approvals().is_err(), "not privileged");

    let approval = remote.client().authorize(http("GET"), None).await.unwrap();
    assert!(!approval.rewritten);
    let refused = remote
        .client()
        .lifecycle(LifecycleCommand::Pause, sid("dashboard"), None)
        .await;
    assert!(matches!(
        refused,
        Err(GovernanceError::NotPrivileged { .. })
    ));

    kernel.undock(&sid("dashboard")).await.unwrap();
    assert_eq!(remote.state(), LifecycleState::Stopped);
    assert!(!remote.is_docked());
    assert!(port.publish("after".to_owned()).await.is_err());
    assert!(remote.client().authorize(http("GET"), None).await.is_err());
    assert_eq!(
        events.stats().await.unwrap().accepted,
        1,
        "nothing after undock"
    );
}

#[actix_rt::test]
async fn a_remote_dock_is_atomic_and_serves_wire_requests_with_typed_errors() {
    let kernel = kernel(rules(json!({
        "rules": [{"name": "http only", "on": "capability", "effect": "allow", "resources": ["executor:http"]}]
    })))
    .await;
    let refused = kernel
        .dock_remote(RemoteDock::new(sid("ghost")).channel(cid("nowhere"), Rights::READ))
        .await;
    assert!(matches!(refused, Err(DockError::UnknownChannel { .. })));
    let refused = kernel
        .dock_remote(RemoteDock::new(sid("ghost")).executes("shell"))
        .await;
    assert!(matches!(refused, Err(DockError::Capability { .. })));
    assert!(
        kernel.snapshot().await.unwrap().systems.is_empty(),
        "nothing docked"
    );

    let remote = kernel
        .dock_remote(RemoteDock::new(sid("ops")).privileged())
        .await
        .unwrap();
    assert!(remote.ports().approvals().is_ok(), "the PRIVILEGED tier");
    let request: Request = serde_json::from_value(json!({
        "type": "capability_request", "resource": "executor:shell", "rights": "EXECUTE"
    }))
    .unwrap();
    let served = remote.client().serve(request.clone()).await;
    assert!(matches!(served, Err(GovernanceError::Denied { .. })));
    assert!(matches!(
        remote.client().call(request).await,
        Reply::CapabilityDeny { .. }
    ));
}
