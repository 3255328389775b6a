//! [`SimulationBuilder`]: how many agents, on how many arbiters, with which seed, clock
//! and delivery.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::Actor;

use super::cohort::{AgentFactory, Cohort, Halt, Populate, NO_HOOK};
use super::driver::Simulation;
use super::error::SimulationError;
use super::world::{Layout, Schedule, World};
use crate::ids::{ChannelId, SystemId};
use crate::kernel::KernelHandle;
use crate::placement::ArbiterPool;
use crate::rights::Rights;
use crate::system::{System, SystemControl};

/// How long a round may take to become quiescent when the builder names no bound.
pub const DEFAULT_QUIESCENCE_BOUND: Duration = Duration::from_secs(60);

/// Where the cohorts run.
enum Arbiters {
    /// A pool of this many arbiters of the simulation's own, stopped with it.
    Own(usize),
    /// A pool the program keeps.
    Shared(ArbiterPool),
}

/// Builds a [`Simulation`]; from [`Simulation::builder`].
#[must_use = "a builder does nothing until started"]
pub struct SimulationBuilder<S: System> {
    kernel: KernelHandle,
    factory: AgentFactory<S>,
    agents: usize,
    seed: u64,
    arbiters: Arbiters,
    schedule: Schedule,
    round_length: Duration,
    epoch: SystemTime,
    bound: Duration,
    prefix: String,
    channel: Option<ChannelId>,
    rights: Rights,
    marker: PhantomData<fn() -> S>,
}

impl<S: System> fmt::Debug for SimulationBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulationBuilder")
            .field("agents", &self.agents)
            .field("seed", &self.seed)
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl<S: System> Simulation<S> {
    /// A builder for a simulation on `kernel` whose agent `i` is `factory(i)`. The factory
    /// runs on the agent's arbiter (so `S` need not be `Send`), once per agent and again
    /// whenever the agent panics.
    pub fn builder(
        kernel: &KernelHandle,
        factory: impl Fn(usize) -> S + Send + Sync + 'static,
    ) -> SimulationBuilder<S> {
        SimulationBuilder::new(kernel, factory)
    }
}

impl<S: System> SimulationBuilder<S> {
    fn new(
        kernel: &KernelHandle,
        factory: impl Fn(usize) -> S + Send + Sync + 'static,
    ) -> SimulationBuilder<S> {
        SimulationBuilder {
            kernel: kernel.clone(),
            factory: Arc::new(factory),
            agents: 0,
            seed: 0,
            arbiters: Arbiters::Own(1),
            schedule: Schedule::Lockstep,
            round_length: Duration::from_secs(1),
            epoch: SystemTime::UNIX_EPOCH,
            bound: DEFAULT_QUIESCENCE_BOUND,
            prefix: "agent".to_owned(),
            channel: None,
            rights: Rights::READ | Rights::WRITE,
            marker: PhantomData,
        }
    }

    /// The number of agents (at least one). Agent `i`'s id is the prefix, a dash and `i`
    /// zero-padded to the width of the largest index, so ids sort in index order.
    pub fn agents(mut self, agents: usize) -> Self {
        self.agents = agents;
        self
    }

    /// The run's seed: every agent's generator is seeded from it and the agent's id.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Runs the agents on a pool of `arbiters` threads of the simulation's own (default
    /// one), in as many cohorts; the pool stops with the simulation.
    pub fn arbiters(mut self, arbiters: usize) -> Self {
        self.arbiters = Arbiters::Own(arbiters);
        self
    }

    /// Runs the agents on `pool`, one cohort per arbiter.
    pub fn pool(mut self, pool: ArbiterPool) -> Self {
        self.arbiters = Arbiters::Shared(pool);
        self
    }

    /// How sends reach recipients (default [`Schedule::Lockstep`]).
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The virtual time one round stands for (default one second).
    pub fn round_length(mut self, length: Duration) -> Self {
        self.round_length = length;
        self
    }

    /// The virtual clock's time at round 0 (default the Unix epoch, so stamps repeat
    /// from run to run).
    pub fn epoch(mut self, epoch: SystemTime) -> Self {
        self.epoch = epoch;
        self
    }

    /// How long a round may take to become quiescent before it fails (default
    /// [`DEFAULT_QUIESCENCE_BOUND`]).
    pub fn quiescence_bound(mut self, bound: Duration) -> Self {
        self.bound = bound;
        self
    }

