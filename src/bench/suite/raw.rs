//! Pieces the raw-actix baselines share.

use actix::prelude::*;

/// A message between raw actors, carrying a workload's payload.
#[derive(Debug, Clone)]
pub(crate) struct Carry<M>(pub(crate) M);

impl<M: 'static> Message for Carry<M> {
    type Result = ();
}

/// Stops a raw actor (whose peers hold its address, so it would not stop by itself).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Halt;

/// A raw broadcaster: `try_send`s a copy of each [`Cast`] to every recipient.
pub(crate) struct Broadcaster<M: Message + Send>(pub(crate) Vec<Recipient<M>>)
where
    M::Result: Send;

impl<M: Message + Send + 'static> Actor for Broadcaster<M>
where
    M::Result: Send,
{
    type Context = Context<Self>;
}

/// Sends `M` to every recipient of a [`Broadcaster`]; fails at the first full mailbox.
pub(crate) struct Cast<M>(pub(crate) M);

impl<M: 'static> Message for Cast<M> {
    type Result = Result<(), String>;
}

impl<M: Message + Send + Clone + 'static> Handler<Cast<M>> for Broadcaster<M>
where
    M::Result: Send,
{
    type Result = Result<(), String>;

    fn handle(&mut self, Cast(msg): Cast<M>, _: &mut Context<Self>) -> Self::Result {
        for recipient in &self.0 {
            recipient
                .try_send(msg.clone())
                .map_err(|e| format!("a recipient's mailbox refused: {e}"))?;
        }
        Ok(())
    }
}

/// The raw agents of a round-based workload who know each other's addresses, and the
/// clock that starts each round.
pub(crate) struct Crowd<A: Actor<Context = Context<A>>, M: Send + Clone + 'static> {
    clock: Addr<Broadcaster<Carry<M>>>,
    actors: Vec<Addr<A>>,
}

/// The agents' addresses, shared by them, set once they all exist.
pub(crate) type Peers<M> = std::sync::Arc<std::sync::OnceLock<Box<[Recipient<Carry<M>>]>>>;

impl<A, M> Crowd<A, M>
where
    A: Actor<Context = Context<A>> + Handler<Carry<M>> + Handler<Halt>,
    M: Send + Clone + 'static,
{
    /// Gives `actors` each other's addresses (through `peers`) and a clock.
    pub(crate) fn gather(actors: Vec<Addr<A>>, peers: &Peers<M>) -> Result<Self, &'static str> {
        let recipients: Vec<_> = actors.iter().map(|a| a.clone().recipient()).collect();
        let clock = Broadcaster(recipients.clone()).start();
        peers
            .set(recipients.into())
            .map_err(|_| "the agents were set twice")?;
        Ok(Crowd { clock, actors })
    }

    /// Starts a round: `msg` to every agent.
    pub(crate) async fn round(&self, msg: M) -> Result<(), crate::bench::Failure> {
        self.clock.send(Cast(Carry(msg))).await??;
        Ok(())
    }

    /// Stops every agent: they hold each other's addresses, so none stops by itself.
    pub(crate) async fn halt(self) {
        drop(self.clock);
        for actor in self.actors {
            let _ = actor.send(Halt).await;
        }
    }
}
