//! How an envelope is kept in a log: every field it was stamped with, its seq aside
//! (the log's key), as JSON, so a store's records stay readable with ordinary tools.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Origin, Publication, StoreError};
use crate::envelope::{Envelope, Metadata, Outgoing, SharedEnvelope};
use crate::ids::{ChannelId, MessageId, Seq, SystemId};

#[derive(Serialize)]
struct Writing<'a, T> {
    id: MessageId,
    sent_at: u64,
    sender: &'a SystemId,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<&'a SystemId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation: Option<MessageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a ChannelId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metadata: Vec<(&'a str, &'a str)>,
    payload: &'a T,
}

#[derive(Deserialize)]
struct Reading<T> {
    id: MessageId,
    sent_at: u64,
    sender: SystemId,
    #[serde(default)]
    recipient: Option<SystemId>,
    #[serde(default)]
    correlation: Option<MessageId>,
    #[serde(default)]
    reply_to: Option<ChannelId>,
    #[serde(default)]
    metadata: Vec<(String, String)>,
    payload: T,
}

/// The record an envelope is kept as.
pub(crate) fn encode_envelope<T: Serialize>(envelope: &Envelope<T>) -> Vec<u8> {
    let writing = Writing {
        id: envelope.id(),
        sent_at: envelope.sent_at_nanos(),
        sender: envelope.sender(),
        recipient: envelope.recipient(),
        correlation: envelope.correlation(),
        reply_to: envelope.reply_to(),
        metadata: envelope.metadata().iter().collect(),
        payload: envelope.payload(),
    };
    serde_json::to_vec(&writing).expect("an envelope's fields and a Serialize payload encode")
}

/// The envelope kept as `record` at `seq` of `channel`.
pub(crate) fn decode_envelope<T: DeserializeOwned>(
    channel: &ChannelId,
    seq: Seq,
    record: &[u8],
) -> Result<SharedEnvelope<T>, StoreError> {
    let undecodable = |detail: String| StoreError::Undecodable {
        log: channel.to_string(),
        seq: seq.get(),
        detail,
    };
    let reading: Reading<T> =
        serde_json::from_slice(record).map_err(|e| undecodable(e.to_string()))?;
    let mut metadata = Metadata::new();
    for (key, value) in reading.metadata {
        metadata
            .insert(key, value)
            .map_err(|e| undecodable(e.to_string()))?;
    }
    Ok(Envelope::restore(
        channel,
        seq,
        reading.id,
        reading.sent_at,
        reading.sender,
        reading.recipient,
        reading.correlation,
        reading.reply_to,
        metadata,
        reading.payload,
    ))
}

/// The envelope a shared channel's server delivered as `record`, with the marks the
/// sending kernel set beside it: its name and the sending system's. A message without
/// them, or whose sender differs from its record's, did not come from a kernel.
fn decode_from_kernel<T: DeserializeOwned>(
    channel: &ChannelId,
    seq: Seq,
    record: &[u8],
    origin: &Origin,
) -> Result<SharedEnvelope<T>, StoreError> {
    let unverified = |detail: String| StoreError::Unverified {
        log: channel.to_string(),
        seq: seq.get(),
        detail,
    };
    let kernel = origin
        .kernel
        .as_deref()
        .ok_or_else(|| unverified("it carries no kernel name".to_owned()))?;
    let envelope = decode_envelope::<T>(channel, seq, record)?;
    let sender = origin.sender.as_deref();
    if sender != Some(envelope.sender().as_str()) {
        return Err(unverified(format!(
            "its record names the sender `{}`, its headers {sender:?}",
            envelope.sender()
        )));
    }
    let envelope = std::sync::Arc::try_unwrap(envelope)
        .unwrap_or_else(|_| unreachable!("a decoded envelope is not shared yet"));
    Ok(std::sync::Arc::new(envelope.sent_by_kernel(kernel)))
}

/// How a record a server delivered becomes an envelope of the payload type.
type Decode<T> = fn(&ChannelId, Seq, &[u8], &Origin) -> Result<SharedEnvelope<T>, StoreError>;

/// How a shared channel's envelopes go to its server and come back, typed by the
/// payload: made where the payload's serde bounds are in scope, used where they are
/// not.
pub(crate) struct SharedCodec<T> {
    encode: fn(&Envelope<T>) -> Vec<u8>,
    decode: Decode<T>,
}

impl<T> SharedCodec<T> {
    pub(crate) fn new() -> SharedCodec<T>
    where
        T: Serialize + DeserializeOwned,
    {
        SharedCodec {
            encode: encode_envelope::<T>,
            decode: decode_from_kernel::<T>,
        }
    }

    /// The record `envelope` is published as.
    pub(crate) fn encode(&self, envelope: &Envelope<T>) -> Vec<u8> {
        (self.encode)(envelope)
    }

    /// Stamps `outgoing` as `holder` sends it on `channel`, for the server to keep: the
    /// server gives the seq, so the record holds none.
    pub(crate) fn publication(
        &self,
        channel: &ChannelId,
        holder: &SystemId,
        outgoing: Outgoing<T>,
    ) -> Publication {
        let envelope = Envelope::stamp(channel, Seq::ZERO, holder, None, outgoing);
        Publication::new(envelope.id(), holder.clone(), self.encode(&envelope))
    }

    /// The envelope the server delivered at `seq`, if a kernel sent it.
    pub(crate) fn decode(
        &self,
        channel: &ChannelId,
        seq: Seq,
        record: &[u8],
        origin: &Origin,
    ) -> Result<SharedEnvelope<T>, StoreError> {
        (self.decode)(channel, seq, record, origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Outgoing;

    #[test]
    fn an_envelope_comes_back_as_it_was_stamped() {
        let channel = ChannelId::new("jobs").unwrap();
        let sender = SystemId::new("producer").unwrap();
        let plain = Envelope::stamp(&channel, Seq::new(3), &sender, None, Outgoing::new(7u64));
        let back: SharedEnvelope<u64> =
            decode_envelope(&channel, Seq::new(3), &encode_envelope(&plain)).unwrap();
        assert_eq!(back.id(), plain.id());
        assert_eq!(back.seq(), Seq::new(3));
        assert_eq!(back.sent_at(), plain.sent_at());
        assert_eq!(back.sender(), &sender);
        assert_eq!(*back.payload(), 7);
        assert!(back.metadata().is_empty() && back.reply_to().is_none());

        let full = Envelope::stamp(
            &channel,
            Seq::new(4),
            &sender,
            Some(SystemId::new("consumer").unwrap()),
            Outgoing::new("x".to_string())
                .correlation(plain.id())
                .reply_to(ChannelId::new("answers").unwrap())
                .metadata("trace", "t1")
                .unwrap(),
        );
        let back: SharedEnvelope<String> =
            decode_envelope(&channel, Seq::new(4), &encode_envelope(&full)).unwrap();
        assert_eq!(back.recipient(), full.recipient());
        assert_eq!(back.correlation(), Some(plain.id()));
        assert_eq!(back.reply_to(), full.reply_to());
        assert_eq!(back.metadata(), full.metadata());
    }

    #[test]
    fn a_record_of_another_type_is_refused_by_name() {
        let channel = ChannelId::new("jobs").unwrap();
        let sender = SystemId::new("producer").unwrap();
        let env = Envelope::stamp(&channel, Seq::new(9), &sender, None, Outgoing::new("x"));
        let error =
            decode_envelope::<u64>(&channel, Seq::new(9), &encode_envelope(&env)).unwrap_err();
        assert!(
            matches!(error, StoreError::Undecodable { seq: 9, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("`jobs`"), "{error}");
    }
}
