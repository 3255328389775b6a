//! Crash tests with real processes: a child process runs producers, consumers and a
//! publisher on a disk store and is killed with SIGKILL at a random point, several times
//! per seed; a last child drains what is left. What each child printed after an answer
//! (`sent`, `acked`, `pub`) is what the store promised, and the test holds it to that:
//! every item whose send was answered is acked in the end (or its ack was asked for when
//! the kill came, which may have reached the disk), no acked item comes back,
//! a claimed item comes back with a higher attempt, the broadcast's seqs are dense
//! and unique across the crashes, each with the message it was answered for, and the
//! audit log's seqs are dense and increasing, with every decision that was answered.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use exokern_actors::channel::{Broadcast, WorkQueue};
use exokern_actors::kernel::{GovernanceError, Kernel};
use exokern_actors::protocol::CapabilityRequest;
use exokern_actors::store::Store;
use exokern_actors::system::AgentRng;
use exokern_actors::{Rights, Seq, SystemId};
use exokern_store::DiskStore;

const MODE: &str = "EXOKERN_CRASH_CHILD";
const DIR: &str = "EXOKERN_CRASH_DIR";
const RUN: &str = "EXOKERN_CRASH_RUN";
const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 2;
const LEASE: Duration = Duration::from_secs(600);

/// What a child run printed, line by line.
struct Run {
    lines: Vec<String>,
}

fn child(mode: &str, dir: &std::path::Path, run: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .env(DIR, dir)
        .env(RUN, run.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Runs a loaded child and kills it with SIGKILL once it has printed `lines` answers.
fn crash_after(dir: &std::path::Path, run: u64, lines: usize) -> Run {
    let mut process = child("load", dir, run);
    let mut out = BufReader::new(process.stdout.take().unwrap()).lines();
    let mut kept = Vec::new();
    let mut answers = 0;
    for line in out.by_ref() {
        let line = line.unwrap();
        if is_answer(&line) {
            answers += 1;
        }
        kept.push(line);
        if answers >= lines {
            break;
        }
    }
    process.kill().unwrap();
    // What it wrote before the kill is still in the pipe.
    kept.extend(out.map_while(Result::ok));
    let status = process.wait().unwrap();
    assert!(!status.success(), "run {run} ended on its own: {status}");
    Run { lines: kept }
}

fn drain(dir: &std::path::Path, run: u64) -> Run {
    let process = child("drain", dir, run);
    let output = process.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the draining run failed: {}",
        output.status
    );
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        lines.iter().any(|l| l == "done"),
        "the draining run did not finish"
    );
    Run { lines }
}

fn is_answer(line: &str) -> bool {
    ["sent ", "acking ", "acked ", "pub ", "got ", "decided "]
        .iter()
        .any(|tag| line.starts_with(tag))
}

fn numbers(line: &str) -> Vec<u64> {
    line.split(' ')
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Holds every promise against what the runs printed, in order.
fn check(runs: &[Run]) {
    let mut sent = HashSet::new();
    // Where each id was first acked: (run, line).
    let mut acked: HashMap<u64, (usize, usize)> = HashMap::new();
    // Acks asked for: one the kill cut off may or may not have reached the disk.
    let mut acking = HashSet::new();
    // Each id's deliveries: (run, line, attempt).
    let mut got: HashMap<u64, Vec<(usize, usize, u64)>> = HashMap::new();
    let mut published = BTreeMap::new();
    let mut history = Vec::new();
    let mut decided = Vec::new();
    let mut audited = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        for (l, line) in run.lines.iter().enumerate() {
            let n = numbers_of(line);
            match line.split(' ').next() {
                Some("sent") => {
                    sent.insert(n[0]);
                }
                Some("acking") => {
                    acking.insert(n[0]);
                }
                Some("acked") => {
                    acked.entry(n[0]).or_insert((r, l));
                }
                Some("got") => got.entry(n[0]).or_default().push((r, l, n[1])),
                Some("pub") => {
                    assert!(
                        published.insert(n[0], n[1]).is_none(),
                        "seq {} answered twice",
                        n[0]
                    );
                }
                Some("hist") => history.push((n[0], n[1])),
                Some("decided") => decided.push(format!("channel:r{}-{}", n[0], n[1])),
                Some("audit") => {
                    let (seq, subject) = line["audit ".len()..].split_once(' ').unwrap();
                    audited.push((seq.parse::<u64>().unwrap(), subject.to_owned()));
                }
                _ => {}
            }
        }
    }
    assert!(!sent.is_empty() && !acked.is_empty() && !published.is_empty());
    for id in &sent {
        assert!(
            acked.contains_key(id) || acking.contains(id),
            "item {id} was sent (answered Ok) and never acked: lost; delivered {:?}",
            got.get(id)
        );
    }
    for (id, deliveries) in &got {
        if let Some(&ack) = acked.get(id) {
            for &(r, l, _) in deliveries {
                assert!(
                    (r, l) <= ack,
                    "item {id} came back after its ack was answered"
                );
            }
        }
        for pair in deliveries.windows(2) {
            let ((r0, _, a0), (r1, _, a1)) = (pair[0], pair[1]);
            assert!(r1 > r0, "item {id} was delivered twice in one run");
            assert!(
                a1 > a0,
                "item {id} came back with attempt {a1} after attempt {a0}"
            );
        }
    }
    let seqs: Vec<u64> = history.iter().map(|(seq, _)| *seq).collect();
    let dense: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(
        seqs, dense,
        "broadcast seqs are dense and unique across the crashes"
    );
    let audit_seqs: Vec<u64> = audited.iter().map(|(seq, _)| *seq).collect();
    let dense: Vec<u64> = (1..=audit_seqs.len() as u64).collect();
    assert!(!decided.is_empty());
    assert_eq!(
        audit_seqs, dense,
        "audit seqs are dense, unique and increasing across the crashes"
    );
    let subjects: HashSet<&str> = audited.iter().map(|(_, s)| s.as_str()).collect();
    for subject in &decided {
        assert!(
            subjects.contains(subject.as_str()),
            "the decision on {subject} was answered, and its audit record is gone"
        );
    }
    let by_seq: HashMap<u64, u64> = history.into_iter().collect();
    for (seq, id) in &published {
        assert_eq!(
            by_seq.get(seq),
            Some(id),
            "the publish answered with seq {seq}"
        );
    }
}

