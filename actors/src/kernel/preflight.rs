//! [`Preflight`]: the decisions a kernel makes before it docks a module or a remote
//! system — the module policy, the module's framework, the capability policy on each
//! executor — made without starting anything, so a config can be checked before it runs.
//! The module loader makes its decisions through the same functions.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::error::{DockError, GovernanceError};
use super::modules::{Framework, ModuleDock, ModuleSpec};
use super::remote::RemoteDock;
use crate::capability::{ResourceRef, Scope};
use crate::ids::SystemId;
use crate::policy::{CapabilityQuery, CapabilityVerdict, ModuleQuery, ModuleVerdict, Policy};
use crate::protocol::ModuleLoad;
use crate::rights::Rights;

/// The policy and the frameworks of a kernel being built, to ask what it would decide.
///
/// ```
/// use exokern_actors::kernel::{GovernanceError, Kernel};
/// use exokern_actors::protocol::ModuleLoad;
///
/// # actix_rt::System::new().block_on(async {
/// // The default policy denies every module.
/// let preflight = Kernel::builder().built_in_frameworks().preflight();
/// let refused = preflight.module(&ModuleLoad::new("idle".parse()?, "noop")).await;
/// assert!(matches!(refused, Err(GovernanceError::Denied { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Preflight {
    policy: Arc<dyn Policy>,
    frameworks: BTreeMap<Arc<str>, Arc<dyn Framework>>,
}

impl fmt::Debug for Preflight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preflight")
            .field("policy", &self.policy)
            .field("frameworks", &self.frameworks.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A module the policy admitted and its framework built: what is left is the dock.
pub(super) struct Vetted {
    pub(super) dock: ModuleDock,
    /// The executors it starts with a capability on, and its privilege, as asked.
    pub(super) executors: Vec<Arc<str>>,
    pub(super) privileged: bool,
    /// The deciding module rule, for the audit record of the load.
    pub(super) rule: Option<Arc<str>>,
}

impl Preflight {
    pub(super) fn new(
        policy: Arc<dyn Policy>,
        frameworks: impl IntoIterator<Item = (Arc<str>, Arc<dyn Framework>)>,
    ) -> Preflight {
        Preflight {
            policy,
            frameworks: frameworks.into_iter().collect(),
        }
    }

    pub(super) fn policy(&self) -> &Arc<dyn Policy> {
        &self.policy
    }

    pub(super) fn register(&mut self, name: Arc<str>, framework: Arc<dyn Framework>) {
        self.frameworks.insert(name, framework);
    }

    /// Checks the request's fields and finds its framework.
    pub(super) fn framework(
        &self,
        request: &ModuleLoad,
    ) -> Result<Arc<dyn Framework>, GovernanceError> {
        request.validate()?;
        self.frameworks
            .get(request.framework.as_str())
            .cloned()
            .ok_or_else(|| GovernanceError::UnknownFramework {
                framework: request.framework.clone(),
                known: self.frameworks.keys().map(|k| k.to_string()).collect(),
            })
    }

    /// What the kernel decides on loading `request` at boot (no requester): the module
    /// policy, the framework's check of the settings and channels, and the capability
    /// policy on each executor the module asks for. `Ok` means only the dock is left,
    /// which can still fail on the running kernel's state (a channel or id already taken).
    pub async fn module(&self, request: &ModuleLoad) -> Result<(), GovernanceError> {
        let framework = self.framework(request)?;
        let vetted = vet(&*self.policy, &*framework, None, request.clone())
            .await
            .map_err(|(error, _)| error)?;
        for executor in &vetted.executors {
            executor_grant(&*self.policy, &request.module_id, executor)
                .await
                .map_err(|error| GovernanceError::Dock(Box::new(error)))?;
        }
        Ok(())
    }

    /// What the kernel decides on docking `remote`: the capability policy on each
    /// executor it is to use.
    pub async fn remote(&self, remote: &RemoteDock) -> Result<(), DockError> {
        for executor in remote.executors() {
            executor_grant(&*self.policy, remote.id(), executor).await?;
        }
        Ok(())
    }
}

/// Asks the module policy about `request`, then its framework for the dock.
pub(super) async fn vet(
    policy: &dyn Policy,
    framework: &dyn Framework,
    requester: Option<SystemId>,
    request: ModuleLoad,
) -> Result<Vetted, (GovernanceError, Option<Arc<str>>)> {
    let id = request.module_id.clone();
    let mut query = ModuleQuery::new(requester, id.clone(), request.framework.as_str());
    query.channels = request.channels.clone();
    query.executors = request
        .executors
        .iter()
        .map(|e| Arc::from(e.as_str()))
        .collect();
    query.privileged = request.privileged;
    let decision = policy.module(&query).decide().await;
    let rule = decision.rule;
    if decision.verdict == ModuleVerdict::Reject {
        let error = GovernanceError::Denied {
            reason: decision.reason.to_string(),
            rule: rule.as_deref().map(str::to_owned),
        };
        return Err((error, rule));
    }
    let fail = |problem: String| {
        let error = GovernanceError::Module {
            module: id.clone(),
            problem,
        };
        (error, rule.clone())
    };
    let spec = ModuleSpec::new(id.clone(), request.channels, request.settings);
    let dock = framework
        .build(&spec)
        .map_err(|e| fail(format!("framework `{}`: {e}", request.framework)))?;
    if dock.id() != &id {
        return Err(fail(format!(
            "framework `{}` built a dock for `{}`, not for the module",
            request.framework,
            dock.id()
        )));
    }
    Ok(Vetted {
        dock,
        executors: query.executors,
        privileged: query.privileged,
        rule,
    })
}

/// The capability policy's decision on `system`'s initial capability on `executor`.
async fn executor_grant(
    policy: &dyn Policy,
    system: &SystemId,
    executor: &str,
) -> Result<(), DockError> {
    let query = CapabilityQuery::new(
        system.clone(),
        Scope::Exact(ResourceRef::executor(Arc::from(executor))),
        Rights::EXECUTE,
    );
    let decision = policy.capability(&query).decide().await;
    match decision.verdict {
        CapabilityVerdict::Allow { .. } => Ok(()),
        CapabilityVerdict::Deny => Err(DockError::Capability {
            executor: executor.to_owned(),
            error: Box::new(GovernanceError::Denied {
                reason: decision.reason.to_string(),
                rule: decision.rule.as_deref().map(str::to_owned),
            }),
        }),
    }
}
