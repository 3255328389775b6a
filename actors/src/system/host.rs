//! [`SystemActor`]: the actix actor that hosts a [`System`].

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll, Waker};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::channel::{ClaimToken, Delivery, Settle};
use crate::ids::SystemId;
use crate::system::error::SpawnError;
use crate::system::link::{unseen_claims, Attached, AttachedId, LinkSpec, Verdict};
use crate::system::restart::{RestartPolicy, RestartWindow};
use crate::system::rng::AgentRng;
use crate::system::status::{Status, SystemState};
use crate::system::{Extension, System, Tick};

/// What builds a system's state: at start, and again after each panic.
pub(crate) type Factory<S> = Box<dyn FnMut() -> S + Send>;

/// The actix actor that hosts a [`System`]: it owns the system's state, its links to
/// the channels it consumes, its tick schedule and its restart budget.
///
/// Its control messages (ticks, pause, drain, stop) come through its actix mailbox;
/// what its channels hold does not. The channels' outlets wake the host's task directly,
/// and a future in the host's context hands the system what the notifying outlets hold, a
/// buffer's worth at a time, so a message costs no actix envelope of its own.
pub struct SystemActor<S: System> {
    pub(super) id: SystemId,
    // Boxed so that the host is `Unpin` (as actix requires) whatever `S` is.
    pub(super) system: Option<Box<S>>,
    factory: Factory<S>,
    /// The channels the system consumes, as given to the builder.
    pub(super) links: Vec<LinkSpec<S::Message>>,
    /// Each link's outlet once attached, by the link's index. Apart from the specs, which
    /// a poll never reads: a host with a few links finds these in one cache line.
    attached: Vec<Option<Attached<S::Message>>>,
    policy: RestartPolicy,
    window: RestartWindow,
    tick_every: Option<Duration>,
    status: Arc<Status>,
    ready: Option<oneshot::Sender<Result<(), SpawnError>>>,
    /// The link whose delivery is being handled, if any.
    delivering: Option<usize>,
    /// What whoever spawned the system gives its hooks (see [`SystemContext`]).
    ///
    /// [`SystemContext`]: crate::system::SystemContext
    pub(super) extension: Option<Arc<Extension>>,
    /// The waker of the host's task, as last handed to its links' outlets by [`Pump`].
    waker: Option<Waker>,
    /// A link was attached since the waker was last handed over.
    unwaked: bool,
    /// While paused, what arrives waits in the links' outlets, within their bounds.
    paused: bool,
    /// The generator `ctx.rng()` hands out, made on first use.
    pub(super) rng: Option<AgentRng>,
}

impl<S: System> fmt::Debug for SystemActor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemActor")
            .field("id", &self.id)
            .field("state", &self.status.state())
            .field("links", &self.links.len())
            .finish()
    }
}

