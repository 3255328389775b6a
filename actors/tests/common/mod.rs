//! Helpers shared by the integration tests.
#![allow(dead_code)]

use exokern_actors::channel::{DeadLetter, WorkQueueBuilder};
use exokern_actors::prelude::*;

/// A system id from a literal.
pub(crate) fn sid(name: &str) -> SystemId {
    SystemId::new(name).expect("valid system id")
}

/// A channel id from a literal.
pub(crate) fn cid(name: &str) -> ChannelId {
    ChannelId::new(name).expect("valid channel id")
}

/// Payloads of a list of envelopes.
pub(crate) fn payloads<T: Clone>(envs: &[std::sync::Arc<Envelope<T>>]) -> Vec<T> {
    envs.iter().map(|e| e.payload().clone()).collect()
}

/// A work queue `jobs` whose dead letters go to `jobs.dead`, with the handles the tests
/// use: a producer, a worker, and `ops`, who reads the dead letters.
pub(crate) struct QueueWithDeadLetters {
    pub queue: WorkQueue<u32>,
    pub producer: WorkQueueHandle<u32>,
    pub worker: WorkQueueHandle<u32>,
    pub ops: WorkQueueHandle<DeadLetter<u32>>,
}

/// Builds a [`QueueWithDeadLetters`]; `configure` sets the queue's other options.
pub(crate) async fn queue_with_dead_letters(
    configure: impl FnOnce(WorkQueueBuilder<u32>) -> WorkQueueBuilder<u32>,
) -> QueueWithDeadLetters {
    let dead = WorkQueue::<DeadLetter<u32>>::builder(cid("jobs.dead"))
        .start()
        .unwrap();
    let writer = dead.grant(sid("jobs"), Rights::WRITE).await.unwrap();
    let ops = dead.grant(sid("ops"), Rights::READ).await.unwrap();
    let queue = configure(WorkQueue::<u32>::builder(cid("jobs")).dead_letter(writer))
        .start()
        .unwrap();
    let producer = queue.grant(sid("producer"), Rights::WRITE).await.unwrap();
    let worker = queue.grant(sid("worker"), Rights::READ).await.unwrap();
    QueueWithDeadLetters {
        queue,
        producer,
        worker,
        ops,
    }
}
