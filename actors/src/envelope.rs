//! [`Envelope`]: a message as a channel accepted it, and [`Outgoing`]: a message
//! about to be sent.
//!
//! An envelope is immutable and shared as `Arc<Envelope<T>>`: fanning a message out to
//! ten thousand subscribers clones a pointer ten thousand times, never the payload. The
//! channel stamps everything in it but the payload and the caller's options; in
//! particular the sender is always the identity of the handle that sent it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::ids::{ChannelId, MessageId, Seq, SystemId};

/// The most entries a [`Metadata`] map holds.
pub const MAX_METADATA_ENTRIES: usize = 16;
/// The longest metadata key, in bytes.
pub const MAX_METADATA_KEY_LEN: usize = 64;
/// The longest metadata value, in bytes.
pub const MAX_METADATA_VALUE_LEN: usize = 1024;

/// Why a metadata entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The map already holds [`MAX_METADATA_ENTRIES`] entries.
    #[error("metadata holds at most {MAX_METADATA_ENTRIES} entries; put bulk data in the payload")]
    TooManyEntries,
    /// The key is empty, too long, or not printable ASCII.
    #[error("metadata key {0:?} must be 1 to {MAX_METADATA_KEY_LEN} printable ASCII bytes")]
    BadKey(String),
    /// The value is longer than [`MAX_METADATA_VALUE_LEN`].
    #[error("metadata value for {key:?} is {len} bytes; the limit is {MAX_METADATA_VALUE_LEN}")]
    ValueTooLong {
        /// The entry's key.
        key: String,
        /// The value's length in bytes.
        len: usize,
    },
}

/// A small map of string annotations carried beside the payload (trace ids, content
/// types, a producer's own timestamp). Bounded: at most [`MAX_METADATA_ENTRIES`] entries
/// with short keys; keys keep insertion order and are unique.
///
/// ```
/// use exokern_actors::Metadata;
///
/// let mut meta = Metadata::new();
/// meta.insert("trace", "4bf92f35")?;
/// meta.insert("trace", "00f067aa")?; // replaces
/// assert_eq!(meta.get("trace"), Some("00f067aa"));
/// assert_eq!(meta.len(), 1);
/// # Ok::<(), exokern_actors::MetadataError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata(Vec<(Box<str>, Box<str>)>);

impl Metadata {
    /// An empty map (no allocation).
    pub const fn new() -> Metadata {
        Metadata(Vec::new())
    }

    /// Sets `key` to `value`, replacing an earlier value for the same key.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), MetadataError> {
        let key = key.into();
        let value = value.into();
        let key_ok = !key.is_empty()
            && key.len() <= MAX_METADATA_KEY_LEN
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !key_ok {
            return Err(MetadataError::BadKey(key));
        }
        if value.len() > MAX_METADATA_VALUE_LEN {
            return Err(MetadataError::ValueTooLong {
                len: value.len(),
                key,
            });
        }
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| **k == *key) {
            slot.1 = value.into_boxed_str();
            return Ok(());
        }
        if self.0.len() == MAX_METADATA_ENTRIES {
            return Err(MetadataError::TooManyEntries);
        }
        self.0.push((key.into_boxed_str(), value.into_boxed_str()));
        Ok(())
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A message as its channel accepted it. Every field but the payload, correlation,
/// reply-to and metadata is stamped by the channel or by the sender's handle.
///
/// A work queue may deliver the same envelope more than once (at-least-once delivery);
/// the attempt number belongs to the delivery, see
/// [`Inbound::attempt`](crate::channel::Inbound::attempt).
///
/// It serializes as an object with `id`, `seq`, `channel`, `sender`, `sent_at` (Unix
/// milliseconds) and `payload`, and `recipient`, `correlation`, `reply_to` and
/// `metadata` when set.
pub struct Envelope<T> {
    id: MessageId,
    seq: Seq,
    /// Wall-clock nanoseconds since the Unix epoch.
    sent_at: u64,
    channel: ChannelId,
    sender: SystemId,
    recipient: Option<SystemId>,
    correlation: Option<MessageId>,
    extras: Option<Box<Extras>>,
    payload: T,
}

