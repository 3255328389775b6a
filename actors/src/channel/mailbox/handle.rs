//! [`MailboxHandle`]: a holder's way to send, request, reply and read its inbox.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxBuildHasher;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::channel::handle::{handle_accessors, Endpoint};
use crate::channel::outlet::{Outlet, Push, Wake};
use crate::channel::room::{NoRoom, Room};
use crate::channel::Inbound;
use crate::channel::{ChannelError, Delivery, RecvError, MAX_BATCH};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{Seq, SystemId};
use crate::rights::Rights;

use super::state::MailboxState;
use super::{MailboxShared, ReplySlot};
/// A holder's handle on a mailbox: send to others, and (with READ) read its own inbox.
pub struct MailboxHandle<T: Send + Sync + 'static> {
    pub(super) endpoint: Endpoint<MailboxState<T>>,
    pub(super) shared: Arc<MailboxShared<T>>,
    pub(super) inbox: Option<Arc<Outlet<T>>>,
    /// The hash of whom this handle last sent to, and the inbox it keeps for a
    /// recipient sent to twice in a row. Agents mostly send to the same few peers, and
    /// among thousands of inboxes the channel's table costs two cache misses per lookup;
    /// a handle sending all over pays a hash and a store per send, and no lock or
    /// reference count. Each clone keeps its own, so tasks with their own clones never
    /// share them.
    last_to: AtomicU64,
    kept: Mutex<Option<(SystemId, Arc<Outlet<T>>)>>,
}

impl<T: Send + Sync + 'static> Clone for MailboxHandle<T> {
    fn clone(&self) -> Self {
        MailboxHandle::new(
            self.endpoint.clone(),
            Arc::clone(&self.shared),
            self.inbox.clone(),
        )
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for MailboxHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

/// A first try at sending: sent, or the inbox was full and the message waits for room.
enum Attempt<T: Send + Sync + 'static> {
    Sent(Seq),
    Full(Arc<Outlet<T>>, Outgoing<T>, Option<ReplySlot<T>>),
}