/// Why a hook produced nothing.
#[derive(Debug)]
pub(super) enum HookFailed {
    /// The system had failed for good; there was nothing to run the hook on.
    NoSystem,
    /// The hook panicked with this message.
    Panicked(String),
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

impl<S: System> SystemActor<S> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: SystemId,
        factory: Factory<S>,
        links: Vec<LinkSpec<S::Message>>,
        policy: RestartPolicy,
        tick_every: Option<Duration>,
        status: Arc<Status>,
        ready: oneshot::Sender<Result<(), SpawnError>>,
        extension: Option<Arc<Extension>>,
    ) -> SystemActor<S> {
        SystemActor {
            id,
            system: None,
            factory,
            attached: links.iter().map(|_| None).collect(),
            links,
            policy,
            window: RestartWindow::default(),
            tick_every,
            status,
            ready: Some(ready),
            delivering: None,
            extension,
            waker: None,
            unwaked: false,
            paused: false,
            rng: None,
        }
    }

    /// A hook panicked: drop the instance, and restart from the factory if the policy
    /// allows, releasing the work the system had claimed.
    pub(super) fn panicked(&mut self, ctx: &mut Context<Self>, message: &str) {
        Status::bump(&self.status.panics, 1);
        self.system = None;
        if !self.window.try_restart(&self.policy, Instant::now()) {
            tracing::error!(system = %self.id, panic = %message, "system panicked past its restart policy; stopping it");
            self.fail(ctx);
            return;
        }
        tracing::warn!(system = %self.id, panic = %message, "system panicked; restarting it");
        Status::bump(&self.status.restarts, 1);
        self.reattach_workers(ctx);
        if self.instantiate(ctx) {
            let _ = self.run_hook(ctx, None, |system, sctx| system.started(sctx));
        }
    }

    /// Builds a fresh instance from the factory; a panicking factory fails the system.
    fn instantiate(&mut self, ctx: &mut Context<Self>) -> bool {
        match catch_unwind(AssertUnwindSafe(&mut self.factory)) {
            Ok(system) => {
                self.system = Some(Box::new(system));
                true
            }
            Err(payload) => {
                Status::bump(&self.status.panics, 1);
                tracing::error!(system = %self.id, panic = %panic_message(&*payload), "system factory panicked; stopping it");
                self.fail(ctx);
                false
            }
        }
    }

    fn fail(&mut self, ctx: &mut Context<Self>) {
        self.status.set_state(SystemState::Failed);
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(SpawnError::Failed {
                system: self.id.clone(),
            }));
        }
        ctx.stop();
    }

    /// Replaces every work-queue registration: the old one's items (and anything else
    /// the system claimed) go back to the queue, and its outlet is no longer looked at.
    /// Nothing else is handled until it is done.
    fn reattach_workers(&mut self, ctx: &mut Context<Self>) {
        for index in 0..self.links.len() {
            let link = &self.links[index];
            let Some(release) = link.release_claims() else {
                continue;
            };
            if let Some(old) = self.attached[index].take() {
                // The link being delivered is retired by its delivery handler, together
                // with the batch it was handling.
                if self.delivering != Some(index) {
                    link.detach(old);
                }
            }
            let spec = link.clone_spec();
            let reattach = async move {
                release.await;
                spec.attach().await
            };
            ctx.wait(reattach.into_actor(self).map(move |result, act, _| match result {
                Ok(attached) => act.attach_at(index, attached),
                Err(error) => {
                    tracing::error!(system = %act.id, %error, "re-registering as a worker after a restart failed")
                }
            }));
        }
    }

    fn schedule_tick(&self, ctx: &mut Context<Self>, every: Duration, at: Instant, n: u64) {
        let delay = at.saturating_duration_since(Instant::now());
        ctx.run_later(delay, move |act, ctx| {
            act.tick(ctx, Tick { n });
            let now = Instant::now();
            let mut next = at + every;
            let mut n = n + 1;
            if next <= now {
                let behind = (now - next).as_nanos() / every.as_nanos() + 1;
                let behind = u32::try_from(behind).unwrap_or(u32::MAX);
                next += every * behind;
                n += u64::from(behind);
            }
            act.schedule_tick(ctx, every, next, n);
        });
    }

    fn tick(&mut self, ctx: &mut Context<Self>, tick: Tick) {
        if self.paused {
            return;
        }
        if self
            .run_hook(ctx, None, |system, sctx| system.on_tick(sctx, tick))
            .is_ok()
        {
            Status::bump(&self.status.ticks, 1);
        }
    }

    /// Stores link `index`'s outlet once attached; the next poll hands it the waker.
    fn attach_at(&mut self, index: usize, attached: Attached<S::Message>) {
        self.attached[index] = Some(attached);
        self.unwaked = true;
    }

    /// Gives the attached outlets the task's waker if a link was attached since the
    /// last poll or the task changed. Otherwise a poll reads no link at all: among
    /// thousands of hosts each line it reads is a cache miss.
    fn hand_over_waker(&mut self, waker: &Waker) {
        let changed = !self
            .waker
            .as_ref()
            .is_some_and(|kept| kept.will_wake(waker));
        if !changed && !self.unwaked {
            return;
        }
        if changed {
            self.waker = Some(waker.clone());
        }
        for attached in self.attached.iter().flatten() {
            attached.outlet.wake_host_with(waker);
        }
        self.unwaked = false;
    }

    /// Hands the system what waits in every link whose outlet has notified it, one delivery
    /// (at most a buffer's worth) per link; an outlet with more rings again.
    fn drain_rung(&mut self, ctx: &mut Context<Self>) {
        for index in 0..self.links.len() {
            if self.paused || self.system.is_none() || !ctx.state().alive() {
                return;
            }
            if ctx.waiting() {
                // A restart is re-registering the system's workers, and nothing is
                // handled before it is done. The notices stay set, and the context
                // polls the pump again once it is.
                return;
            }
            let Some(attached) = &self.attached[index] else {
                continue;
            };
            if attached.outlet.is_notified() {
                let delivery = attached.outlet.delivery();
                self.consume(ctx, index, delivery);
            }
        }
    }

    /// Hands the system the items of one delivery from link `index`, settles the work
    /// items among them, and reports lag and the end of the stream.
    fn consume(
        &mut self,
        ctx: &mut Context<Self>,
        index: usize,
        mut delivery: Delivery<S::Message>,
    ) {
        let worker = match self.attached[index].as_ref().map(|a| a.id) {
            Some(AttachedId::Worker(id)) => Some(id),
            _ => None,
        };
        let mut settled: Vec<(ClaimToken, Settle)> = Vec::new();
        let mut retire = false;
        self.delivering = Some(index);
        while self.system.is_some() && ctx.state().alive() {
            let Some(msg) = delivery.next() else { break };
            let token = msg.claim_token();
            let mut verdict = Verdict::Ack;
            let outcome = self.run_hook(ctx, token.map(|t| (t, &mut verdict)), |system, sctx| {
                system.on_message(sctx, msg)
            });
            Status::bump(&self.status.handled, 1);
            let Some(token) = token else { continue };
            match outcome {
                Ok(()) => match verdict {
                    Verdict::Ack => settled.push((token, Settle::Ack)),
                    Verdict::Nack(reason) => settled.push((token, Settle::Nack(reason))),
                    Verdict::Keep => {}
                },
                // The item that made the system panic costs one attempt. Its worker
                // registration is being replaced: what it still held, the system never
                // saw, so that goes back without counting an attempt.
                Err(failure) => {
                    let reason = match failure {
                        HookFailed::Panicked(message) => format!("the system panicked: {message}"),
                        HookFailed::NoSystem => "the system had stopped".to_owned(),
                    };
                    settled.push((token, Settle::Nack(Some(reason))));
                    settled.extend(unseen_claims(delivery.take_rest()));
                    retire = true;
                    break;
                }
            }
        }
        self.delivering = None;
        // Only work items are settled: the link's spec, a line no other message reads,
        // is looked at only then.
        if !settled.is_empty() || retire {
            if let LinkSpec::Work(handle, _) = &self.links[index] {
                handle.settle_now(settled, worker.filter(|_| retire));
            }
        }
        if delivery.lagged() > 0 {
            Status::bump(&self.status.lagged, delivery.lagged());
            let (channel, missed) = (delivery.channel().clone(), delivery.lagged());
            let _ = self.run_hook(ctx, None, |system, sctx| {
                system.on_lagged(sctx, &channel, missed)
            });
        }
        if let Some(reason) = delivery.closed() {
            self.attached[index] = None;
            let channel = delivery.channel().clone();
            let _ = self.run_hook(ctx, None, |system, sctx| {
                system.on_closed(sctx, &channel, reason)
            });
        }
    }
}

