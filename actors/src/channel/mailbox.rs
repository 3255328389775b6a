//! The mailbox: one bounded inbox per recipient, read only by its recipient.
//!
//! A holder with READ gets an inbox; any holder with WRITE may send to it. Senders wait
//! while the recipient's inbox is full (`send`), or are refused (`try_send`); a recipient
//! that never reads holds up only the senders writing to it. The recipient takes
//! messages with `recv` or has them pushed to an actor.
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::channel::access::Grant;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::handle::{grant, handle_accessors, ChannelControl, Port};
use crate::channel::outlet::{Inbound, Outlet, Push, Wake};
use crate::channel::{
    ChannelError, ChannelKind, ChannelStats, CloseReason, Delivery, RecvError, StartError,
    MAX_BATCH,
};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, MessageId, Seq, SystemId};
use crate::placement::Placement;
use crate::rights::Rights;

/// Where the reply to one request goes.
pub(crate) struct ReplySlot<T> {
    tx: oneshot::Sender<Result<Arc<Envelope<T>>, ChannelError>>,
    requester: SystemId,
    request: MessageId,
}

impl<T> ReplySlot<T> {
    fn fail(self, error: ChannelError) {
        let _ = self.tx.send(Err(error));
    }
}

/// State the channel shares with its handles: the seq counter (replies are stamped by
/// the replier's handle) and each inbox's free room.
#[derive(Debug)]
struct MailboxShared {
    inbox_capacity: usize,
    last_seq: AtomicU64,
    replies: AtomicU64,
    room: RwLock<FxHashMap<SystemId, Arc<Semaphore>>>,
}

impl MailboxShared {
    fn next_seq(&self) -> Seq {
        Seq::new(self.last_seq.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn room_of(&self, recipient: &SystemId) -> Option<Arc<Semaphore>> {
        self.room
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(recipient)
            .cloned()
    }

    fn set_room(&self, recipient: &SystemId, room: Option<Arc<Semaphore>>) {
        let mut map = self
            .room
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match room {
            Some(room) => map.insert(recipient.clone(), room),
            None => map.remove(recipient),
        };
    }
}

/// Builds and starts a [`Mailbox`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct MailboxBuilder<T> {
    id: ChannelId,
    inbox_capacity: usize,
    mailbox: usize,
    placement: Placement,
    owner: Option<SystemId>,
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

    /// How many requests may wait in the channel actor's mailbox (default 1,024).
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
    pub fn start(self) -> Result<Mailbox<T>, StartError> {
        if self.inbox_capacity == 0 || self.inbox_capacity > Semaphore::MAX_PERMITS {
            return Err(StartError::invalid(
                &self.id,
                "inbox_capacity must be at least 1",
            ));
        }
        if self.mailbox == 0 {
            return Err(StartError::invalid(
                &self.id,
                "mailbox_capacity must be at least 1",
            ));
        }
        let shared = Arc::new(MailboxShared {
            inbox_capacity: self.inbox_capacity,
            last_seq: AtomicU64::new(0),
            replies: AtomicU64::new(0),
            room: RwLock::default(),
        });
        let state = MailboxState {
            inboxes: FxHashMap::default(),
            shared: Arc::clone(&shared),
        };
        let core = Core::new(self.id.clone(), self.inbox_capacity);
        let mailbox = self.mailbox;
        let addr = self.placement.start(self.owner.as_ref(), move |ctx| {
            ctx.set_mailbox_capacity(mailbox);
            ChannelActor::new(core, state)
        })?;
        Ok(Mailbox {
            control: ChannelControl::new(self.id, &addr),
            addr,
            shared,
        })
    }
}

/// A mailbox channel, as its owner sees it: grant handles, and (through
/// [`ChannelControl`]) revoke, inspect, drain and stop.
pub struct Mailbox<T: Send + Sync + 'static> {
    control: ChannelControl,
    addr: Addr<ChannelActor<MailboxState<T>>>,
    shared: Arc<MailboxShared>,
}

