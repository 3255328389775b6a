//! [`Round`]: what an agent's hook sees of its simulation — the round's number, the other
//! agents, and sends to them — and [`Mailer`], the same sends from a spawned future.

use std::any::Any;
use std::cell::OnceCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use super::error::SendError;
use super::world::{Counters, Posted, Presence, World};
use crate::envelope::Outgoing;
use crate::ids::SystemId;
use crate::kernel::{Docking, LifecycleState, Ports};
use crate::rights::Rights;
use crate::system::{AgentRng, Extension, SharedHost, System, SystemContext};

/// An agent's round, from [`SystemContext::simulation`]: the round's number, who the
/// other agents are, and sends to them.
///
/// A send is stamped with the agent's id, the simulation's channel, the sender's own
/// send count as its seq and the virtual clock as its time; it is refused unless the agent
/// is running (a paused, revoked or stopped agent sends nothing) and holds WRITE on the
/// simulation. In lockstep mode it is delivered in the next round.
///
/// [`SystemContext::simulation`]: crate::system::SystemContext::simulation
pub struct Round<M> {
    pub(crate) number: u64,
    pub(crate) rank: u32,
    pub(crate) presence: Presence,
    pub(crate) world: Arc<World<M>>,
    /// The agent's own generator and docking, moved in for its hook.
    pub(crate) rng: AgentRng,
    pub(crate) docking: OnceCell<Box<Docking>>,
    pub(crate) outbox: Outbox<M>,
}

impl<M> fmt::Debug for Round<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Round")
            .field("number", &self.number)
            .field("agent", &self.world.ids[self.rank as usize])
            .finish()
    }
}

impl<M: Send + Sync + 'static> Round<M> {
    /// The round's number: 1 for the first.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// How many agents the simulation has.
    pub fn agents(&self) -> usize {
        self.world.agents()
    }

    /// This agent's index: its place among the agents' ids, in order.
    pub fn index(&self) -> usize {
        self.rank as usize
    }

    /// The index of an agent drawn uniformly at random (this one included), from this
    /// agent's generator.
    pub fn random_agent(&mut self) -> usize {
        let agents = self.world.agents() as u64;
        self.rng.below(agents) as usize
    }

    /// The id of agent `index`.
    pub fn id_of(&self, index: usize) -> Option<&SystemId> {
        self.world.ids.get(index)
    }

    /// The index of the agent with id `id`.
    pub fn index_of(&self, id: &SystemId) -> Option<usize> {
        self.world.ids.binary_search(id).ok()
    }

    /// Sends `msg` to agent `index`.
    pub fn send(&mut self, index: usize, msg: impl Into<Outgoing<M>>) -> Result<(), SendError> {
        if self.presence != Presence::Running {
            return Err(self.not_running());
        }
        let posted = stamp(&self.world, self.rank, self.number, index, msg.into())?;
        self.outbox.by_cohort[self.world.cohort_of(posted.to)].push(posted);
        self.outbox.sent += 1;
        Ok(())
    }

    #[cold]
    fn not_running(&self) -> SendError {
        let member = &self.world.line().members[self.rank as usize];
        SendError::NotRunning {
            system: member.id.clone(),
            state: member.state(),
        }
    }

    /// Sends `msg` to the agent with id `id`.
    pub fn send_to(&mut self, id: &SystemId, msg: impl Into<Outgoing<M>>) -> Result<(), SendError> {
        let index = self
            .index_of(id)
            .ok_or_else(|| SendError::UnknownId(id.clone()))?;
        self.send(index, msg)
    }

    /// A mailer for this agent's sends from a future it spawns.
    pub fn mailer(&self) -> Mailer<M> {
        Mailer {
            world: Arc::clone(&self.world),
            rank: self.rank,
        }
    }

    /// This agent's generator (the one [`SystemContext::rng`] hands out).
    ///
    /// [`SystemContext::rng`]: crate::system::SystemContext::rng
    pub fn rng(&mut self) -> &mut AgentRng {
        &mut self.rng
    }

    /// The agent's docking, made the first time it is asked for: most agents of a large
    /// simulation never make a governance request, and a client costs a few words.
    fn docking(&self) -> &Docking {
        let (world, rank) = (&self.world, self.rank);
        self.docking.get_or_init(|| {
            let line = world.line();
            let client = line.client(&line.members[rank as usize], &world.activity, rank);
            Box::new(Docking::new(client, Ports::default(), Vec::new()))
        })
    }
}

