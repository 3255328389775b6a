//! [`KernelActor`]: the constellation (docked systems and registered channels), and what
//! the other managers share with it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::audit::{Audit, AuditRecord};
use super::channels::ChannelEntry;
use super::desk::Desk;
use super::gate::ActionGateActor;
use super::lifecycle::LifecycleActor;
use super::loads::Loader;
use super::vocabulary::Member;
use super::Limits;
use crate::capability::CapabilityActor;
use crate::channel::BroadcastHandle;
use crate::ids::{ChannelId, SystemId};
use crate::protocol::{ApprovalEvent, Heartbeat};
use crate::system::SystemControl;

/// A docked system as the kernel keeps it.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) member: Arc<Member>,
    pub(crate) control: Option<SystemControl>,
    /// Channels it was granted (consumed or published to), kernel channels included.
    pub(crate) granted: Vec<ChannelId>,
    /// Channels it owns.
    pub(crate) owned: Vec<ChannelId>,
}

/// The kernel's handles on its own channels.
#[derive(Debug, Clone)]
pub(crate) struct KernelChannels {
    pub(crate) heartbeat: BroadcastHandle<Heartbeat>,
    pub(crate) approvals: BroadcastHandle<ApprovalEvent>,
    pub(crate) audit: BroadcastHandle<AuditRecord>,
}

impl KernelChannels {
    pub(crate) fn heartbeat_id(&self) -> ChannelId {
        self.heartbeat.channel().clone()
    }

    pub(crate) fn approvals_id(&self) -> ChannelId {
        self.approvals.channel().clone()
    }

    pub(crate) fn audit_id(&self) -> ChannelId {
        self.audit.channel().clone()
    }
}

/// The kernel's managers, shared: every docked system's client holds them, so a dock
/// costs one reference count, not a clone of each address (a recipient's is an
/// allocation).
pub(crate) type Managers = Arc<ManagerSet>;

/// The addresses of the kernel's managers, all on the kernel's arbiter, and the desk
/// capability requests are decided with.
#[derive(Debug)]
pub(crate) struct ManagerSet {
    pub(crate) caps: Addr<CapabilityActor>,
    pub(crate) desk: Arc<Desk>,
    pub(crate) gate: Addr<ActionGateActor>,
    pub(crate) lifecycle: Addr<LifecycleActor>,
    pub(crate) modules: Loader,
}

/// The kernel: registry of docked systems and channels. Runs on the kernel's arbiter
/// beside the other managers.
pub(crate) struct KernelActor {
    pub(crate) id: Arc<str>,
    pub(crate) limits: Limits,
    pub(crate) managers: Managers,
    pub(crate) audit: Audit,
    pub(crate) kernel_channels: KernelChannels,
    pub(crate) channels: BTreeMap<ChannelId, ChannelEntry>,
    /// Channel ids claimed by docks in progress.
    pub(crate) pending_channels: BTreeSet<ChannelId>,
    pub(crate) members: BTreeMap<SystemId, Registration>,
    pub(crate) shutting_down: bool,
    pub(crate) heartbeat_every: Duration,
    /// The next heartbeat's number.
    pub(crate) beats: u64,
    /// A heartbeat is being gathered.
    pub(crate) beating: bool,
}

impl std::fmt::Debug for KernelActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelActor")
            .field("id", &self.id)
            .field("systems", &self.members.len())
            .field("channels", &self.channels.len())
            .finish()
    }
}

impl Actor for KernelActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(crate::capability::DEFAULT_MAILBOX);
        self.start_pulse(ctx);
    }
}

/// Register a channel the embedding program created.
#[derive(Message)]
#[rtype(result = "Result<(), super::error::DockError>")]
pub(crate) struct AddChannel {
    pub(crate) entry: ChannelEntry,
}

/// The ids of the public channels, sorted.
#[derive(Message)]
#[rtype(result = "Vec<ChannelId>")]
pub(crate) struct ListPublic;

impl Handler<ListPublic> for KernelActor {
    type Result = MessageResult<ListPublic>;

    fn handle(&mut self, _: ListPublic, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.channels
                .iter()
                .filter(|(_, entry)| entry.visibility == super::ports::Visibility::Public)
                .map(|(id, _)| id.clone())
                .collect(),
        )
    }
}

impl Handler<AddChannel> for KernelActor {
    type Result = Result<(), super::error::DockError>;

    fn handle(&mut self, msg: AddChannel, _: &mut Context<Self>) -> Self::Result {
        let id = msg.entry.id().clone();
        if self.shutting_down {
            return Err(super::error::DockError::ShuttingDown);
        }
        if self.channels.contains_key(&id) || self.pending_channels.contains(&id) {
            return Err(super::error::DockError::ChannelCollision { channel: id });
        }
        self.channels.insert(id, msg.entry);
        Ok(())
    }
}
