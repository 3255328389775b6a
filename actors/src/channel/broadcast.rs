//! The broadcast channel: every subscriber gets every message, pushed; a retained
//! history lets late joiners read by seq.
//!
//! ```
//! use exokern_actors::channel::{Broadcast, SubscribeOptions};
//! use exokern_actors::{Rights, SystemId};
//!
//! # actix_rt::System::new().block_on(async {
//! let ticks = Broadcast::<u64>::builder("ticks".parse()?).retention(64).start()?;
//! let clock = ticks.grant(SystemId::new("clock")?, Rights::WRITE).await?;
//! let agent = ticks.grant(SystemId::new("agent")?, Rights::READ).await?;
//!
//! let mut sub = agent.subscribe(SubscribeOptions::default()).await?;
//! clock.publish(1).await?;
//! let msg = sub.recv().await?;
//! assert_eq!((*msg.payload(), msg.sender().as_str()), (1, "clock"));
//!
//! // A late joiner reads the retained history by seq.
//! let history = agent.read(exokern_actors::Seq::ZERO, 10).await?;
//! assert_eq!(history.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use actix::prelude::*;

use crate::channel::access::Grant;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::handle::{grant, handle_accessors, ChannelControl, Port};
use crate::channel::outlet::{missed_between, Inbound, Outlet, Overflow, Push, Wake};
use crate::channel::{
    ChannelError, ChannelKind, ChannelStats, CloseReason, Delivery, RecvError, StartError,
    MAX_BATCH,
};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::placement::Placement;
use crate::rights::Rights;

/// Identifies one subscription on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

/// Where a new subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// With the next message published.
    #[default]
    Live,
    /// With the retained messages after this seq, then live. If some of them were
    /// already evicted the subscriber is told how many it missed, first.
    After(Seq),
    /// With every retained message, then live.
    Earliest,
}

/// How to subscribe; anything not set takes the channel's default.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct SubscribeOptions {
    start: StartAt,
    buffer: Option<usize>,
    overflow: Option<Overflow>,
}

impl SubscribeOptions {
    /// Where to start.
    pub fn start(mut self, start: StartAt) -> Self {
        self.start = start;
        self
    }

    /// How many messages the subscriber's buffer holds (at least 1).
    pub fn buffer(mut self, buffer: usize) -> Self {
        self.buffer = Some(buffer);
        self
    }

    /// What happens when the buffer is full.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }
}

