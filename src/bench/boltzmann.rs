//! Mesa's Boltzmann wealth model, the reference simulation exokern is compared with
//! Mesa on: every agent starts with one unit of wealth, and each step every agent that
//! has any gives one unit to an agent drawn uniformly at random (itself included).
//!
//! On exokern the model is a [`Purse`] per agent in a lockstep [`Simulation`]: a gift
//! given in step `s` arrives in step `s + 1`, where Mesa's tutorial hands it over at
//! once (so a poor agent may pass on a unit it just got in the same step). The
//! distribution both converge to is the same (a Gini coefficient near 0.6 after a few
//! hundred steps); step for step the runs differ.
//!
//! ```
//! use exokern::bench::boltzmann;
//!
//! # actix_rt::System::new().block_on(async {
//! let run = boltzmann::run(1_000, 20, 7, 1).await?;
//! assert_eq!(run.wealth.iter().sum::<u64>(), 1_000, "wealth is conserved");
//! assert_eq!(run.digest, boltzmann::run(1_000, 20, 7, 2).await?.digest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::time::{Duration, Instant};

use exokern_actors::channel::Inbound;
use exokern_actors::kernel::Kernel;
use exokern_actors::policy::RuleSet;
use exokern_actors::simulation::{Simulation, SimulationError};
use exokern_actors::system::{AgentRng, System, SystemContext, Tick};

/// One unit of wealth, given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gift;

/// An agent's wealth, and the model's one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wealth(pub u64);

impl Wealth {
    /// The agent to give a unit to this step, if this agent has any: drawn from
    /// `0..agents` with `rng`. The unit leaves at once.
    pub fn give(&mut self, rng: &mut AgentRng, agents: usize) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        self.0 -= 1;
        Some(rng.below(agents as u64) as usize)
    }

    /// A unit arrives.
    pub fn receive(&mut self) {
        self.0 += 1;
    }
}

/// A Boltzmann agent on exokern: gives in its tick, receives in its messages, for
/// `steps` steps.
#[derive(Debug)]
pub struct Purse {
    /// The agent's wealth.
    pub wealth: Wealth,
    steps: u64,
}

impl Purse {
    /// An agent with one unit that gives for `steps` steps (and then only receives).
    pub fn new(steps: u64) -> Purse {
        Purse {
            wealth: Wealth(1),
            steps,
        }
    }
}

impl System for Purse {
    type Message = Gift;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, _: Inbound<Gift>) {
        self.wealth.receive();
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        if tick.n > self.steps {
            return;
        }
        let Some(round) = ctx.simulation() else {
            return;
        };
        let agents = round.agents();
        if let Some(to) = self.wealth.give(round.rng(), agents) {
            if round.send(to, Gift).is_err() {
                // Refused (the agent was paused or revoked): the unit stays.
                self.wealth.receive();
            }
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Every agent's final wealth, in id order.
    pub wealth: Vec<u64>,
    /// The Gini coefficient of the final wealth.
    pub gini: f64,
    /// A hash of every agent's final wealth in id order.
    pub digest: String,
    /// The time the steps took (docking and the last gifts' delivery not included).
    pub elapsed: Duration,
    /// How much the process's resident memory grew per agent while the agents were
    /// docked and built, idle: what an agent costs in the host and the kernel. `None`
    /// where the process cannot read it (outside Linux).
    pub resident_per_agent: Option<u64>,
}

/// Runs the model: `agents` agents, `steps` steps, seed `seed`, on `arbiters` arbiters,
/// on a kernel of its own; then delivers the last step's gifts and reads the wealth.
pub async fn run(
    agents: usize,
    steps: u64,
    seed: u64,
    arbiters: usize,
) -> Result<Run, Box<dyn std::error::Error>> {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .start()
        .await?;
    let outcome = simulate(&kernel, agents, steps, seed, arbiters).await;
    kernel.shutdown().await;
    Ok(outcome?)
}

async fn simulate(
    kernel: &exokern_actors::kernel::KernelHandle,
    agents: usize,
    steps: u64,
    seed: u64,
    arbiters: usize,
) -> Result<Run, SimulationError> {
    let before = resident_bytes();
    let mut sim = Simulation::builder(kernel, move |_| Purse::new(steps))
        .agents(agents)
        .seed(seed)
        .arbiters(arbiters)
        .start()
        .await?;
    let resident_per_agent = before
        .zip(resident_bytes())
        .map(|(before, after)| after.saturating_sub(before) / agents.max(1) as u64);
    let started = Instant::now();
    sim.run(steps).await?;
    let elapsed = started.elapsed();
    // One more round hands over the gifts of the last step; no agent gives in it.
    sim.step().await?;
    let wealth = sim.inspect(|_, purse| purse.wealth.0).await?;
    sim.stop().await;
    Ok(Run {
        gini: gini(&wealth),
        digest: digest(&wealth),
        wealth,
        elapsed,
        resident_per_agent,
    })
}

/// The process's resident memory, from `/proc/self/status`.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The Gini coefficient of `wealth`, as Mesa's tutorial computes it.
pub fn gini(wealth: &[u64]) -> f64 {
    let mut sorted = wealth.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let total: u64 = sorted.iter().sum();
    if sorted.is_empty() || total == 0 {
        return 0.0;
    }
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &w)| w as f64 * (n - i as f64))
        .sum();
    1.0 + 1.0 / n - 2.0 * weighted / (n * total as f64)
}

/// A hash of `wealth` in order (64-bit FNV-1a over each value's little-endian bytes), as
/// 16 hex digits.
pub fn digest(wealth: &[u64]) -> String {
    let hash = wealth
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{hash:016x}")
}
