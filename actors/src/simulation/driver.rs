//! [`Simulation`]: steps a constellation of agents in rounds and knows, from the
//! runtime's own counters, when a round is over.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;

use super::cohort::{Cohort, Halt, Inspect, Look, RunRound, NO_HOOK};
use super::error::SimulationError;
use super::report::RoundReport;
use super::world::World;
use crate::ids::SystemId;
use crate::kernel::KernelHandle;
use crate::placement::ArbiterPool;
use crate::system::System;

/// How many busy agents an error names at most.
const NAMED_BUSY: usize = 100;

/// A simulation: agents of one [`System`] type docked into a kernel, partitioned over an
/// arbiter pool, and stepped in rounds. See the [module docs](super).
pub struct Simulation<S: System> {
    world: Arc<World<S::Message>>,
    cohorts: Vec<Addr<Cohort<S>>>,
    in_hook: Vec<Arc<AtomicU32>>,
    kernel: KernelHandle,
    pool: Option<ArbiterPool>,
    bound: Duration,
    failed: Option<u64>,
    stopped: bool,
    /// The counters at the end of the last round.
    last: Totals,
}

#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    deliveries: u64,
    sent: u64,
    decisions: u64,
    panics: u64,
    dropped: u64,
}

impl<S: System> fmt::Debug for Simulation<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation")
            .field("agents", &self.world.agents())
            .field("cohorts", &self.cohorts.len())
            .field("round", &self.world.round())
            .finish()
    }
}

impl<S: System> Simulation<S> {
    pub(super) fn new(
        world: Arc<World<S::Message>>,
        cohorts: Vec<Addr<Cohort<S>>>,
        in_hook: Vec<Arc<AtomicU32>>,
        kernel: KernelHandle,
        pool: Option<ArbiterPool>,
        bound: Duration,
    ) -> Simulation<S> {
        let mut simulation = Simulation {
            world,
            cohorts,
            in_hook,
            kernel,
            pool,
            bound,
            failed: None,
            stopped: false,
            last: Totals::default(),
        };
        simulation.last = simulation.totals();
        simulation
    }

    /// The number of agents.
    pub fn agents(&self) -> usize {
        self.world.agents()
    }

    /// The agents' ids, in index order.
    pub fn ids(&self) -> &[SystemId] {
        &self.world.ids
    }

    /// The last round run (0 before the first).
    pub fn round(&self) -> u64 {
        self.world.round()
    }

    /// The kernel the agents are docked in: lifecycle commands, snapshots and the audit
    /// log reach them through it.
    pub fn kernel(&self) -> &KernelHandle {
        &self.kernel
    }

    fn totals(&self) -> Totals {
        let counters = &self.world.counters;
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Acquire);
        Totals {
            deliveries: read(&counters.deliveries),
            sent: read(&counters.sent),
            decisions: self.world.activity.decisions(),
            panics: read(&counters.panics),
            dropped: read(&counters.dropped),
        }
    }

    /// Runs one round: every agent gets the messages sent to it in the last round, then a
    /// tick with the round's number; resolves when the constellation is quiescent (every
    /// pass done, every future an agent spawned finished, every governance request
    /// answered), or fails once the quiescence bound has passed.
    pub async fn step(&mut self) -> Result<RoundReport, SimulationError> {
        if let Some(round) = self.failed {
            return Err(SimulationError::Failed { round });
        }
        if self.stopped {
            return Err(SimulationError::Stopped);
        }
        let round = self.world.round() + 1;
        self.world.set_round(round);
        let started = Instant::now();
        let passes: Vec<_> = self.cohorts.iter().map(|c| c.send(RunRound)).collect();
        let activity = Arc::clone(&self.world.activity);
        let work = async move {
            for pass in passes {
                pass.await.map_err(|_| SimulationError::Stopped)?;
            }
            activity.quiescent().await;
            Ok(())
        };
        match tokio::time::timeout(self.bound, work).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.failed = Some(round);
                return Err(error);
            }
            Err(_) => {
                self.failed = Some(round);
                return Err(SimulationError::NotQuiescent {
                    round,
                    bound: self.bound,
                    busy: self.busy(),
                });
            }
        }
        let now = self.totals();
        let last = std::mem::replace(&mut self.last, now);
        Ok(RoundReport {
            round,
            deliveries: now.deliveries - last.deliveries,
            sent: now.sent - last.sent,
            decisions: now.decisions - last.decisions,
            panics: now.panics - last.panics,
            dropped: now.dropped - last.dropped,
            wall: started.elapsed(),
        })
    }

    /// The agents still busy: a hook running, a future or a request in flight.
    fn busy(&self) -> Vec<SystemId> {
        let mut ranks: Vec<u32> = self
            .in_hook
            .iter()
            .map(|hook| hook.load(Ordering::Relaxed))
            .filter(|&rank| rank != NO_HOOK)
            .collect();
        ranks.extend(self.world.activity.busy());
        ranks.sort_unstable();
        ranks.dedup();
        ranks
            .into_iter()
            .take(NAMED_BUSY)
            .map(|rank| self.world.ids[rank as usize].clone())
            .collect()
    }

    /// Runs `rounds` rounds, answering their reports; stops at the first that fails.
    pub async fn run(&mut self, rounds: u64) -> Result<Vec<RoundReport>, SimulationError> {
        let mut reports = Vec::with_capacity(usize::try_from(rounds).unwrap_or(0));
        for _ in 0..rounds {
            reports.push(self.step().await?);
        }
        Ok(reports)
    }

    /// `look` applied to every live agent's state, in index order (stopped agents are
    /// left out). Runs on the agents' arbiters, between rounds.
    pub async fn inspect<T: Send + 'static>(
        &self,
        look: impl Fn(&SystemId, &S) -> T + Send + Sync + 'static,
    ) -> Result<Vec<T>, SimulationError> {
        let look: Look<S, T> = Arc::new(look);
        let mut all = Vec::with_capacity(self.world.agents());
        for cohort in &self.cohorts {
            let part = cohort
                .send(Inspect {
                    look: Arc::clone(&look),
                })
                .await
                .map_err(|_| SimulationError::Stopped)?;
            all.extend(part);
        }
        Ok(all)
    }

    /// Stops every agent (their `stopping` hooks run), undocks them from the kernel and
    /// stops the simulation's own arbiters.
    pub async fn stop(mut self) {
        self.stopped = true;
        for cohort in &self.cohorts {
            let _ = cohort.send(Halt).await;
        }
        if let Some(pool) = self.pool.take() {
            pool.shutdown();
        }
        self.kernel.undock_agents(self.world.ids.clone()).await;
    }
}

/// A simulation dropped without [`Simulation::stop`] stops its cohorts and undocks its
/// agents in the background; their `stopping` hooks may not run.
impl<S: System> Drop for Simulation<S> {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        for cohort in &self.cohorts {
            // Dropping a simulation cannot wait; one halt per cohort, never dropped.
            cohort.do_send(Halt);
        }
        if let Some(pool) = self.pool.take() {
            pool.shutdown();
        }
        let ids = self.world.ids.clone();
        let kernel = self.kernel.clone();
        actix::spawn(async move {
            kernel.undock_agents(ids).await;
        });
    }
}
