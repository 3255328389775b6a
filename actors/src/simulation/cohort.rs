//! [`Cohort`]: the actor that hosts a contiguous range of a simulation's agents on one
//! arbiter and runs their part of every round.
//!
//! An agent is a slot here, not an actor: a million agents need no million mailboxes, and
//! a round reaches them by one message per cohort instead of a broadcast subscription
//! each.

use std::cell::OnceCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use rustc_hash::FxHashMap;

use super::round::{Outbox, Round};
use super::world::{Counters, Posted, Presence, Wake, World};
use crate::channel::Inbound;
use crate::kernel::{Docking, LifecycleState};
use crate::system::{
    panic_message, AgentCommand, AgentControl, AgentRng, Host, System, SystemContext, Tick,
};

/// Makes agent `index`'s system; shared by the cohorts, run on each one's arbiter.
pub(crate) type AgentFactory<S> = Arc<dyn Fn(usize) -> S + Send + Sync>;

/// One agent as its cohort keeps it.
struct Slot<S> {
    system: Option<S>,
    rng: AgentRng,
    docking: OnceCell<Box<Docking>>,
    presence: Presence,
}

/// The sentinel of [`Cohort::in_hook`]: no agent's hook is running.
pub(crate) const NO_HOOK: u32 = u32::MAX;

/// Hosts agents `first..first + slots.len()` of a simulation.
pub(crate) struct Cohort<S: System> {
    index: usize,
    first: u32,
    slots: Vec<Slot<S>>,
    factory: AgentFactory<S>,
    world: Arc<World<S::Message>>,
    /// The round as an agent's hook sees it: the agent's own parts move in for the
    /// hook and back out after it.
    turn: Round<S::Message>,
    /// Messages for paused agents, in arrival order, by local index.
    held: FxHashMap<u32, Vec<Posted<S::Message>>>,
    /// Messages of resumed agents, delivered first in the next round.
    released: Vec<Posted<S::Message>>,
    /// The rank of the agent whose hook runs now, or [`NO_HOOK`]: read by the driver to
    /// name a hook that never returns.
    in_hook: Arc<AtomicU32>,
}

// Actix moves actors, never pins into them, so the agents' own types need not be `Unpin`.
impl<S: System> Unpin for Cohort<S> {}

impl<S: System> Actor for Cohort<S> {
    type Context = Context<Self>;

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        for local in 0..self.slots.len() {
            self.retire(local);
        }
        Running::Stop
    }
}

impl<S: System> Cohort<S> {
    pub(crate) fn new(
        index: usize,
        factory: AgentFactory<S>,
        world: Arc<World<S::Message>>,
        in_hook: Arc<AtomicU32>,
    ) -> Cohort<S> {
        let ranks = world.ranks(index);
        let slots = ranks
            .clone()
            .map(|rank| Slot {
                system: None,
                rng: AgentRng::for_system(world.seed, &world.ids[rank as usize]),
                docking: OnceCell::new(),
                presence: Presence::Running,
            })
            .collect();
        Cohort {
            index,
            first: ranks.start,
            slots,
            factory,
            turn: Round {
                number: 0,
                rank: 0,
                presence: Presence::Running,
                world: Arc::clone(&world),
                rng: AgentRng::for_system(0, &world.ids[0]),
                docking: OnceCell::new(),
                outbox: Outbox {
                    by_cohort: (0..world.cohorts()).map(|_| Vec::new()).collect(),
                    sent: 0,
                },
            },
            world,
            held: FxHashMap::default(),
            released: Vec::new(),
            in_hook,
        }
    }

