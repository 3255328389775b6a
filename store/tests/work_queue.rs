//! A work queue on a disk store, stopped and started again in one process: what a
//! restart keeps, what it drops, and how damage is refused.

use std::sync::Arc;
use std::time::Duration;

use exokern_actors::channel::{ChannelError, StartError, WorkQueue, WorkQueueHandle};
use exokern_actors::store::{Store, StoreError};
use exokern_actors::{Rights, Seq, SystemId};
use exokern_store::{DiskStore, SyncMode, FILE_NAME};

const LEASE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Queue {
    queue: WorkQueue<String>,
    producer: WorkQueueHandle<String>,
    worker: WorkQueueHandle<String>,
}

async fn start(store: &Arc<DiskStore>) -> Result<Queue, StartError> {
    start_sized(store, 1000).await
}

async fn start_sized(store: &Arc<DiskStore>, capacity: usize) -> Result<Queue, StartError> {
    let queue = WorkQueue::<String>::builder("jobs".parse().unwrap())
        .capacity(capacity)
        .store(store.clone() as Arc<dyn Store>)
        .start()?;
    let producer = queue
        .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
        .await
        .unwrap();
    let worker = queue
        .grant(SystemId::new("worker").unwrap(), Rights::READ)
        .await
        .unwrap();
    Ok(Queue {
        queue,
        producer,
        worker,
    })
}

/// Stops the queue and waits until its log is free again.
async fn stop(queue: Queue) {
    queue.queue.stop().await;
    drop(queue);
    tokio::task::yield_now().await;
}

async fn restart(store: &Arc<DiskStore>) -> Queue {
    restart_sized(store, 1000).await
}

async fn restart_sized(store: &Arc<DiskStore>, capacity: usize) -> Queue {
    for _ in 0..100 {
        match start_sized(store, capacity).await {
            Ok(queue) => return queue,
            Err(StartError::Store {
                error: StoreError::InUse { .. },
                ..
            }) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    panic!("the stopped queue never let go of its log");
}

fn store_error(error: &StartError) -> Option<&StoreError> {
    match error {
        StartError::Store { error, .. } => Some(error),
        _ => None,
    }
}

fn payloads(items: &[exokern_actors::channel::Inbound<String>]) -> Vec<String> {
    items
        .iter()
        .map(|i| i.envelope().payload().clone())
        .collect()
}

#[actix_rt::test]
async fn unacked_items_come_back_in_order_and_acked_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = start(&store).await.unwrap();
    for i in 0..10 {
        assert_eq!(
            q.producer.send(format!("job {i}")).await.unwrap(),
            Seq::new(i + 1)
        );
    }
    let claimed = q.worker.claim(4, LEASE).await.unwrap();
    assert_eq!(payloads(&claimed), ["job 0", "job 1", "job 2", "job 3"]);
    for item in &claimed[..2] {
        q.worker.ack(item.claim_token().unwrap()).await.unwrap();
    }
    stop(q).await;

    let q = restart(&store).await;
    let back = q.worker.claim(100, LEASE).await.unwrap();
    let expected: Vec<String> = (2..10).map(|i| format!("job {i}")).collect();
    assert_eq!(
        payloads(&back),
        expected,
        "acked items never come back; the rest do, in order"
    );
    // Items 2 and 3 were claimed when the queue stopped: this is their second delivery.
    let attempts: Vec<u32> = back.iter().map(|i| i.attempt()).collect();
    assert_eq!(attempts, [2, 2, 1, 1, 1, 1, 1, 1]);
    assert_eq!(
        q.producer.send("job 10".to_string()).await.unwrap(),
        Seq::new(11),
        "seqs go on from the last one, never reused"
    );
    stop(q).await;
}

#[actix_rt::test]
async fn seqs_go_on_after_every_item_was_acked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = start(&store).await.unwrap();
    q.producer
        .send_batch((0..5).map(|i| format!("{i}")))
        .await
        .unwrap();
    for item in q.worker.claim(5, LEASE).await.unwrap() {
        q.worker.ack(item.claim_token().unwrap()).await.unwrap();
    }
    stop(q).await;
    let q = restart(&store).await;
    assert!(q.worker.claim(5, LEASE).await.unwrap().is_empty());
    assert_eq!(
        q.producer.send("next".to_string()).await.unwrap(),
        Seq::new(6)
    );
    stop(q).await;
}

