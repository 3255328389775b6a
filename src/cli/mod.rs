//! The subcommands of the `exokern` binary, one file each.

use std::process::ExitCode;

use exokern::config::ConfigError;
use exokern::kernel::{DockError, GovernanceError};
use exokern::launch::LaunchError;

pub(crate) mod bench;
pub(crate) mod inspect;
pub(crate) mod launch;
pub(crate) mod token;

/// A config that cannot be used: said on stderr, exit 2.
fn config_error(error: &ConfigError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}

/// A config the policy or a framework refuses (found by
/// [`preflight`](exokern::launch::preflight)): said on stderr with what to change, exit
/// 2, as a config error, since the config is what must change.
fn refusal(error: &LaunchError) -> ExitCode {
    eprintln!("error: {error}");
    if let Some(fix) = fix(error) {
        eprintln!("  to fix: {fix}");
    }
    ExitCode::from(2)
}

/// What to change in the config so that `launch` gets past `error`.
fn fix(error: &LaunchError) -> Option<String> {
    match error {
        LaunchError::Module { module, error } => Some(match error {
            GovernanceError::Denied { .. } => format!(
                "add to the policy a rule with `on = \"module\"` and `effect = \"allow\"` whose `systems` match `{module}`"
            ),
            GovernanceError::UnknownFramework { known, .. } => format!(
                "give module `{module}` one of the frameworks {}",
                known.join(", ")
            ),
            GovernanceError::Module { .. } => {
                format!("change the `channels` or `settings` of module `{module}` as the framework says")
            }
            GovernanceError::Dock(dock) => executor_fix(module, dock)?,
            _ => return None,
        }),
        LaunchError::Remote { remote, error } => executor_fix(remote, error),
        _ => None,
    }
}

fn executor_fix(system: &str, error: &DockError) -> Option<String> {
    match error {
        DockError::Capability { executor, .. } => Some(format!(
            "add to the policy a rule with `on = \"capability\"` and `effect = \"allow\"` for `{system}` on `executor:{executor}` with `rights = \"X\"`, or drop `{executor}` from its `executors`"
        )),
        _ => None,
    }
}
