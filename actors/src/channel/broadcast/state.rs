//! The broadcast channel inside its actor: retained history, subscribers, handlers.

use std::collections::VecDeque;
use std::sync::Arc;

use actix::prelude::*;
use rustc_hash::FxHashMap;

use crate::channel::access::ChannelAccess;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::after_sync::{after_sync, answer_later, AfterSync, Journaled};
use crate::channel::outlet::{missed_between, Outlet, Overflow, Push, Wake};
use crate::channel::Inbound;
use crate::channel::{ChannelError, ChannelKind, ChannelStats, CloseReason, MAX_BATCH};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::rights::Rights;
use crate::store::{Journal, Synced};

use super::remote::Remote;
use super::subscription::{StartAt, SubscribeOptions, SubscriptionId};

/// The subscribers, laid out so that a publish streams through nothing but outlet
/// pointers; who owns each subscription is kept apart, for the rare operations that ask.
/// Those are indexed, so that undocking each of n agents costs O(1), not a scan of all
/// n subscriptions (O(n²) for the whole constellation).
pub(super) struct Subscribers<T: Send + Sync + 'static> {
    outlets: Vec<Arc<Outlet<T>>>,
    owners: Vec<(SubscriptionId, SystemId)>,
    /// Where each subscription is in `outlets` and `owners`.
    position: FxHashMap<SubscriptionId, usize>,
    /// Each holder's subscriptions.
    held: FxHashMap<SystemId, Vec<SubscriptionId>>,
}

impl<T: Send + Sync + 'static> Default for Subscribers<T> {
    fn default() -> Self {
        Subscribers {
            outlets: Vec::new(),
            owners: Vec::new(),
            position: FxHashMap::default(),
            held: FxHashMap::default(),
        }
    }
}

impl<T: Send + Sync + 'static> Subscribers<T> {
    fn add(&mut self, id: SubscriptionId, holder: SystemId, outlet: Arc<Outlet<T>>) {
        self.position.insert(id, self.outlets.len());
        self.held.entry(holder.clone()).or_default().push(id);
        self.outlets.push(outlet);
        self.owners.push((id, holder));
    }

    fn remove_at(&mut self, index: usize) -> Arc<Outlet<T>> {
        let (id, holder) = self.owners.swap_remove(index);
        self.position.remove(&id);
        if let Some((moved, _)) = self.owners.get(index) {
            self.position.insert(*moved, index);
        }
        if let Some(ids) = self.held.get_mut(&holder) {
            ids.retain(|held| *held != id);
            if ids.is_empty() {
                self.held.remove(&holder);
            }
        }
        self.outlets.swap_remove(index)
    }

    /// Keeps the outlets for which `keep` is true (order is not kept).
    fn retain(&mut self, mut keep: impl FnMut(&Arc<Outlet<T>>) -> bool) {
        let mut index = 0;
        while index < self.outlets.len() {
            if keep(&self.outlets[index]) {
                index += 1;
            } else {
                self.remove_at(index);
            }
        }
    }

    /// Removes and returns every subscription `holder` owns.
    fn remove_holder(&mut self, holder: &SystemId) -> Vec<Arc<Outlet<T>>> {
        let ids = self.held.remove(holder).unwrap_or_default();
        ids.into_iter()
            .filter_map(|id| self.remove(id, holder))
            .collect()
    }

    /// Removes and returns subscription `id`, if `holder` owns it.
    fn remove(&mut self, id: SubscriptionId, holder: &SystemId) -> Option<Arc<Outlet<T>>> {
        let index = *self.position.get(&id)?;
        (self.owners[index].1 == *holder).then(|| self.remove_at(index))
    }

    fn outlets(&self) -> &[Arc<Outlet<T>>] {
        &self.outlets
    }

    fn drain(&mut self) -> impl Iterator<Item = Arc<Outlet<T>>> + '_ {
        self.owners.clear();
        self.position.clear();
        self.held.clear();
        self.outlets.drain(..)
    }
}

