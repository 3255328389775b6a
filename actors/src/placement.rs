//! Where actors run: on the caller's arbiter (the default), on a pinned arbiter, or on
//! a pool of arbiters.
//!
//! An arbiter is one thread running one event loop. Messages between actors on the same
//! arbiter never cross threads; between arbiters they do, and a round trip costs many
//! times more (BENCHMARKS.md has the figures: `ping-pong` beside `ping-pong-pool`). So
//! by default everything runs where the caller runs, and a pool is opt-in for CPU-heavy
//! systems. A pool places
//! by owner: a system and the channels it owns land on the same arbiter.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix::{Actor, Addr, Context};
use actix_rt::{Arbiter, ArbiterHandle};
use dashmap::DashMap;
use rustc_hash::FxBuildHasher;

use crate::ids::SystemId;

/// Why a pool could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    /// No actix `System` (or arbiter) runs on this thread.
    #[error("no actix System runs on this thread: start exokern inside `actix_rt::System::new().block_on(..)`, an `#[actix_rt::main]` function or an actix-web server")]
    NoSystem,
    /// A pool of zero arbiters.
    #[error("an arbiter pool needs at least one arbiter")]
    Empty,
}

/// Where to start an actor.
#[derive(Clone, Default)]
pub enum Placement {
    /// On the arbiter of the calling thread.
    #[default]
    Current,
    /// On this arbiter.
    Pinned(ArbiterHandle),
    /// On the pool's arbiter for the actor's owner (see [`ArbiterPool::arbiter_for`]).
    Pool(ArbiterPool),
}

impl fmt::Debug for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Current => f.write_str("Current"),
            Placement::Pinned(_) => f.write_str("Pinned"),
            Placement::Pool(pool) => f.debug_tuple("Pool").field(pool).finish(),
        }
    }
}

impl Placement {
    /// Starts an actor here. `owner` keeps an owner's actors together on a pool; without
    /// an owner, a pool places round-robin.
    pub(crate) fn start<A, F>(
        &self,
        owner: Option<&SystemId>,
        make: F,
    ) -> Result<Addr<A>, PlacementError>
    where
        A: Actor<Context = Context<A>>,
        F: FnOnce(&mut Context<A>) -> A + Send + 'static,
    {
        Ok(match self {
            Placement::Current => {
                if Arbiter::try_current().is_none() {
                    return Err(PlacementError::NoSystem);
                }
                A::create(make)
            }
            Placement::Pinned(arbiter) => A::start_in_arbiter(arbiter, make),
            Placement::Pool(pool) => {
                let arbiter = match owner {
                    Some(owner) => pool.arbiter_for(owner),
                    None => pool.next_arbiter(),
                };
                A::start_in_arbiter(&arbiter, make)
            }
        })
    }
}

/// A fixed set of arbiters (threads). Owners are assigned round-robin on first sight and
/// keep their arbiter, so a system and the channels it owns stay together.
///
/// The arbiters run until [`shutdown`](Self::shutdown) or until the actix `System`
/// stops; dropping the pool's handles does not stop the actors placed on it.
#[derive(Clone)]
pub struct ArbiterPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    arbiters: Vec<Arbiter>,
    /// Read by every placement, from any arbiter: sharded, so they share no lock.
    assigned: DashMap<SystemId, usize, FxBuildHasher>,
    next: AtomicUsize,
}

impl ArbiterPool {
    /// Starts `size` arbiters. Must be called inside a running actix `System`.
    pub fn new(size: usize) -> Result<ArbiterPool, PlacementError> {
        if size == 0 {
            return Err(PlacementError::Empty);
        }
        if actix_rt::System::try_current().is_none() {
            return Err(PlacementError::NoSystem);
        }
        Ok(ArbiterPool {
            inner: Arc::new(PoolInner {
                arbiters: (0..size).map(|_| Arbiter::new()).collect(),
                assigned: DashMap::default(),
                next: AtomicUsize::new(0),
            }),
        })
    }

