//! A broadcast kept by a server and followed by many kernels: what this kernel's actor
//! holds of it.
//!
//! The server's stream is the channel: a publish goes to the server, and this kernel's
//! subscribers see it when the actor, following the stream, takes it in with the
//! server's seq, like every other kernel following it. The actor's retained history is
//! the stream's, read at open and kept up as it follows, so reads by seq, late joiners
//! and lag work as on a channel of its own. A kernel follows once a holder here may
//! read: one that only publishes leaves the stream to the kernels that read it.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::envelope::SharedEnvelope;
use crate::ids::{ChannelId, Seq};
use crate::store::{Followed, SharedCodec, SharedStream, StoreError};

/// What the actor of a shared broadcast holds beside the state every broadcast has.
pub(super) struct Remote<T> {
    pub(super) stream: Arc<dyn SharedStream>,
    /// Publishers of this kernel waiting for their message to come back through the
    /// stream, by its seq: a publish is answered once this kernel's subscribers have it.
    pub(super) waiting: BTreeMap<Seq, Vec<oneshot::Sender<()>>>,
    /// Whether this kernel follows the stream: only once a holder here may read, so
    /// that a kernel that only publishes does not take every message back in.
    pub(super) following: bool,
    /// Messages this kernel published while it did not follow, once the server kept
    /// them: a following kernel counts what comes back instead.
    pub(super) published_unfollowed: Arc<AtomicU64>,
    pub(super) codec: SharedCodec<T>,
}

impl<T> Remote<T> {
    pub(super) fn new(stream: Arc<dyn SharedStream>) -> Remote<T>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        Remote {
            stream,
            waiting: BTreeMap::new(),
            following: false,
            published_unfollowed: Arc::default(),
            codec: SharedCodec::new(),
        }
    }

    /// The envelope `followed` holds, if a kernel sent it.
    pub(super) fn decode(
        &self,
        channel: &ChannelId,
        followed: &Followed,
    ) -> Result<SharedEnvelope<T>, StoreError> {
        self.codec
            .decode(channel, followed.seq, &followed.record, &followed.origin)
    }

    /// Answers the publishers whose messages are in, up to `through`.
    pub(super) fn arrived(&mut self, through: Seq) {
        let later = self.waiting.split_off(&through.next());
        for waiters in std::mem::replace(&mut self.waiting, later).into_values() {
            for waiter in waiters {
                let _ = waiter.send(());
            }
        }
    }
}
