//! `exokern inspect CONFIG`: checks a config as `launch` would, and prints what it
//! would start, starting nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use exokern::config::Config;
use exokern::launch::preflight;

use super::{config_error, refusal};

/// Loads the config, prints its plan, and makes `launch`'s decisions on it.
pub(crate) fn run(config: PathBuf) -> ExitCode {
    let config = match Config::load(config) {
        Ok(config) => config,
        Err(error) => return config_error(&error),
    };
    print!("{}", plan(&config));
    match actix_rt::System::new().block_on(preflight(&config)) {
        Ok(()) => {
            println!("launch: every module and remote system passes the policy and its checks");
            ExitCode::SUCCESS
        }
        Err(error) => refusal(&error),
    }
}

/// What `inspect` prints: the plan `launch` would carry out.
fn plan(config: &Config) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let kernel = &config.kernel;
    let _ = writeln!(out, "kernel {} ({})", kernel.id, kernel.name);
    let _ = writeln!(
        out,
        "  policy: {} rules; heartbeat every {} ms; audit file: {}",
        kernel.policy.rules().len(),
        kernel.heartbeat.as_millis(),
        kernel
            .audit_file
            .as_ref()
            .map_or("none".into(), |p| p.display().to_string())
    );
    let _ = writeln!(out, "channels:");
    for channel in &config.channels {
        let _ = writeln!(
            out,
            "  - {} ({}, {})",
            channel.id, channel.kind, channel.visibility
        );
    }
    let _ = writeln!(out, "executors:");
    for executor in &config.executors {
        let _ = writeln!(
            out,
            "  - {} (risk {}{})",
            executor.name,
            executor.risk,
            if executor.run.is_some() { ", runs" } else { "" }
        );
    }
    let _ = writeln!(out, "modules:");
    for module in &config.modules {
        let _ = writeln!(
            out,
            "  - {} ({}{}) channels=[{}] executors=[{}]",
            module.id,
            module.framework,
            if module.privileged {
                ", privileged"
            } else {
                ""
            },
            module
                .channels
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            module.executors.join(", ")
        );
    }
    let _ = writeln!(out, "remotes:");
    for remote in &config.remotes {
        let channels: Vec<String> = remote
            .channels
            .iter()
            .map(|(channel, rights)| format!("{channel} {rights}"))
            .collect();
        let _ = writeln!(
            out,
            "  - {}{} channels=[{}] executors=[{}] tokens={}",
            remote.id,
            if remote.privileged {
                " (privileged)"
            } else {
                ""
            },
            channels.join(", "),
            remote.executors.join(", "),
            remote.tokens.len()
        );
    }
    let network = &config.kernel.network;
    let _ = writeln!(
        out,
        "http: {} on {}:{} (body limit {} bytes)",
        if network.publish {
            "published"
        } else {
            "with --publish"
        },
        network.host,
        network.port,
        network.max_body_bytes
    );
    out
}
