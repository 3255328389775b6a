//! Modules are systems built by a registered [`Framework`] from a
//! [`ModuleLoad`](crate::protocol::ModuleLoad) request: what a framework is given
//! ([`ModuleSpec`]) and what it answers ([`ModuleDock`], [`FrameworkError`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix::Addr;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::actor::KernelActor;
use super::dock::Dock;
use super::docking::{DockSystem, Docked};
use super::error::{DockError, KernelStopped};
use crate::ids::{ChannelId, SystemId};
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

    /// The id of the system it docks.
    pub fn id(&self) -> &SystemId {
        self.0.id()
    }

    /// Docks it with `kernel`, with these initial capabilities and privilege.
    pub(super) fn dock(
        self,
        kernel: Addr<KernelActor>,
        executors: Vec<Arc<str>>,
        privileged: bool,
    ) -> DockFuture {
        self.0.dock(kernel, executors, privileged)
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
