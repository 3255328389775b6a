//! Outlets: the bounded buffer between a channel and one consumer.
//!
//! The channel actor pushes into an outlet and notifies its consumer at most once until the
//! consumer has seen the outlet empty, so a busy consumer gets one `Delivery` for a whole
//! batch, not one message per item. When a push consumer is idle and its outlet empty,
//! the item rides inside the `Delivery` itself and never touches the buffer. A system
//! host is not sent a `Delivery`: the notice wakes the host's task, whose waker the
//! outlet keeps, and the host drains every outlet whose notice is set. Pull consumers
//! wait on a `Notify` instead of a notice. The outlet's bound is what keeps a slow
//! consumer from costing the channel memory or time: a broadcast drops the oldest item
//! (counted, and reported to the consumer as lag) or disconnects the consumer; work
//! queues and inboxes never overflow because they only push what the consumer has room
//! for.
//!
//! The notice that hands a batch over without the lock is in [`notice`](super::notice).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use actix::dev::SendError;
use actix::Recipient;
use tokio::sync::Notify;

use crate::channel::notice::{Handover, Notice, Settle};
use crate::channel::room::Room;
use crate::channel::{CloseReason, Delivery, Inbound, RecvError};
use crate::ids::{ChannelId, Seq};

/// What a channel does when a subscriber's buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Drop the subscriber's oldest buffered message (counted, and reported to the
    /// subscriber as lag) to make room. The writer never waits.
    #[default]
    DropOldest,
    /// Disconnect the subscriber: it receives what was buffered, then the subscription
    /// ends with [`CloseReason::Lagging`].
    Disconnect,
}

/// How an outlet tells its consumer that items are waiting.
pub(crate) enum Wake<T: Send + Sync + 'static> {
    /// A pull consumer parked on the outlet's `Notify`.
    Task,
    /// A push consumer: an actor that handles [`Delivery`].
    Actor(Recipient<Delivery<T>>),
    /// A system host's task, which drains the host's notifying outlets when woken; `None`
    /// until the host hands its waker over ([`Outlet::wake_host_with`]) and looks at
    /// its outlets, as it does on every poll.
    Host(Option<Waker>),
}

pub(super) struct Buffer<T: Send + Sync + 'static> {
    items: VecDeque<Inbound<T>>,
    /// Items dropped since the consumer last looked.
    missed: u64,
    closed: Option<CloseReason>,
    /// The consumer is gone; the channel forgets this outlet at its next push.
    detached: bool,
    wake: Wake<T>,
}

impl<T: Send + Sync + 'static> Buffer<T> {
    fn has_pending(&self) -> bool {
        !self.items.is_empty() || self.missed > 0 || self.closed.is_some()
    }
}

/// What happened to a pushed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    Queued,
    /// Queued after dropping the oldest item.
    DroppedOldest,
    /// Not queued: the outlet overflowed and its policy disconnected the consumer.
    Disconnected,
    /// Not queued: the outlet is full (only for outlets that are never meant to overflow).
    Full,
    /// Not queued: the consumer is gone or the outlet is closed.
    Gone,
}

/// What a consumer takes from its outlet.
pub(crate) enum Next<T> {
    Item(Inbound<T>),
    /// The item that emptied the outlet: the consumer has seen everything, and the next
    /// push will notify again, so a delivery can end without looking once more.
    Last(Inbound<T>),
    Lagged(u64),
    Empty,
    Closed(CloseReason),
}

/// Signals that a channel is draining; consumers notify it when they empty an outlet.
#[derive(Debug, Default)]
pub(crate) struct DrainSignal {
    draining: AtomicBool,
    emptied: Notify,
}

impl DrainSignal {
    pub(crate) fn start(&self) {
        self.draining.store(true, SeqCst);
    }

    pub(crate) async fn outlet_emptied(&self) {
        self.emptied.notified().await
    }

    fn note_emptied(&self) {
        if self.draining.load(SeqCst) {
            self.emptied.notify_one();
        }
    }
}