pub(crate) struct BroadcastState<T: Send + Sync + 'static> {
    pub(super) retained: VecDeque<Arc<Envelope<T>>>,
    /// Published messages waiting for the commit that keeps them (durable channels
    /// only), in seq order, each with whether that commit is done.
    pub(super) staged: VecDeque<(Arc<Envelope<T>>, bool)>,
    pub(super) journal: Option<Journal<T>>,
    /// Work waiting for the journal's next sync.
    pub(super) after_sync: AfterSync<ChannelActor<BroadcastState<T>>>,
    pub(super) retention: usize,
    pub(super) last_seq: Seq,
    pub(super) subscribers: Subscribers<T>,
    pub(super) next_subscription: u64,
    pub(super) buffer: usize,
    pub(super) overflow: Overflow,
    pub(super) max_subscribers: usize,
    /// The server's side of a shared broadcast.
    pub(super) remote: Option<Remote<T>>,
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

    /// Retains and delivers a message the channel accepted (and, if durable, kept).
    pub(super) fn publish(&mut self, core: &mut Core, env: Arc<Envelope<T>>) {
        if self.retention > 0 {
            if self.retained.len() == self.retention {
                if let (Some(evicted), Some(journal)) = (self.retained.pop_front(), &self.journal) {
                    journal.remove(evicted.seq());
                }
            }
            self.retained.push_back(Arc::clone(&env));
        } else if let Some(journal) = &self.journal {
            journal.remove(env.seq());
        }
        self.subscribers
            .retain(|outlet| BroadcastState::deliver(core, outlet, &env));
    }

    /// Publishes the staged messages whose commit is done, from the front.
    fn promote(&mut self, core: &mut Core) {
        while self.staged.front().is_some_and(|(_, durable)| *durable) {
            let (env, _) = self.staged.pop_front().expect("checked");
            self.publish(core, env);
        }
    }

    fn oldest_retained(&self) -> Seq {
        self.retained
            .front()
            .map_or(self.last_seq.next(), |env| env.seq())
    }

    /// The retained messages after `after`, and how many before them were evicted.
    /// Found by seq, not position: a durable channel's seqs have a gap where a publish
    /// failed to reach the disk.
    fn retained_after(&self, after: Seq) -> (u64, impl Iterator<Item = &Arc<Envelope<T>>>) {
        let oldest = self.oldest_retained();
        let missed = missed_between(after, oldest);
        let skip = self.retained.partition_point(|env| env.seq() <= after);
        (missed, self.retained.iter().skip(skip))
    }
}

impl<T: Send + Sync + 'static> Kind for BroadcastState<T> {
    const KIND: ChannelKind = ChannelKind::Broadcast;
    const DRAINS_THROUGH_OUTLETS: bool = true;
    type GrantExtra = ();

    fn granted(&mut self, _: &Core, _: &Arc<ChannelAccess>) {}

    fn revoked(&mut self, core: &mut Core, holder: &SystemId) {
        for outlet in self.subscribers.remove_holder(holder) {
            core.counters.dropped += outlet.detach() as u64;
            outlet.close(CloseReason::Revoked);
        }
    }

    fn pending(&self) -> u64 {
        let buffered: u64 = self
            .subscribers
            .outlets()
            .iter()
            .map(|outlet| outlet.len() as u64)
            .sum();
        buffered + self.staged.len() as u64
    }

    fn close(&mut self, _: &mut Core) -> u64 {
        let undelivered = self.pending();
        for outlet in self.subscribers.drain() {
            outlet.close(CloseReason::ChannelStopped);
        }
        undelivered
    }

    fn after_grant(
        actor: &mut ChannelActor<Self>,
        grant: &Arc<ChannelAccess>,
        ctx: &mut Context<ChannelActor<Self>>,
    ) {
        if grant.rights().contains(Rights::READ) {
            actor.start_following(ctx);
        }
    }

    fn fill_stats(&self, stats: &mut ChannelStats) {
        if let Some(remote) = &self.remote {
            stats.accepted += remote
                .published_unfollowed
                .load(std::sync::atomic::Ordering::Relaxed);
        }
        for outlet in self.subscribers.outlets() {
            let backlog = outlet.len() as u64;
            stats.depth += backlog;
            stats.lag = stats.lag.max(backlog);
        }
        stats.consumers = self.subscribers.outlets().len();
    }
}

pub(crate) struct Publish<T> {
    pub(super) grant: Arc<ChannelAccess>,
    pub(super) msg: Outgoing<T>,
}

impl<T: Send + Sync + 'static> Message for Publish<T> {
    type Result = Result<Seq, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Publish<T>> for ChannelActor<BroadcastState<T>> {
    type Result = Response<Result<Seq, ChannelError>>;

    fn handle(
        &mut self,
        Publish { grant, msg }: Publish<T>,
        ctx: &mut Context<Self>,
    ) -> Self::Result {
        if let Err(error) = self.core.check_write(&grant) {
            return Response::reply(Err(error));
        }
        if self.kind.remote.is_some() {
            return self.publish_shared(Publish { grant, msg }, ctx);
        }
        let state = &mut self.kind;
        let seq = state.last_seq.next();
        state.last_seq = seq;
        let env = Envelope::stamp(&self.core.id, seq, grant.holder(), None, msg);
        self.core.counters.accepted += 1;
        let Some(journal) = &state.journal else {
            state.publish(&mut self.core, env);
            return Response::reply(Ok(seq));
        };
        journal.put(&env);
        state.staged.push_back((env, false));
        let (answer, response) = answer_later(&self.core.id);
        after_sync(self, ctx, move |act, ctx, outcome| {
            let state = &mut act.kind;
            let at = state.staged.binary_search_by_key(&seq, |(e, _)| e.seq());
            let result = match outcome {
                Ok(()) => {
                    if let Ok(at) = at {
                        state.staged[at].1 = true;
                    }
                    Ok(seq)
                }
                Err(error) => {
                    if let Ok(at) = at {
                        state.staged.remove(at);
                    }
                    Err(error.clone())
                }
            };
            state.promote(&mut act.core);
            act.check_drained(ctx);
            let _ = answer.send(result);
        });
        response
    }
}

