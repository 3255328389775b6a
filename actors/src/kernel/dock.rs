//! [`Dock`]: what a system asks for when it docks, and how the kernel docks it:
//! validate everything, then commit, or change nothing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::actor::{KernelActor, Managers, Registration};
use super::audit::Entry;
use super::channels::{ChannelEntry, ErasedChannel, KernelChannel};
use super::client::KernelClient;
use super::desk::{RequestCapability, Serving};
use super::error::{DockError, KernelStopped};
use super::lifecycle::{Controlled, Track};
use super::ports::{describe, Port, Ports, Visibility};
use super::state::LifecycleState;
use super::vocabulary::{Granted, Member};
use super::Docking;
use crate::capability::{OnTable, ResourceRef, RevokeAll, Scope};
use crate::channel::{
    Broadcast, ChannelControl, Mailbox, SubscribeOptions, WorkQueue, WorkerOptions,
};
use crate::ids::{ChannelId, SystemId};
use crate::placement::Placement;
use crate::protocol::{CapabilityRequest, GrantInfo};
use crate::rights::Rights;
use crate::system::{Extension, RestartPolicy, System, SystemActor, SystemRef};

/// Whether a port's channel must carry the system's own message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sends {
    /// Any channel, any payload type.
    Anything,
    /// A broadcast or work queue of `S::Message`.
    Messages,
}

#[derive(Debug, Clone, Copy)]
enum Link {
    Subscribe(SubscribeOptions),
    Worker(WorkerOptions),
    Inbox,
}

type Factory<S> = Box<dyn FnMut() -> S + Send>;

/// How a system docks: its id and state factory, the channels it consumes and publishes
/// to, the channels it owns, and whether it is privileged.
///
/// Every system also gets, without asking, a READ port on `kernel.heartbeat` (the COMMON
/// tier); a privileged one also on `kernel.approvals` and `kernel.audit` (the PRIVILEGED
/// tier), and may
/// issue lifecycle, module and approval requests.
#[must_use = "a dock does nothing until passed to `KernelHandle::dock`"]
pub struct Dock<S: System> {
    id: SystemId,
    factory: Factory<S>,
    links: Vec<(ChannelId, Link)>,
    publish: Vec<(ChannelId, Rights, Sends)>,
    owns: Vec<(Arc<dyn ErasedChannel>, Visibility)>,
    executes: Vec<Arc<str>>,
    privileged: bool,
    tick_every: Option<Duration>,
    restart: RestartPolicy,
    placement: Placement,
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

