//! The Savina micro-benchmarks (Imam & Sarkar, AGERE! 2014) as [`Behaviour`]s, each
//! run on exokern systems and on raw actix actors, plus fork-join creation.

use std::hint::black_box;
use std::sync::Arc;

use actix::prelude::*;

use super::network::{Behaviour, Net};
use super::tally::Tally;
use crate::bench::{Failure, Workload};
use crate::system::{System, SystemActor, SystemContext, Tick};
use crate::SystemId;

/// Ping-pong: two actors pass a count back and forth, `pings` round trips.
pub(crate) struct PingPong {
    me: usize,
}

impl Behaviour for PingPong {
    type Msg = u64;

    fn receive(&mut self, &n: &u64, out: &mut Vec<(usize, u64)>) -> u64 {
        match self.me {
            1 => out.push((0, n)),
            _ if n > 1 => out.push((1, n - 1)),
            _ => {}
        }
        1
    }
}

/// `pings` round trips: 2 × `pings` messages.
pub(crate) fn ping_pong(pings: u64) -> Net<PingPong> {
    Net {
        nodes: 2,
        make: Arc::new(|me| PingPong { me }),
        kicks: Arc::new(move || vec![(1, pings)]),
        work: 2 * pings,
        capacity: 16,
    }
}

/// Thread ring: a token passed around a ring of actors until it has made `passes`
/// hops.
pub(crate) struct ThreadRing {
    me: usize,
    ring: usize,
}

impl Behaviour for ThreadRing {
    type Msg = u64;

    fn receive(&mut self, &token: &u64, out: &mut Vec<(usize, u64)>) -> u64 {
        if token > 1 {
            out.push(((self.me + 1) % self.ring, token - 1));
        }
        1
    }
}

/// `actors` in a ring, `passes` messages.
pub(crate) fn thread_ring(actors: usize, passes: u64) -> Net<ThreadRing> {
    Net {
        nodes: actors,
        make: Arc::new(move |me| ThreadRing { me, ring: actors }),
        kicks: Arc::new(move || vec![(0, passes)]),
        work: passes,
        capacity: 16,
    }
}

/// Counting: one actor counts the messages a producer sends it.
pub(crate) struct Counter {
    count: u64,
}

impl Behaviour for Counter {
    type Msg = u64;

    fn receive(&mut self, &n: &u64, _: &mut Vec<(usize, u64)>) -> u64 {
        self.count = self.count.wrapping_add(black_box(n));
        1
    }
}

/// `messages` sent to one counter, all before it handles the first (its inbox holds
/// them all, as Savina's unbounded mailbox would).
pub(crate) fn counting(messages: u64) -> Net<Counter> {
    Net {
        nodes: 1,
        make: Arc::new(|_| Counter { count: 0 }),
        kicks: Arc::new(move || (0..messages).map(|n| (0, n)).collect()),
        work: messages,
        capacity: capacity(messages),
    }
}

/// Fork-join throughput: a sender sends each of `actors` workers `messages` messages,
/// round-robin; each worker does a little arithmetic per message.
pub(crate) struct ForkJoinWorker;

impl Behaviour for ForkJoinWorker {
    type Msg = u64;

    fn receive(&mut self, &n: &u64, _: &mut Vec<(usize, u64)>) -> u64 {
        let theta = black_box(n as f64 * 37.2);
        black_box(theta.sin() * theta.sin() + theta.cos() * theta.cos());
        1
    }
}

/// `actors` workers, `messages` each.
pub(crate) fn fork_join_throughput(actors: usize, messages: u64) -> Net<ForkJoinWorker> {
    Net {
        nodes: actors,
        make: Arc::new(|_| ForkJoinWorker),
        kicks: Arc::new(move || {
            (0..messages)
                .flat_map(|n| (0..actors).map(move |a| (a, n)))
                .collect()
        }),
        work: actors as u64 * messages,
        capacity: capacity(messages),
    }
}

/// An inbox capacity for `messages` queued at once.
fn capacity(messages: u64) -> usize {
    usize::try_from(messages).unwrap_or(usize::MAX).max(16)
}

