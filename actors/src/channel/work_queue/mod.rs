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

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::Semaphore;

use crate::channel::actor::{ChannelActor, Core};
use crate::channel::handle::{grant, ChannelControl};
use crate::channel::options::{actor_options, ActorOptions};
use crate::channel::{ChannelError, StartError};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::rights::Rights;
use crate::store::{SharedQueue, Store};
use serde::de::DeserializeOwned;
use serde::Serialize;

mod dead_letter;
mod fetching;
mod handle;
mod item;
mod journal;
mod messages;
mod options;
mod remote;
mod state;
mod token;

pub use dead_letter::{DeadLetter, DeadLetterReason};
pub use handle::WorkQueueHandle;
pub(crate) use messages::Settle;
pub use options::{SettleReport, WorkerId, WorkerOptions};
pub use token::{ClaimToken, ParseClaimTokenError};

use crate::store::OpenJournal;
use dead_letter::DeadLetterSink;
use remote::Remote;

/// The longest lease a claim may hold (a week): a worker that needs longer extends it.
pub const MAX_LEASE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What is wrong with `lease`, if anything.
pub(crate) fn lease_problem(lease: Duration) -> Option<&'static str> {
    if lease.is_zero() {
        Some("the lease must be longer than zero")
    } else if lease > MAX_LEASE {
        Some("the lease may be at most a week (604800 s): extend it instead")
    } else {
        None
    }
}
use state::QueueState;

/// Builds and starts a [`WorkQueue`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct WorkQueueBuilder<T: Send + Sync + 'static> {
    id: ChannelId,
    capacity: usize,
    lease: Duration,
    max_attempts: Option<u32>,
    dead_letter: Option<Box<dyn DeadLetterSink<T>>>,
    max_waiting: usize,
    max_workers: usize,
    journal: Option<OpenJournal<T>>,
    remote: Option<Remote<T>>,
    actor: ActorOptions,
}

