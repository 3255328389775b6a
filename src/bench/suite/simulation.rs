//! A simulation tick: every agent hears the clock, updates its state and sends its
//! neighbour a share; an agent's step is done when its neighbour's share arrives.

use std::sync::{Arc, OnceLock};

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;

use super::raw::{Broadcaster, Carry, Cast, Halt};
use super::tally::Tally;
use super::Scale;
use crate::bench::{BenchError, Failure, Report, Runner, Workload};
use crate::channel::{Broadcast, BroadcastHandle, Inbound, Mailbox, SubscribeOptions};
use crate::kernel::{Dock, Kernel, KernelHandle, Visibility};
use crate::policy::RuleSet;
use crate::system::{System, SystemContext};
use crate::{ChannelId, Rights, SystemId};

pub(super) fn tick(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let agents = scale.pick(10_000, 10_000, 50);
    Box::pin(runner.compare(
        "simulation-tick",
        "agent",
        TickOnExokern { agents },
        TickOnActix { agents },
    ))
}

/// What flows in the simulation.
#[derive(Debug, Clone, Copy)]
enum Sim {
    /// The clock: take a step.
    Tick(u64),
    /// A neighbour's share of its state.
    Share(u64),
}

/// An agent's state and step, the same on both sides.
#[derive(Debug)]
struct Agent {
    state: u64,
}

impl Agent {
    fn new(index: usize) -> Agent {
        Agent {
            state: (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// Handles `msg`: on a tick, answers the share to send the neighbour; on a share,
    /// folds it in and the step is done.
    fn step(&mut self, msg: Sim, tally: &Tally) -> Option<Sim> {
        match msg {
            Sim::Tick(n) => {
                self.state = (self.state ^ n).rotate_left(13).wrapping_mul(31);
                Some(Sim::Share(self.state >> 1))
            }
            Sim::Share(share) => {
                self.state = self.state.wrapping_add(share);
                tally.add(1);
                None
            }
        }
    }
}

/// On exokern: agents docked into a kernel, subscribed to a clock broadcast, each with
/// an inbox on one mailbox channel.
struct TickOnExokern {
    agents: usize,
}

struct Docked {
    agent: Agent,
    neighbour: SystemId,
    mail: ChannelId,
    tally: Arc<Tally>,
}

impl System for Docked {
    type Message = Sim;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Sim>) {
        let Some(share) = self.agent.step(*msg.payload(), &self.tally) else {
            return;
        };
        match ctx.inbox(&self.mail) {
            Some(inbox) => {
                if let Err(error) = inbox.try_send(&self.neighbour, share) {
                    self.tally.fail(error);
                }
            }
            None => self.tally.fail("an agent has no inbox"),
        }
    }
}

impl Workload for TickOnExokern {
    type State = (KernelHandle, BroadcastHandle<Sim>, Arc<Tally>);

    fn work(&self) -> u64 {
        self.agents as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let kernel = Kernel::builder()
            .policy(RuleSet::allow_all())
            .start()
            .await?;
        let (clock_id, mail_id) = (ChannelId::new("clock")?, ChannelId::new("shares")?);
        let clock = Broadcast::<Sim>::builder(clock_id.clone())
            .max_subscribers(self.agents)
            .start()?;
        let driver = clock.grant(SystemId::new("driver")?, Rights::WRITE).await?;
        kernel.add_channel(clock, Visibility::Private).await?;
        let mail = Mailbox::<Sim>::builder(mail_id.clone())
            .inbox_capacity(16)
            .start()?;
        kernel.add_channel(mail, Visibility::Private).await?;
        let tally = Tally::new();
        let ids: Vec<SystemId> = (0..self.agents)
            .map(|i| SystemId::new(format!("agent-{i}")))
            .collect::<Result<_, _>>()?;
        for (index, id) in ids.iter().enumerate() {
            let neighbour = ids[(index + 1) % ids.len()].clone();
            let (mail, tally) = (mail_id.clone(), Arc::clone(&tally));
            let dock = Dock::new(id.clone(), move || Docked {
                agent: Agent::new(index),
                neighbour: neighbour.clone(),
                mail: mail.clone(),
                tally: Arc::clone(&tally),
            })
            .subscribe(clock_id.clone(), SubscribeOptions::default())
            .inbox(mail_id.clone());
            kernel.dock(dock).await?;
        }
        Ok((kernel, driver, tally))
    }

    async fn iteration(&mut self, (_, clock, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.work())?;
        clock.publish(Sim::Tick(start)).await?;
        tally.wait(start).await
    }

    async fn teardown(&mut self, (kernel, _, _): Self::State) {
        kernel.shutdown().await;
    }
}

type Agents = Arc<OnceLock<Box<[Recipient<Carry<Sim>>]>>>;

/// On raw actix: agent actors, a clock actor that `try_send`s the tick to each, and
/// shares sent to the neighbour's address.
struct TickOnActix {
    agents: usize,
}

struct RawAgent {
    agent: Agent,
    neighbour: usize,
    agents: Agents,
    tally: Arc<Tally>,
}

impl Actor for RawAgent {
    type Context = Context<Self>;
}

impl Handler<Carry<Sim>> for RawAgent {
    type Result = ();

    fn handle(&mut self, Carry(msg): Carry<Sim>, _: &mut Context<Self>) {
        let Some(share) = self.agent.step(msg, &self.tally) else {
            return;
        };
        let sent = match self.agents.get() {
            Some(agents) => agents[self.neighbour].try_send(Carry(share)),
            None => return self.tally.fail("the agents are set in setup"),
        };
        if let Err(error) = sent {
            self.tally.fail(error);
        }
    }
}

impl Handler<Halt> for RawAgent {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Workload for TickOnActix {
    type State = (
        Addr<Broadcaster<Carry<Sim>>>,
        Vec<Addr<RawAgent>>,
        Arc<Tally>,
    );

    fn work(&self) -> u64 {
        self.agents as u64
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let (agents, tally): (Agents, _) = (Arc::default(), Tally::new());
        let actors: Vec<Addr<RawAgent>> = (0..self.agents)
            .map(|index| {
                RawAgent {
                    agent: Agent::new(index),
                    neighbour: (index + 1) % self.agents,
                    agents: Arc::clone(&agents),
                    tally: Arc::clone(&tally),
                }
                .start()
            })
            .collect();
        let recipients: Vec<_> = actors.iter().map(|a| a.clone().recipient()).collect();
        let clock = Broadcaster(recipients.clone()).start();
        agents
            .set(recipients.into())
            .map_err(|_| "the agents were set twice")?;
        Ok((clock, actors, tally))
    }

    async fn iteration(&mut self, (clock, _, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.work())?;
        clock.send(Cast(Carry(Sim::Tick(start)))).await??;
        tally.wait(start).await
    }

    async fn teardown(&mut self, (clock, actors, _): Self::State) {
        drop(clock);
        // The agents hold each other's addresses: stop them explicitly.
        for actor in actors {
            let _ = actor.send(Halt).await;
        }
    }
}
