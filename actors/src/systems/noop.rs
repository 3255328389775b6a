//! `noop`: a system that docks and does nothing, a placeholder that holds capabilities.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kernel::{Dock, FrameworkError, ModuleDock, ModuleSpec};
use crate::system::System;

/// `noop` takes no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopSettings {}

struct Noop;

impl System for Noop {
    type Message = Value;
}

/// The `noop` framework: no channels, no settings.
pub fn noop(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    spec.channel_count(0, 0)?;
    let NoopSettings {} = spec.settings()?;
    Ok(ModuleDock::new(Dock::new(spec.id.clone(), || Noop)))
}
