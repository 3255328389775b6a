//! The mailbox inside its actor: one inbox per recipient, and the send handler.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::channel::access::Grant;
use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::outlet::{Outlet, Push};
use crate::channel::Inbound;
use crate::channel::{ChannelError, ChannelKind, ChannelStats, CloseReason};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{Seq, SystemId};
use crate::rights::Rights;

use super::{MailboxShared, ReplySlot};
pub(crate) struct MailboxState<T: Send + Sync + 'static> {
    pub(super) inboxes: FxHashMap<SystemId, Arc<Outlet<T>>>,
    pub(super) shared: Arc<MailboxShared>,
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
            Outlet::pull(
                core.id.clone(),
                core.capacity,
                None,
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
    pub(super) grant: Arc<Grant>,
    pub(super) to: SystemId,
    pub(super) msg: Outgoing<T>,
    /// Room reserved in `to`'s inbox: consumed on delivery, returned on refusal.
    pub(super) permit: OwnedSemaphorePermit,
    pub(super) reply: Option<ReplySlot<T>>,
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
            Some(to.clone()),
            msg,
        ));
        let inbound = match reply {
            Some(slot) => Inbound::request(envelope, slot),
            None => Inbound::message(envelope),
        };
        self.core.counters.accepted += 1;
        let refused = match inbox.push(inbound) {
            Push::Queued | Push::DroppedOldest => {
                permit.forget();
                self.core.counters.delivered += 1;
                return Ok(seq);
            }
            Push::Gone(inbound) => inbound,
            Push::Full(inbound) | Push::Disconnected(inbound) => Some(inbound),
        };
        self.core.counters.dropped += 1;
        let error = ChannelError::UnknownRecipient {
            channel: self.core.id.clone(),
            recipient: to,
        };
        if let Some(slot) = refused.and_then(|mut inbound| inbound.take_reply_slot()) {
            slot.fail(error.clone());
        }
        Err(error)
    }
}