    /// Runs one hook of agent `local`, catching a panic: a panicking agent is counted,
    /// rebuilt from its factory and started again, and the round goes on.
    fn call(&mut self, local: usize, hook: impl FnOnce(&mut S, &mut SystemContext<'_, S>)) {
        let rank = self.first + local as u32;
        let round = self.world.round();
        let slot = &mut self.slots[local];
        let Some(system) = slot.system.as_mut() else {
            return;
        };
        let mut stop = false;
        self.in_hook.store(rank, Ordering::Relaxed);
        let turn = &mut self.turn;
        turn.number = round;
        turn.rank = rank;
        turn.presence = slot.presence;
        std::mem::swap(&mut turn.rng, &mut slot.rng);
        std::mem::swap(&mut turn.docking, &mut slot.docking);
        let outcome = {
            let id = &self.world.ids[rank as usize];
            let mut ctx = SystemContext::new(id, &[], Host::Shared(turn), None, &mut stop);
            catch_unwind(AssertUnwindSafe(|| hook(system, &mut ctx)))
        };
        std::mem::swap(&mut turn.rng, &mut slot.rng);
        std::mem::swap(&mut turn.docking, &mut slot.docking);
        self.in_hook.store(NO_HOOK, Ordering::Relaxed);
        match outcome {
            Err(payload) => self.recover(local, &*payload),
            Ok(()) if stop => self.retire(local),
            Ok(()) => {}
        }
    }

    /// Agent `local`'s hook panicked: count it, rebuild the agent and start it again.
    fn recover(&mut self, local: usize, payload: &(dyn std::any::Any + Send)) {
        Counters::add(&self.world.counters.panics, 1);
        let id = &self.world.ids[self.first as usize + local];
        tracing::warn!(agent = %id, panic = %panic_message(payload), "agent panicked; rebuilding it from its factory");
        self.slots[local].system = None;
        let retiring = self.slots[local].presence == Presence::Stopped;
        if !retiring && self.instantiate(local).is_ok() {
            self.call(local, |system, ctx| system.started(ctx));
        }
    }

    /// Builds agent `local` from the factory; a panicking factory stops the agent.
    fn instantiate(&mut self, local: usize) -> Result<(), String> {
        let index = (self.first as usize) + local;
        match catch_unwind(AssertUnwindSafe(|| (self.factory)(index))) {
            Ok(system) => {
                self.slots[local].system = Some(system);
                Ok(())
            }
            Err(payload) => {
                let panic = panic_message(&*payload);
                let id = &self.world.ids[index];
                tracing::error!(agent = %id, panic = %panic, "agent factory panicked; stopping the agent");
                self.slots[local].presence = Presence::Stopped;
                self.world.line().members[index].set_state(LifecycleState::Stopped);
                Err(panic)
            }
        }
    }

    /// Stops agent `local` for good: its `stopping` hook runs, its messages are dropped.
    /// The kernel's record says it stopped, unless the kernel itself stopped it (a drain
    /// or an undock), which then sets the state it leads to.
    fn retire(&mut self, local: usize) {
        self.finish(local);
        let rank = self.first as usize + local;
        self.world.line().members[rank].set_state(LifecycleState::Stopped);
    }

    fn finish(&mut self, local: usize) {
        if self.slots[local].presence == Presence::Stopped {
            return;
        }
        self.slots[local].presence = Presence::Stopped;
        self.call(local, |system, ctx| system.stopping(ctx));
        self.slots[local].system = None;
        if let Some(held) = self.held.remove(&(local as u32)) {
            Counters::add(&self.world.counters.dropped, held.len() as u64);
        }
    }

    /// Delivers `batch` in its order; counts deliveries.
    fn deliver(&mut self, batch: Vec<Posted<S::Message>>) {
        let mut delivered = 0;
        let mut dropped = 0;
        for posted in batch {
            let local = (posted.to - self.first) as usize;
            match self.slots[local].presence {
                Presence::Running | Presence::Revoked => {
                    delivered += 1;
                    let msg = Inbound::message(self.world.envelope(posted));
                    self.call(local, |system, ctx| system.on_message(ctx, msg));
                }
                Presence::Paused => self.held.entry(local as u32).or_default().push(posted),
                Presence::Stopped => dropped += 1,
            }
        }
        Counters::add(&self.world.counters.deliveries, delivered);
        Counters::add(&self.world.counters.dropped, dropped);
    }

    /// The mail posted for this cohort for rounds of `parity`, in canonical order.
    fn collect(&mut self, parity: usize) -> Vec<Posted<S::Message>> {
        let mut batch = Vec::new();
        for source in 0..self.world.cohorts() {
            let mut mail = self.world.mail(parity, self.index, source);
            if batch.is_empty() {
                std::mem::swap(&mut batch, &mut *mail);
            } else {
                batch.append(&mut mail);
            }
        }
        // Hook sends arrive in order already (each cohort's pass runs in rank order, and
        // cohorts hold ascending ranges); only sends from futures can break it.
        if !batch.is_sorted_by_key(Posted::order) {
            batch.sort_by_key(Posted::order);
        }
        batch
    }

    /// Hands this pass's sends to the mail.
    fn flush(&mut self) {
        for (destination, batch) in self.turn.outbox.by_cohort.iter_mut().enumerate() {
            self.world.post(self.index, destination, batch);
        }
        Counters::add(
            &self.world.counters.sent,
            std::mem::take(&mut self.turn.outbox.sent),
        );
    }
}

/// Build the cohort's agents and start them.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), (usize, String)>")]
pub(crate) struct Populate;

impl<S: System> Handler<Populate> for Cohort<S> {
    type Result = Result<(), (usize, String)>;

