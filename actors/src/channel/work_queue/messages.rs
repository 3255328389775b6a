//! The messages a work queue's actor handles, one handler each.

use std::ops::RangeInclusive;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::item::Queued;
use super::lease_problem;
use super::options::{SettleReport, WorkerId, WorkerOptions};
use super::remote::{self, Remote};
use super::state::{Ctx, QueueState, Staged, WaitingClaim, Worker};
use super::token::ClaimToken;
use crate::channel::access::ChannelAccess;
use crate::channel::actor::ChannelActor;
use crate::channel::after_sync::{after_sync, answer_later};
use crate::channel::outlet::{Outlet, Wake};
use crate::channel::Inbound;
use crate::channel::{ChannelError, CloseReason, MAX_BATCH};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, Seq};
use crate::rights::Rights;
use crate::store::{Pending, Settlement, StoreError};

pub(crate) struct Enqueue<T> {
    pub(super) grant: Arc<ChannelAccess>,
    pub(super) msgs: Vec<Outgoing<T>>,
    /// Room reserved for `msgs`: kept by the queue on success, returned on refusal.
    pub(super) permit: OwnedSemaphorePermit,
}

impl<T: Send + Sync + 'static> Message for Enqueue<T> {
    type Result = Result<RangeInclusive<Seq>, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Enqueue<T>> for ChannelActor<QueueState<T>> {
    type Result = Response<Result<RangeInclusive<Seq>, ChannelError>>;

    fn handle(&mut self, msg: Enqueue<T>, ctx: &mut Ctx<T>) -> Self::Result {
        if let Err(error) = self.core.check_write(&msg.grant) {
            return Response::reply(Err(error));
        }
        if let Some(remote) = &self.kind.remote {
            return Response::fut(publish(&self.core.id, remote, msg));
        }
        msg.permit.forget();
        let state = &mut self.kind;
        let first = state.last_seq.next();
        for outgoing in msg.msgs {
            state.last_seq = state.last_seq.next();
            let envelope = Envelope::stamp(
                &self.core.id,
                state.last_seq,
                msg.grant.holder(),
                None,
                outgoing,
            );
            let item = Queued {
                envelope,
                attempts: 0,
                last_error: None,
            };
            match &state.journal {
                Some(journal) => {
                    journal.put(&item.envelope);
                    state.staged.push_back(Staged {
                        item,
                        durable: false,
                    });
                }
                None => state.ready.push_back(item),
            }
            self.core.counters.accepted += 1;
        }
        let range = first..=state.last_seq;
        if state.journal.is_none() {
            self.settled(ctx);
            return Response::reply(Ok(range));
        }
        let (answer, response) = answer_later(&self.core.id);
        after_sync(self, ctx, move |act, ctx, outcome| {
            let result = match outcome {
                Ok(()) => {
                    act.kind
                        .staged_in(&range)
                        .for_each(|staged| staged.durable = true);
                    Ok(range)
                }
                Err(error) => {
                    let state = &mut act.kind;
                    let before = state.staged.len();
                    state
                        .staged
                        .retain(|staged| !range.contains(&staged.item.envelope.seq()));
                    state.permits.add_permits(before - state.staged.len());
                    Err(error.clone())
                }
            };
            act.kind.promote();
            act.settled(ctx);
            let _ = answer.send(result);
        });
        response
    }
}

/// Publishes a send to a shared queue's server. The room it took is back once the
/// server has answered: the server bounds what the queue holds.
fn publish<T: Send + Sync + 'static>(
    channel: &ChannelId,
    remote: &Remote<T>,
    msg: Enqueue<T>,
) -> impl std::future::Future<Output = Result<RangeInclusive<Seq>, ChannelError>> + 'static {
    let holder = msg.grant.holder();
    let items = msg
        .msgs
        .into_iter()
        .map(|outgoing| remote.codec.publication(channel, holder, outgoing))
        .collect();
    let published = remote.queue.publish(items);
    let accepted = Arc::clone(&remote.accepted);
    let channel = channel.clone();
    let permit = msg.permit;
    async move {
        let seqs = published.await.map_err(|error| match error {
            StoreError::AtCapacity { capacity, .. } => ChannelError::Full {
                channel: channel.clone(),
                capacity,
            },
            error => ChannelError::Store {
                channel: channel.clone(),
                error,
            },
        })?;
        drop(permit);
        accepted.fetch_add(seqs.len() as u64, Ordering::Relaxed);
        match (seqs.first(), seqs.last()) {
            (Some(&first), Some(&last)) => Ok(first..=last),
            _ => Err(ChannelError::Store {
                error: StoreError::Refused {
                    log: channel.to_string(),
                    detail: "the server answered a publish with no seqs".to_owned(),
                },
                channel,
            }),
        }
    }
}

