//! The queue itself, inside its actor: ready items, leases, workers, waiting claims.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::{oneshot, Semaphore};
use tokio::time::Instant;

use super::dead_letter::{DeadLetter, DeadLetterReason, DeadLetterSink};
use super::item::Queued;
use super::journal::{self, Restored};
use super::options::WorkerId;
use super::remote::Remote;
use super::token::ClaimToken;
use crate::channel::access::ChannelAccess;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::after_sync::{after_sync, AfterSync, Journaled};
use crate::channel::outlet::{Outlet, Push};
use crate::channel::Inbound;
use crate::channel::{ChannelError, ChannelKind, ChannelStats, CloseReason};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::store::{Journal, Synced};

/// A delivered item awaiting its ack.
pub(super) struct Lease<T> {
    pub(super) item: Queued<T>,
    pub(super) holder: SystemId,
    pub(super) nonce: u64,
    pub(super) deadline: Instant,
    pub(super) worker: Option<WorkerId>,
}

pub(super) struct Worker<T: Send + Sync + 'static> {
    pub(super) id: WorkerId,
    pub(super) holder: SystemId,
    pub(super) outlet: Arc<Outlet<T>>,
    pub(super) prefetch: usize,
    pub(super) lease: Duration,
    pub(super) unsettled: usize,
}

/// Where a claim's items go.
pub(super) type ClaimAnswer<T> = oneshot::Sender<Result<Vec<Inbound<T>>, ChannelError>>;

pub(super) struct WaitingClaim<T> {
    pub(super) holder: SystemId,
    pub(super) max: usize,
    pub(super) lease: Duration,
    pub(super) reply: ClaimAnswer<T>,
    /// For a claim on a shared queue that does not wait: the fetch whose end answers
    /// it, with what came by then.
    pub(super) round: Option<u64>,
    /// Why that fetch failed, if it did.
    pub(super) failed: Option<ChannelError>,
}

/// An item accepted by a durable queue, waiting for the commit that keeps it.
pub(super) struct Staged<T> {
    pub(super) item: Queued<T>,
    pub(super) durable: bool,
}

pub(crate) struct QueueState<T: Send + Sync + 'static> {
    pub(super) ready: VecDeque<Queued<T>>,
    /// Accepted items not yet durable, in seq order (durable queues only).
    pub(super) staged: VecDeque<Staged<T>>,
    /// Claims a durable queue answers once the marks counting their deliveries are on
    /// disk.
    pub(super) answering: Vec<(Vec<Inbound<T>>, ClaimAnswer<T>)>,
    /// Dead letters a durable queue still has to hand to its dead-letter channel.
    pub(super) handover: Vec<DeadLetter<T>>,
    pub(super) journal: Option<Journal<T>>,
    /// Work waiting for the journal's next sync.
    pub(super) after_sync: AfterSync<ChannelActor<QueueState<T>>>,
    /// A durable queue's highest seq delivered at least once, and whether the journal
    /// has it yet.
    pub(super) delivered_through: (Seq, bool),
    pub(super) in_flight: FxHashMap<Seq, Lease<T>>,
    /// Items nacked with a delay, by when they are ready again.
    pub(super) held_back: BTreeMap<(Instant, Seq), Queued<T>>,
    pub(super) expiries: BTreeSet<(Instant, Seq)>,
    pub(super) timer: Option<(Instant, SpawnHandle)>,
    pub(super) workers: Vec<Worker<T>>,
    pub(super) next_worker: usize,
    pub(super) next_worker_id: u64,
    pub(super) waiting: VecDeque<WaitingClaim<T>>,
    pub(super) max_waiting: usize,
    pub(super) max_workers: usize,
    pub(super) permits: Arc<Semaphore>,
    pub(super) last_seq: Seq,
    pub(super) lease: Duration,
    pub(super) max_attempts: Option<u32>,
    pub(super) dead_letter: Option<Box<dyn DeadLetterSink<T>>>,
    /// The server's side of a shared queue.
    pub(super) remote: Option<Remote<T>>,
}

pub(super) type Ctx<T> = Context<ChannelActor<QueueState<T>>>;

