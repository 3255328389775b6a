//! How a shared queue's actor works with its server: fetching in rounds what its
//! claimers and workers have room for, taking deliveries in, giving back what it cannot
//! place, and keeping long leases alive.

use std::time::Duration;

use actix::fut::wrap_stream;
use actix::prelude::*;
use tokio::time::Instant;

use super::dead_letter::DeadLetterReason;
use super::item::Queued;
use super::remote::{
    letter, settle_in_background, Held, MAX_ROUNDS, RETRY_AFTER, ROUND_WAIT, SURPLUS_GRACE,
};
use super::state::{Ctx, QueueState};
use crate::channel::actor::ChannelActor;
use crate::channel::{ChannelError, MAX_BATCH};
use crate::ids::{ChannelId, Seq};
use crate::store::{Fetched, Settlement, StoreError};

impl<T: Send + Sync + 'static> QueueState<T> {
    /// Items this kernel's claimers and workers have room for beyond those it holds.
    fn wanted(&self) -> usize {
        let claims: usize = self
            .waiting
            .iter()
            .filter(|w| w.round.is_none() && !w.reply.is_closed())
            .map(|w| w.max)
            .sum();
        let room: usize = self.workers.iter().map(|w| w.prefetch - w.unsettled).sum();
        (claims + room).saturating_sub(self.ready.len())
    }

    /// Gives an item back to the server, or buries it if it has had all its attempts.
    pub(super) fn give_back(
        &mut self,
        channel: &ChannelId,
        item: Queued<T>,
        delay: Option<Duration>,
    ) {
        let remote = self.remote.as_mut().expect("a shared queue");
        let seq = item.envelope.seq();
        match self.max_attempts {
            Some(max) if item.attempts >= max => {
                let reason = DeadLetterReason::MaxAttempts {
                    last_error: item.last_error,
                };
                let record = remote.codec.encode(&item.envelope);
                if let Some(work) = remote.bury(seq, letter(seq, item.attempts, &reason, &record)) {
                    settle_in_background(channel, seq, "a dead letter", work);
                }
            }
            _ => {
                if let Some(work) = remote.settle(seq, Settlement::Retry(delay)) {
                    settle_in_background(channel, seq, "a retry", work);
                }
            }
        }
    }

    /// Whether fetched items wait here with no claimer or worker to take them.
    fn unplaced(&self) -> bool {
        !self.ready.is_empty()
            && !self.waiting.iter().any(|w| !w.reply.is_closed())
            && !self.workers.iter().any(|w| w.unsettled < w.prefetch)
    }

    /// Gives back the fetched items that waited here past the grace with no claimer or
    /// worker to take them.
    fn give_back_unplaced(&mut self, channel: &ChannelId, now: Instant) {
        if !self.unplaced() {
            return;
        }
        let remote = self.remote.as_mut().expect("a shared queue");
        let (stale, fresh) = std::mem::take(&mut self.ready)
            .into_iter()
            .partition(|item| {
                remote
                    .held
                    .get(&item.envelope.seq())
                    .is_none_or(|held| now.duration_since(held.since) >= SURPLUS_GRACE)
            });
        self.ready = fresh;
        for item in stale {
            let seq = item.envelope.seq();
            if let Some(work) = remote.settle(seq, Settlement::Retry(None)) {
                settle_in_background(channel, seq, "giving back an unplaced item", work);
            }
        }
    }

    /// Gives back everything this kernel holds of a shared queue that is stopping.
    pub(super) fn give_back_all(&mut self, channel: &ChannelId) {
        let held: Vec<Seq> = self
            .ready
            .drain(..)
            .map(|item| item.envelope.seq())
            .chain(self.in_flight.drain().map(|(seq, _)| seq))
            .collect();
        self.expiries.clear();
        let remote = self.remote.as_mut().expect("a shared queue");
        for seq in held {
            if let Some(work) = remote.settle(seq, Settlement::Retry(None)) {
                settle_in_background(channel, seq, "giving back a held item", work);
            }
        }
    }

    /// Takes in one delivery: a redelivery of an item still held here replaces it.
    fn take_in(&mut self, channel: &ChannelId, fetched: Fetched) {
        let seq = fetched.seq;
        let remote = self.remote.as_mut().expect("a shared queue");
        let decoded = remote
            .codec
            .decode(channel, seq, &fetched.record, &fetched.origin);
        let envelope = match decoded {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(%channel, %seq, %error, "an item that is not a kernel's goes to the dead-letter stream");
                let reason = match error {
                    StoreError::Unverified { detail, .. } => {
                        DeadLetterReason::Unverified { detail }
                    }
                    other => DeadLetterReason::Undecodable {
                        detail: other.to_string(),
                    },
                };
                let letter = letter(seq, fetched.delivery, &reason, &fetched.record);
                settle_in_background(
                    channel,
                    seq,
                    "a dead letter",
                    remote.queue.bury(&fetched.tag, letter),
                );
                return;
            }
        };
        let held = Held {
            tag: fetched.tag,
            since: Instant::now(),
        };
        remote.held.insert(seq, held);
        if self.unlease(seq).is_some() {
            tracing::debug!(%channel, %seq, "delivered again while still leased here: the server's ack wait passed; the old claim is stale");
        }
        self.ready.retain(|item| item.envelope.seq() != seq);
        let item = Queued {
            envelope,
            attempts: fetched.delivery.saturating_sub(1),
            last_error: None,
        };
        match self.max_attempts {
            // A kernel stopped while it held the item's last attempt.
            Some(max) if item.attempts >= max => self.give_back(channel, item, None),
            _ => self.ready.push_back(item),
        }
    }
}

