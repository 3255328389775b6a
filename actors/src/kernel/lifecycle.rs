//! [`LifecycleActor`]: pause, resume, revoke and drain docked systems along the
//! transitions [`LifecycleState`] allows.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxHashMap;

use super::audit::{Audit, Entry};
use super::error::{GovernanceError, KernelStopped};
use super::state::LifecycleState;
use super::vocabulary::{require_privileged, Caller, Member};
use crate::capability::{CapabilityActor, RevokeAll};
use crate::channel::ChannelControl;
use crate::ids::SystemId;
use crate::protocol::{LifecycleCommand, LifecycleRequest};
use crate::system::SystemControl;

/// How long a drain may take when the command names no timeout.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A docked system as the lifecycle manager controls it.
#[derive(Debug, Clone)]
pub(crate) struct Controlled {
    pub(crate) member: Arc<Member>,
    pub(crate) control: SystemControl,
    pub(crate) owned: Vec<ChannelControl>,
}

/// Applies lifecycle commands. The new state is set when the command is handled, before
/// its effects finish, so every governance request handled after it sees it; a drain
/// runs in the background and its requester is answered when it ends.
pub(crate) struct LifecycleActor {
    caps: Addr<CapabilityActor>,
    audit: Audit,
    systems: FxHashMap<SystemId, Controlled>,
}

impl std::fmt::Debug for LifecycleActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LifecycleActor")
            .field("systems", &self.systems.len())
            .finish()
    }
}

impl LifecycleActor {
    pub(crate) fn new(caps: Addr<CapabilityActor>, audit: Audit) -> LifecycleActor {
        LifecycleActor {
            caps,
            audit,
            systems: FxHashMap::default(),
        }
    }
}

impl Actor for LifecycleActor {
    type Context = Context<Self>;
}

/// Start controlling a docked system.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Track(pub(crate) Controlled);

impl Handler<Track> for LifecycleActor {
    type Result = ();

    fn handle(&mut self, Track(controlled): Track, _: &mut Context<Self>) {
        self.systems
            .insert(controlled.member.id.clone(), controlled);
    }
}

/// Stop controlling an undocked system.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Forget(pub(crate) SystemId);

impl Handler<Forget> for LifecycleActor {
    type Result = ();

    fn handle(&mut self, Forget(id): Forget, _: &mut Context<Self>) {
        self.systems.remove(&id);
    }
}

/// Start controlling a simulation's agents.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct TrackAll(pub(crate) Vec<(Arc<Member>, SystemControl)>);

impl Handler<TrackAll> for LifecycleActor {
    type Result = ();

    fn handle(&mut self, TrackAll(agents): TrackAll, _: &mut Context<Self>) {
        self.systems.reserve(agents.len());
        for (member, control) in agents {
            let controlled = Controlled {
                member,
                control,
                owned: Vec::new(),
            };
            self.systems
                .insert(controlled.member.id.clone(), controlled);
        }
    }
}

/// Stop controlling a simulation's undocked agents.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct ForgetAll(pub(crate) Vec<SystemId>);

impl Handler<ForgetAll> for LifecycleActor {
    type Result = ();

    fn handle(&mut self, ForgetAll(ids): ForgetAll, _: &mut Context<Self>) {
        for id in &ids {
            self.systems.remove(id);
        }
    }
}

/// A lifecycle command, from a privileged system or (`caller: None`) the embedding
/// program. Answers the system's state once the command has taken effect.
#[derive(Debug, Message)]
#[rtype(result = "Result<LifecycleState, GovernanceError>")]
pub(crate) struct Command {
    pub(crate) caller: Option<Caller>,
    pub(crate) request: LifecycleRequest,
}

impl Command {
    pub(crate) fn new(
        caller: Option<Caller>,
        command: LifecycleCommand,
        system: SystemId,
        timeout: Option<Duration>,
    ) -> Command {
        Command {
            caller,
            request: LifecycleRequest {
                command,
                system_id: system,
                timeout,
            },
        }
    }
}

impl Handler<Command> for LifecycleActor {
    type Result = ResponseFuture<Result<LifecycleState, GovernanceError>>;

    fn handle(&mut self, msg: Command, _: &mut Context<Self>) -> Self::Result {
        let Command { caller, request } = msg;
        let audit = self.audit.clone();
        let entry = Entry::new(
            caller.as_ref().map(|c| &c.id),
            "lifecycle_command",
            format!("{} {}", request.command.as_str(), request.system_id),
            "ok",
        );
        let started = self.start(caller.as_deref(), &request);
        Box::pin(async move {
            let outcome = match started {
                Ok(effect) => effect.await,
                Err(error) => Err(error),
            };
            audit.record(match &outcome {
                Ok(state) => entry.reason(format!("now {state}")),
                Err(error) => Entry {
                    decision: "error",
                    ..entry.reason(error.to_string())
                },
            });
            outcome
        })
    }
}

type Effect =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<LifecycleState, GovernanceError>>>>;

impl LifecycleActor {
    /// Checks the command and moves the state at once; returns the effects to await.
    fn start(
        &mut self,
        caller: Option<&Member>,
        request: &LifecycleRequest,
    ) -> Result<Effect, GovernanceError> {
        if let Some(caller) = caller {
            require_privileged(caller, "a lifecycle command")?;
        }
        request.validate()?;
        let target = self
            .systems
            .get(&request.system_id)
            .ok_or_else(|| GovernanceError::UnknownSystem(request.system_id.clone()))?
            .clone();
        let from = target.member.state();
        let to = from
            .after(request.command)
            .ok_or_else(|| GovernanceError::Transition {
                system: request.system_id.clone(),
                command: request.command.as_str(),
                state: from,
            })?;
        target.member.set_state(to);
        let Controlled {
            member,
            control,
            owned,
        } = target;
        Ok(match request.command {
            LifecycleCommand::Pause => Box::pin(async move {
                control.set_paused(true).await;
                Ok(LifecycleState::Paused)
            }),
            LifecycleCommand::Resume => Box::pin(async move {
                control.set_paused(false).await;
                Ok(LifecycleState::Running)
            }),
            LifecycleCommand::Revoke => {
                // Sent now, so it reaches the capability table before any grant or check
                // for this system that is handled after this command.
                let revoked = self.caps.send(RevokeAll {
                    holder: member.id.clone(),
                });
                Box::pin(async move {
                    revoked.await.map_err(|_| KernelStopped)?;
                    control.revoked().await;
                    Ok(LifecycleState::Revoked)
                })
            }
            LifecycleCommand::Drain => {
                let timeout = request.timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT);
                Box::pin(drain(member, control, owned, timeout))
            }
        })
    }
}

/// Drains a system and the channels it owns, within `timeout`.
async fn drain(
    member: Arc<Member>,
    control: SystemControl,
    owned: Vec<ChannelControl>,
    timeout: Duration,
) -> Result<LifecycleState, GovernanceError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let work = async {
        control.drain().await;
        for channel in &owned {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            channel.drain(left).await;
        }
    };
    let finished = tokio::time::timeout_at(deadline, work).await.is_ok();
    let state = if finished {
        LifecycleState::Drained
    } else {
        control.stop().await;
        LifecycleState::DrainFailed
    };
    // An undock during the drain has the last word.
    member.transition(LifecycleState::Draining, state);
    if finished {
        Ok(member.state())
    } else {
        Err(GovernanceError::DrainTimedOut {
            system: member.id.clone(),
            timeout,
        })
    }
}
