//! The work queue: competing consumers, at-least-once delivery with leases.
//!
//! Producers wait for room (`send`) or are refused (`try_send` → [`ChannelError::Full`]).
//! Consumers either **claim** items (pull) or register as **push workers** that receive
//! up to `prefetch` unsettled items at a time, round-robin. Every delivery carries a
//! [`ClaimToken`] and a lease: `ack` settles it, `nack` returns it at once, `extend`
//! lengthens the lease. A lease that runs out returns the item, delivered again with its
//! attempt number one higher; a token from an expired lease is stale and changes
//! nothing. Past `max_attempts` an item goes to the dead-letter channel with the reason.
//!
//! ```
//! use std::time::Duration;
//! use exokern_actors::channel::WorkQueue;
//! use exokern_actors::{Rights, SystemId};
//!
//! # actix_rt::System::new().block_on(async {
//! let jobs = WorkQueue::<String>::builder("jobs".parse()?).capacity(100).start()?;
//! let producer = jobs.grant(SystemId::new("producer")?, Rights::WRITE).await?;
//! let worker = jobs.grant(SystemId::new("worker")?, Rights::READ).await?;
//!
//! producer.send("resize image 1".to_string()).await?;
//! let claimed = worker.claim(10, Duration::from_secs(30)).await?;
//! assert_eq!(claimed.len(), 1);
//! assert_eq!(claimed[0].attempt(), 1);
//! worker.ack(claimed[0].claim_token().unwrap()).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::ops::{Deref, RangeInclusive};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::channel::access::Grant;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::handle::{grant, handle_accessors, ChannelControl, Port};
use crate::channel::outlet::{Inbound, Outlet, Push, Wake};
use crate::channel::{
    ChannelError, ChannelKind, ChannelStats, CloseReason, Delivery, StartError, MAX_BATCH,
};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::placement::Placement;
use crate::rights::Rights;

/// Proof of one delivery of one work item, needed to ack, nack or extend it. A token is
/// valid only for the holder it was delivered to, and only while that delivery's lease
/// is live. Its text form (`"<seq>-<16 hex digits>"`) travels over the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken {
    seq: Seq,
    nonce: u64,
}

impl ClaimToken {
    /// The seq of the claimed item.
    pub fn seq(&self) -> Seq {
        self.seq
    }
}

impl fmt::Display for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:016x}", self.seq, self.nonce)
    }
}

impl fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimToken({self})")
    }
}

/// A string that is not a claim token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a claim token: expected `<seq>-<16 hex digits>`, as handed out with the claim"
)]
pub struct ParseClaimTokenError(String);

impl FromStr for ClaimToken {
    type Err = ParseClaimTokenError;

    fn from_str(s: &str) -> Result<ClaimToken, ParseClaimTokenError> {
        let parsed = s.split_once('-').and_then(|(seq, nonce)| {
            let nonce_ok = nonce.len() == 16 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
            let seq_ok = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
            if !(nonce_ok && seq_ok) {
                return None;
            }
            Some(ClaimToken {
                seq: Seq::new(seq.parse().ok()?),
                nonce: u64::from_str_radix(nonce, 16).ok()?,
            })
        });
        parsed.ok_or_else(|| ParseClaimTokenError(s.chars().take(64).collect()))
    }
}

impl serde::Serialize for ClaimToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ClaimToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Identifies a push worker registered on a work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerId(u64);

/// Why an item was dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// It was delivered `max_attempts` times without being acked.
    MaxAttempts {
        /// The reason given with its last nack, or `None` if its last lease expired.
        last_error: Option<String>,
    },
    /// The queue stopped before it was acked.
    ChannelStopped,
}

/// An item the work queue gave up on, as sent to its dead-letter channel.
#[derive(Debug)]
pub struct DeadLetter<T> {
    envelope: Arc<Envelope<T>>,
    attempts: u32,
    reason: DeadLetterReason,
}

impl<T> DeadLetter<T> {
    /// The original message, unchanged.
    pub fn envelope(&self) -> &Arc<Envelope<T>> {
        &self.envelope
    }

    /// How many times it was delivered.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why it was given up.
    pub fn reason(&self) -> &DeadLetterReason {
        &self.reason
    }
}

