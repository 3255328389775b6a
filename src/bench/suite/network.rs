//! A network of actors running one [`Behaviour`], either as exokern systems talking
//! through a mailbox channel or as raw actix actors talking through their addresses:
//! the workload's logic is written once, and only the transport differs.

use std::sync::{Arc, OnceLock};

use actix::prelude::*;

use super::raw::{Carry, Halt};
use super::tally::Tally;
use crate::bench::{Failure, Workload};
use crate::channel::{Inbound, Mailbox, MailboxHandle};
use crate::placement::{ArbiterPool, Placement};
use crate::system::{System, SystemActor, SystemContext, SystemRef};
use crate::{ChannelId, IdError, Rights, SystemId};

/// What one actor of a network does with a message: its state and logic. It answers
/// the messages to send, as (index of the recipient, message), in `out`, and whether
/// the message completed a unit of work.
pub(crate) trait Behaviour: Send + Unpin + 'static {
    /// What the actors send each other.
    type Msg: Clone + Send + Sync + Unpin + 'static;

    /// Handles `msg`, pushing what to send to `out`; answers the units of work done.
    fn receive(&mut self, msg: &Self::Msg, out: &mut Vec<(usize, Self::Msg)>) -> u64;
}

/// A network's shape: how many actors, how each is made, what the driver sends to
/// start an iteration, and how much work an iteration does.
pub(crate) struct Net<B: Behaviour> {
    pub(crate) nodes: usize,
    pub(crate) make: Arc<dyn Fn(usize) -> B + Send + Sync>,
    pub(crate) kicks: Arc<dyn Fn() -> Vec<(usize, B::Msg)>>,
    pub(crate) work: u64,
    /// The most messages one actor's inbox may hold, on both sides.
    pub(crate) capacity: usize,
}

impl<B: Behaviour> Clone for Net<B> {
    fn clone(&self) -> Self {
        Net {
            nodes: self.nodes,
            make: Arc::clone(&self.make),
            kicks: Arc::clone(&self.kicks),
            work: self.work,
            capacity: self.capacity,
        }
    }
}

/// Where a network's actors run: all on the caller's arbiter, or spread over a pool of
/// this many arbiters (threads), the same way on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spread {
    Here,
    Pool(usize),
}

impl Spread {
    /// A pool for the actors, when they are spread.
    fn pool(self) -> Result<Option<ArbiterPool>, Failure> {
        match self {
            Spread::Here => Ok(None),
            Spread::Pool(arbiters) => Ok(Some(ArbiterPool::new(arbiters)?)),
        }
    }
}

/// The id of a network's `index`th actor, on both sides: a pool places by it.
fn node_id(index: usize) -> Result<SystemId, IdError> {
    SystemId::new(format!("node-{index}"))
}

impl<B: Behaviour> Net<B> {
    /// The network as exokern systems with inboxes on one mailbox channel.
    pub(crate) fn on_exokern(&self, spread: Spread) -> OnExokern<B> {
        OnExokern(self.clone(), spread)
    }

    /// The network as raw actix actors.
    pub(crate) fn on_actix(&self, spread: Spread) -> OnActix<B> {
        OnActix(self.clone(), spread)
    }

    /// Sends the iteration's kicks with `send` and waits until its work is done.
    async fn iterate(
        &self,
        tally: &Tally,
        mut send: impl FnMut(usize, B::Msg) -> Result<(), Failure>,
    ) -> Result<u64, Failure> {
        let start = tally.expect(self.work)?;
        for (to, msg) in (self.kicks)() {
            send(to, msg)?;
        }
        tally.wait(start).await
    }
}

/// Runs a behaviour and sends what it answers with `send`, counting its work.
fn step<B: Behaviour, E: ToString>(
    behaviour: &mut B,
    out: &mut Vec<(usize, B::Msg)>,
    tally: &Tally,
    msg: &B::Msg,
    mut send: impl FnMut(usize, B::Msg) -> Result<(), E>,
) {
    let done = behaviour.receive(msg, out);
    for (to, msg) in out.drain(..) {
        if let Err(error) = send(to, msg) {
            tally.fail(error);
        }
    }
    if done > 0 {
        tally.add(done);
    }
}

// ------------------------------------------------------------------------- exokern --

/// A behaviour hosted as an exokern system; it sends through its mailbox handle.
struct Node<B: Behaviour> {
    behaviour: B,
    peers: Arc<[SystemId]>,
    mail: MailboxHandle<B::Msg>,
    out: Vec<(usize, B::Msg)>,
    tally: Arc<Tally>,
}

impl<B: Behaviour> System for Node<B> {
    type Message = B::Msg;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<B::Msg>) {
        let (mail, peers) = (&self.mail, &self.peers);
        step(
            &mut self.behaviour,
            &mut self.out,
            &self.tally,
            msg.payload(),
            |to, msg| mail.try_send(&peers[to], msg).map(drop),
        );
    }
}

/// The network on exokern: one system per actor, each with an inbox on one mailbox
/// channel, sending with `try_send` (the inboxes are sized so that it never fails).
pub(crate) struct OnExokern<B: Behaviour>(Net<B>, Spread);

pub(crate) struct ExokernState<B: Behaviour> {
    mailbox: Mailbox<B::Msg>,
    driver: MailboxHandle<B::Msg>,
    peers: Arc<[SystemId]>,
    systems: Vec<SystemRef<Node<B>>>,
    tally: Arc<Tally>,
    pool: Option<ArbiterPool>,
}

impl<B: Behaviour> Workload for OnExokern<B> {
    type State = ExokernState<B>;

