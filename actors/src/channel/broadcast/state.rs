//! The broadcast channel inside its actor: retained history, subscribers, handlers.

use std::collections::VecDeque;
use std::sync::Arc;

use actix::prelude::*;

use crate::channel::access::Grant;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::outlet::{missed_between, Outlet, Overflow, Push, Wake};
use crate::channel::Inbound;
use crate::channel::{ChannelError, ChannelKind, ChannelStats, CloseReason, MAX_BATCH};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{Seq, SystemId};

/// How many outlets ahead a fan-out prefetches: far enough to hide a memory load
/// behind the pushes in between, near enough that the line is still cached.
const PREFETCH_AHEAD: usize = 8;
use crate::rights::Rights;

use super::handle::{StartAt, SubscribeOptions, SubscriptionId};
/// The subscribers, laid out so that a publish streams through nothing but outlet
/// pointers; who owns each subscription is kept apart, for the rare operations that ask.
pub(super) struct Subscribers<T: Send + Sync + 'static> {
    outlets: Vec<Arc<Outlet<T>>>,
    owners: Vec<(SubscriptionId, SystemId)>,
}

impl<T: Send + Sync + 'static> Default for Subscribers<T> {
    fn default() -> Self {
        Subscribers {
            outlets: Vec::new(),
            owners: Vec::new(),
        }
    }
}

impl<T: Send + Sync + 'static> Subscribers<T> {
    fn add(&mut self, id: SubscriptionId, holder: SystemId, outlet: Arc<Outlet<T>>) {
        self.outlets.push(outlet);
        self.owners.push((id, holder));
    }

    fn remove_at(&mut self, index: usize) -> Arc<Outlet<T>> {
        self.owners.swap_remove(index);
        self.outlets.swap_remove(index)
    }

    /// Keeps the outlets for which `keep` is true (order is not kept).
    fn retain(&mut self, mut keep: impl FnMut(&Arc<Outlet<T>>) -> bool) {
        let mut index = 0;
        while index < self.outlets.len() {
            if let Some(ahead) = self.outlets.get(index + PREFETCH_AHEAD) {
                ahead.prefetch();
            }
            if keep(&self.outlets[index]) {
                index += 1;
            } else {
                self.remove_at(index);
            }
        }
    }

    /// Removes and returns the subscriptions whose owner matches.
    fn remove_where(
        &mut self,
        mut owned: impl FnMut(SubscriptionId, &SystemId) -> bool,
    ) -> Vec<Arc<Outlet<T>>> {
        let mut removed = Vec::new();
        let mut index = 0;
        while index < self.owners.len() {
            let (id, holder) = &self.owners[index];
            if owned(*id, holder) {
                removed.push(self.remove_at(index));
            } else {
                index += 1;
            }
        }
        removed
    }

    fn outlets(&self) -> &[Arc<Outlet<T>>] {
        &self.outlets
    }

    fn drain(&mut self) -> impl Iterator<Item = Arc<Outlet<T>>> + '_ {
        self.owners.clear();
        self.outlets.drain(..)
    }
}

pub(crate) struct BroadcastState<T: Send + Sync + 'static> {
    pub(super) retained: VecDeque<Arc<Envelope<T>>>,
    pub(super) retention: usize,
    pub(super) last_seq: Seq,
    pub(super) subscribers: Subscribers<T>,
    pub(super) next_subscription: u64,
    pub(super) buffer: usize,
    pub(super) overflow: Overflow,
    pub(super) max_subscribers: usize,
}

impl<T: Send + Sync + 'static> BroadcastState<T> {
    /// Pushes to one subscriber and counts the outcome; `false` if it is gone.
    fn deliver(core: &mut Core, outlet: &Arc<Outlet<T>>, env: &Arc<Envelope<T>>) -> bool {
        match outlet.push(Inbound::message(Arc::clone(env))) {
            Push::Queued => {
                core.counters.delivered += 1;
                true
            }
            Push::DroppedOldest => {
                core.counters.delivered += 1;
                core.counters.dropped += 1;
                true
            }
            Push::Disconnected | Push::Full => {
                core.counters.dropped += 1;
                false
            }
            Push::Gone => {
                core.counters.dropped += outlet.detach() as u64;
                false
            }
        }
    }

    fn oldest_retained(&self) -> Seq {
        self.retained
            .front()
            .map_or(self.last_seq.next(), |env| env.seq())
    }

    /// The retained messages after `after`, and how many before them were evicted.
    fn retained_after(&self, after: Seq) -> (u64, impl Iterator<Item = &Arc<Envelope<T>>>) {
        let oldest = self.oldest_retained();
        let missed = missed_between(after, oldest);
        let skip = after.get().saturating_sub(oldest.get().saturating_sub(1));
        (missed, self.retained.iter().skip(skip as usize))
    }
}

impl<T: Send + Sync + 'static> Kind for BroadcastState<T> {
    const KIND: ChannelKind = ChannelKind::Broadcast;
    const DRAINS_THROUGH_OUTLETS: bool = true;
    type GrantExtra = ();

    fn granted(&mut self, _: &Core, _: &Arc<Grant>) {}

    fn revoked(&mut self, core: &mut Core, holder: &SystemId) {
        for outlet in self.subscribers.remove_where(|_, owner| owner == holder) {
            core.counters.dropped += outlet.detach() as u64;
            outlet.close(CloseReason::Revoked);
        }
    }

    fn pending(&self) -> u64 {
        self.subscribers
            .outlets()
            .iter()
            .map(|outlet| outlet.len() as u64)
            .sum()
    }

    fn close(&mut self, _: &mut Core) -> u64 {
        let undelivered = self.pending();
        for outlet in self.subscribers.drain() {
            outlet.close(CloseReason::ChannelStopped);
        }
        undelivered
    }

    fn fill_stats(&self, stats: &mut ChannelStats) {
        for outlet in self.subscribers.outlets() {
            let backlog = outlet.len() as u64;
            stats.depth += backlog;
            stats.lag = stats.lag.max(backlog);
        }
        stats.consumers = self.subscribers.outlets().len();
    }
}

