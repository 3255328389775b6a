//! What the kernel publishes: the [`Heartbeat`] on `kernel.heartbeat` and
//! [`ApprovalEvent`]s on `kernel.approvals`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::ids::SystemId;

/// A pending approval's id: a random UUID, shown as `approval:<uuid>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApprovalId(Uuid);

impl ApprovalId {
    pub(crate) fn random() -> ApprovalId {
        ApprovalId(Uuid::new_v4())
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "approval:{}", self.0)
    }
}

impl fmt::Debug for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An approval's life, as broadcast on `kernel.approvals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApprovalEvent {
    /// An action was escalated and waits for a decision.
    ActionEscalated {
        /// The approval to decide.
        approval: ApprovalId,
        /// Who asked.
        system: SystemId,
        /// The verb.
        action: String,
        /// The executor.
        executor: String,
        /// The target.
        target: String,
        /// The payload, as the policy left it.
        payload: Value,
        /// Why it was escalated.
        reason: String,
        /// Who should decide.
        escalated_to: String,
        /// The policy rule that escalated it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// Seconds until it is denied for want of a decision.
        expires_in_secs: f64,
    },
    /// A decision was made, or the approval expired.
    ApprovalResolved {
        /// The approval.
        approval: ApprovalId,
        /// The outcome.
        approved: bool,
        /// Who decided: a system, or `kernel` (the embedding program, or a timeout).
        decided_by: String,
        /// Why.
        reason: String,
    },
}

/// One system, as the heartbeat reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemSummary {
    /// The system.
    pub id: SystemId,
    /// Its lifecycle state.
    pub state: String,
    /// Docked privileged.
    pub privileged: bool,
}

/// One channel's depth, as the heartbeat reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDepth {
    /// The channel (kernel channels included).
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Messages waiting (retained for a broadcast).
    pub depth: u64,
    /// Messages accepted from writers since the channel started.
    #[serde(default)]
    pub accepted: u64,
    /// Deliveries made since the channel started (one per subscriber on a broadcast).
    #[serde(default)]
    pub delivered: u64,
}

/// The kernel's pulse on `kernel.heartbeat`, at the configured interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The kernel's id.
    pub kernel_id: String,
    /// Wall-clock time, seconds since the Unix epoch.
    pub timestamp: f64,
    /// The beat's number, from 0.
    pub beat: u64,
    /// Docked systems, sorted by id.
    pub systems: Vec<SystemSummary>,
    /// Live capabilities (expired ones are swept first).
    pub capabilities_active: usize,
    /// Pending approvals.
    pub approvals_pending: usize,
    /// Channel depths, sorted by id.
    pub channels: Vec<ChannelDepth>,
}