impl<M: Send + Sync + 'static> SharedHost for Round<M> {
    fn spawn(&mut self, work: Pin<Box<dyn Future<Output = ()>>>) {
        let busy = self.world.activity.enter_for(self.rank);
        actix::spawn(async move {
            work.await;
            drop(busy);
        });
    }

    fn rng(&mut self) -> &mut AgentRng {
        &mut self.rng
    }

    fn now(&self) -> SystemTime {
        self.world.now(self.number)
    }

    fn extension(&self) -> Option<&Extension> {
        Some(self.docking())
    }
}

/// What a hook of a simulation's agent reaches through its shared host.
impl<S: System> SystemContext<'_, S> {
    /// The round this hook runs in, when the system is an agent of a simulation: its
    /// number, the other agents, and sends to them. `None` for a system actor.
    pub fn simulation(&mut self) -> Option<&mut Round<S::Message>> {
        let host: &mut dyn Any = self.shared_host()?;
        host.downcast_mut()
    }
}

/// A cohort pass's sends, by destination cohort; handed to the mail when the pass ends.
pub(crate) struct Outbox<M> {
    pub(crate) by_cohort: Vec<Vec<Posted<M>>>,
    pub(crate) sent: u64,
}

/// Sends of one agent from a future it spawned in a round: cheap to clone, `Send`.
/// Stamped and checked as [`Round::send`]; in lockstep mode delivered in the next round
/// (the round does not end before the future does). A future's sends come after its
/// agent's hook sends of that round; two futures of one agent that send in the same
/// round are ordered by when they ran, which scheduling decides.
pub struct Mailer<M> {
    world: Arc<World<M>>,
    rank: u32,
}

impl<M> Clone for Mailer<M> {
    fn clone(&self) -> Self {
        Mailer {
            world: Arc::clone(&self.world),
            rank: self.rank,
        }
    }
}

impl<M> fmt::Debug for Mailer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("agent", &self.world.ids[self.rank as usize])
            .finish()
    }
}

impl<M: Send + Sync + 'static> Mailer<M> {
    /// Sends `msg` to agent `index`.
    pub fn send(&self, index: usize, msg: impl Into<Outgoing<M>>) -> Result<(), SendError> {
        let world = &self.world;
        let member = &world.line().members[self.rank as usize];
        let state = member.state();
        if state != LifecycleState::Running {
            return Err(SendError::NotRunning {
                system: member.id.clone(),
                state,
            });
        }
        let posted = stamp(world, self.rank, world.round(), index, msg.into())?;
        let destination = world.cohort_of(posted.to);
        world.post(world.cohort_of(self.rank), destination, &mut vec![posted]);
        Counters::add(&world.counters.sent, 1);
        Ok(())
    }
}

/// Checks the rights of agent `rank`, its state checked, and stamps its send in round
/// `round`.
fn stamp<M>(
    world: &World<M>,
    rank: u32,
    round: u64,
    index: usize,
    outgoing: Outgoing<M>,
) -> Result<Posted<M>, SendError> {
    let sender = &world.ids[rank as usize];
    if !world.rights.contains(Rights::WRITE) {
        return Err(SendError::NotPermitted {
            system: sender.clone(),
            channel: world.channel.clone(),
        });
    }
    if index >= world.agents() {
        return Err(SendError::UnknownAgent {
            index,
            agents: world.agents(),
        });
    }
    Ok(Posted {
        from: rank,
        to: index as u32,
        seq: world.next_seq(rank),
        sent_at: world.clock_nanos(round),
        outgoing,
    })
}