/// What Big's actors send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BigMsg {
    /// Start sending pings.
    Go,
    /// A ping from the actor with this index; answer it with a pong.
    Ping(u32),
    /// The answer to this actor's last ping.
    Pong,
}

/// Big: every actor pings random others, one ping at a time, `pings` times each.
pub(crate) struct Big {
    me: usize,
    actors: usize,
    pings: u64,
    left: u64,
    rng: u64,
}

impl Big {
    fn ping(&mut self, out: &mut Vec<(usize, BigMsg)>) {
        if self.left == 0 {
            return;
        }
        self.left -= 1;
        let others = (self.actors - 1) as u64;
        let pick = (xorshift(&mut self.rng) % others) as usize;
        let to = if pick >= self.me { pick + 1 } else { pick };
        out.push((to, BigMsg::Ping(self.me as u32)));
    }
}

impl Behaviour for Big {
    type Msg = BigMsg;

    fn receive(&mut self, msg: &BigMsg, out: &mut Vec<(usize, BigMsg)>) -> u64 {
        match *msg {
            BigMsg::Go => {
                self.left = self.pings;
                self.ping(out);
            }
            BigMsg::Ping(from) => out.push((from as usize, BigMsg::Pong)),
            BigMsg::Pong => self.ping(out),
        }
        1
    }
}

/// xorshift64*: small, fast, and the same sequence on both sides of a comparison.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// `actors` actors (at least two), `pings` pings each: each ping and pong is a message.
pub(crate) fn big(actors: usize, pings: u64) -> Net<Big> {
    let actors = actors.max(2);
    Net {
        nodes: actors,
        make: Arc::new(move |me| Big {
            me,
            actors,
            pings,
            left: 0,
            rng: (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }),
        kicks: Arc::new(move || (0..actors).map(|a| (a, BigMsg::Go)).collect()),
        work: actors as u64 * (2 * pings + 1),
        capacity: actors + 16,
    }
}

/// What chameneos and their mall send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cham {
    /// To the mall: arrange this iteration's meetings.
    Open,
    /// To a chameneo: go to the mall.
    Start,
    /// To the mall: chameneo `from`, of `colour`, wants to meet.
    Meet { from: u32, colour: u8 },
    /// To a waiting chameneo: meet `with`, of `colour`.
    Pair { with: u32, colour: u8 },
    /// To a chameneo: you met, and your new colour is this.
    Change(u8),
}

/// The colour two chameneos of colours `a` and `b` both take when they meet.
fn complement(a: u8, b: u8) -> u8 {
    if a == b {
        a
    } else {
        3 - a - b
    }
}

/// Chameneos: creatures meet pairwise at a mall (actor 0), which arranges `meetings`
/// meetings; after each meeting both go back to the mall.
pub(crate) enum Chameneos {
    Mall {
        meetings: u64,
        left: u64,
        waiting: Option<(u32, u8)>,
    },
    Creature {
        me: u32,
        colour: u8,
    },
}

impl Behaviour for Chameneos {
    type Msg = Cham;

    fn receive(&mut self, msg: &Cham, out: &mut Vec<(usize, Cham)>) -> u64 {
        match (self, *msg) {
            (Chameneos::Mall { meetings, left, .. }, Cham::Open) => *left = *meetings,
            // Once the meetings are over, creatures that come back stay parked.
            (Chameneos::Mall { left, waiting, .. }, Cham::Meet { from, colour }) if *left > 0 => {
                match waiting.take() {
                    Some((first, _)) => {
                        *left -= 1;
                        out.push((first as usize, Cham::Pair { with: from, colour }));
                    }
                    None => *waiting = Some((from, colour)),
                }
            }
            (Chameneos::Creature { me, colour }, Cham::Start) => out.push((
                0,
                Cham::Meet {
                    from: *me,
                    colour: *colour,
                },
            )),
            (
                Chameneos::Creature { me, colour },
                Cham::Pair {
                    with,
                    colour: theirs,
                },
            ) => {
                *colour = complement(*colour, theirs);
                out.push((with as usize, Cham::Change(*colour)));
                out.push((
                    0,
                    Cham::Meet {
                        from: *me,
                        colour: *colour,
                    },
                ));
            }
            (Chameneos::Creature { me, colour }, Cham::Change(new)) => {
                *colour = new;
                out.push((
                    0,
                    Cham::Meet {
                        from: *me,
                        colour: *colour,
                    },
                ));
            }
            _ => {}
        }
        1
    }
}

