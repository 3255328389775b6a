//! Errors returned by channel operations.

use std::time::Duration;

use crate::channel::ClaimToken;
use crate::ids::{ChannelId, Seq, SystemId};
use crate::rights::Rights;

/// Why a channel operation was refused. Every variant names the channel, and says what
/// was wrong and what to do about it; a refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The holder's grant on this channel was revoked; its handles never work again.
    #[error("access of `{holder}` to channel `{channel}` was revoked: ask the channel's owner for a new grant")]
    Revoked {
        /// The channel.
        channel: ChannelId,
        /// Whose grant was revoked.
        holder: SystemId,
    },
    /// The holder's grant does not include the rights the operation needs.
    #[error("`{holder}` needs {needed} on channel `{channel}` but its grant is {held}")]
    MissingRights {
        /// The channel.
        channel: ChannelId,
        /// Who asked.
        holder: SystemId,
        /// The rights the operation needs.
        needed: Rights,
        /// The rights the grant holds.
        held: Rights,
    },
    /// The channel (or the recipient's inbox) holds as many items as it may.
    #[error("channel `{channel}` is full ({capacity} items): retry later, or use `send`, which waits for room")]
    Full {
        /// The channel.
        channel: ChannelId,
        /// Its capacity.
        capacity: usize,
    },
    /// A batch larger than the channel's whole capacity can never be accepted.
    #[error("a batch of {requested} items can never fit channel `{channel}` (capacity {capacity}): split it")]
    BatchTooLarge {
        /// The channel.
        channel: ChannelId,
        /// The batch size.
        requested: usize,
        /// The channel's capacity.
        capacity: usize,
    },
    /// The channel is draining: it delivers what it holds but accepts nothing new.
    #[error("channel `{channel}` is draining and accepts no new messages")]
    Draining {
        /// The channel.
        channel: ChannelId,
    },
    /// The channel has stopped.
    #[error("channel `{channel}` is stopped")]
    Closed {
        /// The channel.
        channel: ChannelId,
    },
    /// The messages asked for were evicted from the retained history. Nothing is skipped
    /// silently: read again from `next`, the oldest retained seq, knowing `missed` were lost.
    #[error("channel `{channel}` no longer retains the {missed} messages after seq {after}: read again from seq {next}")]
    Lagged {
        /// The channel.
        channel: ChannelId,
        /// The seq the read started after.
        after: Seq,
        /// How many messages were evicted before they could be read.
        missed: u64,
        /// The oldest seq still retained.
        next: Seq,
    },
    /// The mailbox has no inbox for this recipient (it was never granted READ, or was revoked).
    #[error("channel `{channel}` has no inbox for `{recipient}`: the recipient needs a READ grant on it")]
    UnknownRecipient {
        /// The channel.
        channel: ChannelId,
        /// The addressee.
        recipient: SystemId,
    },
    /// The claim token is not a live lease of this holder: the lease expired and the item
    /// was redelivered, it was already acked or nacked, or the token was never issued to
    /// this holder. Nothing was changed.
    #[error("claim {token} on channel `{channel}` is not a live lease of yours (expired, already settled, or not yours): nothing changed")]
    StaleClaim {
        /// The channel.
        channel: ChannelId,
        /// The token presented.
        token: ClaimToken,
    },
    /// No reply arrived in time.
    #[error("no reply on channel `{channel}` within {timeout:?}")]
    Timeout {
        /// The channel.
        channel: ChannelId,
        /// How long the caller waited.
        timeout: Duration,
    },
    /// The recipient dropped the request without replying (or was revoked or stopped).
    #[error("`{recipient}` dropped the request on channel `{channel}` without replying")]
    NoReply {
        /// The channel.
        channel: ChannelId,
        /// The addressee of the request.
        recipient: SystemId,
    },
    /// A reply was attempted on a message that carries no reply slot.
    #[error("the message {seq} on channel `{channel}` is not a request, or was already answered: send a new message instead")]
    NotARequest {
        /// The channel.
        channel: ChannelId,
        /// The message's seq.
        seq: Seq,
    },
    /// The requester stopped waiting (timed out or went away) before the reply.
    #[error("the requester on channel `{channel}` stopped waiting before the reply arrived")]
    RequesterGone {
        /// The channel.
        channel: ChannelId,
    },
    /// The handle belongs to another channel than the one the operation is about.
    #[error("this handle is for channel `{handle}`, not `{expected}`")]
    WrongChannel {
        /// The channel the operation is about.
        expected: ChannelId,
        /// The handle's channel.
        handle: ChannelId,
    },
    /// An argument is out of range (zero lease, zero limit, limit above the maximum, …).
    #[error("invalid argument for channel `{channel}`: {reason}")]
    InvalidArgument {
        /// The channel.
        channel: ChannelId,
        /// What was wrong, and the accepted range.
        reason: String,
    },
    /// The channel already has as many subscribers or workers as it allows.
    #[error("channel `{channel}` already has {limit} consumers, its limit: end a subscription or worker first, or raise the limit when building the channel")]
    TooManyConsumers {
        /// The channel.
        channel: ChannelId,
        /// The limit.
        limit: usize,
    },
    /// The channel's store could not keep the change; see the error for what to do.
    #[error("channel `{channel}` could not keep the change: {error}")]
    Store {
        /// The channel.
        channel: ChannelId,
        /// What the store said.
        error: crate::store::StoreError,
    },
    /// Too many callers are already parked waiting on this channel.
    #[error("channel `{channel}` already has {limit} waiting claims: claim without waiting, or add push workers")]
    TooManyWaiters {
        /// The channel.
        channel: ChannelId,
        /// The limit.
        limit: usize,
    },
}

/// Why a stream of deliveries (a subscription, an inbox, a worker registration) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The channel was stopped, or finished draining.
    ChannelStopped,
    /// The holder's grant was revoked.
    Revoked,
    /// The subscriber fell behind its buffer and the subscription's overflow policy is
    /// [`Overflow::Disconnect`](crate::channel::Overflow::Disconnect).
    Lagging,
    /// The subscriber cancelled.
    Unsubscribed,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CloseReason::ChannelStopped => "the channel stopped",
            CloseReason::Revoked => "access was revoked",
            CloseReason::Lagging => "the subscriber fell behind its buffer and was disconnected",
            CloseReason::Unsubscribed => "the subscription was cancelled",
        })
    }
}

/// Why a pull receive ended without a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// The buffer overflowed and the oldest `missed` messages were dropped; the next
    /// receive continues with the oldest message still buffered.
    #[error("fell behind: {missed} messages were dropped from this subscriber's buffer")]
    Lagged {
        /// How many messages were dropped.
        missed: u64,
    },
    /// Nothing more will arrive; everything buffered before the close was delivered.
    #[error("closed: {0}")]
    Closed(CloseReason),
    /// The holder's grant was revoked; the handle can no longer receive.
    #[error(transparent)]
    Channel(#[from] ChannelError),
}
