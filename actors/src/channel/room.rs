//! [`Room`]: how many more messages an inbox may hold.
//!
//! A sender takes a credit before it pushes, and the consumer gives one back for every
//! message it takes. Both are one atomic operation. Only a sender that has to wait for
//! room parks, and only while one is parked does giving back wake anyone: a counting
//! semaphore would take its waiter lock on every message given back.
//!
//! A parked sender and a consumer giving back room cannot miss each other: the sender
//! counts itself in `parked` before it looks for room again, and the consumer looks at
//! `parked` after it gave the room back (both sequentially consistent), so one of them
//! sees the other. Parked senders are woken together and race for the room; they are
//! not served in arrival order.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use tokio::sync::Notify;

/// Set in `free` once the inbox is gone.
const CLOSED: usize = 1 << (usize::BITS - 1);

/// Why no credit was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoom {
    /// The inbox is full now.
    Full,
    /// The inbox is gone; there will never be room.
    Closed,
}

/// The credits of one inbox.
pub(crate) struct Room {
    /// Free credits, with [`CLOSED`] set once the inbox is gone.
    free: AtomicUsize,
    /// Senders parked in [`take`](Room::take).
    parked: AtomicUsize,
    freed: Notify,
}

/// Counts a parked sender for as long as it waits, however its wait ends.
struct Parked<'a>(&'a AtomicUsize);

impl<'a> Parked<'a> {
    fn new(parked: &'a AtomicUsize) -> Parked<'a> {
        parked.fetch_add(1, SeqCst);
        Parked(parked)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

impl Room {
    /// The most credits a room holds.
    pub(crate) const MAX: usize = CLOSED - 1;

    /// A room with `credits` free credits (at most [`Room::MAX`]).
    pub(crate) fn new(credits: usize) -> Room {
        debug_assert!(credits <= Room::MAX);
        Room {
            free: AtomicUsize::new(credits),
            parked: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }

    /// Takes a credit if one is free now.
    pub(crate) fn try_take(&self) -> Result<(), NoRoom> {
        let mut free = self.free.load(SeqCst);
        loop {
            if free & CLOSED != 0 {
                return Err(NoRoom::Closed);
            }
            if free == 0 {
                return Err(NoRoom::Full);
            }
            match self
                .free
                .compare_exchange_weak(free, free - 1, SeqCst, SeqCst)
            {
                Ok(_) => return Ok(()),
                Err(now) => free = now,
            }
        }
    }

    /// Takes a credit, waiting for one; fails only if the inbox closes first.
    /// Cancel-safe: a dropped wait takes nothing.
    pub(crate) async fn take(&self) -> Result<(), NoRoom> {
        loop {
            match self.try_take() {
                Err(NoRoom::Full) => {}
                taken => return taken,
            }
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let _parked = Parked::new(&self.parked);
            match self.try_take() {
                Err(NoRoom::Full) => freed.await,
                taken => return taken,
            }
        }
    }

    /// Gives `n` credits back.
    pub(crate) fn give(&self, n: usize) {
        self.free.fetch_add(n, SeqCst);
        if self.parked.load(SeqCst) > 0 {
            self.freed.notify_waiters();
        }
    }

    /// Closes the room: every parked and later sender fails with [`NoRoom::Closed`].
    pub(crate) fn close(&self) {
        self.free.fetch_or(CLOSED, SeqCst);
        self.freed.notify_waiters();
    }

    /// `true` once the inbox is gone: its recipient was revoked or the channel stopped.
    pub(crate) fn is_closed(&self) -> bool {
        self.free.load(SeqCst) & CLOSED != 0
    }

    /// The credits free now (zero once closed).
    pub(crate) fn available(&self) -> usize {
        let free = self.free.load(SeqCst);
        if free & CLOSED != 0 {
            0
        } else {
            free
        }
    }
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room")
            .field("available", &self.available())
            .field("parked", &self.parked.load(SeqCst))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn credits_are_taken_until_none_are_left_and_come_back() {
        let room = Room::new(2);
        assert_eq!(room.try_take(), Ok(()));
        assert_eq!(room.try_take(), Ok(()));
        assert_eq!(room.try_take(), Err(NoRoom::Full));
        room.give(1);
        assert_eq!(room.available(), 1);
        assert_eq!(room.try_take(), Ok(()));
    }

    #[test]
    fn a_closed_room_refuses_even_with_credits_free() {
        let room = Room::new(3);
        room.close();
        assert_eq!(room.try_take(), Err(NoRoom::Closed));
        room.give(1);
        assert_eq!(room.try_take(), Err(NoRoom::Closed));
        assert_eq!(room.available(), 0);
    }

    #[tokio::test]
    async fn a_parked_sender_wakes_when_room_is_given_back_or_closed() {
        let room = Arc::new(Room::new(0));
        let waiter = tokio::spawn({
            let room = Arc::clone(&room);
            async move { room.take().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        room.give(1);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(room.available(), 0);

        let waiter = tokio::spawn({
            let room = Arc::clone(&room);
            async move { room.take().await }
        });
        tokio::task::yield_now().await;
        room.close();
        assert_eq!(waiter.await.unwrap(), Err(NoRoom::Closed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_takes_nothing_and_leaves_no_one_parked() {
        let room = Room::new(0);
        let wait = tokio::time::timeout(std::time::Duration::from_millis(1), room.take());
        assert!(wait.await.is_err());
        assert_eq!(room.parked.load(SeqCst), 0);
        room.give(1);
        assert_eq!(room.available(), 1);
    }

    /// Senders on several threads, each waiting for room, and a consumer giving it back
    /// one credit at a time: every sender gets through, and no credit is lost or made up.
    #[test]
    fn parked_senders_on_many_threads_all_get_through() {
        const THREADS: usize = 4;
        const TASKS: usize = 2;
        const EACH: usize = 500;
        const TOTAL: usize = THREADS * TASKS * EACH;
        let room = Arc::new(Room::new(1));
        let taken = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (room, taken) = (Arc::clone(&room), Arc::clone(&taken));
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        let tasks: Vec<_> = (0..TASKS)
                            .map(|_| {
                                let (room, taken) = (Arc::clone(&room), Arc::clone(&taken));
                                tokio::spawn(async move {
                                    for _ in 0..EACH {
                                        room.take().await.unwrap();
                                        taken.fetch_add(1, SeqCst);
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap();
                        }
                    })
                })
            })
            .collect::<Vec<_>>();
        let mut given = 0;
        while given < TOTAL {
            if taken.load(SeqCst) > given {
                room.give(1);
                given += 1;
            } else {
                std::thread::yield_now();
            }
        }
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(taken.load(SeqCst), TOTAL);
        assert_eq!(room.available(), 1);
    }
}
