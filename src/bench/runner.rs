//! [`Runner`]: warms workloads up, times their iterations and compares two of them.

use std::time::Duration;

use tokio::time::Instant;

use super::{BenchError, Budget, Measurement, Phase, Report, Workload};

/// The number of alternating rounds a comparison's measurement is split into.
const ROUNDS: u64 = 10;

/// Runs [`Workload`]s under a [`Budget`]: warm-up, then measured iterations recorded
/// in a [`Measurement`].
///
/// [`compare`](Self::compare) measures a workload beside its baseline in the same run,
/// alternating between the two in ten rounds (each side first in every other round),
/// so that a machine whose speed drifts over minutes slows both alike and the ratio
/// holds.
///
/// Time is read from tokio's clock, so that under paused time (tests) an iteration
/// takes exactly the time its workload sleeps.
#[derive(Debug, Clone)]
pub struct Runner {
    budget: Budget,
    stall: Duration,
}

impl Runner {
    /// A runner with this budget, giving up on an iteration after a minute.
    pub fn new(budget: Budget) -> Runner {
        Runner {
            budget,
            stall: Duration::from_secs(60),
        }
    }

    /// Gives up on an iteration (with [`BenchError::Stalled`]) after `after`.
    #[must_use]
    pub fn stall_after(mut self, after: Duration) -> Runner {
        self.stall = after;
        self
    }

    /// The budget every workload gets.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Measures one workload: setup, warm-up, measurement, teardown.
    pub async fn measure<W: Workload>(
        &self,
        name: &str,
        workload: W,
    ) -> Result<Measurement, BenchError> {
        let mut side = Side::setup(name.to_owned(), workload).await?;
        let measured = self.warm_up_and_measure(&mut side).await;
        side.teardown().await;
        measured
    }

    async fn warm_up_and_measure<W: Workload>(
        &self,
        side: &mut Side<W>,
    ) -> Result<Measurement, BenchError> {
        side.run(self.budget.warm_up, None, self.stall).await?;
        let mut measurement = Measurement::new(side.workload.work());
        side.run(self.budget.measure, Some(&mut measurement), self.stall)
            .await?;
        Ok(measurement)
    }

    /// Measures `exokern` beside `baseline`, which must declare the same work per
    /// iteration: both are set up, warmed up, then measured in alternating rounds, then
    /// torn down. `unit` names one unit of work ("message", "grant").
    pub async fn compare<A: Workload, B: Workload>(
        &self,
        name: &str,
        unit: &str,
        exokern: A,
        baseline: B,
    ) -> Result<Report, BenchError> {
        if exokern.work() != baseline.work() {
            return Err(BenchError::UnlikeWork {
                name: name.to_owned(),
                exokern: exokern.work(),
                baseline: baseline.work(),
            });
        }
        let mut ours = Side::setup(format!("{name} (exokern)"), exokern).await?;
        let mut base = match Side::setup(format!("{name} (raw actix)"), baseline).await {
            Ok(base) => base,
            Err(error) => {
                ours.teardown().await;
                return Err(error);
            }
        };
        let measured = self.alternate(&mut ours, &mut base).await;
        ours.teardown().await;
        base.teardown().await;
        let (exokern, baseline) = measured?;
        Ok(Report {
            name: name.to_owned(),
            unit: unit.to_owned(),
            exokern,
            baseline,
        })
    }

    async fn alternate<A: Workload, B: Workload>(
        &self,
        ours: &mut Side<A>,
        base: &mut Side<B>,
    ) -> Result<(Measurement, Measurement), BenchError> {
        ours.run(self.budget.warm_up, None, self.stall).await?;
        base.run(self.budget.warm_up, None, self.stall).await?;
        let mut measured = (
            Measurement::new(ours.workload.work()),
            Measurement::new(base.workload.work()),
        );
        for round in 0..ROUNDS {
            let part = self.budget.measure.part(round, ROUNDS);
            if round % 2 == 0 {
                ours.run(part, Some(&mut measured.0), self.stall).await?;
                base.run(part, Some(&mut measured.1), self.stall).await?;
            } else {
                base.run(part, Some(&mut measured.1), self.stall).await?;
                ours.run(part, Some(&mut measured.0), self.stall).await?;
            }
        }
        Ok(measured)
    }
}

/// A workload that has been set up, with its label for errors.
struct Side<W: Workload> {
    label: String,
    workload: W,
    state: W::State,
}

impl<W: Workload> Side<W> {
    async fn setup(label: String, mut workload: W) -> Result<Side<W>, BenchError> {
        match workload.setup().await {
            Ok(state) => Ok(Side {
                label,
                workload,
                state,
            }),
            Err(source) => Err(BenchError::Failed {
                workload: label,
                step: "setup",
                source,
            }),
        }
    }

    /// Runs iterations until `phase` is over, recording them in `into` if given.
    async fn run(
        &mut self,
        phase: Phase,
        mut into: Option<&mut Measurement>,
        stall: Duration,
    ) -> Result<(), BenchError> {
        let (mut done, mut elapsed) = (0, Duration::ZERO);
        while !phase.is_over(done, elapsed) {
            let failed = |step, source| BenchError::Failed {
                workload: self.label.clone(),
                step,
                source,
            };
            self.workload
                .prepare(&mut self.state)
                .await
                .map_err(|e| failed("prepare", e))?;
            let start = Instant::now();
            let iteration = tokio::time::timeout(stall, self.workload.iteration(&mut self.state));
            let counted = match iteration.await {
                Ok(Ok(counted)) => counted,
                Ok(Err(source)) => return Err(failed("iteration", source)),
                Err(_) => {
                    return Err(BenchError::Stalled {
                        workload: self.label.clone(),
                        after: stall,
                    })
                }
            };
            let took = start.elapsed();
            if counted != self.workload.work() {
                return Err(BenchError::Miscounted {
                    workload: self.label.clone(),
                    expected: self.workload.work(),
                    counted,
                });
            }
            if let Some(measurement) = into.as_deref_mut() {
                measurement.record(took);
            }
            done += 1;
            elapsed += took;
        }
        Ok(())
    }

    async fn teardown(self) {
        let Side {
            mut workload,
            state,
            ..
        } = self;
        workload.teardown(state).await;
    }
}
