//! Every workload of the standard suite, at smoke scale: both sides run, and do the
//! same, fully counted work.

use exokern::bench::{suite, Runner, Scale};

#[test]
fn every_workload_and_its_baseline_do_the_same_counted_work() {
    let runner = Runner::new(Scale::Smoke.budget());
    assert_eq!(suite::suite().len(), 18);
    for entry in suite::suite() {
        let report = actix_rt::System::new()
            .block_on(entry.run(&runner, Scale::Smoke))
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name()));
        let (ours, base) = (&report.exokern, &report.baseline);
        assert_eq!(report.name, entry.name());
        assert_eq!(ours.iterations(), 2, "{}", entry.name());
        assert_eq!(base.iterations(), 2, "{}", entry.name());
        assert!(ours.work() > 0, "{}", entry.name());
        assert_eq!(ours.work(), base.work(), "{}", entry.name());
        assert_eq!(ours.counted(), 2 * ours.work(), "{}", entry.name());
        assert_eq!(base.counted(), ours.counted(), "{}", entry.name());
    }
}

#[test]
fn the_filter_selects_by_name() {
    let names = |filter| -> Vec<&str> { suite::select(filter).iter().map(|e| e.name()).collect() };
    assert_eq!(names(Some("ping")), ["ping-pong", "ping-pong-pool"]);
    assert_eq!(
        names(Some("fork-join")),
        [
            "fork-join-throughput",
            "fork-join-creation",
            "fork-join-throughput-pool"
        ]
    );
    assert_eq!(
        names(Some("pool")),
        ["ping-pong-pool", "fork-join-throughput-pool", "big-pool"]
    );
    assert!(names(Some("nothing-like-this")).is_empty());
    assert_eq!(names(None).len(), 18);
}
