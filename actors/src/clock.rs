//! The wall clock that stamps envelopes: nanoseconds since the Unix epoch, read from
//! the CPU's time-stamp counter where Linux itself keeps time with it.
//!
//! Every message is stamped, and `SystemTime::now` costs 30–36 ns on the 2-core VMs
//! this project is measured on (the vDSO reads the counter behind a sequence lock and
//! converts it), a seventh of a mailbox hop. Where the kernel's clocksource is `tsc`,
//! the counters are synchronized across cores and tick at a constant rate, so each
//! thread reads the counter itself (about 10 ns) and converts it with a rate it learns
//! from its own readings of the wall clock:
//!
//! - for its first [`ANCHOR_SPAN`] a thread reads the wall clock for every stamp, and
//!   measures the counter against it;
//! - after that a stamp is the thread's last wall-clock reading plus the ticks since,
//!   and the thread reads the wall clock again once [`ANCHOR_SPAN`] of ticks has
//!   passed, so no stamp is extrapolated further than that from a real reading;
//! - a reading more than [`TOLERANCE`] away from what the counter predicted (the wall
//!   clock was stepped, or a migrated VM's counter jumped) makes the thread learn the
//!   rate again.
//!
//! Anywhere else every stamp reads the wall clock. Like the wall clock, stamps are not
//! monotonic: a channel's sequence numbers give the order of its messages.

use std::time::SystemTime;

/// How long a stamp may be extrapolated from the counter before the wall clock is read
/// again, and how long a thread measures the counter before it trusts its rate.
const ANCHOR_SPAN: u64 = 1_000_000;

/// How far, in nanoseconds, a wall-clock reading may be from the counter's prediction
/// before the thread learns the rate again. Slewing by NTP (at most 500 ppm) moves the
/// wall clock by 500 ns in an [`ANCHOR_SPAN`]; a step moves it by far more.
const TOLERANCE: u64 = 20_000;

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_nanos() -> u64 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    if counter::keeps_time() {
        return counter::now();
    }
    wall_nanos()
}

/// Nanoseconds since the Unix epoch, from the wall clock itself (0 before the epoch).
fn wall_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// What a thread knows about the counter: its last wall-clock reading, and the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    /// The counter at the last wall-clock reading, and that reading.
    ticks: u64,
    wall: u64,
    /// Where the rate is measured from: the first reading since the thread began
    /// learning.
    base_ticks: u64,
    base_wall: u64,
    /// Nanoseconds per tick in 32.32 fixed point; 0 while the thread is learning.
    rate: u64,
    /// Ticks in an [`ANCHOR_SPAN`]: how far a stamp may be extrapolated. 0 while the
    /// thread is learning, so that every stamp reads the wall clock.
    span: u64,
}

impl Anchor {
    /// Knows nothing yet: the next stamp reads the wall clock and starts learning.
    const UNSET: Anchor = Anchor {
        ticks: 0,
        wall: 0,
        base_ticks: 0,
        base_wall: 0,
        rate: 0,
        span: 0,
    };

    /// Learning again from one reading.
    fn learning(ticks: u64, wall: u64) -> Anchor {
        Anchor {
            ticks,
            wall,
            base_ticks: ticks,
            base_wall: wall,
            ..Anchor::UNSET
        }
    }

    /// The time at counter value `ticks`, if it is within the span of the last reading.
    fn extrapolate(&self, ticks: u64) -> Option<u64> {
        let since = ticks.wrapping_sub(self.ticks);
        // `since < span` bounds the product: a span's ticks times the rate is an
        // ANCHOR_SPAN of nanoseconds, shifted left by 32 bits, far below 2^64.
        (since < self.span).then(|| self.wall + ((since * self.rate) >> 32))
    }

