//! The simulation's errors: [`SimulationError`] for building and stepping, [`SendError`]
//! for an agent's sends.

use std::time::Duration;

use crate::ids::{ChannelId, SystemId};
use crate::kernel::{DockError, KernelStopped, LifecycleState};
use crate::placement::PlacementError;

/// Why a simulation could not be built or a round could not end.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimulationError {
    /// The agents could not be docked.
    #[error("the simulation's agents could not be docked: {0}")]
    Dock(#[from] DockError),
    /// The arbiters could not be had.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// A setting is out of range.
    #[error("invalid simulation setting: {0}")]
    Setting(String),
    /// An agent's factory panicked while the simulation was built.
    #[error("the factory of agent `{agent}` panicked ({panic}); fix the factory")]
    Factory {
        /// The agent.
        agent: SystemId,
        /// The panic's message.
        panic: String,
    },
    /// A round did not become quiescent within the bound. The simulation cannot go on:
    /// the busy agents' work would leak into the next round.
    #[error("round {round} was not quiescent after {bound:?}: agents still busy: {}; raise the bound (`SimulationBuilder::quiescence_bound`) or find what they wait for", list(.busy))]
    NotQuiescent {
        /// The round.
        round: u64,
        /// The bound.
        bound: Duration,
        /// The agents with a hook running, a future or a governance request in flight
        /// (up to the first hundred).
        busy: Vec<SystemId>,
    },
    /// An earlier round failed, so the simulation takes no more rounds.
    #[error(
        "round {round} failed earlier, so the simulation takes no more rounds; build a new one"
    )]
    Failed {
        /// The round that failed.
        round: u64,
    },
    /// The simulation (its cohorts or its kernel) has stopped.
    #[error("the simulation has stopped; build a new one")]
    Stopped,
}

impl From<KernelStopped> for SimulationError {
    fn from(_: KernelStopped) -> SimulationError {
        SimulationError::Stopped
    }
}

fn list(ids: &[SystemId]) -> String {
    if ids.is_empty() {
        return "none found (a cohort is stalled)".to_owned();
    }
    ids.iter()
        .map(SystemId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why an agent's send was refused. A refused send changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// There is no agent with this index.
    #[error("no agent {index}: the simulation has {agents} agents (indices 0..{agents})")]
    UnknownAgent {
        /// The index asked for.
        index: usize,
        /// How many agents there are.
        agents: usize,
    },
    /// There is no agent with this id.
    #[error("no agent `{0}` in this simulation")]
    UnknownId(SystemId),
    /// The sender is not running (paused, revoked, draining or stopped).
    #[error("agent `{system}` is {state}, so it may not send; resume it first")]
    NotRunning {
        /// The sender.
        system: SystemId,
        /// Its state.
        state: LifecycleState,
    },
    /// The agents were docked without WRITE on the simulation's channel.
    #[error("agent `{system}` holds no WRITE right on `{channel}`; build the simulation with `rights(Rights::READ | Rights::WRITE)`")]
    NotPermitted {
        /// The sender.
        system: SystemId,
        /// The simulation's channel.
        channel: ChannelId,
    },
}
