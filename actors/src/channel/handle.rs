//! What handles and owners share: the holder's [`Endpoint`] onto a channel actor, and the
//! type-erased [`ChannelControl`] an owner uses to revoke, inspect, drain and stop.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix::dev::ToEnvelope;
use actix::{Addr, Handler, Message, Recipient};

use crate::channel::access::ChannelAccess;
use crate::channel::actor::{ChannelActor, Drain, GetStats, GrantAccess, Kind, RevokeAccess, Stop};
use crate::channel::{
    BroadcastHandle, ChannelError, ChannelKind, ChannelStats, DrainOutcome, DrainReport,
    MailboxHandle, WorkQueueHandle,
};
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;

/// One holder's way into one channel: the actor's address and the holder's grant. Every
/// message sent through a endpoint carries the grant, so the channel knows who sent it.
pub(crate) struct Endpoint<K: Kind> {
    addr: Addr<ChannelActor<K>>,
    grant: Arc<ChannelAccess>,
}

impl<K: Kind> Clone for Endpoint<K> {
    fn clone(&self) -> Self {
        Endpoint {
            addr: self.addr.clone(),
            grant: Arc::clone(&self.grant),
        }
    }
}

impl<K: Kind> Endpoint<K> {
    pub(crate) fn grant(&self) -> &Arc<ChannelAccess> {
        &self.grant
    }

    pub(crate) fn addr(&self) -> &Addr<ChannelActor<K>> {
        &self.addr
    }

    /// The handle-side check, before anything is sent.
    pub(crate) fn check(&self, needed: Rights) -> Result<(), ChannelError> {
        self.grant.check(needed)
    }

    pub(crate) fn closed(&self) -> ChannelError {
        ChannelError::Closed {
            channel: self.grant.channel().clone(),
        }
    }

    /// Sends `msg` and waits for the channel's answer (and for room in its mailbox).
    pub(crate) async fn call<M, R>(&self, msg: M) -> Result<R, ChannelError>
    where
        M: Message<Result = Result<R, ChannelError>> + Send + 'static,
        R: Send + 'static,
        ChannelActor<K>: Handler<M>,
        <ChannelActor<K> as actix::Actor>::Context: ToEnvelope<ChannelActor<K>, M>,
    {
        self.addr
            .send(msg)
            .await
            .unwrap_or_else(|_| Err(self.closed()))
    }
}

impl<K: Kind> fmt::Debug for Endpoint<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("channel", self.grant.channel())
            .field("holder", self.grant.holder())
            .field("rights", &self.grant.rights())
            .finish()
    }
}

/// Asks `addr` to grant `holder` access, returning the holder's endpoint and what the kind
/// hands out with a grant.
pub(crate) async fn grant<K: Kind>(
    addr: &Addr<ChannelActor<K>>,
    channel: &ChannelId,
    holder: SystemId,
    rights: Rights,
) -> Result<(Endpoint<K>, K::GrantExtra), ChannelError> {
    let msg = GrantAccess {
        holder,
        rights,
        kind: std::marker::PhantomData,
    };
    let (grant, extra) = addr.send(msg).await.unwrap_or_else(|_| {
        Err(ChannelError::Closed {
            channel: channel.clone(),
        })
    })?;
    let endpoint = Endpoint {
        addr: addr.clone(),
        grant,
    };
    Ok((endpoint, extra))
}

/// Accessors every typed handle has.
macro_rules! handle_accessors {
    () => {
        pub(crate) fn grant(&self) -> &$crate::channel::access::ChannelAccess {
            self.endpoint.grant()
        }

        /// The system this handle speaks for; stamped as the sender of everything sent
        /// through it.
        pub fn holder(&self) -> &$crate::ids::SystemId {
            self.endpoint.grant().holder()
        }

        /// The channel this handle opens.
        pub fn channel(&self) -> &$crate::ids::ChannelId {
            self.endpoint.grant().channel()
        }

        /// The rights of the holder's grant, as the channel holds them now.
        pub fn rights(&self) -> $crate::rights::Rights {
            self.endpoint.grant().rights()
        }

        /// `false` once the holder's access has been revoked; a revoked handle never
        /// works again.
        pub fn is_live(&self) -> bool {
            self.endpoint.grant().is_live()
        }
    };
}
pub(crate) use handle_accessors;

/// The owner's controls of a channel, whatever its kind and payload type: revoke a
/// holder, read counters, drain, stop. Typed channel owners ([`Broadcast`],
/// [`WorkQueue`], [`Mailbox`]) dereference to it.
///
/// [`Broadcast`]: crate::channel::Broadcast
/// [`WorkQueue`]: crate::channel::WorkQueue
/// [`Mailbox`]: crate::channel::Mailbox
#[derive(Clone)]
pub struct ChannelControl {
    id: ChannelId,
    kind: ChannelKind,
    revoke: Recipient<RevokeAccess>,
    stats: Recipient<GetStats>,
    drain: Recipient<Drain>,
    stop: Recipient<Stop>,
}

