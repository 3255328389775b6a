//! `loom` models of the notice: a channel pushing, a consumer settling, a close, and a
//! notice dropped with its item, raced in every interleaving loom can reach.
//!
//! The models drive the same [`Notice`] the outlet does, through the same steps in the same
//! order (`Outlet::push`, `push_locked`, `close`, `next`, `settle_idle`, `restore`), with a
//! locked buffer standing in for the outlet's and a channel of notices for the consumer's
//! mailbox. What they check is what a consumer relies on: every item pushed is delivered,
//! once, in order; the close comes once, after every item; and at most one notice is ever
//! in the mailbox, which is what bounds the notices the outlet sends.

use std::collections::VecDeque;

use loom::sync::atomic::AtomicUsize;
use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
use loom::thread;

use super::{Handover, Notice, Settle};
use std::sync::atomic::Ordering::SeqCst;

/// What the consumer's mailbox holds.
enum Mail {
    /// A notice, with the item it carries when it was handed to an idle consumer.
    Notice(Option<u32>),
    /// The producer is done; sent last, so every notice is in front of it.
    Done,
}

#[derive(Default)]
struct Buffer {
    items: VecDeque<u32>,
    closed: bool,
}

impl Buffer {
    fn has_pending(&self) -> bool {
        !self.items.is_empty() || self.closed
    }
}

/// A consumer's mailbox: like an actor's, what is sent before a message is visible to
/// whoever receives it.
#[derive(Default)]
struct Mailbox {
    queue: Mutex<VecDeque<Mail>>,
    arrived: Condvar,
}

impl Mailbox {
    fn send(&self, mail: Mail) {
        self.queue.lock().unwrap().push_back(mail);
        self.arrived.notify_one();
    }

    fn recv(&self) -> Mail {
        let mut queue = self.queue.lock().unwrap();
        loop {
            match queue.pop_front() {
                Some(mail) => return mail,
                None => queue = self.arrived.wait(queue).unwrap(),
            }
        }
    }
}

/// The outlet's state and the consumer's mailbox, shared by the two sides.
struct Outlet {
    notice: Notice,
    buffer: Mutex<Buffer>,
    mailbox: Mailbox,
    /// Notices sent and notices the consumer has taken out of its mailbox.
    sent: AtomicUsize,
    received: AtomicUsize,
}

/// What the consumer takes from the buffer (`Outlet::next`).
enum Next {
    Item(u32),
    Last(u32),
    Empty,
    Closed,
}

impl Outlet {
    fn new() -> Arc<Outlet> {
        Arc::new(Outlet {
            notice: Notice::new(),
            buffer: Mutex::new(Buffer::default()),
            mailbox: Mailbox::default(),
            sent: AtomicUsize::new(0),
            received: AtomicUsize::new(0),
        })
    }

    fn tell(&self, inline: Option<u32>) {
        let sent = self.sent.fetch_add(1, SeqCst);
        assert_eq!(
            sent,
            self.received.load(SeqCst),
            "a second notice was sent while one waits in the mailbox"
        );
        self.mailbox.send(Mail::Notice(inline));
    }

    /// `Outlet::push` for a consumer that takes items handed over in the notice.
    fn push(&self, item: u32) {
        match self.notice.hand_over() {
            Handover::Queue => self.push_locked(item),
            Handover::QueueAndTell => {
                let mut buffer = self.buffer.lock().unwrap();
                buffer.items.push_back(item);
                self.notice.set_pending(true);
                drop(buffer);
                self.tell(None);
            }
            Handover::Inline => self.tell(Some(item)),
        }
    }

    /// `Outlet::push_locked` and `tell_consumer`.
    fn push_locked(&self, item: u32) {
        let mut buffer = self.buffer.lock().unwrap();
        if !buffer.has_pending() && self.notice.claim() {
            drop(buffer);
            self.tell(Some(item));
            return;
        }
        buffer.items.push_back(item);
        self.tell_consumer(buffer);
    }

    /// `Outlet::close`.
    fn close(&self) {
        let mut buffer = self.buffer.lock().unwrap();
        buffer.closed = true;
        self.tell_consumer(buffer);
    }

    fn tell_consumer(&self, buffer: MutexGuard<'_, Buffer>) {
        self.notice.set_pending(true);
        if self.notice.claim() {
            drop(buffer);
            self.tell(None);
        }
    }

