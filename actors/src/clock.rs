//! The wall clock that stamps envelopes: nanoseconds since the Unix epoch.
//!
//! Every message is stamped, and reading the wall clock for each one is a noticeable
//! part of a hop (BENCHMARKS.md, "The clock"). So each thread reads the wall clock at
//! most once per [`ANCHOR_SPAN`] and, in between, adds what [`quanta`]'s clock counts
//! since that reading: the CPU's counter where it ticks at a constant rate on every
//! core (quanta checks, and calibrates it against the OS's monotonic clock), the
//! monotonic clock itself anywhere else. A stamp is thus never further than one span
//! from a real reading of the wall clock, and a step of the wall clock shows within a
//! span. Like the wall clock, stamps are not monotonic: a channel's sequence numbers
//! give the order of its messages.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::SystemTime;

/// How long, in nanoseconds, a thread adds the counter to its last wall-clock reading
/// before it reads the wall clock again.
const ANCHOR_SPAN: u64 = 1_000_000;

/// A thread's last wall-clock reading, and the counter when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    raw: u64,
    wall: u64,
}

impl Anchor {
    /// The stamp at counter `raw`, if it is within a span after the reading; `nanos`
    /// turns two counter values into the nanoseconds between them. A counter behind
    /// the reading (another core's, on a CPU whose counters are not in step) is never
    /// extrapolated from.
    fn stamp(anchor: Option<Anchor>, raw: u64, nanos: impl Fn(u64, u64) -> u64) -> Option<u64> {
        let anchor = anchor.filter(|a| raw >= a.raw)?;
        let elapsed = nanos(anchor.raw, raw);
        (elapsed < ANCHOR_SPAN).then(|| anchor.wall.saturating_add(elapsed))
    }
}

thread_local! {
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
}

fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_nanos() -> u64 {
    let clock = clock();
    let raw = clock.raw();
    ANCHOR.with(|anchor| {
        let extended = Anchor::stamp(anchor.get(), raw, |from, to| clock.delta_as_nanos(from, to));
        extended.unwrap_or_else(|| {
            let wall = wall_nanos();
            anchor.set(Some(Anchor { raw, wall }));
            wall
        })
    })
}

/// Nanoseconds since the Unix epoch, from the wall clock itself (0 before the epoch).
fn wall_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter at 2 ticks per nanosecond.
    fn nanos(from: u64, to: u64) -> u64 {
        (to - from) / 2
    }

    #[test]
    fn a_reading_is_extended_only_within_its_span_and_never_backwards() {
        let anchor = Some(Anchor {
            raw: 100,
            wall: 1_000,
        });
        assert_eq!(Anchor::stamp(None, 100, nanos), None, "no reading yet");
        assert_eq!(Anchor::stamp(anchor, 100, nanos), Some(1_000));
        let last = 100 + 2 * (ANCHOR_SPAN - 1);
        assert_eq!(
            Anchor::stamp(anchor, last, nanos),
            Some(1_000 + ANCHOR_SPAN - 1)
        );
        assert_eq!(Anchor::stamp(anchor, last + 2, nanos), None, "span over");
        assert_eq!(Anchor::stamp(anchor, 99, nanos), None, "counter behind");
    }

    #[test]
    fn stamps_stay_within_a_span_of_the_wall_clock() {
        for _ in 0..10_000 {
            let before = wall_nanos();
            let stamp = now_nanos();
            let after = wall_nanos();
            assert!(
                stamp + ANCHOR_SPAN >= before && stamp <= after + ANCHOR_SPAN,
                "{before} <= {stamp} <= {after}, give or take a span"
            );
        }
    }
}