    /// The agents' id prefix (default `agent`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The id stamped on the agents' envelopes as their channel (default `simulation`).
    pub fn channel(mut self, channel: ChannelId) -> Self {
        self.channel = Some(channel);
        self
    }

    /// The rights every agent holds on the simulation (default READ and WRITE); without
    /// WRITE an agent's sends are refused.
    pub fn rights(mut self, rights: Rights) -> Self {
        self.rights = rights;
        self
    }

    fn ids(&self) -> Result<Vec<SystemId>, SimulationError> {
        if self.agents == 0 || u32::try_from(self.agents).is_err() {
            return Err(SimulationError::Setting(format!(
                "agents must be between 1 and {}, not {}",
                u32::MAX,
                self.agents
            )));
        }
        let width = (self.agents - 1).to_string().len();
        (0..self.agents)
            .map(|i| SystemId::new(format!("{}-{i:0width$}", self.prefix)))
            .collect::<Result<_, _>>()
            .map_err(|error| SimulationError::Setting(format!("prefix `{}`: {error}", self.prefix)))
    }

    /// Docks the agents into the kernel, builds each on its cohort's arbiter and runs its
    /// `started` hook (round 0: what it sends there arrives in round 1).
    pub async fn start(self) -> Result<Simulation<S>, SimulationError> {
        let ids = self.ids()?;
        let (pool, own) = match self.arbiters {
            Arbiters::Own(0) => {
                return Err(SimulationError::Setting(
                    "arbiters must be at least 1".to_owned(),
                ))
            }
            Arbiters::Own(n) => (ArbiterPool::new(n)?, true),
            Arbiters::Shared(pool) => (pool, false),
        };
        let channel = match self.channel {
            Some(channel) => channel,
            None => ChannelId::new("simulation").expect("a valid id"),
        };
        let world = Arc::new(World::new(Layout {
            channel,
            ids,
            rights: self.rights,
            schedule: self.schedule,
            seed: self.seed,
            epoch: self.epoch,
            round_length: self.round_length,
            cohorts: pool.len(),
        }));
        let mut cohorts = Vec::with_capacity(world.cohorts());
        let mut in_hook = Vec::with_capacity(world.cohorts());
        for index in 0..world.cohorts() {
            let hook = Arc::new(AtomicU32::new(NO_HOOK));
            let (factory, shared, watch) = (
                Arc::clone(&self.factory),
                Arc::clone(&world),
                Arc::clone(&hook),
            );
            cohorts.push(Cohort::start_in_arbiter(&pool.arbiter(index), move |_| {
                Cohort::new(index, factory, shared, watch)
            }));
            in_hook.push(hook);
        }
        let mut agents = Vec::with_capacity(world.agents());
        for (index, cohort) in cohorts.iter().enumerate() {
            let recipient = Arc::new(cohort.clone().recipient());
            for rank in world.ranks(index) {
                let control = SystemControl::Agent {
                    cohort: Arc::clone(&recipient),
                    rank,
                };
                agents.push((world.ids[rank as usize].clone(), control));
            }
        }
        let halt = |cohorts: &[actix::Addr<Cohort<S>>]| {
            for cohort in cohorts {
                cohort.do_send(Halt);
            }
            if own {
                pool.shutdown();
            }
        };
        let line = match self.kernel.dock_agents(agents).await {
            Ok(line) => line,
            Err(error) => {
                halt(&cohorts);
                return Err(error.into());
            }
        };
        world.set_line(line);
        if world.schedule == Schedule::Immediate {
            world.set_wakers(cohorts.iter().map(|c| c.clone().recipient()).collect());
        }
        for cohort in &cohorts {
            let populated = match cohort.send(Populate).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err((index, panic))) => Err(SimulationError::Factory {
                    agent: world.ids[index].clone(),
                    panic,
                }),
                Err(_) => Err(SimulationError::Stopped),
            };
            if let Err(error) = populated {
                halt(&cohorts);
                self.kernel.undock_agents(world.ids.clone()).await;
                return Err(error);
            }
        }
        Ok(Simulation::new(
            world,
            cohorts,
            in_hook,
            self.kernel,
            own.then_some(pool),
            self.bound,
        ))
    }
}