    /// Consumes its inbox on mailbox `channel` (READ and WRITE, to reply).
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

/// Dock a system.
pub(crate) struct DockSystem<S: System> {
    pub(crate) dock: Dock<S>,
}

impl<S: System> Message for DockSystem<S> {
    type Result = Result<(SystemRef<S>, Docked), DockError>;
}

/// Every grant a dock will make: channel, rights, and how the system uses it.
struct Plan {
    grants: Vec<(ChannelEntry, Rights, Option<Link>)>,
}

impl KernelActor {
    fn lookup<'a>(
        &'a self,
        owned: &'a [ChannelEntry],
        system: &SystemId,
        channel: &ChannelId,
    ) -> Result<&'a ChannelEntry, DockError> {
        owned
            .iter()
            .find(|entry| entry.id() == channel)
            .or_else(|| self.channels.get(channel))
            .ok_or_else(|| DockError::UnknownChannel {
                system: system.clone(),
                channel: channel.clone(),
            })
    }

    /// Validates a dock completely; nothing is changed.
    fn plan<S: System>(&self, dock: &Dock<S>, owned: &[ChannelEntry]) -> Result<Plan, DockError> {
        if self.shutting_down {
            return Err(DockError::ShuttingDown);
        }
        if self.members.contains_key(&dock.id) {
            return Err(DockError::AlreadyDocked(dock.id.clone()));
        }
        for (i, entry) in owned.iter().enumerate() {
            let id = entry.id();
            if self.channels.contains_key(id)
                || self.pending_channels.contains(id)
                || owned[..i].iter().any(|e| e.id() == id)
            {
                return Err(DockError::ChannelCollision {
                    channel: id.clone(),
                });
            }
        }
        let mut grants = Vec::new();
        let common = [(self.kernel_channels.heartbeat_id(), false)];
        let privileged = [
            (self.kernel_channels.approvals_id(), true),
            (self.kernel_channels.audit_id(), true),
        ];
        for (channel, needs_privilege) in common.into_iter().chain(privileged) {
            if !needs_privilege || dock.privileged {
                let entry = self.lookup(owned, &dock.id, &channel)?;
                grants.push((entry.clone(), Rights::READ, None));
            }
        }
        let mut seen: Vec<&ChannelId> = Vec::new();
        let requested = dock
            .links
            .iter()
            .map(|(channel, link)| (channel, Some(*link)))
            .chain(dock.publish.iter().map(|(channel, ..)| (channel, None)));
        for (channel, link) in requested {
            if seen.contains(&channel) {
                return Err(DockError::ChannelCollision {
                    channel: channel.clone(),
                });
            }
            seen.push(channel);
            let entry = self.lookup(owned, &dock.id, channel)?;
            if channel.is_reserved() {
                return Err(DockError::KernelChannel {
                    channel: channel.clone(),
                });
            }
            let rights = match link {
                Some(link) => {
                    check_type::<S::Message>(entry, link)?;
                    match link {
                        Link::Inbox => Rights::READ | Rights::WRITE,
                        _ => Rights::READ,
                    }
                }
                None => {
                    let (_, rights, sends) = dock
                        .publish
                        .iter()
                        .find(|(c, ..)| c == channel)
                        .expect("the channel came from this list");
                    if *sends == Sends::Messages {
                        check_sendable::<S::Message>(entry)?;
                    }
                    *rights
                }
            };
            grants.push((entry.clone(), rights, link));
        }
        for entry in owned {
            if !seen.contains(&entry.id()) {
                grants.push((entry.clone(), Rights::ALL, None));
            }
        }
        for (i, executor) in dock.executes.iter().enumerate() {
            let problem = if dock.executes[..i].contains(executor) {
                Some("it is named twice".to_owned())
            } else {
                ResourceRef::executor(Arc::clone(executor))
                    .validate()
                    .err()
                    .map(|e| e.to_string())
            };
            if let Some(problem) = problem {
                return Err(DockError::Executor {
                    executor: executor.to_string(),
                    problem,
                });
            }
        }
        Ok(Plan { grants })
    }
}

fn check_sendable<T: Send + Sync + 'static>(entry: &ChannelEntry) -> Result<(), DockError> {
    if entry.typed::<Broadcast<T>>().is_some() || entry.typed::<WorkQueue<T>>().is_some() {
        return Ok(());
    }
    let payload = std::any::type_name::<T>();
    Err(DockError::WrongType {
        channel: entry.id().clone(),
        expected: format!("broadcast or work queue of {payload}"),
        actual: entry.channel.describes(),
    })
}

fn check_type<T: Send + Sync + 'static>(entry: &ChannelEntry, link: Link) -> Result<(), DockError> {
    let (fits, kind) = match link {
        Link::Subscribe(_) => (entry.typed::<Broadcast<T>>().is_some(), "broadcast"),
        Link::Worker(_) => (entry.typed::<WorkQueue<T>>().is_some(), "work queue"),
        Link::Inbox => (entry.typed::<Mailbox<T>>().is_some(), "mailbox"),
    };
    if fits {
        return Ok(());
    }
    Err(DockError::WrongType {
        channel: entry.id().clone(),
        expected: describe(kind, std::any::type_name::<T>()),
        actual: entry.channel.describes(),
    })
}

impl<S: System> Handler<DockSystem<S>> for KernelActor {
    type Result = ResponseActFuture<Self, Result<(SystemRef<S>, Docked), DockError>>;

