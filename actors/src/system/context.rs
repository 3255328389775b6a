//! [`SystemContext`]: what a hook can do besides changing its own state.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::time::SystemTime;

use actix::{ActorContext, Addr, AsyncContext, Context};

use crate::channel::{ChannelError, ClaimToken, Inbound, MailboxHandle};
use crate::envelope::Outgoing;
use crate::ids::{ChannelId, Seq, SystemId};
use crate::system::host::{panic_message, HookFailed, SystemActor};
use crate::system::link::{LinkSpec, Verdict};
use crate::system::rng::AgentRng;
use crate::system::{Extension, System};

/// Passed to every [`System`] hook: the system's identity, replies to requests, the fate
/// of the work item being handled, its generator and clock, and what its host offers:
/// the actix context of a [`SystemActor`], or the round of a simulation agent.
///
/// Whoever spawns a system may give its hooks more through the host's extension slot:
/// the kernel adds [`kernel`](SystemContext::kernel), [`ports`](SystemContext::ports) and
/// [`capabilities`](SystemContext::capabilities) for a docked system, and a simulation
/// adds [`simulation`](SystemContext::simulation) for its agents.
pub struct SystemContext<'a, S: System> {
    id: &'a SystemId,
    links: &'a [LinkSpec<S::Message>],
    host: Host<'a, S>,
    work: Option<(ClaimToken, &'a mut Verdict)>,
    stop: &'a mut bool,
}

/// A host that carries many systems at once (a simulation's cohort), as one hook sees it.
pub(crate) trait SharedHost: Any {
    /// Runs `work` beside the hooks, as [`SystemContext::spawn`] promises.
    fn spawn(&mut self, work: Pin<Box<dyn Future<Output = ()>>>);
    /// The system's generator.
    fn rng(&mut self) -> &mut AgentRng;
    /// The host's clock.
    fn now(&self) -> SystemTime;
    /// What the host's spawner gives this system, if anything.
    fn extension(&self) -> Option<&Extension>;
}

/// Who runs the hook.
pub(crate) enum Host<'a, S: System> {
    /// A system actor, with its extension (if any) and its generator, made on first use.
    Actor {
        actx: &'a mut Context<SystemActor<S>>,
        extension: Option<&'a Extension>,
        rng: &'a mut Option<AgentRng>,
    },
    /// A host shared with other systems.
    Shared(&'a mut dyn SharedHost),
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

    /// What the system's spawner put in the host's extension slot.
    pub(crate) fn extension(&self) -> Option<&Extension> {
        match &self.host {
            Host::Actor { extension, .. } => *extension,
            Host::Shared(host) => host.extension(),
        }
    }

    /// The shared host running this hook, if it is one.
    pub(crate) fn shared_host(&mut self) -> Option<&mut dyn SharedHost> {
        match &mut self.host {
            Host::Actor { .. } => None,
            Host::Shared(host) => Some(&mut **host),
        }
    }

    /// This system's id.
    pub fn id(&self) -> &SystemId {
        self.id
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
    /// A host shared with other systems may say more: a simulation's round does not end
    /// before `work` has finished.
    pub fn spawn(&mut self, work: impl Future<Output = ()> + 'static) {
        match &mut self.host {
            Host::Actor { actx, .. } => {
                actx.spawn(actix::fut::wrap_future(work));
            }
            Host::Shared(host) => host.spawn(Box::pin(work)),
        }
    }

    /// This system's random number generator: seeded from the simulation's seed and the
    /// system's id in a simulation, from the id alone (seed 0) elsewhere.
    pub fn rng(&mut self) -> &mut AgentRng {
        let id = self.id;
        match &mut self.host {
            Host::Actor { rng, .. } => rng.get_or_insert_with(|| AgentRng::for_system(0, id)),
            Host::Shared(host) => host.rng(),
        }
    }

    /// The time now: the wall clock, or in a simulation its virtual clock (the round's
    /// number times the duration of a round, after the simulation's epoch).
    pub fn now(&self) -> SystemTime {
        match &self.host {
            Host::Actor { .. } => SystemTime::now(),
            Host::Shared(host) => host.now(),
        }
    }

    /// The host actor's address; `None` for a simulation agent, which has no actor of
    /// its own.
    pub fn address(&self) -> Option<Addr<SystemActor<S>>> {
        match &self.host {
            Host::Actor { actx, .. } => Some(actx.address()),
            Host::Shared(_) => None,
        }
    }

    /// The host's actix context: spawn futures, run timers, and anything else actix
    /// offers an actor. `None` for a simulation agent, which shares its host with
    /// thousands of others.
    pub fn actix(&mut self) -> Option<&mut Context<SystemActor<S>>> {
        match &mut self.host {
            Host::Actor { actx, .. } => Some(actx),
            Host::Shared(_) => None,
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

// Running a hook is where the host meets the context; it is here so that the host
// need not know how a context is made.
impl<S: System> SystemActor<S> {
    /// Runs a hook, catching a panic. If the hook panicked, the system has been
    /// restarted or stopped by the time this returns.
    pub(super) fn run_hook<R>(
        &mut self,
        ctx: &mut Context<Self>,
        work: Option<(ClaimToken, &mut Verdict)>,
        hook: impl FnOnce(&mut S, &mut SystemContext<'_, S>) -> R,
    ) -> Result<R, HookFailed> {
        let system = self.system.as_mut().ok_or(HookFailed::NoSystem)?;
        let mut stop = false;
        let result = {
            let host = Host::Actor {
                actx: ctx,
                extension: self.extension.as_deref(),
                rng: &mut self.rng,
            };
            let mut sctx = SystemContext::new(&self.id, &self.links, host, work, &mut stop);
            catch_unwind(AssertUnwindSafe(|| hook(system, &mut sctx)))
        };
        if stop {
            ctx.stop();
        }
        match result {
            Ok(value) => Ok(value),
            Err(payload) => {
                let message = panic_message(&*payload);
                self.panicked(ctx, &message);
                Err(HookFailed::Panicked(message))
            }
        }
    }
}