impl ChannelControl {
    pub(crate) fn new<K: Kind>(id: ChannelId, addr: &Addr<ChannelActor<K>>) -> ChannelControl {
        ChannelControl {
            id,
            kind: K::KIND,
            revoke: addr.clone().recipient(),
            stats: addr.clone().recipient(),
            drain: addr.clone().recipient(),
            stop: addr.clone().recipient(),
        }
    }

    /// The channel's id.
    pub fn id(&self) -> &ChannelId {
        &self.id
    }

    /// The channel's kind.
    pub fn kind(&self) -> ChannelKind {
        self.kind
    }

    /// `true` while the channel's actor is alive.
    pub fn is_running(&self) -> bool {
        self.stats.connected()
    }

    /// Revokes `holder`'s access. From now on its handles fail with
    /// [`ChannelError::Revoked`]; its subscriptions end, its inbox is discarded and its
    /// claimed work items are redelivered. Answers whether the holder had access.
    pub async fn revoke(&self, holder: &SystemId) -> bool {
        self.revoke
            .send(RevokeAccess(holder.clone()))
            .await
            .unwrap_or(false)
    }

    /// A snapshot of the channel's counters.
    pub async fn stats(&self) -> Result<ChannelStats, ChannelError> {
        self.stats
            .send(GetStats)
            .await
            .map_err(|_| ChannelError::Closed {
                channel: self.id.clone(),
            })
    }

    /// Stops accepting new messages, delivers what the channel holds, and stops; or stops
    /// when `timeout` passes first. Resolves when the channel has stopped.
    pub async fn drain(&self, timeout: Duration) -> DrainReport {
        self.drain
            .send(Drain(timeout))
            .await
            .unwrap_or(ALREADY_STOPPED)
    }

    /// Stops at once. Consumers can still take what is in their buffers; a work queue
    /// dead-letters what it held.
    pub async fn stop(&self) -> DrainReport {
        self.stop.send(Stop).await.unwrap_or(ALREADY_STOPPED)
    }
}

const ALREADY_STOPPED: DrainReport = DrainReport {
    outcome: DrainOutcome::AlreadyStopped,
    undelivered: 0,
};

impl fmt::Debug for ChannelControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelControl")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("running", &self.is_running())
            .finish()
    }
}

/// A handle on a channel of any kind, for code that learns the kind at run time (a
/// kernel handing a system the channels it was granted, by id). Match it to use the
/// kind's operations.
#[derive(Debug)]
pub enum ChannelHandle<T: Send + Sync + 'static> {
    /// A broadcast channel.
    Broadcast(BroadcastHandle<T>),
    /// A work queue.
    WorkQueue(WorkQueueHandle<T>),
    /// A mailbox.
    Mailbox(MailboxHandle<T>),
}

impl<T: Send + Sync + 'static> ChannelHandle<T> {
    fn grant(&self) -> &ChannelAccess {
        match self {
            ChannelHandle::Broadcast(handle) => handle.grant(),
            ChannelHandle::WorkQueue(handle) => handle.grant(),
            ChannelHandle::Mailbox(handle) => handle.grant(),
        }
    }

    /// The channel's kind.
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelHandle::Broadcast(_) => ChannelKind::Broadcast,
            ChannelHandle::WorkQueue(_) => ChannelKind::WorkQueue,
            ChannelHandle::Mailbox(_) => ChannelKind::Mailbox,
        }
    }

    /// The system this handle speaks for.
    pub fn holder(&self) -> &SystemId {
        self.grant().holder()
    }

    /// The channel this handle opens.
    pub fn channel(&self) -> &ChannelId {
        self.grant().channel()
    }

    /// The rights of the holder's grant, as the channel holds them now.
    pub fn rights(&self) -> Rights {
        self.grant().rights()
    }

    /// `false` once the holder's access has been revoked.
    pub fn is_live(&self) -> bool {
        self.grant().is_live()
    }
}

impl<T: Send + Sync + 'static> Clone for ChannelHandle<T> {
    fn clone(&self) -> Self {
        match self {
            ChannelHandle::Broadcast(handle) => ChannelHandle::Broadcast(handle.clone()),
            ChannelHandle::WorkQueue(handle) => ChannelHandle::WorkQueue(handle.clone()),
            ChannelHandle::Mailbox(handle) => ChannelHandle::Mailbox(handle.clone()),
        }
    }
}

impl<T: Send + Sync + 'static> From<BroadcastHandle<T>> for ChannelHandle<T> {
    fn from(handle: BroadcastHandle<T>) -> Self {
        ChannelHandle::Broadcast(handle)
    }
}

impl<T: Send + Sync + 'static> From<WorkQueueHandle<T>> for ChannelHandle<T> {
    fn from(handle: WorkQueueHandle<T>) -> Self {
        ChannelHandle::WorkQueue(handle)
    }
}

impl<T: Send + Sync + 'static> From<MailboxHandle<T>> for ChannelHandle<T> {
    fn from(handle: MailboxHandle<T>) -> Self {
        ChannelHandle::Mailbox(handle)
    }
}