    /// The number of arbiters.
    pub fn len(&self) -> usize {
        self.inner.arbiters.len()
    }

    /// Always `false`: a pool has at least one arbiter.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The arbiter `owner` is assigned to, assigning the next one round-robin on first use.
    pub fn arbiter_for(&self, owner: &SystemId) -> ArbiterHandle {
        let index =
            match self.inner.assigned.get(owner) {
                Some(index) => *index,
                None => *self.inner.assigned.entry(owner.clone()).or_insert_with(|| {
                    self.inner.next.fetch_add(1, Ordering::Relaxed) % self.len()
                }),
            };
        self.inner.arbiters[index].handle()
    }

    /// Arbiter `index` of the pool (counted modulo its size), for work spread evenly by
    /// position rather than by owner.
    pub fn arbiter(&self, index: usize) -> ArbiterHandle {
        self.inner.arbiters[index % self.len()].handle()
    }

    /// Forgets `owner`'s assignment (after it is gone for good), so the map stays as
    /// large as the set of live owners.
    pub fn release(&self, owner: &SystemId) {
        self.inner.assigned.remove(owner);
    }

    /// Stops every arbiter of the pool, and with them the actors placed there.
    pub fn shutdown(&self) {
        for arbiter in &self.inner.arbiters {
            arbiter.stop();
        }
    }

    fn next_arbiter(&self) -> ArbiterHandle {
        let index = self.inner.next.fetch_add(1, Ordering::Relaxed) % self.len();
        self.inner.arbiters[index].handle()
    }
}

impl fmt::Debug for ArbiterPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArbiterPool")
            .field("arbiters", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    struct WhereAmI;

    impl Actor for WhereAmI {
        type Context = Context<Self>;
    }

    #[derive(actix::Message)]
    #[rtype(result = "ThreadId")]
    struct Ask;

    impl actix::Handler<Ask> for WhereAmI {
        type Result = actix::MessageResult<Ask>;
        fn handle(&mut self, _: Ask, _: &mut Context<Self>) -> Self::Result {
            actix::MessageResult(std::thread::current().id())
        }
    }

    async fn thread_of(placement: &Placement, owner: Option<&str>) -> ThreadId {
        let owner = owner.map(|o| SystemId::new(o).unwrap());
        let addr = placement.start(owner.as_ref(), |_| WhereAmI).unwrap();
        addr.send(Ask).await.unwrap()
    }

    #[actix_rt::test]
    async fn a_pool_keeps_an_owners_actors_together_and_spreads_owners() {
        let pool = ArbiterPool::new(2).unwrap();
        let placement = Placement::Pool(pool.clone());
        let here = std::thread::current().id();
        let a1 = thread_of(&placement, Some("a")).await;
        let b = thread_of(&placement, Some("b")).await;
        let a2 = thread_of(&placement, Some("a")).await;
        assert_eq!(a1, a2, "one owner, one arbiter");
        assert_ne!(a1, b, "two owners over two arbiters");
        assert!(a1 != here && b != here);
        pool.release(&SystemId::new("a").unwrap());
    }

    #[actix_rt::test]
    async fn current_and_pinned_placement_run_where_they_say() {
        let here = std::thread::current().id();
        assert_eq!(thread_of(&Placement::Current, None).await, here);
        let arbiter = Arbiter::new();
        let pinned = Placement::Pinned(arbiter.handle());
        let there = thread_of(&pinned, None).await;
        assert_ne!(there, here);
        assert_eq!(thread_of(&pinned, Some("x")).await, there);
        arbiter.stop();
    }

    #[test]
    fn pools_and_current_placement_need_a_running_system() {
        assert_eq!(ArbiterPool::new(2).unwrap_err(), PlacementError::NoSystem);
        assert!(matches!(
            Placement::Current.start(None, |_| WhereAmI),
            Err(PlacementError::NoSystem)
        ));
    }

    #[actix_rt::test]
    async fn a_pool_has_at_least_one_arbiter() {
        assert_eq!(ArbiterPool::new(0).unwrap_err(), PlacementError::Empty);
    }
}
