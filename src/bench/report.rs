//! [`Report`]: a workload beside its baseline, as a table row or a JSON line.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Figures, Measurement};

/// A workload measured beside its raw-actix baseline in the same run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The benchmark's name.
    pub name: String,
    /// One unit of work: "message", "grant", "delivery", ...
    pub unit: String,
    /// The exokern side.
    pub exokern: Measurement,
    /// The raw-actix side, doing the same work.
    pub baseline: Measurement,
}

impl Report {
    /// How many times the baseline's median time per unit exokern's median takes:
    /// below 1.0 exokern is faster, above it slower.
    pub fn ratio(&self) -> f64 {
        ratio(&self.exokern.figures(), &self.baseline.figures())
    }

    /// The report as one JSON object (a line of `exokern bench --json`).
    pub fn line(&self) -> Line {
        let (ours, base) = (self.exokern.figures(), self.baseline.figures());
        Line {
            name: self.name.clone(),
            unit: format!("ns/{}", self.unit),
            median: ours.median,
            p99: ours.p99,
            throughput: ours.throughput,
            throughput_unit: format!("{}/s", self.unit),
            iterations: ours.iterations,
            baseline_median: base.median,
            baseline_p99: base.p99,
            baseline_throughput: base.throughput,
            baseline_iterations: base.iterations,
            ratio: ratio(&ours, &base),
            work_per_iteration: self.exokern.work(),
        }
    }
}

/// One line of `exokern bench --json`: exokern's figures, the baseline's, the ratio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The benchmark's name.
    pub name: String,
    /// The unit of `median` and `p99`: nanoseconds per unit of work.
    pub unit: String,
    /// exokern: nanoseconds per unit of work in the median iteration.
    pub median: f64,
    /// exokern: the same in the 99th-percentile iteration.
    pub p99: f64,
    /// exokern: units of work per second.
    pub throughput: f64,
    /// The unit of `throughput`.
    pub throughput_unit: String,
    /// exokern: iterations measured.
    pub iterations: u64,
    /// Raw actix: nanoseconds per unit in the median iteration.
    pub baseline_median: f64,
    /// Raw actix: the same in the 99th-percentile iteration.
    pub baseline_p99: f64,
    /// Raw actix: units per second.
    pub baseline_throughput: f64,
    /// Raw actix: iterations measured.
    pub baseline_iterations: u64,
    /// `median / baseline_median`: above 1.0 exokern is slower.
    pub ratio: f64,
    /// Units of work in one iteration, on both sides.
    pub work_per_iteration: u64,
}

/// exokern's median over the baseline's.
fn ratio(ours: &Figures, base: &Figures) -> f64 {
    ours.median / base.median
}

/// A duration in nanoseconds, in the unit that keeps three or four digits.
pub fn nanos(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.1} ns"),
    }
}

/// A rate, with a k or M suffix.
fn rate(per_second: f64) -> String {
    match per_second {
        r if r >= 1e6 => format!("{:.2} M/s", r / 1e6),
        r if r >= 1e3 => format!("{:.1} k/s", r / 1e3),
        r => format!("{r:.0} /s"),
    }
}

/// The reports as a plain-text table: per unit of work, raw actix's median, exokern's
/// median and 99th percentile, the ratio and exokern's throughput.
pub fn table(reports: &[Report]) -> String {
    let header = [
        "workload",
        "per",
        "raw actix",
        "exokern",
        "exokern p99",
        "ratio",
        "exokern rate",
    ];
    let rows: Vec<[String; 7]> = reports
        .iter()
        .map(|report| {
            let (ours, base) = (report.exokern.figures(), report.baseline.figures());
            [
                report.name.clone(),
                report.unit.clone(),
                nanos(base.median),
                nanos(ours.median),
                nanos(ours.p99),
                format!("{:.2}x", ratio(&ours, &base)),
                rate(ours.throughput),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let pad = width - cell.chars().count();
            if i < 2 {
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{cell}  ", " ".repeat(pad));
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
    out
}
