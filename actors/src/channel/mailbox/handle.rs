//! [`MailboxHandle`]: a holder's way to send, request, reply and read its inbox.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use crate::channel::handle::{handle_accessors, Port};
use crate::channel::outlet::{Outlet, Wake};
use crate::channel::Inbound;
use crate::channel::{ChannelError, Delivery, RecvError, MAX_BATCH};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{MessageId, Seq, SystemId};
use crate::rights::Rights;

use super::state::{MailboxState, SendMail};
use super::{MailboxShared, ReplySlot};
/// A holder's handle on a mailbox: send to others, and (with READ) read its own inbox.
pub struct MailboxHandle<T: Send + Sync + 'static> {
    pub(super) port: Port<MailboxState<T>>,
    pub(super) shared: Arc<MailboxShared>,
    pub(super) inbox: Option<Arc<Outlet<T>>>,
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
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || ChannelError::Timeout {
            channel: self.channel().clone(),
            timeout,
        };
        // Each wait is bounded by the same deadline, but only a wait that does not
        // finish at once pays for a timer: usually just the wait for the reply.
        let room = self.shared.room_of(to).ok_or_else(|| self.unknown(to))?;
        let permit = match Arc::clone(&room).try_acquire_owned() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(self.unknown(to)),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                tokio::time::timeout_at(deadline, room.acquire_owned())
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|_| self.unknown(to))?
            }
        };
        let (tx, rx) = oneshot::channel();
        let mail = self.deliver(
            to,
            msg.into().with_id(MessageId::random()),
            permit,
            Some(ReplySlot { tx }),
        );
        // Errors reach the reply slot, so no answer from the channel is needed unless its
        // mailbox is full and we must wait for room.
        match self.port.addr().try_send(mail) {
            Ok(()) => {}
            Err(actix::dev::SendError::Full(mail)) => {
                tokio::time::timeout_at(deadline, self.port.call(mail))
                    .await
                    .map_err(|_| timed_out())??;
            }
            Err(actix::dev::SendError::Closed(_)) => return Err(self.port.closed()),
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(ChannelError::NoReply {
                channel: self.channel().clone(),
                recipient: to.clone(),
            }),
            Err(_) => Err(timed_out()),
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
            Some(request.sender().clone()),
            msg.into().correlation(request.id()),
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
