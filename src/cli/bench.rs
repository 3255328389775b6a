//! `exokern bench`: the standard suite, each workload beside raw actix.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exokern::bench::{suite, table, Budget, Machine, Runner, Scale};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

/// What `exokern bench` was asked.
#[derive(clap::Args)]
pub(crate) struct Options {
    /// About a tenth of the work per iteration and a second per side: the whole suite
    /// in about a minute.
    #[arg(long)]
    pub quick: bool,
    /// Only the benchmarks whose name contains NAME.
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// Only the benchmark named exactly as `--filter` says (`ping-pong` without
    /// `ping-pong-pool`).
    #[arg(long, requires = "filter")]
    pub exact: bool,
    /// One JSON object per line: a header with the machine, then one per benchmark.
    #[arg(long)]
    pub json: bool,
    /// List the benchmarks and what they measure, running nothing.
    #[arg(long)]
    pub list: bool,
    /// Exactly N measured iterations per side, after one of warm-up, however long they
    /// take: a fixed amount of work, for a profiler (`perf`, `valgrind --tool=callgrind`)
    /// or for counting instructions, which a noisy machine does not change.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
}

/// Runs the selected benchmarks, each in an actix system of its own, and prints their
/// reports. Exit code 2 if the filter matches nothing, 1 if a benchmark failed.
pub(crate) fn run(options: Options) -> ExitCode {
    let mut entries = suite::select(options.filter.as_deref());
    if options.exact {
        entries.retain(|e| options.filter.as_deref() == Some(e.name()));
    }
    if entries.is_empty() {
        let names: Vec<&str> = suite::suite().iter().map(|e| e.name()).collect();
        eprintln!(
            "error: no benchmark {} `{}`; the suite has: {}",
            if options.exact { "is named" } else { "matches" },
            options.filter.unwrap_or_default(),
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    if options.list {
        for entry in &entries {
            println!("{:<22} {}", entry.name(), entry.about());
        }
        return ExitCode::SUCCESS;
    }
    let scale = if options.quick {
        Scale::Quick
    } else {
        Scale::Full
    };
    let budget = match options.iterations {
        Some(n) => Budget::iterations(1, n),
        None => scale.budget(),
    };
    let machine = Machine::this();
    if options.json {
        let header = json!({
            "exokern": env!("CARGO_PKG_VERSION"),
            "scale": scale.to_string(),
            "iterations": options.iterations,
            "machine": machine,
            "placement": format!("one arbiter; the -pool workloads on {} arbiters", suite::pool_arbiters()),
            "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        });
        println!("{header}");
    } else {
        let iterations = options
            .iterations
            .map(|n| format!(", {n} iteration{} per side", if n == 1 { "" } else { "s" }))
            .unwrap_or_default();
        println!(
            "exokern {} bench, {scale} scale{iterations}, on {} cores ({}, {} {}); on one arbiter, the -pool workloads on {}",
            env!("CARGO_PKG_VERSION"),
            machine.cores,
            machine.cpu,
            machine.os,
            machine.arch,
            suite::pool_arbiters()
        );
    }
    let progress = progress(entries.len() as u64);
    let runner = Runner::new(budget);
    let (mut reports, mut failed) = (Vec::new(), 0);
    for entry in &entries {
        progress.set_message(entry.name());
        let measured = actix_rt::System::new().block_on(entry.run(&runner, scale));
        match measured {
            Ok(report) => {
                if options.json {
                    progress.suspend(|| println!("{}", json!(report.line())));
                }
                reports.push(report);
            }
            Err(error) => {
                failed += 1;
                progress.suspend(|| eprintln!("error: {}: {error}", entry.name()));
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    if !options.json {
        print!("{}", table(&reports));
        println!("ratio: exokern's median over raw actix's; below 1.00x exokern is faster");
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} benchmarks failed", entries.len());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// A progress bar on standard error if it is a terminal; hidden otherwise, so that
/// redirected output holds only the reports.
fn progress(benchmarks: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(benchmarks);
    let style =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