/// What a sender rarely sets, kept out of line: a plain message's envelope stays at
/// about a hundred and forty bytes, where these would add fifty to every one, and a
/// plain outgoing message is its payload and two words.
#[derive(Debug, Clone, Default)]
struct Extras {
    reply_to: Option<ChannelId>,
    metadata: Metadata,
    /// The kernel that sent it, for a message that came through a server.
    kernel: Option<Arc<str>>,
}

/// The metadata of every envelope that has none.
static NO_METADATA: Metadata = Metadata::new();

impl<T> Envelope<T> {
    /// Stamps an outgoing message. Only channels call this: the sender comes from the
    /// handle's grant, the seq from the channel's counter.
    pub(crate) fn stamp(
        channel: &ChannelId,
        seq: Seq,
        sender: &SystemId,
        recipient: Option<SystemId>,
        outgoing: Outgoing<T>,
    ) -> SharedEnvelope<T> {
        let sent_at = crate::clock::now_nanos();
        Envelope::stamp_at(channel, seq, sender, recipient, outgoing, sent_at)
    }

    /// Stamps an outgoing message with a given time (nanoseconds since the Unix epoch):
    /// a simulation's virtual clock.
    pub(crate) fn stamp_at(
        channel: &ChannelId,
        seq: Seq,
        sender: &SystemId,
        recipient: Option<SystemId>,
        outgoing: Outgoing<T>,
        sent_at: u64,
    ) -> SharedEnvelope<T> {
        let Outgoing {
            correlation,
            extras,
            payload,
        } = outgoing;
        let extras =
            extras.filter(|extras| extras.reply_to.is_some() || !extras.metadata.is_empty());
        Arc::new(Envelope {
            id: MessageId::unique(),
            seq,
            sent_at,
            channel: channel.clone(),
            sender: sender.clone(),
            recipient,
            correlation,
            extras,
            payload,
        })
    }

    /// An envelope read back from a store, as it was stamped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore(
        channel: &ChannelId,
        seq: Seq,
        id: MessageId,
        sent_at: u64,
        sender: SystemId,
        recipient: Option<SystemId>,
        correlation: Option<MessageId>,
        reply_to: Option<ChannelId>,
        metadata: Metadata,
        payload: T,
    ) -> SharedEnvelope<T> {
        let extras = (reply_to.is_some() || !metadata.is_empty()).then(|| {
            Box::new(Extras {
                reply_to,
                metadata,
                kernel: None,
            })
        });
        Arc::new(Envelope {
            id,
            seq,
            sent_at,
            channel: channel.clone(),
            sender,
            recipient,
            correlation,
            extras,
            payload,
        })
    }

    /// The same envelope, as sent by the kernel named `kernel` through a server.
    pub(crate) fn sent_by_kernel(mut self, kernel: &str) -> Envelope<T> {
        self.extras.get_or_insert_with(Box::default).kernel = Some(kernel.into());
        self
    }

    /// Nanoseconds since the Unix epoch at which the channel accepted it.
    pub(crate) fn sent_at_nanos(&self) -> u64 {
        self.sent_at
    }

    /// The message's unique id.
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// Its position in its channel (monotonic, starting at 1).
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// The channel that accepted it.
    pub fn channel(&self) -> &ChannelId {
        &self.channel
    }

    /// Who sent it: the holder of the handle it was sent through.
    pub fn sender(&self) -> &SystemId {
        &self.sender
    }

    /// The addressee, for mailbox messages.
    pub fn recipient(&self) -> Option<&SystemId> {
        self.recipient.as_ref()
    }

    /// The id of the message this one answers or belongs with.
    pub fn correlation(&self) -> Option<MessageId> {
        self.correlation
    }

    /// The kernel that sent it, for a message that reached this kernel through a server
    /// (a shared channel): the name its kernel stamped on it, which the server's sign-in
    /// vouches for. `None` for a message sent through this process's kernel.
    pub fn kernel(&self) -> Option<&str> {
        self.extras
            .as_ref()
            .and_then(|extras| extras.kernel.as_deref())
    }

    /// Where the sender asks replies to go.
    pub fn reply_to(&self) -> Option<&ChannelId> {
        self.extras
            .as_ref()
            .and_then(|extras| extras.reply_to.as_ref())
    }

    /// Wall-clock time at which the channel accepted it, to within a few microseconds
    /// (read through the CPU's time-stamp counter where Linux keeps time with it). Not
    /// monotonic: [`seq`](Self::seq) orders a channel's messages.
    pub fn sent_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.sent_at)
    }

    /// Its annotations.
    pub fn metadata(&self) -> &Metadata {
        self.extras
            .as_ref()
            .map_or(&NO_METADATA, |extras| &extras.metadata)
    }

    /// The payload.
    pub fn payload(&self) -> &T {
        &self.payload
    }
}

