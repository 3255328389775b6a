//! Dead letters: items a work queue gave up on, and where they go.

use std::sync::Arc;

use super::WorkQueueHandle;
use crate::channel::ChannelError;
use crate::envelope::Envelope;
use crate::rights::Rights;

/// Why an item was dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// It was delivered `max_attempts` times without being acked.
    MaxAttempts {
        /// The reason given with its last nack, or `None` if its last lease expired.
        last_error: Option<String>,
    },
    /// The queue stopped before it was acked.
    ChannelStopped,
    /// A shared queue fetched it from its server and it does not decode as the
    /// channel's payload type.
    Undecodable {
        /// What the decoder said.
        detail: String,
    },
    /// A shared queue fetched it from its server without the marks a kernel sets on
    /// what it sends, or with marks that disagree with it.
    Unverified {
        /// What was wrong.
        detail: String,
    },
}

/// An item the work queue gave up on, as sent to its dead-letter channel.
#[derive(Debug)]
pub struct DeadLetter<T> {
    pub(super) envelope: Arc<Envelope<T>>,
    pub(super) attempts: u32,
    pub(super) reason: DeadLetterReason,
}

impl<T> DeadLetter<T> {
    /// The original message, unchanged.
    pub fn envelope(&self) -> &Arc<Envelope<T>> {
        &self.envelope
    }

    /// How many times it was delivered.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why it was given up.
    pub fn reason(&self) -> &DeadLetterReason {
        &self.reason
    }
}

/// Where a queue sends dead letters. A trait object, because a queue of `T` naming the
/// concrete queue of `DeadLetter<T>` would make the compiler instantiate queues of
/// `DeadLetter<DeadLetter<T>>` without end.
pub(super) trait DeadLetterSink<T>: Send + Sync {
    fn check_writable(&self) -> Result<(), ChannelError>;
    fn offer(&self, letter: DeadLetter<T>) -> Result<(), ChannelError>;
    /// Sends `letter`, waiting for room and for the dead-letter channel's answer: a
    /// durable queue forgets a dead letter only once its dead-letter channel has it.
    fn hand_over(&self, letter: DeadLetter<T>) -> HandOver;
}

/// The answer to [`DeadLetterSink::hand_over`].
pub(super) type HandOver =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ChannelError>>>>;

impl<T: Send + Sync + 'static> DeadLetterSink<T> for WorkQueueHandle<DeadLetter<T>> {
    fn check_writable(&self) -> Result<(), ChannelError> {
        self.endpoint.check(Rights::WRITE)
    }

    fn offer(&self, letter: DeadLetter<T>) -> Result<(), ChannelError> {
        WorkQueueHandle::offer(self, letter)
    }

    fn hand_over(&self, letter: DeadLetter<T>) -> HandOver {
        let handle = self.clone();
        Box::pin(async move { handle.send(letter).await.map(drop) })
    }
}
