//! A market of agents, stepped in rounds: every agent is a docked system that, each
//! round, sends a bid drawn from its own seeded generator to the exchange, which
//! publishes it on the ledger every agent reads; each agent adds up everyone else's
//! bids. With N agents a round is N bids and N² ledger deliveries through governed
//! channels. The result (every agent's total) depends only on the seed, not on
//! scheduling; the program prints it with the throughput.
//!
//! Run it with `cargo run --release --example simulation -- [AGENTS] [ROUNDS] [SEED]`
//! (default 1,000 agents, 10 rounds, seed 7); with `--check` it runs again with the same
//! seed and fails unless every agent ends with the same total.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exokern::channel::{Broadcast, SubscribeOptions};
use exokern::kernel::{Dock, Kernel, Visibility};
use exokern::policy::RuleSet;
use exokern::prelude::*;
use tokio::sync::Notify;

/// What flows on the two channels.
#[derive(Debug, Clone, Copy)]
enum Market {
    /// Time to bid (from the clock).
    Round,
    /// An agent's bid.
    Bid { agent: u32, amount: u64 },
}

/// Counts deliveries, and wakes the driver when a round's are all in.
struct Tally {
    delivered: AtomicU64,
    target: AtomicU64,
    done: Notify,
}

impl Tally {
    fn add(&self, n: u64) {
        let total = self.delivered.fetch_add(n, Ordering::AcqRel) + n;
        if total == self.target.load(Ordering::Acquire) {
            self.done.notify_one();
        }
    }
}

struct Agent {
    index: u32,
    rng: Cell<u64>,
    wealth: Arc<AtomicU64>,
    market: ChannelId,
    tally: Arc<Tally>,
}

/// xorshift64*: small, fast and the same on every machine.
fn next(state: &Cell<u64>) -> u64 {
    let mut x = state.get();
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.set(x);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

impl System for Agent {
    type Message = Market;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Market>) {
        match *msg.payload() {
            Market::Round => {
                let bid = Market::Bid {
                    agent: self.index,
                    amount: next(&self.rng) % 1_000,
                };
                let market = ctx
                    .ports()
                    .and_then(|ports| ports.broadcast::<Market>(&self.market).ok())
                    .expect("docked with a port on the market");
                ctx.spawn(async move {
                    market.publish(bid).await.expect("the market takes bids");
                });
            }
            Market::Bid { agent, amount } => {
                if agent != self.index {
                    self.wealth.fetch_add(amount, Ordering::Relaxed);
                }
            }
        }
        self.tally.add(1);
    }
}

/// The exchange: republishes every bid on the ledger.
struct Exchange {
    ledger: ChannelId,
    tally: Arc<Tally>,
}

impl System for Exchange {
    type Message = Market;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Market>) {
        let ledger = ctx
            .ports()
            .and_then(|ports| ports.broadcast::<Market>(&self.ledger).ok())
            .expect("docked with a port on the ledger");
        let bid = *msg.payload();
        ctx.spawn(async move {
            ledger.publish(bid).await.expect("the ledger takes bids");
        });
        self.tally.add(1);
    }
}

