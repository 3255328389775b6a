//! A simulation tick: every agent hears the clock, updates its state and sends its
//! neighbour a share; an agent's step is done when its neighbour's share arrives.
//! Beside it, Mesa's Boltzmann wealth model (see [`crate::bench::boltzmann`]).

use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;

use super::raw::{Carry, Crowd, Halt, Peers};
use super::tally::Tally;
use super::Scale;
use crate::bench::{BenchError, Failure, Report, Runner, Workload};
use crate::channel::Inbound;
use crate::kernel::{Kernel, KernelHandle};
use crate::policy::RuleSet;
use crate::simulation::Simulation;
use crate::system::{System, SystemContext, Tick};

pub(super) fn tick(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let agents = scale.pick(10_000, 10_000, 50);
    Box::pin(runner.compare(
        "simulation-tick",
        "agent",
        TickOnExokern { agents },
        TickOnActix { agents },
    ))
}

/// What flows in the simulation.
#[derive(Debug, Clone, Copy)]
enum Sim {
    /// The clock: take a step.
    Tick(u64),
    /// A neighbour's share of its state.
    Share(u64),
}

/// An agent's state and step, the same on both sides.
#[derive(Debug)]
struct Agent {
    state: u64,
}

impl Agent {
    fn new(index: usize) -> Agent {
        Agent {
            state: (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// A tick: updates the state and answers the share to send the neighbour.
    fn tick(&mut self, n: u64) -> Sim {
        self.state = (self.state ^ n).rotate_left(13).wrapping_mul(31);
        Sim::Share(self.state >> 1)
    }

    /// A neighbour's share arrives: folds it in.
    fn fold(&mut self, msg: Sim) {
        if let Sim::Share(share) = msg {
            self.state = self.state.wrapping_add(share);
        }
    }

    /// Handles `msg` on raw actix, where the tick and the share arrive in one round:
    /// on a tick, answers the share to send; on a share, folds it in and the step is
    /// done.
    fn step(&mut self, msg: Sim, tally: &Tally) -> Option<Sim> {
        match msg {
            Sim::Tick(n) => Some(self.tick(n)),
            Sim::Share(_) => {
                self.fold(msg);
                tally.add(1);
                None
            }
        }
    }
}

/// On exokern: the agents of a lockstep simulation, one arbiter; a share sent in one
/// round is folded in the next, so every round is a tick and a share per agent.
struct TickOnExokern {
    agents: usize,
}

struct Stepped {
    agent: Agent,
}

impl System for Stepped {
    type Message = Sim;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<Sim>) {
        self.agent.fold(*msg.payload());
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let share = self.agent.tick(tick.n);
        if let Some(round) = ctx.simulation() {
            let neighbour = (round.index() + 1) % round.agents();
            // A refusal shows in the round's report as a missing send.
            let _ = round.send(neighbour, share);
        }
    }
}

impl Workload for TickOnExokern {
    type State = (KernelHandle, Simulation<Stepped>);

    fn work(&self) -> u64 {
        self.agents as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let kernel = Kernel::builder()
            .policy(RuleSet::allow_all())
            .start()
            .await?;
        let sim = Simulation::builder(&kernel, |index| Stepped {
            agent: Agent::new(index),
        })
        .agents(self.agents)
        .start()
        .await?;
        Ok((kernel, sim))
    }

    async fn iteration(&mut self, (_, sim): &mut Self::State) -> Result<u64, Failure> {
        let report = sim.step().await?;
        let agents = self.agents as u64;
        let delivered = if report.round == 1 { 0 } else { agents };
        if report.sent != agents || report.deliveries != delivered {
            return Err(format!(
                "round {}: {} shares sent and {} delivered, not {agents} and {delivered}",
                report.round, report.sent, report.deliveries
            )
            .into());
        }
        Ok(agents)
    }

    async fn teardown(&mut self, (kernel, sim): Self::State) {
        sim.stop().await;
        kernel.shutdown().await;
    }
}

/// On raw actix: agent actors, a clock actor that `try_send`s the tick to each, and
/// shares sent to the neighbour's address.
struct TickOnActix {
    agents: usize,
}

struct RawAgent {
    agent: Agent,
    neighbour: usize,
    agents: Peers<Sim>,
    tally: Arc<Tally>,
}

impl Actor for RawAgent {
    type Context = Context<Self>;
}

impl Handler<Carry<Sim>> for RawAgent {
    type Result = ();

    fn handle(&mut self, Carry(msg): Carry<Sim>, _: &mut Context<Self>) {
        let Some(share) = self.agent.step(msg, &self.tally) else {
            return;
        };
        let sent = match self.agents.get() {
            Some(agents) => agents[self.neighbour].try_send(Carry(share)),
            None => return self.tally.fail("the agents are set in setup"),
        };
        if let Err(error) = sent {
            self.tally.fail(error);
        }
    }
}

impl Handler<Halt> for RawAgent {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Workload for TickOnActix {
    type State = (Crowd<RawAgent, Sim>, Arc<Tally>);

    fn work(&self) -> u64 {
        self.agents as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let (agents, tally): (Peers<Sim>, _) = (Arc::default(), Tally::new());
        let actors: Vec<Addr<RawAgent>> = (0..self.agents)
            .map(|index| {
                RawAgent {
                    agent: Agent::new(index),
                    neighbour: (index + 1) % self.agents,
                    agents: Arc::clone(&agents),
                    tally: Arc::clone(&tally),
                }
                .start()
            })
            .collect();
        Ok((Crowd::gather(actors, &agents)?, tally))
    }

    async fn iteration(&mut self, (crowd, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.work())?;
        crowd.round(Sim::Tick(start)).await?;
        tally.wait(start).await
    }

    async fn teardown(&mut self, (crowd, _): Self::State) {
        crowd.halt().await;
    }
}
