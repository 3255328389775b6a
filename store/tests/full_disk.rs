//! A full disk and a torn tail, for real, with a child process whose files may not grow
//! past a limit (`ulimit -f`):
//!
//! - With `SIGXFSZ` ignored, a write past the limit fails with `EFBIG`: the child sends
//!   until the store refuses. The refusal must say the disk is full, and a restart
//!   without the limit must find every item whose send was answered, and no other.
//! - With `SIGXFSZ` left to kill, the child dies in the middle of the commit that
//!   crosses the limit, its last write cut short: a restart must repair the file to its
//!   last whole commit, with every answered item in it.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use exokern_actors::channel::{ChannelError, WorkQueue};
use exokern_actors::store::{Store, StoreError};
use exokern_actors::{Rights, SystemId};
use exokern_store::DiskStore;

const MODE: &str = "EXOKERN_FULL_CHILD";
const DIR: &str = "EXOKERN_FULL_DIR";
/// What the child's files may grow to, in KiB: room for the store's first pages and a
/// few hundred items.
const LIMIT_KIB: u64 = 1024;
const PAYLOAD: usize = 2000;
/// The signal a write past the file-size limit raises.
const SIGXFSZ: i32 = 25;

fn queue(store: Arc<dyn Store>) -> WorkQueue<String> {
    WorkQueue::<String>::builder("jobs".parse().unwrap())
        .capacity(100_000)
        .store(store)
        .start()
        .unwrap()
}

/// Runs the child with its files limited to `limit_kib`, `SIGXFSZ` ignored or not.
fn child(dir: &Path, limit_kib: u64, ignore_xfsz: bool) -> Output {
    let trap = if ignore_xfsz { "trap '' XFSZ;" } else { "" };
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f {limit_kib}; {trap} exec \"$0\" full_disk_child --exact --nocapture --test-threads=1"
        ))
        .arg(std::env::current_exe().unwrap())
        .env(MODE, "1")
        .env(DIR, dir)
        .output()
        .unwrap()
}

/// The ids of the child's answered sends.
fn answered(stdout: &str) -> BTreeSet<u64> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("sent "))
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Opens the store in `dir` without a limit, sends one item more (which must be taken),
/// and gives the ids of the child's items it holds.
fn kept_after_restart(dir: &Path) -> BTreeSet<u64> {
    actix_rt::System::new().block_on(async move {
        let store: Arc<dyn Store> = Arc::new(DiskStore::open(dir).unwrap());
        let jobs = queue(store);
        let worker = jobs
            .grant(
                SystemId::new("worker").unwrap(),
                Rights::READ | Rights::WRITE,
            )
            .await
            .unwrap();
        let after = format!("{:<20}", u64::MAX);
        worker
            .send(after.clone())
            .await
            .expect("with room again, the store takes sends again");
        let mut kept = BTreeSet::new();
        loop {
            let items = worker.claim(1000, Duration::from_secs(60)).await.unwrap();
            if items.is_empty() {
                break;
            }
            for item in items {
                if item.envelope().payload() == &after {
                    continue;
                }
                let id: u64 = item.envelope().payload()[..20].trim().parse().unwrap();
                assert!(kept.insert(id), "item {id} came back twice");
            }
        }
        kept
    })
}

#[test]
fn a_crash_mid_commit_leaves_the_last_whole_commit_with_every_answered_item() {
    // Limits a few pages apart, so the child dies at different points of a commit.
    for limit_kib in [600, 700, 812, 900, 1000, 1100] {
        let dir = tempfile::tempdir().unwrap();
        let output = child(dir.path(), limit_kib, false);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(
            output.status.signal(),
            Some(SIGXFSZ),
            "the child dies of the limit mid-write ({}): {stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let sent = answered(&stdout);
        assert!(sent.len() > 10, "the store took some items first: {stdout}");
        let kept = kept_after_restart(dir.path());
        // One send at a time: the one in flight at the crash may or may not be kept.
        let next = sent.last().map_or(0, |last| last + 1);
        let mut with_next = sent.clone();
        with_next.insert(next);
        assert!(
            kept == sent || kept == with_next,
            "limit {limit_kib} KiB: after the crash the queue holds the answered items 0..={}, and at most the one in flight; it holds {} items, {:?} missing, {:?} extra",
            next - 1,
            kept.len(),
            sent.difference(&kept).collect::<Vec<_>>(),
            kept.difference(&with_next).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_full_disk_refuses_sends_as_full_and_keeps_every_answered_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = child(dir.path(), LIMIT_KIB, true);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "the child failed ({}): {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let sent = answered(&stdout);
    let refused: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("refused "))
        .collect();
    assert!(sent.len() > 10, "the store took some items first: {stdout}");
    assert!(!refused.is_empty(), "the limit was never reached: {stdout}");
    for message in &refused {
        assert!(
            message.contains("out of disk space") && message.contains("free some space"),
            "a full disk says so, and what to do: {message}"
        );
    }

    // What the child was told from a little before its first refusal on.
    let events: Vec<&str> = stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("sent ")
                .or(l.strip_prefix("refused ").map(|_| "full"))
        })
        .collect();
    let first_full = events.iter().position(|e| *e == "full").unwrap_or(0);
    let tail = events[first_full.saturating_sub(3)..].join(" ");
    let kept = kept_after_restart(dir.path());
    assert_eq!(
        kept, sent,
        "after the restart the queue holds exactly the items whose send was answered; the child was told: {tail}"
    );
}

/// The child's side: sends until the store refuses, then a few more, and says what it
/// was told.
#[test]
fn full_disk_child() {
    if std::env::var(MODE).is_err() {
        return;
    }
    let dir = std::env::var(DIR).unwrap();
    actix_rt::System::new().block_on(async move {
        let store: Arc<dyn Store> = Arc::new(DiskStore::open(&dir).unwrap());
        let jobs = queue(store);
        let producer = jobs
            .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
            .await
            .unwrap();
        // The test harness's own line ends without a newline.
        println!();
        let mut refusals = 0;
        for id in 0..100_000u64 {
            let payload = format!("{id:<20}{}", "x".repeat(PAYLOAD));
            match producer.send(payload).await {
                Ok(_) => println!("sent {id}"),
                Err(
                    error @ ChannelError::Store {
                        error: StoreError::Full { .. },
                        ..
                    },
                ) => {
                    println!("refused {error}");
                    refusals += 1;
                    if refusals == 5 {
                        return;
                    }
                }
                Err(error) => panic!("a send past the limit failed otherwise: {error}"),
            }
        }
        panic!("100,000 items fit under the limit");
    });
}