/// Builds and starts a [`Broadcast`] channel.
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct BroadcastBuilder<T> {
    id: ChannelId,
    retention: usize,
    buffer: usize,
    overflow: Overflow,
    mailbox: usize,
    placement: Placement,
    owner: Option<SystemId>,
    payload: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> BroadcastBuilder<T> {
    /// How many of the latest messages to keep for [`BroadcastHandle::read`] and late
    /// subscribers (default 1,024; 0 keeps none).
    pub fn retention(mut self, messages: usize) -> Self {
        self.retention = messages;
        self
    }

    /// The default subscriber buffer (default 1,024).
    pub fn subscriber_buffer(mut self, messages: usize) -> Self {
        self.buffer = messages;
        self
    }

    /// The default overflow policy for subscribers (default [`Overflow::DropOldest`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// How many requests may wait in the channel actor's mailbox before writers wait
    /// (default 1,024).
    pub fn mailbox_capacity(mut self, requests: usize) -> Self {
        self.mailbox = requests;
        self
    }

    /// Where the channel's actor runs (default: the caller's arbiter).
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// The system that owns the channel; on an arbiter pool the channel runs beside it.
    pub fn owner(mut self, owner: SystemId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Starts the channel's actor.
    pub fn start(self) -> Result<Broadcast<T>, StartError> {
        if self.buffer == 0 {
            return Err(StartError::invalid(
                &self.id,
                "subscriber_buffer must be at least 1",
            ));
        }
        if self.mailbox == 0 {
            return Err(StartError::invalid(
                &self.id,
                "mailbox_capacity must be at least 1",
            ));
        }
        let core = Core::new(self.id.clone(), self.retention);
        let state = BroadcastState {
            retained: VecDeque::with_capacity(self.retention.min(MAX_BATCH)),
            retention: self.retention,
            last_seq: Seq::ZERO,
            subscribers: Vec::new(),
            next_subscription: 0,
            buffer: self.buffer,
            overflow: self.overflow,
        };
        let mailbox = self.mailbox;
        let addr = self.placement.start(self.owner.as_ref(), move |ctx| {
            ctx.set_mailbox_capacity(mailbox);
            ChannelActor::new(core, state)
        })?;
        Ok(Broadcast {
            control: ChannelControl::new(self.id, &addr),
            addr,
        })
    }
}

/// A broadcast channel, as its owner sees it: grant handles, and (through
/// [`ChannelControl`]) revoke, inspect, drain and stop.
pub struct Broadcast<T: Send + Sync + 'static> {
    control: ChannelControl,
    addr: Addr<ChannelActor<BroadcastState<T>>>,
}

impl<T: Send + Sync + 'static> Broadcast<T> {
    /// A builder for a channel named `id`.
    pub fn builder(id: ChannelId) -> BroadcastBuilder<T> {
        BroadcastBuilder {
            id,
            retention: 1024,
            buffer: 1024,
            overflow: Overflow::DropOldest,
            mailbox: 1024,
            placement: Placement::Current,
            owner: None,
            payload: std::marker::PhantomData,
        }
    }

    /// Grants `holder` these rights and returns its handle. A holder already granted
    /// keeps its grant with the new rights.
    pub async fn grant(
        &self,
        holder: SystemId,
        rights: Rights,
    ) -> Result<BroadcastHandle<T>, ChannelError> {
        let (port, ()) = grant(&self.addr, self.id(), holder, rights).await?;
        Ok(BroadcastHandle { port })
    }
}

impl<T: Send + Sync + 'static> Deref for Broadcast<T> {
    type Target = ChannelControl;
    fn deref(&self) -> &ChannelControl {
        &self.control
    }
}

impl<T: Send + Sync + 'static> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast {
            control: self.control.clone(),
            addr: self.addr.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Broadcast").field(&self.control).finish()
    }
}

/// A holder's handle on a broadcast channel. Cheap to clone; every message published
/// through it carries the holder as its sender.
pub struct BroadcastHandle<T: Send + Sync + 'static> {
    port: Port<BroadcastState<T>>,
}

impl<T: Send + Sync + 'static> Clone for BroadcastHandle<T> {
    fn clone(&self) -> Self {
        BroadcastHandle {
            port: self.port.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for BroadcastHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.port.fmt(f)
    }
}

impl<T: Send + Sync + 'static> BroadcastHandle<T> {
    handle_accessors!();

    /// Publishes a message to every subscriber (needs WRITE). Never waits on
    /// subscribers; waits only if the channel's own mailbox is full. Answers the seq the
    /// message was given.
    pub async fn publish(&self, msg: impl Into<Outgoing<T>>) -> Result<Seq, ChannelError> {
        self.port.check(Rights::WRITE)?;
        self.port
            .call(Publish {
                grant: Arc::clone(self.port.grant()),
                msg: msg.into(),
            })
            .await
    }

    /// Reads up to `limit` retained messages with seq greater than `after` (needs READ).
    /// If some were evicted, fails with [`ChannelError::Lagged`], saying how many and
    /// where the retained history starts.
    pub async fn read(
        &self,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Arc<Envelope<T>>>, ChannelError> {
        self.port.check(Rights::READ)?;
        self.port
            .call(Read {
                grant: Arc::clone(self.port.grant()),
                after,
                limit,
                payload: std::marker::PhantomData,
            })
            .await
    }

    /// Subscribes for pull delivery (needs READ): take messages with
    /// [`Subscription::recv`]. Dropping the subscription ends it.
    pub async fn subscribe(
        &self,
        options: SubscribeOptions,
    ) -> Result<Subscription<T>, ChannelError> {
        let (id, outlet) = self.attach(Wake::Task, options).await?;
        Ok(Subscription {
            id,
            outlet,
            grant: Arc::clone(self.port.grant()),
        })
    }

    /// Subscribes an actor for push delivery (needs READ): it receives a [`Delivery`]
    /// whenever messages are waiting for it. Ends with [`unsubscribe`](Self::unsubscribe),
    /// when the actor stops, or when the holder is revoked.
    pub async fn subscribe_actor(
        &self,
        actor: Recipient<Delivery<T>>,
        options: SubscribeOptions,
    ) -> Result<SubscriptionId, ChannelError> {
        Ok(self.attach(Wake::Actor(actor), options).await?.0)
    }

    pub(crate) async fn attach(
        &self,
        wake: Wake<T>,
        options: SubscribeOptions,
    ) -> Result<(SubscriptionId, Arc<Outlet<T>>), ChannelError> {
        self.port.check(Rights::READ)?;
        self.port
            .call(Subscribe {
                grant: Arc::clone(self.port.grant()),
                wake,
                options,
            })
            .await
    }

    /// Ends one of this holder's subscriptions; answers whether it existed.
    pub async fn unsubscribe(&self, id: SubscriptionId) -> Result<bool, ChannelError> {
        self.port.check(Rights::NONE)?;
        self.port
            .call(Unsubscribe {
                grant: Arc::clone(self.port.grant()),
                id,
            })
            .await
    }
}

