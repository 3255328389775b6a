//! The subcommands of the `exokern` binary, one file each.

use std::process::ExitCode;

use exokern::config::ConfigError;

pub(crate) mod bench;
pub(crate) mod inspect;
pub(crate) mod launch;
pub(crate) mod token;

/// A config that cannot be used: said on stderr, exit 2.
fn config_error(error: &ConfigError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}
