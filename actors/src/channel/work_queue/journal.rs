//! What a durable work queue keeps beside each item, and how it reads its log back.
//!
//! Each item is kept as its envelope (put once, when accepted) with a mark beside it:
//! how many times it was delivered, the reason given with its last nack, and, once the
//! queue gave up on it, why. An ack removes both. First deliveries go in seq order, so
//! they need no mark: the queue keeps the highest seq it delivered, and an item at or
//! below it without a mark was delivered once. Items become visible to consumers only
//! once the commit that holds them is durable, so nothing is delivered that a crash
//! could take back.

use serde::{Deserialize, Serialize};

use super::dead_letter::{DeadLetter, DeadLetterReason};
use super::item::Queued;
use crate::ids::ChannelId;
use crate::store::{Journal, Reopened, StoreError};

/// What a queue finds in its log at start.
pub(super) struct Restored<T> {
    pub(super) last_seq: crate::ids::Seq,
    /// Every item up to this seq was delivered at least once.
    pub(super) delivered_through: crate::ids::Seq,
    /// Items to deliver, in seq order, with their deliveries so far.
    pub(super) ready: Vec<Queued<T>>,
    /// Items it had given up on and not yet handed to its dead-letter channel.
    pub(super) dead: Vec<DeadLetter<T>>,
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

/// Sorts what the log kept into items to deliver and dead letters to hand over.
pub(super) fn restore<T>(
    channel: &ChannelId,
    reopened: Reopened<T>,
) -> Result<Restored<T>, StoreError> {
    let delivered_through = reopened.delivered_through;
    let mut restored = Restored {
        last_seq: reopened.last_seq,
        delivered_through,
        ready: Vec::new(),
        dead: Vec::new(),
    };
    for (envelope, mark) in reopened.kept {
        let mark = match mark {
            Some(bytes) => {
                serde_json::from_slice::<Mark>(&bytes).map_err(|e| StoreError::Undecodable {
                    log: channel.to_string(),
                    seq: envelope.seq().get(),
                    detail: format!("its delivery mark: {e}"),
                })?
            }
            None => Mark {
                attempts: u32::from(envelope.seq() <= delivered_through),
                last_error: None,
                dead: None,
            },
        };
        match mark.dead {
            Some(reason) => restored.dead.push(DeadLetter {
                envelope,
                attempts: mark.attempts,
                reason,
            }),
            None => restored.ready.push(Queued {
                envelope,
                attempts: mark.attempts,
                last_error: mark.last_error,
            }),
        }
    }
    Ok(restored)
}

/// Records an item's deliveries so far and, if it was given up on, why.
pub(super) fn mark<T>(journal: &Journal<T>, item: &Queued<T>, dead: Option<&DeadLetterReason>) {
    let mark = Mark {
        attempts: item.attempts,
        last_error: item.last_error.clone(),
        dead: dead.cloned(),
    };
    journal.mark(
        item.envelope.seq(),
        serde_json::to_vec(&mark).expect("a mark encodes"),
    );
}
