//! [`ModuleLoaderActor`]: the kernel's config at boot, the embedding program and
//! privileged systems at run time all load modules along the same path: privilege,
//! module policy, framework ([`Preflight`] makes those decisions), then an atomic dock
//! with the module's initial capabilities (requested as the module, through the
//! capability policy, and held by it).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use actix::prelude::*;

use super::actor::KernelActor;
use super::audit::{Audit, Entry};
use super::error::{GovernanceError, KernelStopped, UndockError};
use super::loads::{Load, ModuleInfo, ModuleLoaded, Unload};
use super::modules::Framework;
use super::preflight::{vet, Preflight, Vetted};
use super::undock::Undock;
use super::vocabulary::require_privileged;
use crate::ids::SystemId;

/// The module loader: the framework registry, and the modules it loaded.
pub(crate) struct ModuleLoaderActor {
    /// The kernel it docks modules with.
    kernel: Addr<KernelActor>,
    /// The module policy and the frameworks.
    preflight: Preflight,
    audit: Audit,
    modules: BTreeMap<SystemId, Arc<str>>,
}

impl fmt::Debug for ModuleLoaderActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleLoaderActor")
            .field("preflight", &self.preflight)
            .field("modules", &self.modules.len())
            .finish()
    }
}

impl ModuleLoaderActor {
    pub(crate) fn new(
        kernel: Addr<KernelActor>,
        preflight: Preflight,
        audit: Audit,
    ) -> ModuleLoaderActor {
        ModuleLoaderActor {
            kernel,
            preflight,
            audit,
            modules: BTreeMap::new(),
        }
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
        self.preflight.register(msg.name, msg.framework);
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
        let framework = match &caller {
            Some(caller) => require_privileged(caller, "a module load"),
            None => Ok(()),
        }
        .and_then(|()| self.preflight.framework(&request));
        let policy = Arc::clone(self.preflight.policy());
        let load = async move {
            let framework = framework.map_err(|e| (e, None))?;
            let name = Arc::<str>::from(request.framework.as_str());
            let requester = caller.as_ref().map(|c| c.id.clone());
            let Vetted {
                dock,
                executors,
                privileged,
                rule,
            } = vet(&*policy, &*framework, requester, request).await?;
            let docked = dock
                .dock(kernel, executors, privileged)
                .await
                .map_err(|e| (GovernanceError::Dock(Box::new(e)), rule.clone()))?;
            Ok((
                ModuleLoaded {
                    module_id: id,
                    channels: docked.channels,
                    capabilities: docked.capabilities,
                },
                rule,
                name,
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
                Ok(Err(UndockError::Unrecorded(error))) => Err(error.into()),
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
