//! [`RoundReport`]: what one round did.

use std::time::Duration;

use serde::Serialize;

/// What one round did, counted by the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RoundReport {
    /// The round's number: 1 for the first.
    pub round: u64,
    /// Messages handed to agents' `on_message`.
    pub deliveries: u64,
    /// Messages agents sent (in lockstep mode, delivered next round).
    pub sent: u64,
    /// Governance requests of agents answered (capability requests, gate decisions,
    /// lifecycle commands), whatever the answer.
    pub decisions: u64,
    /// Hooks that panicked; each agent was rebuilt from its factory.
    pub panics: u64,
    /// Messages for agents that had stopped, dropped and counted here.
    pub dropped: u64,
    /// Wall-clock time the round took.
    pub wall: Duration,
}
