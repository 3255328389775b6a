//! A broadcast kept by a server and followed by many kernels: what this kernel's actor
//! holds of it.
//!
//! The server's stream is the channel: a publish goes to the server, and this kernel's
//! subscribers see it when the actor, following the stream, takes it in with the
//! server's seq, like every other kernel following it. The actor's retained history is
//! the stream's, read at open and kept up as it follows, so reads by seq, late joiners
//! and lag work as on a channel of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::envelope::{Envelope, SharedEnvelope};
use crate::ids::{ChannelId, Seq};
use crate::store::{decode_envelope, encode_envelope, SharedStream, StoreError};

/// How a followed record becomes an envelope of the channel's payload type.
pub(super) type Decode<T> = fn(&ChannelId, Seq, &[u8]) -> Result<SharedEnvelope<T>, StoreError>;

/// What the actor of a shared broadcast holds beside the state every broadcast has.
pub(super) struct Remote<T> {
    pub(super) stream: Arc<dyn SharedStream>,
    /// Publishers of this kernel waiting for their message to come back through the
    /// stream, by its seq: a publish is answered once this kernel's subscribers have it.
    pub(super) waiting: BTreeMap<Seq, Vec<oneshot::Sender<()>>>,
    pub(super) encode: fn(&Envelope<T>) -> Vec<u8>,
    pub(super) decode: Decode<T>,
}

impl<T> Remote<T> {
    pub(super) fn new(stream: Arc<dyn SharedStream>) -> Remote<T>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        Remote {
            stream,
            waiting: BTreeMap::new(),
            encode: encode_envelope::<T>,
            decode: decode_envelope::<T>,
        }
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
