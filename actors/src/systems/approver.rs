//! `approver`: decides escalated actions on `kernel.approvals` by executor, for a
//! constellation that runs unattended. Needs a privileged dock.

use serde::{Deserialize, Serialize};

use crate::channel::{RecvError, SubscribeOptions};
use crate::glob::Glob;
use crate::kernel::{Dock, FrameworkError, ModuleDock, ModuleSpec};
use crate::protocol::ApprovalEvent;
use crate::system::{System, SystemContext};

/// `approver`'s settings: escalations for an executor matching `approve` are approved,
/// those matching `deny` denied (deny wins), the rest left for another approver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApproverSettings {
    /// Executors whose escalations are approved (patterns, e.g. `deploy-*`).
    pub approve: Vec<Glob>,
    /// Executors whose escalations are denied.
    pub deny: Vec<Glob>,
}

impl ApproverSettings {
    fn verdict(&self, executor: &str) -> Option<bool> {
        if self.deny.iter().any(|glob| glob.matches(executor)) {
            return Some(false);
        }
        self.approve
            .iter()
            .any(|glob| glob.matches(executor))
            .then_some(true)
    }
}

struct Approver {
    settings: ApproverSettings,
}

impl System for Approver {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let id = ctx.id().clone();
        let approvals = ctx.ports().map(|ports| ports.approvals());
        let (Some(Ok(approvals)), Some(client)) = (approvals, ctx.kernel().cloned()) else {
            tracing::error!(system = %id, "approver needs a privileged dock to read kernel.approvals");
            ctx.stop();
            return;
        };
        let settings = self.settings.clone();
        ctx.spawn(async move {
            let mut escalations = match approvals.subscribe(SubscribeOptions::default()).await {
                Ok(subscription) => subscription,
                Err(error) => {
                    tracing::error!(system = %id, %error, "approver cannot subscribe");
                    return;
                }
            };
            loop {
                let event = match escalations.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged { missed }) => {
                        tracing::warn!(system = %id, missed, "approver fell behind");
                        continue;
                    }
                    Err(_) => return,
                };
                let ApprovalEvent::ActionEscalated {
                    approval,
                    executor,
                    action,
                    target,
                    system,
                    ..
                } = event.payload()
                else {
                    continue;
                };
                let Some(approve) = settings.verdict(executor) else {
                    continue;
                };
                let reason = format!(
                    "{} by the approver's rules for `{executor}`",
                    if approve { "approved" } else { "denied" }
                );
                match client.decide(*approval, approve, Some(reason)).await {
                    Ok(()) => tracing::info!(
                        approver = %id, %system, %action, %executor, %target, approve,
                        "escalation decided"
                    ),
                    Err(error) => tracing::debug!(approver = %id, %error, "escalation not decided"),
                }
            }
        });
    }
}

/// The `approver` framework: no channels; decides escalations by executor (see
/// [`ApproverSettings`]). Dock it privileged.
pub fn approver(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    spec.channel_count(0, 0)?;
    let settings: ApproverSettings = spec.settings()?;
    Ok(ModuleDock::new(Dock::new(spec.id.clone(), move || {
        Approver {
            settings: settings.clone(),
        }
    })))
}
