//! [`Dock`]: what a system asks for when it docks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::channels::{ErasedChannel, KernelChannel};
use super::ports::Visibility;
use crate::channel::{SubscribeOptions, WorkerOptions};
use crate::ids::{ChannelId, SystemId};
use crate::placement::Placement;
use crate::rights::Rights;
use crate::system::{Factory, RestartPolicy, System};

/// Whether a port's channel must carry the system's own message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sends {
    /// Any channel, any payload type.
    Anything,
    /// A broadcast or work queue of `S::Message`.
    Messages,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Link {
    Subscribe(SubscribeOptions),
    Worker(WorkerOptions),
    Inbox,
}

/// How a system docks: its id and state factory, the channels it consumes and publishes
/// to, the channels it owns, and whether it is privileged.
///
/// Every system also gets, without asking, a READ port on `kernel.heartbeat` (the COMMON
/// tier); a privileged one also on `kernel.approvals` and `kernel.audit` (the PRIVILEGED
/// tier), and may
/// issue lifecycle, module and approval requests.
#[must_use = "a dock does nothing until passed to `KernelHandle::dock`"]
pub struct Dock<S: System> {
    pub(super) id: SystemId,
    pub(super) factory: Factory<S>,
    pub(super) links: Vec<(ChannelId, Link)>,
    pub(super) publish: Vec<(ChannelId, Rights, Sends)>,
    pub(super) owns: Vec<(Arc<dyn ErasedChannel>, Visibility)>,
    pub(super) executes: Vec<Arc<str>>,
    pub(super) privileged: bool,
    pub(super) tick_every: Option<Duration>,
    pub(super) restart: RestartPolicy,
    pub(super) placement: Placement,
}

impl<S: System> fmt::Debug for Dock<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dock")
            .field("id", &self.id)
            .field("links", &self.links)
            .field("publish", &self.publish)
            .field("owns", &self.owns.len())
            .field("executes", &self.executes)
            .field("privileged", &self.privileged)
            .finish()
    }
}

impl<S: System> Dock<S> {
    /// Docks system `id`, its state made by `factory` (again after each restart).
    pub fn new(id: SystemId, factory: impl FnMut() -> S + Send + 'static) -> Dock<S> {
        Dock {
            id,
            factory: Box::new(factory),
            links: Vec::new(),
            publish: Vec::new(),
            owns: Vec::new(),
            executes: Vec::new(),
            privileged: false,
            tick_every: None,
            restart: RestartPolicy::default(),
            placement: Placement::Current,
        }
    }

    /// Consumes broadcast `channel` (READ), every message pushed to the system.
    pub fn subscribe(mut self, channel: ChannelId, options: SubscribeOptions) -> Self {
        self.links.push((channel, Link::Subscribe(options)));
        self
    }

    /// Consumes work queue `channel` (READ) as a push worker.
    pub fn worker(mut self, channel: ChannelId, options: WorkerOptions) -> Self {
        self.links.push((channel, Link::Worker(options)));
        self
    }

    /// Consumes its inbox on mailbox `channel` (READ and WRITE, to reply). The same
    /// handle is in [`SystemContext::ports`](crate::system::SystemContext::ports), to
    /// send and request with; naming the channel in [`publish`](Self::publish) or
    /// [`port`](Self::port) as well adds those rights to the one grant.
    pub fn inbox(mut self, channel: ChannelId) -> Self {
        self.links.push((channel, Link::Inbox));
        self
    }

    /// Gets a port with WRITE on `channel` (of any payload type), found in
    /// [`SystemContext::ports`](crate::system::SystemContext::ports).
    pub fn publish(self, channel: ChannelId) -> Self {
        self.port(channel, Rights::WRITE)
    }

    /// Gets a port with `rights` on `channel` (of any payload type).
    pub fn port(mut self, channel: ChannelId, rights: Rights) -> Self {
        self.publish.push((channel, rights, Sends::Anything));
        self
    }

    /// Gets a port with WRITE on `channel`, which must be a broadcast or a work queue
    /// of the system's own message type (checked at dock, not when first used); find it
    /// with [`Ports::channel`](crate::kernel::Ports::channel).
    pub fn sends(mut self, channel: ChannelId) -> Self {
        self.publish.push((channel, Rights::WRITE, Sends::Messages));
        self
    }

    /// Owns `channel`: registered with the kernel when the system docks (its id must be
    /// free), reachable by other docks afterwards, drained with the system and stopped
    /// when it undocks. The system gets a port with every right on it.
    pub fn owns(mut self, channel: impl KernelChannel, visibility: Visibility) -> Self {
        self.owns.push((channel.erase(), visibility));
        self
    }

    /// Starts with an EXECUTE capability on `executor:<executor>`, requested as the
    /// system through the capability policy before it starts, held by the system (see
    /// [`SystemContext::capabilities`](crate::system::SystemContext::capabilities)). A
    /// refusal refuses the dock.
    pub fn executes(mut self, executor: impl Into<Arc<str>>) -> Self {
        self.executes.push(executor.into());
        self
    }

    /// Docks privileged: lifecycle, module and approval requests are allowed.
    pub fn privileged(mut self) -> Self {
        self.privileged = true;
        self
    }

    /// Ticks the system every `interval`.
    pub fn tick_every(mut self, interval: Duration) -> Self {
        self.tick_every = Some(interval);
        self
    }

    /// Its restart policy.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Where it runs (default: the arbiter of whoever calls `dock`).
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// The system's id.
    pub fn id(&self) -> &SystemId {
        &self.id
    }
}
