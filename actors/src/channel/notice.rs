//! The notice: the two flags an outlet's producer and consumer hand a batch over with.
//!
//! `notified` says the consumer has been told and has not yet seen the outlet empty; the
//! producer that sets it owns the one notice that may be outstanding, and only the
//! consumer (or what replaces it) clears it. `pending` says the buffer holds something (items, a lag report,
//! the close); it is written only with the outlet's lock held, and read without it. The
//! producer sets `pending` before it tries `notified`; the consumer clears `notified`
//! before it reads `pending`. Both sequentially consistent, one of them always sees the
//! other, so no push is left without a notice and no two notices are outstanding at once.
//!
//! The flags are atomics so that a consumer can finish a batch, and a producer can hand
//! an item to an idle consumer, without taking the lock. That is the part a test cannot
//! reach by running it, so the `model` tests check it under `loom`, every interleaving, with
//! `RUSTFLAGS="--cfg exokern_loom" cargo test -p exokern-actors --lib --release notice::model`.

#[cfg(exokern_loom)]
use loom::sync::atomic::AtomicBool;
#[cfg(not(exokern_loom))]
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// The handshake flags of one outlet.
#[derive(Debug)]
pub(super) struct Notice {
    notified: AtomicBool,
    pending: AtomicBool,
}

/// What a producer that found the consumer possibly idle may do, without the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Handover {
    /// The consumer has been told already, or something waits in the buffer: queue
    /// behind it under the lock.
    Queue,
    /// The notice is ours, but an item the consumer restored waits: queue behind it and
    /// send the notice.
    QueueAndTell,
    /// The notice is ours and the buffer is empty: the item may ride inside the notice.
    Inline,
}

impl Notice {
    #[inline]
    pub(super) fn new() -> Notice {
        Notice {
            notified: AtomicBool::new(false),
            pending: AtomicBool::new(false),
        }
    }

    /// Producer side, with the lock held and `pending` set: `true` if this call won the
    /// notice and must tell the consumer.
    #[inline]
    pub(super) fn claim(&self) -> bool {
        store_then_load();
        // A consumer still told of earlier items reads `pending` after it clears
        // `notified`, so a busy consumer's outlet costs no locked operation per push.
        !self.notified.load(SeqCst) && !self.notified.swap(true, SeqCst)
    }

    /// Producer side, without the lock (the only producer is the channel, so no other push
    /// races this one). A consumer restoring an untaken item sets `pending` before
    /// clearing `notified`, so having won `notified` we see that item on the second look
    /// and queue behind it rather than overtake it.
    #[inline]
    pub(super) fn hand_over(&self) -> Handover {
        if self.pending.load(SeqCst) || self.notified.swap(true, SeqCst) {
            Handover::Queue
        } else if self.pending.load(SeqCst) {
            Handover::QueueAndTell
        } else {
            Handover::Inline
        }
    }

    /// With the lock held: records whether the buffer holds something. Every write is made
    /// under the lock, so one that would not change the flag is skipped: a locked exchange
    /// per message saved while the buffer stays non-empty.
    #[inline]
    pub(super) fn set_pending(&self, pending: bool) {
        if self.pending.load(Relaxed) != pending {
            self.pending.store(pending, SeqCst);
        }
    }

    /// `true` if the buffer holds something to take.
    #[inline]
    pub(super) fn is_pending(&self) -> bool {
        self.pending.load(SeqCst)
    }

    /// `true` if the consumer has been told of items it has not yet taken to the end.
    #[inline]
    pub(super) fn is_set(&self) -> bool {
        self.notified.load(SeqCst)
    }

    /// Consumer side (or a producer replacing the consumer, with the lock held): the next
    /// push tells the consumer again.
    #[inline]
    pub(super) fn clear(&self) {
        // An exchange rather than a store: it orders the clear after every exchange the
        // producer made (a sequentially consistent store is an exchange on x86 anyway).
        self.notified.swap(false, SeqCst);
    }

    /// Consumer side, without the lock, once it has taken everything: clears the notice.
    #[inline]
    pub(super) fn settle(&self) -> Settle {
        self.clear();
        store_then_load();
        if !self.pending.load(SeqCst) {
            Settle::Empty
        } else if self.notified.swap(true, SeqCst) {
            Settle::ToldAgain
        } else {
            Settle::TakeMore
        }
    }
}

/// How a consumer's delivery ends when it has taken everything it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    /// The outlet is empty: the delivery is done and the next push tells the consumer.
    Empty,
    /// Something arrived and the producer told the consumer of it: another delivery is on
    /// its way, and this one is done.
    ToldAgain,
    /// Something arrived while the notice was set, so the producer told no one: this
    /// delivery, owning the notice again, takes it.
    TakeMore,
}

/// Marks where a store to one flag is followed by a load of the other. Both are
/// sequentially consistent, so they keep that order in the one total order of such
/// accesses, and that order is what the handshake rests on. loom models a sequentially
/// consistent access as acquire/release only, which lets it report losses the language
/// forbids, but it does model a sequentially consistent fence, so under loom one stands
/// here for the order the accesses already have. Elsewhere it compiles to nothing.
#[inline(always)]
fn store_then_load() {
    #[cfg(exokern_loom)]
    loom::sync::atomic::fence(SeqCst);
}

#[cfg(all(test, exokern_loom))]
mod model;
