//! Spawning systems: [`SystemBuilder`], and [`SystemRef`], the handle to a running one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::sync::oneshot;

use crate::channel::{
    BroadcastHandle, MailboxHandle, SubscribeOptions, WorkQueueHandle, WorkerOptions,
};
use crate::ids::SystemId;
use crate::placement::Placement;
use crate::system::error::SpawnError;
use crate::system::host::{DrainSystem, SetPaused, StopSystem, SystemActor};
use crate::system::link::LinkSpec;
use crate::system::status::Status;
use crate::system::Factory;
use crate::system::{Extension, RestartPolicy, System, SystemStats, Tick};

/// The system has stopped or failed, so it takes no more requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("system `{system}` has stopped; spawn it again to use it")]
pub struct SystemStopped {
    /// The system.
    pub system: SystemId,
}

/// Builds and spawns a [`SystemActor`]. See the [module docs](crate::system).
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct SystemBuilder<S: System> {
    id: SystemId,
    factory: Factory<S>,
    links: Vec<LinkSpec<S::Message>>,
    policy: RestartPolicy,
    tick_every: Option<Duration>,
    placement: Placement,
    extension: Option<Arc<Extension>>,
}

impl<S: System> fmt::Debug for SystemBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemBuilder")
            .field("id", &self.id)
            .field("links", &self.links.len())
            .field("policy", &self.policy)
            .field("tick_every", &self.tick_every)
            .field("placement", &self.placement)
            .finish()
    }
}

impl<S: System> SystemActor<S> {
    /// A builder for system `id`. `factory` makes the system's state, at start and again
    /// after each restart; it runs on the system's arbiter, so the state itself need not
    /// be `Send`.
    pub fn builder(id: SystemId, factory: impl FnMut() -> S + Send + 'static) -> SystemBuilder<S> {
        SystemBuilder {
            id,
            factory: Box::new(factory),
            links: Vec::new(),
            policy: RestartPolicy::default(),
            tick_every: None,
            placement: Placement::Current,
            extension: None,
        }
    }
}

impl<S: System> SystemBuilder<S> {
    /// Has a broadcast channel push every message to the system.
    pub fn subscribe(
        mut self,
        handle: BroadcastHandle<S::Message>,
        options: SubscribeOptions,
    ) -> Self {
        self.links.push(LinkSpec::Subscribe(handle, options));
        self
    }

    /// Registers the system as a push worker on a work queue. Items are acked when
    /// [`System::on_message`] returns; they are released for redelivery if it panics.
    pub fn worker(mut self, handle: WorkQueueHandle<S::Message>, options: WorkerOptions) -> Self {
        self.links.push(LinkSpec::Work(handle, options));
        self
    }

    /// Has the system's inbox on a mailbox channel pushed to it; the system answers
    /// requests with [`SystemContext::reply`](crate::system::SystemContext::reply).
    pub fn inbox(mut self, handle: MailboxHandle<S::Message>) -> Self {
        self.links.push(LinkSpec::Inbox(handle));
        self
    }

    /// Calls [`System::on_tick`] every `interval`. Without it, a system ticks only when
    /// sent a [`Tick`].
    pub fn tick_every(mut self, interval: Duration) -> Self {
        self.tick_every = Some(interval);
        self
    }

    /// How panics are handled (default: [`RestartPolicy::default`]).
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Where the system runs (default: the caller's arbiter). On a pool, it runs on the
    /// arbiter assigned to its id, beside the channels it owns.
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Fills the host's extension slot: what whoever spawns the system gives its hooks
    /// besides the host's own services (the kernel gives a docked system its client and
    /// ports there).
    pub(crate) fn extension(mut self, extension: Arc<Extension>) -> Self {
        self.extension = Some(extension);
        self
    }

    fn validate(&self) -> Result<(), SpawnError> {
        if self.tick_every == Some(Duration::ZERO) {
            return Err(SpawnError::ZeroTick {
                system: self.id.clone(),
            });
        }
        for (i, link) in self.links.iter().enumerate() {
            if link.holder() != &self.id {
                return Err(SpawnError::WrongHolder {
                    system: self.id.clone(),
                    holder: link.holder().clone(),
                    channel: link.channel().clone(),
                });
            }
            if self.links[..i]
                .iter()
                .any(|l| l.channel() == link.channel())
            {
                return Err(SpawnError::DuplicateLink {
                    system: self.id.clone(),
                    channel: link.channel().clone(),
                });
            }
        }
        Ok(())
    }

    /// Starts the system and wires it to its channels; resolves once it is running and
    /// its `started` hook has run.
    pub async fn spawn(self) -> Result<SystemRef<S>, SpawnError> {
        self.validate()?;
        let status = Arc::new(Status::default());
        let (ready, started) = oneshot::channel();
        let SystemBuilder {
            id,
            factory,
            links,
            policy,
            tick_every,
            placement,
            extension,
        } = self;
        let actor = {
            let (id, status) = (id.clone(), Arc::clone(&status));
            move |_: &mut actix::Context<SystemActor<S>>| {
                SystemActor::new(
                    id, factory, links, policy, tick_every, status, ready, extension,
                )
            }
        };
        let addr = placement.start(Some(&id), actor)?;
        match started.await {
            Ok(Ok(())) => Ok(SystemRef { id, addr, status }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(SpawnError::Failed { system: id }),
        }
    }
}

/// A handle to a running system: its id, counters, and controls.
pub struct SystemRef<S: System> {
    id: SystemId,
    addr: Addr<SystemActor<S>>,
    status: Arc<Status>,
}

impl<S: System> Clone for SystemRef<S> {
    fn clone(&self) -> Self {
        SystemRef {
            id: self.id.clone(),
            addr: self.addr.clone(),
            status: Arc::clone(&self.status),
        }
    }
}

impl<S: System> fmt::Debug for SystemRef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemRef")
            .field("id", &self.id)
            .field("state", &self.status.state())
            .finish()
    }
}

