//! The mailbox: one bounded inbox per recipient, read only by its recipient.
//!
//! A holder with READ gets an inbox; any holder with WRITE may send to it. Senders wait
//! while the recipient's inbox is full (`send`), or are refused (`try_send`); a recipient
//! that never reads holds up only the senders writing to it. The recipient takes
//! messages with `recv` or has them pushed to an actor. A send goes from the sender's
//! handle straight into the recipient's inbox, not through the channel's actor, which
//! only grants, revokes, counts and drains.
//!
//! `request` sends a message and resolves with its correlated reply: each request
//! carries its own reply slot, so any number of concurrent requests from one sender each
//! get their own answer, and a request dropped without a reply fails at once.
//!
//! ```
//! use std::time::Duration;
//! use exokern_actors::channel::Mailbox;
//! use exokern_actors::{Rights, SystemId};
//!
//! # actix_rt::System::new().block_on(async {
//! let mail = Mailbox::<String>::builder("mail".parse()?).start()?;
//! let alice = mail.grant(SystemId::new("alice")?, Rights::READ | Rights::WRITE).await?;
//! let bob = mail.grant(SystemId::new("bob")?, Rights::READ | Rights::WRITE).await?;
//!
//! let server = actix::spawn(async move {
//!     let mut question = bob.recv().await?;
//!     let answer = format!("{}? 42.", question.payload());
//!     bob.reply(&mut question, answer)?;
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! });
//! let reply = alice
//!     .request(&SystemId::new("bob")?, "the answer".to_string(), Duration::from_secs(1))
//!     .await?;
//! assert_eq!(reply.payload(), "the answer? 42.");
//! assert_eq!(reply.sender().as_str(), "bob");
//! server.await.unwrap().unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use actix::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

use crate::channel::actor::{ChannelActor, Core};
use crate::channel::handle::{grant, ChannelControl};
use crate::channel::options::{actor_options, ActorOptions};
use crate::channel::outlet::Outlet;
use crate::channel::room::Room;
use crate::channel::{ChannelError, ChannelState, StartError};
use crate::envelope::Envelope;
use crate::ids::{ChannelId, Seq, SystemId};
use crate::rights::Rights;

mod handle;
mod state;

pub use handle::MailboxHandle;

use state::MailboxState;
/// Where the reply to one request goes. The requester and the request's id are in the
/// request's envelope; the slot only carries the way back.
pub(crate) struct ReplySlot<T> {
    pub(super) tx: oneshot::Sender<Result<Arc<Envelope<T>>, ChannelError>>,
}

/// The mailbox's data plane, shared by the channel's actor and every handle.
///
/// For this kind the queues are the per-recipient inboxes, so a send goes straight from
/// the sender's handle into the recipient's inbox: no hop through the channel's actor,
/// which on an arbiter pool would put a thread crossing between two agents on the same
/// thread. The actor keeps the control plane (grants, revocation, drain, stats) and
/// publishes its state here. Rights are checked on the shared grant at the moment of
/// delivery, and inbox room still bounds every send.
pub(super) struct MailboxShared<T: Send + Sync + 'static> {
    pub(super) id: ChannelId,
    pub(super) inbox_capacity: usize,
    state: AtomicU8,
    /// Messages stamped: sent to inboxes, and replies to requesters. Every one was
    /// either delivered or counted in `dropped`, so delivering costs no counter of its
    /// own.
    last_seq: AtomicU64,
    /// Messages refused at delivery (the recipient's inbox closed meanwhile), and
    /// replies whose requester had gone.
    pub(super) dropped: AtomicU64,
    /// Each recipient's inbox. A `DashMap` here measured 4–8% slower on one arbiter and
    /// no faster across two (BENCHMARKS.md, "The clock, and `unsafe`").
    inboxes: RwLock<FxHashMap<SystemId, Arc<Outlet<T>>>>,
}

