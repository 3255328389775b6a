//! Every workload beside its raw-actix twin, measured in alternating pairs.
//!
//! On a shared or virtual machine the speed drifts by tens of percent over minutes;
//! criterion measures a baseline and then its rival seconds later, so drift lands in
//! the ratio. Here each pair runs the two back to back (alternating which goes first),
//! and the ratio reported is the median of the pairs' ratios. The 10,000-subscriber
//! fan-out is also measured with each side in a process of its own (see
//! `compare_alone`). Run it with `cargo bench --bench paired`.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use common::{
    time_rounds, ChannelFanout, MailboxAsk, QueueBatch, RawAsk, RawFanout, RawQueue, Round,
};

const PAIRS: usize = 9;
const TARGET: Duration = Duration::from_millis(200);

/// Iterations that take about `TARGET`, from a short trial run.
fn calibrate<W: Round>(system: &actix_rt::SystemRunner, workload: &W) -> u64 {
    let mut iters = 1;
    loop {
        let took = time_rounds(system, workload, iters);
        if took >= TARGET / 10 || iters >= 1 << 24 {
            let per = took.as_secs_f64() / iters as f64;
            return ((TARGET.as_secs_f64() / per) as u64).max(1);
        }
        iters *= 4;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn per(took: Duration, iters: u64, units: u64) -> f64 {
    took.as_secs_f64() * 1e9 / (iters * units) as f64
}

/// Measures `PAIRS` alternating pairs, `baseline` and `ours` each giving nanoseconds
/// per unit, and prints both medians and the median ratio.
fn pairs(name: &str, mut baseline: impl FnMut() -> f64, mut ours: impl FnMut() -> f64) {
    let (mut base, mut mine, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let (b, o) = if pair % 2 == 0 {
            let b = baseline();
            (b, ours())
        } else {
            let o = ours();
            (baseline(), o)
        };
        base.push(b);
        mine.push(o);
        ratios.push(o / b);
    }
    println!(
        "{name:<46} {:>10.0} ns {:>10.0} ns {:>6.2}x",
        median(base),
        median(mine),
        median(ratios)
    );
}

/// Both workloads in this process, each timed for about `TARGET` per pair.
fn compare<A: Round, B: Round>(
    system: &actix_rt::SystemRunner,
    name: &str,
    units: u64,
    baseline: &A,
    ours: &B,
) {
    let (base_iters, our_iters) = (calibrate(system, baseline), calibrate(system, ours));
    pairs(
        name,
        || per(time_rounds(system, baseline, base_iters), base_iters, units),
        || per(time_rounds(system, ours, our_iters), our_iters, units),
    );
}

/// Set in a child process started by [`compare_alone`]: which fan-out to time, and to
/// how many subscribers, as `raw:N` or `exokern:N`.
const ALONE: &str = "EXOKERN_PAIRED_ALONE";

/// Broadcast fan-outs, each timed in a process of its own. At 10,000 subscribers the
/// heap one fan-out leaves behind slows the other down two to three times, whichever
/// runs second; in separate processes each runs as it would in a program of its own.
///
/// With `huge_pages`, the children ask glibc's allocator for transparent huge pages
/// (where the kernel grants them only on request, as on Debian's default): with 4 KiB
/// pages the ten thousand actors outgrow the TLB, and the time of either fan-out then
/// varies up to three times from one process to the next with where its heap landed.
fn compare_alone(subscribers: usize, huge_pages: bool) {
    let run = |which: &str| {
        let mut child = std::process::Command::new(std::env::current_exe().expect("own path"));
        child.env(ALONE, format!("{which}:{subscribers}"));
        if huge_pages {
            child.env("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1");
        }
        let out = child.output().expect("the child runs");
        assert!(out.status.success(), "the child failed: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .expect("the child prints nanoseconds per delivery")
    };
    let pages = if huge_pages { ", huge pages" } else { "" };
    pairs(
        &format!("broadcast, {subscribers} subscribers, alone{pages}"),
        || run("raw"),
        || run("exokern"),
    );
}

/// In the child: starts one fan-out, times it for about `TARGET`, prints nanoseconds
/// per delivery.
fn alone(spec: &str) {
    let (which, subscribers) = spec.split_once(':').expect("`which:subscribers`");
    let subscribers: usize = subscribers.parse().expect("a subscriber count");
    let system = actix_rt::System::new();
    fn time<W: Round>(system: &actix_rt::SystemRunner, workload: &W, units: usize) -> f64 {
        let iters = calibrate(system, workload);
        per(time_rounds(system, workload, iters), iters, units as u64)
    }
    let ns = match which {
        "raw" => time(
            &system,
            &system.block_on(async { RawFanout::start(subscribers) }),
            subscribers,
        ),
        "exokern" => time(
            &system,
            &system.block_on(ChannelFanout::start(subscribers)),
            subscribers,
        ),
        other => panic!("no fan-out called {other}"),
    };
    println!("{ns}");
}

fn main() {
    if let Ok(spec) = std::env::var(ALONE) {
        return alone(&spec);
    }
    let system = actix_rt::System::new();
    println!(
        "{:<46} {:>13} {:>13} {:>7}",
        "workload (per delivery, round trip or item)", "raw actix", "exokern", "ratio"
    );
    for subscribers in [1usize, 100, 10_000] {
        let raw = system.block_on(async { RawFanout::start(subscribers) });
        let ours = system.block_on(ChannelFanout::start(subscribers));
        let name = format!("broadcast, {subscribers} subscribers");
        compare(&system, &name, subscribers as u64, &raw, &ours);
    }
    compare_alone(10_000, false);
    compare_alone(10_000, true);
    let ours = system.block_on(MailboxAsk::start(None));
    let raw = system.block_on(async { RawAsk::start(None, false) });
    compare(&system, "request/reply vs send().await", 1, &raw, &ours);
    let raw = system.block_on(async { RawAsk::start(None, true) });
    compare(&system, "request/reply vs send().timeout()", 1, &raw, &ours);
    for batch in [1usize, 1_000] {
        let raw = system.block_on(async { RawQueue::start(batch) });
        let ours = system.block_on(QueueBatch::start(batch));
        let name = format!("work queue produce/claim/ack, batch {batch}");
        compare(&system, &name, batch as u64, &raw, &ours);
    }
}