/// Where a queue sends dead letters. A trait object, because a queue of `T` naming the
/// concrete queue of `DeadLetter<T>` would make the compiler instantiate queues of
/// `DeadLetter<DeadLetter<T>>` without end.
trait DeadLetterSink<T>: Send + Sync {
    fn check_writable(&self) -> Result<(), ChannelError>;
    fn offer(&self, letter: DeadLetter<T>) -> Result<(), ChannelError>;
}

impl<T: Send + Sync + 'static> DeadLetterSink<T> for WorkQueueHandle<DeadLetter<T>> {
    fn check_writable(&self) -> Result<(), ChannelError> {
        self.port.check(Rights::WRITE)
    }

    fn offer(&self, letter: DeadLetter<T>) -> Result<(), ChannelError> {
        WorkQueueHandle::offer(self, letter)
    }
}

/// How a push worker receives items.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct WorkerOptions {
    prefetch: usize,
    lease: Option<Duration>,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions {
            prefetch: 16,
            lease: None,
        }
    }
}

impl WorkerOptions {
    /// The most unsettled items the worker holds at once (default 16), like JetStream's
    /// MaxAckPending.
    pub fn prefetch(mut self, items: usize) -> Self {
        self.prefetch = items;
        self
    }

    /// The lease of each delivery (default: the queue's).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }
}

/// The outcome of settling several claims at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettleReport {
    /// Tokens whose item was settled.
    pub settled: usize,
    /// Tokens that were not live leases of the caller; nothing was done for them.
    pub stale: Vec<ClaimToken>,
}

/// Builds and starts a [`WorkQueue`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct WorkQueueBuilder<T: Send + Sync + 'static> {
    id: ChannelId,
    capacity: usize,
    lease: Duration,
    max_attempts: Option<u32>,
    dead_letter: Option<Box<dyn DeadLetterSink<T>>>,
    max_waiting: usize,
    mailbox: usize,
    placement: Placement,
    owner: Option<SystemId>,
}

impl<T: Send + Sync + 'static> fmt::Debug for WorkQueueBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkQueueBuilder")
            .field("id", &self.id)
            .field("capacity", &self.capacity)
            .field("lease", &self.lease)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl<T: Send + Sync + 'static> WorkQueueBuilder<T> {
    /// The most items the queue holds, claimed or not (default 10,000). Producers wait,
    /// or are refused with `Full`, beyond it.
    pub fn capacity(mut self, items: usize) -> Self {
        self.capacity = items;
        self
    }

    /// The default lease of a claim (default 30 s).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// After this many deliveries without an ack an item is dead-lettered (default:
    /// unlimited).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Where dead letters go: a handle with WRITE on another work queue. Without one, dead
    /// letters are counted, logged and discarded.
    pub fn dead_letter(mut self, handle: WorkQueueHandle<DeadLetter<T>>) -> Self {
        self.dead_letter = Some(Box::new(handle));
        self
    }

    /// The most claims that may wait for items at once (default 1,024).
    pub fn max_waiting_claims(mut self, claims: usize) -> Self {
        self.max_waiting = claims;
        self
    }

    /// How many requests may wait in the queue actor's mailbox (default 1,024).
    pub fn mailbox_capacity(mut self, requests: usize) -> Self {
        self.mailbox = requests;
        self
    }

    /// Where the queue's actor runs (default: the caller's arbiter).
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// The system that owns the queue; on an arbiter pool the queue runs beside it.
    pub fn owner(mut self, owner: SystemId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Starts the queue's actor.
    pub fn start(self) -> Result<WorkQueue<T>, StartError> {
        let invalid = |reason| Err(StartError::invalid(&self.id, reason));
        if self.capacity == 0 || self.capacity > Semaphore::MAX_PERMITS {
            return invalid("capacity must be at least 1");
        }
        if self.lease.is_zero() {
            return invalid("the lease must be longer than zero");
        }
        if self.max_attempts == Some(0) {
            return invalid("max_attempts must be at least 1");
        }
        if self.mailbox == 0 {
            return invalid("mailbox_capacity must be at least 1");
        }
        if let Some(dlq) = &self.dead_letter {
            dlq.check_writable().map_err(|e| StartError::InvalidSpec {
                channel: self.id.clone(),
                reason: format!("the dead-letter handle cannot write: {e}"),
            })?;
        }
        let permits = Arc::new(Semaphore::new(self.capacity));
        let state = QueueState {
            ready: VecDeque::new(),
            in_flight: FxHashMap::default(),
            expiries: BTreeSet::new(),
            timer: None,
            workers: Vec::new(),
            next_worker: 0,
            next_worker_id: 0,
            waiting: VecDeque::new(),
            max_waiting: self.max_waiting,
            permits: Arc::clone(&permits),
            last_seq: Seq::ZERO,
            lease: self.lease,
            max_attempts: self.max_attempts,
            dead_letter: self.dead_letter,
        };
        let core = Core::new(self.id.clone(), self.capacity);
        let mailbox = self.mailbox;
        let addr = self.placement.start(self.owner.as_ref(), move |ctx| {
            ctx.set_mailbox_capacity(mailbox);
            ChannelActor::new(core, state)
        })?;
        Ok(WorkQueue {
            control: ChannelControl::new(self.id, &addr),
            addr,
            permits,
            capacity: self.capacity,
        })
    }
}