    /// Takes in a wall-clock reading made at counter value `ticks`.
    fn reading(self, ticks: u64, wall: u64) -> Anchor {
        if self == Anchor::UNSET {
            return Anchor::learning(ticks, wall);
        }
        let (Some(counted), Some(elapsed)) = (
            ticks.checked_sub(self.base_ticks),
            wall.checked_sub(self.base_wall),
        ) else {
            return Anchor::learning(ticks, wall);
        };
        if self.span > 0 {
            let Some(since) = ticks.checked_sub(self.ticks) else {
                return Anchor::learning(ticks, wall);
            };
            let predicted =
                u128::from(self.wall) + ((u128::from(since) * u128::from(self.rate)) >> 32);
            if predicted.abs_diff(u128::from(wall)) > u128::from(TOLERANCE) {
                return Anchor::learning(ticks, wall);
            }
        }
        if elapsed < ANCHOR_SPAN || counted == 0 {
            return Anchor {
                ticks,
                wall,
                ..self
            };
        }
        // Measured over everything since learning began: the longer the baseline, the
        // smaller the error of the two readings at its ends.
        let rate = (u128::from(elapsed) << 32) / u128::from(counted);
        let span = (u128::from(ANCHOR_SPAN) << 32) / rate.max(1);
        match (u64::try_from(rate), u64::try_from(span)) {
            (Ok(rate), Ok(span)) if rate > 0 => Anchor {
                ticks,
                wall,
                rate,
                span,
                ..self
            },
            // A counter slower than a tick per 2^32 ns, or faster than 2^32 per ns, is
            // not one to extrapolate from.
            _ => Anchor::learning(ticks, wall),
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod counter {
    use std::cell::Cell;
    use std::sync::OnceLock;

    use super::{wall_nanos, Anchor};

    thread_local! {
        pub(super) static ANCHOR: Cell<Anchor> = const { Cell::new(Anchor::UNSET) };
    }

    /// Whether Linux keeps time with the counter: then it has checked that the
    /// counters are synchronized across cores and tick at a constant rate, and lets
    /// user code read them (its own vDSO does).
    pub(super) fn keeps_time() -> bool {
        static KEEPS_TIME: OnceLock<bool> = OnceLock::new();
        *KEEPS_TIME.get_or_init(|| {
            std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .is_ok_and(|source| source.trim() == "tsc")
        })
    }

    #[allow(unsafe_code)] // the time-stamp counter; see BENCHMARKS.md
    fn read() -> u64 {
        // SAFETY: RDTSC exists on every x86_64 CPU and has no preconditions; user code
        // may execute it wherever Linux keeps time with it, as `keeps_time` checked.
        unsafe { std::arch::x86_64::_rdtsc() }
    }

    pub(super) fn now() -> u64 {
        let ticks = read();
        ANCHOR.with(|anchor| {
            if let Some(now) = anchor.get().extrapolate(ticks) {
                return now;
            }
            // The counter is read on both sides of the wall clock, and the reading is
            // placed between them.
            let before = read();
            let wall = wall_nanos();
            let after = read();
            let ticks = before.wrapping_add(after.wrapping_sub(before) / 2);
            anchor.set(anchor.get().reading(ticks, wall));
            wall
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter at 3 ticks per nanosecond, starting at `ticks0`.
    fn learned(ticks0: u64, wall0: u64) -> Anchor {
        let anchor = Anchor::UNSET.reading(ticks0, wall0);
        anchor.reading(ticks0 + 3 * ANCHOR_SPAN, wall0 + ANCHOR_SPAN)
    }

    #[test]
    fn a_thread_reads_the_wall_clock_until_it_has_measured_the_counter_for_a_span() {
        let anchor = Anchor::UNSET.reading(1_000, 5_000_000);
        assert_eq!(anchor.extrapolate(1_001), None);
        let anchor = anchor.reading(1_000 + 3 * (ANCHOR_SPAN - 1), 5_000_000 + ANCHOR_SPAN - 1);
        assert_eq!(anchor.extrapolate(1_000 + 3 * ANCHOR_SPAN), None);
        let anchor = learned(1_000, 5_000_000);
        assert_ne!(anchor.span, 0, "a span of readings teaches the rate");
    }

    #[test]
    fn a_learned_rate_turns_ticks_into_nanoseconds_until_the_span_runs_out() {
        let anchor = learned(1_000, 5_000_000);
        let at = anchor.ticks;
        let wall = anchor.wall;
        assert_eq!(anchor.extrapolate(at), Some(wall));
        for ns in [1, 10, 1_000, 333_333, ANCHOR_SPAN - 1] {
            let stamp = anchor.extrapolate(at + 3 * ns).expect("within the span");
            assert!(stamp.abs_diff(wall + ns) <= 1, "{ns} ns later read {stamp}");
        }
        assert_eq!(anchor.extrapolate(at + 3 * ANCHOR_SPAN + 3), None);
    }

    #[test]
    fn a_counter_that_went_backwards_is_never_extrapolated() {
        let anchor = learned(1_000_000, 5_000_000);
        assert_eq!(anchor.extrapolate(anchor.ticks - 1), None);
        let relearning = anchor.reading(10, anchor.wall + 100);
        assert_eq!(relearning, Anchor::learning(10, anchor.wall + 100));
    }

    #[test]
    fn a_reading_far_from_the_prediction_starts_learning_again() {
        let anchor = learned(1_000, 5_000_000);
        let ticks = anchor.ticks + 3 * 500_000;
        let stepped = anchor.wall + 500_000 + TOLERANCE + 1;
        assert_eq!(
            anchor.reading(ticks, stepped),
            Anchor::learning(ticks, stepped)
        );
        let slewed = anchor.reading(ticks, anchor.wall + 500_000 + 400);
        assert_ne!(slewed.span, 0, "a small slew keeps the rate");
        assert_eq!(slewed.wall, anchor.wall + 500_000 + 400);
    }

    #[test]
    fn a_wall_clock_stepped_back_starts_learning_again() {
        let anchor = learned(1_000, 5_000_000);
        assert_eq!(
            anchor.reading(anchor.ticks + 30, 4_000_000),
            Anchor::learning(anchor.ticks + 30, 4_000_000)
        );
    }

    #[test]
    fn stamps_agree_with_the_wall_clock_before_and_after_the_rate_is_learned() {
        // Until the thread has learned the rate and for a few spans more: the loop reads
        // clocks, it never sleeps. A thread preempted between its readings starts
        // learning again, so on a busy machine the rate may be learned more than once.
        let start = wall_nanos();
        let mut learned = false;
        while !learned || wall_nanos() < start + 4 * ANCHOR_SPAN {
            assert!(
                wall_nanos() < start + 1_000_000_000,
                "a second of stamps never taught the thread the rate"
            );
            let before = wall_nanos();
            let stamp = now_nanos();
            let after = wall_nanos();
            assert!(
                stamp + TOLERANCE >= before && stamp <= after + TOLERANCE,
                "stamp {stamp} outside [{before}, {after}]"
            );
            learned |= has_learned_the_rate();
        }
    }

    /// Whether this thread extrapolates stamps from the counter now (always `true` where
    /// stamps come from the wall clock itself).
    fn has_learned_the_rate() -> bool {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if counter::keeps_time() {
            return counter::ANCHOR.with(std::cell::Cell::get).span != 0;
        }
        true
    }
}