/// The future inside a host's context that its outlets wake: it hands each outlet the
/// task's waker (once, and again should the task change), then the system what the notifying
/// outlets hold. It runs for the host's life.
struct Pump;

impl<S: System> ActorFuture<SystemActor<S>> for Pump {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut SystemActor<S>,
        ctx: &mut Context<SystemActor<S>>,
        task: &mut task::Context<'_>,
    ) -> Poll<()> {
        act.hand_over_waker(task.waker());
        act.drain_rung(ctx);
        Poll::Pending
    }
}

impl<S: System> Actor for SystemActor<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.instantiate(ctx) {
            return;
        }
        let specs: Vec<LinkSpec<S::Message>> =
            self.links.iter().map(LinkSpec::clone_spec).collect();
        let attach_all = async move {
            let mut attached = Vec::with_capacity(specs.len());
            for spec in specs {
                attached.push(spec.attach().await);
            }
            attached
        };
        // `wait`: no delivery is handled before every link is attached and `started` ran.
        ctx.wait(attach_all.into_actor(self).map(|results, act, ctx| {
            for (index, result) in results.into_iter().enumerate() {
                match result {
                    Ok(attached) => act.attach_at(index, attached),
                    Err(error) => {
                        if let Some(ready) = act.ready.take() {
                            let _ = ready.send(Err(SpawnError::Link(error)));
                        }
                        act.status.set_state(SystemState::Failed);
                        ctx.stop();
                        return;
                    }
                }
            }
            let _ = act.run_hook(ctx, None, |system, sctx| system.started(sctx));
            if act.system.is_none() {
                return;
            }
            ctx.spawn(Pump);
            if let Some(every) = act.tick_every {
                act.schedule_tick(ctx, every, Instant::now() + every, 0);
            }
            act.status.set_state(SystemState::Running);
            if let Some(ready) = act.ready.take() {
                let _ = ready.send(Ok(()));
            }
        }));
    }

    fn stopping(&mut self, ctx: &mut Context<Self>) -> Running {
        if self.status.state() != SystemState::Failed {
            let _ = self.run_hook(ctx, None, |system, sctx| system.stopping(sctx));
        }
        Running::Stop
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if self.status.state() != SystemState::Failed {
            self.status.set_state(SystemState::Stopped);
        }
        for (link, attached) in self.links.iter().zip(&mut self.attached) {
            if let Some(attached) = attached.take() {
                link.detach(attached);
            }
            if let Some(release) = link.release_claims() {
                actix::spawn(release);
            }
        }
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(SpawnError::Failed {
                system: self.id.clone(),
            }));
        }
    }
}