#[actix_rt::test]
async fn a_nack_reason_and_attempts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        DiskStore::builder(dir.path())
            .sync(SyncMode::Always)
            .open()
            .unwrap(),
    );
    let q = start(&store).await.unwrap();
    q.producer.send("flaky".to_string()).await.unwrap();
    let first = q.worker.claim(1, LEASE).await.unwrap();
    q.worker
        .nack(first[0].claim_token().unwrap(), Some("timeout"))
        .await
        .unwrap();
    let second = q.worker.claim(1, LEASE).await.unwrap();
    assert_eq!(second[0].attempt(), 2);
    stop(q).await;
    let q = restart(&store).await;
    let third = q.worker.claim(1, LEASE).await.unwrap();
    assert_eq!(third[0].attempt(), 3);
    assert_eq!(third[0].envelope().sender().as_str(), "producer");
    stop(q).await;
}

#[actix_rt::test]
async fn a_second_queue_on_the_same_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = start(&store).await.unwrap();
    let error = start(&store).await.unwrap_err();
    assert!(
        matches!(store_error(&error), Some(StoreError::InUse { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("already open"), "{error}");
    stop(q).await;
}

#[actix_rt::test]
async fn a_second_store_on_the_same_folder_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = start(&store).await.unwrap();
    q.producer.send("kept".to_string()).await.unwrap();
    // Another process holding the file is the same to this one as a file it cannot
    // open: the store refuses, naming the file.
    let error = DiskStore::open(dir.path()).unwrap_err();
    assert!(error.to_string().contains(FILE_NAME), "{error}");
    stop(q).await;
}

/// Flips one byte inside every stored copy of `needle` in the file.
fn damage(path: &std::path::Path, needle: &[u8]) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    let mut hits = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        let index = at + found + needle.len() / 2;
        bytes[index] ^= 0x01;
        hits += 1;
        at = index + 1;
    }
    std::fs::write(path, bytes).unwrap();
    hits
}

#[actix_rt::test]
async fn a_damaged_record_refuses_the_start_and_names_the_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Arc::new(DiskStore::open(dir.path()).unwrap());
        let q = start(&store).await.unwrap();
        q.producer.send("first".to_string()).await.unwrap();
        q.producer
            .send("the record that will be damaged".to_string())
            .await
            .unwrap();
        stop(q).await;
    }
    tokio::task::yield_now().await;
    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join(FILE_NAME);
    std::fs::copy(dir.path().join(FILE_NAME), &file).unwrap();
    assert!(damage(&file, b"that will be damaged") >= 1);

    // Either redb's own page checksums catch it when the store opens, or the record's
    // checksum does when the queue reads it back: never a silent skip.
    let text = match DiskStore::open(copy.path()) {
        Err(error) => {
            assert!(matches!(error, StoreError::Damaged { .. }), "{error}");
            error.to_string()
        }
        Ok(store) => {
            let error = match start(&Arc::new(store)).await {
                Err(error) => error,
                Ok(_) => panic!("a damaged record was read as if whole"),
            };
            assert!(
                matches!(store_error(&error), Some(StoreError::Damaged { .. })),
                "{error}"
            );
            let text = error.to_string();
            assert!(text.contains("channel `jobs`, seq 2"), "{text}");
            text
        }
    };
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("restore it from a backup"), "{text}");

    // The original, undamaged, still starts with both items.
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = restart(&store).await;
    assert_eq!(q.worker.claim(10, LEASE).await.unwrap().len(), 2);
    stop(q).await;
}