impl<T: Send + Sync + 'static> QueueState<T> {
    /// Takes back what a durable queue's store kept.
    pub(super) fn restore(&mut self, id: &crate::ids::ChannelId, restored: Restored<T>) {
        let held = restored.ready.len() + restored.dead.len();
        let taken = self.permits.forget_permits(held);
        if taken < held {
            tracing::warn!(channel = %id, held, capacity = taken, "the store holds more items than the queue's capacity; producers wait until it drains below it");
        }
        self.last_seq = restored.last_seq;
        self.delivered_through = (restored.delivered_through, true);
        self.ready.extend(restored.ready);
        self.handover.extend(restored.dead);
    }

    /// Hands `item` to `holder` under a fresh lease.
    pub(super) fn lease(
        &mut self,
        core: &mut Core,
        mut item: Queued<T>,
        holder: &SystemId,
        lease: Duration,
        worker: Option<WorkerId>,
    ) -> Inbound<T> {
        item.attempts += 1;
        if item.attempts > 1 {
            core.counters.redelivered += 1;
        }
        core.counters.delivered += 1;
        let seq = item.envelope.seq();
        if let Some(journal) = &self.journal {
            if item.attempts == 1 && seq > self.delivered_through.0 {
                // Items go out the first time in seq order (fresh ones join the ready
                // queue at the back, in seq order; released ones have been out before),
                // so no item below this one is still waiting for its first delivery.
                debug_assert!(self
                    .ready
                    .iter()
                    .all(|waiting| waiting.attempts > 0 || waiting.envelope.seq() > seq));
                self.delivered_through = (seq, false);
            } else {
                journal::mark(journal, &item, None);
            }
        }
        let nonce = uuid::Uuid::new_v4().as_u64_pair().0;
        let deadline = Instant::now() + lease;
        let inbound = Inbound::work(
            Arc::clone(&item.envelope),
            ClaimToken { seq, nonce },
            item.attempts,
        );
        self.expiries.insert((deadline, seq));
        self.in_flight.insert(
            seq,
            Lease {
                item,
                holder: holder.clone(),
                nonce,
                deadline,
                worker,
            },
        );
        inbound
    }

    /// Ends a lease, whatever becomes of its item.
    pub(super) fn unlease(&mut self, seq: Seq) -> Option<Lease<T>> {
        let lease = self.in_flight.remove(&seq)?;
        self.expiries.remove(&(lease.deadline, seq));
        if let Some(id) = lease.worker {
            if let Some(worker) = self.workers.iter_mut().find(|w| w.id == id) {
                worker.unsettled -= 1;
            }
        }
        Some(lease)
    }

    /// Puts a released item back at the front, or dead-letters it if it has had all its
    /// attempts.
    pub(super) fn requeue(&mut self, core: &mut Core, item: Queued<T>) {
        if self.remote.is_some() {
            return self.give_back(&core.id, item, None);
        }
        match self.max_attempts {
            Some(max) if item.attempts >= max => {
                let seq = item.envelope.seq();
                let reason = DeadLetterReason::MaxAttempts {
                    last_error: item.last_error.clone(),
                };
                if !self.dead_letter(core, item, reason) && self.dead_letter.is_none() {
                    tracing::warn!(channel = %core.id, %seq, attempts = max, "item discarded after its last attempt: no dead-letter channel is set");
                }
            }
            _ => {
                if let Some(journal) = &self.journal {
                    journal::mark(journal, &item, None);
                }
                self.ready.push_front(item)
            }
        }
    }

    /// Holds a nacked item back for `delay`, or dead-letters it if it has had all its
    /// attempts.
    pub(super) fn hold_back(&mut self, core: &mut Core, item: Queued<T>, delay: Duration) {
        if self.remote.is_some() {
            return self.give_back(&core.id, item, Some(delay));
        }
        if self.max_attempts.is_some_and(|max| item.attempts >= max) {
            return self.requeue(core, item);
        }
        if let Some(journal) = &self.journal {
            journal::mark(journal, &item, None);
        }
        let seq = item.envelope.seq();
        self.held_back.insert((Instant::now() + delay, seq), item);
    }

    /// The staged items with seqs in `range`.
    pub(super) fn staged_in<'a>(
        &'a mut self,
        range: &'a RangeInclusive<Seq>,
    ) -> impl Iterator<Item = &'a mut Staged<T>> + 'a {
        let start = self
            .staged
            .partition_point(|staged| staged.item.envelope.seq() < *range.start());
        self.staged
            .range_mut(start..)
            .take_while(|staged| staged.item.envelope.seq() <= *range.end())
    }

    /// Moves the staged items whose commit is durable, from the front, to the ready
    /// queue.
    pub(super) fn promote(&mut self) {
        while self.staged.front().is_some_and(|staged| staged.durable) {
            let staged = self.staged.pop_front().expect("checked");
            self.ready.push_back(staged.item);
        }
    }

    /// Releases several leases, keeping their items in seq order at the front.
    pub(super) fn release(&mut self, core: &mut Core, mut seqs: Vec<Seq>) -> usize {
        seqs.sort_unstable();
        let released = seqs.len();
        for seq in seqs.into_iter().rev() {
            if let Some(lease) = self.unlease(seq) {
                self.requeue(core, lease.item);
            }
        }
        released
    }

    pub(super) fn leases_where(&self, mut pred: impl FnMut(&Lease<T>) -> bool) -> Vec<Seq> {
        self.in_flight
            .iter()
            .filter(|(_, lease)| pred(lease))
            .map(|(seq, _)| *seq)
            .collect()
    }

    /// Gives up on an item: frees its room and sends it to the dead-letter channel.
    /// Answers `false` if it could not be kept there (none is set, or it refused);
    /// the caller says so in the log.
    pub(super) fn dead_letter(
        &mut self,
        core: &mut Core,
        item: Queued<T>,
        reason: DeadLetterReason,
    ) -> bool {
        core.counters.dead_lettered += 1;
        if let Some(journal) = &self.journal {
            let seq = item.envelope.seq();
            if self.dead_letter.is_some() {
                // Kept, marked, until the dead-letter channel has it; its room comes
                // back then.
                journal::mark(journal, &item, Some(&reason));
                self.handover.push(DeadLetter {
                    envelope: item.envelope,
                    attempts: item.attempts,
                    reason,
                });
                return true;
            }
            journal.remove(seq);
            self.permits.add_permits(1);
            core.counters.dropped += 1;
            return false;
        }
        self.permits.add_permits(1);
        let Some(dlq) = &self.dead_letter else {
            core.counters.dropped += 1;
            return false;
        };
        let seq = item.envelope.seq();
        let letter = DeadLetter {
            envelope: item.envelope,
            attempts: item.attempts,
            reason,
        };
        match dlq.offer(letter) {
            Ok(()) => true,
            Err(error) => {
                core.counters.dropped += 1;
                tracing::error!(channel = %core.id, %seq, %error, "dead letter lost: the dead-letter channel refused it");
                false
            }
        }
    }

    /// Hands ready items to waiting claims, then to push workers, round-robin.
    pub(super) fn dispatch(&mut self, core: &mut Core) {
        while !self.ready.is_empty() {
            if let Some(waiting) = self.waiting.pop_front() {
                self.serve_waiting(core, waiting);
                continue;
            }
            let Some(index) = self.next_free_worker() else {
                break;
            };
            let item = self.ready.pop_front().expect("checked non-empty");
            let (holder, lease, id) = {
                let worker = &mut self.workers[index];
                worker.unsettled += 1;
                (worker.holder.clone(), worker.lease, worker.id)
            };
            let inbound = self.lease(core, item, &holder, lease, Some(id));
            let pushed = self.workers[index].outlet.push(inbound);
            if let Push::Gone | Push::Full | Push::Disconnected = pushed {
                self.remove_worker(core, id, CloseReason::Unsubscribed);
            }
        }
        self.journal_deliveries();
    }

    /// Leases up to `max` items from the front to `holder`.
    pub(super) fn lease_front(
        &mut self,
        core: &mut Core,
        max: usize,
        holder: &SystemId,
        lease: Duration,
    ) -> Vec<Inbound<T>> {
        let n = max.min(self.ready.len());
        let items = (0..n)
            .map(|_| {
                let item = self.ready.pop_front().expect("counted");
                self.lease(core, item, holder, lease, None)
            })
            .collect();
        self.journal_deliveries();
        items
    }

    /// Writes the highest first delivery to the journal, once per batch of deliveries
    /// rather than once per item.
    fn journal_deliveries(&mut self) {
        if let (Some(journal), (through, false)) = (&self.journal, self.delivered_through) {
            journal.delivered(through);
            self.delivered_through.1 = true;
        }
    }

    pub(super) fn serve_waiting(&mut self, core: &mut Core, waiting: WaitingClaim<T>) {
        if waiting.reply.is_closed() {
            return;
        }
        let items = self.lease_front(core, waiting.max, &waiting.holder, waiting.lease);
        if self.journal.is_some() {
            self.answering.push((items, waiting.reply));
            return;
        }
        if let Err(Ok(items)) = waiting.reply.send(Ok(items)) {
            // The claimer gave up between our check and the send: take the items back.
            let seqs = items.iter().map(|i| i.seq()).collect();
            self.release(core, seqs);
        }
    }

    pub(super) fn next_free_worker(&mut self) -> Option<usize> {
        let n = self.workers.len();
        (0..n)
            .map(|i| (self.next_worker + i) % n)
            .find(|&i| self.workers[i].unsettled < self.workers[i].prefetch)
            .inspect(|&i| self.next_worker = (i + 1) % n)
    }

    pub(super) fn remove_worker(
        &mut self,
        core: &mut Core,
        id: WorkerId,
        reason: CloseReason,
    ) -> bool {
        let Some(index) = self.workers.iter().position(|w| w.id == id) else {
            return false;
        };
        let worker = self.workers.remove(index);
        if self.next_worker > index {
            self.next_worker -= 1;
        }
        worker.outlet.detach();
        worker.outlet.close(reason);
        let seqs = self.leases_where(|lease| lease.worker == Some(id));
        self.release(core, seqs);
        true
    }

    /// Returns expired leases to the queue, and held-back items whose delay is over.
    pub(super) fn expire(&mut self, core: &mut Core, now: Instant) {
        let mut due = Vec::new();
        while let Some(entry) = self.held_back.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        // Each goes to the front: the latest first, so they keep their order.
        due.sort_unstable_by_key(|item| std::cmp::Reverse(item.envelope.seq()));
        for item in due {
            self.ready.push_front(item);
        }
        while let Some(&(deadline, seq)) = self.expiries.first() {
            if deadline > now {
                break;
            }
            if let Some(lease) = self.unlease(seq) {
                tracing::debug!(channel = %core.id, %seq, holder = %lease.holder, "lease expired; redelivering");
                let mut item = lease.item;
                item.last_error = None;
                self.requeue(core, item);
            }
        }
    }
}

