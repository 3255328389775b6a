//! The runner on synthetic workloads: each iteration advances tokio's paused clock
//! by a scripted time, so every figure is known exactly (up to the histogram's three
//! significant digits).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use exokern::bench::{table, BenchError, Budget, Failure, Runner, Workload};

/// Takes `script[i % len]` in iteration `i`, reporting `counted` (default: `work`).
#[derive(Clone)]
struct Scripted {
    work: u64,
    script: Vec<Duration>,
    prepare: Duration,
    counted: Option<u64>,
    fail_setup: bool,
    hang: bool,
    /// Iterations run, warm-up included; whether teardown ran.
    ran: Rc<Cell<u64>>,
    torn_down: Rc<Cell<bool>>,
}

impl Scripted {
    fn new(work: u64, script: &[u64]) -> Scripted {
        Scripted {
            work,
            script: script.iter().map(|&ms| Duration::from_millis(ms)).collect(),
            prepare: Duration::ZERO,
            counted: None,
            fail_setup: false,
            hang: false,
            ran: Rc::default(),
            torn_down: Rc::default(),
        }
    }
}

impl Workload for Scripted {
    type State = ();

    fn work(&self) -> u64 {
        self.work
    }

    async fn setup(&mut self) -> Result<(), Failure> {
        if self.fail_setup {
            return Err("no room for the actors".into());
        }
        Ok(())
    }

    async fn prepare(&mut self, _: &mut ()) -> Result<(), Failure> {
        tokio::time::advance(self.prepare).await;
        Ok(())
    }

    async fn iteration(&mut self, _: &mut ()) -> Result<u64, Failure> {
        let n = self.ran.get();
        self.ran.set(n + 1);
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::advance(self.script[n as usize % self.script.len()]).await;
        Ok(self.counted.unwrap_or(self.work))
    }

    async fn teardown(&mut self, _: ()) {
        self.torn_down.set(true);
    }
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= expected * 1e-3
}

#[actix_rt::test]
async fn median_p99_and_throughput_are_per_unit_of_work() {
    tokio::time::pause();
    // 98 iterations of 1 ms and 2 of 50 ms, 1,000 units each.
    let mut script = vec![1; 98];
    script.extend([50, 50]);
    let measured = Runner::new(Budget::iterations(0, 100))
        .measure("scripted", Scripted::new(1_000, &script))
        .await
        .unwrap();
    let figures = measured.figures();
    assert_eq!(figures.iterations, 100);
    assert!(
        close(figures.median, 1_000.0),
        "1 ms / 1,000 units: {figures:?}"
    );
    assert!(
        close(figures.p99, 50_000.0),
        "50 ms / 1,000 units: {figures:?}"
    );
    // 100,000 units in 98 + 100 ms.
    assert!(close(figures.throughput, 100_000.0 / 0.198), "{figures:?}");
    assert_eq!(measured.counted(), 100_000);
    assert_eq!(measured.elapsed(), Duration::from_millis(198));
}

#[actix_rt::test]
async fn warm_up_runs_but_is_not_recorded_and_prepare_is_not_timed() {
    tokio::time::pause();
    let mut workload = Scripted::new(1, &[2]);
    workload.prepare = Duration::from_millis(7);
    let ran = Rc::clone(&workload.ran);
    let measured = Runner::new(Budget::iterations(5, 20))
        .measure("scripted", workload)
        .await
        .unwrap();
    assert_eq!(ran.get(), 25);
    assert_eq!(measured.iterations(), 20);
    assert_eq!(measured.elapsed(), Duration::from_millis(40));
    assert!(close(measured.iteration_nanos(1.0) as f64, 2e6));
}

#[actix_rt::test]
async fn a_time_budget_runs_iterations_until_the_time_is_spent() {
    tokio::time::pause();
    let workload = Scripted::new(1, &[1]);
    let ran = Rc::clone(&workload.ran);
    let budget = Budget::timed(Duration::from_millis(10), Duration::from_millis(100));
    let measured = Runner::new(budget)
        .measure("scripted", workload)
        .await
        .unwrap();
    assert_eq!(measured.iterations(), 100);
    assert_eq!(ran.get(), 110, "10 ms of warm-up");
    // Slow iterations still get the minimum count.
    let slow = Scripted::new(1, &[400]);
    let measured = Runner::new(budget.min_iterations(3))
        .measure("slow", slow)
        .await
        .unwrap();
    assert_eq!(measured.iterations(), 3);
    let capped = Runner::new(budget.max_iterations(7))
        .measure("capped", Scripted::new(1, &[1]))
        .await
        .unwrap();
    assert_eq!(capped.iterations(), 7);
}