/// What a run produced: every agent's total, and how long docking and trading took.
struct Outcome {
    totals: Vec<u64>,
    docked: Duration,
    elapsed: Duration,
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = std::env::args().any(|a| a == "--check");
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| a != "--check")
        .map(|a| a.parse::<u64>());
    let agents = args.next().transpose()?.unwrap_or(1_000);
    let rounds = args.next().transpose()?.unwrap_or(10);
    let seed = args.next().transpose()?.unwrap_or(7);

    let Outcome {
        totals,
        docked,
        elapsed,
    } = simulate(agents, rounds, seed).await?;
    let checksum = totals
        .iter()
        .fold(0u64, |acc, &w| acc.wrapping_mul(31).wrapping_add(w));
    let richest = totals
        .iter()
        .enumerate()
        .max_by_key(|&(i, w)| (*w, std::cmp::Reverse(i)))
        .map_or(0, |(i, _)| i);
    let deliveries = rounds * (2 * agents + agents * agents);
    println!("{agents} agents docked in {docked:.2?}; {rounds} rounds, seed {seed}");
    println!(
        "{deliveries} deliveries in {elapsed:.2?}: {:.0} deliveries/s, {:.1} rounds/s",
        deliveries as f64 / elapsed.as_secs_f64(),
        rounds as f64 / elapsed.as_secs_f64()
    );
    println!(
        "richest: agent-{richest} with {}; checksum {checksum:016x}",
        totals[richest]
    );
    if check {
        let again = simulate(agents, rounds, seed).await?;
        if again.totals != totals {
            return Err("a second run with the same seed ended differently".into());
        }
        println!("a second run with seed {seed} ended the same");
    }
    Ok(())
}

/// Runs `rounds` rounds of `agents` agents on a kernel of their own.
async fn simulate(
    agents: u64,
    rounds: u64,
    seed: u64,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .start()
        .await?;
    let ids = ["clock", "market", "ledger"].map(ChannelId::new);
    let [clock_id, market_id, ledger_id] = ids.map(|id| id.expect("valid ids"));
    let buffer = agents as usize * 2;
    let clock = Broadcast::<Market>::builder(clock_id.clone()).start()?;
    let clock_writer = clock.grant(SystemId::new("driver")?, Rights::WRITE).await?;
    kernel.add_channel(clock, Visibility::Private).await?;
    for id in [&market_id, &ledger_id] {
        let channel = Broadcast::<Market>::builder(id.clone())
            .subscriber_buffer(buffer)
            .start()?;
        kernel.add_channel(channel, Visibility::Private).await?;
    }

    let tally = Arc::new(Tally {
        delivered: AtomicU64::new(0),
        target: AtomicU64::new(u64::MAX),
        done: Notify::new(),
    });
    let started = Instant::now();
    let exchange = {
        let (tally, ledger) = (Arc::clone(&tally), ledger_id.clone());
        Dock::new(SystemId::new("exchange")?, move || Exchange {
            ledger: ledger.clone(),
            tally: Arc::clone(&tally),
        })
        .subscribe(market_id.clone(), SubscribeOptions::default())
        .sends(ledger_id.clone())
    };
    kernel.dock(exchange).await?;
    let mut wealth = Vec::with_capacity(agents as usize);
    for index in 0..agents as u32 {
        let purse = Arc::new(AtomicU64::new(0));
        wealth.push(Arc::clone(&purse));
        let (tally, market) = (Arc::clone(&tally), market_id.clone());
        // Each agent's generator starts from the seed and its index, never zero.
        let state = (seed ^ (u64::from(index) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        let dock = Dock::new(SystemId::new(format!("agent-{index}"))?, move || Agent {
            index,
            rng: Cell::new(state),
            wealth: Arc::clone(&purse),
            market: market.clone(),
            tally: Arc::clone(&tally),
        })
        .subscribe(clock_id.clone(), SubscribeOptions::default())
        .subscribe(ledger_id.clone(), SubscribeOptions::default())
        .sends(market_id.clone());
        kernel.dock(dock).await?;
    }
    let docked = started.elapsed();

    // Clock ticks and bids at the exchange, N each, and N² ledger deliveries.
    let per_round = 2 * agents + agents * agents;
    let started = Instant::now();
    for round in 1..=rounds {
        tally.target.store(round * per_round, Ordering::Release);
        let finished = tally.done.notified();
        clock_writer.publish(Market::Round).await?;
        finished.await;
    }
    let elapsed = started.elapsed();

    let totals: Vec<u64> = wealth.iter().map(|w| w.load(Ordering::Relaxed)).collect();
    kernel.shutdown().await;
    Ok(Outcome {
        totals,
        docked,
        elapsed,
    })
}
