//! Every workload beside its raw-actix twin, measured in alternating pairs.
//!
//! On a shared or virtual machine the speed drifts by tens of percent over minutes;
//! criterion measures a baseline and then its rival seconds later, so drift lands in
//! the ratio. Here each pair runs the two back to back (alternating which goes first),
//! and the ratio reported is the median of the pairs' ratios. Run it with
//! `cargo bench --bench paired`.

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

/// Measures `PAIRS` alternating pairs and prints both medians and the median ratio.
fn compare<A: Round, B: Round>(
    system: &actix_rt::SystemRunner,
    name: &str,
    units: u64,
    baseline: &A,
    ours: &B,
) {
    let (base_iters, our_iters) = (calibrate(system, baseline), calibrate(system, ours));
    let (mut base, mut mine, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let (b, o) = if pair % 2 == 0 {
            let b = time_rounds(system, baseline, base_iters);
            (b, time_rounds(system, ours, our_iters))
        } else {
            let o = time_rounds(system, ours, our_iters);
            (time_rounds(system, baseline, base_iters), o)
        };
        let (b, o) = (per(b, base_iters, units), per(o, our_iters, units));
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

fn main() {
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
