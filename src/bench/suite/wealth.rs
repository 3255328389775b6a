//! Mesa's Boltzmann wealth model (see [`crate::bench::boltzmann`]), a round per
//! iteration: on exokern a lockstep simulation on one arbiter, on raw actix an actor per
//! agent with a counted barrier.

use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;

use super::raw::{Carry, Crowd, Halt, Peers};
use super::tally::Tally;
use super::Scale;
use crate::bench::boltzmann::{Purse, Wealth};
use crate::bench::{BenchError, Failure, Report, Runner, Workload};
use crate::kernel::{Kernel, KernelHandle};
use crate::policy::RuleSet;
use crate::simulation::Simulation;
use crate::system::AgentRng;
use crate::SystemId;

/// The seed both sides draw their agents' generators from.
const SEED: u64 = 42;

pub(super) fn boltzmann(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let agents = scale.pick(10_000, 10_000, 50);
    Box::pin(runner.compare(
        "boltzmann",
        "agent-step",
        WealthOnExokern { agents },
        WealthOnActix { agents },
    ))
}

/// On exokern: a [`Purse`] per agent in a lockstep simulation on one arbiter.
struct WealthOnExokern {
    agents: usize,
}

impl Workload for WealthOnExokern {
    type State = (KernelHandle, Simulation<Purse>);

    fn work(&self) -> u64 {
        self.agents as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let kernel = Kernel::builder()
            .policy(RuleSet::allow_all())
            .start()
            .await?;
        let sim = Simulation::builder(&kernel, |_| Purse::new(u64::MAX))
            .agents(self.agents)
            .seed(SEED)
            .start()
            .await?;
        Ok((kernel, sim))
    }

    async fn iteration(&mut self, (_, sim): &mut Self::State) -> Result<u64, Failure> {
        let report = sim.step().await?;
        if report.panics > 0 || report.dropped > 0 {
            return Err(format!("round {}: {report:?}", report.round).into());
        }
        Ok(self.agents as u64)
    }

    async fn teardown(&mut self, (kernel, sim): Self::State) {
        sim.stop().await;
        kernel.shutdown().await;
    }
}

/// What flows between raw agents.
#[derive(Debug, Clone, Copy)]
enum Coin {
    /// The clock: take a step.
    Step,
    /// A unit of wealth, given.
    Gift,
}

/// On raw actix: an actor per agent, a clock actor that sends each the step, and gifts
/// sent to the drawn agent's address. An agent's step is done when it gave nothing, or
/// when its gift arrived.
struct WealthOnActix {
    agents: usize,
}

struct RawPurse {
    wealth: Wealth,
    rng: AgentRng,
    purses: Peers<Coin>,
    tally: Arc<Tally>,
}

impl Actor for RawPurse {
    type Context = Context<Self>;
}

impl Handler<Carry<Coin>> for RawPurse {
    type Result = ();

    fn handle(&mut self, Carry(coin): Carry<Coin>, _: &mut Context<Self>) {
        match coin {
            Coin::Step => {
                let Some(purses) = self.purses.get() else {
                    return self.tally.fail("the purses are set in setup");
                };
                match self.wealth.give(&mut self.rng, purses.len()) {
                    Some(to) => purses[to].do_send(Carry(Coin::Gift)),
                    None => self.tally.add(1),
                }
            }
            Coin::Gift => {
                self.wealth.receive();
                self.tally.add(1);
            }
        }
    }
}

impl Handler<Halt> for RawPurse {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Workload for WealthOnActix {
    type State = (Crowd<RawPurse, Coin>, Arc<Tally>);

    fn work(&self) -> u64 {
        self.agents as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let (purses, tally): (Peers<Coin>, _) = (Arc::default(), Tally::new());
        let width = self.agents.saturating_sub(1).to_string().len();
        let mut actors = Vec::with_capacity(self.agents);
        for index in 0..self.agents {
            let id = SystemId::new(format!("agent-{index:0width$}"))?;
            actors.push(
                RawPurse {
                    wealth: Wealth(1),
                    rng: AgentRng::for_system(SEED, &id),
                    purses: Arc::clone(&purses),
                    tally: Arc::clone(&tally),
                }
                .start(),
            );
        }
        Ok((Crowd::gather(actors, &purses)?, tally))
    }

    async fn iteration(&mut self, (crowd, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.work())?;
        crowd.round(Coin::Step).await?;
        tally.wait(start).await
    }

    async fn teardown(&mut self, (crowd, _): Self::State) {
        crowd.halt().await;
    }
}
