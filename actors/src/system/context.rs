//! [`SystemContext`]: what a hook can do besides changing its own state.

use std::fmt;
use std::future::Future;
use std::time::SystemTime;

use actix::{Addr, AsyncContext, Context};

use crate::channel::{ChannelError, ClaimToken, Inbound, MailboxHandle};
use crate::envelope::Outgoing;
use crate::ids::{ChannelId, Seq, SystemId};
use crate::kernel::{Docking, Granted, KernelClient, Ports};
use crate::simulation::Round;
use crate::system::host::SystemActor;
use crate::system::link::LinkSpec;
use crate::system::rng::AgentRng;
use crate::system::System;

/// What becomes of the work item a hook is handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ack,
    Nack(Option<String>),
    Keep,
}

/// Passed to every [`System`] hook: the system's identity, replies to requests, the fate
/// of the work item being handled, its generator and clock, and what its host offers:
/// the actix context of a [`SystemActor`], or the [`Round`] of a simulation agent.
pub struct SystemContext<'a, S: System> {
    id: &'a SystemId,
    links: &'a [LinkSpec<S::Message>],
    host: Host<'a, S>,
    work: Option<(ClaimToken, &'a mut Verdict)>,
    stop: &'a mut bool,
}

/// Who runs the hook.
pub(crate) enum Host<'a, S: System> {
    /// A system actor, with its docking (if docked) and its generator, made on first use.
    Actor {
        actx: &'a mut Context<SystemActor<S>>,
        docking: Option<&'a Docking>,
        rng: &'a mut Option<AgentRng>,
    },
    /// An agent of a simulation, in its round.
    Agent(Round<'a, S::Message>),
}

impl<'a, S: System> SystemContext<'a, S> {
    pub(crate) fn new(
        id: &'a SystemId,
        links: &'a [LinkSpec<S::Message>],
        host: Host<'a, S>,
        work: Option<(ClaimToken, &'a mut Verdict)>,
        stop: &'a mut bool,
    ) -> Self {
        SystemContext {
            id,
            links,
            host,
            work,
            stop,
        }
    }

    fn docking(&self) -> Option<&Docking> {
        match &self.host {
            Host::Actor { docking, .. } => *docking,
            Host::Agent(round) => Some(round.docking()),
        }
    }

    /// This system's id.
    pub fn id(&self) -> &SystemId {
        self.id
    }

    /// The kernel client of a docked system: request capabilities, authorize and execute
    /// actions, and (if privileged) govern. `None` for a system spawned outside a kernel.
    pub fn kernel(&self) -> Option<&KernelClient> {
        self.docking().map(Docking::client)
    }

    /// The channel handles a docked system was granted beyond those it consumes (e.g.
    /// channels it publishes to). `None` for a system spawned outside a kernel.
    pub fn ports(&self) -> Option<&Ports> {
        self.docking().map(Docking::ports)
    }

    /// The capabilities a docked system was given as it docked (see
    /// [`Dock::executes`](crate::kernel::Dock::executes)); they are held by this system.
    /// Empty for a system spawned outside a kernel.
    pub fn capabilities(&self) -> &[Granted] {
        self.docking().map_or(&[], Docking::capabilities)
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
    ///
    /// In a simulation the round does not end before `work` has finished.
    pub fn spawn(&mut self, work: impl Future<Output = ()> + 'static) {
        match &mut self.host {
            Host::Actor { actx, .. } => {
                actx.spawn(actix::fut::wrap_future(work));
            }
            Host::Agent(round) => round.spawn(work),
        }
    }

    /// This system's random number generator: seeded from the simulation's seed and the
    /// system's id in a simulation, from the id alone (seed 0) elsewhere.
    pub fn rng(&mut self) -> &mut AgentRng {
        let id = self.id;
        match &mut self.host {
            Host::Actor { rng, .. } => rng.get_or_insert_with(|| AgentRng::for_system(0, id)),
            Host::Agent(round) => round.rng(),
        }
    }

    /// The time now: the wall clock, or in a simulation its virtual clock (the round's
    /// number times the duration of a round, after the simulation's epoch).
    pub fn now(&self) -> SystemTime {
        match &self.host {
            Host::Actor { .. } => SystemTime::now(),
            Host::Agent(round) => round.now(),
        }
    }

    /// The round this hook runs in, when the system is an agent of a simulation: its
    /// number, the other agents, and sends to them. `None` for a system actor.
    pub fn simulation(&mut self) -> Option<&mut Round<'a, S::Message>> {
        match &mut self.host {
            Host::Actor { .. } => None,
            Host::Agent(round) => Some(round),
        }
    }

    /// The host actor's address; `None` for a simulation agent, which has no actor of
    /// its own.
    pub fn address(&self) -> Option<Addr<SystemActor<S>>> {
        match &self.host {
            Host::Actor { actx, .. } => Some(actx.address()),
            Host::Agent(_) => None,
        }
    }

    /// The host's actix context: spawn futures, run timers, and anything else actix
    /// offers an actor. `None` for a simulation agent, which shares its host with
    /// thousands of others.
    pub fn actix(&mut self) -> Option<&mut Context<SystemActor<S>>> {
        match &mut self.host {
            Host::Actor { actx, .. } => Some(actx),
            Host::Agent(_) => None,
        }
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
