//! Governance requests, as a system (or a remote client) sends them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::ApprovalId;
use super::InvalidRequest;
use crate::capability::{CapabilityId, Caveats, Scope, MAX_CAVEAT_LEN};
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;
use crate::serde_with::opt_secs;

/// The longest action, executor or target name, in bytes.
pub(super) const MAX_NAME: usize = MAX_CAVEAT_LEN;

/// A governance request. The requester is never a field: it is whoever the request
/// arrived from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// Ask for a capability.
    CapabilityRequest(CapabilityRequest),
    /// Derive a narrower capability from one held.
    CapabilityDerive(CapabilityDerive),
    /// Revoke a capability held or derived from one held, with its whole subtree.
    CapabilityRevoke(CapabilityRevoke),
    /// Ask whether an action may be taken (the gate answers; nothing runs).
    ActionAuthorize(ActionRequest),
    /// Ask the kernel to take an action with its registered executor.
    ActionExecute(ActionRequest),
    /// Approve or deny an escalated action (privileged).
    ApprovalDecision(ApprovalDecision),
    /// Load a module (privileged).
    ModuleLoad(ModuleLoad),
    /// Unload a module (privileged).
    ModuleUnload(ModuleUnload),
    /// Change a system's lifecycle state (privileged).
    LifecycleCommand(LifecycleRequest),
}

impl Request {
    /// The `type` tag of this request.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::CapabilityRequest(_) => "capability_request",
            Request::CapabilityDerive(_) => "capability_derive",
            Request::CapabilityRevoke(_) => "capability_revoke",
            Request::ActionAuthorize(_) => "action_authorize",
            Request::ActionExecute(_) => "action_execute",
            Request::ApprovalDecision(_) => "approval_decision",
            Request::ModuleLoad(_) => "module_load",
            Request::ModuleUnload(_) => "module_unload",
            Request::LifecycleCommand(_) => "lifecycle_command",
        }
    }

    /// Checks what serde cannot: lengths, positive lifetimes, usable caveats. The
    /// kernel's managers check the same of every request they serve, however it came.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        match self {
            Request::CapabilityRequest(r) => r.validate(),
            Request::CapabilityDerive(r) => r.validate(),
            Request::ActionAuthorize(r) | Request::ActionExecute(r) => r.validate(),
            Request::ApprovalDecision(d) => d.validate(),
            Request::ModuleLoad(m) => m.validate(),
            Request::LifecycleCommand(l) => l.validate(),
            Request::CapabilityRevoke(_) | Request::ModuleUnload(_) => Ok(()),
        }
    }
}

/// Checks a scope's names, for a request.
pub(crate) fn check_scope(scope: &Scope) -> Result<(), InvalidRequest> {
    scope
        .validate()
        .map_err(|e| InvalidRequest::new(e.to_string()))
}

pub(crate) fn check_ttl(ttl: Option<Duration>) -> Result<(), InvalidRequest> {
    match ttl {
        Some(ttl) if ttl.is_zero() => Err(InvalidRequest::new(
            "a duration of zero: give a positive number of seconds, or leave it out",
        )),
        _ => Ok(()),
    }
}

fn check_name(field: &str, value: &str) -> Result<(), InvalidRequest> {
    if value.is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(InvalidRequest::new(format!(
            "`{field}` must be 1 to {MAX_NAME} bytes of printable text"
        )));
    }
    Ok(())
}

/// Caveats as a request states them; the expiry comes from the request's TTL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaveatSpec {
    /// Only these actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// Only targets matching every one of these patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// At most this many uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
}

impl CaveatSpec {
    /// The caveats, validated.
    pub fn to_caveats(&self) -> Result<Caveats, InvalidRequest> {
        let mut caveats = Caveats::new();
        if let Some(actions) = &self.actions {
            caveats = caveats.actions(actions.iter().map(String::as_str));
        }
        for target in &self.targets {
            caveats = caveats.target(target.as_str());
        }
        if let Some(uses) = self.max_uses {
            caveats = caveats.max_uses(uses);
        }
        caveats
            .validate()
            .map_err(|e| InvalidRequest::new(e.to_string()))?;
        Ok(caveats)
    }
}