fn numbers_of(line: &str) -> Vec<u64> {
    if is_answer(line) || line.starts_with("hist ") {
        numbers(line)
    } else {
        Vec::new()
    }
}

#[test]
fn kill_9_under_load_loses_nothing_answered_and_brings_back_nothing_acked() {
    for seed in 1..=3u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = AgentRng::for_system(seed, &SystemId::new("crash-test").unwrap());
        let mut runs = Vec::new();
        for run in 0..4 {
            let answers = 50 + rng.below(1500) as usize;
            runs.push(crash_after(dir.path(), seed * 10 + run, answers));
        }
        runs.push(drain(dir.path(), seed * 10 + 9));
        check(&runs);
    }
}

/// The child's side: runs only when the crash test starts this binary as a child.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let dir = std::env::var(DIR).unwrap();
    let run: u64 = std::env::var(RUN).unwrap().parse().unwrap();
    actix_rt::System::new().block_on(async move {
        let store: Arc<dyn Store> = Arc::new(DiskStore::open(&dir).unwrap());
        let kernel = Kernel::builder()
            .audit_capacity(usize::MAX)
            .audit_store(store.clone())
            .start()
            .await
            .unwrap();
        let jobs = WorkQueue::<u64>::builder("jobs".parse().unwrap())
            .capacity(2000)
            .store(store.clone())
            .start()
            .unwrap();
        let news = Broadcast::<u64>::builder("news".parse().unwrap())
            .retention(1_000_000)
            .store(store)
            .start()
            .unwrap();
        let who = |name: &str| SystemId::new(name).unwrap();
        let worker = jobs.grant(who("worker"), Rights::READ).await.unwrap();
        let desk = news
            .grant(who("desk"), Rights::READ | Rights::WRITE)
            .await
            .unwrap();
        if mode == "drain" {
            loop {
                let items = worker.claim(1000, LEASE).await.unwrap();
                if items.is_empty() {
                    break;
                }
                for item in items {
                    println!("got {} {}", item.envelope().payload(), item.attempt());
                    println!("acking {}", item.envelope().payload());
                    worker.ack(item.claim_token().unwrap()).await.unwrap();
                    println!("acked {}", item.envelope().payload());
                }
            }
            let mut after = Seq::ZERO;
            loop {
                let page = desk.read(after, 10_000).await.unwrap();
                let Some(last) = page.last() else { break };
                after = last.seq();
                for env in &page {
                    println!("hist {} {}", env.seq(), env.payload());
                }
            }
            for record in kernel.audit(0, usize::MAX) {
                println!("audit {} {}", record.seq, record.subject);
            }
            println!("done");
            return;
        }
        let mut tasks = Vec::new();
        for p in 0..PRODUCERS {
            let producer = jobs
                .grant(who(&format!("producer-{p}")), Rights::WRITE)
                .await
                .unwrap();
            tasks.push(actix_rt::spawn(async move {
                for i in 0.. {
                    let id = run * 10_000_000 + p * 1_000_000 + i;
                    producer.send(id).await.unwrap();
                    println!("sent {id}");
                }
            }));
        }
        for _ in 0..CONSUMERS {
            let worker = worker.clone();
            tasks.push(actix_rt::spawn(async move {
                loop {
                    let items = worker
                        .claim_wait(20, LEASE, Duration::from_secs(1))
                        .await
                        .unwrap();
                    for item in items {
                        println!("got {} {}", item.envelope().payload(), item.attempt());
                        println!("acking {}", item.envelope().payload());
                        worker.ack(item.claim_token().unwrap()).await.unwrap();
                        println!("acked {}", item.envelope().payload());
                    }
                }
            }));
        }
        tasks.push(actix_rt::spawn(async move {
            for i in 0.. {
                let id = run * 10_000_000 + i;
                let seq = desk.publish(id).await.unwrap();
                println!("pub {seq} {id}");
            }
        }));
        let clerk = common::clerk(&kernel, &format!("clerk-{run}")).await;
        tasks.push(actix_rt::spawn(async move {
            for i in 0.. {
                let resource = format!("channel:r{run}-{i}").parse().unwrap();
                match clerk
                    .request_capability(CapabilityRequest::new(resource, Rights::READ))
                    .await
                {
                    Ok(_) | Err(GovernanceError::Denied { .. }) => println!("decided {run} {i}"),
                    Err(error) => panic!("the decision was not answered: {error}"),
                }
            }
        }));
        println!("ready");
        for task in tasks {
            task.await.unwrap();
        }
    });
}