pub(crate) enum ClaimReply<T> {
    Ready(Vec<Inbound<T>>),
    /// No items yet: the answer comes when some are ready, if the claimer waits.
    Parked(oneshot::Receiver<Result<Vec<Inbound<T>>, ChannelError>>),
    /// Items claimed from a durable queue: the answer comes once their deliveries are
    /// counted on disk.
    Syncing(oneshot::Receiver<Result<Vec<Inbound<T>>, ChannelError>>),
}

pub(crate) struct Claim<T> {
    pub(super) grant: Arc<ChannelAccess>,
    pub(super) max: usize,
    pub(super) lease: Duration,
    pub(super) park: bool,
    pub(super) payload: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> Message for Claim<T> {
    type Result = Result<ClaimReply<T>, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Claim<T>> for ChannelActor<QueueState<T>> {
    type Result = Result<ClaimReply<T>, ChannelError>;

    fn handle(&mut self, msg: Claim<T>, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        self.kind.expire(&mut self.core, Instant::now());
        if msg.max == 0 || msg.max > MAX_BATCH {
            return Err(self.core.invalid(format!(
                "claim between 1 and {MAX_BATCH} items, not {}",
                msg.max
            )));
        }
        if let Some(problem) = lease_problem(msg.lease) {
            return Err(self.core.invalid(problem));
        }
        let state = &mut self.kind;
        if state.ready.is_empty() && msg.park {
            if state.waiting.len() >= state.max_waiting {
                state.waiting.retain(|w| !w.reply.is_closed());
            }
            if state.waiting.len() >= state.max_waiting {
                self.core.counters.rejected += 1;
                return Err(ChannelError::TooManyWaiters {
                    channel: self.core.id.clone(),
                    limit: state.max_waiting,
                });
            }
            let (reply, rx) = oneshot::channel();
            state.waiting.push_back(WaitingClaim {
                holder: msg.grant.holder().clone(),
                max: msg.max,
                lease: msg.lease,
                reply,
                round: None,
                failed: None,
            });
            self.fetch_wanted(ctx);
            return Ok(ClaimReply::Parked(rx));
        }
        if state.ready.is_empty() && state.remote.is_some() {
            // Nothing here yet: ask the server for what is ready there.
            let round = self.start_round(msg.max, None, ctx);
            let (reply, rx) = oneshot::channel();
            self.kind.waiting.push_back(WaitingClaim {
                holder: msg.grant.holder().clone(),
                max: msg.max,
                lease: msg.lease,
                reply,
                round: Some(round),
                failed: None,
            });
            return Ok(ClaimReply::Syncing(rx));
        }
        let items = state.lease_front(&mut self.core, msg.max, msg.grant.holder(), msg.lease);
        self.arm_timer(ctx);
        if self.kind.journal.is_some() {
            let (reply, rx) = oneshot::channel();
            self.kind.answering.push((items, reply));
            self.answer_kept(ctx);
            return Ok(ClaimReply::Syncing(rx));
        }
        Ok(ClaimReply::Ready(items))
    }
}

/// What to do with a claim.
pub(crate) enum Settle {
    Ack,
    Nack(Option<String>),
    /// A nack whose item becomes ready again only after the delay.
    NackAfter(Duration, Option<String>),
    Extend(Duration),
    /// Give back an item the consumer was never handed (it sat in a crashed worker's
    /// buffer): it goes to the front again and the delivery does not count as an attempt.
    Return,
}

/// Settles a batch of claims in one step, each its own way, then unregisters `retire`
/// if given. Nothing is dispatched until the whole batch is done, so a retiring worker
/// never receives the room its own settlements free.
pub(crate) struct SettleClaims {
    pub(super) grant: Arc<ChannelAccess>,
    pub(super) claims: Vec<(ClaimToken, Settle)>,
    pub(super) retire: Option<WorkerId>,
}

impl Message for SettleClaims {
    type Result = Result<SettleReport, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<SettleClaims> for ChannelActor<QueueState<T>> {
    type Result = Response<Result<SettleReport, ChannelError>>;

    fn handle(&mut self, msg: SettleClaims, ctx: &mut Ctx<T>) -> Self::Result {
        let (report, acks) = match self.settle(msg, ctx) {
            Ok(settled) => settled,
            Err(error) => return Response::reply(Err(error)),
        };
        if !acks.is_empty() {
            // A shared queue's acks are answered once its server has them all.
            let channel = self.core.id.clone();
            return Response::fut(async move {
                for outcome in futures_util::future::join_all(acks).await {
                    outcome.map_err(|error| ChannelError::Store {
                        channel: channel.clone(),
                        error,
                    })?;
                }
                Ok(report)
            });
        }
        if self.kind.journal.is_none() || report.settled == 0 {
            return Response::reply(Ok(report));
        }
        let (answer, response) = answer_later(&self.core.id);
        after_sync(self, ctx, move |_, _, outcome| {
            let _ = answer.send(outcome.clone().map(|()| report));
        });
        response
    }
}

impl<T: Send + Sync + 'static> ChannelActor<QueueState<T>> {
    /// Settles each claim here; answers the report and, on a shared queue, the acks
    /// still on their way to the server.
    fn settle(
        &mut self,
        msg: SettleClaims,
        ctx: &mut Ctx<T>,
    ) -> Result<(SettleReport, Vec<Pending<()>>), ChannelError> {
        self.core.check(&msg.grant, Rights::READ)?;
        // A lease is over at its deadline, whether or not its timer has run yet.
        self.kind.expire(&mut self.core, Instant::now());
        let problem = msg.claims.iter().find_map(|(_, how)| match how {
            Settle::Extend(lease) => lease_problem(*lease),
            Settle::NackAfter(delay, _) if *delay > super::MAX_LEASE => {
                Some("a retry may be delayed by at most a week (604800 s)")
            }
            _ => None,
        });
        if let Some(problem) = problem {
            return Err(self.core.invalid(problem));
        }
        let holder = msg.grant.holder();
        let mut report = SettleReport::default();
        let mut acks = Vec::new();
        // Items going back to the queue, and whether this delivery counts as an attempt.
        let mut back: Vec<(Queued<T>, bool)> = Vec::new();
        // Items going back once their delay has passed.
        let mut later: Vec<(Queued<T>, Duration)> = Vec::new();
        for (token, how) in msg.claims {
            let state = &mut self.kind;
            let live = state
                .in_flight
                .get(&token.seq)
                .is_some_and(|lease| lease.nonce == token.nonce && &lease.holder == holder);
            if !live {
                self.core.counters.rejected += 1;
                report.stale.push(token);
                continue;
            }
            report.settled += 1;
            match how {
                Settle::Ack => {
                    state.unlease(token.seq);
                    if let Some(journal) = &state.journal {
                        journal.remove(token.seq);
                    }
                    match &mut state.remote {
                        Some(remote) => acks.extend(remote.settle(token.seq, Settlement::Ack)),
                        None => state.permits.add_permits(1),
                    }
                    self.core.counters.acked += 1;
                }
                Settle::Nack(reason) => {
                    let mut item = state.unlease(token.seq).expect("checked live").item;
                    item.last_error = reason;
                    back.push((item, true));
                }
                Settle::NackAfter(delay, reason) => {
                    let mut item = state.unlease(token.seq).expect("checked live").item;
                    item.last_error = reason;
                    later.push((item, delay));
                }
                Settle::Return => {
                    let mut item = state.unlease(token.seq).expect("checked live").item;
                    item.attempts -= 1;
                    if let Some(journal) = &state.journal {
                        super::journal::mark(journal, &item, None);
                    }
                    back.push((item, false));
                }
                Settle::Extend(lease) => {
                    let entry = state.in_flight.get_mut(&token.seq).expect("checked live");
                    state.expiries.remove(&(entry.deadline, token.seq));
                    entry.deadline = Instant::now() + lease;
                    state.expiries.insert((entry.deadline, token.seq));
                    if let Some(work) = state
                        .remote
                        .as_mut()
                        .and_then(|remote| remote.settle(token.seq, Settlement::Working))
                    {
                        remote::settle_in_background(
                            &self.core.id,
                            token.seq,
                            "an extension",
                            work,
                        );
                    }
                }
            }
        }
        // Each goes to the front: the latest first, so they keep their order.
        back.sort_unstable_by_key(|(item, _)| std::cmp::Reverse(item.envelope.seq()));
        for (item, attempted) in back {
            if attempted {
                self.kind.requeue(&mut self.core, item);
            } else {
                self.kind.ready.push_front(item);
            }
        }
        for (item, delay) in later {
            self.kind.hold_back(&mut self.core, item, delay);
        }
        if let Some(id) = msg.retire {
            if self
                .kind
                .workers
                .iter()
                .any(|w| w.id == id && &w.holder == holder)
            {
                self.kind
                    .remove_worker(&mut self.core, id, CloseReason::Unsubscribed);
            }
        }
        self.settled(ctx);
        Ok((report, acks))
    }
}

pub(crate) struct ReleaseClaims {
    pub(super) grant: Arc<ChannelAccess>,
}

impl Message for ReleaseClaims {
    type Result = Result<usize, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<ReleaseClaims> for ChannelActor<QueueState<T>> {
    type Result = Result<usize, ChannelError>;

    fn handle(&mut self, msg: ReleaseClaims, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        let holder = msg.grant.holder();
        let seqs = self.kind.leases_where(|lease| &lease.holder == holder);
        let released = self.kind.release(&mut self.core, seqs);
        self.settled(ctx);
        Ok(released)
    }
}

pub(crate) struct RegisterWorker<T: Send + Sync + 'static> {
    pub(super) grant: Arc<ChannelAccess>,
    pub(super) wake: Wake<T>,
    pub(super) options: WorkerOptions,
}

impl<T: Send + Sync + 'static> Message for RegisterWorker<T> {
    type Result = Result<(WorkerId, Arc<Outlet<T>>), ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<RegisterWorker<T>> for ChannelActor<QueueState<T>> {
    type Result = Result<(WorkerId, Arc<Outlet<T>>), ChannelError>;

    fn handle(&mut self, msg: RegisterWorker<T>, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        let prefetch = msg.options.prefetch;
        if prefetch == 0 || prefetch > MAX_BATCH {
            return Err(self
                .core
                .invalid(format!("prefetch must be 1 to {MAX_BATCH}, not {prefetch}")));
        }
        let lease = msg.options.lease.unwrap_or(self.kind.lease);
        if let Some(problem) = lease_problem(lease) {
            return Err(self.core.invalid(problem));
        }
        let state = &mut self.kind;
        if state.workers.len() >= state.max_workers {
            self.core.counters.rejected += 1;
            return Err(ChannelError::TooManyConsumers {
                channel: self.core.id.clone(),
                limit: state.max_workers,
            });
        }
        let id = WorkerId(state.next_worker_id);
        state.next_worker_id += 1;
        let outlet = Outlet::with_wake(
            self.core.id.clone(),
            prefetch,
            None,
            msg.wake,
            Arc::clone(&self.core.drain),
        );
        state.workers.push(Worker {
            id,
            holder: msg.grant.holder().clone(),
            outlet: Arc::clone(&outlet),
            prefetch,
            lease,
            unsettled: 0,
        });
        self.settled(ctx);
        Ok((id, outlet))
    }
}

pub(crate) struct UnregisterWorker {
    pub(super) grant: Arc<ChannelAccess>,
    pub(super) id: WorkerId,
}

impl Message for UnregisterWorker {
    type Result = Result<bool, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<UnregisterWorker> for ChannelActor<QueueState<T>> {
    type Result = Result<bool, ChannelError>;

    fn handle(&mut self, msg: UnregisterWorker, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check(&msg.grant, Rights::NONE)?;
        let holder = msg.grant.holder();
        let owned = self
            .kind
            .workers
            .iter()
            .any(|w| w.id == msg.id && &w.holder == holder);
        let removed = owned
            && self
                .kind
                .remove_worker(&mut self.core, msg.id, CloseReason::Unsubscribed);
        self.settled(ctx);
        Ok(removed)
    }
}
