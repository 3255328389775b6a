//! Undock (a full teardown), snapshots and shutdown.

use actix::prelude::*;
use serde::Serialize;

use super::actor::KernelActor;
use super::audit::Entry;
use super::error::UndockError;
use super::lifecycle::Forget;
use super::state::LifecycleState;
use crate::capability::RevokeAll;
use crate::ids::SystemId;

/// Undock a system.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), UndockError>")]
pub(crate) struct Undock(pub(crate) SystemId);

impl Handler<Undock> for KernelActor {
    type Result = ResponseFuture<Result<(), UndockError>>;

    fn handle(&mut self, Undock(id): Undock, _: &mut Context<Self>) -> Self::Result {
        let Some(registration) = self.members.get(&id) else {
            return Box::pin(std::future::ready(Err(UndockError::NotDocked(id))));
        };
        if registration.control.is_none() {
            // Still being docked: the dock finishes or fails first.
            return Box::pin(std::future::ready(Err(UndockError::NotDocked(id))));
        }
        let registration = self.members.remove(&id).expect("checked above");
        // Stopped first: from here on every governance request of the system is denied.
        registration.member.set_state(LifecycleState::Stopped);
        let revoked = self.managers.caps.send(RevokeAll { holder: id.clone() });
        let forgotten = self.managers.lifecycle.send(Forget(id.clone()));
        let granted: Vec<_> = registration
            .granted
            .iter()
            .filter_map(|channel| self.channels.get(channel))
            .map(|entry| entry.channel.control().clone())
            .collect();
        let owned: Vec<_> = registration
            .owned
            .iter()
            .filter_map(|channel| self.channels.remove(channel))
            .map(|entry| entry.channel.control().clone())
            .collect();
        let audit = self.audit.clone();
        Box::pin(async move {
            let revoked = revoked.await.unwrap_or(0);
            let _ = forgotten.await;
            for channel in &granted {
                channel.revoke(&id).await;
            }
            if let Some(control) = &registration.control {
                control.stop().await;
            }
            for channel in &owned {
                channel.stop().await;
            }
            audit.record(
                Entry::new(None, "undock", id.as_str(), "ok").reason(format!(
                    "{revoked} capabilities revoked, {} grants and {} owned channels removed",
                    granted.len(),
                    owned.len()
                )),
            );
            Ok(())
        })
    }
}

/// A docked system, as a snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SystemEntry {
    /// The system.
    pub id: SystemId,
    /// Its lifecycle state.
    pub state: LifecycleState,
    /// Docked privileged.
    pub privileged: bool,
    /// Channels granted to it.
    pub channels: Vec<String>,
    /// Channels it owns.
    pub owns: Vec<String>,
}

/// A registered channel, as a snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChannelEntryInfo {
    /// The channel.
    pub id: String,
    /// Its kind and payload type.
    pub describes: String,
    /// The system that owns it; `None` for the kernel or the embedding program.
    pub owner: Option<SystemId>,
    /// Its visibility.
    pub visibility: super::Visibility,
}

/// The constellation at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The kernel's id.
    pub kernel_id: String,
    /// Docked systems, by id.
    pub systems: Vec<SystemEntry>,
    /// Registered channels, by id (the kernel's own included).
    pub channels: Vec<ChannelEntryInfo>,
}

/// Take a snapshot.
#[derive(Debug, Message)]
#[rtype(result = "Snapshot")]
pub(crate) struct TakeSnapshot;

impl Handler<TakeSnapshot> for KernelActor {
    type Result = MessageResult<TakeSnapshot>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) -> Self::Result {
        let names = |ids: &[crate::ids::ChannelId]| ids.iter().map(|c| c.to_string()).collect();
        MessageResult(Snapshot {
            kernel_id: self.id.to_string(),
            systems: self
                .members
                .values()
                .map(|r| SystemEntry {
                    id: r.member.id.clone(),
                    state: r.member.state(),
                    privileged: r.member.privileged,
                    channels: names(&r.granted),
                    owns: names(&r.owned),
                })
                .collect(),
            channels: self
                .channels
                .values()
                .map(|e| ChannelEntryInfo {
                    id: e.id().to_string(),
                    describes: e.channel.describes(),
                    owner: e.owner.clone(),
                    visibility: e.visibility,
                })
                .collect(),
        })
    }
}

/// Stop docking, undock everything, stop the kernel's channels.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

impl Handler<Shutdown> for KernelActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        self.shutting_down = true;
        let me = ctx.address();
        let ids: Vec<SystemId> = self.members.keys().cloned().collect();
        let channels: Vec<_> = self
            .channels
            .values()
            .filter(|e| e.owner.is_none())
            .map(|e| e.channel.control().clone())
            .collect();
        let audit = self.audit.clone();
        Box::pin(
            async move {
                for id in ids {
                    let _ = me.send(Undock(id)).await;
                }
                for channel in channels {
                    channel.stop().await;
                }
                audit.flush();
            }
            .into_actor(self)
            .map(|(), _, ctx| ctx.stop()),
        )
    }
}
