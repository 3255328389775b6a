//! [`ModuleLoaderActor`]: modules are systems built by a registered [`Framework`] from a
//! [`ModuleLoad`](crate::protocol::ModuleLoad) request. The kernel's config at boot, the embedding program and
//! privileged systems at run time all load modules along the same path: privilege,
//! module policy, framework, an atomic dock with the module's initial capabilities
//! (requested as the module, through the capability policy, and held by it).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::actor::KernelActor;
use super::audit::{Audit, Entry};
use super::dock::Dock;
use super::docking::{DockSystem, Docked};
use super::error::{DockError, GovernanceError, KernelStopped, UndockError};
use super::loads::{Load, ModuleInfo, ModuleLoaded, Unload};
use super::undock::Undock;
use super::vocabulary::require_privileged;
use crate::ids::{ChannelId, SystemId};
use crate::policy::{ModuleQuery, ModuleVerdict, Policy};
use crate::system::System;

/// What a framework is given to build one module.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModuleSpec {
    /// The module's system id.
    pub id: SystemId,
    /// The channels the request wires it to; the framework decides how it uses each.
    pub channels: Vec<ChannelId>,
    /// The framework's settings (`null` if none were given).
    pub settings: Value,
}

impl ModuleSpec {
    /// A spec, as a framework's tests build one.
    pub fn new(id: SystemId, channels: Vec<ChannelId>, settings: Value) -> ModuleSpec {
        ModuleSpec {
            id,
            channels,
            settings,
        }
    }

    /// The settings as `T`; `null` gives `T::default()`. Unknown fields are errors if
    /// `T` denies them (`#[serde(deny_unknown_fields)]`).
    pub fn settings<T: DeserializeOwned + Default>(&self) -> Result<T, FrameworkError> {
        if self.settings.is_null() {
            return Ok(T::default());
        }
        T::deserialize(&self.settings)
            .map_err(|error| FrameworkError::new(format!("settings: {error}")))
    }

    /// Fails unless the request named between `min` and `max` channels.
    pub fn channel_count(&self, min: usize, max: usize) -> Result<(), FrameworkError> {
        let n = self.channels.len();
        if (min..=max).contains(&n) {
            return Ok(());
        }
        let wanted = match (min, max) {
            (0, 0) => "no channels".to_owned(),
            (min, usize::MAX) => format!("at least {min} channel(s)"),
            (min, max) if min == max => format!("exactly {min} channel(s)"),
            (min, max) => format!("{min} to {max} channels"),
        };
        Err(FrameworkError::new(format!(
            "takes {wanted}, and {n} were given"
        )))
    }
}

/// Why a framework could not build a module: bad settings, the wrong channels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FrameworkError(String);

impl FrameworkError {
    /// An error saying what was wrong and what to do.
    pub fn new(message: impl Into<String>) -> FrameworkError {
        FrameworkError(message.into())
    }
}

/// A module's dock, whatever its system type.
pub struct ModuleDock(Box<dyn AnyDock>);

impl ModuleDock {
    /// Wraps a dock.
    pub fn new<S: System>(dock: Dock<S>) -> ModuleDock {
        ModuleDock(Box::new(dock))
    }
}

impl fmt::Debug for ModuleDock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ModuleDock").field(self.0.id()).finish()
    }
}

type DockFuture = Pin<Box<dyn Future<Output = Result<Docked, DockError>>>>;

trait AnyDock: Send {
    fn id(&self) -> &SystemId;
    fn dock(
        self: Box<Self>,
        kernel: Addr<KernelActor>,
        executors: Vec<Arc<str>>,
        privileged: bool,
    ) -> DockFuture;
}

impl<S: System> AnyDock for Dock<S> {
    fn id(&self) -> &SystemId {
        Dock::id(self)
    }

