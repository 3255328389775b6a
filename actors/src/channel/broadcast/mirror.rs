//! How a shared broadcast's actor follows its server's stream: what comes in is
//! retained and delivered with the server's seq, and a publish here is answered once
//! it has come back, when this kernel follows.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::fut::wrap_stream;
use actix::prelude::*;
use tokio::sync::oneshot;

use super::state::{BroadcastState, Publish};
use crate::channel::actor::ChannelActor;
use crate::channel::ChannelError;
use crate::ids::Seq;
use crate::store::{Followed, StoreError};

/// How long to wait before following again after the stream broke off.
const REFOLLOW_AFTER: Duration = Duration::from_millis(500);

type Ctx<T> = Context<ChannelActor<BroadcastState<T>>>;

impl<T: Send + Sync + 'static> ChannelActor<BroadcastState<T>> {
    /// Follows the server's stream from the last seq taken in, unless it already does.
    pub(super) fn start_following(&mut self, ctx: &mut Ctx<T>) {
        match self.kind.remote.as_mut() {
            Some(remote) if !remote.following => remote.following = true,
            _ => return,
        }
        self.follow(ctx);
    }

    /// Follows the server's stream from the last seq taken in.
    fn follow(&mut self, ctx: &mut Ctx<T>) {
        let Some(remote) = &self.kind.remote else {
            return;
        };
        let following = remote.stream.follow(self.kind.last_seq);
        ctx.spawn(
            wrap_stream(following)
                .map(|batch, act: &mut Self, _| act.take_in(batch))
                .finish()
                .map(|(), act, ctx| {
                    if act.core.state != crate::channel::ChannelState::Stopped {
                        ctx.run_later(REFOLLOW_AFTER, |act, ctx| act.follow(ctx));
                    }
                }),
        );
    }

    fn take_in(&mut self, batch: Result<Vec<Followed>, StoreError>) {
        let channel = self.core.id.clone();
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%channel, %error, "following the shared stream broke off; following again shortly");
                return;
            }
        };
        let state = &mut self.kind;
        let remote = state.remote.as_mut().expect("a shared broadcast");
        let mut taken = Vec::with_capacity(batch.len());
        for followed in batch {
            if followed.seq <= state.last_seq {
                continue;
            }
            match remote.decode(&channel, &followed) {
                Ok(envelope) => taken.push(envelope),
                Err(error) => {
                    tracing::error!(%channel, seq = %followed.seq, %error, "a message that is not a kernel's is skipped");
                }
            }
            state.last_seq = followed.seq;
        }
        let through = state.last_seq;
        for envelope in taken {
            self.core.counters.accepted += 1;
            state.publish(&mut self.core, envelope);
        }
        if let Some(remote) = state.remote.as_mut() {
            remote.arrived(through);
        }
    }

    /// Publishes to the server, answering with the seq once the message is back here.
    pub(super) fn publish_shared(
        &mut self,
        Publish { grant, msg }: Publish<T>,
        ctx: &mut Ctx<T>,
    ) -> Response<Result<Seq, ChannelError>> {
        let remote = self.kind.remote.as_ref().expect("a shared broadcast");
        let item = remote.codec.publication(&self.core.id, grant.holder(), msg);
        let published = remote.stream.publish(item);
        let channel = self.core.id.clone();
        // Read back here only if a holder here may read it.
        let addr = remote.following.then(|| ctx.address());
        let unfollowed = Arc::clone(&remote.published_unfollowed);
        Response::fut(async move {
            let seq = published.await.map_err(|error| ChannelError::Store {
                channel: channel.clone(),
                error,
            })?;
            let Some(addr) = addr else {
                unfollowed.fetch_add(1, Ordering::Relaxed);
                return Ok(seq);
            };
            addr.send(Arrival(seq))
                .await
                .map_err(|_| ChannelError::Closed { channel })?
                .await
                .ok();
            Ok(seq)
        })
    }
}

/// Asks to be told once the message at a seq has come back through the stream.
pub(super) struct Arrival(Seq);

impl Message for Arrival {
    type Result = oneshot::Receiver<()>;
}

impl<T: Send + Sync + 'static> Handler<Arrival> for ChannelActor<BroadcastState<T>> {
    type Result = MessageResult<Arrival>;

    fn handle(&mut self, Arrival(seq): Arrival, _: &mut Ctx<T>) -> Self::Result {
        let (tell, told) = oneshot::channel();
        match self.kind.remote.as_mut() {
            Some(remote) if seq > self.kind.last_seq => {
                remote.waiting.entry(seq).or_default().push(tell)
            }
            _ => {
                let _ = tell.send(());
            }
        }
        MessageResult(told)
    }
}
