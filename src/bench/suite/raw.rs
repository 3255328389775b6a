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