    fn handle(&mut self, msg: DockSystem<S>, ctx: &mut Context<Self>) -> Self::Result {
        let Dock {
            id,
            factory,
            links,
            publish,
            owns,
            executes,
            privileged,
            tick_every,
            restart,
            placement,
        } = msg.dock;
        let owned: Vec<ChannelEntry> = owns
            .into_iter()
            .map(|(channel, visibility)| ChannelEntry {
                channel,
                owner: Some(id.clone()),
                visibility,
            })
            .collect();
        let dock = Dock {
            id: id.clone(),
            factory,
            links,
            publish,
            owns: Vec::new(),
            executes,
            privileged,
            tick_every,
            restart,
            placement,
        };
        let plan = match self.plan(&dock, &owned) {
            Ok(plan) => plan,
            Err(error) => {
                self.audit.record(
                    Entry::new(None, "dock", id.as_str(), "denied").reason(error.to_string()),
                );
                stop_channels(&owned);
                return Box::pin(fut::ready(Err(error)));
            }
        };
        if privileged {
            // It will read kernel.audit.
            self.audit.watch();
        }
        // Reserve the id and the owned channel ids while the grants are made.
        let member = Arc::new(Member::new(
            id.clone(),
            privileged,
            self.limits.max_in_flight,
        ));
        self.members.insert(
            id.clone(),
            Registration {
                member: Arc::clone(&member),
                control: None,
                granted: Vec::new(),
                owned: Vec::new(),
            },
        );
        self.pending_channels
            .extend(owned.iter().map(|e| e.id().clone()));
        let client = KernelClient::new(
            Arc::clone(&member),
            ctx.address(),
            self.managers.clone(),
            self.limits.client_timeout,
        );
        let tracked = Tracked {
            managers: self.managers.clone(),
            member: Arc::clone(&member),
            owned: owned.iter().map(|e| e.channel.control().clone()).collect(),
        };
        let work = build(dock, plan, client, tracked);
        Box::pin(work.into_actor(self).map(move |built, act, _| {
            for entry in &owned {
                act.pending_channels.remove(entry.id());
            }
            match built {
                Ok(Built {
                    system,
                    granted,
                    capabilities,
                    docking,
                }) => {
                    for entry in &owned {
                        act.channels.insert(entry.id().clone(), entry.clone());
                    }
                    let report = Docked {
                        channels: granted.clone(),
                        capabilities,
                        docking,
                    };
                    if let Some(registration) = act.members.get_mut(&id) {
                        registration.control = Some(system.control());
                        registration.granted = granted;
                        registration.owned = owned.iter().map(|e| e.id().clone()).collect();
                    }
                    act.audit
                        .record(Entry::new(None, "dock", id.as_str(), "ok").reason(
                            if privileged {
                                "docked privileged"
                            } else {
                                "docked"
                            },
                        ));
                    Ok((system, report))
                }
                Err(error) => {
                    act.members.remove(&id);
                    member.set_state(LifecycleState::Stopped);
                    stop_channels(&owned);
                    act.audit.record(
                        Entry::new(None, "dock", id.as_str(), "denied").reason(error.to_string()),
                    );
                    Err(error)
                }
            }
        }))
    }
}

fn stop_channels(owned: &[ChannelEntry]) {
    for entry in owned {
        let control = entry.channel.control().clone();
        actix::spawn(async move {
            control.stop().await;
        });
    }
}

/// What the kernel needs to finish a dock off its own actor: the lifecycle manager to
/// hand the system to, the capability desk for its initial capabilities.
struct Tracked {
    managers: Managers,
    member: Arc<Member>,
    owned: Vec<ChannelControl>,
}

/// A system built and handed to the lifecycle manager.
struct Built<S: System> {
    system: SystemRef<S>,
    granted: Vec<ChannelId>,
    capabilities: Vec<GrantInfo>,
    docking: Arc<Docking>,
}

/// What a dock gave a system, besides its handle.
#[derive(Debug, Clone)]
pub(crate) struct Docked {
    /// The channels it was granted, kernel channels included.
    pub(crate) channels: Vec<ChannelId>,
    /// Its initial capabilities.
    pub(crate) capabilities: Vec<GrantInfo>,
    /// What its host holds: client, ports, initial capabilities.
    pub(crate) docking: Arc<Docking>,
}

