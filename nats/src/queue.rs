//! [`NatsQueue`]: a work queue on a JetStream stream with work-queue retention, shared
//! by every kernel that opens it.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::Message;
use exokern_actors::store::{
    Deliveries, DeliveryTag, Fetched, Pending, Publication, Settlement, SharedQueue, StoreError,
};
use exokern_actors::{ChannelId, Seq};
use futures_util::stream::{self as streams, StreamExt};

use crate::batches::in_batches;
use crate::connection::Nats;
use crate::naming::{self, WORKERS};
use crate::publishing::Publisher;
use crate::setup::{check_same, create_stream};
use crate::NatsError;

/// How long a fetch of what is ready now may stay open on the server.
const QUICK_FETCH: Duration = Duration::from_secs(1);

/// The header naming the kernel that published a message.
pub const KERNEL_HEADER: &str = "Exokern-Kernel";
/// The header naming the system that sent a message, as its kernel stamped it.
pub const SENDER_HEADER: &str = "Exokern-Sender";

/// How a shared work queue is kept on the server. Every kernel sharing the queue must
/// declare it alike: a kernel that asks for other settings than the server holds is
/// refused with [`NatsError::Mismatch`].
#[derive(Debug, Clone)]
#[must_use = "a spec does nothing until given to `Nats::work_queue`"]
pub struct QueueSpec {
    stream: Option<String>,
    capacity: usize,
    ack_wait: Duration,
    max_attempts: Option<u32>,
}

