//! The standard suite: every workload beside its raw-actix twin.
//!
//! The Savina micro-benchmarks (ping-pong, thread ring, counting, fork-join throughput
//! and creation, big, chameneos) run the same logic on exokern systems talking through
//! a mailbox channel and on raw actix actors talking through their addresses; the rest
//! measure what only exokern has (broadcast channels, work queues with acks,
//! capabilities, the action gate, docking, a governed simulation) beside raw actix
//! actors doing the same bookkeeping. Everything runs on the caller's arbiter, but for
//! the `-pool` workloads: ping-pong, fork-join throughput and big again, with both
//! sides' actors spread the same way over a pool of arbiters, one per core.

mod channels;
pub mod desk;
mod governance;
mod network;
mod raw;
mod savina;
mod simulation;
mod tally;
mod wealth;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use super::{BenchError, Budget, Report, Runner};
use network::{Behaviour, Net, Spread};

/// How big the workloads are, and how long each is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The sizes of the Savina reference (e.g. 40,000 ping-pong round trips); one
    /// second of warm-up and three of measurement per side.
    Full,
    /// About a tenth of the work per iteration (the fan-out and the simulation keep
    /// their 10,000 actors); 0.2 s of warm-up and a second of measurement per side.
    /// The whole suite takes about a minute on two cores.
    Quick,
    /// A few hundred messages per iteration, one iteration of warm-up and two measured:
    /// for tests that check the work is done, not how fast.
    Smoke,
}

impl Scale {
    /// The budget each side of a comparison gets at this scale.
    pub fn budget(self) -> Budget {
        match self {
            Scale::Full => Budget::timed(Duration::from_secs(1), Duration::from_secs(3)),
            Scale::Quick => {
                Budget::timed(Duration::from_millis(200), Duration::from_secs(1)).min_iterations(3)
            }
            Scale::Smoke => Budget::iterations(1, 2),
        }
    }

    fn pick<T>(self, full: T, quick: T, smoke: T) -> T {
        match self {
            Scale::Full => full,
            Scale::Quick => quick,
            Scale::Smoke => smoke,
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scale::Full => "full",
            Scale::Quick => "quick",
            Scale::Smoke => "smoke",
        })
    }
}

impl FromStr for Scale {
    type Err = String;

    fn from_str(s: &str) -> Result<Scale, String> {
        match s {
            "full" => Ok(Scale::Full),
            "quick" => Ok(Scale::Quick),
            "smoke" => Ok(Scale::Smoke),
            other => Err(format!(
                "no scale `{other}`: use `full`, `quick` or `smoke`"
            )),
        }
    }
}

type Run = for<'a> fn(&'a Runner, Scale) -> LocalBoxFuture<'a, Result<Report, BenchError>>;

/// One benchmark of the suite: its name, what it measures, and how to run it.
#[derive(Clone, Copy)]
pub struct Entry {
    name: &'static str,
    about: &'static str,
    run: Run,
}

impl Entry {
    /// The benchmark's name, as `--filter` matches it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What it measures, in a sentence.
    pub fn about(&self) -> &'static str {
        self.about
    }

    /// Runs it, and its baseline, at `scale` with `runner`.
    pub async fn run(&self, runner: &Runner, scale: Scale) -> Result<Report, BenchError> {
        (self.run)(runner, scale).await
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

/// Every benchmark of the standard suite, in the order `exokern bench` runs them.
pub fn suite() -> &'static [Entry] {
    &SUITE
}

/// The benchmarks whose name contains `filter` (all of them without one).
pub fn select(filter: Option<&str>) -> Vec<Entry> {
    SUITE
        .iter()
        .filter(|e| filter.is_none_or(|f| e.name.contains(f)))
        .copied()
        .collect()
}

