//! The broadcast channel: every subscriber gets every message, pushed; a retained
//! history lets late joiners read by seq.
//!
//! ```
//! use exokern_actors::channel::{Broadcast, SubscribeOptions};
//! use exokern_actors::{Rights, SystemId};
//!
//! # actix_rt::System::new().block_on(async {
//! let ticks = Broadcast::<u64>::builder("ticks".parse()?).retention(64).start()?;
//! let clock = ticks.grant(SystemId::new("clock")?, Rights::WRITE).await?;
//! let agent = ticks.grant(SystemId::new("agent")?, Rights::READ).await?;
//!
//! let mut sub = agent.subscribe(SubscribeOptions::default()).await?;
//! clock.publish(1).await?;
//! let msg = sub.recv().await?;
//! assert_eq!((*msg.payload(), msg.sender().as_str()), (1, "clock"));
//!
//! // A late joiner reads the retained history by seq.
//! let history = agent.read(exokern_actors::Seq::ZERO, 10).await?;
//! assert_eq!(history.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use actix::prelude::*;

use crate::channel::actor::{ChannelActor, Core};
use crate::channel::handle::{grant, ChannelControl};
use crate::channel::options::{actor_options, ActorOptions};
use crate::channel::outlet::Overflow;
use crate::channel::{ChannelError, StartError, MAX_BATCH};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::rights::Rights;
use crate::store::{OpenJournal, SharedStream, Store};
use serde::de::DeserializeOwned;
use serde::Serialize;

mod handle;
mod mirror;
mod remote;
mod state;
mod subscription;

pub use handle::{BroadcastHandle, Subscription};
pub use subscription::{StartAt, SubscribeOptions, SubscriptionId};

use remote::Remote;
use state::{BroadcastState, Subscribers};
/// Builds and starts a [`Broadcast`] channel.
#[must_use = "a builder does nothing until `start` is called"]
pub struct BroadcastBuilder<T> {
    id: ChannelId,
    retention: usize,
    buffer: usize,
    overflow: Overflow,
    max_subscribers: usize,
    journal: Option<OpenJournal<T>>,
    remote: Option<Remote<T>>,
    actor: ActorOptions,
}

impl<T> fmt::Debug for BroadcastBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastBuilder")
            .field("id", &self.id)
            .field("retention", &self.retention)
            .field("buffer", &self.buffer)
            .field("overflow", &self.overflow)
            .field("max_subscribers", &self.max_subscribers)
            .field("durable", &self.journal.is_some())
            .field("shared", &self.remote.as_ref().map(|r| &r.stream))
            .finish()
    }
}