    fn work(&self) -> u64 {
        self.0.work
    }

    async fn setup(&mut self) -> Result<ExokernState<B>, Failure> {
        let net = &self.0;
        let mailbox = Mailbox::<B::Msg>::builder(ChannelId::new("bench.net")?)
            .inbox_capacity(net.capacity)
            .start()?;
        let driver = mailbox
            .grant(SystemId::new("driver")?, Rights::WRITE)
            .await?;
        let peers: Arc<[SystemId]> = (0..net.nodes).map(node_id).collect::<Result<_, _>>()?;
        let pool = self.1.pool()?;
        let placement = pool.clone().map_or(Placement::Current, Placement::Pool);
        let tally = Tally::new();
        let mut systems = Vec::with_capacity(net.nodes);
        for (index, id) in peers.iter().enumerate() {
            let mail = mailbox
                .grant(id.clone(), Rights::READ | Rights::WRITE)
                .await?;
            let (make, peers, tally, writer) = (
                Arc::clone(&net.make),
                Arc::clone(&peers),
                Arc::clone(&tally),
                mail.clone(),
            );
            let system = SystemActor::builder(id.clone(), move || Node {
                behaviour: make(index),
                peers: Arc::clone(&peers),
                mail: writer.clone(),
                out: Vec::new(),
                tally: Arc::clone(&tally),
            })
            .inbox(mail)
            .placement(placement.clone())
            .spawn()
            .await?;
            systems.push(system);
        }
        Ok(ExokernState {
            mailbox,
            driver,
            peers,
            systems,
            tally,
            pool,
        })
    }

    async fn iteration(&mut self, state: &mut ExokernState<B>) -> Result<u64, Failure> {
        let (driver, peers) = (&state.driver, &state.peers);
        self.0
            .iterate(&state.tally, |to, msg| {
                driver.try_send(&peers[to], msg)?;
                Ok(())
            })
            .await
    }

    async fn teardown(&mut self, state: ExokernState<B>) {
        for system in &state.systems {
            system.stop().await;
        }
        state.mailbox.stop().await;
        if let Some(pool) = state.pool {
            pool.shutdown();
        }
    }
}

// ----------------------------------------------------------------------- raw actix --

type Peers<M> = Arc<OnceLock<Box<[Recipient<Carry<M>>]>>>;

/// A behaviour hosted as a plain actix actor; it sends to its peers' addresses.
struct RawNode<B: Behaviour> {
    behaviour: B,
    peers: Peers<B::Msg>,
    out: Vec<(usize, B::Msg)>,
    tally: Arc<Tally>,
    capacity: usize,
}

impl<B: Behaviour> Actor for RawNode<B> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.capacity);
    }
}

impl<B: Behaviour> Handler<Carry<B::Msg>> for RawNode<B> {
    type Result = ();

    fn handle(&mut self, Carry(msg): Carry<B::Msg>, _: &mut Context<Self>) {
        let peers = self.peers.get().map_or(&[][..], |p| &p[..]);
        step(
            &mut self.behaviour,
            &mut self.out,
            &self.tally,
            &msg,
            |to, msg| peers[to].try_send(Carry(msg)),
        );
    }
}

/// The network on raw actix: one actor per node, sending with `try_send` to mailboxes
/// of the same capacity as exokern's inboxes.
pub(crate) struct OnActix<B: Behaviour>(Net<B>, Spread);

pub(crate) struct ActixState<B: Behaviour> {
    nodes: Vec<Addr<RawNode<B>>>,
    peers: Peers<B::Msg>,
    tally: Arc<Tally>,
    pool: Option<ArbiterPool>,
}

impl<B: Behaviour> Workload for OnActix<B> {
    type State = ActixState<B>;

    fn work(&self) -> u64 {
        self.0.work
    }

    async fn setup(&mut self) -> Result<ActixState<B>, Failure> {
        let net = &self.0;
        let (peers, tally): (Peers<B::Msg>, _) = (Arc::default(), Tally::new());
        let pool = self.1.pool()?;
        let mut nodes = Vec::with_capacity(net.nodes);
        for index in 0..net.nodes {
            let node = RawNode {
                behaviour: (net.make)(index),
                peers: Arc::clone(&peers),
                out: Vec::new(),
                tally: Arc::clone(&tally),
                capacity: net.capacity,
            };
            nodes.push(match &pool {
                Some(pool) => {
                    let arbiter = pool.arbiter_for(&node_id(index)?);
                    RawNode::start_in_arbiter(&arbiter, move |_| node)
                }
                None => node.start(),
            });
        }
        let recipients = nodes.iter().map(|n| n.clone().recipient()).collect();
        peers
            .set(recipients)
            .map_err(|_| "the peers were set twice")?;
        Ok(ActixState {
            nodes,
            peers,
            tally,
            pool,
        })
    }

    async fn iteration(&mut self, state: &mut ActixState<B>) -> Result<u64, Failure> {
        let peers = state.peers.get().ok_or("the peers are set in setup")?;
        self.0
            .iterate(&state.tally, |to, msg| {
                peers[to].try_send(Carry(msg))?;
                Ok(())
            })
            .await
    }

    async fn teardown(&mut self, state: ActixState<B>) {
        // The actors hold each other's addresses: stop them explicitly.
        for node in &state.nodes {
            let _ = node.send(Halt).await;
        }
        if let Some(pool) = state.pool {
            pool.shutdown();
        }
    }
}

impl<B: Behaviour> Handler<Halt> for RawNode<B> {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
