//! Durable work queues against the memory store and SQLite in WAL mode, each doing the
//! same produce → claim → ack of the same number of items: 512 producers send one item
//! per call, each answered only once it is on disk; 8 consumers claim up to 250 at a
//! time and ack them in one call. A durable send waits for a commit, so throughput comes
//! from sends in flight, as it does for any store that answers after an fsync. Each side runs alone, three times, alternating; the table gives
//! the median items per second and the median p50 / p99 latency of a send.
//!
//! `cargo bench -p exokern-store --bench durable` (`-- --items N` to change the count).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exokern_actors::channel::WorkQueue;
use exokern_actors::store::Store;
use exokern_actors::{Rights, SystemId};
use exokern_store::{DiskStore, SyncMode};
use hdrhistogram::Histogram;

const PRODUCERS: usize = 512;
const CONSUMERS: usize = 8;
const CLAIM: usize = 250;
const LEASE: Duration = Duration::from_secs(60);
const ROUNDS: usize = 3;

/// One side's run: items per second, and its sends' latencies.
struct Outcome {
    per_second: f64,
    sends: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds")
}

/// exokern's work queue, in memory or on a disk store.
fn exokern(items: usize, store: Option<DiskStore>) -> Outcome {
    actix_rt::System::new().block_on(async move {
        let mut builder = WorkQueue::<u64>::builder("jobs".parse().unwrap()).capacity(10_000);
        if let Some(store) = store {
            builder = builder.store(Arc::new(store) as Arc<dyn Store>);
        }
        let queue = builder.start().unwrap();
        let consumer = queue
            .grant(SystemId::new("consumer").unwrap(), Rights::READ)
            .await
            .unwrap();
        let sends = Arc::new(Mutex::new(histogram()));
        let acked = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for p in 0..PRODUCERS {
            let producer = queue
                .grant(
                    SystemId::new(format!("producer-{p}")).unwrap(),
                    Rights::WRITE,
                )
                .await
                .unwrap();
            let sends = Arc::clone(&sends);
            let share = items / PRODUCERS + usize::from(p < items % PRODUCERS);
            tasks.push(actix_rt::spawn(async move {
                let mut mine = histogram();
                for i in 0..share {
                    let sent = Instant::now();
                    producer.send(i as u64).await.unwrap();
                    mine.saturating_record(sent.elapsed().as_nanos() as u64);
                }
                sends.lock().unwrap().add(mine).unwrap();
            }));
        }
        for _ in 0..CONSUMERS {
            let consumer = consumer.clone();
            let acked = Arc::clone(&acked);
            tasks.push(actix_rt::spawn(async move {
                while acked.load(Ordering::Relaxed) < items as u64 {
                    let claimed = consumer
                        .claim_wait(CLAIM, LEASE, Duration::from_millis(20))
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        continue;
                    }
                    let tokens = claimed.iter().map(|i| i.claim_token().unwrap()).collect();
                    let report = consumer.ack_many(tokens).await.unwrap();
                    acked.fetch_add(report.settled as u64, Ordering::Relaxed);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed();
        queue.stop().await;
        let sends = std::mem::replace(&mut *sends.lock().unwrap(), histogram());
        Outcome {
            per_second: items as f64 / elapsed.as_secs_f64(),
            sends,
        }
    })
}

/// The same work on SQLite in WAL mode with `synchronous = FULL` (a commit is on disk
/// when it returns): one connection per thread, each send its own transaction, each
/// claim and each ack of up to 100 items one transaction.
fn sqlite(items: usize, dir: &Path) -> Outcome {
    let path = dir.join("queue.sqlite");
    let open = || {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.busy_timeout(Duration::from_secs(60)).unwrap();
        db.pragma_update(None, "journal_mode", "WAL").unwrap();
        db.pragma_update(None, "synchronous", "FULL").unwrap();
        db
    };
    open()
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL,
             attempts INTEGER NOT NULL DEFAULT 0, lease_until INTEGER NOT NULL DEFAULT 0);",
        )
        .unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sends = std::thread::scope(|scope| {
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let share = items / PRODUCERS + usize::from(p < items % PRODUCERS);
            let db = open();
            producers.push(scope.spawn(move || {
                let mut mine = histogram();
                let mut insert = db
                    .prepare("INSERT INTO items (payload) VALUES (?1)")
                    .unwrap();
                for i in 0..share {
                    let sent = Instant::now();
                    insert.execute([(i as u64).to_le_bytes()]).unwrap();
                    mine.saturating_record(sent.elapsed().as_nanos() as u64);
                }
                mine
            }));
        }
        for _ in 0..CONSUMERS {
            let mut db = open();
            let acked = Arc::clone(&acked);
            scope.spawn(move || {
                while acked.load(Ordering::Relaxed) < items as u64 {
                    let now = started.elapsed().as_millis() as i64;
                    let txn = db
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .unwrap();
                    let claimed: Vec<i64> = {
                        let mut claim = txn
                            .prepare_cached(
                                "UPDATE items SET attempts = attempts + 1, lease_until = ?1
                                 WHERE seq IN (SELECT seq FROM items WHERE lease_until < ?2
                                               ORDER BY seq LIMIT ?3)
                                 RETURNING seq, payload",
                            )
                            .unwrap();
                        let rows = claim
                            .query_map((now + 60_000, now, CLAIM as i64), |row| row.get(0))
                            .unwrap();
                        rows.map(Result::unwrap).collect()
                    };
                    txn.commit().unwrap();
                    if claimed.is_empty() {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    let txn = db.transaction().unwrap();
                    {
                        let mut ack = txn
                            .prepare_cached("DELETE FROM items WHERE seq = ?1")
                            .unwrap();
                        for seq in &claimed {
                            ack.execute([seq]).unwrap();
                        }
                    }
                    txn.commit().unwrap();
                    acked.fetch_add(claimed.len() as u64, Ordering::Relaxed);
                }
            });
        }
        let mut sends = histogram();
        for producer in producers {
            sends.add(producer.join().unwrap()).unwrap();
        }
        sends
    });
    Outcome {
        per_second: items as f64 / started.elapsed().as_secs_f64(),
        sends,
    }
}

/// A side: its name, how many items it runs, and the run.
type Side = (&'static str, usize, fn(usize, &Path) -> Outcome);

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let items = args
        .iter()
        .position(|a| a == "--items")
        .and_then(|i| args.get(i + 1))
        .map_or(100_000, |n| n.parse().expect("--items takes a number"));
    let sides: [Side; 5] = [
        ("exokern, memory", items, |n, _| exokern(n, None)),
        ("exokern, disk, sync = batch", items, |n, dir| {
            exokern(
                n,
                Some(
                    DiskStore::builder(dir)
                        .sync(SyncMode::BATCH)
                        .open()
                        .unwrap(),
                ),
            )
        }),
        ("exokern, disk, sync = batch, no linger", items, |n, dir| {
            let mode = SyncMode::Batch {
                max_delay: Duration::ZERO,
                max_changes: 8192,
            };
            exokern(n, Some(DiskStore::builder(dir).sync(mode).open().unwrap()))
        }),
        ("exokern, disk, sync = always", items / 20, |n, dir| {
            exokern(
                n,
                Some(
                    DiskStore::builder(dir)
                        .sync(SyncMode::Always)
                        .open()
                        .unwrap(),
                ),
            )
        }),
        ("SQLite WAL, synchronous = FULL", items / 20, sqlite),
    ];
    let mut results: Vec<Vec<Outcome>> = sides.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (index, (_, n, run)) in sides.iter().enumerate() {
            let dir = tempfile::tempdir_in(".").unwrap();
            results[index].push(run(*n, dir.path()));
        }
    }
    println!(
        "produce -> claim -> ack, {PRODUCERS} producers sending one item per call, {CONSUMERS} consumers claiming {CLAIM}; median of {ROUNDS}"
    );
    println!("| side | items | items/s | send p50 | send p99 |");
    println!("|---|---|---|---|---|");
    for ((name, n, _), outcomes) in sides.iter().zip(&results) {
        let rate = median(outcomes.iter().map(|o| o.per_second).collect());
        let p50 = median(
            outcomes
                .iter()
                .map(|o| o.sends.value_at_quantile(0.5) as f64)
                .collect(),
        );
        let p99 = median(
            outcomes
                .iter()
                .map(|o| o.sends.value_at_quantile(0.99) as f64)
                .collect(),
        );
        println!(
            "| {name} | {n} | {rate:.0} | {:.1} µs | {:.1} µs |",
            p50 / 1e3,
            p99 / 1e3
        );
    }
}
