//! [`ActorOptions`]: where and how a channel's actor runs, the part of every channel
//! builder that is not about the channel's kind.

use actix::prelude::*;

use crate::channel::actor::{ChannelActor, Core, Kind};
use crate::channel::handle::ChannelControl;
use crate::channel::StartError;
use crate::ids::SystemId;
use crate::placement::Placement;

/// Where and how a channel's actor runs: the part of every channel builder that is not
/// about the channel's kind.
#[derive(Debug)]
pub(crate) struct ActorOptions {
    pub(crate) mailbox: usize,
    pub(crate) placement: Placement,
    pub(crate) owner: Option<SystemId>,
}

impl Default for ActorOptions {
    fn default() -> ActorOptions {
        ActorOptions {
            mailbox: 1024,
            placement: Placement::Current,
            owner: None,
        }
    }
}

impl ActorOptions {
    /// Starts the channel's actor; answers its address and the owner's controls.
    pub(crate) fn start<K: Kind + Send>(
        self,
        core: Core,
        kind: K,
    ) -> Result<(Addr<ChannelActor<K>>, ChannelControl), StartError> {
        if self.mailbox == 0 {
            return Err(StartError::invalid(
                &core.id,
                "mailbox_capacity must be at least 1",
            ));
        }
        let id = core.id.clone();
        let mailbox = self.mailbox;
        let addr = self.placement.start(self.owner.as_ref(), move |ctx| {
            ctx.set_mailbox_capacity(mailbox);
            ChannelActor::new(core, kind)
        })?;
        let control = ChannelControl::new(id, &addr);
        Ok((addr, control))
    }
}

/// The builder methods for [`ActorOptions`], shared by every channel builder.
macro_rules! actor_options {
    () => {
        /// How many requests may wait in the channel actor's mailbox before senders wait
        /// (default 1,024).
        pub fn mailbox_capacity(mut self, requests: usize) -> Self {
            self.actor.mailbox = requests;
            self
        }

        /// Where the channel's actor runs (default: the caller's arbiter).
        pub fn placement(mut self, placement: $crate::placement::Placement) -> Self {
            self.actor.placement = placement;
            self
        }

        /// The system that owns the channel; on an arbiter pool the channel runs beside
        /// it.
        pub fn owner(mut self, owner: $crate::ids::SystemId) -> Self {
            self.actor.owner = Some(owner);
            self
        }
    };
}
pub(crate) use actor_options;
