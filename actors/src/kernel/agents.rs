//! Docking and undocking a simulation's agents in bulk: one kernel message for a million
//! members, each still a docked system with its own identity, state and lifecycle.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::actor::{KernelActor, Managers, Registration};
use super::audit::Entry;
use super::client::KernelClient;
use super::error::DockError;
use super::lifecycle::{ForgetAll, TrackAll};
use super::state::LifecycleState;
use super::vocabulary::Member;
use crate::activity::Activity;
use crate::capability::RevokeAll;
use crate::ids::SystemId;
use crate::system::SystemControl;

/// Dock agents, all or none.
#[derive(Debug, Message)]
#[rtype(result = "Result<AgentLine, DockError>")]
pub(crate) struct DockAgents {
    /// The agents' ids and the controls the lifecycle manager drives them with.
    pub(crate) agents: Vec<(SystemId, SystemControl)>,
}

/// What docked agents get from the kernel: their member records, in the order they were
/// named, and what their clients are made of.
#[derive(Debug)]
pub(crate) struct AgentLine {
    pub(crate) members: Vec<Arc<Member>>,
    kernel: Addr<KernelActor>,
    managers: Managers,
    timeout: Duration,
}

impl AgentLine {
    /// The kernel client of `member`, counting its requests toward `activity` as agent
    /// `rank`'s.
    pub(crate) fn client(
        &self,
        member: &Arc<Member>,
        activity: &Arc<Activity>,
        rank: u32,
    ) -> KernelClient {
        KernelClient::for_agent(
            Arc::clone(member),
            self.kernel.clone(),
            self.managers.clone(),
            self.timeout,
            (Arc::clone(activity), rank),
        )
    }
}

impl Handler<DockAgents> for KernelActor {
    type Result = Result<AgentLine, DockError>;

    fn handle(&mut self, msg: DockAgents, ctx: &mut Context<Self>) -> Self::Result {
        if self.shutting_down {
            return Err(DockError::ShuttingDown);
        }
        let mut seen = rustc_hash::FxHashSet::default();
        for (id, _) in &msg.agents {
            if self.members.contains_key(id) || !seen.insert(id) {
                return Err(DockError::AlreadyDocked(id.clone()));
            }
        }
        let mut members = Vec::with_capacity(msg.agents.len());
        let mut tracked = Vec::with_capacity(msg.agents.len());
        for (id, control) in msg.agents {
            let member = Arc::new(Member::new(id.clone(), false, self.limits.max_in_flight));
            member.set_state(LifecycleState::Running);
            self.members.insert(
                id,
                Registration {
                    member: Arc::clone(&member),
                    control: Some(control.clone()),
                    granted: Vec::new(),
                    owned: Vec::new(),
                },
            );
            tracked.push((Arc::clone(&member), control));
            members.push(member);
        }
        self.audit.record(
            Entry::new(None, "dock", "simulation", "ok")
                .reason(format!("{} agents docked", members.len())),
        );
        // A synchronous handler cannot wait for the lifecycle manager, and `try_send`
        // could drop the record it must keep: one control message per simulation, to a
        // manager on this arbiter.
        self.managers.lifecycle.do_send(TrackAll(tracked));
        Ok(AgentLine {
            members,
            kernel: ctx.address(),
            managers: self.managers.clone(),
            timeout: self.limits.client_timeout,
        })
    }
}

/// Undock agents in bulk: revoke what they hold, stop controlling them, forget them.
/// Their hosts stop them; the kernel does not wait for each.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub(crate) struct UndockAgents(pub(crate) Vec<SystemId>);

impl Handler<UndockAgents> for KernelActor {
    type Result = usize;

    fn handle(&mut self, UndockAgents(ids): UndockAgents, _: &mut Context<Self>) -> usize {
        let mut gone = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(registration) = self.members.remove(&id) {
                registration.member.set_state(LifecycleState::Stopped);
                // As above: a revocation that must not be dropped, one per undocked agent.
                self.managers.caps.do_send(RevokeAll { holder: id.clone() });
                gone.push(id);
            }
        }
        let count = gone.len();
        self.audit.record(
            Entry::new(None, "undock", "simulation", "ok")
                .reason(format!("{count} agents undocked")),
        );
        // As above: one control message per undock.
        self.managers.lifecycle.do_send(ForgetAll(gone));
        count
    }
}
