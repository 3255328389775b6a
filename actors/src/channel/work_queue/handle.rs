//! [`WorkQueueHandle`]: a holder's way to produce to and consume from a work queue.

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::messages::{
    Claim, ClaimReply, Enqueue, RegisterWorker, ReleaseClaims, Settle, SettleClaims,
    UnregisterWorker,
};
use super::options::{SettleReport, WorkerId, WorkerOptions};
use super::state::QueueState;
use super::token::ClaimToken;
use crate::channel::handle::{handle_accessors, Endpoint};
use crate::channel::outlet::{Outlet, Wake};
use crate::channel::Inbound;
use crate::channel::{ChannelError, Delivery};
use crate::envelope::Outgoing;
use crate::ids::Seq;
use crate::rights::Rights;

/// A holder's handle on a work queue.
pub struct WorkQueueHandle<T: Send + Sync + 'static> {
    pub(super) endpoint: Endpoint<QueueState<T>>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) capacity: usize,
}

impl<T: Send + Sync + 'static> Clone for WorkQueueHandle<T> {
    fn clone(&self) -> Self {
        WorkQueueHandle {
            endpoint: self.endpoint.clone(),
            permits: Arc::clone(&self.permits),
            capacity: self.capacity,
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for WorkQueueHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

impl<T: Send + Sync + 'static> WorkQueueHandle<T> {
    handle_accessors!();

    pub(super) fn closed(&self) -> ChannelError {
        self.endpoint.closed()
    }

    fn full(&self) -> ChannelError {
        ChannelError::Full {
            channel: self.channel().clone(),
            capacity: self.capacity,
        }
    }

    /// Enqueues an item (needs WRITE), waiting while the queue is full.
    pub async fn send(&self, msg: impl Into<Outgoing<T>>) -> Result<Seq, ChannelError> {
        self.endpoint.check(Rights::WRITE)?;
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| self.closed())?;
        self.enqueue(vec![msg.into()], permit)
            .await
            .map(|r| *r.end())
    }

    /// Enqueues an item (needs WRITE), or fails with [`ChannelError::Full`] at once.
    pub async fn try_send(&self, msg: impl Into<Outgoing<T>>) -> Result<Seq, ChannelError> {
        self.endpoint.check(Rights::WRITE)?;
        let permit = self.try_permits(1)?;
        self.enqueue(vec![msg.into()], permit)
            .await
            .map(|r| *r.end())
    }

    /// Enqueues a batch in one request (needs WRITE), waiting until all of it fits.
    /// Answers the seqs the items were given: consecutive on a queue of its own; on a
    /// [shared](super::WorkQueueBuilder::shared) queue the first and last, with gaps
    /// between where other kernels sent meanwhile.
    pub async fn send_batch<I, M>(&self, msgs: I) -> Result<RangeInclusive<Seq>, ChannelError>
    where
        I: IntoIterator<Item = M>,
        M: Into<Outgoing<T>>,
    {
        self.endpoint.check(Rights::WRITE)?;
        let msgs: Vec<Outgoing<T>> = msgs.into_iter().map(Into::into).collect();
        if msgs.is_empty() || msgs.len() > self.capacity {
            return Err(ChannelError::BatchTooLarge {
                channel: self.channel().clone(),
                requested: msgs.len(),
                capacity: self.capacity,
            });
        }
        let n = u32::try_from(msgs.len()).map_err(|_| self.full())?;
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(n)
            .await
            .map_err(|_| self.closed())?;
        self.enqueue(msgs, permit).await
    }

    fn try_permits(&self, n: u32) -> Result<OwnedSemaphorePermit, ChannelError> {
        Arc::clone(&self.permits)
            .try_acquire_many_owned(n)
            .map_err(|e| match e {
                tokio::sync::TryAcquireError::Closed => self.closed(),
                tokio::sync::TryAcquireError::NoPermits => self.full(),
            })
    }

    async fn enqueue(
        &self,
        msgs: Vec<Outgoing<T>>,
        permit: OwnedSemaphorePermit,
    ) -> Result<RangeInclusive<Seq>, ChannelError> {
        self.endpoint
            .call(Enqueue {
                grant: Arc::clone(self.endpoint.grant()),
                msgs,
                permit,
            })
            .await
    }

    /// Enqueues without waiting for the queue's answer; used by the queue itself to
    /// dead-letter, where waiting would stall it. Fails at once if there is no room.
    pub(super) fn offer(&self, msg: T) -> Result<(), ChannelError> {
        self.endpoint.check(Rights::WRITE)?;
        let permit = self.try_permits(1)?;
        let enqueue = Enqueue {
            grant: Arc::clone(self.endpoint.grant()),
            msgs: vec![Outgoing::new(msg)],
            permit,
        };
        self.endpoint.addr().try_send(enqueue).map_err(|e| match e {
            actix::dev::SendError::Full(_) => self.full(),
            actix::dev::SendError::Closed(_) => self.closed(),
        })
    }

    /// Claims up to `max` items for `lease` (needs READ). Answers at once, with no items
    /// if none are ready; a [shared](super::WorkQueueBuilder::shared) queue with none
    /// here first asks its server for what is ready there.
    pub async fn claim(
        &self,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Inbound<T>>, ChannelError> {
        match self.request_claim(max, lease, false).await? {
            ClaimReply::Ready(items) => Ok(items),
            ClaimReply::Parked(_) => Ok(Vec::new()),
            ClaimReply::Syncing(rx) => rx.await.map_err(|_| self.closed())?,
        }
    }

    /// Claims up to `max` items for `lease`, waiting up to `wait` for at least one to be
    /// ready (needs READ). Answers no items if none came in time.
    pub async fn claim_wait(
        &self,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Inbound<T>>, ChannelError> {
        match self.request_claim(max, lease, true).await? {
            ClaimReply::Ready(items) => Ok(items),
            ClaimReply::Syncing(rx) => rx.await.map_err(|_| self.closed())?,
            ClaimReply::Parked(rx) => match tokio::time::timeout(wait, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(self.closed()),
                Err(_) => Ok(Vec::new()),
            },
        }
    }

    async fn request_claim(
        &self,
        max: usize,
        lease: Duration,
        park: bool,
    ) -> Result<ClaimReply<T>, ChannelError> {
        self.endpoint.check(Rights::READ)?;
        self.endpoint
            .call(Claim {
                grant: Arc::clone(self.endpoint.grant()),
                max,
                lease,
                park,
                payload: std::marker::PhantomData,
            })
            .await
    }

    /// Settles a claim: the item is done and leaves the queue.
    pub async fn ack(&self, token: ClaimToken) -> Result<(), ChannelError> {
        self.settle_one(token, Settle::Ack).await
    }

    /// Acks several claims in one request; stale tokens are reported, not fatal.
    pub async fn ack_many(&self, tokens: Vec<ClaimToken>) -> Result<SettleReport, ChannelError> {
        self.settle(tokens.into_iter().map(|t| (t, Settle::Ack)).collect())
            .await
    }

    /// Returns a claimed item to the front of the queue at once, with an optional reason
    /// (kept for the dead letter if this was its last attempt).
    pub async fn nack(&self, token: ClaimToken, reason: Option<&str>) -> Result<(), ChannelError> {
        self.settle_one(token, Settle::Nack(reason.map(str::to_owned)))
            .await
    }

    /// Returns a claimed item to the queue once `delay` has passed, with an optional
    /// reason; until then no one is delivered it. As with [`nack`](Self::nack), this was
    /// an attempt, and past the last one the item is dead-lettered at once. A delay may be
    /// at most a week. On a shared queue the server holds the item back, for every
    /// kernel; on a durable one a restart makes it ready at once.
    pub async fn nack_after(
        &self,
        token: ClaimToken,
        delay: Duration,
        reason: Option<&str>,
    ) -> Result<(), ChannelError> {
        self.settle_one(token, Settle::NackAfter(delay, reason.map(str::to_owned)))
            .await
    }

    /// Gives a claim a fresh lease of `lease` from now.
    pub async fn extend(&self, token: ClaimToken, lease: Duration) -> Result<(), ChannelError> {
        self.settle_one(token, Settle::Extend(lease)).await
    }

    async fn settle_one(&self, token: ClaimToken, how: Settle) -> Result<(), ChannelError> {
        let report = self.settle(vec![(token, how)]).await?;
        match report.stale.first() {
            Some(&token) => Err(ChannelError::StaleClaim {
                channel: self.channel().clone(),
                token,
            }),
            None => Ok(()),
        }
    }

    async fn settle(
        &self,
        claims: Vec<(ClaimToken, Settle)>,
    ) -> Result<SettleReport, ChannelError> {
        self.endpoint.check(Rights::READ)?;
        self.endpoint
            .call(SettleClaims {
                grant: Arc::clone(self.endpoint.grant()),
                claims,
                retire: None,
            })
            .await
    }

    /// Settles a batch without waiting for the answer (a host settling what it just
    /// handled), then unregisters `retire` if given, all in one step. Waits for room in
    /// a spawned task if the queue's mailbox is full.
    pub(crate) fn settle_now(&self, claims: Vec<(ClaimToken, Settle)>, retire: Option<WorkerId>) {
        let msg = SettleClaims {
            grant: Arc::clone(self.endpoint.grant()),
            claims,
            retire,
        };
        match self.endpoint.addr().try_send(msg) {
            Ok(()) | Err(actix::dev::SendError::Closed(_)) => {}
            Err(actix::dev::SendError::Full(msg)) => {
                let addr = self.endpoint.addr().clone();
                actix::spawn(async move {
                    let _ = addr.send(msg).await;
                });
            }
        }
    }

    /// Returns every item this holder has claimed to the queue (after a crash or
    /// restart). Answers how many.
    pub async fn release_all(&self) -> Result<usize, ChannelError> {
        self.endpoint.check(Rights::READ)?;
        self.endpoint
            .call(ReleaseClaims {
                grant: Arc::clone(self.endpoint.grant()),
            })
            .await
    }

    /// Registers an actor as a push worker (needs READ): it receives [`Delivery`]
    /// messages with up to `prefetch` unsettled items, which it settles through this
    /// handle. Its items are released if it stops or is unregistered.
    pub async fn register_worker(
        &self,
        actor: Recipient<Delivery<T>>,
        options: WorkerOptions,
    ) -> Result<WorkerId, ChannelError> {
        Ok(self.attach(Wake::Actor(actor), options).await?.0)
    }

    pub(crate) async fn attach(
        &self,
        wake: Wake<T>,
        options: WorkerOptions,
    ) -> Result<(WorkerId, Arc<Outlet<T>>), ChannelError> {
        self.endpoint.check(Rights::READ)?;
        self.endpoint
            .call(RegisterWorker {
                grant: Arc::clone(self.endpoint.grant()),
                wake,
                options,
            })
            .await
    }

    /// Unregisters one of this holder's workers, returning its unsettled items to the
    /// queue. Answers whether it was registered.
    pub async fn unregister_worker(&self, id: WorkerId) -> Result<bool, ChannelError> {
        self.endpoint.check(Rights::NONE)?;
        self.endpoint
            .call(UnregisterWorker {
                grant: Arc::clone(self.endpoint.grant()),
                id,
            })
            .await
    }
}