impl<S: System> SystemRef<S> {
    /// The system's id.
    pub fn id(&self) -> &SystemId {
        &self.id
    }

    /// The host actor's address, e.g. to send it [`Tick`]s from a clock.
    pub fn addr(&self) -> &Addr<SystemActor<S>> {
        &self.addr
    }

    /// `true` until the system stops or fails.
    pub fn is_running(&self) -> bool {
        self.addr.connected()
    }

    /// The system's counters and state; works after it stopped, too.
    pub fn stats(&self) -> SystemStats {
        self.status.snapshot(&self.id)
    }

    /// Delivers one tick, waiting for room in the host's mailbox (not for the hook).
    pub async fn tick(&self, n: u64) -> Result<(), SystemStopped> {
        self.addr
            .send(Tick::new(n))
            .await
            .map_err(|_| SystemStopped {
                system: self.id.clone(),
            })
    }

    /// Stops the system for good (its `stopping` hook runs) and resolves once it has
    /// stopped. Claimed work items go back to their queues.
    pub async fn stop(&self) {
        let _ = self.addr.send(StopSystem).await;
        self.status.stopped().await;
    }

    /// Resolves once the system has stopped or failed.
    pub async fn stopped(&self) {
        self.status.stopped().await;
    }

    /// The type-erased controls the kernel keeps for a docked system.
    pub(crate) fn control(&self) -> SystemControl {
        SystemControl::Actor {
            pause: self.addr.clone().recipient(),
            drain: self.addr.clone().recipient(),
            stop: self.addr.clone().recipient(),
            status: Arc::clone(&self.status),
        }
    }
}

/// What the kernel can do to a system whatever its type or host: pause, resume, drain,
/// stop.
#[derive(Clone)]
pub(crate) enum SystemControl {
    /// A system with an actor of its own.
    Actor {
        pause: actix::Recipient<SetPaused>,
        drain: actix::Recipient<DrainSystem>,
        stop: actix::Recipient<StopSystem>,
        status: Arc<Status>,
    },
    /// An agent of a simulation, hosted with others by a cohort; one recipient is shared
    /// by all the cohort's agents.
    Agent {
        cohort: Arc<actix::Recipient<AgentCommand>>,
        rank: u32,
    },
}

/// A lifecycle command to one agent of a simulation's cohort, answered once it took
/// effect.
#[derive(Debug, Clone, Copy, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct AgentCommand {
    pub(crate) rank: u32,
    pub(crate) command: AgentControl,
}

/// What an [`AgentCommand`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentControl {
    /// Hold its messages and ticks until resumed.
    Pause,
    /// Deliver again, the held messages first; sends are allowed again.
    Resume,
    /// Its capabilities were revoked: refuse its sends until resumed.
    Revoke,
    /// Stop for good (a drain: an agent holds nothing between rounds).
    Stop,
}

impl fmt::Debug for SystemControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SystemControl::Actor { status, .. } => f
                .debug_struct("SystemControl")
                .field("state", &status.state())
                .finish(),
            SystemControl::Agent { rank, .. } => f
                .debug_struct("SystemControl")
                .field("agent", rank)
                .finish(),
        }
    }
}

impl SystemControl {
    async fn command(cohort: &actix::Recipient<AgentCommand>, rank: u32, command: AgentControl) {
        let _ = cohort.send(AgentCommand { rank, command }).await;
    }

    /// Pauses or resumes; resolves once the host has taken the change.
    pub(crate) async fn set_paused(&self, paused: bool) {
        match self {
            SystemControl::Actor { pause, .. } => {
                let _ = pause.send(SetPaused(paused)).await;
            }
            SystemControl::Agent { cohort, rank } => {
                let command = if paused {
                    AgentControl::Pause
                } else {
                    AgentControl::Resume
                };
                SystemControl::command(cohort, *rank, command).await;
            }
        }
    }

    /// Tells the host its capabilities were revoked. A system actor needs no telling (its
    /// handles are revoked with the grants); an agent's sends are refused from now on.
    pub(crate) async fn revoked(&self) {
        if let SystemControl::Agent { cohort, rank } = self {
            SystemControl::command(cohort, *rank, AgentControl::Revoke).await;
        }
    }

    /// Drains and resolves once the system has stopped.
    pub(crate) async fn drain(&self) {
        match self {
            SystemControl::Actor { drain, status, .. } => {
                let _ = drain.send(DrainSystem).await;
                status.stopped().await;
            }
            SystemControl::Agent { cohort, rank } => {
                SystemControl::command(cohort, *rank, AgentControl::Stop).await;
            }
        }
    }

    /// Stops and resolves once the system has stopped.
    pub(crate) async fn stop(&self) {
        match self {
            SystemControl::Actor { stop, status, .. } => {
                let _ = stop.send(StopSystem).await;
                status.stopped().await;
            }
            SystemControl::Agent { cohort, rank } => {
                SystemControl::command(cohort, *rank, AgentControl::Stop).await;
            }
        }
    }
}