/// `creatures` chameneos (at least two) and a mall arranging `meetings` meetings.
/// Every meeting is four messages (two requests, a pairing, a colour change); every
/// creature also gets a start and ends parked at the mall, and the mall an opening.
pub(crate) fn chameneos(creatures: usize, meetings: u64) -> Net<Chameneos> {
    let creatures = creatures.max(2);
    Net {
        nodes: creatures + 1,
        make: Arc::new(move |index| match index {
            0 => Chameneos::Mall {
                meetings,
                left: 0,
                waiting: None,
            },
            me => Chameneos::Creature {
                me: me as u32,
                colour: (me % 3) as u8,
            },
        }),
        kicks: Arc::new(move || {
            std::iter::once((0, Cham::Open))
                .chain((1..=creatures).map(|c| (c, Cham::Start)))
                .collect()
        }),
        work: 4 * meetings + 2 * creatures as u64 + 1,
        capacity: creatures + 16,
    }
}

// ------------------------------------------------------------ fork-join creation --

/// Fork-join creation: `actors` actors are created, each is sent one message, handles
/// it and stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForkJoinCreate {
    pub(crate) actors: u64,
}

/// An exokern system that counts its one tick and stops.
struct Ephemeral {
    tally: Arc<Tally>,
}

impl System for Ephemeral {
    type Message = ();

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
        self.tally.add(1);
        ctx.stop();
    }
}

/// On exokern: each system is spawned (which resolves once it runs) and ticked, all
/// `actors` at once.
#[derive(Debug)]
pub(crate) struct CreateOnExokern(pub(crate) ForkJoinCreate);

impl Workload for CreateOnExokern {
    type State = (SystemId, Arc<Tally>);

    fn work(&self) -> u64 {
        self.0.actors
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        Ok((SystemId::new("ephemeral")?, Tally::new()))
    }

    async fn iteration(&mut self, (id, tally): &mut Self::State) -> Result<u64, Failure> {
        let start = tally.expect(self.0.actors)?;
        let spawns = (0..self.0.actors).map(|_| {
            let tally = Arc::clone(tally);
            let builder = SystemActor::builder(id.clone(), move || Ephemeral {
                tally: Arc::clone(&tally),
            });
            async move {
                builder.spawn().await?.tick(0).await?;
                Ok::<(), Failure>(())
            }
        });
        futures_util::future::try_join_all(spawns).await?;
        tally.wait(start).await
    }

    async fn teardown(&mut self, _: Self::State) {}
}

/// A raw actor that counts its one message and stops.
struct RawEphemeral {
    tally: Arc<Tally>,
}

impl Actor for RawEphemeral {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Once;

impl Handler<Once> for RawEphemeral {
    type Result = ();

    fn handle(&mut self, _: Once, ctx: &mut Context<Self>) {
        self.tally.add(1);
        ctx.stop();
    }
}

/// On raw actix: each actor is started and sent its message with `try_send`.
#[derive(Debug)]
pub(crate) struct CreateOnActix(pub(crate) ForkJoinCreate);

impl Workload for CreateOnActix {
    type State = Arc<Tally>;

    fn work(&self) -> u64 {
        self.0.actors
    }

    async fn setup(&mut self) -> Result<Arc<Tally>, Failure> {
        Ok(Tally::new())
    }

    async fn iteration(&mut self, tally: &mut Arc<Tally>) -> Result<u64, Failure> {
        let start = tally.expect(self.0.actors)?;
        for _ in 0..self.0.actors {
            let actor = RawEphemeral {
                tally: Arc::clone(tally),
            }
            .start();
            actor.try_send(Once)?;
        }
        tally.wait(start).await
    }

    async fn teardown(&mut self, _: Arc<Tally>) {}
}
