//! A market of agents, stepped in rounds by the simulation mode: each round every agent
//! draws a bid from its own seeded generator and sends it to every other agent, and
//! each adds up the bids it hears. With N agents a round is N² governed deliveries, each
//! stamped with its sender. The runtime ends every round itself; the result (every
//! agent's total) depends only on the seed.
//!
//! Run it with `cargo run --release --example simulation -- [AGENTS] [ROUNDS] [SEED]`
//! (default 1,000 agents, 10 rounds, seed 7); with `--check` it runs again with the same
//! seed on another number of arbiters and fails unless every agent ends with the same
//! total.

use std::time::{Duration, Instant};

use exokern::kernel::Kernel;
use exokern::policy::RuleSet;
use exokern::prelude::*;
use exokern::simulation::Simulation;
use exokern::system::Tick;

/// A trader: the sum of the bids it heard.
struct Trader {
    total: u64,
}

impl System for Trader {
    type Message = u64;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, bid: Inbound<u64>) {
        self.total += bid.payload();
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
        let Some(round) = ctx.simulation() else {
            return;
        };
        let bid = round.rng().below(1_000);
        let me = round.index();
        for other in (0..round.agents()).filter(|&other| other != me) {
            round.send(other, bid).expect("a running trader may send");
        }
    }
}

/// What a run produced: every agent's total, and how long docking and trading took.
struct Outcome {
    totals: Vec<u64>,
    docked: Duration,
    elapsed: Duration,
    deliveries: u64,
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = std::env::args().any(|a| a == "--check");
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| a != "--check")
        .map(|a| a.parse::<u64>());
    let agents = args.next().transpose()?.unwrap_or(1_000) as usize;
    let rounds = args.next().transpose()?.unwrap_or(10);
    let seed = args.next().transpose()?.unwrap_or(7);

    let outcome = simulate(agents, rounds, seed, 2).await?;
    let checksum = outcome
        .totals
        .iter()
        .fold(0u64, |acc, &w| acc.wrapping_mul(31).wrapping_add(w));
    let richest = outcome
        .totals
        .iter()
        .enumerate()
        .max_by_key(|&(i, w)| (*w, std::cmp::Reverse(i)))
        .map_or(0, |(i, _)| i);
    let seconds = outcome.elapsed.as_secs_f64();
    println!(
        "{agents} agents docked in {:.2?}; {rounds} rounds, seed {seed}",
        outcome.docked
    );
    println!(
        "{} deliveries in {:.2?}: {:.0} deliveries/s, {:.1} rounds/s",
        outcome.deliveries,
        outcome.elapsed,
        outcome.deliveries as f64 / seconds,
        rounds as f64 / seconds
    );
    println!(
        "richest: agent {richest} with {}; checksum {checksum:016x}",
        outcome.totals[richest]
    );
    if check {
        let again = simulate(agents, rounds, seed, 1).await?;
        if again.totals != outcome.totals {
            return Err("a run with the same seed on one arbiter ended differently".into());
        }
        println!("a second run with seed {seed}, on one arbiter instead of two, ended the same");
    }
    Ok(())
}

/// Runs `rounds` rounds of `agents` traders on `arbiters` arbiters, on a kernel of their
/// own, and one more that delivers the last round's bids.
async fn simulate(
    agents: usize,
    rounds: u64,
    seed: u64,
    arbiters: usize,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .start()
        .await?;
    let started = Instant::now();
    let mut sim = Simulation::builder(&kernel, |_| Trader { total: 0 })
        .agents(agents)
        .seed(seed)
        .arbiters(arbiters)
        .start()
        .await?;
    let docked = started.elapsed();
    let started = Instant::now();
    let reports = sim.run(rounds).await?;
    let elapsed = started.elapsed();
    let last = reports.last().map_or(0, |r| r.sent);
    let delivered = reports.iter().map(|r| r.deliveries).sum::<u64>() + last;
    // One more round delivers the last round's bids; the bids every trader makes in it
    // arrive in no round, so the totals are complete.
    sim.step().await?;
    let totals = sim.inspect(|_, trader| trader.total).await?;
    sim.stop().await;
    kernel.shutdown().await;
    Ok(Outcome {
        totals,
        docked,
        elapsed,
        deliveries: delivered,
    })
}
