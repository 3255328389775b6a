//! [`Workload`]: what the runner times.

use std::future::Future;

/// Why a workload could not go on: any error, boxed. Return it with `?` from any hook.
pub type Failure = Box<dyn std::error::Error + 'static>;

/// A piece of work the [`Runner`](super::Runner) times, one iteration at a time.
///
/// [`setup`](Self::setup) builds what the iterations use (actors, channels, a kernel)
/// and is not timed; [`prepare`](Self::prepare) runs untimed before every iteration
/// (to clear what the last one left behind); [`iteration`](Self::iteration) is the
/// timed part; [`teardown`](Self::teardown) stops what setup started.
///
/// An iteration answers how many units of work it did, as counted by the actors that
/// did it (messages handled, grants answered): the runner fails the run if that
/// differs from [`work`](Self::work), so a workload that loses or duplicates messages
/// cannot report a time, and a workload and its baseline are checked to do the same
/// work.
///
/// Hooks run on the caller's actix arbiter, one at a time; their futures need not be
/// `Send`. Implement them with `async fn`.
pub trait Workload {
    /// What [`setup`](Self::setup) builds and every iteration uses.
    type State;

    /// Units of work (messages, grants, ticks, ...) one iteration does.
    fn work(&self) -> u64;

    /// Builds what the iterations use. Not timed.
    fn setup(&mut self) -> impl Future<Output = Result<Self::State, Failure>>;

    /// Runs before every iteration, warm-up included. Not timed. Does nothing unless
    /// overridden.
    fn prepare(&mut self, state: &mut Self::State) -> impl Future<Output = Result<(), Failure>> {
        let _ = state;
        async { Ok(()) }
    }

    /// Does the work once and answers how many units were done.
    fn iteration(&mut self, state: &mut Self::State) -> impl Future<Output = Result<u64, Failure>>;

    /// Stops what [`setup`](Self::setup) started. Not timed.
    fn teardown(&mut self, state: Self::State) -> impl Future<Output = ()>;
}