    fn dock(
        self: Box<Self>,
        kernel: Addr<KernelActor>,
        executors: Vec<Arc<str>>,
        privileged: bool,
    ) -> DockFuture {
        let mut dock = executors.into_iter().fold(*self, Dock::executes);
        if privileged {
            dock = dock.privileged();
        }
        Box::pin(async move {
            let (_, docked) = kernel
                .send(DockSystem { dock })
                .await
                .map_err(|_| KernelStopped)??;
            Ok(docked)
        })
    }
}

/// Builds modules of one kind. Any `Fn(&ModuleSpec) -> Result<ModuleDock,
/// FrameworkError>` is one.
///
/// ```
/// use exokern_actors::kernel::{Dock, Framework, FrameworkError, ModuleDock, ModuleSpec};
/// use exokern_actors::system::System;
///
/// struct Quiet;
/// impl System for Quiet {
///     type Message = ();
/// }
///
/// fn quiet(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
///     spec.channel_count(0, 0)?;
///     Ok(ModuleDock::new(Dock::new(spec.id.clone(), || Quiet)))
/// }
/// let framework: &dyn Framework = &quiet;
/// # let _ = framework;
/// ```
pub trait Framework: Send + Sync + 'static {
    /// Builds the dock of the module `spec` describes: its system, wired to the
    /// channels; the loader adds the executors and privilege the request asked for.
    fn build(&self, spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError>;
}

impl<F> Framework for F
where
    F: Fn(&ModuleSpec) -> Result<ModuleDock, FrameworkError> + Send + Sync + 'static,
{
    fn build(&self, spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
        self(spec)
    }
}

/// The module loader: the framework registry, and the modules it loaded.
pub(crate) struct ModuleLoaderActor {
    /// The kernel it docks modules with.
    kernel: Addr<KernelActor>,
    policy: Arc<dyn Policy>,
    audit: Audit,
    frameworks: BTreeMap<Arc<str>, Arc<dyn Framework>>,
    modules: BTreeMap<SystemId, Arc<str>>,
}

impl fmt::Debug for ModuleLoaderActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleLoaderActor")
            .field("frameworks", &self.frameworks.keys().collect::<Vec<_>>())
            .field("modules", &self.modules.len())
            .finish()
    }
}

impl ModuleLoaderActor {
    pub(crate) fn new(
        kernel: Addr<KernelActor>,
        policy: Arc<dyn Policy>,
        audit: Audit,
        frameworks: impl IntoIterator<Item = (Arc<str>, Arc<dyn Framework>)>,
    ) -> ModuleLoaderActor {
        ModuleLoaderActor {
            kernel,
            policy,
            audit,
            frameworks: frameworks.into_iter().collect(),
            modules: BTreeMap::new(),
        }
    }

    fn framework(&self, name: &str) -> Result<Arc<dyn Framework>, GovernanceError> {
        self.frameworks
            .get(name)
            .cloned()
            .ok_or_else(|| GovernanceError::UnknownFramework {
                framework: name.to_owned(),
                known: self.frameworks.keys().map(|k| k.to_string()).collect(),
            })
    }
}

impl Actor for ModuleLoaderActor {
    type Context = Context<Self>;
}

/// Register (or replace) a framework.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RegisterFramework {
    pub(crate) name: Arc<str>,
    pub(crate) framework: Arc<dyn Framework>,
}

impl Handler<RegisterFramework> for ModuleLoaderActor {
    type Result = ();

    fn handle(&mut self, msg: RegisterFramework, _: &mut Context<Self>) {
        self.frameworks.insert(msg.name, msg.framework);
    }
}

impl Handler<Load> for ModuleLoaderActor {
    type Result = ResponseActFuture<Self, Result<ModuleLoaded, GovernanceError>>;

