//! [`Bell`]: how outlets wake a system host without sending it a message.
//!
//! A host consumes a few outlets (its inbox, its subscriptions, its work). Rather than
//! have each outlet send the host an actix message per doorbell (a boxed envelope and a
//! queue node, allocated, queued, popped and freed), the outlets ring one bell, and a
//! future inside the host's context drains every outlet whose doorbell is set. The
//! outlets keep their own doorbell protocol; the bell only says "look".

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::Waker;

/// One host's bell, shared by the outlets it consumes.
///
/// A host's context is one task for the host's whole life, so its waker is kept where
/// the host first answered and woken from there: an `AtomicWaker` would be emptied by
/// every ring and refilled, with a clone, by every answer, four locked operations per
/// message more. Should the host ever answer from another task, that waker goes into
/// `moved`, and rings take the lock to read it from then on.
#[derive(Default)]
pub(crate) struct Bell {
    rung: AtomicBool,
    waker: OnceLock<Waker>,
    has_moved: AtomicBool,
    moved: Mutex<Option<Waker>>,
}

impl Bell {
    /// Tells the host to look at its outlets; wakes it unless it was told already.
    pub(crate) fn ring(&self) {
        if let Some(waker) = self.ring_later() {
            waker.wake();
        }
    }

    /// Tells the host to look, and hands back the waker to wake unless it was told
    /// already: for a caller holding a lock the host will take, who wakes it after
    /// letting go.
    pub(crate) fn ring_later(&self) -> Option<Waker> {
        if self.rung.swap(true, SeqCst) {
            return None;
        }
        if self.has_moved.load(SeqCst) {
            return self
                .moved
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
        }
        // A ring that finds no waker yet is seen by the host's first answer, which
        // stores the waker before it clears `rung`.
        self.waker.get().cloned()
    }

    /// The host's side: remembers where to wake it, and answers whether it was rung
    /// since it last answered (clearing the bell).
    pub(crate) fn answer(&self, waker: &Waker) -> bool {
        let kept = self.waker.get_or_init(|| waker.clone());
        if !kept.will_wake(waker) {
            let mut moved = self.moved.lock().unwrap_or_else(PoisonError::into_inner);
            if !moved.as_ref().is_some_and(|m| m.will_wake(waker)) {
                *moved = Some(waker.clone());
            }
            self.has_moved.store(true, SeqCst);
        }
        self.rung.swap(false, SeqCst)
    }
}

impl fmt::Debug for Bell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bell")
            .field("rung", &self.rung.load(SeqCst))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn rings_wake_the_host_once_until_it_answers() {
        let woken = Arc::new(Counted::default());
        let waker = Waker::from(Arc::clone(&woken));
        let bell = Bell::default();
        assert!(!bell.answer(&waker));
        bell.ring();
        bell.ring();
        assert_eq!(woken.0.load(SeqCst), 1);
        assert!(bell.answer(&waker));
        assert!(!bell.answer(&waker));
        bell.ring();
        assert_eq!(woken.0.load(SeqCst), 2);
    }

    #[test]
    fn a_ring_before_the_host_first_answers_is_kept() {
        let bell = Bell::default();
        bell.ring();
        let waker = Waker::from(Arc::new(Counted::default()));
        assert!(bell.answer(&waker));
    }

    #[test]
    fn a_host_answering_from_another_task_is_woken_there() {
        let (first, second) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
        let bell = Bell::default();
        assert!(!bell.answer(&Waker::from(Arc::clone(&first))));
        assert!(!bell.answer(&Waker::from(Arc::clone(&second))));
        bell.ring();
        assert_eq!(first.0.load(SeqCst), 0);
        assert_eq!(second.0.load(SeqCst), 1);
        assert!(bell.answer(&Waker::from(Arc::clone(&second))));
        bell.ring();
        assert_eq!(second.0.load(SeqCst), 2);
    }
}
