//! The channel actor: one generic actix actor, [`ChannelActor<K>`], whose mailbox is the
//! queue of every operation that passes through it (all but a mailbox's sends, which
//! go straight to the recipient's inbox). What all kinds share (identity, access list, lifecycle, counters,
//! draining) lives in [`Core`] and is handled here once; each kind `K` adds its own state
//! and message handlers in its module.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::channel::access::{AccessList, ChannelAccess};
use crate::channel::outlet::DrainSignal;
use crate::channel::{
    ChannelError, ChannelKind, ChannelState, ChannelStats, DrainOutcome, DrainReport,
};
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;

/// Kind-specific state and behaviour of a channel.
pub(crate) trait Kind: Sized + Unpin + 'static {
    const KIND: ChannelKind;

    /// What a new grant hands to the holder's handle besides the grant itself.
    type GrantExtra: Send + 'static;

    /// A holder was granted access (or had its rights changed).
    fn granted(&mut self, core: &Core, grant: &Arc<ChannelAccess>) -> Self::GrantExtra;

    /// A holder's access was revoked: drop what it holds on this channel.
    fn revoked(&mut self, core: &mut Core, holder: &SystemId);

    /// Messages accepted and not yet taken by (or, for a work queue, settled with) a
    /// consumer. A drain completes when this reaches zero.
    fn pending(&self) -> u64;

    /// Whether drain progress is made by consumers taking from outlets, which the actor
    /// only learns through the drain signal.
    const DRAINS_THROUGH_OUTLETS: bool;

    /// The channel is stopping: close consumers, fail waiters, hand off leftovers.
    /// Returns how many messages were still undelivered.
    fn close(&mut self, core: &mut Core) -> u64;

    /// Adds the kind's gauges to a stats snapshot.
    fn fill_stats(&self, stats: &mut ChannelStats);

    /// The channel moved to `state`; kinds whose handles act without the actor mirror it.
    fn entered(&mut self, state: ChannelState) {
        let _ = state;
    }

    /// A holder was granted access, with its actor's context: kinds that follow a
    /// server start following once a holder may read.
    fn after_grant(
        actor: &mut ChannelActor<Self>,
        grant: &Arc<ChannelAccess>,
        ctx: &mut Context<ChannelActor<Self>>,
    ) {
        let _ = (actor, grant, ctx);
    }
}

/// Counters every kind keeps.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub accepted: u64,
    pub delivered: u64,
    pub acked: u64,
    pub dropped: u64,
    pub redelivered: u64,
    pub dead_lettered: u64,
    pub rejected: u64,
}

/// What every channel actor holds, whatever its kind.
#[derive(Debug)]
pub(crate) struct Core {
    pub id: ChannelId,
    pub capacity: usize,
    pub access: AccessList,
    pub state: ChannelState,
    pub counters: Counters,
    pub drain: Arc<DrainSignal>,
    drain_waiters: Vec<oneshot::Sender<DrainReport>>,
    drain_timer: Option<SpawnHandle>,
}

impl Core {
    pub(crate) fn new(id: ChannelId, capacity: usize) -> Core {
        Core {
            id,
            capacity,
            access: AccessList::default(),
            state: ChannelState::Running,
            counters: Counters::default(),
            drain: Arc::default(),
            drain_waiters: Vec::new(),
            drain_timer: None,
        }
    }

    /// Checks an operation that does not add messages (reads, claims, acks): allowed
    /// while running or draining.
    pub(crate) fn check(
        &mut self,
        grant: &Arc<ChannelAccess>,
        needed: Rights,
    ) -> Result<(), ChannelError> {
        let result = if self.state == ChannelState::Stopped {
            Err(self.closed())
        } else {
            self.access.check(grant, needed)
        };
        if result.is_err() {
            self.counters.rejected += 1;
        }
        result
    }

    /// Checks an operation that adds messages: allowed only while running.
    pub(crate) fn check_write(&mut self, grant: &Arc<ChannelAccess>) -> Result<(), ChannelError> {
        if self.state == ChannelState::Draining {
            self.counters.rejected += 1;
            return Err(ChannelError::Draining {
                channel: self.id.clone(),
            });
        }
        self.check(grant, Rights::WRITE)
    }

    pub(crate) fn closed(&self) -> ChannelError {
        ChannelError::Closed {
            channel: self.id.clone(),
        }
    }

    pub(crate) fn invalid(&self, reason: impl Into<String>) -> ChannelError {
        ChannelError::InvalidArgument {
            channel: self.id.clone(),
            reason: reason.into(),
        }
    }
}

/// A channel: one actix actor per channel, generic over its kind.
pub(crate) struct ChannelActor<K: Kind> {
    pub core: Core,
    pub kind: K,
}

impl<K: Kind> ChannelActor<K> {
    pub(crate) fn new(core: Core, kind: K) -> ChannelActor<K> {
        ChannelActor { core, kind }
    }

    /// Finishes a drain once nothing is pending. Kinds call this after every event that
    /// can lower [`Kind::pending`].
    pub(crate) fn check_drained(&mut self, ctx: &mut Context<Self>) {
        if self.core.state == ChannelState::Draining && self.kind.pending() == 0 {
            self.finish(DrainOutcome::Completed, ctx);
        }
    }