/// Ask for a capability over `resource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityRequest {
    /// What it covers: one resource (`executor:http`) or a kind (`mcp:*`).
    #[serde(with = "crate::serde_with::text")]
    pub resource: Scope,
    /// With which rights (`"EXECUTE"`, `"R|W"`, or the bit mask).
    pub rights: Rights,
    /// How long it should live, in seconds; the policy caps it.
    #[serde(
        default,
        rename = "ttl_secs",
        with = "opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<Duration>,
    /// Conditions that narrow it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub caveats: CaveatSpec,
    /// Context for the policy (a reason, a task id).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub context: Value,
}

impl CapabilityRequest {
    /// Checks the resource's names, a positive lifetime and usable caveats.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        self.checked_caveats().map(drop)
    }

    /// Checks the request like [`validate`](Self::validate), and answers the caveats it
    /// asks for, built once.
    pub fn checked_caveats(&self) -> Result<Caveats, InvalidRequest> {
        check_scope(&self.resource)?;
        check_ttl(self.ttl)?;
        self.caveats.to_caveats()
    }

    /// A request for `rights` over `resource`, with no TTL, caveats or context.
    pub fn new(resource: Scope, rights: Rights) -> CapabilityRequest {
        CapabilityRequest {
            resource,
            rights,
            ttl: None,
            caveats: CaveatSpec::default(),
            context: Value::Null,
        }
    }

    /// Asks for a lifetime (the policy may cap it).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> CapabilityRequest {
        self.ttl = Some(ttl);
        self
    }

    /// Attaches caveats.
    #[must_use]
    pub fn caveats(mut self, caveats: CaveatSpec) -> CapabilityRequest {
        self.caveats = caveats;
        self
    }

    /// Attaches context for the policy.
    #[must_use]
    pub fn context(mut self, context: Value) -> CapabilityRequest {
        self.context = context;
        self
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Derive a narrower capability from `parent`, for the requester or (with DELEGATE)
/// another system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityDerive {
    /// The capability derived from; the requester must hold it.
    pub parent: CapabilityId,
    /// Who gets the new capability; default the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<SystemId>,
    /// Its rights, within the parent's.
    pub rights: Rights,
    /// Its scope, within the parent's; default the parent's.
    #[serde(
        default,
        with = "crate::serde_with::text::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource: Option<Scope>,
    /// Its lifetime, within the parent's, in seconds.
    #[serde(
        default,
        rename = "ttl_secs",
        with = "opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<Duration>,
    /// Caveats added to the parent's.
    #[serde(default, skip_serializing_if = "is_default")]
    pub caveats: CaveatSpec,
}

impl CapabilityDerive {
    /// Checks the scope's names, a positive lifetime and usable caveats.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        if let Some(scope) = &self.resource {
            check_scope(scope)?;
        }
        check_ttl(self.ttl)?;
        self.caveats.to_caveats().map(drop)
    }
}

/// Revoke `capability` and everything derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityRevoke {
    /// The capability.
    pub capability: CapabilityId,
}

/// An action through the gate: `action` on `target` with `executor`. There is no risk
/// field: risk comes from the kernel's executor registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// The verb, e.g. `GET`.
    pub action: String,
    /// The executor's name, e.g. `http`.
    pub executor: String,
    /// What it is done to, e.g. a URL.
    pub target: String,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub payload: Value,
    /// The capability presented; without it the gate looks for any capability of the
    /// requester that allows the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<CapabilityId>,
}

