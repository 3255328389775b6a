//! `exokern`: run a governed constellation from a TOML file.
//!
//! Exit codes: 0 success, 2 usage or configuration error, 1 runtime failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "exokern",
    version,
    about = "A governed actor runtime for multi-agent systems"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts the kernel a config describes, docks its modules and runs until Ctrl-C,
    /// which drains everything and exits.
    Launch {
        /// The TOML config.
        config: PathBuf,
        /// Exit once the constellation is up, after printing its snapshot.
        #[arg(long, conflicts_with = "publish")]
        once: bool,
        /// Serve public channels and governance over HTTP (at `[kernel.network]` host
        /// and port), as `kernel.network.publish = true` does.
        #[arg(long)]
        publish: bool,
    },
    /// Checks a config and prints what `launch` would start, starting nothing.
    Inspect {
        /// The TOML config.
        config: PathBuf,
    },
    /// Mints a bearer token for remote system SYSTEM: prints the token (give it to the
    /// remote system; it is not kept) and the record the kernel keeps (its id and the
    /// SHA-256 of its secret).
    Token {
        /// The system the token acts as.
        system: String,
        /// Seconds until it expires (default: never).
        #[arg(long)]
        ttl_secs: Option<u64>,
    },
    /// Runs the benchmark suite, every workload beside raw actix doing the same work,
    /// and prints a table (or JSON lines) of medians, 99th percentiles and ratios.
    Bench(cli::bench::Options),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Bench(options) => cli::bench::run(options),
        Command::Token { system, ttl_secs } => cli::token::run(&system, ttl_secs),
        Command::Inspect { config } => cli::inspect::run(config),
        Command::Launch {
            config,
            once,
            publish,
        } => cli::launch::run(config, once, publish),
    }
}