impl<T: Send + Sync + 'static> Mailbox<T> {
    /// A builder for a mailbox named `id`.
    pub fn builder(id: ChannelId) -> MailboxBuilder<T> {
        MailboxBuilder {
            id,
            inbox_capacity: 1024,
            mailbox: 1024,
            placement: Placement::Current,
            owner: None,
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
        let (port, inbox) = grant(&self.addr, self.id(), holder, rights).await?;
        Ok(MailboxHandle {
            port,
            shared: Arc::clone(&self.shared),
            inbox,
        })
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

/// A holder's handle on a mailbox: send to others, and (with READ) read its own inbox.
pub struct MailboxHandle<T: Send + Sync + 'static> {
    port: Port<MailboxState<T>>,
    shared: Arc<MailboxShared>,
    inbox: Option<Arc<Outlet<T>>>,
}

impl<T: Send + Sync + 'static> Clone for MailboxHandle<T> {
    fn clone(&self) -> Self {
        MailboxHandle {
            port: self.port.clone(),
            shared: Arc::clone(&self.shared),
            inbox: self.inbox.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for MailboxHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.port.fmt(f)
    }
}

impl<T: Send + Sync + 'static> MailboxHandle<T> {
    handle_accessors!();

    fn unknown(&self, recipient: &SystemId) -> ChannelError {
        ChannelError::UnknownRecipient {
            channel: self.channel().clone(),
            recipient: recipient.clone(),
        }
    }

    /// Waits for room in `to`'s inbox.
    async fn reserve(&self, to: &SystemId) -> Result<OwnedSemaphorePermit, ChannelError> {
        let room = self.shared.room_of(to).ok_or_else(|| self.unknown(to))?;
        room.acquire_owned().await.map_err(|_| self.unknown(to))
    }

    fn deliver(
        &self,
        to: &SystemId,
        msg: Outgoing<T>,
        permit: OwnedSemaphorePermit,
        reply: Option<ReplySlot<T>>,
    ) -> SendMail<T> {
        SendMail {
            grant: Arc::clone(self.port.grant()),
            to: to.clone(),
            msg,
            permit,
            reply,
        }
    }

    /// Sends a message to `to`'s inbox (needs WRITE), waiting while it is full.
    pub async fn send(
        &self,
        to: &SystemId,
        msg: impl Into<Outgoing<T>>,
    ) -> Result<Seq, ChannelError> {
        self.port.check(Rights::WRITE)?;
        let permit = self.reserve(to).await?;
        self.port
            .call(self.deliver(to, msg.into(), permit, None))
            .await
    }

    /// Sends a message to `to`'s inbox (needs WRITE), or fails with
    /// [`ChannelError::Full`] at once.
    pub async fn try_send(
        &self,
        to: &SystemId,
        msg: impl Into<Outgoing<T>>,
    ) -> Result<Seq, ChannelError> {
        self.port.check(Rights::WRITE)?;
        let room = self.shared.room_of(to).ok_or_else(|| self.unknown(to))?;
        let permit = room.try_acquire_owned().map_err(|e| match e {
            tokio::sync::TryAcquireError::Closed => self.unknown(to),
            tokio::sync::TryAcquireError::NoPermits => ChannelError::Full {
                channel: self.channel().clone(),
                capacity: self.shared.inbox_capacity,
            },
        })?;
        self.port
            .call(self.deliver(to, msg.into(), permit, None))
            .await
    }

    /// Sends a request to `to` and waits up to `timeout` for its reply (needs WRITE).
    /// The reply is correlated to this request alone; if `to` drops the request without
    /// replying, this fails at once with [`ChannelError::NoReply`].
    pub async fn request(
        &self,
        to: &SystemId,
        msg: impl Into<Outgoing<T>>,
        timeout: Duration,
    ) -> Result<Arc<Envelope<T>>, ChannelError> {
        self.port.check(Rights::WRITE)?;
        let id = MessageId::random();
        let (tx, rx) = oneshot::channel();
        let slot = ReplySlot {
            tx,
            requester: self.holder().clone(),
            request: id,
        };
        let msg = msg.into().with_id(id);
        let exchange = async {
            let permit = self.reserve(to).await?;
            let mail = self.deliver(to, msg, permit, Some(slot));
            // Errors reach the reply slot, so no answer from the channel is needed
            // unless its mailbox is full and we must wait for room.
            match self.port.addr().try_send(mail) {
                Ok(()) => {}
                Err(actix::dev::SendError::Full(mail)) => {
                    self.port.call(mail).await?;
                }
                Err(actix::dev::SendError::Closed(_)) => return Err(self.port.closed()),
            }
            rx.await.unwrap_or_else(|_| {
                Err(ChannelError::NoReply {
                    channel: self.channel().clone(),
                    recipient: to.clone(),
                })
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(ChannelError::Timeout {
                    channel: self.channel().clone(),
                    timeout,
                })
            })
    }

    /// Replies to a request taken from this holder's inbox (needs WRITE). The reply goes
    /// straight to the waiting requester, correlated with the request. A request can be
    /// answered once.
    pub fn reply(
        &self,
        request: &mut Inbound<T>,
        msg: impl Into<Outgoing<T>>,
    ) -> Result<Seq, ChannelError> {
        self.port.check(Rights::WRITE)?;
        if request.channel() != self.channel() {
            return Err(ChannelError::WrongChannel {
                expected: request.channel().clone(),
                handle: self.channel().clone(),
            });
        }
        let slot = request
            .take_reply_slot()
            .ok_or_else(|| ChannelError::NotARequest {
                channel: self.channel().clone(),
                seq: request.seq(),
            })?;
        let seq = self.shared.next_seq();
        let reply = Envelope::stamp(
            self.channel(),
            seq,
            self.holder(),
            Some(slot.requester),
            msg.into().correlation(slot.request),
        );
        slot.tx
            .send(Ok(Arc::new(reply)))
            .map_err(|_| ChannelError::RequesterGone {
                channel: self.channel().clone(),
            })?;
        self.shared.replies.fetch_add(1, Ordering::Relaxed);
        Ok(seq)
    }

    fn inbox(&self) -> Result<&Arc<Outlet<T>>, ChannelError> {
        self.port.check(Rights::READ)?;
        self.inbox
            .as_ref()
            .ok_or_else(|| self.unknown(self.holder()))
    }

    /// Waits for the next message in this holder's inbox (needs READ).
    pub async fn recv(&self) -> Result<Inbound<T>, RecvError> {
        self.inbox()?.recv().await
    }

    /// Takes the next message in this holder's inbox, if there is one.
    pub fn try_recv(&self) -> Result<Option<Inbound<T>>, RecvError> {
        self.inbox()?.try_recv()
    }

    /// Takes up to `limit` messages from this holder's inbox without waiting.
    pub fn read(&self, limit: usize) -> Result<Vec<Inbound<T>>, RecvError> {
        let inbox = self.inbox()?;
        if limit == 0 || limit > MAX_BATCH {
            return Err(RecvError::Channel(ChannelError::InvalidArgument {
                channel: self.channel().clone(),
                reason: format!("limit must be 1 to {MAX_BATCH}, not {limit}"),
            }));
        }
        let mut taken = Vec::new();
        while taken.len() < limit {
            match inbox.try_recv() {
                Ok(Some(item)) => taken.push(item),
                Ok(None) => break,
                Err(error) if taken.is_empty() => return Err(error),
                Err(_) => break,
            }
        }
        Ok(taken)
    }

    /// How many messages wait in this holder's inbox.
    pub fn inbox_len(&self) -> usize {
        self.inbox.as_ref().map_or(0, |inbox| inbox.len())
    }

    /// Has this holder's inbox pushed to `actor` as [`Delivery`] messages from now on
    /// (needs READ); anything already waiting is delivered at once.
    pub fn subscribe_actor(&self, actor: Recipient<Delivery<T>>) -> Result<(), ChannelError> {
        self.inbox()?.set_wake(Wake::Actor(actor));
        Ok(())
    }

    /// Goes back to pulling with [`recv`](Self::recv).
    pub fn unsubscribe_actor(&self) -> Result<(), ChannelError> {
        self.inbox()?.set_wake(Wake::Task);
        Ok(())
    }

    pub(crate) fn inbox_outlet(&self) -> Option<&Arc<Outlet<T>>> {
        self.inbox.as_ref()
    }
}

pub(crate) struct MailboxState<T: Send + Sync + 'static> {
    inboxes: FxHashMap<SystemId, Arc<Outlet<T>>>,
    shared: Arc<MailboxShared>,
}