const SUITE: [Entry; 18] = [
    Entry {
        name: "ping-pong",
        about: "Savina ping-pong: two actors pass a count back and forth (40,000 round \
                trips); per message",
        run: ping_pong,
    },
    Entry {
        name: "thread-ring",
        about: "Savina thread ring: a token hops around a ring of 100 actors 100,000 \
                times; per hop",
        run: thread_ring,
    },
    Entry {
        name: "counting",
        about: "Savina counting: 1,000,000 messages queued to one actor, which counts \
                them; per message",
        run: counting,
    },
    Entry {
        name: "fork-join-throughput",
        about: "Savina fork-join throughput: 10,000 messages to each of 60 actors, \
                round-robin, a little arithmetic each; per message",
        run: fork_join_throughput,
    },
    Entry {
        name: "fork-join-creation",
        about: "Savina fork-join creation: 40,000 actors each created, sent one message, \
                stopped; per actor",
        run: fork_join_creation,
    },
    Entry {
        name: "big",
        about: "Savina big: 120 actors each ping random others 20,000 times, one ping \
                at a time; per message",
        run: big,
    },
    Entry {
        name: "chameneos",
        about: "Savina chameneos: 100 creatures meet pairwise at a mall, 200,000 \
                meetings; per message",
        run: chameneos,
    },
    Entry {
        name: "ping-pong-pool",
        about: "ping-pong with the two actors on a pool of arbiters, one per core: every \
                message crosses threads (4,000 round trips); per message",
        run: ping_pong_pool,
    },
    Entry {
        name: "fork-join-throughput-pool",
        about: "fork-join throughput with the 60 actors spread over a pool of arbiters, \
                one per core; per message",
        run: fork_join_throughput_pool,
    },
    Entry {
        name: "big-pool",
        about: "big with the 120 actors spread over a pool of arbiters, one per core \
                (2,000 pings each); per message",
        run: big_pool,
    },
    Entry {
        name: "broadcast-fan-out",
        about: "one message published to 10,000 subscribers, until all have it; per \
                delivery",
        run: channels::fan_out,
    },
    Entry {
        name: "work-queue",
        about: "items sent in a batch to a work queue, pushed to 8 workers, each item \
                acked; per item",
        run: channels::work_queue,
    },
    Entry {
        name: "capability-grants",
        about: "capability grant round trips from a docked system through the kernel \
                (policy, mint, audit), one at a time; per grant",
        run: governance::grants,
    },
    Entry {
        name: "capability-checks",
        about: "capability check round trips to the capability actor, one at a time; \
                per check",
        run: governance::checks,
    },
    Entry {
        name: "gate-approvals",
        about: "action approvals through the action gate (capability and policy), one \
                at a time; per approval",
        run: governance::approvals,
    },
    Entry {
        name: "dock-undock",
        about: "an idle system docked into the kernel and undocked again; per dock + \
                undock",
        run: governance::dock_undock,
    },
    Entry {
        name: "simulation-tick",
        about: "a round of a 10,000-agent lockstep simulation on one arbiter: every \
                agent ticks and sends its neighbour a share, folded in the next round; \
                per agent",
        run: simulation::tick,
    },
    Entry {
        name: "boltzmann",
        about: "a step of Mesa's Boltzmann wealth model, 10,000 agents on one arbiter: \
                every agent with wealth gives a unit to one drawn at random; per \
                agent-step",
        run: wealth::boltzmann,
    },
];

/// Compares a network's exokern and raw-actix forms, per message, with the actors of
/// both placed as `spread` says.
async fn network<B: Behaviour>(
    runner: &Runner,
    name: &str,
    net: Net<B>,
    spread: Spread,
) -> Result<Report, BenchError> {
    runner
        .compare(
            name,
            "message",
            net.on_exokern(spread),
            net.on_actix(spread),
        )
        .await
}

/// How many arbiters the `-pool` workloads spread their actors over: one per core, and
/// at least two, for with one nothing would cross threads.
pub fn pool_arbiters() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

fn pool() -> Spread {
    Spread::Pool(pool_arbiters())
}

fn ping_pong(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::ping_pong(scale.pick(40_000, 10_000, 100));
    Box::pin(network(runner, "ping-pong", net, Spread::Here))
}

fn thread_ring(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::thread_ring(scale.pick(100, 100, 10), scale.pick(100_000, 20_000, 200));
    Box::pin(network(runner, "thread-ring", net, Spread::Here))
}

fn counting(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::counting(scale.pick(1_000_000, 100_000, 500));
    Box::pin(network(runner, "counting", net, Spread::Here))
}

fn fork_join_throughput(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::fork_join_throughput(scale.pick(60, 60, 6), scale.pick(10_000, 1_000, 50));
    Box::pin(network(runner, "fork-join-throughput", net, Spread::Here))
}

fn fork_join_creation(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let size = savina::ForkJoinCreate {
        actors: scale.pick(40_000, 4_000, 50),
    };
    Box::pin(runner.compare(
        "fork-join-creation",
        "actor",
        savina::CreateOnExokern(size),
        savina::CreateOnActix(size),
    ))
}

fn big(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::big(scale.pick(120, 120, 10), scale.pick(20_000, 1_000, 20));
    Box::pin(network(runner, "big", net, Spread::Here))
}

fn chameneos(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::chameneos(scale.pick(100, 100, 10), scale.pick(200_000, 20_000, 100));
    Box::pin(network(runner, "chameneos", net, Spread::Here))
}

fn ping_pong_pool(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::ping_pong(scale.pick(4_000, 1_000, 100));
    Box::pin(network(runner, "ping-pong-pool", net, pool()))
}

fn fork_join_throughput_pool(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::fork_join_throughput(scale.pick(60, 60, 6), scale.pick(10_000, 1_000, 50));
    Box::pin(network(runner, "fork-join-throughput-pool", net, pool()))
}

fn big_pool(runner: &Runner, scale: Scale) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let net = savina::big(scale.pick(120, 120, 10), scale.pick(2_000, 200, 20));
    Box::pin(network(runner, "big-pool", net, pool()))
}