impl<T: Send + Sync + 'static> ChannelActor<QueueState<T>> {
    /// Everything that follows a change to the queue: dispatch ready items, re-arm the
    /// lease timer, and finish a drain if nothing is left.
    pub(super) fn settled(&mut self, ctx: &mut Ctx<T>) {
        self.hand_over(ctx);
        self.kind.dispatch(&mut self.core);
        self.answer_kept(ctx);
        self.fetch_wanted(ctx);
        self.arm_timer(ctx);
        self.check_drained(ctx);
    }

    /// Answers a durable queue's claims once the marks counting their deliveries are on
    /// disk, so that a crash after the answer redelivers them with the next attempt
    /// number. Items whose claimer gave up meanwhile go back to the queue, as they do
    /// in memory; if the commit fails, the claimer is told and the items go back too.
    pub(super) fn answer_kept(&mut self, ctx: &mut Ctx<T>) {
        if self.kind.journal.is_none() || self.kind.answering.is_empty() {
            return;
        }
        let answers = std::mem::take(&mut self.kind.answering);
        after_sync(self, ctx, move |act, ctx, outcome| {
            let mut back = Vec::new();
            for (items, reply) in answers {
                let answer = match outcome {
                    Ok(()) => Ok(items),
                    Err(error) => {
                        back.extend(items.iter().map(|i| i.seq()));
                        Err(error.clone())
                    }
                };
                if let Err(Ok(items)) = reply.send(answer) {
                    back.extend(items.iter().map(|i| i.seq()));
                }
            }
            if !back.is_empty() {
                act.kind.release(&mut act.core, back);
                act.settled(ctx);
            }
        });
    }

    /// Sends a durable queue's dead letters on, forgetting each once its dead-letter
    /// channel has it.
    pub(super) fn hand_over(&mut self, ctx: &mut Ctx<T>) {
        let Some(dlq) = &self.kind.dead_letter else {
            return;
        };
        for letter in std::mem::take(&mut self.kind.handover) {
            let seq = letter.envelope.seq();
            let sent = dlq.hand_over(letter);
            ctx.spawn(actix::fut::wrap_future(sent).map(move |outcome, act: &mut Self, _| {
                if let Err(error) = outcome {
                    tracing::error!(channel = %act.core.id, %seq, %error, "dead letter not handed over; it stays in this queue's store and is handed over again at the next start");
                } else if let Some(journal) = &act.kind.journal {
                    journal.remove(seq);
                }
                act.kind.permits.add_permits(1);
            }));
        }
    }

    /// Keeps one timer armed for the earliest lease deadline.
    pub(super) fn arm_timer(&mut self, ctx: &mut Ctx<T>) {
        let lease = self.kind.expiries.first().map(|&(deadline, _)| deadline);
        let delay = self.kind.held_back.keys().next().map(|&(ready, _)| ready);
        let next = lease.into_iter().chain(delay).min();
        match (next, &self.kind.timer) {
            (Some(deadline), Some((armed, _))) if *armed <= deadline => return,
            (None, None) => return,
            _ => {}
        }
        if let Some((_, handle)) = self.kind.timer.take() {
            ctx.cancel_future(handle);
        }
        if let Some(deadline) = next {
            let delay = deadline.saturating_duration_since(Instant::now());
            let handle = ctx.run_later(delay, |act, ctx| {
                act.kind.timer = None;
                act.kind.expire(&mut act.core, Instant::now());
                act.settled(ctx);
            });
            self.kind.timer = Some((deadline, handle));
        }
    }
}

