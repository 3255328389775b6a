//! What a policy is asked: [`CapabilityQuery`], [`ActionQuery`], [`ModuleQuery`], and the
//! [`Risk`] the kernel's executor registry assigns.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capability::Scope;
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;

/// How dangerous an executor is. Set by whoever registers the executor with the kernel,
/// never by a requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reads, or effects that are trivially undone.
    Low,
    /// Effects that can be undone with some work.
    Medium,
    /// Effects that are hard to undo.
    High,
    /// Effects that cannot be undone.
    Irreversible,
}

impl Risk {
    /// The lowercase name, as in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Irreversible => "irreversible",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A risk name that is not one of `low`, `medium`, `high`, `irreversible`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown risk {0:?}: use low, medium, high or irreversible")]
pub struct ParseRiskError(pub String);

impl FromStr for Risk {
    type Err = ParseRiskError;
    fn from_str(s: &str) -> Result<Risk, ParseRiskError> {
        match s {
            "low" => Ok(Risk::Low),
            "medium" => Ok(Risk::Medium),
            "high" => Ok(Risk::High),
            "irreversible" => Ok(Risk::Irreversible),
            other => Err(ParseRiskError(other.escape_debug().to_string())),
        }
    }
}

/// A system asks for a capability.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CapabilityQuery {
    /// The requester, as its handle identifies it.
    pub system: SystemId,
    /// What it asks for.
    #[serde(serialize_with = "crate::serde_with::text::serialize")]
    pub scope: Scope,
    /// With which rights.
    pub rights: Rights,
    /// The lifetime it asked for, if any.
    #[serde(with = "crate::serde_with::opt_secs")]
    pub ttl: Option<Duration>,
    /// Free-form context from the requester (a reason, a task id); rules ignore it, a
    /// custom policy may read it.
    pub context: Value,
}

impl CapabilityQuery {
    /// A query with no requested lifetime and no context.
    pub fn new(system: SystemId, scope: Scope, rights: Rights) -> CapabilityQuery {
        CapabilityQuery {
            system,
            scope,
            rights,
            ttl: None,
            context: Value::Null,
        }
    }
}

/// A system asks to take an action with an executor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActionQuery {
    /// The requester, as its handle identifies it.
    pub system: SystemId,
    /// The verb, e.g. `GET` or `send_email`.
    pub action: Arc<str>,
    /// The executor's name, e.g. `http`.
    pub executor: Arc<str>,
    /// What the action is done to, e.g. a URL.
    pub target: Arc<str>,
    /// The executor's risk, from the kernel's registry.
    pub risk: Risk,
    /// The action's arguments.
    pub payload: Value,
}

impl ActionQuery {
    /// A query with an empty payload.
    pub fn new(
        system: SystemId,
        action: impl Into<Arc<str>>,
        executor: impl Into<Arc<str>>,
        target: impl Into<Arc<str>>,
        risk: Risk,
    ) -> ActionQuery {
        ActionQuery {
            system,
            action: action.into(),
            executor: executor.into(),
            target: target.into(),
            risk,
            payload: Value::Null,
        }
    }

    /// Sets the payload.
    #[must_use]
    pub fn payload(mut self, payload: Value) -> ActionQuery {
        self.payload = payload;
        self
    }
}

/// A module is to be loaded, at boot or by a privileged system.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ModuleQuery {
    /// Who asks: `None` at boot (the kernel's own config).
    pub requester: Option<SystemId>,
    /// The module's system id.
    pub module: SystemId,
    /// The framework that builds it.
    pub framework: Arc<str>,
    /// The channels it asks to be wired to.
    pub channels: Vec<ChannelId>,
    /// The executors it asks to use.
    pub executors: Vec<Arc<str>>,
    /// Whether it asks for a privileged dock.
    pub privileged: bool,
}

impl ModuleQuery {
    /// A query for a module that asks for no channels, executors or privilege.
    pub fn new(
        requester: Option<SystemId>,
        module: SystemId,
        framework: impl Into<Arc<str>>,
    ) -> ModuleQuery {
        ModuleQuery {
            requester,
            module,
            framework: framework.into(),
            channels: Vec::new(),
            executors: Vec::new(),
            privileged: false,
        }
    }
}