    /// `Outlet::next`.
    fn next(&self) -> Next {
        let mut buffer = self.buffer.lock().unwrap();
        let next = if let Some(item) = buffer.items.pop_front() {
            if buffer.has_pending() {
                Next::Item(item)
            } else {
                self.notice.clear();
                Next::Last(item)
            }
        } else {
            self.notice.clear();
            if buffer.closed {
                Next::Closed
            } else {
                Next::Empty
            }
        };
        self.notice.set_pending(buffer.has_pending());
        next
    }

    /// `Outlet::restore`: a notice dropped with its item untaken.
    fn restore(&self, item: u32) {
        let mut buffer = self.buffer.lock().unwrap();
        buffer.items.push_front(item);
        self.notice.set_pending(true);
        drop(buffer);
        self.notice.clear();
    }
}

/// What the consumer saw.
#[derive(Debug, Default)]
struct Seen {
    items: Vec<u32>,
    closes: usize,
}

impl Seen {
    /// Takes one delivery to its end, the way `Delivery`'s iterator does.
    fn deliver(&mut self, outlet: &Outlet, inline: Option<u32>) {
        self.items.extend(inline);
        loop {
            if !outlet.notice.is_pending() {
                match outlet.notice.settle() {
                    Settle::Empty | Settle::ToldAgain => return,
                    Settle::TakeMore => continue,
                }
            }
            match outlet.next() {
                Next::Item(item) => self.items.push(item),
                Next::Last(item) => {
                    self.items.push(item);
                    return;
                }
                Next::Empty => return,
                Next::Closed => {
                    self.closes += 1;
                    return;
                }
            }
        }
    }
}

/// What the producer does: push the items `1..=pushes`, then close if `close`.
struct Produce {
    pushes: u32,
    close: bool,
}

/// Runs `produce` on one thread against a consumer on another; `restore_first` makes the
/// consumer drop the first notice that carries an item. Answers what the consumer saw and
/// what was left in the buffer.
fn race(produce: Produce, restore_first: bool) -> (Seen, Vec<u32>, Arc<Outlet>) {
    let outlet = Outlet::new();
    let consumer = {
        let outlet = Arc::clone(&outlet);
        thread::spawn(move || {
            let mut seen = Seen::default();
            let mut restore = restore_first;
            while let Mail::Notice(inline) = outlet.mailbox.recv() {
                outlet.received.fetch_add(1, SeqCst);
                match inline {
                    Some(item) if restore => {
                        restore = false;
                        outlet.restore(item);
                    }
                    inline => seen.deliver(&outlet, inline),
                }
            }
            seen
        })
    };
    for item in 1..=produce.pushes {
        outlet.push(item);
    }
    if produce.close {
        outlet.close();
    }
    outlet.mailbox.send(Mail::Done);
    let seen = consumer.join().unwrap();
    let left: Vec<u32> = outlet
        .buffer
        .lock()
        .unwrap()
        .items
        .iter()
        .copied()
        .collect();
    (seen, left, outlet)
}

#[test]
fn pushes_racing_a_settling_consumer_are_each_delivered_once_in_order() {
    loom::model(|| {
        let (seen, left, outlet) = race(
            Produce {
                pushes: 3,
                close: false,
            },
            false,
        );
        assert_eq!(seen.items, [1, 2, 3], "lost, repeated or reordered");
        assert!(left.is_empty());
        assert!(!outlet.notice.is_set(), "the next push would tell no one");
    });
}

#[test]
fn a_close_racing_a_settling_consumer_comes_once_after_every_item() {
    loom::model(|| {
        let (seen, left, _) = race(
            Produce {
                pushes: 2,
                close: true,
            },
            false,
        );
        assert_eq!(seen.items, [1, 2]);
        assert_eq!(seen.closes, 1, "the close was missed or seen twice");
        assert!(left.is_empty());
    });
}

#[test]
fn an_item_restored_from_a_dropped_notice_is_not_overtaken_and_not_stranded() {
    loom::model(|| {
        let (seen, left, outlet) = race(
            Produce {
                pushes: 3,
                close: false,
            },
            true,
        );
        let order: Vec<u32> = seen.items.iter().chain(&left).copied().collect();
        assert_eq!(order, [1, 2, 3], "a push overtook the restored item");
        if !left.is_empty() {
            assert!(
                !outlet.notice.is_set() && outlet.notice.is_pending(),
                "items wait but the next push would not tell the consumer"
            );
        }
    });
}
