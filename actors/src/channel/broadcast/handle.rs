//! [`BroadcastHandle`]: a holder's way to publish, read and subscribe.

use std::fmt;
use std::sync::Arc;

use actix::prelude::*;

use crate::channel::access::ChannelAccess;
use crate::channel::handle::{handle_accessors, Endpoint};
use crate::channel::outlet::{Outlet, Wake};
use crate::channel::Inbound;
use crate::channel::{ChannelError, Delivery, RecvError};
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, Seq};
use crate::rights::Rights;

use super::state::{BroadcastState, Publish, Read, Subscribe, Unsubscribe};
use super::subscription::{SubscribeOptions, SubscriptionId};

/// A holder's handle on a broadcast channel. Cheap to clone; every message published
/// through it carries the holder as its sender.
pub struct BroadcastHandle<T: Send + Sync + 'static> {
    pub(super) endpoint: Endpoint<BroadcastState<T>>,
}

impl<T: Send + Sync + 'static> Clone for BroadcastHandle<T> {
    fn clone(&self) -> Self {
        BroadcastHandle {
            endpoint: self.endpoint.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for BroadcastHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

impl<T: Send + Sync + 'static> BroadcastHandle<T> {
    handle_accessors!();

    /// Publishes a message to every subscriber (needs WRITE). Never waits on
    /// subscribers; waits only if the channel's own mailbox is full. Answers the seq the
    /// message was given.
    pub async fn publish(&self, msg: impl Into<Outgoing<T>>) -> Result<Seq, ChannelError> {
        self.endpoint.check(Rights::WRITE)?;
        self.endpoint
            .call(Publish {
                grant: Arc::clone(self.endpoint.grant()),
                msg: msg.into(),
            })
            .await
    }

    /// Reads up to `limit` retained messages with seq greater than `after` (needs READ).
    /// If some were evicted, fails with [`ChannelError::Lagged`], saying how many and
    /// where the retained history starts.
    pub async fn read(
        &self,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Arc<Envelope<T>>>, ChannelError> {
        self.endpoint.check(Rights::READ)?;
        self.endpoint
            .call(Read {
                grant: Arc::clone(self.endpoint.grant()),
                after,
                limit,
                payload: std::marker::PhantomData,
            })
            .await
    }

    /// Subscribes for pull delivery (needs READ): take messages with
    /// [`Subscription::recv`]. Dropping the subscription ends it.
    pub async fn subscribe(
        &self,
        options: SubscribeOptions,
    ) -> Result<Subscription<T>, ChannelError> {
        let (id, outlet) = self.attach(Wake::Task, options).await?;
        Ok(Subscription {
            id,
            outlet,
            grant: Arc::clone(self.endpoint.grant()),
        })
    }

    /// Subscribes an actor for push delivery (needs READ): it receives a [`Delivery`]
    /// whenever messages are waiting for it. Ends with [`unsubscribe`](Self::unsubscribe),
    /// when the actor stops, or when the holder is revoked.
    pub async fn subscribe_actor(
        &self,
        actor: Recipient<Delivery<T>>,
        options: SubscribeOptions,
    ) -> Result<SubscriptionId, ChannelError> {
        Ok(self.attach(Wake::Actor(actor), options).await?.0)
    }

    pub(crate) async fn attach(
        &self,
        wake: Wake<T>,
        options: SubscribeOptions,
    ) -> Result<(SubscriptionId, Arc<Outlet<T>>), ChannelError> {
        self.endpoint.check(Rights::READ)?;
        self.endpoint
            .call(Subscribe {
                grant: Arc::clone(self.endpoint.grant()),
                wake,
                options,
            })
            .await
    }

    /// Ends one of this holder's subscriptions; answers whether it existed.
    pub async fn unsubscribe(&self, id: SubscriptionId) -> Result<bool, ChannelError> {
        self.endpoint.check(Rights::NONE)?;
        self.endpoint
            .call(Unsubscribe {
                grant: Arc::clone(self.endpoint.grant()),
                id,
            })
            .await
    }
}

/// A pull subscription to a broadcast channel. Dropping it unsubscribes.
pub struct Subscription<T: Send + Sync + 'static> {
    pub(super) id: SubscriptionId,
    pub(super) outlet: Arc<Outlet<T>>,
    pub(super) grant: Arc<ChannelAccess>,
}

impl<T: Send + Sync + 'static> Subscription<T> {
    /// This subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// The channel subscribed to.
    pub fn channel(&self) -> &ChannelId {
        self.outlet.channel()
    }

    /// Waits for the next message. After a [`RecvError::Lagged`] the next call continues
    /// with the oldest message still buffered; after [`RecvError::Closed`] nothing more
    /// comes.
    pub async fn recv(&mut self) -> Result<Arc<Envelope<T>>, RecvError> {
        self.grant.check(Rights::READ)?;
        self.outlet.recv().await.map(Inbound::into_envelope)
    }

    /// Takes the next message if one is buffered.
    pub fn try_recv(&mut self) -> Result<Option<Arc<Envelope<T>>>, RecvError> {
        self.grant.check(Rights::READ)?;
        Ok(self.outlet.try_recv()?.map(Inbound::into_envelope))
    }

    /// How many messages are buffered.
    pub fn len(&self) -> usize {
        self.outlet.len()
    }

    /// `true` if nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Send + Sync + 'static> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.outlet.detach();
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("outlet", &self.outlet)
            .finish()
    }
}