impl<T: Send + Sync + 'static> fmt::Debug for WorkQueueBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkQueueBuilder")
            .field("id", &self.id)
            .field("capacity", &self.capacity)
            .field("lease", &self.lease)
            .field("max_attempts", &self.max_attempts)
            .field("durable", &self.journal.is_some())
            .field("shared", &self.remote.as_ref().map(|r| &r.queue))
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

    /// The most push workers registered at once (default 1,024); further registrations
    /// fail with [`ChannelError::TooManyConsumers`].
    pub fn max_workers(mut self, workers: usize) -> Self {
        self.max_workers = workers;
        self
    }

    /// The most claims that may wait for items at once (default 1,024).
    pub fn max_waiting_claims(mut self, claims: usize) -> Self {
        self.max_waiting = claims;
        self
    }

    /// Keeps the queue in `store`: an item whose send returned `Ok` survives a crash of
    /// the process and is delivered after the restart unless it was acked, and an ack
    /// that returned `Ok` is never undone. Sends and acks are answered once the commit
    /// that holds them is durable; items are delivered only from then on. At start the
    /// queue reads back what the store kept: unacked items, with their deliveries so far,
    /// and seqs go on from the last one. A claim is answered once its deliveries are
    /// counted on disk, so an item claimed before a crash comes back with the next
    /// attempt number; a push worker's deliveries are counted with the next commit, not
    /// waited for. Items of a stopped durable queue stay in the store, never
    /// dead-lettered.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        self.journal = Some(crate::store::opener(store));
        self
    }

    /// Shares the queue through a server: every kernel, in any process, whose queue is
    /// built on the same server queue takes from it and sends to it. The server holds
    /// the items and bounds them; this kernel holds only what its claimers and workers
    /// have taken, under its own leases and claim tokens. A send is answered once the
    /// server kept it, with the seq the server gave (seqs of a batch increase, with
    /// gaps where other kernels sent in between), and an ack once the server has it.
    /// Dead letters go to the server queue's dead-letter stream. The server queue's
    /// `max_attempts` is the queue's.
    pub fn shared(mut self, queue: Arc<dyn SharedQueue>) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        self.remote = Some(Remote::new(queue));
        self
    }

    actor_options!();

    /// Starts the queue's actor.
    pub fn start(mut self) -> Result<WorkQueue<T>, StartError> {
        let invalid = |reason| Err(StartError::invalid(&self.id, reason));
        if self.capacity == 0 || self.capacity > Semaphore::MAX_PERMITS {
            return invalid("capacity must be at least 1");
        }
        if let Some(problem) = lease_problem(self.lease) {
            return invalid(problem);
        }
        if self.max_attempts == Some(0) {
            return invalid("max_attempts must be at least 1");
        }
        if let Some(dlq) = &self.dead_letter {
            dlq.check_writable().map_err(|e| StartError::InvalidSpec {
                channel: self.id.clone(),
                reason: format!("the dead-letter handle cannot write: {e}"),
            })?;
        }
        if let Some(remote) = &self.remote {
            if self.journal.is_some() {
                return invalid("a queue is kept in a store or shared through a server, not both");
            }
            if self.dead_letter.is_some() {
                return invalid("a shared queue keeps its dead letters on its server: drop the dead-letter handle");
            }
            let shared = remote.queue.max_attempts();
            if self.max_attempts.is_some() && self.max_attempts != shared {
                return invalid("max_attempts differs from the shared queue's: set it where the shared queue is opened");
            }
            self.max_attempts = shared;
        }
        let permits = Arc::new(Semaphore::new(self.capacity));
        let (journal, restored) = match self.journal {
            Some(open) => {
                let store_error = |error| StartError::Store {
                    channel: self.id.clone(),
                    error,
                };
                let (journal, reopened) = open(&self.id).map_err(store_error)?;
                let restored = journal::restore(&self.id, reopened).map_err(store_error)?;
                (Some(journal), Some(restored))
            }
            None => (None, None),
        };
        let mut state = QueueState {
            ready: VecDeque::new(),
            staged: VecDeque::new(),
            answering: Vec::new(),
            after_sync: Default::default(),
            handover: Vec::new(),
            journal,
            delivered_through: (Seq::ZERO, true),
            in_flight: FxHashMap::default(),
            held_back: BTreeMap::new(),
            expiries: BTreeSet::new(),
            timer: None,
            workers: Vec::new(),
            next_worker: 0,
            next_worker_id: 0,
            waiting: VecDeque::new(),
            max_waiting: self.max_waiting,
            max_workers: self.max_workers,
            permits: Arc::clone(&permits),
            last_seq: Seq::ZERO,
            lease: self.lease,
            max_attempts: self.max_attempts,
            dead_letter: self.dead_letter,
            remote: self.remote,
        };
        if let Some(restored) = restored {
            state.restore(&self.id, restored);
        }
        let core = Core::new(self.id.clone(), self.capacity);
        let (addr, control) = self.actor.start(core, state)?;
        Ok(WorkQueue {
            control,
            addr,
            permits,
            capacity: self.capacity,
        })
    }
}

/// A work queue, as its owner sees it: grant handles, and (through [`ChannelControl`])
/// revoke, inspect, drain and stop.
pub struct WorkQueue<T: Send + Sync + 'static> {
    pub(super) control: ChannelControl,
    pub(super) addr: Addr<ChannelActor<QueueState<T>>>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) capacity: usize,
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
            max_workers: 1024,
            journal: None,
            remote: None,
            actor: ActorOptions::default(),
        }
    }

    /// Grants `holder` these rights (WRITE to produce, READ to consume) and returns its
    /// handle.
    pub async fn grant(
        &self,
        holder: SystemId,
        rights: Rights,
    ) -> Result<WorkQueueHandle<T>, ChannelError> {
        let (endpoint, ()) = grant(&self.addr, self.id(), holder, rights).await?;
        Ok(WorkQueueHandle {
            endpoint,
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