    fn begin_drain(
        &mut self,
        timeout: Duration,
        ctx: &mut Context<Self>,
    ) -> oneshot::Receiver<DrainReport> {
        let (tx, rx) = oneshot::channel();
        match self.core.state {
            ChannelState::Stopped => {
                let _ = tx.send(DrainReport {
                    outcome: DrainOutcome::AlreadyStopped,
                    undelivered: 0,
                });
            }
            ChannelState::Draining => self.core.drain_waiters.push(tx),
            ChannelState::Running => {
                self.core.state = ChannelState::Draining;
                self.kind.entered(ChannelState::Draining);
                self.core.drain.start();
                self.core.drain_waiters.push(tx);
                self.core.drain_timer = Some(ctx.run_later(timeout, |act, ctx| {
                    act.core.drain_timer = None;
                    act.finish(DrainOutcome::TimedOut, ctx);
                }));
                if K::DRAINS_THROUGH_OUTLETS {
                    self.watch_outlets(ctx);
                }
                self.check_drained(ctx);
            }
        }
        rx
    }

    /// Waits for consumers to empty outlets while draining; no polling.
    fn watch_outlets(&self, ctx: &mut Context<Self>) {
        let signal = Arc::clone(&self.core.drain);
        ctx.spawn(
            async move { signal.outlet_emptied().await }
                .into_actor(self)
                .map(|(), act, ctx| {
                    act.check_drained(ctx);
                    if act.core.state == ChannelState::Draining {
                        act.watch_outlets(ctx);
                    }
                }),
        );
    }

    fn finish(&mut self, outcome: DrainOutcome, ctx: &mut Context<Self>) -> DrainReport {
        if self.core.state == ChannelState::Stopped {
            return DrainReport {
                outcome: DrainOutcome::AlreadyStopped,
                undelivered: 0,
            };
        }
        if let Some(timer) = self.core.drain_timer.take() {
            ctx.cancel_future(timer);
        }
        let report = DrainReport {
            outcome,
            undelivered: self.close(),
        };
        for waiter in self.core.drain_waiters.drain(..) {
            let _ = waiter.send(report);
        }
        ctx.stop();
        report
    }

    /// Stops for good. Grants stay live so consumers can still take what their buffers
    /// hold; everything that needs the actor now fails with `Closed`.
    fn close(&mut self) -> u64 {
        self.core.state = ChannelState::Stopped;
        self.kind.entered(ChannelState::Stopped);
        self.kind.close(&mut self.core)
    }
}

impl<K: Kind> Actor for ChannelActor<K> {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        if self.core.state != ChannelState::Stopped {
            self.close();
        }
    }
}

/// Grants a holder access (owner operation).
pub(crate) struct GrantAccess<K> {
    pub holder: SystemId,
    pub rights: Rights,
    pub kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: Kind> Message for GrantAccess<K> {
    type Result = Result<(Arc<ChannelAccess>, K::GrantExtra), ChannelError>;
}

impl<K: Kind> Handler<GrantAccess<K>> for ChannelActor<K> {
    type Result = Result<(Arc<ChannelAccess>, K::GrantExtra), ChannelError>;

    fn handle(&mut self, msg: GrantAccess<K>, ctx: &mut Context<Self>) -> Self::Result {
        match self.core.state {
            ChannelState::Running => {}
            ChannelState::Draining => {
                return Err(ChannelError::Draining {
                    channel: self.core.id.clone(),
                })
            }
            ChannelState::Stopped => return Err(self.core.closed()),
        }
        let grant = self
            .core
            .access
            .grant(&self.core.id, msg.holder, msg.rights);
        let extra = self.kind.granted(&self.core, &grant);
        K::after_grant(self, &grant, ctx);
        Ok((grant, extra))
    }
}

/// Revokes a holder's access (owner operation); answers whether it had any.
#[derive(Message)]
#[rtype(result = "bool")]
pub(crate) struct RevokeAccess(pub SystemId);

impl<K: Kind> Handler<RevokeAccess> for ChannelActor<K> {
    type Result = bool;

    fn handle(&mut self, RevokeAccess(holder): RevokeAccess, ctx: &mut Context<Self>) -> bool {
        if self.core.access.revoke(&holder).is_none() {
            return false;
        }
        self.kind.revoked(&mut self.core, &holder);
        self.check_drained(ctx);
        true
    }
}

/// Asks for a stats snapshot.
#[derive(Message)]
#[rtype(result = "ChannelStats")]
pub(crate) struct GetStats;

impl<K: Kind> Handler<GetStats> for ChannelActor<K> {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        let c = &self.core.counters;
        let mut stats = ChannelStats {
            channel: self.core.id.clone(),
            kind: K::KIND,
            state: self.core.state,
            capacity: self.core.capacity,
            depth: 0,
            in_flight: 0,
            accepted: c.accepted,
            delivered: c.delivered,
            acked: c.acked,
            dropped: c.dropped,
            lag: 0,
            redelivered: c.redelivered,
            dead_lettered: c.dead_lettered,
            rejected: c.rejected,
            consumers: 0,
            holders: self.core.access.len(),
        };
        self.kind.fill_stats(&mut stats);
        MessageResult(stats)
    }
}

/// Drains the channel (owner operation): refuse new messages, deliver what is held,
/// then stop; or stop when the timeout passes.
pub(crate) struct Drain(pub Duration);

impl Message for Drain {
    type Result = DrainReport;
}

impl<K: Kind> Handler<Drain> for ChannelActor<K> {
    type Result = ResponseFuture<DrainReport>;

    fn handle(&mut self, Drain(timeout): Drain, ctx: &mut Context<Self>) -> Self::Result {
        let report = self.begin_drain(timeout, ctx);
        Box::pin(async move {
            report.await.unwrap_or(DrainReport {
                outcome: DrainOutcome::AlreadyStopped,
                undelivered: 0,
            })
        })
    }
}

/// Stops the channel at once (owner operation).
#[derive(Message)]
#[rtype(result = "DrainReport")]
pub(crate) struct Stop;

impl<K: Kind> Handler<Stop> for ChannelActor<K> {
    type Result = MessageResult<Stop>;

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.finish(DrainOutcome::Stopped, ctx))
    }
}