impl<T: fmt::Debug> fmt::Debug for Envelope<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("id", &self.id)
            .field("seq", &self.seq)
            .field("channel", &self.channel)
            .field("sender", &self.sender)
            .field("recipient", &self.recipient)
            .field("correlation", &self.correlation)
            .field("reply_to", &self.reply_to())
            .field("sent_at", &self.sent_at())
            .field("metadata", self.metadata())
            .field("payload", &self.payload)
            .finish()
    }
}

impl<T: Serialize> Serialize for Envelope<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn optional<S: SerializeStruct, V: Serialize>(
            out: &mut S,
            key: &'static str,
            value: Option<&V>,
        ) -> Result<(), S::Error> {
            match value {
                Some(value) => out.serialize_field(key, value),
                None => out.skip_field(key),
            }
        }
        let metadata = Some(self.metadata()).filter(|metadata| !metadata.is_empty());
        let mut out = serializer.serialize_struct("Envelope", 10)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("seq", &self.seq)?;
        out.serialize_field("channel", &self.channel)?;
        out.serialize_field("sender", &self.sender)?;
        optional(&mut out, "recipient", self.recipient.as_ref())?;
        optional(&mut out, "correlation", self.correlation.as_ref())?;
        optional(&mut out, "reply_to", self.reply_to())?;
        out.serialize_field("sent_at", &(self.sent_at / 1_000_000))?;
        optional(&mut out, "metadata", metadata)?;
        out.serialize_field("payload", &self.payload)?;
        out.end()
    }
}

/// A message on its way to a channel: the payload plus the fields a sender may choose.
/// Everything else (id, seq, sender, time) is stamped when the channel accepts it.
///
/// Every send method takes `impl Into<Outgoing<T>>`, so a bare payload works too.
///
/// ```
/// use exokern_actors::{MessageId, Outgoing};
///
/// let request = MessageId::random();
/// let msg = Outgoing::new("done")
///     .correlation(request)
///     .metadata("trace", "4bf92f35")
///     .unwrap();
/// assert_eq!(msg.payload(), &"done");
/// ```
#[derive(Debug, Clone)]
#[must_use = "an Outgoing message does nothing until it is sent through a handle"]
pub struct Outgoing<T> {
    correlation: Option<MessageId>,
    extras: Option<Box<Extras>>,
    payload: T,
}

impl<T> Outgoing<T> {
    /// A message with this payload and nothing else set.
    pub fn new(payload: T) -> Outgoing<T> {
        Outgoing {
            correlation: None,
            extras: None,
            payload,
        }
    }

    /// Links this message to another (a request it answers, a thread it belongs to).
    pub fn correlation(mut self, id: MessageId) -> Outgoing<T> {
        self.correlation = Some(id);
        self
    }

    /// Asks receivers to send replies to this channel.
    pub fn reply_to(mut self, channel: ChannelId) -> Outgoing<T> {
        self.extras().reply_to = Some(channel);
        self
    }

    /// Adds a metadata entry (see [`Metadata::insert`]).
    pub fn metadata(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Outgoing<T>, MetadataError> {
        self.extras().metadata.insert(key, value)?;
        Ok(self)
    }

    /// Replaces all metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> Outgoing<T> {
        self.extras().metadata = metadata;
        self
    }

    fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// The payload.
    pub fn payload(&self) -> &T {
        &self.payload
    }
}

impl<T> From<T> for Outgoing<T> {
    fn from(payload: T) -> Outgoing<T> {
        Outgoing::new(payload)
    }
}

/// A stamped envelope as it travels: shared, never copied.
pub type SharedEnvelope<T> = Arc<Envelope<T>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_bounded_and_validated() {
        let mut meta = Metadata::new();
        for i in 0..MAX_METADATA_ENTRIES {
            meta.insert(format!("k{i}"), "v").unwrap();
        }
        assert_eq!(
            meta.insert("one-more", "v"),
            Err(MetadataError::TooManyEntries)
        );
        // Replacing an existing key is still allowed when full.
        meta.insert("k0", "v2").unwrap();
        assert_eq!(meta.get("k0"), Some("v2"));
        assert!(matches!(
            Metadata::new().insert("", "v"),
            Err(MetadataError::BadKey(_))
        ));
        assert!(matches!(
            Metadata::new().insert("has space", "v"),
            Err(MetadataError::BadKey(_))
        ));
        assert!(matches!(
            Metadata::new().insert("k".repeat(MAX_METADATA_KEY_LEN + 1), "v"),
            Err(MetadataError::BadKey(_))
        ));
        assert!(matches!(
            Metadata::new().insert("k", "v".repeat(MAX_METADATA_VALUE_LEN + 1)),
            Err(MetadataError::ValueTooLong { len: 1025, .. })
        ));
    }

    #[test]
    fn a_plain_envelope_is_small_and_serializes_only_what_is_set() {
        assert!(std::mem::size_of::<Envelope<u64>>() <= 144);
        let channel = ChannelId::new("jobs").unwrap();
        let sender = SystemId::new("producer").unwrap();
        let plain = Envelope::stamp(&channel, Seq::new(1), &sender, None, Outgoing::new(7u64));
        assert!(plain.extras.is_none());
        let text = serde_json::to_string(&*plain).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = ["id", "seq", "channel", "sender", "sent_at", "payload"];
        let at: Vec<usize> = keys
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(json.as_object().unwrap().len(), keys.len(), "{text}");
        let millis = plain
            .sent_at()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert_eq!(json["sent_at"].as_u64().map(u128::from), Some(millis));

        let full = Envelope::stamp(
            &channel,
            Seq::new(2),
            &sender,
            Some(SystemId::new("consumer").unwrap()),
            Outgoing::new(8u64)
                .correlation(plain.id())
                .reply_to(ChannelId::new("answers").unwrap())
                .metadata("trace", "t1")
                .unwrap(),
        );
        let json = serde_json::to_value(&*full).unwrap();
        assert_eq!(json["recipient"], "consumer");
        assert_eq!(json["correlation"], plain.id().to_string());
        assert_eq!(json["reply_to"], "answers");
        assert_eq!(json["metadata"]["trace"], "t1");
        assert_eq!(full.reply_to().map(ChannelId::as_str), Some("answers"));
    }

    #[test]
    fn stamping_takes_identity_from_the_channel_not_the_caller() {
        let channel = ChannelId::new("jobs").unwrap();
        let sender = SystemId::new("producer").unwrap();
        let correlation = MessageId::random();
        let env = Envelope::stamp(
            &channel,
            Seq::new(7),
            &sender,
            None,
            Outgoing::new(42u32)
                .correlation(correlation)
                .metadata("trace", "t1")
                .unwrap(),
        );
        assert_eq!(env.seq(), Seq::new(7));
        assert_eq!(env.sender(), &sender);
        assert_eq!(env.channel(), &channel);
        assert_eq!(env.correlation(), Some(correlation));
        assert_eq!(env.metadata().get("trace"), Some("t1"));
        assert_eq!(*env.payload(), 42);
        assert!(env.sent_at() <= SystemTime::now());
    }
}