    fn handle(&mut self, msg: Load, _: &mut Context<Self>) -> Self::Result {
        let Load { caller, request } = msg;
        let kernel = self.kernel.clone();
        let id = request.module_id.clone();
        let entry = Entry::new(
            caller.as_ref().map(|c| &c.id),
            "module_load",
            format!("{id} ({})", request.framework),
            "accepted",
        );
        let framework = (|| {
            if let Some(caller) = &caller {
                require_privileged(caller, "a module load")?;
            }
            request.validate()?;
            self.framework(&request.framework)
        })();
        let policy = Arc::clone(&self.policy);
        let load = async move {
            let framework = framework.map_err(|e| (e, None))?;
            let mut query = ModuleQuery::new(
                caller.as_ref().map(|c| c.id.clone()),
                id.clone(),
                request.framework.as_str(),
            );
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
            let spec = ModuleSpec::new(id.clone(), request.channels, request.settings);
            let fail = |problem: String| {
                let error = GovernanceError::Module {
                    module: id.clone(),
                    problem,
                };
                (error, rule.clone())
            };
            let dock = framework
                .build(&spec)
                .map_err(|e| fail(format!("framework `{}`: {e}", request.framework)))?;
            if dock.0.id() != &id {
                return Err(fail(format!(
                    "framework `{}` built a dock for `{}`, not for the module",
                    request.framework,
                    dock.0.id()
                )));
            }
            let docked = dock
                .0
                .dock(kernel, query.executors, request.privileged)
                .await
                .map_err(|e| (GovernanceError::Dock(Box::new(e)), rule.clone()))?;
            Ok((
                ModuleLoaded {
                    module_id: id,
                    channels: docked.channels,
                    capabilities: docked.capabilities,
                },
                rule,
                Arc::<str>::from(request.framework.as_str()),
            ))
        };
        Box::pin(
            load.into_actor(self)
                .map(move |outcome, loader, _| match outcome {
                    Ok((loaded, rule, framework)) => {
                        loader.modules.insert(loaded.module_id.clone(), framework);
                        loader.audit.record(entry.rule(rule.clone()).reason(format!(
                            "{} initial capabilities",
                            loaded.capabilities.len()
                        )));
                        Ok(loaded)
                    }
                    Err((error, rule)) => {
                        loader.audit.record(Entry {
                            decision: "rejected",
                            ..entry.rule(rule.clone()).reason(error.to_string())
                        });
                        Err(error)
                    }
                }),
        )
    }
}

impl Handler<Unload> for ModuleLoaderActor {
    type Result = ResponseActFuture<Self, Result<(), GovernanceError>>;

    fn handle(&mut self, msg: Unload, _: &mut Context<Self>) -> Self::Result {
        let Unload { caller, module } = msg;
        let kernel = self.kernel.clone();
        let entry = Entry::new(
            caller.as_ref().map(|c| &c.id),
            "module_unload",
            module.as_str(),
            "ok",
        );
        let checked = (|| {
            if let Some(caller) = &caller {
                require_privileged(caller, "a module unload")?;
            }
            match self.modules.contains_key(&module) {
                true => Ok(()),
                false => Err(GovernanceError::NotAModule(module.clone())),
            }
        })();
        let id = module.clone();
        let unload = async move {
            checked?;
            match kernel.send(Undock(id.clone())).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(UndockError::NotDocked(id))) => Err(GovernanceError::UnknownSystem(id)),
                Ok(Err(UndockError::Stopped(_))) | Err(_) => Err(KernelStopped.into()),
            }
        };
        Box::pin(unload.into_actor(self).map(move |outcome, loader, _| {
            // A module undocked some other way is forgotten here too.
            if matches!(outcome, Ok(()) | Err(GovernanceError::UnknownSystem(_))) {
                loader.modules.remove(&module);
            }
            loader.audit.record(match &outcome {
                Ok(()) => entry,
                Err(error) => Entry {
                    decision: "error",
                    ..entry.reason(error.to_string())
                },
            });
            outcome
        }))
    }
}

/// List the loaded modules.
#[derive(Message)]
#[rtype(result = "Vec<ModuleInfo>")]
pub(crate) struct ListModules;

impl Handler<ListModules> for ModuleLoaderActor {
    type Result = MessageResult<ListModules>;

    fn handle(&mut self, _: ListModules, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.modules
                .iter()
                .map(|(id, framework)| ModuleInfo {
                    module_id: id.clone(),
                    framework: framework.to_string(),
                })
                .collect(),
        )
    }
}