impl<T: Send + Sync + 'static> MailboxShared<T> {
    fn new(id: ChannelId, inbox_capacity: usize) -> MailboxShared<T> {
        MailboxShared {
            id,
            inbox_capacity,
            state: AtomicU8::new(0),
            last_seq: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            inboxes: RwLock::default(),
        }
    }

    pub(super) fn next_seq(&self) -> Seq {
        Seq::new(self.last_seq.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Messages that reached an inbox or a requester.
    pub(super) fn delivered(&self) -> u64 {
        // `dropped` is counted after the seq it refers to was taken, so read it first.
        let dropped = self.dropped.load(Ordering::Acquire);
        self.last_seq
            .load(Ordering::Acquire)
            .saturating_sub(dropped)
    }

    pub(super) fn set_state(&self, state: ChannelState) {
        let code = match state {
            ChannelState::Running => 0,
            ChannelState::Draining => 1,
            ChannelState::Stopped => 2,
        };
        self.state.store(code, Ordering::Release);
    }

    /// `Ok` while the channel accepts new messages.
    pub(super) fn accepting(&self) -> Result<(), ChannelError> {
        match self.state.load(Ordering::Acquire) {
            0 => Ok(()),
            1 => Err(ChannelError::Draining {
                channel: self.id.clone(),
            }),
            _ => Err(ChannelError::Closed {
                channel: self.id.clone(),
            }),
        }
    }

    pub(super) fn inboxes(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, FxHashMap<SystemId, Arc<Outlet<T>>>> {
        self.inboxes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn inboxes_mut(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, FxHashMap<SystemId, Arc<Outlet<T>>>> {
        self.inboxes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Messages waiting in all inboxes, and the longest backlog.
    pub(super) fn backlog(&self) -> (u64, u64, usize) {
        let inboxes = self.inboxes();
        let lens = inboxes.values().map(|inbox| inbox.len() as u64);
        let (total, longest) = lens.fold((0, 0), |(t, m), len| (t + len, m.max(len)));
        (total, longest, inboxes.len())
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for MailboxShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxShared")
            .field("id", &self.id)
            .field("inbox_capacity", &self.inbox_capacity)
            .finish()
    }
}

/// Builds and starts a [`Mailbox`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct MailboxBuilder<T> {
    id: ChannelId,
    inbox_capacity: usize,
    actor: ActorOptions,
    payload: std::marker::PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for MailboxBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxBuilder")
            .field("id", &self.id)
            .field("inbox_capacity", &self.inbox_capacity)
            .finish()
    }
}

impl<T: Send + Sync + 'static> MailboxBuilder<T> {
    /// How many messages each inbox holds (default 1,024).
    pub fn inbox_capacity(mut self, messages: usize) -> Self {
        self.inbox_capacity = messages;
        self
    }

    actor_options!();

    /// Starts the channel's actor.
    pub fn start(self) -> Result<Mailbox<T>, StartError> {
        let most = Outlet::<T>::MAX_CAPACITY.min(Room::MAX);
        if self.inbox_capacity == 0 || self.inbox_capacity > most {
            return Err(StartError::invalid(
                &self.id,
                format!("inbox_capacity must be from 1 to {most} messages"),
            ));
        }
        let shared = Arc::new(MailboxShared::new(self.id.clone(), self.inbox_capacity));
        let state = MailboxState {
            shared: Arc::clone(&shared),
        };
        let core = Core::new(self.id.clone(), self.inbox_capacity);
        let (addr, control) = self.actor.start(core, state)?;
        Ok(Mailbox {
            control,
            addr,
            shared,
        })
    }
}

/// A mailbox channel, as its owner sees it: grant handles, and (through
/// [`ChannelControl`]) revoke, inspect, drain and stop.
pub struct Mailbox<T: Send + Sync + 'static> {
    pub(super) control: ChannelControl,
    pub(super) addr: Addr<ChannelActor<MailboxState<T>>>,
    pub(super) shared: Arc<MailboxShared<T>>,
}

impl<T: Send + Sync + 'static> Mailbox<T> {
    /// A builder for a mailbox named `id`.
    pub fn builder(id: ChannelId) -> MailboxBuilder<T> {
        MailboxBuilder {
            id,
            inbox_capacity: 1024,
            actor: ActorOptions::default(),
            payload: std::marker::PhantomData,
        }
    }

    /// Grants `holder` these rights and returns its handle. READ gives the holder an
    /// inbox; WRITE lets it send to any inbox.
    pub async fn grant(
        &self,
        holder: SystemId,
        rights: Rights,
    ) -> Result<MailboxHandle<T>, ChannelError> {
        let (endpoint, inbox) = grant(&self.addr, self.id(), holder, rights).await?;
        Ok(MailboxHandle::new(
            endpoint,
            Arc::clone(&self.shared),
            inbox,
        ))
    }
}

impl<T: Send + Sync + 'static> Deref for Mailbox<T> {
    type Target = ChannelControl;
    fn deref(&self) -> &ChannelControl {
        &self.control
    }
}

impl<T: Send + Sync + 'static> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Mailbox {
            control: self.control.clone(),
            addr: self.addr.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Mailbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mailbox").field(&self.control).finish()
    }
}