impl<S: System> Handler<Tick> for SystemActor<S> {
    type Result = ();

    fn handle(&mut self, tick: Tick, ctx: &mut Context<Self>) {
        self.tick(ctx, tick);
    }
}

/// Stops a system for good.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct StopSystem;

impl<S: System> Handler<StopSystem> for SystemActor<S> {
    type Result = ();

    fn handle(&mut self, _: StopSystem, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Pauses (`true`) or resumes (`false`) a system: while paused it is handed no messages
/// and no ticks; what arrives waits, within each channel's bounds, and is delivered on
/// resume.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct SetPaused(pub(crate) bool);

impl<S: System> Handler<SetPaused> for SystemActor<S> {
    type Result = ();

    fn handle(&mut self, SetPaused(pause): SetPaused, ctx: &mut Context<Self>) {
        self.paused = pause;
        if !pause {
            self.drain_rung(ctx);
        }
    }
}

/// Drains a system: it handles what its links have notified it of (also while paused), then
/// stops; stopping detaches its links, which hands the work it has not seen back to its
/// queues uncounted.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct DrainSystem;

impl<S: System> Handler<DrainSystem> for SystemActor<S> {
    type Result = ();

    fn handle(&mut self, _: DrainSystem, ctx: &mut Context<Self>) {
        self.paused = false;
        self.drain_rung(ctx);
        ctx.stop();
    }
}
