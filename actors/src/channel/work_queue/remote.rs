//! A work queue kept by a server and shared by many kernels: what this kernel's actor
//! holds of it.
//!
//! The server keeps the items; the actor publishes what its holders send and fetches no
//! more than its claimers and workers have room for, in rounds. Each fetched item is
//! handed out under the actor's own lease and claim token, as in a queue of its own, and
//! each settlement goes on to the server. A lease longer than the server's ack wait is
//! kept alive with word that work goes on; an item no claimer or worker here takes
//! within a short grace goes back to the server, for another kernel to take.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use super::dead_letter::DeadLetterReason;
use crate::ids::{ChannelId, Seq};
use crate::store::{DeliveryTag, Pending, Settlement, SharedCodec, SharedQueue};

/// How long one round of fetching waits on the server for items before it is asked
/// again: long enough that an idle queue costs little, short enough that a server
/// that went away is noticed.
pub(super) const ROUND_WAIT: Duration = Duration::from_secs(5);

/// The most rounds in flight at once; demand beyond them waits for the next.
pub(super) const MAX_ROUNDS: usize = 4;

/// How long to wait before asking again after a round failed.
pub(super) const RETRY_AFTER: Duration = Duration::from_millis(500);

/// How long a fetched item may wait here with no claimer or worker to take it before it
/// goes back to the server. A consumer between two claims is back well within it, and
/// an item given back costs an attempt.
pub(super) const SURPLUS_GRACE: Duration = Duration::from_secs(1);

/// A delivery held here.
pub(super) struct Held {
    pub(super) tag: DeliveryTag,
    pub(super) since: Instant,
}

/// What the actor of a shared queue holds beside the queue state every queue has.
pub(super) struct Remote<T> {
    pub(super) queue: Arc<dyn SharedQueue>,
    /// The delivery each item fetched and not yet settled came with.
    pub(super) held: FxHashMap<Seq, Held>,
    /// Items each round in flight may still bring.
    pub(super) rounds: FxHashMap<u64, usize>,
    pub(super) next_round: u64,
    /// Whether asking is paused after a failed round.
    pub(super) backing_off: bool,
    /// Whether the timer that keeps long leases alive is armed.
    pub(super) keeping_alive: bool,
    /// Whether the timer that gives back unplaced items is armed.
    pub(super) sweeping: bool,
    /// Items the server has kept for this kernel's senders.
    pub(super) accepted: Arc<AtomicU64>,
    pub(super) codec: SharedCodec<T>,
}

impl<T> Remote<T> {
    pub(super) fn new(queue: Arc<dyn SharedQueue>) -> Remote<T>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        Remote {
            queue,
            held: FxHashMap::default(),
            rounds: FxHashMap::default(),
            next_round: 0,
            backing_off: false,
            keeping_alive: false,
            sweeping: false,
            accepted: Arc::default(),
            codec: SharedCodec::new(),
        }
    }

    /// Items the server has kept for this kernel's senders.
    pub(super) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Items asked of the server and not yet come.
    pub(super) fn asked(&self) -> usize {
        self.rounds.values().sum()
    }

    /// Settles the delivery of `seq` with the server, answering once it has it.
    pub(super) fn settle(&mut self, seq: Seq, how: Settlement) -> Option<Pending<()>> {
        let tag = match how {
            Settlement::Working => self.held.get(&seq)?.tag.clone(),
            Settlement::Ack | Settlement::Retry(_) => self.held.remove(&seq)?.tag,
        };
        Some(self.queue.settle(&tag, how))
    }

    /// Ends the delivery of `item` for good, keeping it in the dead-letter stream.
    pub(super) fn bury(&mut self, seq: Seq, letter: Vec<u8>) -> Option<Pending<()>> {
        let held = self.held.remove(&seq)?;
        Some(self.queue.bury(&held.tag, letter))
    }
}

/// A dead letter as a shared queue keeps it: the item's record as it was published,
/// with its seq, its deliveries and why it was given up.
#[derive(Serialize)]
struct Letter<'a> {
    seq: u64,
    attempts: u32,
    #[serde(flatten)]
    reason: &'a DeadLetterReason,
    envelope: serde_json::Value,
}

pub(super) fn letter(seq: Seq, attempts: u32, reason: &DeadLetterReason, record: &[u8]) -> Vec<u8> {
    let envelope = serde_json::from_slice(record)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(record).into()));
    let letter = Letter {
        seq: seq.get(),
        attempts,
        reason,
        envelope,
    };
    serde_json::to_vec(&letter).expect("a letter's fields encode")
}

/// Runs a settlement with the server in the background; a failure is logged, and the
/// server delivers the item again once its ack wait passes.
pub(super) fn settle_in_background(
    channel: &ChannelId,
    seq: Seq,
    what: &'static str,
    work: Pending<()>,
) {
    let channel = channel.clone();
    actix::spawn(async move {
        if let Err(error) = work.await {
            tracing::warn!(%channel, %seq, %error, "{what} did not reach the server; it delivers the item again once its ack wait passes");
        }
    });
}