#[actix_rt::test]
async fn a_comparison_alternates_both_sides_and_reports_the_ratio() {
    tokio::time::pause();
    let (ours, base) = (Scripted::new(10, &[3]), Scripted::new(10, &[2]));
    let (ours_torn, base_torn) = (Rc::clone(&ours.torn_down), Rc::clone(&base.torn_down));
    let budget = Budget::timed(Duration::from_millis(6), Duration::from_millis(60));
    let report = Runner::new(budget)
        .compare("sleep", "nap", ours, base)
        .await
        .unwrap();
    assert_eq!(report.exokern.iterations(), 20, "10 rounds of 6 ms at 3 ms");
    assert_eq!(
        report.baseline.iterations(),
        30,
        "10 rounds of 6 ms at 2 ms"
    );
    assert!(close(report.ratio(), 1.5), "{}", report.ratio());
    assert!(ours_torn.get() && base_torn.get());

    let line = report.line();
    assert_eq!(line.name, "sleep");
    assert_eq!(line.unit, "ns/nap");
    assert_eq!(line.throughput_unit, "nap/s");
    assert!(close(line.median, 300_000.0) && close(line.baseline_median, 200_000.0));
    assert!(close(line.throughput, 10.0 / 0.003), "{line:?}");
    assert_eq!(line.work_per_iteration, 10);
    let json = serde_json::to_value(&line).unwrap();
    for key in [
        "name",
        "unit",
        "median",
        "p99",
        "throughput",
        "baseline_median",
        "ratio",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }

    // The histogram keeps three significant digits: 2 ms and 3 ms land in buckets
    // whose middles are 2.0008 and 2.9993 ms.
    let table = table(&[report]);
    let row = table.lines().nth(1).unwrap();
    for cell in ["sleep", "nap", "200.04 µs", "299.93 µs", "1.50x", "3.3 k/s"] {
        assert!(row.contains(cell), "{cell} missing from {row:?}");
    }
}

#[actix_rt::test]
async fn an_iteration_that_miscounts_its_work_fails_the_run() {
    tokio::time::pause();
    let mut lossy = Scripted::new(100, &[1]);
    lossy.counted = Some(99);
    let torn = Rc::clone(&lossy.torn_down);
    let error = Runner::new(Budget::iterations(0, 3))
        .measure("lossy", lossy)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            BenchError::Miscounted {
                expected: 100,
                counted: 99,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("lost or duplicated"), "{error}");
    assert!(torn.get(), "torn down after the failure");
}

#[actix_rt::test]
async fn a_stalled_iteration_fails_after_the_stall_limit() {
    tokio::time::pause();
    let mut stuck = Scripted::new(1, &[1]);
    stuck.hang = true;
    let error = Runner::new(Budget::iterations(0, 3))
        .stall_after(Duration::from_secs(5))
        .measure("stuck", stuck)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BenchError::Stalled { workload, after } if workload == "stuck" && *after == Duration::from_secs(5)),
        "{error}"
    );
}

#[actix_rt::test]
async fn unlike_work_and_failed_setups_are_refused_and_what_was_set_up_is_torn_down() {
    tokio::time::pause();
    let runner = Runner::new(Budget::iterations(0, 1));
    let error = runner
        .compare(
            "unlike",
            "unit",
            Scripted::new(10, &[1]),
            Scripted::new(11, &[1]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            BenchError::UnlikeWork {
                exokern: 10,
                baseline: 11,
                ..
            }
        ),
        "{error}"
    );

    let ours = Scripted::new(1, &[1]);
    let ours_torn = Rc::clone(&ours.torn_down);
    let mut base = Scripted::new(1, &[1]);
    base.fail_setup = true;
    let error = runner
        .compare("broken", "unit", ours, base)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BenchError::Failed { workload, step: "setup", .. } if workload == "broken (raw actix)"),
        "{error}"
    );
    assert!(
        error.to_string().contains("no room for the actors"),
        "{error}"
    );
    assert!(ours_torn.get(), "the side that was set up is torn down");
}
