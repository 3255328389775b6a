//! [`Bell`]: how outlets wake a system host without sending it a message.
//!
//! A host consumes a few outlets (its inbox, its subscriptions, its work). Rather than
//! have each outlet send the host an actix message per doorbell (a boxed envelope and a
//! queue node, allocated, queued, popped and freed), the outlets ring one bell, and a
//! future inside the host's context drains every outlet whose doorbell is set. The
//! outlets keep their own doorbell protocol; the bell only says "look".

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::Waker;

use atomic_waker::AtomicWaker;

/// One host's bell, shared by the outlets it consumes.
#[derive(Default)]
pub(crate) struct Bell {
    rung: AtomicBool,
    waker: AtomicWaker,
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
            None
        } else {
            self.waker.take()
        }
    }

    /// Host side: registers the task to wake, then answers whether the bell rang since
    /// the last call. Registering first means a ring is never lost between the two.
    pub(crate) fn answer(&self, waker: &Waker) -> bool {
        self.waker.register(waker);
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
}
