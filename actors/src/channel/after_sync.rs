//! Work a durable channel does once its journal's changes are on disk, gathered into
//! rounds with one sync each, driven by one future per channel.
//!
//! actix polls every future spawned in an actor's context each time the actor wakes,
//! so a future per waiting send made each wake cost as much as the sends in flight:
//! with two thousand producers the queue spent its time polling futures that were not
//! ready. Instead, the work of every change made between two polls of the driver is
//! one round with one sync. The driver waits on the oldest round only: a store commits
//! in order, so the newer rounds are done no sooner (and one that was would only wait
//! a little longer).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::channel::ChannelError;
use crate::ids::ChannelId;

use crate::store::Synced;

/// What to do once a sync is done, given its outcome.
pub(crate) type Then<A> =
    Box<dyn FnOnce(&mut A, &mut Context<A>, &Result<(), ChannelError>) + Send>;

/// An actor whose journal can be synced, holding the work waiting for it.
pub(crate) trait Journaled: Actor<Context = Context<Self>> {
    /// The work waiting for syncs.
    fn after_sync(&mut self) -> &mut AfterSync<Self>;

    /// A sync of everything written to the journal so far.
    fn sync(&self) -> Synced;

    /// The channel, named in a failed sync's error.
    fn channel(&self) -> &ChannelId;
}

/// The work waiting for syncs: the newest round, which has not asked for its sync
/// yet, and the rounds that have, oldest first.
pub(crate) struct AfterSync<A: Actor<Context = Context<A>>> {
    open: Vec<Then<A>>,
    asked: VecDeque<(Synced, Vec<Then<A>>)>,
    /// Whether the driver is spawned.
    driven: bool,
}

impl<A: Actor<Context = Context<A>>> Default for AfterSync<A> {
    fn default() -> AfterSync<A> {
        AfterSync {
            open: Vec::new(),
            asked: VecDeque::new(),
            driven: false,
        }
    }
}

/// Runs `then` once everything `act` wrote to its journal so far is durable, or has
/// failed to be.
pub(crate) fn after_sync<A: Journaled>(
    act: &mut A,
    ctx: &mut Context<A>,
    then: impl FnOnce(&mut A, &mut Context<A>, &Result<(), ChannelError>) + Send + 'static,
) {
    let rounds = act.after_sync();
    rounds.open.push(Box::new(then));
    if !rounds.driven {
        rounds.driven = true;
        ctx.spawn(Driver);
    }
}

/// Asks for the open round's sync each time it is polled (after each batch of
/// messages the actor handles), runs the work of the rounds whose sync is done, and
/// ends when no work is left.
struct Driver;

impl Driver {
    fn ask<A: Journaled>(act: &mut A) {
        if act.after_sync().open.is_empty() {
            return;
        }
        let synced = act.sync();
        let rounds = act.after_sync();
        let work = std::mem::take(&mut rounds.open);
        rounds.asked.push_back((synced, work));
    }
}

impl<A: Journaled> ActorFuture<A> for Driver {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut task::Context<'_>,
    ) -> Poll<()> {
        loop {
            Driver::ask(act);
            let rounds = act.after_sync();
            let Some((synced, _)) = rounds.asked.front_mut() else {
                rounds.driven = false;
                return Poll::Ready(());
            };
            let outcome = std::task::ready!(Pin::new(synced).poll(task));
            let (_, work) = rounds.asked.pop_front().expect("polled above");
            let outcome = outcome.map_err(|error| ChannelError::Store {
                channel: act.channel().clone(),
                error,
            });
            for then in work {
                then(act, ctx, &outcome);
            }
        }
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
