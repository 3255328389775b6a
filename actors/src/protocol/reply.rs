//! Governance replies.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::ApprovalId;
use super::request::LifecycleCommand;
use crate::capability::CapabilityId;
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;

/// A capability as a reply reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantInfo {
    /// Its id.
    pub capability: CapabilityId,
    /// What it covers, in display form.
    pub resource: String,
    /// Its rights.
    pub rights: Rights,
    /// When it expires, in seconds since the Unix epoch; `None` if it does not.
    pub expires: Option<f64>,
}

/// The kernel's answer to a [`Request`](super::Request). Replies travel back the way
/// the request came (a per-request reply channel), never through a shared mailbox, so
/// no other system can read or forge them. An escalated action is answered once it is
/// decided (`action_approved` or `action_denied`); the escalation itself is the
/// [`ApprovalEvent::ActionEscalated`](super::ApprovalEvent::ActionEscalated) on
/// `kernel.approvals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reply {
    /// A capability was granted (or derived).
    CapabilityGrant(GrantInfo),
    /// A capability request, derivation or revocation was refused.
    CapabilityDeny {
        /// What was asked for, if the request named a resource.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource: Option<String>,
        /// Why.
        reason: String,
        /// The policy rule that decided, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// A capability and its subtree were revoked.
    CapabilityRevoked {
        /// The capability.
        capability: CapabilityId,
        /// How many capabilities ended (it and its descendants).
        revoked: usize,
    },
    /// The action may be taken.
    ActionApproved {
        /// The executor.
        executor: String,
        /// The payload to use: the requester's, or the policy's rewrite.
        payload: Value,
        /// `true` if the policy rewrote the payload.
        rewritten: bool,
        /// The approval that allowed it, if it was escalated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<ApprovalId>,
    },
    /// The action was taken by the kernel's executor.
    ActionExecuted {
        /// The executor.
        executor: String,
        /// What the executor returned.
        output: Value,
    },
    /// The action may not be taken.
    ActionDenied {
        /// Why.
        reason: String,
        /// The policy rule that decided, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// An approval decision was recorded.
    ApprovalRecorded {
        /// The approval.
        approval: ApprovalId,
        /// What was decided.
        approved: bool,
    },
    /// An approval decision could not be recorded.
    ApprovalError {
        /// The approval.
        approval: ApprovalId,
        /// Why.
        reason: String,
    },
    /// A module was loaded.
    ModuleAccepted {
        /// The module.
        module_id: SystemId,
        /// Its system id (the same).
        system_id: SystemId,
        /// The channels it was wired to.
        granted_wiring: Vec<ChannelId>,
        /// The capabilities it was given (held by the module, not the requester).
        granted_capabilities: Vec<GrantInfo>,
    },
    /// A module was not loaded.
    ModuleRejected {
        /// The module.
        module_id: SystemId,
        /// Why.
        reason: String,
        /// The policy rule that decided, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// A module was unloaded.
    ModuleUnloaded {
        /// The module.
        module_id: SystemId,
    },
    /// A lifecycle command took effect (a drain: finished).
    LifecycleOk {
        /// The command.
        command: LifecycleCommand,
        /// The system.
        system_id: SystemId,
        /// Its state now.
        state: String,
    },
    /// A lifecycle command was refused or failed.
    LifecycleError {
        /// The command.
        command: LifecycleCommand,
        /// The system.
        system_id: SystemId,
        /// Why.
        reason: String,
    },
    /// The request could not be served as sent.
    InvalidRequest {
        /// What was wrong.
        reason: String,
    },
}

impl Reply {
    /// The `type` tag of this reply.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::CapabilityGrant(_) => "capability_grant",
            Reply::CapabilityDeny { .. } => "capability_deny",
            Reply::CapabilityRevoked { .. } => "capability_revoked",
            Reply::ActionApproved { .. } => "action_approved",
            Reply::ActionExecuted { .. } => "action_executed",
            Reply::ActionDenied { .. } => "action_denied",
            Reply::ApprovalRecorded { .. } => "approval_recorded",
            Reply::ApprovalError { .. } => "approval_error",
            Reply::ModuleAccepted { .. } => "module_accepted",
            Reply::ModuleRejected { .. } => "module_rejected",
            Reply::ModuleUnloaded { .. } => "module_unloaded",
            Reply::LifecycleOk { .. } => "lifecycle_ok",
            Reply::LifecycleError { .. } => "lifecycle_error",
            Reply::InvalidRequest { .. } => "invalid_request",
        }
    }
}