impl<T: Send + Sync + 'static> BroadcastBuilder<T> {
    /// How many of the latest messages to keep for [`BroadcastHandle::read`] and late
    /// subscribers (default 1,024; 0 keeps none).
    pub fn retention(mut self, messages: usize) -> Self {
        self.retention = messages;
        self
    }

    /// The default subscriber buffer (default 1,024).
    pub fn subscriber_buffer(mut self, messages: usize) -> Self {
        self.buffer = messages;
        self
    }

    /// The most subscriptions the channel holds at once (default 65,536); further
    /// subscriptions fail with [`ChannelError::TooManyConsumers`].
    pub fn max_subscribers(mut self, subscriptions: usize) -> Self {
        self.max_subscribers = subscriptions;
        self
    }

    /// The default overflow policy for subscribers (default [`Overflow::DropOldest`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Keeps the channel in `store`: the retained history survives a crash of the
    /// process, seqs go on from the last one and are never reused, and
    /// [`BroadcastHandle::read`] works across restarts. A publish is answered once the
    /// commit that holds it is durable, and delivered only from then on.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        self.journal = Some(crate::store::opener(store));
        self
    }

    /// Shares the channel through a server: every kernel, in any process, whose channel
    /// is built on the same server stream publishes to it and sees what all of them
    /// publish, in the same order and with the same seqs (the server's, dense). The
    /// stream's retention is the channel's. The channel follows the stream once a holder
    /// here is granted READ (a kernel that only publishes leaves the stream alone), from
    /// the history it read at start. A publish is answered once the server kept it and,
    /// if the channel follows, once it has come back to this kernel's subscribers, so a
    /// read after it finds it.
    pub fn shared(mut self, stream: Arc<dyn SharedStream>) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        self.remote = Some(Remote::new(stream));
        self
    }

    actor_options!();

    /// Starts the channel's actor.
    pub fn start(mut self) -> Result<Broadcast<T>, StartError> {
        if self.buffer == 0 {
            return Err(StartError::invalid(
                &self.id,
                "subscriber_buffer must be at least 1",
            ));
        }
        if self.remote.is_some() && self.journal.is_some() {
            return Err(StartError::invalid(
                &self.id,
                "a broadcast is kept in a store or shared through a server, not both",
            ));
        }
        if let Some(remote) = &self.remote {
            self.retention = remote.stream.retention();
        }
        let core = Core::new(self.id.clone(), self.retention);
        let mut retained = VecDeque::with_capacity(self.retention.min(MAX_BATCH));
        let mut last_seq = Seq::ZERO;
        let journal = match self.journal {
            Some(open) => {
                let (journal, reopened) = open(&self.id).map_err(|error| StartError::Store {
                    channel: self.id.clone(),
                    error,
                })?;
                last_seq = reopened.last_seq;
                // Kept beyond the retention (it was lowered since): forget them.
                let beyond = reopened.kept.len().saturating_sub(self.retention);
                for (env, _) in &reopened.kept[..beyond] {
                    journal.remove(env.seq());
                }
                retained.extend(reopened.kept.into_iter().skip(beyond).map(|(env, _)| env));
                Some(journal)
            }
            None => None,
        };
        if let Some(remote) = &self.remote {
            for followed in remote.stream.history() {
                let envelope =
                    remote
                        .decode(&self.id, &followed)
                        .map_err(|error| StartError::Store {
                            channel: self.id.clone(),
                            error,
                        })?;
                last_seq = followed.seq;
                retained.push_back(envelope);
            }
        }
        let state = BroadcastState {
            retained,
            staged: VecDeque::new(),
            after_sync: Default::default(),
            journal,
            retention: self.retention,
            last_seq,
            subscribers: Subscribers::default(),
            next_subscription: 0,
            buffer: self.buffer,
            overflow: self.overflow,
            max_subscribers: self.max_subscribers,
            remote: self.remote,
        };
        let (addr, control) = self.actor.start(core, state)?;
        Ok(Broadcast { control, addr })
    }
}

/// A broadcast channel, as its owner sees it: grant handles, and (through
/// [`ChannelControl`]) revoke, inspect, drain and stop.
pub struct Broadcast<T: Send + Sync + 'static> {
    pub(super) control: ChannelControl,
    pub(super) addr: Addr<ChannelActor<BroadcastState<T>>>,
}

impl<T: Send + Sync + 'static> Broadcast<T> {
    /// A builder for a channel named `id`.
    pub fn builder(id: ChannelId) -> BroadcastBuilder<T> {
        BroadcastBuilder {
            id,
            retention: 1024,
            buffer: 1024,
            overflow: Overflow::DropOldest,
            max_subscribers: 65_536,
            actor: ActorOptions::default(),
            journal: None,
            remote: None,
        }
    }

    /// Grants `holder` these rights and returns its handle. A holder already granted
    /// keeps its grant with the new rights.
    pub async fn grant(
        &self,
        holder: SystemId,
        rights: Rights,
    ) -> Result<BroadcastHandle<T>, ChannelError> {
        let (endpoint, ()) = grant(&self.addr, self.id(), holder, rights).await?;
        Ok(BroadcastHandle { endpoint })
    }
}

impl<T: Send + Sync + 'static> Deref for Broadcast<T> {
    type Target = ChannelControl;
    fn deref(&self) -> &ChannelControl {
        &self.control
    }
}

impl<T: Send + Sync + 'static> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast {
            control: self.control.clone(),
            addr: self.addr.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Broadcast").field(&self.control).finish()
    }
}