/// A work queue, as its owner sees it: grant handles, and (through [`ChannelControl`])
/// revoke, inspect, drain and stop.
pub struct WorkQueue<T: Send + Sync + 'static> {
    control: ChannelControl,
    addr: Addr<ChannelActor<QueueState<T>>>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl<T: Send + Sync + 'static> WorkQueue<T> {
    /// A builder for a queue named `id`.
    pub fn builder(id: ChannelId) -> WorkQueueBuilder<T> {
        WorkQueueBuilder {
            id,
            capacity: 10_000,
            lease: Duration::from_secs(30),
            max_attempts: None,
            dead_letter: None,
            max_waiting: 1024,
            mailbox: 1024,
            placement: Placement::Current,
            owner: None,
        }
    }

    /// Grants `holder` these rights (WRITE to produce, READ to consume) and returns its
    /// handle.
    pub async fn grant(
        &self,
        holder: SystemId,
        rights: Rights,
    ) -> Result<WorkQueueHandle<T>, ChannelError> {
        let (port, ()) = grant(&self.addr, self.id(), holder, rights).await?;
        Ok(WorkQueueHandle {
            port,
            permits: Arc::clone(&self.permits),
            capacity: self.capacity,
        })
    }
}

impl<T: Send + Sync + 'static> Deref for WorkQueue<T> {
    type Target = ChannelControl;
    fn deref(&self) -> &ChannelControl {
        &self.control
    }
}

impl<T: Send + Sync + 'static> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        WorkQueue {
            control: self.control.clone(),
            addr: self.addr.clone(),
            permits: Arc::clone(&self.permits),
            capacity: self.capacity,
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkQueue").field(&self.control).finish()
    }
}

/// A holder's handle on a work queue.
pub struct WorkQueueHandle<T: Send + Sync + 'static> {
    port: Port<QueueState<T>>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl<T: Send + Sync + 'static> Clone for WorkQueueHandle<T> {
    fn clone(&self) -> Self {
        WorkQueueHandle {
            port: self.port.clone(),
            permits: Arc::clone(&self.permits),
            capacity: self.capacity,
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for WorkQueueHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.port.fmt(f)
    }
}

