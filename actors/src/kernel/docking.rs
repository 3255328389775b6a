//! How the kernel docks a system ([`DockSystem`]): validate everything, then commit, or
//! change nothing.

use std::sync::Arc;

use actix::prelude::*;

use super::actor::{KernelActor, Managers, Registration};
use super::audit::Entry;
use super::channels::ChannelEntry;
use super::client::KernelClient;
use super::desk::{RequestCapability, Serving};
use super::dock::{Dock, Link, Sends};
use super::error::{DockError, KernelStopped};
use super::extension::Docking;
use super::lifecycle::{Controlled, Track};
use super::ports::{describe, Port, Ports};
use super::state::LifecycleState;
use super::vocabulary::{Granted, Member};
use crate::capability::{CapabilityActor, OnTable, ResourceRef, RevokeAll, Scope};
use crate::channel::{Broadcast, ChannelControl, Mailbox, MailboxHandle, WorkQueue};
use crate::ids::{ChannelId, SystemId};
use crate::protocol::{CapabilityRequest, GrantInfo};
use crate::rights::Rights;
use crate::system::{Extension, System, SystemActor, SystemRef};

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
            // A system may publish to the mailbox it reads its inbox from: one grant
            // with both rights, its handle both the host's inbox and a port.
            let inbox_grant = grants.iter().position(|(e, _, l)| {
                link.is_none() && e.id() == channel && matches!(l, Some(Link::Inbox))
            });
            if seen.contains(&channel) && inbox_grant.is_none() {
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
            match inbox_grant {
                Some(index) => grants[index].1 |= rights,
                None => grants.push((entry.clone(), rights, link)),
            }
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
        let mut dock = msg.dock;
        let (id, privileged) = (dock.id.clone(), dock.privileged);
        let owned: Vec<ChannelEntry> = std::mem::take(&mut dock.owns)
            .into_iter()
            .map(|(channel, visibility)| ChannelEntry {
                channel,
                owner: Some(id.clone()),
                visibility,
            })
            .collect();
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
    let mut undo = Undo {
        id: dock.id.clone(),
        caps: tracked.managers.caps.clone(),
        granted: Vec::new(),
        capabilities: false,
    };
    let built = wire(dock, plan, client, tracked, &mut undo).await;
    if built.is_err() {
        undo.run().await;
    }
    built
}

/// What a dock in progress has handed out, to take back if it fails.
struct Undo {
    id: SystemId,
    caps: Addr<CapabilityActor>,
    granted: Vec<ChannelEntry>,
    capabilities: bool,
}

impl Undo {
    async fn run(self) {
        if self.capabilities {
            let _ = self
                .caps
                .send(RevokeAll {
                    holder: self.id.clone(),
                })
                .await;
        }
        for entry in self.granted {
            entry.channel.control().revoke(&self.id).await;
        }
    }
}

/// The steps of [`build`], each recorded in `undo` as it is taken.
async fn wire<S: System>(
    dock: Dock<S>,
    plan: Plan,
    client: KernelClient,
    tracked: Tracked,
    undo: &mut Undo,
) -> Result<Built<S>, DockError> {
    let id = dock.id.clone();
    let mut ports = Ports::default();
    let mut builder = SystemActor::builder(id.clone(), dock.factory)
        .restart(dock.restart)
        .placement(dock.placement);
    if let Some(every) = dock.tick_every {
        builder = builder.tick_every(every);
    }
    for (entry, rights, link) in plan.grants {
        let port = entry
            .channel
            .grant(id.clone(), rights)
            .await
            .map_err(|error| DockError::Grant {
                channel: entry.id().clone(),
                error,
            })?;
        undo.granted.push(entry.clone());
        builder = match link {
            Some(Link::Subscribe(options)) => builder.subscribe(typed(port), options),
            Some(Link::Worker(options)) => builder.worker(typed(port), options),
            Some(Link::Inbox) => {
                let inbox = typed_ref::<MailboxHandle<S::Message>>(&port).clone();
                ports.insert(entry.id().clone(), port, entry.visibility);
                builder.inbox(inbox)
            }
            None => {
                ports.insert(entry.id().clone(), port, entry.visibility);
                builder
            }
        };
    }
    let mut capabilities = Vec::new();
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
        undo.capabilities = true;
        let granted = initial
            .await
            .unwrap_or_else(|_| Err(KernelStopped.into()))
            .map_err(|error| DockError::Capability {
                executor: executor.to_string(),
                error: Box::new(error),
            })?;
        capabilities.push(granted);
    }
    let infos: Vec<GrantInfo> = capabilities.iter().map(Granted::info).collect();
    // Running from the moment it can first ask: only the system itself holds its client,
    // so nothing is served before its `started` hook runs. A failed dock stops it.
    tracked
        .member
        .transition(LifecycleState::Docked, LifecycleState::Running);
    let docking = Arc::new(Docking::new(client, ports, capabilities));
    let system = builder
        .extension(Arc::clone(&docking) as Arc<Extension>)
        .spawn()
        .await?;
    let track = Track(Controlled {
        member: tracked.member,
        control: system.control(),
        owned: tracked.owned,
    });
    if tracked.managers.lifecycle.send(track).await.is_err() {
        system.stop().await;
        return Err(DockError::Stopped(KernelStopped));
    }
    Ok(Built {
        system,
        granted: undo.granted.iter().map(|e| e.id().clone()).collect(),
        capabilities: infos,
        docking,
    })
}

/// The typed handle inside a port whose type the plan checked, borrowed.
fn typed_ref<H: 'static>(port: &Port) -> &H {
    port.handle
        .downcast_ref::<H>()
        .unwrap_or_else(|| unreachable!("the dock plan checked the channel's type"))
}

/// The typed handle inside a port whose type the plan checked, taken out of it.
fn typed<H: 'static>(port: Port) -> H {
    *port
        .handle
        .downcast::<H>()
        .unwrap_or_else(|_| unreachable!("the dock plan checked the channel's type"))
}
