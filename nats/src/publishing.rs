//! [`Publisher`]: what a shared channel's publishes have in common, on any stream: the
//! kernel's headers, the message id that makes a retry harmless, and waiting out a
//! server that went away, within the kernel's bound.

use std::sync::Arc;
use std::time::Duration;

use async_nats::header::HeaderMap;
use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use exokern_actors::store::{Origin, Publication, StoreError};
use exokern_actors::{ChannelId, Seq};
use tokio::time::Instant;

use crate::connection::Connected;
use crate::{KERNEL_HEADER, SENDER_HEADER};

/// Who sent `message`, by the headers its kernel set.
pub(crate) fn origin(message: &async_nats::Message) -> Origin {
    let header = |name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(name))
            .map(|value| value.as_str().to_owned())
    };
    Origin::new(header(KERNEL_HEADER), header(SENDER_HEADER))
}

/// Publishes one channel's messages to its stream's subject.
#[derive(Debug)]
pub(crate) struct Publisher {
    nats: Arc<Connected>,
    channel: ChannelId,
    stream: String,
    subject: String,
    /// A work queue's capacity, named when the stream is full.
    capacity: Option<usize>,
}

impl Publisher {
    pub(crate) fn new(
        nats: Arc<Connected>,
        channel: &ChannelId,
        stream: &str,
        subject: String,
    ) -> Publisher {
        Publisher {
            nats,
            channel: channel.clone(),
            stream: stream.to_owned(),
            subject,
            capacity: None,
        }
    }

    /// The same publisher, for a stream that refuses messages beyond `capacity`.
    pub(crate) fn bounded(mut self, capacity: usize) -> Publisher {
        self.capacity = Some(capacity);
        self
    }

    pub(crate) fn connected(&self) -> &Connected {
        &self.nats
    }

    pub(crate) fn stream(&self) -> &str {
        &self.stream
    }

    /// Publishes `items` in order, every one sent before the first answer is awaited
    /// (one round trip for the batch), each sent again while the server cannot be
    /// reached, within the kernel's bound. Answers their seqs.
    pub(crate) async fn publish(&self, items: &[Publication]) -> Result<Vec<Seq>, StoreError> {
        let deadline = Instant::now() + self.nats.retry_for;
        let mut sent = Vec::with_capacity(items.len());
        for item in items {
            sent.push(self.send(item).await);
        }
        let mut seqs = Vec::with_capacity(items.len());
        for (item, sent) in items.iter().zip(sent) {
            seqs.push(self.confirm(item, sent, deadline).await?);
        }
        Ok(seqs)
    }

    /// A maker of [`StoreError::Unavailable`] that outlives the publisher.
    pub(crate) fn unavailable_fn(&self) -> impl Fn(String) -> StoreError + Send + 'static {
        let server = self.nats.url.clone();
        move |detail| StoreError::Unavailable {
            server: server.clone(),
            detail,
        }
    }

    pub(crate) fn unavailable(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable {
            server: self.nats.url.clone(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn refused(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Refused {
            log: self.channel.to_string(),
            detail: detail.to_string(),
        }
    }

    async fn send(&self, item: &Publication) -> Result<PublishAckFuture, PublishError> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", item.id.to_string().as_str());
        headers.insert(KERNEL_HEADER, self.nats.kernel.as_str());
        headers.insert(SENDER_HEADER, item.sender.as_str());
        self.nats
            .jetstream
            .publish_with_headers(self.subject.clone(), headers, item.record.clone().into())
            .await
    }

    /// Waits for the server to keep `item`, sending it again while the server cannot
    /// be reached, until `deadline`.
    async fn confirm(
        &self,
        item: &Publication,
        mut sent: Result<PublishAckFuture, PublishError>,
        deadline: Instant,
    ) -> Result<Seq, StoreError> {
        let mut pause = Duration::from_millis(50);
        loop {
            let outcome = match sent {
                Ok(ack) => ack.await,
                Err(error) => Err(error),
            };
            let error = match outcome {
                Ok(ack) => return Ok(Seq::new(ack.sequence)),
                Err(error) => error,
            };
            let detail = error.to_string();
            if let (Some(capacity), true) = (self.capacity, detail.contains("maximum messages")) {
                return Err(StoreError::AtCapacity {
                    log: self.channel.to_string(),
                    capacity,
                });
            }
            // A server that is starting again answers for no stream until it has read
            // its streams back, so a missing stream is waited out too.
            let missing = error.kind() == PublishErrorKind::StreamNotFound;
            match error.kind() {
                PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe
                | PublishErrorKind::StreamNotFound
                | PublishErrorKind::Other => {}
                _ => return Err(self.refused(detail)),
            }
            if Instant::now() + pause > deadline {
                let waited = self.nats.retry_for;
                return Err(if missing {
                    self.refused(format!("the stream `{}` is gone ({detail} for {waited:?}): was it deleted? A kernel that opens the channel again sets it up", self.stream))
                } else {
                    self.unavailable(format!("a send was not kept within {waited:?} ({detail})"))
                });
            }
            tracing::debug!(channel = %self.channel, %detail, "a send was not answered; sending it again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
            sent = self.send(item).await;
        }
    }
}