impl Default for QueueSpec {
    fn default() -> QueueSpec {
        QueueSpec {
            stream: None,
            capacity: 10_000,
            ack_wait: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl QueueSpec {
    /// The stream's name (default: [`default_stream`](crate::default_stream) of the
    /// channel id).
    pub fn stream(mut self, name: impl Into<String>) -> QueueSpec {
        self.stream = Some(name.into());
        self
    }

    /// The most items the server holds for the queue (default 10,000); a send beyond
    /// it fails with `Full`.
    pub fn capacity(mut self, items: usize) -> QueueSpec {
        self.capacity = items;
        self
    }

    /// How long the server waits for word on a delivery before it delivers it again,
    /// to any kernel (default 30 s). A kernel keeps longer leases alive by itself; this
    /// is how soon the items of a kernel that died come back.
    pub fn ack_wait(mut self, wait: Duration) -> QueueSpec {
        self.ack_wait = wait;
        self
    }

    /// After this many deliveries without an ack an item goes to the dead-letter stream
    /// (default: unlimited).
    pub fn max_attempts(mut self, attempts: u32) -> QueueSpec {
        self.max_attempts = Some(attempts);
        self
    }
}

/// A work queue kept on a JetStream stream: give it to
/// [`WorkQueueBuilder::shared`](exokern_actors::channel::WorkQueueBuilder::shared).
#[derive(Debug, Clone)]
pub struct NatsQueue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    publisher: Publisher,
    dead: String,
    consumer: PullConsumer,
    ack_wait: Duration,
    max_attempts: Option<u32>,
}

impl Nats {
    /// Opens the shared work queue of `channel`, setting up its stream, its dead-letter
    /// stream and its consumer if this is the first kernel to open it.
    pub async fn work_queue(
        &self,
        channel: &ChannelId,
        spec: QueueSpec,
    ) -> Result<Arc<NatsQueue>, NatsError> {
        let stream = spec
            .stream
            .clone()
            .unwrap_or_else(|| naming::default_stream(channel));
        naming::check_stream(&stream)?;
        if spec.capacity == 0 || spec.ack_wait < Duration::from_millis(100) {
            return Err(NatsError::Invalid {
                reason: "a shared queue needs a capacity of at least 1 and an ack wait of at least 100 ms".to_owned(),
            });
        }
        if spec.max_attempts == Some(0) {
            return Err(NatsError::Invalid {
                reason: "max_attempts must be at least 1".to_owned(),
            });
        }
        let items = naming::items(&stream);
        let (dead_stream, dead) = naming::dead(&stream);
        let jetstream = &self.shared.jetstream;
        let setup = |what: &str| {
            let what = what.to_owned();
            move |e: &dyn std::fmt::Display| NatsError::Setup {
                what: what.clone(),
                detail: e.to_string(),
            }
        };
        let config = stream::Config {
            name: stream.clone(),
            subjects: vec![items.clone()],
            retention: RetentionPolicy::WorkQueue,
            max_messages: spec.capacity as i64,
            discard: DiscardPolicy::New,
            storage: StorageType::File,
            ..Default::default()
        };
        let held = create_stream(jetstream, config).await?;
        check_same(&stream, "capacity", held.max_messages, spec.capacity as i64)?;
        let dead_config = stream::Config {
            name: dead_stream,
            subjects: vec![dead.clone()],
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            ..Default::default()
        };
        create_stream(jetstream, dead_config).await?;
        let max_deliver = spec.max_attempts.map_or(-1, |n| i64::from(n) + 1);
        let handle = jetstream
            .get_stream(&stream)
            .await
            .map_err(|e| setup(&stream)(&e))?;
        let consumer: PullConsumer = match handle.get_consumer(WORKERS).await {
            Ok(consumer) => consumer,
            Err(_) => handle
                .create_consumer(pull::Config {
                    durable_name: Some(WORKERS.to_owned()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: spec.ack_wait,
                    max_deliver,
                    max_ack_pending: spec.capacity as i64,
                    ..Default::default()
                })
                .await
                .map_err(|e| setup(&format!("{stream}/{WORKERS}"))(&e))?,
        };
        let info = consumer.cached_info();
        check_same(
            &stream,
            "ack_wait",
            format!("{:?}", info.config.ack_wait),
            format!("{:?}", spec.ack_wait),
        )?;
        check_same(
            &stream,
            "max_attempts",
            info.config.max_deliver,
            max_deliver,
        )?;
        Ok(Arc::new(NatsQueue {
            inner: Arc::new(Inner {
                publisher: Publisher::new(Arc::clone(&self.shared), channel, &stream, items)
                    .bounded(spec.capacity),
                dead,
                consumer,
                ack_wait: spec.ack_wait,
                max_attempts: spec.max_attempts,
            }),
        }))
    }
}

impl NatsQueue {
    /// The stream the queue is kept in.
    pub fn stream(&self) -> &str {
        self.inner.publisher.stream()
    }
}

impl Inner {
    fn delivery(&self, message: Message) -> Result<Fetched, StoreError> {
        let info = message.info().map_err(|e| {
            self.publisher
                .refused(format!("a delivery without JetStream metadata ({e})"))
        })?;
        let seq = Seq::new(info.stream_sequence);
        let delivery = u32::try_from(info.delivered).unwrap_or(u32::MAX);
        let origin = crate::publishing::origin(&message);
        let tag = message
            .reply
            .as_ref()
            .map(|reply| DeliveryTag::new(reply.as_str()))
            .ok_or_else(|| self.publisher.refused("a delivery without an ack subject"))?;
        Ok(Fetched::new(
            seq,
            delivery,
            message.payload.to_vec(),
            origin,
            tag,
        ))
    }
}

impl SharedQueue for NatsQueue {
    fn publish(&self, items: Vec<Publication>) -> Pending<Vec<Seq>> {
        let this = Arc::clone(&self.inner);
        Box::pin(async move { this.publisher.publish(&items).await })
    }

    fn fetch(&self, max: usize, wait: Option<Duration>) -> Deliveries {
        let this = Arc::clone(&self.inner);
        let opened = async move {
            let queue = &this;
            let batch = match wait {
                Some(wait) => {
                    queue
                        .consumer
                        .batch()
                        .max_messages(max)
                        .expires(wait)
                        .messages()
                        .await
                }
                // What is ready now; the expiry only bounds a fetch whose answer a dropped
                // connection lost.
                None => {
                    queue
                        .consumer
                        .fetch()
                        .max_messages(max)
                        .expires(QUICK_FETCH)
                        .messages()
                        .await
                }
            };
            match batch {
                Ok(batch) => {
                    let queue = Arc::clone(&this);
                    batch
                        .map(move |message| match message {
                            Ok(message) => queue.delivery(message),
                            Err(error) => Err(queue
                                .publisher
                                .unavailable(format!("a fetch broke off ({error})"))),
                        })
                        .boxed()
                }
                Err(error) => {
                    let error = this
                        .publisher
                        .unavailable(format!("a fetch was refused ({error})"));
                    streams::once(async move { Err(error) }).boxed()
                }
            }
        };
        in_batches(opened, max)
    }

    fn settle(&self, tag: &DeliveryTag, how: Settlement) -> Pending<()> {
        let this = Arc::clone(&self.inner);
        let reply = tag.as_str().to_owned();
        Box::pin(async move {
            let queue = &this;
            let client = &queue.publisher.connected().client;
            match how {
                // An ack is answered only once the server confirms it, so an ack the
                // caller was told of is one the server has.
                Settlement::Ack => client
                    .request(reply, AckKind::Ack.into())
                    .await
                    .map(drop)
                    .map_err(|e| {
                        queue
                            .publisher
                            .unavailable(format!("an ack was not confirmed ({e})"))
                    }),
                Settlement::Retry(delay) => client
                    .publish(reply, AckKind::Nak(delay).into())
                    .await
                    .map_err(|e| {
                        queue
                            .publisher
                            .unavailable(format!("a retry was not sent ({e})"))
                    }),
                Settlement::Working => client
                    .publish(reply, AckKind::Progress.into())
                    .await
                    .map_err(|e| {
                        queue
                            .publisher
                            .unavailable(format!("word that work goes on was not sent ({e})"))
                    }),
            }
        })
    }

    fn bury(&self, tag: &DeliveryTag, letter: Vec<u8>) -> Pending<()> {
        let this = Arc::clone(&self.inner);
        let reply = tag.as_str().to_owned();
        Box::pin(async move {
            let queue = &this;
            let kept = queue
                .publisher
                .connected()
                .jetstream
                .publish(queue.dead.clone(), letter.into())
                .await
                .map_err(|e| {
                    queue
                        .publisher
                        .unavailable(format!("a dead letter was not sent ({e})"))
                })?;
            kept.await.map_err(|e| {
                queue
                    .publisher
                    .unavailable(format!("a dead letter was not kept ({e})"))
            })?;
            queue
                .publisher
                .connected()
                .client
                .request(reply, AckKind::Term.into())
                .await
                .map(drop)
                .map_err(|e| {
                    queue
                        .publisher
                        .unavailable(format!("a dead letter's end was not confirmed ({e})"))
                })
        })
    }

    fn ack_wait(&self) -> Duration {
        self.inner.ack_wait
    }

    fn max_attempts(&self) -> Option<u32> {
        self.inner.max_attempts
    }
}
