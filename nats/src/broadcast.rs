//! [`NatsStream`]: a broadcast on a JetStream stream with limits retention, published
//! to and followed by every kernel that opens it.

use std::sync::Arc;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::Message;
use exokern_actors::store::{Followed, Following, Pending, Publication, SharedStream};
use exokern_actors::{ChannelId, Seq};
use futures_util::stream::{self as streams, StreamExt};
use tokio::time::Instant;

use crate::batches::in_batches;
use crate::connection::Nats;
use crate::naming;
use crate::publishing::Publisher;
use crate::setup::{check_same, create_stream};
use crate::NatsError;

/// The most followed messages taken in together.
const FOLLOW_BATCH: usize = 256;

/// How a shared broadcast is kept on the server; every kernel sharing it must declare
/// it alike.
#[derive(Debug, Clone)]
#[must_use = "a spec does nothing until given to `Nats::broadcast`"]
pub struct StreamSpec {
    stream: Option<String>,
    retention: usize,
}

impl Default for StreamSpec {
    fn default() -> StreamSpec {
        StreamSpec {
            stream: None,
            retention: 1024,
        }
    }
}

impl StreamSpec {
    /// The stream's name (default: [`default_stream`](crate::default_stream) of the
    /// channel id).
    pub fn stream(mut self, name: impl Into<String>) -> StreamSpec {
        self.stream = Some(name.into());
        self
    }

    /// How many of the latest messages the server keeps for late readers (default
    /// 1,024); each kernel following the stream keeps them too.
    pub fn retention(mut self, messages: usize) -> StreamSpec {
        self.retention = messages;
        self
    }
}

/// A broadcast kept on a JetStream stream: give it to
/// [`BroadcastBuilder::shared`](exokern_actors::channel::BroadcastBuilder::shared).
#[derive(Debug, Clone)]
pub struct NatsStream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    publisher: Publisher,
    handle: stream::Stream,
    retention: usize,
    history: Vec<Followed>,
}

impl Nats {
    /// Opens the shared broadcast of `channel`, setting up its stream if this is the
    /// first kernel to open it, and reads back what the stream holds.
    pub async fn broadcast(
        &self,
        channel: &ChannelId,
        spec: StreamSpec,
    ) -> Result<Arc<NatsStream>, NatsError> {
        let name = spec
            .stream
            .clone()
            .unwrap_or_else(|| naming::default_stream(channel));
        naming::check_stream(&name)?;
        if spec.retention == 0 {
            return Err(NatsError::Invalid {
                reason: "a shared broadcast keeps at least 1 message".to_owned(),
            });
        }
        let subject = naming::messages(&name);
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            retention: RetentionPolicy::Limits,
            max_messages: spec.retention as i64,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            ..Default::default()
        };
        let held = create_stream(&self.shared.jetstream, config).await?;
        check_same(&name, "retention", held.max_messages, spec.retention as i64)?;
        let mut handle =
            self.shared
                .jetstream
                .get_stream(&name)
                .await
                .map_err(|e| NatsError::Setup {
                    what: name.clone(),
                    detail: e.to_string(),
                })?;
        let last = handle
            .info()
            .await
            .map_err(|e| NatsError::Setup {
                what: name.clone(),
                detail: e.to_string(),
            })?
            .state
            .last_sequence;
        let publisher = Publisher::new(Arc::clone(&self.shared), channel, &name, subject);
        let history = read_history(&handle, &publisher, last).await?;
        Ok(Arc::new(NatsStream {
            inner: Arc::new(Inner {
                publisher,
                handle,
                retention: spec.retention,
                history,
            }),
        }))
    }
}

/// The messages the stream holds, up to `last`, oldest first.
async fn read_history(
    handle: &stream::Stream,
    publisher: &Publisher,
    last: u64,
) -> Result<Vec<Followed>, NatsError> {
    let mut history = Vec::new();
    if last == 0 {
        return Ok(history);
    }
    let setup = |detail: String| NatsError::Setup {
        what: publisher.stream().to_owned(),
        detail,
    };
    let mut messages = ordered(handle, DeliverPolicy::All)
        .await
        .map_err(|e| setup(e.to_string()))?;
    let deadline = Instant::now() + publisher.connected().retry_for;
    while history.last().is_none_or(|m: &Followed| m.seq.get() < last) {
        let next = tokio::time::timeout_at(deadline, messages.next())
            .await
            .map_err(|_| setup(format!("its messages up to {last} did not come")))?;
        match next {
            Some(Ok(message)) => history.push(followed(message).map_err(|e| setup(e.to_string()))?),
            Some(Err(e)) => return Err(setup(e.to_string())),
            None => return Err(setup("reading its messages broke off".to_owned())),
        }
    }
    Ok(history)
}

type Messages =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Message, async_nats::Error>> + Send>>;

/// An ordered consumer of `handle`: every message from `policy` on, in order, without
/// acks; it recreates itself on a gap or a dropped connection.
async fn ordered(
    handle: &stream::Stream,
    policy: DeliverPolicy,
) -> Result<Messages, async_nats::Error> {
    let consumer = handle
        .create_consumer(OrderedConfig {
            deliver_policy: policy,
            ..Default::default()
        })
        .await?;
    let messages = consumer.messages().await?;
    Ok(Box::pin(
        messages.map(|m| m.map_err(async_nats::Error::from)),
    ))
}

fn followed(message: Message) -> Result<Followed, async_nats::Error> {
    let info = message.info()?;
    let seq = Seq::new(info.stream_sequence);
    let origin = crate::publishing::origin(&message);
    Ok(Followed::new(seq, message.payload.to_vec(), origin))
}

impl SharedStream for NatsStream {
    fn publish(&self, item: Publication) -> Pending<Seq> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let seqs = inner.publisher.publish(std::slice::from_ref(&item)).await?;
            Ok(seqs[0])
        })
    }

    fn history(&self) -> Vec<Followed> {
        self.inner.history.clone()
    }

    fn follow(&self, after: Seq) -> Following {
        let inner = Arc::clone(&self.inner);
        let opened = async move {
            let policy = DeliverPolicy::ByStartSequence {
                start_sequence: after.get() + 1,
            };
            match ordered(&inner.handle, policy).await {
                Ok(messages) => {
                    let unavailable = inner.publisher.unavailable_fn();
                    messages
                        .map(move |message| {
                            message
                                .and_then(followed)
                                .map_err(|e| unavailable(format!("following broke off ({e})")))
                        })
                        .boxed()
                }
                Err(error) => {
                    let error = inner
                        .publisher
                        .unavailable(format!("the stream could not be followed ({error})"));
                    streams::once(async move { Err(error) }).boxed()
                }
            }
        };
        in_batches(opened, FOLLOW_BATCH)
    }

    fn retention(&self) -> usize {
        self.inner.retention
    }
}
