//! Systems and kernels the kernel tests share.

use std::sync::{Arc, Mutex};

use exokern_actors::kernel::{
    AuditRecord, Dock, Kernel, KernelBuilder, KernelClient, KernelHandle, PortError,
};
use exokern_actors::policy::{Risk, RuleSet};
use exokern_actors::prelude::*;
use exokern_actors::protocol::{ActionRequest, ApprovalEvent, Heartbeat};

use crate::common::sid;

/// What a docked probe saw of itself in `started`.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub client: KernelClient,
    pub heartbeat: Result<BroadcastHandle<Heartbeat>, PortError>,
    pub approvals: Result<BroadcastHandle<ApprovalEvent>, PortError>,
    pub audit: Result<BroadcastHandle<AuditRecord>, PortError>,
}

/// A system that hands its kernel client and kernel ports to the test.
pub(crate) struct Probe {
    pub seen: Arc<Mutex<Option<Seen>>>,
}

impl Probe {
    /// A probe whose sightings nobody reads.
    pub(crate) fn blind() -> Probe {
        Probe {
            seen: Arc::default(),
        }
    }
}

impl System for Probe {
    type Message = String;

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let ports = ctx.ports().expect("a docked system has ports");
        let seen = Seen {
            client: ctx.kernel().cloned().expect("a docked system has a client"),
            heartbeat: ports.heartbeat(),
            approvals: ports.approvals(),
            audit: ports.audit(),
        };
        *self.seen.lock().unwrap() = Some(seen);
    }
}

/// Docks a probe and answers what it saw.
pub(crate) async fn dock_seen(kernel: &KernelHandle, id: &str, privileged: bool) -> Seen {
    let slot = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&slot);
    let mut dock = Dock::new(sid(id), move || Probe {
        seen: Arc::clone(&seen),
    });
    if privileged {
        dock = dock.privileged();
    }
    kernel.dock(dock).await.expect("dock");
    let seen = slot.lock().unwrap().clone();
    seen.expect("the probe started before its dock returned")
}

/// Docks a probe and answers its kernel client.
pub(crate) async fn dock_probe(kernel: &KernelHandle, id: &str, privileged: bool) -> KernelClient {
    dock_seen(kernel, id, privileged).await.client
}

pub(crate) fn rules(value: serde_json::Value) -> RuleSet {
    serde_json::from_value(value).unwrap()
}

/// A kernel under `policy`, with the built-in frameworks and the executors `http` (low
/// risk) and `shell` (irreversible) registered.
pub(crate) async fn kernel(policy: RuleSet) -> KernelHandle {
    start(Kernel::builder().built_in_frameworks().policy(policy)).await
}

/// Starts `builder`'s kernel, with the executors `http` and `shell` registered.
pub(crate) async fn start(builder: KernelBuilder) -> KernelHandle {
    let kernel = builder.start().await.unwrap();
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

pub(crate) fn http(action: &str) -> ActionRequest {
    ActionRequest::new(action, "http", "https://example.com/")
}
