//! `worker`: takes jobs from a work queue; with an executor set, has the kernel execute
//! one action per job through the action gate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::{Inbound, WorkerOptions};
use crate::kernel::{Dock, FrameworkError, ModuleDock, ModuleSpec};
use crate::protocol::ActionRequest;
use crate::system::{System, SystemContext};

/// `worker`'s settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Jobs held at once (default 16).
    pub prefetch: usize,
    /// If set, each job becomes an `execute` request to this executor, with the job as
    /// payload and its `target` field (a string; or `payload.target`, as a ticker sends
    /// it) as target. The module needs the
    /// executor among its `executors` to hold a capability for it.
    pub executor: Option<String>,
    /// The action's verb (default `process`).
    pub action: String,
}

impl Default for WorkerSettings {
    fn default() -> WorkerSettings {
        WorkerSettings {
            prefetch: 16,
            executor: None,
            action: "process".into(),
        }
    }
}

struct Worker {
    executor: Option<String>,
    action: String,
    done: u64,
}

impl System for Worker {
    type Message = Value;

    /// The job is acked when this returns: an action the gate refuses is logged, not
    /// retried, since a retry would be refused the same way.
    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Value>) {
        self.done += 1;
        let Some(executor) = &self.executor else {
            tracing::debug!(system = %ctx.id(), seq = %msg.seq(), done = self.done, "job done");
            return;
        };
        let client = ctx.kernel().expect("a module is docked").clone();
        let job = msg.payload().clone();
        // A job's own `target`, or its payload's (how a ticker wraps what it sends).
        let target = job
            .get("target")
            .or_else(|| job.get("payload").and_then(|p| p.get("target")))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let request = ActionRequest::new(self.action.as_str(), executor.as_str(), target)
            .payload(job.clone());
        let seq = msg.seq();
        ctx.spawn(async move {
            match client.execute(request, None).await {
                Ok(approval) => tracing::debug!(
                    system = %client.system(), %seq, output = ?approval.output, "job executed"
                ),
                Err(error) => {
                    tracing::warn!(system = %client.system(), %seq, %error, "job refused")
                }
            }
        });
    }
}

/// The `worker` framework: exactly one channel, a work queue of JSON, consumed as a
/// push worker.
pub fn worker(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    spec.channel_count(1, 1)?;
    let settings: WorkerSettings = spec.settings()?;
    if settings.prefetch == 0 {
        return Err(FrameworkError::new(
            "settings: `prefetch` must be at least 1",
        ));
    }
    if settings.action.is_empty() {
        return Err(FrameworkError::new("settings: `action` is empty"));
    }
    let options = WorkerOptions::default().prefetch(settings.prefetch);
    let (executor, action) = (settings.executor, settings.action);
    let dock = Dock::new(spec.id.clone(), move || Worker {
        executor: executor.clone(),
        action: action.clone(),
        done: 0,
    })
    .worker(spec.channels[0].clone(), options);
    Ok(ModuleDock::new(dock))
}