impl<T: Send + Sync + 'static> Journaled for ChannelActor<BroadcastState<T>> {
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

pub(crate) struct Read<T> {
    pub(super) grant: Arc<ChannelAccess>,
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
    pub(super) grant: Arc<ChannelAccess>,
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
    pub(super) grant: Arc<ChannelAccess>,
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
        let removed = self.kind.subscribers.remove(msg.id, holder);
        if let Some(outlet) = &removed {
            outlet.close(CloseReason::Unsubscribed);
        }
        self.check_drained(ctx);
        Ok(removed.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ChannelId;

    fn outlet() -> Arc<Outlet<u32>> {
        Outlet::pull(ChannelId::new("c").unwrap(), 1, None, None, Arc::default())
    }

    fn holder(name: &str) -> SystemId {
        SystemId::new(name).unwrap()
    }

    /// Adds `count` subscriptions for each of `holders`, ids in order; answers the
    /// outlets by id.
    fn fill(subs: &mut Subscribers<u32>, holders: &[&str], count: u64) -> Vec<Arc<Outlet<u32>>> {
        let mut outlets = Vec::new();
        for round in 0..count {
            for (index, name) in holders.iter().enumerate() {
                let out = outlet();
                let id = SubscriptionId(round * holders.len() as u64 + index as u64);
                subs.add(id, holder(name), Arc::clone(&out));
                outlets.push(out);
            }
        }
        outlets
    }

    #[test]
    fn removing_a_holder_takes_all_and_only_its_subscriptions() {
        let mut subs = Subscribers::default();
        let outlets = fill(&mut subs, &["a", "b", "c"], 3);
        let removed = subs.remove_holder(&holder("b"));
        assert_eq!(removed.len(), 3);
        for (index, out) in outlets.iter().enumerate() {
            let gone = removed.iter().any(|r| Arc::ptr_eq(r, out));
            assert_eq!(gone, index % 3 == 1, "subscription {index}");
        }
        assert_eq!(subs.outlets().len(), 6);
        assert!(subs.remove_holder(&holder("b")).is_empty());
        assert_eq!(subs.remove_holder(&holder("a")).len(), 3);
        assert_eq!(subs.remove_holder(&holder("c")).len(), 3);
        assert!(subs.outlets().is_empty());
    }

    #[test]
    fn a_subscription_is_removed_only_by_its_holder_wherever_swaps_moved_it() {
        let mut subs = Subscribers::default();
        let outlets = fill(&mut subs, &["a", "b"], 4);
        // Removing from the front moves the last subscription into each freed place.
        for id in [0, 2, 4] {
            let removed = subs.remove(SubscriptionId(id), &holder("a")).unwrap();
            assert!(Arc::ptr_eq(&removed, &outlets[id as usize]));
        }
        assert!(subs.remove(SubscriptionId(7), &holder("a")).is_none());
        assert!(subs.remove(SubscriptionId(0), &holder("a")).is_none());
        let last = subs.remove(SubscriptionId(7), &holder("b")).unwrap();
        assert!(Arc::ptr_eq(&last, &outlets[7]));
        assert_eq!(subs.remove_holder(&holder("a")).len(), 1);
        assert_eq!(subs.remove_holder(&holder("b")).len(), 3);
        assert!(subs.outlets().is_empty());
    }

    #[test]
    fn retain_keeps_the_index_right() {
        let mut subs = Subscribers::default();
        let outlets = fill(&mut subs, &["a", "b"], 3);
        let dropped: Vec<_> = [0, 3, 4].iter().map(|&i| Arc::clone(&outlets[i])).collect();
        subs.retain(|out| !dropped.iter().any(|d| Arc::ptr_eq(d, out)));
        assert_eq!(subs.outlets().len(), 3);
        assert!(subs.remove(SubscriptionId(0), &holder("a")).is_none());
        assert!(subs.remove(SubscriptionId(5), &holder("b")).is_some());
        let left: Vec<_> = subs.remove_holder(&holder("a"));
        assert_eq!(left.len(), 1);
        assert!(Arc::ptr_eq(&left[0], &outlets[2]));
        assert_eq!(subs.remove_holder(&holder("b")).len(), 1);
        assert!(subs.outlets().is_empty());
    }
}
