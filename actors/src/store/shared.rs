//! [`SharedQueue`]: a work queue a server keeps, shared by the kernels of many processes.
//!
//! A [`Log`](super::Log) belongs to one channel actor, which holds the queue itself and
//! only keeps a copy on disk. A shared queue is the other way round: the server holds
//! the items, and every kernel's channel actor that opens it is one of many consumers.
//! The actor publishes what its holders send, fetches what its claimers and workers have
//! room for, and settles each delivery with the server; leases, claim tokens, rights
//! and push workers stay the actor's own, as on any other queue.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;

use super::StoreError;
use crate::ids::{MessageId, Seq, SystemId};

/// A future a shared queue answers with.
pub type Pending<R> = Pin<Box<dyn Future<Output = Result<R, StoreError>> + Send>>;

/// The deliveries of one fetch, in the batches they came in; the stream ends when the
/// fetch has brought all it asked for or its wait is over.
pub type Deliveries = Pin<Box<dyn Stream<Item = Result<Vec<Fetched>, StoreError>> + Send>>;

/// A work queue kept by a server. Every operation may wait on the network; each says
/// in its error what failed and whether anything changed.
pub trait SharedQueue: Send + Sync + fmt::Debug + 'static {
    /// Publishes `items`, in order, each kept by the server before this resolves.
    /// Answers each item's seq, which the server gives: increasing, but with gaps where
    /// other kernels published in between. A publish retried after a lost answer is
    /// kept once, by the item's message id.
    fn publish(&self, items: Vec<Publication>) -> Pending<Vec<Seq>>;

    /// Takes up to `max` deliveries for this kernel, as they come. With `wait`, the
    /// fetch stays open up to that long; without, it ends once what is ready now has
    /// come. Each delivery is this kernel's until it is settled or until
    /// [`SharedQueue::ack_wait`] passes without word from it, when the server delivers
    /// it again, elsewhere if need be.
    fn fetch(&self, max: usize, wait: Option<Duration>) -> Deliveries;

    /// Settles one delivery; resolves once the server has it.
    fn settle(&self, tag: &DeliveryTag, how: Settlement) -> Pending<()>;

    /// Keeps `letter` in the queue's dead-letter stream, then ends the delivery for
    /// good: the item is never delivered again.
    fn bury(&self, tag: &DeliveryTag, letter: Vec<u8>) -> Pending<()>;

    /// How long the server waits for word on a delivery before it delivers it again.
    fn ack_wait(&self) -> Duration;

    /// How many deliveries of one item the queue allows before giving it up, if it is
    /// bounded. The server makes one more, so that an item whose last attempt was held
    /// by a kernel that stopped reaches a kernel that gives it up.
    fn max_attempts(&self) -> Option<u32>;
}

/// An item to publish.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Publication {
    /// The message's id: a publish retried with the same id is kept once.
    pub id: MessageId,
    /// The system that sent it, as its kernel stamped it.
    pub sender: SystemId,
    /// The encoded envelope.
    pub record: Vec<u8>,
}

impl Publication {
    /// An item to publish.
    pub fn new(id: MessageId, sender: SystemId, record: Vec<u8>) -> Publication {
        Publication { id, sender, record }
    }
}

/// One delivery of an item, as fetched.
#[derive(Debug)]
#[non_exhaustive]
pub struct Fetched {
    /// The item's seq, given when it was published.
    pub seq: Seq,
    /// Deliveries of the item so far, this one included.
    pub delivery: u32,
    /// The encoded envelope, as published.
    pub record: Vec<u8>,
    /// Who sent it, as the server received it.
    pub origin: Origin,
    /// What settles this delivery.
    pub tag: DeliveryTag,
}

impl Fetched {
    /// A delivery.
    pub fn new(
        seq: Seq,
        delivery: u32,
        record: Vec<u8>,
        origin: Origin,
        tag: DeliveryTag,
    ) -> Fetched {
        Fetched {
            seq,
            delivery,
            record,
            origin,
            tag,
        }
    }
}

/// Who sent a message through a server, as the sending kernel marked it beside the
/// record: a channel refuses a message whose marks are missing or disagree with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// The sending kernel's name.
    pub kernel: Option<String>,
    /// The sending system, as its kernel stamped it.
    pub sender: Option<String>,
}

impl Origin {
    /// An origin.
    pub fn new(kernel: Option<String>, sender: Option<String>) -> Origin {
        Origin { kernel, sender }
    }
}

/// What names one delivery to the server that made it; opaque to the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTag(Arc<str>);

impl DeliveryTag {
    /// A tag, as the store spells it.
    pub fn new(tag: impl Into<Arc<str>>) -> DeliveryTag {
        DeliveryTag(tag.into())
    }

    /// The tag, as the store spelled it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a delivery is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Done: the item leaves the queue.
    Ack,
    /// Not done: deliver it again, after `delay` if given.
    Retry(Option<Duration>),
    /// Still working: the wait before the server delivers it again starts over.
    Working,
}

/// A broadcast kept by a server: one stream that every kernel opening it publishes to
/// and follows, in the server's order, so that every kernel's subscribers see the same
/// messages with the same seqs.
pub trait SharedStream: Send + Sync + fmt::Debug + 'static {
    /// Publishes one message; answers its seq once the server kept it. A publish
    /// retried after a lost answer is kept once, by the message id.
    fn publish(&self, item: Publication) -> Pending<Seq>;

    /// The messages the stream held when it was opened, oldest first: at most its
    /// retention.
    fn history(&self) -> Vec<Followed>;

    /// Every message after `after`, in seq order, as they come, for as long as the
    /// stream is polled. After an error item the stream ends; follow again from the
    /// last seq received.
    fn follow(&self, after: Seq) -> Following;

    /// How many of the latest messages the server keeps.
    fn retention(&self) -> usize;
}

/// A message of a shared stream, as followed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Followed {
    /// Its seq in the stream.
    pub seq: Seq,
    /// The encoded envelope, as published.
    pub record: Vec<u8>,
    /// Who sent it, as the server received it.
    pub origin: Origin,
}

impl Followed {
    /// A followed message.
    pub fn new(seq: Seq, record: Vec<u8>, origin: Origin) -> Followed {
        Followed {
            seq,
            record,
            origin,
        }
    }
}

/// The messages of a shared stream, in the batches they came in.
pub type Following = Pin<Box<dyn Stream<Item = Result<Vec<Followed>, StoreError>> + Send>>;