impl ActionRequest {
    /// Checks the names' lengths and characters.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        check_name("action", &self.action)?;
        check_name("executor", &self.executor)?;
        check_name("target", &self.target)
    }

    /// `action` on `target` with `executor`, with no payload.
    pub fn new(
        action: impl Into<String>,
        executor: impl Into<String>,
        target: impl Into<String>,
    ) -> ActionRequest {
        ActionRequest {
            action: action.into(),
            executor: executor.into(),
            target: target.into(),
            payload: Value::Null,
            capability: None,
        }
    }

    /// Sets the payload.
    #[must_use]
    pub fn payload(mut self, payload: Value) -> ActionRequest {
        self.payload = payload;
        self
    }

    /// Presents a specific capability.
    #[must_use]
    pub fn capability(mut self, capability: CapabilityId) -> ActionRequest {
        self.capability = Some(capability);
        self
    }
}

/// Decide an escalated action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDecision {
    /// The pending approval.
    pub approval: ApprovalId,
    /// Approve (`true`) or deny.
    pub approve: bool,
    /// Why; shown to the requester on a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApprovalDecision {
    /// Checks the reason's length.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        match &self.reason {
            Some(reason) if reason.len() > MAX_NAME => Err(InvalidRequest::new(format!(
                "`reason` is {} bytes; the limit is {MAX_NAME}",
                reason.len()
            ))),
            _ => Ok(()),
        }
    }
}

/// Load a module: a system built by a registered framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleLoad {
    /// The new system's id.
    pub module_id: SystemId,
    /// The framework that builds it (`noop`, `ticker`, `echo`, `worker`, `logger`, or
    /// one the embedding program registered).
    pub framework: String,
    /// Channels it is wired to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelId>,
    /// Executors it gets an EXECUTE capability for (through the capability policy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<String>,
    /// Dock it privileged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Framework settings.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub settings: Value,
}

impl ModuleLoad {
    /// Load `module_id`, built by `framework`, with no channels, executors, privilege or
    /// settings.
    pub fn new(module_id: SystemId, framework: impl Into<String>) -> ModuleLoad {
        ModuleLoad {
            module_id,
            framework: framework.into(),
            channels: Vec::new(),
            executors: Vec::new(),
            privileged: false,
            settings: Value::Null,
        }
    }

    /// Wires it to `channel` too.
    #[must_use]
    pub fn channel(mut self, channel: ChannelId) -> ModuleLoad {
        self.channels.push(channel);
        self
    }

    /// Gives it an EXECUTE capability on `executor` too (if the capability policy allows).
    #[must_use]
    pub fn executor(mut self, executor: impl Into<String>) -> ModuleLoad {
        self.executors.push(executor.into());
        self
    }

    /// Docks it privileged (if the module policy allows).
    #[must_use]
    pub fn privileged(mut self) -> ModuleLoad {
        self.privileged = true;
        self
    }

    /// The framework's settings.
    #[must_use]
    pub fn settings(mut self, settings: Value) -> ModuleLoad {
        self.settings = settings;
        self
    }

    /// Checks the names' lengths and characters.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        check_name("framework", &self.framework)?;
        self.executors
            .iter()
            .try_for_each(|e| check_name("executor", e))
    }
}

/// Unload a module: a full undock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleUnload {
    /// The module's system id.
    pub module_id: SystemId,
}

/// A lifecycle command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleCommand {
    /// Revoke every capability; the system is served nothing more until resumed.
    Revoke,
    /// Stop deliveries and ticks; messages wait.
    Pause,
    /// Deliver again.
    Resume,
    /// Let the system finish what it holds, then stop it (in the background).
    Drain,
}

impl LifecycleCommand {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleCommand::Revoke => "revoke",
            LifecycleCommand::Pause => "pause",
            LifecycleCommand::Resume => "resume",
            LifecycleCommand::Drain => "drain",
        }
    }
}

/// Apply `command` to `system_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    /// What to do.
    pub command: LifecycleCommand,
    /// To which system.
    pub system_id: SystemId,
    /// How long a drain may take, in seconds (default 30).
    #[serde(
        default,
        rename = "timeout_secs",
        with = "opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
}

impl LifecycleRequest {
    /// Checks that a timeout given is positive.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        check_ttl(self.timeout)
    }
}
