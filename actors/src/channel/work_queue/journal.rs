//! A durable work queue's log: what it writes for each change, and what it reads back
//! at start.
//!
//! Each item is kept as its envelope (put once, when accepted) with a mark beside it:
//! how many times it was delivered, the reason given with its last nack, and, once the
//! queue gave up on it, why. An ack removes both. Items become visible to consumers only
//! once the commit that holds them is durable, so nothing is delivered that a crash
//! could take back.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::dead_letter::DeadLetterReason;
use super::item::Queued;
use crate::envelope::Envelope;
use crate::ids::{ChannelId, Seq};
use crate::store::{decode_envelope, encode_envelope, Change, Log, Store, StoreError, Synced};

/// Opens a queue's journal when the queue starts, where the payload type's serde bounds
/// are no longer in scope.
pub(super) type OpenJournal<T> =
    Box<dyn FnOnce(&ChannelId) -> Result<(Journal<T>, Restored<T>), StoreError> + Send>;

/// The log of one durable queue.
pub(super) struct Journal<T> {
    log: Arc<dyn Log>,
    encode: fn(&Envelope<T>) -> Vec<u8>,
}

/// What a queue finds in its log at start.
pub(super) struct Restored<T> {
    pub(super) last_seq: Seq,
    /// Items to deliver, in seq order, with their deliveries so far.
    pub(super) ready: Vec<Queued<T>>,
    /// Items it had given up on and not yet handed to its dead-letter channel.
    pub(super) dead: Vec<(Queued<T>, DeadLetterReason)>,
}

/// The mark beside an item.
#[derive(Serialize, Deserialize)]
struct Mark {
    attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dead: Option<DeadLetterReason>,
}

/// The opener of `store`'s journal for a queue of `T`.
pub(super) fn opener<T>(store: Arc<dyn Store>) -> OpenJournal<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    Box::new(move |channel| open(&*store, channel))
}

fn open<T>(store: &dyn Store, channel: &ChannelId) -> Result<(Journal<T>, Restored<T>), StoreError>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let log = store.open(channel)?;
    let recovered = log.recover()?;
    let mut restored = Restored {
        last_seq: recovered.last_seq,
        ready: Vec::new(),
        dead: Vec::new(),
    };
    for kept in recovered.records {
        let envelope = decode_envelope::<T>(channel, kept.seq, &kept.record)?;
        let mark = match &kept.mark {
            Some(bytes) => {
                serde_json::from_slice::<Mark>(bytes).map_err(|e| StoreError::Undecodable {
                    log: channel.to_string(),
                    seq: kept.seq.get(),
                    detail: format!("its delivery mark: {e}"),
                })?
            }
            None => Mark {
                attempts: 0,
                last_error: None,
                dead: None,
            },
        };
        let item = Queued {
            envelope,
            attempts: mark.attempts,
            last_error: mark.last_error,
        };
        match mark.dead {
            Some(reason) => restored.dead.push((item, reason)),
            None => restored.ready.push(item),
        }
    }
    let journal = Journal {
        log,
        encode: encode_envelope::<T>,
    };
    Ok((journal, restored))
}

impl<T> Journal<T> {
    /// Keeps a newly accepted item.
    pub(super) fn put(&self, envelope: &Envelope<T>) {
        self.log.write(Change::Put {
            seq: envelope.seq(),
            record: (self.encode)(envelope),
        });
    }

    /// Records an item's deliveries so far and, if it was given up on, why.
    pub(super) fn mark(&self, item: &Queued<T>, dead: Option<&DeadLetterReason>) {
        let mark = Mark {
            attempts: item.attempts,
            last_error: item.last_error.clone(),
            dead: dead.cloned(),
        };
        self.log.write(Change::Mark {
            seq: item.envelope.seq(),
            mark: serde_json::to_vec(&mark).expect("a mark encodes"),
        });
    }

    /// Forgets a settled item.
    pub(super) fn remove(&self, seq: Seq) {
        self.log.write(Change::Remove { seq });
    }

    /// Resolves once everything written so far is durable.
    pub(super) fn sync(&self) -> Synced {
        self.log.sync()
    }
}