    fn handle(&mut self, _: Populate, _: &mut Context<Self>) -> Self::Result {
        for local in 0..self.slots.len() {
            self.instantiate(local)
                .map_err(|panic| (self.first as usize + local, panic))?;
        }
        for local in 0..self.slots.len() {
            self.call(local, |system, ctx| system.started(ctx));
        }
        self.flush();
        Ok(())
    }
}

/// Run the cohort's part of a round: deliver its mail, then tick every running agent,
/// in rank order; answered when the pass is done (futures it spawned may still run).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct RunRound;

impl<S: System> Handler<RunRound> for Cohort<S> {
    type Result = ();

    fn handle(&mut self, _: RunRound, _: &mut Context<Self>) {
        let round = self.world.round();
        let released = std::mem::take(&mut self.released);
        self.deliver(released);
        let batch = self.collect((round % 2) as usize);
        self.deliver(batch);
        let tick = Tick::new(round);
        for local in 0..self.slots.len() {
            if matches!(
                self.slots[local].presence,
                Presence::Running | Presence::Revoked
            ) {
                self.call(local, |system, ctx| system.on_tick(ctx, tick));
            }
        }
        self.flush();
    }
}

impl<S: System> Handler<Wake> for Cohort<S> {
    type Result = ();

    fn handle(&mut self, Wake(busy): Wake, _: &mut Context<Self>) {
        let batch = self.collect((self.world.round() % 2) as usize);
        self.deliver(batch);
        self.flush();
        drop(busy);
    }
}

impl<S: System> Handler<AgentCommand> for Cohort<S> {
    type Result = ();

    fn handle(&mut self, command: AgentCommand, _: &mut Context<Self>) {
        let Some(local) = command.rank.checked_sub(self.first) else {
            return;
        };
        let index = local as usize;
        if index >= self.slots.len() {
            return;
        }
        match (command.command, self.slots[index].presence) {
            (AgentControl::Pause, Presence::Running) => {
                self.slots[index].presence = Presence::Paused;
            }
            (AgentControl::Resume, Presence::Paused | Presence::Revoked) => {
                self.slots[index].presence = Presence::Running;
                if let Some(held) = self.held.remove(&local) {
                    self.released.extend(held);
                }
            }
            (AgentControl::Revoke, Presence::Running | Presence::Paused) => {
                self.slots[index].presence = Presence::Revoked;
            }
            (AgentControl::Stop, _) => self.finish(index),
            _ => {}
        }
    }
}

/// A look at one agent's state, shared by the cohorts.
pub(crate) type Look<S, T> = Arc<dyn Fn(&crate::ids::SystemId, &S) -> T + Send + Sync>;

/// Look at every live agent's state, in rank order.
pub(crate) struct Inspect<S: System, T> {
    pub(crate) look: Look<S, T>,
}

impl<S: System, T: Send + 'static> Message for Inspect<S, T> {
    type Result = Vec<T>;
}

impl<S: System, T: Send + 'static> Handler<Inspect<S, T>> for Cohort<S> {
    type Result = MessageResult<Inspect<S, T>>;

    fn handle(&mut self, msg: Inspect<S, T>, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| slot.presence != Presence::Stopped)
                .filter_map(|(local, slot)| {
                    let id = &self.world.ids[self.first as usize + local];
                    slot.system.as_ref().map(|system| (msg.look)(id, system))
                })
                .collect(),
        )
    }
}

/// Stop the cohort: every live agent's `stopping` hook runs.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Halt;

impl<S: System> Handler<Halt> for Cohort<S> {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