impl<T: Send + Sync + 'static> ChannelActor<QueueState<T>> {
    /// Asks the server for what claimers and workers here have room for, and gives back
    /// what they do not.
    pub(super) fn fetch_wanted(&mut self, ctx: &mut Ctx<T>) {
        if self.kind.remote.is_none() {
            return;
        }
        self.sweep_unplaced(ctx);
        let wanted = self.kind.wanted();
        let remote = self.kind.remote.as_ref().expect("checked");
        if remote.backing_off || remote.rounds.len() >= MAX_ROUNDS {
            return;
        }
        let more = wanted.saturating_sub(remote.asked());
        if more > 0 {
            self.start_round(more.min(MAX_BATCH), Some(ROUND_WAIT), ctx);
        }
        self.keep_alive(ctx);
    }

    /// Asks the server for up to `max` items, waiting up to `wait` for the first.
    /// Answers the round's number.
    pub(super) fn start_round(
        &mut self,
        max: usize,
        wait: Option<Duration>,
        ctx: &mut Ctx<T>,
    ) -> u64 {
        let remote = self.kind.remote.as_mut().expect("a shared queue");
        let round = remote.next_round;
        remote.next_round += 1;
        remote.rounds.insert(round, max);
        let deliveries = wrap_stream(remote.queue.fetch(max, wait));
        ctx.spawn(
            deliveries
                .map(move |fetched, act: &mut Self, ctx| act.fetched(round, fetched, ctx))
                .finish()
                .map(move |(), act, ctx| act.round_over(round, ctx)),
        );
        round
    }

    fn fetched(&mut self, round: u64, fetched: Result<Vec<Fetched>, StoreError>, ctx: &mut Ctx<T>) {
        let channel = self.core.id.clone();
        match fetched {
            Ok(deliveries) => {
                let remote = self.kind.remote.as_mut().expect("a shared queue");
                if let Some(left) = remote.rounds.get_mut(&round) {
                    *left = left.saturating_sub(deliveries.len());
                }
                for fetched in deliveries {
                    self.kind.take_in(&channel, fetched);
                }
            }
            Err(error) => {
                tracing::warn!(%channel, %error, "fetching from the shared queue failed; asking again shortly");
                let failed = ChannelError::Store {
                    channel: channel.clone(),
                    error,
                };
                for waiting in self.kind.waiting.iter_mut() {
                    if waiting.round == Some(round) {
                        waiting.failed = Some(failed.clone());
                    }
                }
                self.back_off(ctx);
            }
        }
        self.settled(ctx);
    }

    fn round_over(&mut self, round: u64, ctx: &mut Ctx<T>) {
        if let Some(remote) = self.kind.remote.as_mut() {
            remote.rounds.remove(&round);
        }
        // Claims that would not wait are answered with what this round brought.
        let (done, waiting) = std::mem::take(&mut self.kind.waiting)
            .into_iter()
            .partition(|w| w.round == Some(round));
        self.kind.waiting = waiting;
        for claim in done {
            let _ = claim.reply.send(claim.failed.map_or(Ok(Vec::new()), Err));
        }
        self.settled(ctx);
    }

    /// Arms the timer that gives back fetched items nobody here takes.
    fn sweep_unplaced(&mut self, ctx: &mut Ctx<T>) {
        let unplaced = self.kind.unplaced();
        let remote = self.kind.remote.as_mut().expect("a shared queue");
        if remote.sweeping || !unplaced {
            return;
        }
        remote.sweeping = true;
        ctx.run_later(SURPLUS_GRACE, |act, ctx| {
            if let Some(remote) = act.kind.remote.as_mut() {
                remote.sweeping = false;
            }
            act.kind.give_back_unplaced(&act.core.id, Instant::now());
            act.settled(ctx);
        });
    }

    fn back_off(&mut self, ctx: &mut Ctx<T>) {
        let remote = self.kind.remote.as_mut().expect("a shared queue");
        if remote.backing_off {
            return;
        }
        remote.backing_off = true;
        ctx.run_later(RETRY_AFTER, |act, ctx| {
            if let Some(remote) = act.kind.remote.as_mut() {
                remote.backing_off = false;
            }
            act.settled(ctx);
        });
    }

    /// While items are leased here, tells the server every half ack wait that work goes
    /// on for each whose lease outlasts the next tick, so that the server delivers none
    /// of them again before its lease here ends.
    fn keep_alive(&mut self, ctx: &mut Ctx<T>) {
        let remote = self.kind.remote.as_mut().expect("a shared queue");
        if remote.keeping_alive || self.kind.in_flight.is_empty() {
            return;
        }
        remote.keeping_alive = true;
        let tick = remote.queue.ack_wait() / 2;
        ctx.run_later(tick, move |act, ctx| {
            let channel = act.core.id.clone();
            let horizon = Instant::now() + tick;
            let long: Vec<Seq> = act.kind.leases_where(|lease| lease.deadline > horizon);
            let remote = act.kind.remote.as_mut().expect("a shared queue");
            remote.keeping_alive = false;
            for seq in long {
                if let Some(work) = remote.settle(seq, Settlement::Working) {
                    settle_in_background(&channel, seq, "word that work goes on", work);
                }
            }
            act.keep_alive(ctx);
        });
    }
}
