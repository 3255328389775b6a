//! The seam where a durable channel keeps what it must not lose.
//!
//! A channel built with a [`Store`] writes each change a crash must not undo (an item
//! accepted, its deliveries so far, its ack) into its own [`Log`], and answers the caller
//! only once [`Log::sync`] reports the change durable. The runtime knows nothing of
//! files: a store on disk (`exokern-store`) or on a server implements these two traits,
//! and the channel logic stays the same whichever it is.
//!
//! A [`SharedQueue`] and a [`SharedStream`] are the other seam: a work queue or a
//! broadcast a server holds for the kernels of many processes, which each kernel's
//! channel actor consumes from or follows.
//!
//! A log holds one record per seq, with an optional small *mark* beside it (a work
//! item's deliveries so far), and the last seq the channel ever gave, so that seqs go on
//! after a restart and are never reused.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::ids::{ChannelId, Seq};

mod codec;
mod error;
mod journal;
mod shared;

pub(crate) use codec::SharedCodec;
use codec::{decode_envelope, encode_envelope};
pub use error::StoreError;
pub(crate) use journal::{opener, Journal, OpenJournal, Reopened};
pub use shared::{
    Deliveries, DeliveryTag, Fetched, Followed, Following, Origin, Pending, Publication,
    Settlement, SharedQueue, SharedStream,
};

/// Where durable channels keep their logs: one log per channel id.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Opens the log of `channel`, empty if the store has never held it. A channel's log
    /// is open at most once at a time: a second open before the first is dropped fails
    /// with [`StoreError::InUse`].
    fn open(&self, channel: &ChannelId) -> Result<Arc<dyn Log>, StoreError>;
}

/// One channel's log.
pub trait Log: Send + Sync + fmt::Debug {
    /// Everything the log keeps, in seq order, checked for damage.
    fn recover(&self) -> Result<Recovered, StoreError>;

    /// Adds `change` to the next commit. Never waits for the disk.
    fn write(&self, change: Change);

    /// Resolves once every change written so far is durable, or with the error that
    /// kept the commit holding them from the disk.
    fn sync(&self) -> Synced;
}

/// A change to a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new record at `seq` (an item accepted, a message retained). Seqs only grow.
    Put {
        /// Its seq.
        seq: Seq,
        /// The encoded record.
        record: Vec<u8>,
    },
    /// Replaces the mark beside the record at `seq`.
    Mark {
        /// The record's seq.
        seq: Seq,
        /// The encoded mark.
        mark: Vec<u8>,
    },
    /// The record at `seq` and its mark are gone (acked, evicted).
    Remove {
        /// The record's seq.
        seq: Seq,
    },
    /// Every record up to `through` was delivered at least once: a work queue delivers
    /// each item the first time in seq order, so one seq counts every first delivery
    /// instead of a mark per item. Only grows.
    Delivered {
        /// The highest seq delivered at least once.
        through: Seq,
    },
}

/// What a log kept, as [`Log::recover`] reads it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// The highest seq ever put, kept even when its record is gone.
    pub last_seq: Seq,
    /// The highest [`Change::Delivered`] written.
    pub delivered_through: Seq,
    /// The records still kept, in seq order.
    pub records: Vec<Kept>,
}

/// A record read back from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Kept {
    /// Its seq.
    pub seq: Seq,
    /// The record, as it was put.
    pub record: Vec<u8>,
    /// The last mark beside it, if any.
    pub mark: Option<Vec<u8>>,
}

impl Recovered {
    /// A recovery with these records and last seq.
    pub fn new(last_seq: Seq, records: Vec<Kept>) -> Recovered {
        Recovered {
            last_seq,
            delivered_through: Seq::ZERO,
            records,
        }
    }

    /// The same recovery, with every record up to `through` delivered at least once.
    #[must_use]
    pub fn delivered_through(mut self, through: Seq) -> Recovered {
        self.delivered_through = through;
        self
    }
}

impl Kept {
    /// A kept record.
    pub fn new(seq: Seq, record: Vec<u8>, mark: Option<Vec<u8>>) -> Kept {
        Kept { seq, record, mark }
    }
}

/// The answer to [`Log::sync`]: a future of the commit that holds the changes.
#[must_use = "a sync reports nothing unless it is awaited"]
#[derive(Debug)]
pub struct Synced {
    reply: oneshot::Receiver<Result<(), StoreError>>,
    log: String,
}

/// The store's side of a [`Synced`]: answered once, when the commit is done.
#[derive(Debug)]
pub struct SyncReply(oneshot::Sender<Result<(), StoreError>>);

impl Synced {
    /// A pending sync of the log named `log` (named in the error if the store drops the
    /// reply), and the store's end of it.
    pub fn pending(log: impl Into<String>) -> (SyncReply, Synced) {
        let (tx, rx) = oneshot::channel();
        let synced = Synced {
            reply: rx,
            log: log.into(),
        };
        (SyncReply(tx), synced)
    }
}

impl SyncReply {
    /// Reports the commit's outcome.
    pub fn send(self, outcome: Result<(), StoreError>) {
        let _ = self.0.send(outcome);
    }
}

impl Future for Synced {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.reply).poll(cx).map(|outcome| {
            outcome.unwrap_or_else(|_| {
                Err(StoreError::Closed {
                    log: self.log.clone(),
                })
            })
        })
    }
}