/// The buffer between a channel and one consumer.
// `repr(C)` keeps what every delivery touches (the flags, the drain signal, the push
// consumer) in the 40 bytes after the `Arc` counts; the lock and the buffer, which the
// fast path never touches, come after. At 10,000 subscribers each line per outlet is a
// cache miss. What the consumer of a delivery touches (the counts, the flags, the drain
// signal) comes first, in the allocation's first 32 bytes, which share a line in three
// allocations out of four (the allocator aligns to 16 bytes, not to a line). An inbox's
// credits, taken and given back with every message as its buffer is locked, sit right
// after the buffer rather than in an allocation of their own, which was one more line to
// miss per send.
#[repr(C)]
pub(crate) struct Outlet<T: Send + Sync + 'static> {
    notice: Notice,
    /// What a full buffer does; `None` for outlets that never get more than they can hold.
    overflow: Option<Overflow>,
    /// `credits` is set. Read on every item taken, here rather than where the credits
    /// are: a broadcast delivery, which has none, would miss one more line to learn it.
    counted: bool,
    /// The bound of the buffer, and of a delivery: at most [`Outlet::MAX_CAPACITY`] items
    /// (more than any memory holds), so that it fits beside the flags.
    capacity: u32,
    drain: Arc<DrainSignal>,
    /// A push consumer that never changes, reachable without the lock.
    direct: Option<Recipient<Delivery<T>>>,
    buffer: Mutex<Buffer<T>>,
    /// Inbox permits, returned as the consumer takes items (mailbox only).
    credits: Option<Room>,
    channel: ChannelId,
    notify: Notify,
}

