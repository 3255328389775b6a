//! What the module loader is asked ([`Load`], [`Unload`]) and answers ([`ModuleLoaded`],
//! [`ModuleInfo`]), and [`Loader`], where the clients send those requests.

use actix::prelude::*;
use serde::Serialize;

use super::error::GovernanceError;
use super::vocabulary::Caller;
use crate::ids::{ChannelId, SystemId};
use crate::protocol::{GrantInfo, ModuleLoad};

/// The module loader, as the clients of docked systems reach it.
pub(crate) struct Loader {
    pub(crate) loads: Recipient<Load>,
    pub(crate) unloads: Recipient<Unload>,
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