pub(crate) struct Publish<T> {
    pub(super) grant: Arc<Grant>,
    pub(super) msg: Outgoing<T>,
}

impl<T: Send + Sync + 'static> Message for Publish<T> {
    type Result = Result<Seq, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Publish<T>> for ChannelActor<BroadcastState<T>> {
    type Result = Result<Seq, ChannelError>;

    fn handle(
        &mut self,
        Publish { grant, msg }: Publish<T>,
        _: &mut Context<Self>,
    ) -> Self::Result {
        self.core.check_write(&grant)?;
        let state = &mut self.kind;
        let seq = state.last_seq.next();
        state.last_seq = seq;
        let env = Envelope::stamp(&self.core.id, seq, grant.holder(), None, msg);
        self.core.counters.accepted += 1;
        if state.retention > 0 {
            if state.retained.len() == state.retention {
                state.retained.pop_front();
            }
            state.retained.push_back(Arc::clone(&env));
        }
        let core = &mut self.core;
        state
            .subscribers
            .retain(|outlet| BroadcastState::deliver(core, outlet, &env));
        Ok(seq)
    }
}

pub(crate) struct Read<T> {
    pub(super) grant: Arc<Grant>,
    pub(super) after: Seq,
    pub(super) limit: usize,
    pub(super) payload: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> Message for Read<T> {
    type Result = Result<Vec<Arc<Envelope<T>>>, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Read<T>> for ChannelActor<BroadcastState<T>> {
    type Result = Result<Vec<Arc<Envelope<T>>>, ChannelError>;

    fn handle(&mut self, msg: Read<T>, _: &mut Context<Self>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        if msg.limit == 0 || msg.limit > MAX_BATCH {
            return Err(self
                .core
                .invalid(format!("limit must be 1 to {MAX_BATCH}, not {}", msg.limit)));
        }
        let (missed, retained) = self.kind.retained_after(msg.after);
        if missed > 0 {
            return Err(ChannelError::Lagged {
                channel: self.core.id.clone(),
                after: msg.after,
                missed,
                next: self.kind.oldest_retained(),
            });
        }
        Ok(retained.take(msg.limit).cloned().collect())
    }
}

pub(crate) struct Subscribe<T: Send + Sync + 'static> {
    pub(super) grant: Arc<Grant>,
    pub(super) wake: Wake<T>,
    pub(super) options: SubscribeOptions,
}

impl<T: Send + Sync + 'static> Message for Subscribe<T> {
    type Result = Result<(SubscriptionId, Arc<Outlet<T>>), ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Subscribe<T>> for ChannelActor<BroadcastState<T>> {
    type Result = Result<(SubscriptionId, Arc<Outlet<T>>), ChannelError>;

    fn handle(&mut self, msg: Subscribe<T>, _: &mut Context<Self>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        let state = &mut self.kind;
        if state.subscribers.outlets().len() >= state.max_subscribers {
            self.core.counters.rejected += 1;
            return Err(ChannelError::TooManyConsumers {
                channel: self.core.id.clone(),
                limit: state.max_subscribers,
            });
        }
        let buffer = msg.options.buffer.unwrap_or(state.buffer);
        if buffer == 0 {
            return Err(self
                .core
                .invalid("a subscriber buffer must hold at least 1 message"));
        }
        let id = SubscriptionId(state.next_subscription);
        state.next_subscription += 1;
        let overflow = Some(msg.options.overflow.unwrap_or(state.overflow));
        let (channel, drain) = (self.core.id.clone(), Arc::clone(&self.core.drain));
        let outlet = Outlet::with_wake(channel, buffer, overflow, msg.wake, drain);
        let after = match msg.options.start {
            StartAt::Live => state.last_seq,
            StartAt::After(seq) => seq,
            StartAt::Earliest => Seq::new(state.oldest_retained().get() - 1),
        };
        let (missed, retained) = state.retained_after(after);
        outlet.report_missed(missed);
        let live = retained
            .into_iter()
            .all(|env| BroadcastState::deliver(&mut self.core, &outlet, env));
        if live {
            let holder = msg.grant.holder().clone();
            state.subscribers.add(id, holder, Arc::clone(&outlet));
        }
        Ok((id, outlet))
    }
}

pub(crate) struct Unsubscribe {
    pub(super) grant: Arc<Grant>,
    pub(super) id: SubscriptionId,
}

impl Message for Unsubscribe {
    type Result = Result<bool, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Unsubscribe> for ChannelActor<BroadcastState<T>> {
    type Result = Result<bool, ChannelError>;

    fn handle(&mut self, msg: Unsubscribe, ctx: &mut Context<Self>) -> Self::Result {
        self.core.check(&msg.grant, Rights::NONE)?;
        let holder = msg.grant.holder();
        let removed = self
            .kind
            .subscribers
            .remove_where(|id, owner| id == msg.id && owner == holder);
        for outlet in &removed {
            outlet.close(CloseReason::Unsubscribed);
        }
        self.check_drained(ctx);
        Ok(!removed.is_empty())
    }
}
