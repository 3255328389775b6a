//! Work a durable channel does once its journal's changes are on disk, gathered into
//! rounds with one sync and one future each.
//!
//! actix polls every future spawned in an actor's context each time the actor wakes,
//! so a future per waiting send made each wake cost as much as the sends in flight:
//! with two thousand producers the queue spent its time polling futures that were not
//! ready. A round instead holds the work of every change made before it first runs,
//! asks the journal for one sync then, and runs that work when the sync is done.

use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::channel::ChannelError;
use crate::ids::ChannelId;

use crate::store::{StoreError, Synced};

/// What to do once a sync is done, given its outcome.
pub(crate) type Then<A> = Box<dyn FnOnce(&mut A, &mut Context<A>, &Result<(), StoreError>) + Send>;

/// An actor whose journal can be synced, holding the round not yet asked to sync.
pub(crate) trait Journaled: Actor<Context = Context<Self>> {
    /// The round that takes work now.
    fn after_sync(&mut self) -> &mut AfterSync<Self>;

    /// A sync of everything written to the journal so far.
    fn sync(&self) -> Synced;
}

/// The work waiting for a round that has not asked for its sync yet.
pub(crate) struct AfterSync<A: Actor<Context = Context<A>>> {
    open: Vec<Then<A>>,
}

impl<A: Actor<Context = Context<A>>> Default for AfterSync<A> {
    fn default() -> AfterSync<A> {
        AfterSync { open: Vec::new() }
    }
}

/// Runs `then` once everything `act` wrote to its journal so far is durable, or has
/// failed to be. The work runs in the actor, in no promised order between rounds.
pub(crate) fn after_sync<A: Journaled>(
    act: &mut A,
    ctx: &mut Context<A>,
    then: impl FnOnce(&mut A, &mut Context<A>, &Result<(), StoreError>) + Send + 'static,
) {
    let round = act.after_sync();
    // The open list is not empty exactly while a round that has not run is spawned.
    let spawn = round.open.is_empty();
    round.open.push(Box::new(then));
    if spawn {
        ctx.spawn(Round(None));
    }
}

/// One round: `None` while it is spawned and still taking work; then its sync, which
/// covers the changes of all its work, and the work.
struct Round<A: Actor<Context = Context<A>>>(Option<(Synced, Vec<Then<A>>)>);

impl<A: Journaled> ActorFuture<A> for Round<A> {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut task::Context<'_>,
    ) -> Poll<()> {
        let (synced, work) = self
            .get_mut()
            .0
            .get_or_insert_with(|| (act.sync(), std::mem::take(&mut act.after_sync().open)));
        let outcome = std::task::ready!(Pin::new(synced).poll(task));
        for then in std::mem::take(work) {
            then(act, ctx, &outcome);
        }
        Poll::Ready(())
    }
}

/// Where work run after a sync sends a handler's answer.
pub(crate) type Answer<R> = oneshot::Sender<Result<R, ChannelError>>;

/// A handler's answer given later, by work run after a sync: the sender the work
/// answers on, and the response the handler returns. A caller whose answer is dropped
/// (the channel stopped first) is told the channel is closed.
pub(crate) fn answer_later<R: 'static>(
    channel: &ChannelId,
) -> (Answer<R>, Response<Result<R, ChannelError>>) {
    let (tx, rx) = oneshot::channel();
    let closed = ChannelError::Closed {
        channel: channel.clone(),
    };
    let response = Response::fut(async move { rx.await.unwrap_or(Err(closed)) });
    (tx, response)
}
