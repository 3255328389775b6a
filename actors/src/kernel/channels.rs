//! The kernel's channel registry entries: channels of any payload type, behind one
//! object-safe trait.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::ports::{describe, Port, Visibility};
use crate::channel::{Broadcast, ChannelControl, ChannelError, Mailbox, WorkQueue};
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;

/// What a type-erased grant returns.
pub(super) type GrantFuture = Pin<Box<dyn Future<Output = Result<Port, ChannelError>>>>;

/// A channel of any kind and payload type (unnameable outside the crate).
pub trait ErasedChannel: Send + Sync + 'static {
    fn control(&self) -> &ChannelControl;
    /// E.g. "broadcast of alloc::string::String".
    fn describes(&self) -> String;
    /// The typed owner object (`Broadcast<T>`, …), for typed docking.
    fn as_any(&self) -> &dyn Any;
    /// Grants `holder` these rights and returns the typed handle, erased.
    fn grant(&self, holder: SystemId, rights: Rights) -> GrantFuture;
}

macro_rules! erased {
    ($channel:ident, $kind:literal) => {
        impl<T: Send + Sync + 'static> ErasedChannel for $channel<T> {
            fn control(&self) -> &ChannelControl {
                self
            }

            fn describes(&self) -> String {
                describe($kind, std::any::type_name::<T>())
            }

            fn as_any(&self) -> &dyn Any {
                self
            }

            fn grant(&self, holder: SystemId, rights: Rights) -> GrantFuture {
                let channel = self.clone();
                let describes = self.describes();
                Box::pin(async move {
                    let handle = channel.grant(holder, rights).await?;
                    Ok(Port {
                        handle: Box::new(handle),
                        describes,
                    })
                })
            }
        }

        impl<T: Send + Sync + 'static> sealed::Sealed for $channel<T> {
            fn erase(self) -> Arc<dyn ErasedChannel> {
                Arc::new(self)
            }
        }

        impl<T: Send + Sync + 'static> KernelChannel for $channel<T> {}
    };
}

erased!(Broadcast, "broadcast");
erased!(WorkQueue, "work queue");
erased!(Mailbox, "mailbox");

mod sealed {
    pub trait Sealed {
        fn erase(self) -> std::sync::Arc<dyn super::ErasedChannel>;
    }
}

/// A started channel the kernel can register: a [`Broadcast`], [`WorkQueue`] or
/// [`Mailbox`] of any payload type.
pub trait KernelChannel: sealed::Sealed + Send + 'static {}

/// A channel in the kernel's registry.
#[derive(Clone)]
pub(crate) struct ChannelEntry {
    pub(crate) channel: Arc<dyn ErasedChannel>,
    pub(crate) owner: Option<SystemId>,
    pub(crate) visibility: Visibility,
}

impl ChannelEntry {
    pub(crate) fn new(
        channel: impl KernelChannel,
        owner: Option<SystemId>,
        visibility: Visibility,
    ) -> ChannelEntry {
        ChannelEntry {
            channel: channel.erase(),
            owner,
            visibility,
        }
    }

    pub(crate) fn id(&self) -> &ChannelId {
        self.channel.control().id()
    }

    /// The typed owner object, if the channel is a `C`.
    pub(crate) fn typed<C: 'static>(&self) -> Option<&C> {
        self.channel.as_any().downcast_ref::<C>()
    }
}

impl std::fmt::Debug for ChannelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelEntry")
            .field("id", self.id())
            .field("describes", &self.channel.describes())
            .field("owner", &self.owner)
            .field("visibility", &self.visibility)
            .finish()
    }
}
