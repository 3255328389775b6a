//! The kernel's pulse: a [`Heartbeat`] on `kernel.heartbeat` at the configured interval,
//! and the audit records republished on `kernel.audit`.

use std::time::Duration;

use actix::prelude::*;

use super::actor::KernelActor;
use super::audit::{wall_clock, Audit, AuditRecord};
use super::gate::CountPending;
use crate::capability::Stats;
use crate::channel::BroadcastHandle;
use crate::protocol::{ChannelDepth, Heartbeat, SystemSummary};

/// The default time between heartbeats.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// Audit records published per wake of the audit publisher before it yields.
const AUDIT_BATCH: usize = 256;

impl KernelActor {
    /// Starts the heartbeat timer and the audit publisher; both live as long as the
    /// kernel actor.
    pub(crate) fn start_pulse(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.heartbeat_every, |kernel, ctx| kernel.beat(ctx));
        ctx.spawn(
            publish_audit(self.audit.clone(), self.kernel_channels.audit.clone()).into_actor(self),
        );
    }

    /// Gathers and publishes one heartbeat, then flushes the audit sink. A beat still
    /// gathering when the next is due makes that one skip, so beats never pile up.
    fn beat(&mut self, ctx: &mut Context<Self>) {
        if self.beating || self.shutting_down {
            return;
        }
        self.beating = true;
        let beat = self.beats;
        self.beats += 1;
        let systems: Vec<SystemSummary> = self
            .members
            .values()
            .map(|r| SystemSummary {
                id: r.member.id.clone(),
                state: r.member.state().to_string(),
                privileged: r.member.privileged,
            })
            .collect();
        let channels: Vec<_> = self
            .channels
            .values()
            .map(|e| e.channel.control().clone())
            .collect();
        let (caps, gate) = (self.managers.caps.clone(), self.managers.gate.clone());
        let (kernel_id, out, audit) = (
            self.id.to_string(),
            self.kernel_channels.heartbeat.clone(),
            self.audit.clone(),
        );
        let gather = async move {
            let capabilities_active = caps.send(Stats).await.map_or(0, |s| s.live);
            let approvals_pending = gate.send(CountPending).await.unwrap_or(0);
            let mut depths = Vec::with_capacity(channels.len());
            for channel in channels {
                if let Ok(stats) = channel.stats().await {
                    depths.push(ChannelDepth {
                        id: channel.id().to_string(),
                        kind: channel.kind().to_string(),
                        depth: stats.depth,
                        accepted: stats.accepted,
                        delivered: stats.delivered,
                    });
                }
            }
            let heartbeat = Heartbeat {
                kernel_id,
                timestamp: wall_clock(),
                beat,
                systems,
                capabilities_active,
                approvals_pending,
                channels: depths,
            };
            if let Err(error) = out.publish(heartbeat).await {
                tracing::warn!(%error, "heartbeat not published");
            }
            audit.flush();
        };
        ctx.spawn(
            gather
                .into_actor(self)
                .map(|(), kernel, _| kernel.beating = false),
        );
    }
}

/// Republishes every audit record on `kernel.audit`, in order, as the log grows, once
/// someone can read the channel (a privileged dock, or `KernelHandle::watch_audit`). One
/// task for the kernel's life, woken by the log; if more records arrive than the ring
/// keeps before it runs, the skipped ones show as a gap in `seq` (the ring and the sink
/// have every record).
async fn publish_audit(audit: Audit, channel: BroadcastHandle<AuditRecord>) {
    let mut after = 0;
    loop {
        audit.appended().await;
        loop {
            let batch = audit.since(after, AUDIT_BATCH);
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for record in batch {
                if channel.publish(record).await.is_err() {
                    return;
                }
            }
        }
    }
}
