//! The kernel's errors: [`KernelError`] for the embedding program, [`DockError`] for
//! docking, [`GovernanceError`] for a system's governance requests.

use crate::capability::{Denial, DeriveError, GrantError, RevokeError};
use crate::channel::{ChannelError, StartError};
use crate::ids::{ChannelId, SystemId};
use crate::kernel::LifecycleState;
use crate::placement::PlacementError;
use crate::protocol::{ApprovalId, InvalidRequest};
use crate::store::StoreError;
use crate::system::SpawnError;

/// The kernel has shut down (or its actors stopped), so it takes no more requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the kernel has shut down; start a new one")]
pub struct KernelStopped;

/// A decision took effect, but its record did not reach the kernel's durable audit log,
/// so its answer is withheld: a requester is never told of a decision a crash could
/// take back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the decision took effect, but its audit record did not reach the store ({0}); free the disk or fix the store, then ask again")]
pub struct Unrecorded(pub StoreError);

/// Why the kernel could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// There is no arbiter to run it on.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// A kernel channel could not start.
    #[error(transparent)]
    Channel(#[from] StartError),
    /// A kernel channel refused the kernel's own grant.
    #[error(transparent)]
    Grant(#[from] ChannelError),
    /// A setting is out of range.
    #[error("invalid kernel setting: {0}")]
    Setting(String),
    /// The arbiter the kernel was placed on stopped before the kernel could start.
    #[error("the kernel's arbiter stopped before the kernel started: place the kernel on a running arbiter")]
    ArbiterStopped,
    /// The durable audit log could not be opened or read back.
    #[error("the audit log's store: {0}")]
    Audit(StoreError),
}

/// Why a dock was refused. A refused dock changes nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DockError {
    /// A system with this id is docked (or being docked).
    #[error("system `{0}` is already docked: undock it first, or pick another id")]
    AlreadyDocked(SystemId),
    /// A requested channel does not exist.
    #[error("channel `{channel}` does not exist: create it with the kernel (or have the system own it) before docking `{system}`")]
    UnknownChannel {
        /// The system.
        system: SystemId,
        /// The channel.
        channel: ChannelId,
    },
    /// A channel is named twice, or an owned channel's id is taken.
    #[error("channel `{channel}` is already registered: a dock may not shadow or replace an existing channel")]
    ChannelCollision {
        /// The channel.
        channel: ChannelId,
    },
    /// A privileged kernel channel was requested without a privileged dock.
    #[error("channel `{channel}` is privileged: only a privileged dock may be wired to it")]
    Privileged {
        /// The channel.
        channel: ChannelId,
    },
    /// Write access to a kernel channel was requested.
    #[error("channel `{channel}` belongs to the kernel: systems may read it, never write to it")]
    KernelChannel {
        /// The channel.
        channel: ChannelId,
    },
    /// The channel is of another kind or payload type than the link needs.
    #[error("channel `{channel}` is a {actual}, but the system needs a {expected}")]
    WrongType {
        /// The channel.
        channel: ChannelId,
        /// What the link needs.
        expected: String,
        /// What the channel is.
        actual: String,
    },
    /// A channel refused the grant.
    #[error("channel `{channel}` refused the grant: {error}")]
    Grant {
        /// The channel.
        channel: ChannelId,
        /// Its error.
        error: ChannelError,
    },
    /// An executor name is not a valid resource name.
    #[error("executor `{executor}` cannot be named in a capability: {problem}")]
    Executor {
        /// The name given.
        executor: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An initial capability was refused (by the policy, usually).
    #[error("the initial capability on executor `{executor}` was refused: {error}")]
    Capability {
        /// The executor.
        executor: String,
        /// Why.
        error: Box<GovernanceError>,
    },
    /// The system could not be spawned.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The kernel is shutting down.
    #[error("the kernel is shutting down and docks nothing more")]
    ShuttingDown,
    /// The system was docked, but its audit record is not durable.
    #[error(transparent)]
    Unrecorded(#[from] Unrecorded),
    /// The kernel has stopped.
    #[error(transparent)]
    Stopped(#[from] KernelStopped),
}

/// Why undock failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UndockError {
    /// No such system is docked.
    #[error("system `{0}` is not docked")]
    NotDocked(SystemId),
    /// The system was undocked, but its audit record is not durable.
    #[error(transparent)]
    Unrecorded(#[from] Unrecorded),
    /// The kernel has stopped.
    #[error(transparent)]
    Stopped(#[from] KernelStopped),
}

/// Why a governance request did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GovernanceError {
    /// The policy said no.
    #[error("denied by policy: {reason}")]
    Denied {
        /// Why.
        reason: String,
        /// The deciding rule, if one decided.
        rule: Option<String>,
    },
    /// The requester's capabilities do not allow it.
    #[error("capability check failed: {0}")]
    Capability(#[from] Denial),
    /// The capability table refused a grant.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// The capability table refused a derivation.
    #[error(transparent)]
    Derive(#[from] DeriveError),
    /// The capability table refused a revocation.
    #[error(transparent)]
    Revoke(#[from] RevokeError),
    /// No such system is docked.
    #[error("system `{0}` is not docked")]
    UnknownSystem(SystemId),
    /// The lifecycle command is not allowed in the system's state.
    #[error("cannot {command} system `{system}`: it is {state}")]
    Transition {
        /// The system.
        system: SystemId,
        /// The command.
        command: &'static str,
        /// Its state.
        state: LifecycleState,
    },
    /// A drain did not finish in time.
    #[error("system `{system}` did not drain within {timeout:?}")]
    DrainTimedOut {
        /// The system.
        system: SystemId,
        /// The timeout.
        timeout: std::time::Duration,
    },
    /// The executor is not registered, or cannot run actions in the kernel.
    #[error("executor `{executor}`: {problem}")]
    Executor {
        /// The executor.
        executor: String,
        /// What is wrong.
        problem: String,
    },
    /// The requester is not running (paused, revoked, draining, undocked, …).
    #[error("system `{system}` is {state}: only running systems are served")]
    NotRunning {
        /// The requester.
        system: SystemId,
        /// Its state.
        state: LifecycleState,
    },
    /// No framework of that name is registered.
    #[error("no framework `{framework}` is registered; the known ones are: {}", known.join(", "))]
    UnknownFramework {
        /// The name asked for.
        framework: String,
        /// The names registered.
        known: Vec<String>,
    },
    /// The framework could not build the module.
    #[error("module `{module}` cannot be built: {problem}")]
    Module {
        /// The module.
        module: SystemId,
        /// What was wrong.
        problem: String,
    },
    /// The module could not be docked.
    #[error("the module could not be docked: {0}")]
    Dock(Box<DockError>),
    /// The system was not loaded as a module.
    #[error("system `{0}` is not a loaded module; undock it through the kernel handle")]
    NotAModule(SystemId),
    /// The request needs a privileged dock.
    #[error("system `{system}` is not privileged: {what} needs a privileged dock")]
    NotPrivileged {
        /// The requester.
        system: SystemId,
        /// What was asked.
        what: &'static str,
    },
    /// An escalated action was not decided in time.
    #[error("approval {approval} was not decided in time")]
    ApprovalExpired {
        /// The approval.
        approval: ApprovalId,
    },
    /// An approver denied an escalated action.
    #[error("approval {approval} was denied by {decided_by}: {reason}")]
    ApprovalDenied {
        /// The approval.
        approval: ApprovalId,
        /// Who denied it.
        decided_by: String,
        /// Why.
        reason: String,
    },
    /// The request is malformed or refers to something that does not exist.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// No answer within the client's timeout.
    #[error("no answer from the kernel within {0:?}")]
    Timeout(std::time::Duration),
    /// The decision was made, but its audit record is not durable.
    #[error(transparent)]
    Unrecorded(#[from] Unrecorded),
    /// The kernel has stopped.
    #[error(transparent)]
    Stopped(#[from] KernelStopped),
}

impl GovernanceError {
    pub(crate) fn invalid(reason: impl Into<String>) -> GovernanceError {
        GovernanceError::Invalid(InvalidRequest::new(reason))
    }

    /// The policy rule that decided, for a policy's refusal.
    pub fn rule(&self) -> Option<&str> {
        match self {
            GovernanceError::Denied { rule, .. } => rule.as_deref(),
            _ => None,
        }
    }
}
