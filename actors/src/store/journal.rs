//! [`Journal`]: a channel's log, typed by its payload: envelopes go in encoded and come
//! back decoded.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{decode_envelope, encode_envelope, Change, Log, Store, StoreError, Synced};
use crate::envelope::{Envelope, SharedEnvelope};
use crate::ids::{ChannelId, Seq};

/// Opens a channel's journal when the channel starts, where the payload type's serde
/// bounds are no longer in scope.
pub(crate) type OpenJournal<T> =
    Box<dyn FnOnce(&ChannelId) -> Result<(Journal<T>, Reopened<T>), StoreError> + Send>;

/// One channel's log, typed.
pub(crate) struct Journal<T> {
    log: Arc<dyn Log>,
    encode: fn(&Envelope<T>) -> Vec<u8>,
}

/// What a channel finds in its log at start.
pub(crate) struct Reopened<T> {
    /// The last seq it ever gave.
    pub(crate) last_seq: Seq,
    /// Every envelope up to this seq was delivered at least once.
    pub(crate) delivered_through: Seq,
    /// The envelopes still kept, in seq order, each with its mark.
    pub(crate) kept: Vec<(SharedEnvelope<T>, Option<Vec<u8>>)>,
}

/// The opener of `store`'s journal for a channel of `T`.
pub(crate) fn opener<T>(store: Arc<dyn Store>) -> OpenJournal<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    Box::new(move |channel| {
        let log = store.open(channel)?;
        let recovered = log.recover()?;
        let kept = recovered
            .records
            .into_iter()
            .map(|kept| {
                let envelope = decode_envelope::<T>(channel, kept.seq, &kept.record)?;
                Ok((envelope, kept.mark))
            })
            .collect::<Result<_, StoreError>>()?;
        let journal = Journal {
            log,
            encode: encode_envelope::<T>,
        };
        let reopened = Reopened {
            last_seq: recovered.last_seq,
            delivered_through: recovered.delivered_through,
            kept,
        };
        Ok((journal, reopened))
    })
}

impl<T> Journal<T> {
    /// Keeps a newly accepted envelope.
    pub(crate) fn put(&self, envelope: &Envelope<T>) {
        self.log.write(Change::Put {
            seq: envelope.seq(),
            record: (self.encode)(envelope),
        });
    }

    /// Replaces the mark beside the envelope at `seq`.
    pub(crate) fn mark(&self, seq: Seq, mark: Vec<u8>) {
        self.log.write(Change::Mark { seq, mark });
    }

    /// Counts every envelope up to `through` as delivered at least once.
    pub(crate) fn delivered(&self, through: Seq) {
        self.log.write(Change::Delivered { through });
    }

    /// Forgets the envelope at `seq`.
    pub(crate) fn remove(&self, seq: Seq) {
        self.log.write(Change::Remove { seq });
    }

    /// Resolves once everything written so far is durable.
    pub(crate) fn sync(&self) -> Synced {
        self.log.sync()
    }

    /// A sync of `journal`, done at once when there is none: a channel in memory has
    /// nothing to wait for.
    pub(crate) fn sync_of(journal: Option<&Journal<T>>) -> Synced {
        match journal {
            Some(journal) => journal.sync(),
            None => {
                let (reply, synced) = Synced::pending("memory");
                reply.send(Ok(()));
                synced
            }
        }
    }
}
