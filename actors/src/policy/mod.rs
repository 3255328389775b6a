//! Policy: what the kernel allows, beyond what capabilities allow.
//!
//! Every governance request passes two checks: the requester's capabilities, and the
//! kernel's [`Policy`]. A policy answers three questions, each with a [`Decision`]
//! naming the rule that decided and why:
//!
//! - may this system have this capability ([`CapabilityQuery`] → [`CapabilityVerdict`],
//!   which also caps the capability's lifetime);
//! - may this system take this action ([`ActionQuery`] → [`ActionVerdict`]: approve,
//!   optionally rewriting the payload, deny, or escalate to an approver);
//! - may this module be loaded ([`ModuleQuery`] → [`ModuleVerdict`]).
//!
//! The [`RuleSet`] is the built-in policy: plain serde data, validated when it loads,
//! deny by default, an explicit deny always wins. The risk of an action comes from the
//! kernel's executor registry ([`Risk`]), never from the requester. A policy may also be
//! any type implementing [`Policy`], including one that asks a remote service: an
//! evaluation may be [`Evaluation::Pending`], and the kernel keeps serving other
//! requests while it waits.
//!
//! ```
//! use exokern_actors::policy::{ActionQuery, ActionVerdict, Policy, Risk, RuleSet};
//! use exokern_actors::SystemId;
//!
//! let rules: RuleSet = serde_json::from_str(r#"{ "rules": [
//!     { "name": "crawlers fetch", "on": "action", "effect": "allow",
//!       "systems": ["crawler-*"], "executors": ["http"], "actions": ["GET"] },
//!     { "name": "no intranet", "on": "action", "effect": "deny",
//!       "targets": ["https://intranet.*"] }
//! ]}"#).unwrap();
//!
//! let query = ActionQuery::new(SystemId::new("crawler-1").unwrap(), "GET", "http",
//!                              "https://example.com/", Risk::Low);
//! let decision = rules.action(&query).ready().unwrap();
//! assert!(matches!(decision.verdict, ActionVerdict::Approve(_)));
//! assert_eq!(decision.rule.as_deref(), Some("crawlers fetch"));
//!
//! let inside = ActionQuery::new(SystemId::new("crawler-1").unwrap(), "GET", "http",
//!                               "https://intranet.example.com/", Risk::Low);
//! let decision = rules.action(&inside).ready().unwrap();
//! assert_eq!(decision.verdict, ActionVerdict::Deny);
//! assert_eq!(decision.rule.as_deref(), Some("no intranet"));
//!
//! // A typo fails when the rules load, not when they are used.
//! assert!(serde_json::from_str::<RuleSet>(
//!     r#"{ "rules": [{ "name": "x", "on": "action", "effect": "Allow" }] }"#).is_err());
//! ```

mod decision;
pub(crate) mod query;
mod rules;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use decision::{ActionVerdict, CapabilityVerdict, Decision, ModuleVerdict, PayloadChange};
pub use query::{ActionQuery, CapabilityQuery, ModuleQuery, ParseRiskError, Risk};
pub use rules::{Effect, PolicyError, Rule, RuleSet, Subject};

/// The kernel's policy: consulted for every capability request, action and module load,
/// after the requester's identity and capabilities have been checked.
///
/// Implementations must be cheap to call: return [`Evaluation::Ready`] when the answer
/// is known at once, and [`Evaluation::Pending`] only for real waiting (a remote
/// service). Pending evaluations run on the kernel's arbiter, concurrently with other
/// requests; the kernel re-checks the requester's state and capability when the
/// decision arrives, so a revocation during the wait still wins.
pub trait Policy: fmt::Debug + Send + Sync + 'static {
    /// May `query.system` be granted this capability, and for how long at most?
    fn capability(&self, query: &CapabilityQuery) -> Evaluation<CapabilityVerdict>;

    /// May `query.system` take this action?
    fn action(&self, query: &ActionQuery) -> Evaluation<ActionVerdict>;

    /// May this module be loaded?
    fn module(&self, query: &ModuleQuery) -> Evaluation<ModuleVerdict>;
}

/// A decision that is still being made.
pub type PendingDecision<V> = Pin<Box<dyn Future<Output = Decision<V>>>>;

/// A policy's answer: ready now, or a future that yields it.
#[must_use = "an evaluation carries the policy's decision"]
pub enum Evaluation<V> {
    /// Decided.
    Ready(Decision<V>),
    /// Being decided; the kernel awaits it on its own arbiter.
    Pending(PendingDecision<V>),
}

impl<V> Evaluation<V> {
    /// An evaluation that waits for `decision`.
    pub fn pending(decision: impl Future<Output = Decision<V>> + 'static) -> Evaluation<V> {
        Evaluation::Pending(Box::pin(decision))
    }

    /// The decision, if it is ready.
    pub fn ready(self) -> Option<Decision<V>> {
        match self {
            Evaluation::Ready(decision) => Some(decision),
            Evaluation::Pending(_) => None,
        }
    }

    /// The decision, waiting for it if need be.
    pub async fn decide(self) -> Decision<V> {
        match self {
            Evaluation::Ready(decision) => decision,
            Evaluation::Pending(pending) => pending.await,
        }
    }
}

impl<V> From<Decision<V>> for Evaluation<V> {
    fn from(decision: Decision<V>) -> Evaluation<V> {
        Evaluation::Ready(decision)
    }
}

impl<V: fmt::Debug> fmt::Debug for Evaluation<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evaluation::Ready(decision) => f.debug_tuple("Ready").field(decision).finish(),
            Evaluation::Pending(_) => f.write_str("Pending"),
        }
    }
}