/// A copy cut short (a copy that did not finish, a file system that lost its end) is
/// refused, naming the file and how short it is: redb keeps the file's length in its
/// header, so a missing tail is found before any record is read.
#[actix_rt::test]
async fn a_truncated_copy_is_refused_naming_the_file_and_its_lengths() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Arc::new(DiskStore::open(dir.path()).unwrap());
        let q = start(&store).await.unwrap();
        for i in 0..200 {
            q.producer
                .send(format!("job {i} {}", "x".repeat(200)))
                .await
                .unwrap();
        }
        stop(q).await;
    }
    tokio::task::yield_now().await;
    let original = dir.path().join(FILE_NAME);
    let len = std::fs::metadata(&original).unwrap().len();
    for cut in [1, 512, 4096, len / 2] {
        let copy = tempfile::tempdir().unwrap();
        let file = copy.path().join(FILE_NAME);
        std::fs::copy(&original, &file).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(len - cut)
            .unwrap();
        let error = DiskStore::open(copy.path()).expect_err("a truncated file is refused");
        assert!(matches!(error, StoreError::Damaged { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains(&file.display().to_string()), "{text}");
        assert!(text.contains(&format!("file_len={}", len - cut)), "{text}");
        assert!(text.contains("restore it from a backup"), "{text}");
    }

    // The original still starts with every item.
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = restart(&store).await;
    assert_eq!(q.worker.claim(1000, LEASE).await.unwrap().len(), 200);
    stop(q).await;
}

#[actix_rt::test]
async fn a_full_queue_still_refuses_with_full_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = start_sized(&store, 2).await.unwrap();
    q.producer.send("a".to_string()).await.unwrap();
    q.producer.send("b".to_string()).await.unwrap();
    stop(q).await;
    let q = restart_sized(&store, 2).await;
    assert!(matches!(
        q.producer.try_send("c".to_string()).await,
        Err(ChannelError::Full { capacity: 2, .. })
    ));
    stop(q).await;
}

/// Many producers and consumers at once: sends and acks answered together by one commit
/// each get their own answer, and a restart finds exactly the items not acked.
#[actix_rt::test]
async fn concurrent_sends_and_acks_each_get_their_own_answer_and_a_restart_finds_the_unacked() {
    const PRODUCERS: usize = 16;
    const EACH: usize = 100;
    const TOTAL: usize = PRODUCERS * EACH;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let q = start_sized(&store, TOTAL).await.unwrap();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let producer = q.producer.clone();
            actix_rt::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..EACH {
                    seqs.push(producer.send(format!("{p}-{i}")).await.unwrap().get());
                }
                seqs
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for producer in producers {
        let mine = producer.await.unwrap();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "one producer's items are in its order"
        );
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=TOTAL as u64).collect::<Vec<_>>(),
        "each send has its own seq"
    );

    // Four consumers claim concurrently and ack the items with even seqs.
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let worker = q.worker.clone();
            actix_rt::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let claimed = worker.claim(25, LEASE).await.unwrap();
                    if claimed.is_empty() {
                        return seen;
                    }
                    let (even, _): (Vec<_>, Vec<_>) =
                        claimed.iter().partition(|i| i.seq().get() % 2 == 0);
                    let tokens = even.iter().map(|i| i.claim_token().unwrap()).collect();
                    let report = worker.ack_many(tokens).await.unwrap();
                    assert_eq!(report.settled, even.len());
                    assert!(report.stale.is_empty());
                    seen.extend(claimed.iter().map(|i| i.seq().get()));
                }
            })
        })
        .collect();
    let mut delivered = Vec::new();
    for consumer in consumers {
        delivered.extend(consumer.await.unwrap());
    }
    delivered.sort_unstable();
    assert_eq!(delivered, seqs, "every item delivered once, none twice");
    stop(q).await;

    let q = restart_sized(&store, TOTAL).await;
    let back = q.worker.claim(TOTAL, LEASE).await.unwrap();
    let back: Vec<u64> = back.iter().map(|i| i.seq().get()).collect();
    let odd: Vec<u64> = (1..=TOTAL as u64).filter(|s| s % 2 == 1).collect();
    assert_eq!(
        back, odd,
        "the acked items are gone, the rest come back in order"
    );
    stop(q).await;
}