impl<T: Send + Sync + 'static> MailboxState<T> {
    fn remove_inbox(&mut self, core: &mut Core, holder: &SystemId, reason: CloseReason) {
        if let Some(inbox) = self.inboxes.remove(holder) {
            self.shared.set_room(holder, None);
            core.counters.dropped += inbox.detach() as u64;
            inbox.close(reason);
            if let Some(room) = inbox.credits() {
                room.close();
            }
        }
    }
}

impl<T: Send + Sync + 'static> Kind for MailboxState<T> {
    const KIND: ChannelKind = ChannelKind::Mailbox;
    const DRAINS_THROUGH_OUTLETS: bool = true;
    type GrantExtra = Option<Arc<Outlet<T>>>;

    fn granted(&mut self, core: &Core, grant: &Arc<Grant>) -> Option<Arc<Outlet<T>>> {
        let holder = grant.holder();
        if !grant.rights().contains(Rights::READ) {
            if let Some(inbox) = self.inboxes.remove(holder) {
                self.shared.set_room(holder, None);
                inbox.detach();
                inbox.close(CloseReason::Revoked);
            }
            return None;
        }
        let inbox = self.inboxes.entry(holder.clone()).or_insert_with(|| {
            let room = Arc::new(Semaphore::new(core.capacity));
            self.shared.set_room(holder, Some(Arc::clone(&room)));
            Outlet::new(
                core.id.clone(),
                core.capacity,
                Wake::Task,
                Some(room),
                Arc::clone(&core.drain),
            )
        });
        Some(Arc::clone(inbox))
    }

    fn revoked(&mut self, core: &mut Core, holder: &SystemId) {
        self.remove_inbox(core, holder, CloseReason::Revoked);
    }

    fn pending(&self) -> u64 {
        self.inboxes.values().map(|inbox| inbox.len() as u64).sum()
    }

    fn close(&mut self, _: &mut Core) -> u64 {
        let undelivered = self.pending();
        for (holder, inbox) in self.inboxes.drain() {
            self.shared.set_room(&holder, None);
            inbox.close(CloseReason::ChannelStopped);
            if let Some(room) = inbox.credits() {
                room.close();
            }
        }
        undelivered
    }

    fn fill_stats(&self, stats: &mut ChannelStats) {
        for inbox in self.inboxes.values() {
            let backlog = inbox.len() as u64;
            stats.depth += backlog;
            stats.lag = stats.lag.max(backlog);
        }
        let replies = self.shared.replies.load(Ordering::Relaxed);
        stats.accepted += replies;
        stats.delivered += replies;
        stats.consumers = self.inboxes.len();
    }
}

