//! [`SystemContext`]: what a hook can do besides changing its own state.

use std::fmt;
use std::future::Future;

use actix::{Addr, AsyncContext, Context};

use crate::channel::{ChannelError, ClaimToken, Inbound, MailboxHandle};
use crate::envelope::Outgoing;
use crate::ids::{ChannelId, Seq, SystemId};
use crate::kernel::{Docking, Granted, KernelClient, Ports};
use crate::system::host::SystemActor;
use crate::system::link::LinkSpec;
use crate::system::System;

/// What becomes of the work item a hook is handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ack,
    Nack(Option<String>),
    Keep,
}

/// Passed to every [`System`] hook: the system's identity, replies to requests, the fate
/// of the work item being handled, and the underlying actix context.
pub struct SystemContext<'a, S: System> {
    id: &'a SystemId,
    links: &'a [LinkSpec<S::Message>],
    docking: Option<&'a Docking>,
    actx: &'a mut Context<SystemActor<S>>,
    work: Option<(ClaimToken, &'a mut Verdict)>,
    stop: &'a mut bool,
}

impl<'a, S: System> SystemContext<'a, S> {
    pub(crate) fn new(
        id: &'a SystemId,
        links: &'a [LinkSpec<S::Message>],
        docking: Option<&'a Docking>,
        actx: &'a mut Context<SystemActor<S>>,
        work: Option<(ClaimToken, &'a mut Verdict)>,
        stop: &'a mut bool,
    ) -> Self {
        SystemContext {
            id,
            links,
            docking,
            actx,
            work,
            stop,
        }
    }

    /// This system's id.
    pub fn id(&self) -> &SystemId {
        self.id
    }

    /// The kernel client of a docked system: request capabilities, authorize and execute
    /// actions, and (if privileged) govern. `None` for a system spawned outside a kernel.
    pub fn kernel(&self) -> Option<&KernelClient> {
        self.docking.map(Docking::client)
    }

    /// The channel handles a docked system was granted beyond those it consumes (e.g.
    /// channels it publishes to). `None` for a system spawned outside a kernel.
    pub fn ports(&self) -> Option<&Ports> {
        self.docking.map(Docking::ports)
    }

    /// The capabilities a docked system was given as it docked (see
    /// [`Dock::executes`](crate::kernel::Dock::executes)); they are held by this system.
    /// Empty for a system spawned outside a kernel.
    pub fn capabilities(&self) -> &[Granted] {
        self.docking.map_or(&[], Docking::capabilities)
    }

    /// Replies to a request that arrived in this system's inbox. The reply is stamped with
    /// this system as its sender and goes straight to the waiting requester.
    pub fn reply(
        &mut self,
        request: &mut Inbound<S::Message>,
        msg: impl Into<Outgoing<S::Message>>,
    ) -> Result<Seq, ChannelError> {
        match self.inbox(request.channel()) {
            Some(handle) => handle.reply(request, msg),
            None => Err(ChannelError::NotARequest {
                channel: request.channel().clone(),
                seq: request.seq(),
            }),
        }
    }

    /// This system's handle on mailbox `channel`, where it has its inbox; `None` if it
    /// has no inbox there. The handle's WRITE right (which came with the inbox) sends
    /// to the other inboxes of the channel, with `try_send` straight from a hook.
    pub fn inbox(&self, channel: &ChannelId) -> Option<&MailboxHandle<S::Message>> {
        self.links.iter().find_map(|link| match link {
            LinkSpec::Inbox(handle) if handle.channel() == channel => Some(handle),
            _ => None,
        })
    }

    /// Returns the work item being handled to its queue instead of acking it, with an
    /// optional reason. Answers `false` (and does nothing) if `msg` is not that item.
    pub fn nack(&mut self, msg: &Inbound<S::Message>, reason: Option<&str>) -> bool {
        self.set_verdict(msg, Verdict::Nack(reason.map(str::to_owned)))
    }

    /// Leaves the work item being handled unsettled: the system will ack or nack it later
    /// with its [`ClaimToken`] through its own queue handle, before its lease runs out.
    /// Answers `false` (and does nothing) if `msg` is not that item.
    pub fn keep(&mut self, msg: &Inbound<S::Message>) -> bool {
        self.set_verdict(msg, Verdict::Keep)
    }

    fn set_verdict(&mut self, msg: &Inbound<S::Message>, verdict: Verdict) -> bool {
        match &mut self.work {
            Some((token, slot)) if msg.claim_token() == Some(*token) => {
                **slot = verdict;
                true
            }
            _ => false,
        }
    }

    /// Stops the system for good once the current hook returns.
    pub fn stop(&mut self) {
        *self.stop = true;
    }

    /// Runs `work` on the system's arbiter, alongside its hooks, for as long as the system
    /// lives (it is dropped if the system stops; it survives restarts). For asynchronous
    /// work that needs no access to the system's state, such as sending on a channel.
    pub fn spawn(&mut self, work: impl Future<Output = ()> + 'static) {
        self.actx.spawn(actix::fut::wrap_future(work));
    }

    /// The host actor's address.
    pub fn address(&self) -> Addr<SystemActor<S>> {
        self.actx.address()
    }

    /// The host's actix context: spawn futures, run timers, and anything else actix
    /// offers an actor.
    pub fn actix(&mut self) -> &mut Context<SystemActor<S>> {
        self.actx
    }
}

impl<S: System> fmt::Debug for SystemContext<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemContext")
            .field("id", self.id)
            .field("work", &self.work.as_ref().map(|(token, _)| token))
            .finish()
    }
}