/// Makes the grants, spawns the system and hands it to the lifecycle manager; on
/// failure takes back every grant made.
async fn build<S: System>(
    dock: Dock<S>,
    plan: Plan,
    client: KernelClient,
    tracked: Tracked,
) -> Result<Built<S>, DockError> {
    let id = dock.id.clone();
    let mut granted: Vec<ChannelEntry> = Vec::new();
    let mut ports = Ports::default();
    let mut builder = SystemActor::builder(id.clone(), dock.factory)
        .restart(dock.restart)
        .placement(dock.placement);
    if let Some(every) = dock.tick_every {
        builder = builder.tick_every(every);
    }
    let mut failure = None;
    for (entry, rights, link) in plan.grants {
        let port: Result<Port, _> = entry.channel.grant(id.clone(), rights).await;
        let port = match port {
            Ok(port) => port,
            Err(error) => {
                failure = Some(DockError::Grant {
                    channel: entry.id().clone(),
                    error,
                });
                break;
            }
        };
        granted.push(entry.clone());
        builder = match link {
            Some(Link::Subscribe(options)) => builder.subscribe(typed(port), options),
            Some(Link::Worker(options)) => builder.worker(typed(port), options),
            Some(Link::Inbox) => builder.inbox(typed(port)),
            None => {
                ports.insert(entry.id().clone(), port, entry.visibility);
                builder
            }
        };
    }
    let mut capabilities = Vec::new();
    if failure.is_none() {
        for executor in &dock.executes {
            let request = CapabilityRequest::new(
                Scope::Exact(ResourceRef::executor(Arc::clone(executor))),
                Rights::EXECUTE,
            );
            let initial = tracked.managers.caps.send(OnTable(RequestCapability {
                caller: Arc::clone(&tracked.member),
                request,
                serving: Serving::Docking,
                desk: Arc::clone(&tracked.managers.desk),
            }));
            match initial.await.unwrap_or_else(|_| Err(KernelStopped.into())) {
                Ok(granted) => capabilities.push(granted),
                Err(error) => {
                    failure = Some(DockError::Capability {
                        executor: executor.to_string(),
                        error: Box::new(error),
                    });
                    break;
                }
            }
        }
    }
    let infos: Vec<GrantInfo> = capabilities.iter().map(Granted::info).collect();
    // Running from the moment it can first ask: only the system itself holds its client,
    // so nothing is served before its `started` hook runs. A failed dock stops it.
    if failure.is_none() {
        tracked
            .member
            .transition(LifecycleState::Docked, LifecycleState::Running);
    }
    let docking = Arc::new(Docking::new(client, ports, capabilities));
    let spawned = match failure {
        Some(error) => Err(error),
        None => builder
            .extension(Arc::clone(&docking) as Arc<Extension>)
            .spawn()
            .await
            .map_err(DockError::from),
    };
    let managers = tracked.managers;
    let tracked = match spawned {
        Ok(system) => {
            let track = Track(Controlled {
                member: tracked.member,
                control: system.control(),
                owned: tracked.owned,
            });
            match managers.lifecycle.send(track).await {
                Ok(()) => Ok(system),
                Err(_) => {
                    system.stop().await;
                    Err(DockError::Stopped(KernelStopped))
                }
            }
        }
        Err(error) => Err(error),
    };
    match tracked {
        Ok(system) => Ok(Built {
            system,
            granted: granted.iter().map(|e| e.id().clone()).collect(),
            capabilities: infos,
            docking,
        }),
        Err(error) => {
            if !infos.is_empty() {
                let _ = managers.caps.send(RevokeAll { holder: id.clone() }).await;
            }
            for entry in granted {
                entry.channel.control().revoke(&id).await;
            }
            Err(error)
        }
    }
}

/// The typed handle inside a port whose type the plan checked.
fn typed<H: 'static>(port: Port) -> H {
    *port
        .handle
        .downcast::<H>()
        .unwrap_or_else(|_| unreachable!("the dock plan checked the channel's type"))
}