impl<T: Send + Sync + 'static> WorkQueueHandle<T> {
    handle_accessors!();

    fn closed(&self) -> ChannelError {
        self.port.closed()
    }

    fn full(&self) -> ChannelError {
        ChannelError::Full {
            channel: self.channel().clone(),
            capacity: self.capacity,
        }
    }

    /// Enqueues an item (needs WRITE), waiting while the queue is full.
    pub async fn send(&self, msg: impl Into<Outgoing<T>>) -> Result<Seq, ChannelError> {
        self.port.check(Rights::WRITE)?;
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
        self.port.check(Rights::WRITE)?;
        let permit = self.try_permits(1)?;
        self.enqueue(vec![msg.into()], permit)
            .await
            .map(|r| *r.end())
    }

    /// Enqueues a batch in one request (needs WRITE), waiting until all of it fits.
    /// Answers the seqs the items were given, which are consecutive.
    pub async fn send_batch<I, M>(&self, msgs: I) -> Result<RangeInclusive<Seq>, ChannelError>
    where
        I: IntoIterator<Item = M>,
        M: Into<Outgoing<T>>,
    {
        self.port.check(Rights::WRITE)?;
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
        self.port
            .call(Enqueue {
                grant: Arc::clone(self.port.grant()),
                msgs,
                permit,
            })
            .await
    }

    /// Enqueues without waiting for the queue's answer; used by the queue itself to
    /// dead-letter, where waiting would stall it. Fails at once if there is no room.
    pub(crate) fn offer(&self, msg: T) -> Result<(), ChannelError> {
        self.port.check(Rights::WRITE)?;
        let permit = self.try_permits(1)?;
        let enqueue = Enqueue {
            grant: Arc::clone(self.port.grant()),
            msgs: vec![Outgoing::new(msg)],
            permit,
        };
        self.port.addr().try_send(enqueue).map_err(|e| match e {
            actix::dev::SendError::Full(_) => self.full(),
            actix::dev::SendError::Closed(_) => self.closed(),
        })
    }

    /// Claims up to `max` items for `lease` (needs READ). Answers at once, with no items
    /// if none are ready.
    pub async fn claim(
        &self,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Inbound<T>>, ChannelError> {
        match self.request_claim(max, lease, false).await? {
            ClaimReply::Ready(items) => Ok(items),
            ClaimReply::Parked(_) => Ok(Vec::new()),
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
        self.port.check(Rights::READ)?;
        self.port
            .call(Claim {
                grant: Arc::clone(self.port.grant()),
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
        self.settle(tokens, Settle::Ack).await
    }

    /// Returns a claimed item to the front of the queue at once, with an optional reason
    /// (kept for the dead letter if this was its last attempt).
    pub async fn nack(&self, token: ClaimToken, reason: Option<&str>) -> Result<(), ChannelError> {
        self.settle_one(token, Settle::Nack(reason.map(str::to_owned)))
            .await
    }

    /// Gives a claim a fresh lease of `lease` from now.
    pub async fn extend(&self, token: ClaimToken, lease: Duration) -> Result<(), ChannelError> {
        self.settle_one(token, Settle::Extend(lease)).await
    }

    async fn settle_one(&self, token: ClaimToken, how: Settle) -> Result<(), ChannelError> {
        let report = self.settle(vec![token], how).await?;
        match report.stale.first() {
            Some(&token) => Err(ChannelError::StaleClaim {
                channel: self.channel().clone(),
                token,
            }),
            None => Ok(()),
        }
    }

    pub(crate) async fn settle(
        &self,
        tokens: Vec<ClaimToken>,
        how: Settle,
    ) -> Result<SettleReport, ChannelError> {
        self.port.check(Rights::READ)?;
        self.port
            .call(SettleClaims {
                grant: Arc::clone(self.port.grant()),
                tokens,
                how,
                retire: None,
            })
            .await
    }

    /// Settles claims without waiting for the answer (a host settling a batch it just
    /// handled), then unregisters `retire` if given, in the same step, so the queue never
    /// hands the retiring worker the room the settled items free. Waits for room in a
    /// spawned task if the queue's mailbox is full.
    pub(crate) fn settle_now(
        &self,
        tokens: Vec<ClaimToken>,
        how: Settle,
        retire: Option<WorkerId>,
    ) {
        let msg = SettleClaims {
            grant: Arc::clone(self.port.grant()),
            tokens,
            how,
            retire,
        };
        match self.port.addr().try_send(msg) {
            Ok(()) | Err(actix::dev::SendError::Closed(_)) => {}
            Err(actix::dev::SendError::Full(msg)) => {
                let addr = self.port.addr().clone();
                actix::spawn(async move {
                    let _ = addr.send(msg).await;
                });
            }
        }
    }

    /// Returns every item this holder has claimed to the queue (after a crash or
    /// restart). Answers how many.
    pub async fn release_all(&self) -> Result<usize, ChannelError> {
        self.port.check(Rights::READ)?;
        self.port
            .call(ReleaseClaims {
                grant: Arc::clone(self.port.grant()),
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
        self.port.check(Rights::READ)?;
        self.port
            .call(RegisterWorker {
                grant: Arc::clone(self.port.grant()),
                wake,
                options,
            })
            .await
    }

    /// Unregisters one of this holder's workers, returning its unsettled items to the
    /// queue. Answers whether it was registered.
    pub async fn unregister_worker(&self, id: WorkerId) -> Result<bool, ChannelError> {
        self.port.check(Rights::NONE)?;
        self.port
            .call(UnregisterWorker {
                grant: Arc::clone(self.port.grant()),
                id,
            })
            .await
    }
}

/// An item in the queue, between deliveries.
struct Queued<T> {
    envelope: Arc<Envelope<T>>,
    /// Deliveries so far.
    attempts: u32,
    last_error: Option<String>,
}

/// A delivered item awaiting its ack.
struct Lease<T> {
    item: Queued<T>,
    holder: SystemId,
    nonce: u64,
    deadline: Instant,
    worker: Option<WorkerId>,
}

struct Worker<T: Send + Sync + 'static> {
    id: WorkerId,
    holder: SystemId,
    outlet: Arc<Outlet<T>>,
    prefetch: usize,
    lease: Duration,
    unsettled: usize,
}

struct WaitingClaim<T> {
    holder: SystemId,
    max: usize,
    lease: Duration,
    reply: oneshot::Sender<Result<Vec<Inbound<T>>, ChannelError>>,
}

pub(crate) struct QueueState<T: Send + Sync + 'static> {
    ready: VecDeque<Queued<T>>,
    in_flight: FxHashMap<Seq, Lease<T>>,
    expiries: BTreeSet<(Instant, Seq)>,
    timer: Option<(Instant, SpawnHandle)>,
    workers: Vec<Worker<T>>,
    next_worker: usize,
    next_worker_id: u64,
    waiting: VecDeque<WaitingClaim<T>>,
    max_waiting: usize,
    permits: Arc<Semaphore>,
    last_seq: Seq,
    lease: Duration,
    max_attempts: Option<u32>,
    dead_letter: Option<Box<dyn DeadLetterSink<T>>>,
}

type Ctx<T> = Context<ChannelActor<QueueState<T>>>;

impl<T: Send + Sync + 'static> QueueState<T> {
    /// Hands `item` to `holder` under a fresh lease.
    fn lease(
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
    fn unlease(&mut self, seq: Seq) -> Option<Lease<T>> {
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
    fn requeue(&mut self, core: &mut Core, item: Queued<T>) {
        match self.max_attempts {
            Some(max) if item.attempts >= max => {
                let reason = DeadLetterReason::MaxAttempts {
                    last_error: item.last_error.clone(),
                };
                self.dead_letter(core, item, reason);
            }
            _ => self.ready.push_front(item),
        }
    }

    /// Releases several leases, keeping their items in seq order at the front.
    fn release(&mut self, core: &mut Core, mut seqs: Vec<Seq>) -> usize {
        seqs.sort_unstable();
        let released = seqs.len();
        for seq in seqs.into_iter().rev() {
            if let Some(lease) = self.unlease(seq) {
                self.requeue(core, lease.item);
            }
        }
        released
    }

    fn leases_where(&self, mut pred: impl FnMut(&Lease<T>) -> bool) -> Vec<Seq> {
        self.in_flight
            .iter()
            .filter(|(_, lease)| pred(lease))
            .map(|(seq, _)| *seq)
            .collect()
    }

    fn dead_letter(&mut self, core: &mut Core, item: Queued<T>, reason: DeadLetterReason) {
        core.counters.dead_lettered += 1;
        self.permits.add_permits(1);
        let seq = item.envelope.seq();
        let letter = DeadLetter {
            envelope: item.envelope,
            attempts: item.attempts,
            reason,
        };
        match &self.dead_letter {
            Some(dlq) => {
                if let Err(error) = dlq.offer(letter) {
                    core.counters.dropped += 1;
                    tracing::error!(channel = %core.id, %seq, %error, "dead letter lost: the dead-letter channel refused it");
                }
            }
            None => {
                tracing::warn!(channel = %core.id, %seq, reason = ?letter.reason, "dead letter discarded: no dead-letter channel is set")
            }
        }
    }

    /// Hands ready items to waiting claims, then to push workers, round-robin.
    fn dispatch(&mut self, core: &mut Core) {
        while !self.ready.is_empty() {
            if let Some(waiting) = self.waiting.pop_front() {
                self.serve_waiting(core, waiting);
                continue;
            }
            let Some(index) = self.next_free_worker() else {
                break;
            };
            let item = self.ready.pop_front().expect("checked non-empty");
            let worker = &self.workers[index];
            let (holder, lease, id, outlet) = (
                worker.holder.clone(),
                worker.lease,
                worker.id,
                Arc::clone(&worker.outlet),
            );
            self.workers[index].unsettled += 1;
            let inbound = self.lease(core, item, &holder, lease, Some(id));
            if let Push::Gone(_) | Push::Full(_) | Push::Disconnected(_) =
                outlet.push(inbound, None)
            {
                self.remove_worker(core, id, CloseReason::Unsubscribed);
            }
        }
    }

    fn serve_waiting(&mut self, core: &mut Core, waiting: WaitingClaim<T>) {
        if waiting.reply.is_closed() {
            return;
        }
        let n = waiting.max.min(self.ready.len());
        let items: Vec<Inbound<T>> = (0..n)
            .map(|_| {
                let item = self.ready.pop_front().expect("counted");
                self.lease(core, item, &waiting.holder, waiting.lease, None)
            })
            .collect();
        if let Err(Ok(items)) = waiting.reply.send(Ok(items)) {
            // The claimer gave up between our check and the send: take the items back.
            let seqs = items.iter().map(|i| i.seq()).collect();
            self.release(core, seqs);
        }
    }

    fn next_free_worker(&mut self) -> Option<usize> {
        let n = self.workers.len();
        (0..n)
            .map(|i| (self.next_worker + i) % n)
            .find(|&i| self.workers[i].unsettled < self.workers[i].prefetch)
            .inspect(|&i| self.next_worker = (i + 1) % n)
    }

    fn remove_worker(&mut self, core: &mut Core, id: WorkerId, reason: CloseReason) -> bool {
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

    /// Returns expired leases to the queue.
    fn expire(&mut self, core: &mut Core, now: Instant) {
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
    fn settled(&mut self, ctx: &mut Ctx<T>) {
        self.kind.dispatch(&mut self.core);
        self.arm_timer(ctx);
        self.check_drained(ctx);
    }

    /// Keeps one timer armed for the earliest lease deadline.
    fn arm_timer(&mut self, ctx: &mut Ctx<T>) {
        let next = self.kind.expiries.first().map(|&(deadline, _)| deadline);
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

impl<T: Send + Sync + 'static> Kind for QueueState<T> {
    const KIND: ChannelKind = ChannelKind::WorkQueue;
    const DRAINS_THROUGH_OUTLETS: bool = false;
    type GrantExtra = ();

    fn granted(&mut self, _: &Core, _: &Arc<Grant>) {}

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
        (self.ready.len() + self.in_flight.len()) as u64
    }

    fn close(&mut self, core: &mut Core) -> u64 {
        let undelivered = self.pending();
        let mut leftovers: Vec<Queued<T>> = self.in_flight.drain().map(|(_, l)| l.item).collect();
        leftovers.sort_by_key(|item| item.envelope.seq());
        leftovers.extend(self.ready.drain(..));
        self.expiries.clear();
        for item in leftovers {
            self.dead_letter(core, item, DeadLetterReason::ChannelStopped);
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
        stats.depth = self.ready.len() as u64;
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

pub(crate) struct Enqueue<T> {
    grant: Arc<Grant>,
    msgs: Vec<Outgoing<T>>,
    /// Room reserved for `msgs`: kept by the queue on success, returned on refusal.
    permit: OwnedSemaphorePermit,
}

impl<T: Send + Sync + 'static> Message for Enqueue<T> {
    type Result = Result<RangeInclusive<Seq>, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Enqueue<T>> for ChannelActor<QueueState<T>> {
    type Result = Result<RangeInclusive<Seq>, ChannelError>;

    fn handle(&mut self, msg: Enqueue<T>, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check_write(&msg.grant)?;
        msg.permit.forget();
        let state = &mut self.kind;
        let first = state.last_seq.next();
        for outgoing in msg.msgs {
            state.last_seq = state.last_seq.next();
            let envelope = Arc::new(Envelope::stamp(
                &self.core.id,
                state.last_seq,
                msg.grant.holder(),
                None,
                outgoing,
            ));
            state.ready.push_back(Queued {
                envelope,
                attempts: 0,
                last_error: None,
            });
            self.core.counters.accepted += 1;
        }
        let last = state.last_seq;
        self.settled(ctx);
        Ok(first..=last)
    }
}

pub(crate) enum ClaimReply<T> {
    Ready(Vec<Inbound<T>>),
    Parked(oneshot::Receiver<Result<Vec<Inbound<T>>, ChannelError>>),
}

pub(crate) struct Claim<T> {
    grant: Arc<Grant>,
    max: usize,
    lease: Duration,
    park: bool,
    payload: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> Message for Claim<T> {
    type Result = Result<ClaimReply<T>, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<Claim<T>> for ChannelActor<QueueState<T>> {
    type Result = Result<ClaimReply<T>, ChannelError>;

    fn handle(&mut self, msg: Claim<T>, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        if msg.max == 0 || msg.max > MAX_BATCH {
            return Err(self.core.invalid(format!(
                "claim between 1 and {MAX_BATCH} items, not {}",
                msg.max
            )));
        }
        if msg.lease.is_zero() {
            return Err(self.core.invalid("the lease must be longer than zero"));
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
            });
            return Ok(ClaimReply::Parked(rx));
        }
        let n = msg.max.min(state.ready.len());
        let items = (0..n)
            .map(|_| {
                let item = state.ready.pop_front().expect("counted");
                state.lease(&mut self.core, item, msg.grant.holder(), msg.lease, None)
            })
            .collect();
        self.arm_timer(ctx);
        Ok(ClaimReply::Ready(items))
    }
}

/// What to do with a claim.
pub(crate) enum Settle {
    Ack,
    Nack(Option<String>),
    Extend(Duration),
}

pub(crate) struct SettleClaims {
    grant: Arc<Grant>,
    tokens: Vec<ClaimToken>,
    how: Settle,
    /// A worker of the caller's to unregister once the tokens are settled.
    retire: Option<WorkerId>,
}

impl Message for SettleClaims {
    type Result = Result<SettleReport, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<SettleClaims> for ChannelActor<QueueState<T>> {
    type Result = Result<SettleReport, ChannelError>;

    fn handle(&mut self, msg: SettleClaims, ctx: &mut Ctx<T>) -> Self::Result {
        self.core.check(&msg.grant, Rights::READ)?;
        if let Settle::Extend(lease) = msg.how {
            if lease.is_zero() {
                return Err(self.core.invalid("the lease must be longer than zero"));
            }
        }
        let holder = msg.grant.holder();
        let mut report = SettleReport::default();
        for token in msg.tokens {
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
            match &msg.how {
                Settle::Ack => {
                    state.unlease(token.seq);
                    state.permits.add_permits(1);
                    self.core.counters.acked += 1;
                }
                Settle::Nack(reason) => {
                    let mut item = state.unlease(token.seq).expect("checked live").item;
                    item.last_error = reason.clone();
                    state.requeue(&mut self.core, item);
                }
                Settle::Extend(lease) => {
                    let entry = state.in_flight.get_mut(&token.seq).expect("checked live");
                    state.expiries.remove(&(entry.deadline, token.seq));
                    entry.deadline = Instant::now() + *lease;
                    state.expiries.insert((entry.deadline, token.seq));
                }
            }
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
        Ok(report)
    }
}

pub(crate) struct ReleaseClaims {
    grant: Arc<Grant>,
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
    grant: Arc<Grant>,
    wake: Wake<T>,
    options: WorkerOptions,
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
        if lease.is_zero() {
            return Err(self.core.invalid("the lease must be longer than zero"));
        }
        let state = &mut self.kind;
        let id = WorkerId(state.next_worker_id);
        state.next_worker_id += 1;
        let outlet = Outlet::new(
            self.core.id.clone(),
            prefetch,
            msg.wake,
            None,
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
    grant: Arc<Grant>,
    id: WorkerId,
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