pub(crate) struct SendMail<T> {
    grant: Arc<Grant>,
    to: SystemId,
    msg: Outgoing<T>,
    /// Room reserved in `to`'s inbox: consumed on delivery, returned on refusal.
    permit: OwnedSemaphorePermit,
    reply: Option<ReplySlot<T>>,
}

impl<T: Send + Sync + 'static> Message for SendMail<T> {
    type Result = Result<Seq, ChannelError>;
}

impl<T: Send + Sync + 'static> Handler<SendMail<T>> for ChannelActor<MailboxState<T>> {
    type Result = Result<Seq, ChannelError>;

    fn handle(&mut self, mail: SendMail<T>, _: &mut Context<Self>) -> Self::Result {
        let SendMail {
            grant,
            to,
            msg,
            permit,
            reply,
        } = mail;
        let checked = self.core.check_write(&grant).and_then(|()| {
            self.kind
                .inboxes
                .get(&to)
                .cloned()
                .ok_or_else(|| ChannelError::UnknownRecipient {
                    channel: self.core.id.clone(),
                    recipient: to.clone(),
                })
        });
        let inbox = match checked {
            Ok(inbox) => inbox,
            Err(error) => {
                if let Some(slot) = reply {
                    slot.fail(error.clone());
                }
                return Err(error);
            }
        };
        let seq = self.kind.shared.next_seq();
        let envelope = Arc::new(Envelope::stamp(
            &self.core.id,
            seq,
            grant.holder(),
            Some(to),
            msg,
        ));
        let inbound = match reply {
            Some(slot) => Inbound::request(envelope, slot),
            None => Inbound::message(envelope),
        };
        self.core.counters.accepted += 1;
        match inbox.push(inbound, None) {
            Push::Queued | Push::DroppedOldest => {
                permit.forget();
                self.core.counters.delivered += 1;
                Ok(seq)
            }
            Push::Gone(mut inbound) | Push::Full(mut inbound) | Push::Disconnected(mut inbound) => {
                self.core.counters.dropped += 1;
                let error = ChannelError::UnknownRecipient {
                    channel: self.core.id.clone(),
                    recipient: inbound
                        .recipient()
                        .cloned()
                        .unwrap_or_else(|| grant.holder().clone()),
                };
                if let Some(slot) = inbound.take_reply_slot() {
                    slot.fail(error.clone());
                }
                Err(error)
            }
        }
    }
}
