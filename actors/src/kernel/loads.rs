//! What the module loader is asked ([`Load`], [`Unload`]) and answers ([`ModuleLoaded`],
//! [`ModuleInfo`]), and [`Loader`], where the clients send those requests.

use std::sync::Arc;

use actix::prelude::*;
use serde::Serialize;

use super::error::GovernanceError;
use super::vocabulary::Caller;
use crate::ids::{ChannelId, SystemId};
use crate::protocol::{GrantInfo, ModuleLoad};

/// The module loader, as the clients of docked systems reach it. Every dock's client
/// holds one, so the two recipients are shared: a recipient's clone is an allocation.
#[derive(Clone)]
pub(crate) struct Loader(Arc<Lines>);

struct Lines {
    loads: Recipient<Load>,
    unloads: Recipient<Unload>,
}

impl Loader {
    pub(crate) fn new(loads: Recipient<Load>, unloads: Recipient<Unload>) -> Loader {
        Loader(Arc::new(Lines { loads, unloads }))
    }

    pub(crate) fn loads(&self) -> &Recipient<Load> {
        &self.0.loads
    }

    pub(crate) fn unloads(&self) -> &Recipient<Unload> {
        &self.0.unloads
    }
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loader")
    }
}

/// A module the loader docked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ModuleLoaded {
    /// The module's system id.
    pub module_id: SystemId,
    /// The channels it was granted, kernel channels included.
    pub channels: Vec<ChannelId>,
    /// Its initial capabilities, held by the module.
    pub capabilities: Vec<GrantInfo>,
}

/// A loaded module, as [`KernelHandle::modules`](super::KernelHandle::modules) lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModuleInfo {
    /// The module's system id.
    pub module_id: SystemId,
    /// The framework that built it.
    pub framework: String,
}

/// Load a module, as a privileged system or (`caller: None`) the embedding program.
#[derive(Message)]
#[rtype(result = "Result<ModuleLoaded, GovernanceError>")]
pub(crate) struct Load {
    pub(crate) caller: Option<Caller>,
    pub(crate) request: ModuleLoad,
}

/// Unload a module (a full undock), as a privileged system or the embedding program.
#[derive(Message)]
#[rtype(result = "Result<(), GovernanceError>")]
pub(crate) struct Unload {
    pub(crate) caller: Option<Caller>,
    pub(crate) module: SystemId,
}
