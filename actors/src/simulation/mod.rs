//! Simulations: many agents stepped in rounds that the runtime ends itself.
//!
//! A [`Simulation`] docks agents of one [`System`](crate::system::System) type into a
//! kernel, partitions them over an arbiter pool in [cohorts](Simulation::builder) (one
//! actor per arbiter hosting a contiguous range of agents, so a million agents need
//! neither a million mailboxes nor a broadcast subscription each) and steps them:
//! [`step`](Simulation::step) delivers to every agent the messages sent to it in the last
//! round, then a [`Tick`](crate::system::Tick) with the round's number, and resolves when
//! the constellation is **quiescent** — every cohort's pass done, every future an agent
//! spawned finished, every governance request answered — as the runtime's own counters
//! tell, never user code. A round that cannot end within the
//! [bound](SimulationBuilder::quiescence_bound) fails with the busy agents named.
//!
//! **Lockstep delivery** (the default): what is sent in round `r` is delivered in round
//! `r + 1`, to each agent in order of sender id and then of the sender's send order, so
//! a run's outcome depends only on its seed and its program — not on scheduling nor on
//! the number of arbiters. [`Schedule::Immediate`] delivers within the round instead,
//! in an order that depends on scheduling.
//!
//! **Time and randomness**: [`SystemContext::now`](crate::system::SystemContext::now) and
//! envelopes' `sent_at` read a virtual clock (the round's number times the
//! [round length](SimulationBuilder::round_length)); [`SystemContext::rng`] is a fast
//! generator seeded from the run's seed and the agent's id.
//!
//! **Governance stays**: agents are docked systems, listed in snapshots and driven by
//! lifecycle commands (a paused agent's messages wait, in order, until it resumes); their
//! sends are stamped with their identity and refused unless they are running and hold
//! WRITE; their capability requests and gate decisions count toward quiescence. A hook
//! that panics is counted in the [`RoundReport`] and its agent rebuilt from the factory.
//!
//! [`SystemContext::rng`]: crate::system::SystemContext::rng
//!
//! ```
//! use exokern_actors::kernel::Kernel;
//! use exokern_actors::policy::RuleSet;
//! use exokern_actors::simulation::Simulation;
//! use exokern_actors::system::{System, SystemContext, Tick};
//! use exokern_actors::channel::Inbound;
//!
//! /// Mesa's Boltzmann wealth model: each round, an agent with money gives one unit to
//! /// an agent drawn at random.
//! struct Purse(u64);
//!
//! impl System for Purse {
//!     type Message = u64;
//!
//!     fn on_message(&mut self, _: &mut SystemContext<'_, Self>, gift: Inbound<u64>) {
//!         self.0 += gift.payload();
//!     }
//!
//!     fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
//!         let round = ctx.simulation().expect("an agent of a simulation");
//!         let to = round.random_agent();
//!         if self.0 > 0 && round.send(to, 1).is_ok() {
//!             self.0 -= 1;
//!         }
//!     }
//! }
//!
//! # actix_rt::System::new().block_on(async {
//! let kernel = Kernel::builder().policy(RuleSet::allow_all()).start().await?;
//! let mut sim = Simulation::builder(&kernel, |_| Purse(1)).agents(1_000).seed(7).start().await?;
//! let reports = sim.run(10).await?;
//! assert_eq!(reports[9].round, 10);
//! let wealth: u64 = sim.inspect(|_, purse| purse.0).await?.iter().sum::<u64>() + reports[9].sent;
//! assert_eq!(wealth, 1_000, "money in purses plus money in flight is conserved");
//! sim.stop().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod builder;
mod cohort;
mod driver;
mod error;
mod report;
mod round;
mod world;

pub use builder::{SimulationBuilder, DEFAULT_QUIESCENCE_BOUND};
pub use driver::Simulation;
pub use error::{SendError, SimulationError};
pub use report::RoundReport;
pub use round::{Mailer, Round};
pub use world::Schedule;