impl<T: Send + Sync + 'static> Outlet<T> {
    /// The largest bound an outlet keeps; a larger one is taken as this.
    pub(crate) const MAX_CAPACITY: usize = u32::MAX as usize;

    /// An inbox: read by pulling until its consumer is chosen, and changed, with
    /// [`set_wake`](Self::set_wake); `credits` bound what its senders may put in it.
    pub(crate) fn pull(
        channel: ChannelId,
        capacity: usize,
        overflow: Option<Overflow>,
        credits: Option<Room>,
        drain: Arc<DrainSignal>,
    ) -> Arc<Outlet<T>> {
        Outlet::build(
            channel,
            capacity,
            overflow,
            Wake::Task,
            None,
            credits,
            drain,
        )
    }

    /// An outlet woken the way `wake` says, for a consumer that never changes (broadcast
    /// subscriptions, work queue workers). Deliveries to an idle actor skip the lock.
    pub(crate) fn with_wake(
        channel: ChannelId,
        capacity: usize,
        overflow: Option<Overflow>,
        wake: Wake<T>,
        drain: Arc<DrainSignal>,
    ) -> Arc<Outlet<T>> {
        let direct = match &wake {
            Wake::Actor(recipient) => Some(recipient.clone()),
            Wake::Task | Wake::Host(_) => None,
        };
        Outlet::build(channel, capacity, overflow, wake, direct, None, drain)
    }

    fn build(
        channel: ChannelId,
        capacity: usize,
        overflow: Option<Overflow>,
        wake: Wake<T>,
        direct: Option<Recipient<Delivery<T>>>,
        credits: Option<Room>,
        drain: Arc<DrainSignal>,
    ) -> Arc<Outlet<T>> {
        Arc::new(Outlet {
            notice: Notice::new(),
            counted: credits.is_some(),
            capacity: u32::try_from(capacity).unwrap_or(u32::MAX),
            overflow,
            direct,
            buffer: Mutex::new(Buffer {
                items: VecDeque::new(),
                missed: 0,
                closed: None,
                detached: false,
                wake,
            }),
            channel,
            notify: Notify::new(),
            credits,
            drain,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Buffer<T>> {
        // A panic while holding this lock cannot leave the buffer inconsistent: every
        // critical section is a handful of infallible VecDeque operations.
        self.buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn channel(&self) -> &ChannelId {
        &self.channel
    }

    /// Channel side: queue an item for the consumer, applying the outlet's overflow
    /// policy if its buffer is full.
    ///
    /// For an idle push consumer that has seen everything, the item is handed over
    /// inside the notice without taking the lock.
    pub(crate) fn push(self: &Arc<Self>, item: Inbound<T>) -> Push {
        let Some(recipient) = &self.direct else {
            return self.push_locked(item);
        };
        match self.notice.hand_over() {
            Handover::Queue => self.push_locked(item),
            Handover::QueueAndTell => {
                let mut buffer = self.lock();
                buffer.items.push_back(item);
                self.notice.set_pending(true);
                drop(buffer);
                self.send(recipient, self.delivery());
                Push::Queued
            }
            Handover::Inline => {
                let delivery = Delivery::new(Arc::clone(self), self.capacity, Some(item));
                if self.send(recipient, delivery) {
                    Push::Queued
                } else {
                    Push::Gone
                }
            }
        }
    }

    fn push_locked(self: &Arc<Self>, item: Inbound<T>) -> Push {
        let mut buffer = self.lock();
        if buffer.detached || buffer.closed.is_some() {
            return Push::Gone;
        }
        if !buffer.has_pending() {
            if let Wake::Actor(recipient) = &buffer.wake {
                if self.notice.claim() {
                    // The consumer is idle and has seen everything: hand the item over
                    // inside the notice.
                    let recipient = recipient.clone();
                    drop(buffer);
                    let delivery = Delivery::new(Arc::clone(self), self.capacity, Some(item));
                    if self.send(&recipient, delivery) {
                        return Push::Queued;
                    }
                    return Push::Gone;
                }
            }
        }
        let mut outcome = Push::Queued;
        if buffer.items.len() >= self.capacity as usize {
            match self.overflow {
                Some(Overflow::DropOldest) => {
                    buffer.items.pop_front();
                    buffer.missed += 1;
                    outcome = Push::DroppedOldest;
                }
                Some(Overflow::Disconnect) => {
                    buffer.closed = Some(CloseReason::Lagging);
                    self.tell_consumer(buffer);
                    return Push::Disconnected;
                }
                None => return Push::Full,
            }
        }
        buffer.items.push_back(item);
        self.tell_consumer(buffer);
        outcome
    }

    /// Channel side: tell the consumer, before anything queued after this call, that it
    /// missed `missed` messages (a late joiner asking for evicted history).
    pub(crate) fn report_missed(self: &Arc<Self>, missed: u64) {
        if missed > 0 {
            let mut buffer = self.lock();
            buffer.missed += missed;
            self.tell_consumer(buffer);
        }
    }

    /// Channel side: no more items will come. The consumer still takes what is buffered.
    pub(crate) fn close(self: &Arc<Self>, reason: CloseReason) {
        let mut buffer = self.lock();
        if buffer.closed.is_none() {
            buffer.closed = Some(reason);
            self.tell_consumer(buffer);
        }
    }

    /// Channel side: the consumer is gone; drop what it never took.
    pub(crate) fn detach(&self) -> usize {
        let mut buffer = self.lock();
        buffer.detached = true;
        let dropped = buffer.items.len();
        buffer.items.clear();
        self.notice.set_pending(buffer.has_pending());
        drop(buffer);
        self.release_credits(dropped);
        dropped
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub(crate) fn credits(&self) -> Option<&Room> {
        self.credits.as_ref()
    }

    /// Switches the consumer to push delivery (or back to pull); notifies at once if items
    /// are waiting.
    pub(crate) fn set_wake(self: &Arc<Self>, wake: Wake<T>) {
        let mut buffer = self.lock();
        buffer.wake = wake;
        self.notice.clear();
        if buffer.has_pending() {
            self.tell_consumer(buffer);
        }
    }

    /// Marks the buffer as holding something and tells the consumer, unless it has been
    /// told already, letting go of the lock first: waking a task on another thread is a
    /// system call, and a consumer woken while the lock is still held finds it taken and
    /// goes to sleep on it. If an actor refuses its notice, it is gone, and the lock is
    /// taken again to mark the outlet detached.
    fn tell_consumer(self: &Arc<Self>, buffer: MutexGuard<'_, Buffer<T>>) {
        self.notice.set_pending(true);
        if !self.notice.claim() {
            return;
        }
        match &buffer.wake {
            Wake::Task => {
                drop(buffer);
                self.notify.notify_one();
            }
            Wake::Host(waker) => {
                // Kept with the buffer, whose line the push has just written, rather than in
                // a bell of the host's own: one cache line fewer to miss per message when
                // thousands of hosts take turns.
                let waker = waker.clone();
                drop(buffer);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            Wake::Actor(recipient) => {
                let recipient = recipient.clone();
                drop(buffer);
                self.send(&recipient, self.delivery());
            }
        }
    }

    /// Sends a notice; `false` if the consumer is gone, and then the outlet is marked
    /// detached. Called without the lock.
    fn send(&self, recipient: &Recipient<Delivery<T>>, delivery: Delivery<T>) -> bool {
        match recipient.try_send(delivery) {
            Ok(()) => true,
            // The consumer's mailbox is full of other traffic. At most one notice per
            // outlet is ever outstanding, so waiting for room in a spawned task is
            // bounded by the number of outlets.
            Err(SendError::Full(delivery)) => {
                let recipient = recipient.clone();
                actix::spawn(async move {
                    let _ = recipient.send(delivery).await;
                });
                true
            }
            // The consumer is gone: the refused notice must not restore its item or
            // notify again, as its drop would.
            Err(SendError::Closed(delivery)) => {
                delivery.disarm();
                self.lock().detached = true;
                false
            }
        }
    }

    /// Host side: the waker that notifies its consumer from now on. The host looks at the
    /// outlet's notice after handing it over, so a notice that found no waker is not
    /// missed.
    pub(crate) fn wake_host_with(&self, waker: &Waker) {
        let mut buffer = self.lock();
        if let Wake::Host(kept) = &mut buffer.wake {
            if !kept.as_ref().is_some_and(|kept| kept.will_wake(waker)) {
                *kept = Some(waker.clone());
            }
        }
    }

    /// Consumer side, without the lock: the consumer has been told of items it has not
    /// yet taken to the end.
    pub(crate) fn is_notified(&self) -> bool {
        self.notice.is_set()
    }

    /// A delivery of what waits, at most a buffer's worth: the notice sent to an actor,
    /// or what a host woken by its notice takes.
    pub(crate) fn delivery(self: &Arc<Self>) -> Delivery<T> {
        Delivery::new(Arc::clone(self), self.capacity, None)
    }

    /// Consumer side: take the next event.
    #[inline]
    pub(super) fn next(&self) -> Next<T> {
        let mut buffer = self.lock();
        let next = if buffer.missed > 0 {
            Next::Lagged(std::mem::take(&mut buffer.missed))
        } else if let Some(item) = buffer.items.pop_front() {
            if buffer.has_pending() {
                Next::Item(item)
            } else {
                self.notice.clear();
                Next::Last(item)
            }
        } else {
            self.notice.clear();
            match buffer.closed {
                Some(reason) => Next::Closed(reason),
                None => Next::Empty,
            }
        };
        self.notice.set_pending(buffer.has_pending());
        drop(buffer);
        match next {
            Next::Last(_) => {
                self.release_credits(1);
                self.drain.note_emptied();
            }
            Next::Item(_) => self.release_credits(1),
            _ => {}
        }
        next
    }

    /// Consumer side, without the lock: `true` if the buffer holds something to take.
    pub(super) fn has_pending(&self) -> bool {
        self.notice.is_pending()
    }

    /// Consumer side, without the lock, once the consumer has taken everything: clears
    /// the notice. Answers whether the delivery is done; `false` means something
    /// arrived meanwhile and this delivery takes it.
    pub(super) fn settle_idle(&self) -> bool {
        match self.notice.settle() {
            Settle::Empty => {
                self.drain.note_emptied();
                true
            }
            Settle::ToldAgain => true,
            Settle::TakeMore => false,
        }
    }

    /// Consumer side: an item handed over inside a notice was taken.
    pub(super) fn took_inline(&self) {
        self.release_credits(1);
    }

    /// Consumer side: a notice was dropped with its item untaken; keep the item for
    /// the next delivery.
    pub(super) fn restore(&self, item: Inbound<T>) {
        let mut buffer = self.lock();
        if !buffer.detached {
            buffer.items.push_front(item);
            self.notice.set_pending(true);
        }
        self.notice.clear();
    }

    /// Consumer side: everything buffered, at once (a consumer being retired).
    pub(crate) fn take_all(&self) -> Vec<Inbound<T>> {
        let mut buffer = self.lock();
        let taken: Vec<Inbound<T>> = buffer.items.drain(..).collect();
        self.notice.set_pending(buffer.has_pending());
        drop(buffer);
        self.release_credits(taken.len());
        taken
    }

    /// Consumer side: wait for the next event (pull consumers).
    pub(crate) async fn recv(&self) -> Result<Inbound<T>, RecvError> {
        loop {
            match self.next() {
                Next::Item(item) | Next::Last(item) => return Ok(item),
                Next::Lagged(missed) => return Err(RecvError::Lagged { missed }),
                Next::Closed(reason) => return Err(RecvError::Closed(reason)),
                Next::Empty => self.notify.notified().await,
            }
        }
    }

    /// Consumer side: take without waiting; `Ok(None)` if nothing is buffered.
    pub(crate) fn try_recv(&self) -> Result<Option<Inbound<T>>, RecvError> {
        match self.next() {
            Next::Item(item) | Next::Last(item) => Ok(Some(item)),
            Next::Lagged(missed) => Err(RecvError::Lagged { missed }),
            Next::Closed(reason) => Err(RecvError::Closed(reason)),
            Next::Empty => Ok(None),
        }
    }

    /// Consumer side, when a delivery ends before the outlet was seen empty: let the next
    /// push notify again, or notify now if the delivery stopped at its budget.
    pub(super) fn delivery_ended(self: &Arc<Self>, exhausted: bool) {
        let buffer = self.lock();
        self.notice.clear();
        if exhausted && buffer.has_pending() {
            self.tell_consumer(buffer);
        }
    }

    fn release_credits(&self, n: usize) {
        if !self.counted || n == 0 {
            return;
        }
        if let Some(credits) = &self.credits {
            credits.give(n);
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Outlet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buffer = self.lock();
        f.debug_struct("Outlet")
            .field("channel", &self.channel)
            .field("len", &buffer.items.len())
            .field("capacity", &self.capacity)
            .field("closed", &buffer.closed)
            .finish()
    }
}

/// The position a [`Seq`] window starts after, used to report what a late joiner missed.
pub(crate) fn missed_between(after: Seq, oldest: Seq) -> u64 {
    oldest.get().saturating_sub(after.get().saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Envelope, Outgoing};
    use crate::ids::SystemId;

    fn outlet(capacity: usize, overflow: Option<Overflow>) -> Arc<Outlet<u32>> {
        Outlet::pull(
            ChannelId::new("c").unwrap(),
            capacity,
            overflow,
            None,
            Arc::default(),
        )
    }

    fn item(seq: u64) -> Inbound<u32> {
        let env = Envelope::stamp(
            &ChannelId::new("c").unwrap(),
            Seq::new(seq),
            &SystemId::new("s").unwrap(),
            None,
            Outgoing::new(seq as u32),
        );
        Inbound::message(env)
    }

    fn seq_of(next: Next<u32>) -> u64 {
        match next {
            Next::Item(item) | Next::Last(item) => item.seq().get(),
            _ => panic!("expected an item"),
        }
    }

    #[test]
    fn drop_oldest_reports_lag_before_the_items_after_the_gap() {
        let out = outlet(2, Some(Overflow::DropOldest));
        for seq in 1..=5 {
            out.push(item(seq));
        }
        assert!(matches!(out.next(), Next::Lagged(3)));
        assert_eq!(seq_of(out.next()), 4);
        assert_eq!(seq_of(out.next()), 5);
        assert!(matches!(out.next(), Next::Empty));
    }

    #[test]
    fn disconnect_closes_after_the_buffered_items() {
        let out = outlet(1, Some(Overflow::Disconnect));
        assert!(matches!(out.push(item(1)), Push::Queued));
        assert!(matches!(out.push(item(2)), Push::Disconnected));
        assert!(matches!(out.push(item(3)), Push::Gone));
        assert_eq!(seq_of(out.next()), 1);
        assert!(matches!(out.next(), Next::Closed(CloseReason::Lagging)));
    }

    #[test]
    fn outlets_without_a_policy_refuse_rather_than_overflow() {
        let out = outlet(1, None);
        assert!(matches!(out.push(item(1)), Push::Queued));
        assert!(matches!(out.push(item(2)), Push::Full));
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn detaching_drops_what_was_never_taken() {
        let out = outlet(4, None);
        out.push(item(1));
        out.push(item(2));
        assert_eq!(out.detach(), 2);
        assert!(matches!(out.push(item(3)), Push::Gone));
    }

    #[test]
    fn credits_return_as_items_are_taken() {
        let out = Outlet::pull(
            ChannelId::new("c").unwrap(),
            4,
            None,
            Some(Room::new(0)),
            Arc::default(),
        );
        let credits = out.credits().unwrap();
        out.push(item(1));
        out.push(item(2));
        assert_eq!(credits.available(), 0);
        out.next();
        assert_eq!(credits.available(), 1);
        out.detach();
        assert_eq!(credits.available(), 2);
    }

    #[tokio::test]
    async fn a_parked_receiver_wakes_on_push_and_on_close() {
        let out = outlet(4, None);
        let reader = {
            let out = Arc::clone(&out);
            tokio::spawn(async move {
                let first = out.recv().await.map(|i| i.seq().get());
                let second = out.recv().await.map(|i| i.seq().get());
                (first, second)
            })
        };
        tokio::task::yield_now().await;
        out.push(item(7));
        tokio::task::yield_now().await;
        out.close(CloseReason::ChannelStopped);
        let (first, second) = reader.await.unwrap();
        assert_eq!(first, Ok(7));
        assert_eq!(second, Err(RecvError::Closed(CloseReason::ChannelStopped)));
    }

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Counted(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn host_outlet() -> Arc<Outlet<u32>> {
        Outlet::with_wake(
            ChannelId::new("c").unwrap(),
            4,
            None,
            Wake::Host(None),
            Arc::default(),
        )
    }

    #[test]
    fn a_host_is_woken_once_per_notice_and_a_notice_before_its_waker_stays_set() {
        let out = host_outlet();
        out.push(item(1));
        assert!(
            out.is_notified(),
            "notified before the host handed over its waker"
        );
        let woken = Arc::new(Counted::default());
        out.wake_host_with(&Waker::from(Arc::clone(&woken)));
        assert_eq!(seq_of(out.next()), 1);
        out.push(item(2));
        out.push(item(3));
        assert_eq!(
            woken.0.load(SeqCst),
            1,
            "one wake until the host has looked"
        );
        assert_eq!(seq_of(out.next()), 2);
        assert_eq!(seq_of(out.next()), 3);
        out.push(item(4));
        assert_eq!(woken.0.load(SeqCst), 2);
    }

    #[test]
    fn a_host_whose_task_changed_is_woken_on_the_new_one() {
        let out = host_outlet();
        let (first, second) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
        out.wake_host_with(&Waker::from(Arc::clone(&first)));
        out.wake_host_with(&Waker::from(Arc::clone(&second)));
        out.push(item(1));
        assert_eq!(first.0.load(SeqCst), 0);
        assert_eq!(second.0.load(SeqCst), 1);
    }

    #[test]
    fn missed_between_counts_the_evicted_gap() {
        assert_eq!(missed_between(Seq::new(3), Seq::new(4)), 0);
        assert_eq!(missed_between(Seq::new(3), Seq::new(10)), 6);
        assert_eq!(missed_between(Seq::ZERO, Seq::new(1)), 0);
    }
}