impl<T: Send + Sync + 'static> MailboxHandle<T> {
    handle_accessors!();

    pub(super) fn new(
        endpoint: Endpoint<MailboxState<T>>,
        shared: Arc<MailboxShared<T>>,
        inbox: Option<Arc<Outlet<T>>>,
    ) -> MailboxHandle<T> {
        MailboxHandle {
            endpoint,
            shared,
            inbox,
            last_to: AtomicU64::new(0),
            kept: Mutex::new(None),
        }
    }

    fn unknown(&self, recipient: &SystemId) -> ChannelError {
        ChannelError::UnknownRecipient {
            channel: self.channel().clone(),
            recipient: recipient.clone(),
        }
    }

    fn full(&self) -> ChannelError {
        ChannelError::Full {
            channel: self.channel().clone(),
            capacity: self.shared.inbox_capacity,
        }
    }

    /// Checks that this holder may send now, then hands `to`'s inbox to `send`: the one
    /// this handle keeps if it is `to`'s and still open (an inbox stays in the channel's
    /// table until its room is closed), or else the table's, kept if `to` was also the
    /// last recipient.
    fn with_inbox<R>(
        &self,
        to: &SystemId,
        send: impl FnOnce(&Arc<Outlet<T>>, &Room) -> Result<R, ChannelError>,
    ) -> Result<R, ChannelError> {
        self.endpoint.check(Rights::WRITE)?;
        self.shared.accepting()?;
        let hash = FxBuildHasher.hash_one(to);
        if self.last_to.load(Ordering::Relaxed) != hash {
            self.last_to.store(hash, Ordering::Relaxed);
            return self.with_listed_inbox(to, send);
        }
        let mut kept = match self.kept.try_lock() {
            Ok(kept) => kept,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // This very handle is sending on another thread: go to the table.
            Err(TryLockError::WouldBlock) => return self.with_listed_inbox(to, send),
        };
        if let Some((_, inbox)) = kept.as_ref().filter(|(id, _)| id == to) {
            if let Some(room) = inbox.credits().filter(|room| !room.is_closed()) {
                return send(inbox, room);
            }
        }
        let mut found = None;
        let sent = self.with_listed_inbox(to, |inbox, room| {
            found = Some(Arc::clone(inbox));
            send(inbox, room)
        });
        if let Some(inbox) = found {
            *kept = Some((to.clone(), inbox));
        }
        sent
    }

    /// [`with_inbox`](Self::with_inbox) through the channel's table alone, while it is
    /// read-locked, paying for no reference count on the inbox.
    fn with_listed_inbox<R>(
        &self,
        to: &SystemId,
        send: impl FnOnce(&Arc<Outlet<T>>, &Room) -> Result<R, ChannelError>,
    ) -> Result<R, ChannelError> {
        let inboxes = self.shared.inboxes();
        let inbox = inboxes.get(to).ok_or_else(|| self.unknown(to))?;
        let room = inbox.credits().ok_or_else(|| self.unknown(to))?;
        send(inbox, room)
    }

    /// Stamps a message and puts it into `to`'s inbox, where a credit was taken for it;
    /// the credit goes back if the inbox refuses it.
    fn deliver(
        &self,
        to: &SystemId,
        inbox: &Arc<Outlet<T>>,
        room: &Room,
        msg: Outgoing<T>,
        reply: Option<ReplySlot<T>>,
    ) -> Result<Seq, ChannelError> {
        let seq = self.shared.next_seq();
        let envelope = Envelope::stamp(self.channel(), seq, self.holder(), Some(to.clone()), msg);
        let inbound = match reply {
            Some(slot) => Inbound::request(envelope, slot),
            None => Inbound::message(envelope),
        };
        match inbox.push(inbound) {
            Push::Queued | Push::DroppedOldest => Ok(seq),
            // The inbox closed while we held room in it: its recipient is gone.
            Push::Gone | Push::Full | Push::Disconnected => {
                room.give(1);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                Err(self.unknown(to))
            }
        }
    }

    /// Sends `msg` to `to`, waiting for room while the inbox is full: without end, or
    /// until a deadline (the timeout it came from names it in the error).
    async fn send_waiting(
        &self,
        to: &SystemId,
        msg: Outgoing<T>,
        reply: Option<ReplySlot<T>>,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Seq, ChannelError> {
        let attempt = self.with_inbox(to, move |inbox, room| match room.try_take() {
            Ok(()) => self.deliver(to, inbox, room, msg, reply).map(Attempt::Sent),
            Err(NoRoom::Full) => Ok(Attempt::Full(Arc::clone(inbox), msg, reply)),
            Err(NoRoom::Closed) => Err(self.unknown(to)),
        })?;
        let (inbox, msg, reply) = match attempt {
            Attempt::Sent(seq) => return Ok(seq),
            Attempt::Full(inbox, msg, reply) => (inbox, msg, reply),
        };
        let room = inbox.credits().ok_or_else(|| self.unknown(to))?;
        match deadline {
            None => room.take().await,
            Some((deadline, timeout)) => tokio::time::timeout_at(deadline, room.take())
                .await
                .map_err(|_| self.timed_out(timeout))?,
        }
        .map_err(|_| self.unknown(to))?;
        // Checked again: the holder may have been revoked, or the channel may have begun
        // draining, while the sender waited for room.
        let checked = self.endpoint.check(Rights::WRITE);
        if let Err(refused) = checked.and_then(|()| self.shared.accepting()) {
            room.give(1);
            return Err(refused);
        }
        self.deliver(to, &inbox, room, msg, reply)
    }

    fn timed_out(&self, timeout: Duration) -> ChannelError {
        ChannelError::Timeout {
            channel: self.channel().clone(),
            timeout,
        }
    }

    /// Sends a message to `to`'s inbox (needs WRITE), waiting while it is full.
    pub async fn send(
        &self,
        to: &SystemId,
        msg: impl Into<Outgoing<T>>,
    ) -> Result<Seq, ChannelError> {
        self.send_waiting(to, msg.into(), None, None).await
    }

    /// Sends a message to `to`'s inbox (needs WRITE), or fails with
    /// [`ChannelError::Full`] at once. It never waits, so a synchronous hook or actix
    /// handler can send with it directly, without spawning a future.
    pub fn try_send(
        &self,
        to: &SystemId,
        msg: impl Into<Outgoing<T>>,
    ) -> Result<Seq, ChannelError> {
        self.with_inbox(to, |inbox, room| match room.try_take() {
            Ok(()) => self.deliver(to, inbox, room, msg.into(), None),
            Err(NoRoom::Full) => Err(self.full()),
            Err(NoRoom::Closed) => Err(self.unknown(to)),
        })
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
        // Both waits are bounded by the same deadline, but waiting for room pays for a
        // timer only when the inbox is full.
        let deadline = Instant::now() + timeout;
        let (tx, rx) = oneshot::channel();
        let reply = Some(ReplySlot { tx });
        self.send_waiting(to, msg.into(), reply, Some((deadline, timeout)))
            .await?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(ChannelError::NoReply {
                channel: self.channel().clone(),
                recipient: to.clone(),
            }),
            Err(_) => Err(self.timed_out(timeout)),
        }
    }

    /// Replies to a request taken from this holder's inbox (needs WRITE). The reply goes
    /// straight to the waiting requester, correlated with the request. A request can be
    /// answered once.
    pub fn reply(
        &self,
        request: &mut Inbound<T>,
        msg: impl Into<Outgoing<T>>,
    ) -> Result<Seq, ChannelError> {
        self.endpoint.check(Rights::WRITE)?;
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
            Some(request.sender().clone()),
            msg.into().correlation(request.id()),
        );
        if slot.tx.send(Ok(reply)).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(ChannelError::RequesterGone {
                channel: self.channel().clone(),
            });
        }
        Ok(seq)
    }

    fn inbox(&self) -> Result<&Arc<Outlet<T>>, ChannelError> {
        self.endpoint.check(Rights::READ)?;
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
        self.set_inbox_wake(Wake::Actor(actor))
    }

    /// Has this holder's inbox wake its consumer the way `wake` says (needs READ).
    pub(crate) fn set_inbox_wake(&self, wake: Wake<T>) -> Result<(), ChannelError> {
        self.inbox()?.set_wake(wake);
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
