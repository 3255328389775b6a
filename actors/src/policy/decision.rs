//! [`Decision`]: what a policy decided, which rule decided it, and why.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// A policy's decision: the verdict, the rule that made it (for the audit log), and a
/// reason a requester can read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision<V> {
    /// What was decided.
    pub verdict: V,
    /// The deciding rule's name; `None` when no rule matched (the default applied) or the
    /// policy has no named rules.
    pub rule: Option<Arc<str>>,
    /// Why, in words.
    pub reason: Arc<str>,
}

impl<V> Decision<V> {
    /// A decision made by `rule`.
    pub fn by_rule(verdict: V, rule: impl Into<Arc<str>>, reason: impl Into<Arc<str>>) -> Self {
        Decision {
            verdict,
            rule: Some(rule.into()),
            reason: reason.into(),
        }
    }

    /// A decision made without a named rule.
    pub fn new(verdict: V, reason: impl Into<Arc<str>>) -> Self {
        Decision {
            verdict,
            rule: None,
            reason: reason.into(),
        }
    }
}

/// May a system have the capability it asked for?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum CapabilityVerdict {
    /// Yes, living at most `max_ttl` (the kernel's own cap applies as well).
    Allow {
        /// The longest lifetime this grant may have; `None` leaves the kernel's cap.
        #[serde(with = "crate::serde_with::opt_secs")]
        max_ttl: Option<Duration>,
    },
    /// No.
    Deny,
}

/// May a system take the action it asked for?
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ActionVerdict {
    /// Yes, with the payload as the policy says.
    Approve(PayloadChange),
    /// No.
    Deny,
    /// Only if an approver says so.
    Escalate {
        /// Who should decide (a role name, e.g. `human` or `security`).
        to: String,
    },
}

/// What becomes of an approved action's payload. Distinct from an empty replacement, so
/// a policy can redact everything.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "payload", content = "value", rename_all = "snake_case")]
pub enum PayloadChange {
    /// The payload goes through as the requester sent it.
    Unchanged,
    /// The payload is replaced by this one.
    Replace(Value),
}

/// May a module be loaded?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleVerdict {
    /// Yes.
    Admit,
    /// No.
    Reject,
}
