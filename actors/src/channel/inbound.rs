//! [`Inbound`]: one message as delivered to one consumer.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::channel::mailbox::ReplySlot;
use crate::channel::ClaimToken;
use crate::envelope::Envelope;
/// A message delivered to a consumer: the shared envelope, plus what the delivery adds
/// (a claim on a work item, a reply slot on a request).
///
/// `Inbound` dereferences to its [`Envelope`], so `msg.payload()` and `msg.sender()` work
/// directly.
pub struct Inbound<T> {
    envelope: Arc<Envelope<T>>,
    kind: InboundKind<T>,
}

pub(crate) enum InboundKind<T> {
    Message,
    Request(ReplySlot<T>),
    Work { token: ClaimToken, attempt: u32 },
}

impl<T> Inbound<T> {
    pub(crate) fn message(envelope: Arc<Envelope<T>>) -> Inbound<T> {
        Inbound {
            envelope,
            kind: InboundKind::Message,
        }
    }

    pub(crate) fn request(envelope: Arc<Envelope<T>>, slot: ReplySlot<T>) -> Inbound<T> {
        Inbound {
            envelope,
            kind: InboundKind::Request(slot),
        }
    }

    pub(crate) fn work(envelope: Arc<Envelope<T>>, token: ClaimToken, attempt: u32) -> Inbound<T> {
        Inbound {
            envelope,
            kind: InboundKind::Work { token, attempt },
        }
    }

    /// The shared envelope.
    pub fn envelope(&self) -> &Arc<Envelope<T>> {
        &self.envelope
    }

    /// Consumes the delivery, keeping only the envelope. For a request this drops the
    /// reply slot: the requester is told there will be no reply.
    pub fn into_envelope(self) -> Arc<Envelope<T>> {
        self.envelope
    }

    /// Which delivery of this message this is: 1 for the first, 2 for the first
    /// redelivery of a work item, and so on. Always 1 for broadcast and mailbox messages.
    pub fn attempt(&self) -> u32 {
        match self.kind {
            InboundKind::Work { attempt, .. } => attempt,
            _ => 1,
        }
    }

    /// The claim on a work-queue item, needed to ack, nack or extend it.
    pub fn claim_token(&self) -> Option<ClaimToken> {
        match self.kind {
            InboundKind::Work { token, .. } => Some(token),
            _ => None,
        }
    }

    /// `true` if the sender is waiting for a reply.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, InboundKind::Request(_))
    }

    pub(crate) fn take_reply_slot(&mut self) -> Option<ReplySlot<T>> {
        match std::mem::replace(&mut self.kind, InboundKind::Message) {
            InboundKind::Request(slot) => Some(slot),
            other => {
                self.kind = other;
                None
            }
        }
    }
}

impl<T> Deref for Inbound<T> {
    type Target = Envelope<T>;
    fn deref(&self) -> &Envelope<T> {
        &self.envelope
    }
}

impl<T: fmt::Debug> fmt::Debug for Inbound<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Inbound");
        d.field("envelope", &self.envelope);
        match &self.kind {
            InboundKind::Message => {}
            InboundKind::Request(_) => {
                d.field("request", &true);
            }
            InboundKind::Work { token, attempt } => {
                d.field("token", token).field("attempt", attempt);
            }
        }
        d.finish()
    }
}
