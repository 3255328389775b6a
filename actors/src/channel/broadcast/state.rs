//! The broadcast channel inside its actor: retained history, subscribers, handlers.

use std::collections::VecDeque;
use std::sync::Arc;

use actix::prelude::*;

use crate::channel::access::Grant;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::outlet::{missed_between, Outlet, Overflow, Push, Wake};
use crate::channel::{Delivery, Inbound};
use crate::channel::{ChannelError, ChannelKind, ChannelStats, CloseReason, MAX_BATCH};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{Seq, SystemId};
use crate::rights::Rights;

use super::handle::{StartAt, SubscribeOptions, SubscriptionId};
pub(super) struct Subscriber<T: Send + Sync + 'static> {
    pub(super) id: SubscriptionId,
    pub(super) holder: SystemId,
    pub(super) outlet: Arc<Outlet<T>>,
    /// The push consumer's address, kept here so deliveries skip the outlet's lock.
    pub(super) recipient: Option<Recipient<Delivery<T>>>,
    pub(super) overflow: Overflow,
}

pub(crate) struct BroadcastState<T: Send + Sync + 'static> {
    pub(super) retained: VecDeque<Arc<Envelope<T>>>,
    pub(super) retention: usize,
    pub(super) last_seq: Seq,
    pub(super) subscribers: Vec<Subscriber<T>>,
    pub(super) next_subscription: u64,
    pub(super) buffer: usize,
    pub(super) overflow: Overflow,
}

impl<T: Send + Sync + 'static> BroadcastState<T> {
    /// Pushes to one subscriber and counts the outcome; `false` if it is gone.
    fn deliver(core: &mut Core, sub: &Subscriber<T>, env: &Arc<Envelope<T>>) -> bool {
        let item = Inbound::message(Arc::clone(env));
        match sub
            .outlet
            .push_via(sub.recipient.as_ref(), item, Some(sub.overflow))
        {
            Push::Queued => {
                core.counters.delivered += 1;
                true
            }
            Push::DroppedOldest => {
                core.counters.delivered += 1;
                core.counters.dropped += 1;
                true
            }
            Push::Disconnected(_) | Push::Full(_) => {
                core.counters.dropped += 1;
                false
            }
            Push::Gone(_) => {
                core.counters.dropped += sub.outlet.detach() as u64;
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
        self.subscribers.retain(|sub| {
            if &sub.holder != holder {
                return true;
            }
            core.counters.dropped += sub.outlet.detach() as u64;
            sub.outlet.close(CloseReason::Revoked);
            false
        });
    }

    fn pending(&self) -> u64 {
        self.subscribers.iter().map(|s| s.outlet.len() as u64).sum()
    }

    fn close(&mut self, _: &mut Core) -> u64 {
        let undelivered = self.pending();
        for sub in self.subscribers.drain(..) {
            sub.outlet.close(CloseReason::ChannelStopped);
        }
        undelivered
    }

    fn fill_stats(&self, stats: &mut ChannelStats) {
        for sub in &self.subscribers {
            let backlog = sub.outlet.len() as u64;
            stats.depth += backlog;
            stats.lag = stats.lag.max(backlog);
        }
        stats.consumers = self.subscribers.len();
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
        let env = Arc::new(Envelope::stamp(
            &self.core.id,
            seq,
            grant.holder(),
            None,
            msg,
        ));
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
            .retain(|sub| BroadcastState::deliver(core, sub, &env));
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
        let buffer = msg.options.buffer.unwrap_or(state.buffer);
        if buffer == 0 {
            return Err(self
                .core
                .invalid("a subscriber buffer must hold at least 1 message"));
        }
        let id = SubscriptionId(state.next_subscription);
        state.next_subscription += 1;
        let recipient = msg.wake.recipient();
        let outlet = Outlet::new(
            self.core.id.clone(),
            buffer,
            msg.wake,
            None,
            Arc::clone(&self.core.drain),
        );
        let sub = Subscriber {
            id,
            holder: msg.grant.holder().clone(),
            outlet: Arc::clone(&outlet),
            recipient,
            overflow: msg.options.overflow.unwrap_or(state.overflow),
        };
        let after = match msg.options.start {
            StartAt::Live => state.last_seq,
            StartAt::After(seq) => seq,
            StartAt::Earliest => Seq::new(state.oldest_retained().get() - 1),
        };
        let (missed, retained) = state.retained_after(after);
        outlet.report_missed(missed);
        let mut live = true;
        for env in retained {
            if !BroadcastState::deliver(&mut self.core, &sub, env) {
                live = false;
                break;
            }
        }
        if live {
            state.subscribers.push(sub);
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
        let Some(index) = self
            .kind
            .subscribers
            .iter()
            .position(|sub| sub.id == msg.id && &sub.holder == holder)
        else {
            return Ok(false);
        };
        let sub = self.kind.subscribers.swap_remove(index);
        sub.outlet.close(CloseReason::Unsubscribed);
        self.check_drained(ctx);
        Ok(true)
    }
}
