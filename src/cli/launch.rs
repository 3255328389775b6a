//! `exokern launch CONFIG`: starts the kernel a config describes, docks its modules and
//! remotes, serves HTTP if asked, and runs until Ctrl-C, which drains everything.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::task::Poll;

use exokern::config::Config;
use exokern::kernel::KernelHandle;
use exokern::launch::{launch, preflight, Launched};
use exokern::protocol::Heartbeat;
use exokern::SystemId;

use super::{config_error, refusal};

/// Loads the config and runs its constellation.
pub(crate) fn run(config: PathBuf, once: bool, publish: bool) -> ExitCode {
    let config = match Config::load(config) {
        Ok(config) => config,
        Err(error) => return config_error(&error),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if once && config.kernel.network.publish {
        eprintln!(
            "error: `--once` exits at once, and the config publishes over HTTP (`kernel.network.publish = true`): drop one"
        );
        return ExitCode::from(2);
    }
    let publish = publish || config.kernel.network.publish;
    actix_rt::System::new().block_on(async move {
        match preflight(&config).await {
            Ok(()) => constellation(config, once, publish).await,
            Err(error) => refusal(&error),
        }
    })
}

async fn constellation(config: Config, once: bool, publish: bool) -> ExitCode {
    println!(
        "Starting exokern '{}' ({}).",
        config.kernel.name, config.kernel.id
    );
    let Launched {
        kernel, gateway, ..
    } = match launch(&config).await {
        Ok(launched) => launched,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    if let Err(code) = print_snapshot(&kernel).await {
        return code;
    }
    if once {
        kernel.shutdown().await;
        return ExitCode::SUCCESS;
    }
    let server = if publish {
        match serve(gateway, &config.kernel.network) {
            Ok(server) => Some(server),
            Err(error) => {
                eprintln!("error: {error}");
                kernel.shutdown().await;
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    // The handler is installed on the first poll: poll once before saying Ctrl-C works,
    // or an early Ctrl-C kills the process instead of draining it.
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let first = std::future::poll_fn(|cx| Poll::Ready(interrupted.as_mut().poll(cx))).await;
    println!("Press Ctrl+C to stop.");
    let summary = actix_rt::spawn(summarize(kernel.clone()));
    let stopped = match first {
        Poll::Ready(failed) => failed,
        Poll::Pending => interrupted.await,
    };
    summary.abort();
    println!("Draining…");
    if let Some(server) = server {
        server.stop(true).await;
    }
    kernel.shutdown().await;
    match stopped {
        Ok(()) => {
            println!("Stopped exokern.");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot wait for Ctrl-C: {error}");
            ExitCode::from(1)
        }
    }
}

/// Starts the HTTP surface; it runs until its handle stops it.
fn serve(
    gateway: exokern::http::Gateway,
    network: &exokern::config::NetworkConfig,
) -> Result<actix_web::dev::ServerHandle, String> {
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new().configure(exokern::http::routes(gateway.clone()))
    })
    .disable_signals()
    .bind((network.host.as_str(), network.port))
    .map_err(|e| {
        format!(
            "cannot serve HTTP on {}:{}: {e}",
            network.host, network.port
        )
    })?;
    for address in server.addrs() {
        println!("Serving HTTP on http://{address}/v1 (OpenAPI at /v1/openapi.json)");
    }
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok(handle)
}

async fn print_snapshot(kernel: &KernelHandle) -> Result<(), ExitCode> {
    let snapshot = kernel.snapshot().await.map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(1)
    })?;
    println!("kernel_id={}", snapshot.kernel_id);
    println!("systems:");
    for system in &snapshot.systems {
        println!(
            "  - {} ({}{}) channels=[{}]",
            system.id,
            system.state.as_str(),
            if system.privileged {
                ", privileged"
            } else {
                ""
            },
            system.channels.join(", ")
        );
    }
    println!("channels:");
    for channel in &snapshot.channels {
        println!(
            "  - {} ({}, {})",
            channel.id, channel.describes, channel.visibility
        );
    }
    Ok(())
}

/// Logs one line per heartbeat: messages per second, queue depths, decisions.
async fn summarize(kernel: KernelHandle) {
    let watcher = SystemId::new("exokern-cli").expect("a valid id");
    let Ok(beats) = kernel.watch_heartbeat(watcher).await else {
        return;
    };
    let Ok(mut beats) = beats.subscribe(Default::default()).await else {
        return;
    };
    let mut last: Option<(f64, HashMap<String, u64>)> = None;
    let mut decided = kernel.audited();
    while let Ok(beat) = beats.recv().await {
        let beat: &Heartbeat = beat.payload();
        let accepted: HashMap<String, u64> = beat
            .channels
            .iter()
            .map(|c| (c.id.clone(), c.accepted))
            .collect();
        let rate = last.as_ref().map_or(0.0, |(at, before)| {
            let new: u64 = accepted
                .iter()
                .map(|(id, n)| n.saturating_sub(before.get(id).copied().unwrap_or(0)))
                .sum();
            new as f64 / (beat.timestamp - at).max(1e-3)
        });
        let audited = kernel.audited();
        let decisions = audited - decided;
        decided = audited;
        let depths: Vec<String> = beat
            .channels
            .iter()
            .filter(|c| !c.id.starts_with("kernel."))
            .map(|c| format!("{}={}", c.id, c.depth))
            .collect();
        tracing::info!(
            beat = beat.beat,
            msgs_per_sec = format!("{rate:.0}"),
            depths = depths.join(" "),
            decisions,
            approvals_pending = beat.approvals_pending,
            capabilities = beat.capabilities_active,
            "summary"
        );
        last = Some((beat.timestamp, accepted));
    }
}
