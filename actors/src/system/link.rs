//! Links: the channels a system consumes, and how its host attaches to and detaches
//! from them.

use std::sync::Arc;

use crate::channel::{
    BroadcastHandle, ChannelError, ClaimToken, MailboxHandle, Outlet, Settle, SubscribeOptions,
    SubscriptionId, Wake, WorkQueueHandle, WorkerId, WorkerOptions,
};
use crate::ids::{ChannelId, SystemId};

/// A channel the system consumes, as given to the builder.
pub(crate) enum LinkSpec<T: Send + Sync + 'static> {
    Subscribe(BroadcastHandle<T>, SubscribeOptions),
    Work(WorkQueueHandle<T>, WorkerOptions),
    Inbox(MailboxHandle<T>),
}

impl<T: Send + Sync + 'static> LinkSpec<T> {
    pub(crate) fn channel(&self) -> &ChannelId {
        match self {
            LinkSpec::Subscribe(handle, _) => handle.channel(),
            LinkSpec::Work(handle, _) => handle.channel(),
            LinkSpec::Inbox(handle) => handle.channel(),
        }
    }

    pub(crate) fn holder(&self) -> &SystemId {
        match self {
            LinkSpec::Subscribe(handle, _) => handle.holder(),
            LinkSpec::Work(handle, _) => handle.holder(),
            LinkSpec::Inbox(handle) => handle.holder(),
        }
    }

    pub(crate) fn clone_spec(&self) -> LinkSpec<T> {
        match self {
            LinkSpec::Subscribe(handle, options) => LinkSpec::Subscribe(handle.clone(), *options),
            LinkSpec::Work(handle, options) => LinkSpec::Work(handle.clone(), *options),
            LinkSpec::Inbox(handle) => LinkSpec::Inbox(handle.clone()),
        }
    }

    /// Starts push delivery to a system host, which hands the outlet its waker when it
    /// next polls.
    pub(crate) async fn attach(self) -> Result<Attached<T>, ChannelError> {
        let wake = Wake::Host(None);
        match self {
            LinkSpec::Subscribe(handle, options) => {
                let (id, outlet) = handle.attach(wake, options).await?;
                Ok(Attached::new(outlet, AttachedId::Subscription(id)))
            }
            LinkSpec::Work(handle, options) => {
                let (id, outlet) = handle.attach(wake, options).await?;
                Ok(Attached::new(outlet, AttachedId::Worker(id)))
            }
            LinkSpec::Inbox(handle) => {
                handle.set_inbox_wake(wake)?;
                let outlet = handle.inbox_outlet().cloned().ok_or_else(|| {
                    ChannelError::UnknownRecipient {
                        channel: handle.channel().clone(),
                        recipient: handle.holder().clone(),
                    }
                })?;
                Ok(Attached::new(outlet, AttachedId::Inbox))
            }
        }
    }

    /// Ends push delivery through `attached`. A worker registration is retired in the
    /// same step as the items still waiting in its buffer go back to the queue: the
    /// system never saw them, so they are not charged an attempt.
    pub(crate) fn detach(&self, attached: Attached<T>) {
        match (self, attached.id) {
            (LinkSpec::Subscribe(handle, _), AttachedId::Subscription(id)) => {
                let handle = handle.clone();
                actix::spawn(async move {
                    if let Err(error) = handle.unsubscribe(id).await {
                        tracing::debug!(%error, "unsubscribing a stopped system");
                    }
                });
            }
            (LinkSpec::Work(handle, _), AttachedId::Worker(id)) => {
                let unseen = unseen_claims(attached.outlet.take_all());
                handle.settle_now(unseen, Some(id));
            }
            (LinkSpec::Inbox(handle), AttachedId::Inbox) => {
                if let Err(error) = handle.unsubscribe_actor() {
                    tracing::debug!(%error, "unsubscribing a stopped system from its inbox");
                }
            }
            _ => {}
        }
    }

    /// Returns to the queue the items the holder claimed outside any registration (kept
    /// or pulled by the system itself); they were handed to it, so they count.
    pub(crate) fn release_claims(&self) -> Option<impl std::future::Future<Output = ()> + 'static> {
        let LinkSpec::Work(handle, _) = self else {
            return None;
        };
        let handle = handle.clone();
        Some(async move {
            if let Err(error) = handle.release_all().await {
                tracing::debug!(%error, "releasing a system's claims");
            }
        })
    }
}

/// Claims to hand back, uncounted, from work items a system never saw.
pub(crate) fn unseen_claims<T>(
    items: Vec<crate::channel::Inbound<T>>,
) -> Vec<(ClaimToken, Settle)> {
    items
        .iter()
        .filter_map(|item| item.claim_token())
        .map(|token| (token, Settle::Return))
        .collect()
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum AttachedId {
    Subscription(SubscriptionId),
    Worker(WorkerId),
    Inbox,
}

/// A link's outlet, once attached, and how the channel knows the registration.
pub(crate) struct Attached<T: Send + Sync + 'static> {
    pub(crate) outlet: Arc<Outlet<T>>,
    pub(crate) id: AttachedId,
}

impl<T: Send + Sync + 'static> Attached<T> {
    fn new(outlet: Arc<Outlet<T>>, id: AttachedId) -> Attached<T> {
        Attached { outlet, id }
    }
}

/// What becomes of the work item a hook is handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ack,
    Nack(Option<String>),
    Keep,
}