/// A pull subscription to a broadcast channel. Dropping it unsubscribes.
pub struct Subscription<T: Send + Sync + 'static> {
    id: SubscriptionId,
    outlet: Arc<Outlet<T>>,
    grant: Arc<Grant>,
}

impl<T: Send + Sync + 'static> Subscription<T> {
    /// This subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// The channel subscribed to.
    pub fn channel(&self) -> &ChannelId {
        self.outlet.channel()
    }

    /// Waits for the next message. After a [`RecvError::Lagged`] the next call continues
    /// with the oldest message still buffered; after [`RecvError::Closed`] nothing more
    /// comes.
    pub async fn recv(&mut self) -> Result<Arc<Envelope<T>>, RecvError> {
        self.grant.check(Rights::READ)?;
        self.outlet.recv().await.map(Inbound::into_envelope)
    }

    /// Takes the next message if one is buffered.
    pub fn try_recv(&mut self) -> Result<Option<Arc<Envelope<T>>>, RecvError> {
        self.grant.check(Rights::READ)?;
        Ok(self.outlet.try_recv()?.map(Inbound::into_envelope))
    }

    /// How many messages are buffered.
    pub fn len(&self) -> usize {
        self.outlet.len()
    }

    /// `true` if nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Send + Sync + 'static> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.outlet.detach();
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("outlet", &self.outlet)
            .finish()
    }
}

struct Subscriber<T: Send + Sync + 'static> {
    id: SubscriptionId,
    holder: SystemId,
    outlet: Arc<Outlet<T>>,
    overflow: Overflow,
}

pub(crate) struct BroadcastState<T: Send + Sync + 'static> {
    retained: VecDeque<Arc<Envelope<T>>>,
    retention: usize,
    last_seq: Seq,
    subscribers: Vec<Subscriber<T>>,
    next_subscription: u64,
    buffer: usize,
    overflow: Overflow,
}

impl<T: Send + Sync + 'static> BroadcastState<T> {
    /// Pushes to one subscriber and counts the outcome; `false` if it is gone.
    fn deliver(core: &mut Core, sub: &Subscriber<T>, env: &Arc<Envelope<T>>) -> bool {
        match sub
            .outlet
            .push(Inbound::message(Arc::clone(env)), Some(sub.overflow))
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
    grant: Arc<Grant>,
    msg: Outgoing<T>,
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
    grant: Arc<Grant>,
    after: Seq,
    limit: usize,
    payload: std::marker::PhantomData<fn() -> T>,
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
    grant: Arc<Grant>,
    wake: Wake<T>,
    options: SubscribeOptions,
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
    grant: Arc<Grant>,
    id: SubscriptionId,
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