impl<T: Send + Sync + 'static> Journaled for ChannelActor<QueueState<T>> {
    fn after_sync(&mut self) -> &mut AfterSync<Self> {
        &mut self.kind.after_sync
    }

    fn sync(&self) -> Synced {
        Journal::sync_of(self.kind.journal.as_ref())
    }

    fn channel(&self) -> &ChannelId {
        &self.core.id
    }
}

impl<T: Send + Sync + 'static> Kind for QueueState<T> {
    const KIND: ChannelKind = ChannelKind::WorkQueue;
    const DRAINS_THROUGH_OUTLETS: bool = false;
    type GrantExtra = ();

    fn granted(&mut self, _: &Core, _: &Arc<ChannelAccess>) {}

    fn revoked(&mut self, core: &mut Core, holder: &SystemId) {
        let workers: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|w| &w.holder == holder)
            .map(|w| w.id)
            .collect();
        for id in workers {
            self.remove_worker(core, id, CloseReason::Revoked);
        }
        let seqs = self.leases_where(|lease| &lease.holder == holder);
        self.release(core, seqs);
        self.waiting.retain(|w| &w.holder != holder);
        self.dispatch(core);
    }

    fn pending(&self) -> u64 {
        (self.staged.len() + self.ready.len() + self.held_back.len() + self.in_flight.len()) as u64
    }

    fn close(&mut self, core: &mut Core) -> u64 {
        let undelivered = self.pending();
        if self.remote.is_some() {
            // A shared queue's items stay on its server, for the other kernels.
            self.give_back_all(&core.id);
        }
        if self.journal.is_some() {
            // A durable queue's items stay in its store, for the next start.
            self.staged.clear();
            self.ready.clear();
            self.held_back.clear();
            self.in_flight.clear();
        }
        let mut leftovers: Vec<Queued<T>> = self.in_flight.drain().map(|(_, l)| l.item).collect();
        leftovers.extend(std::mem::take(&mut self.held_back).into_values());
        leftovers.sort_by_key(|item| item.envelope.seq());
        leftovers.extend(self.ready.drain(..));
        self.expiries.clear();
        let mut discarded = 0usize;
        for item in leftovers {
            if !self.dead_letter(core, item, DeadLetterReason::ChannelStopped) {
                discarded += 1;
            }
        }
        if discarded > 0 {
            tracing::warn!(channel = %core.id, discarded, "queue stopped with unacked items and nowhere to dead-letter them");
        }
        for waiting in self.waiting.drain(..) {
            let _ = waiting.reply.send(Err(core.closed()));
        }
        for worker in self.workers.drain(..) {
            worker.outlet.close(CloseReason::ChannelStopped);
        }
        self.permits.close();
        undelivered
    }

    fn fill_stats(&self, stats: &mut ChannelStats) {
        if let Some(remote) = &self.remote {
            // A shared queue's sends are counted once its server kept them.
            stats.accepted += remote.accepted();
        }
        stats.depth = (self.staged.len() + self.ready.len() + self.held_back.len()) as u64;
        stats.in_flight = self.in_flight.len() as u64;
        stats.lag = self
            .workers
            .iter()
            .map(|w| w.outlet.len() as u64)
            .max()
            .unwrap_or(0);
        stats.consumers = self.workers.len();
    }
}
