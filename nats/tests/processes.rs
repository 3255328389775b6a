//! Kernels in separate processes sharing one work queue on a real server, one of them
//! killed with SIGKILL mid-way.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{fresh_channel, Shared};
use exokern_actors::channel::{Broadcast, StartAt, SubscribeOptions, WorkQueue};
use exokern_actors::{ChannelId, Rights, SystemId};
use exokern_nats::{Nats, NatsOptions, QueueSpec, StreamSpec};

const ROLE: &str = "EXOKERN_NATS_ROLE";
const URL: &str = "EXOKERN_NATS_TEST_URL";
const CHANNEL: &str = "EXOKERN_NATS_TEST_CHANNEL";
const ITEMS: usize = 10_000;
/// How soon the server delivers again what a dead worker held.
const ACK_WAIT: Duration = Duration::from_secs(2);

fn spec() -> QueueSpec {
    QueueSpec::default().capacity(ITEMS).ack_wait(ACK_WAIT)
}

/// A child process, the lines it printed so far, and a signal for each new one.
struct Process {
    child: Child,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    reader: Option<JoinHandle<()>>,
}

impl Process {
    fn start(role: &str, url: &str, channel: &ChannelId) -> Process {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, role)
            .env(URL, url)
            .env(CHANNEL, channel.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                // The test harness starts the child's first line with the test's name.
                let line = match line.strip_prefix("test child_process ... ") {
                    Some(rest) => rest.to_owned(),
                    None => line,
                };
                sink.0.lock().unwrap().push(line);
                sink.1.notify_all();
            }
        });
        Process {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Waits until it has printed `n` lines starting with `prefix`.
    fn wait_for(&self, prefix: &str, n: usize) {
        let (lines, printed) = &*self.lines;
        let count = |lines: &Vec<String>| lines.iter().filter(|l| l.starts_with(prefix)).count();
        let guard = lines.lock().unwrap();
        let (_lines, waited) = printed
            .wait_timeout_while(guard, Duration::from_secs(120), |lines| count(lines) < n)
            .unwrap();
        assert!(!waited.timed_out(), "no {n} `{prefix}` lines within 120 s");
    }

    /// Closes its stdin, which tells a worker to stop, and waits for it.
    fn finish(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a child failed: {status}");
        self.collect()
    }

    fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "the killed worker ended on its own");
        self.collect()
    }

    fn collect(mut self) -> Vec<String> {
        self.reader.take().unwrap().join().unwrap();
        std::mem::take(&mut *self.lines.0.lock().unwrap())
    }
}

/// `claimed SEQ ATTEMPT` and `acked SEQ ATTEMPT PAYLOAD` lines of a worker.
fn worker_lines(lines: &[String], kind: &str) -> BTreeMap<u64, u32> {
    let mut out = BTreeMap::new();
    for line in lines {
        let mut words = line.split_whitespace();
        if words.next() == Some(kind) {
            let seq = words.next().unwrap().parse().unwrap();
            let attempt = words.next().unwrap().parse().unwrap();
            assert!(
                out.insert(seq, attempt).is_none() || kind == "claimed",
                "{kind} {seq} twice in one worker"
            );
        }
    }
    out
}

/// Waits until the server holds nothing of the queue: every item acked.
fn wait_until_all_acked(url: &str, channel: &ChannelId) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let mut stream = jetstream
            .get_stream(exokern_nats::default_stream(channel))
            .await
            .unwrap();
        for _ in 0..1200 {
            let state = stream.info().await.unwrap().state.clone();
            if state.messages == 0 && state.last_sequence as usize >= ITEMS {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the queue still holds items after 120 s");
    });
}

#[test]
fn a_worker_killed_mid_way_loses_nothing_and_its_items_come_back_with_the_next_attempt() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let channel = fresh_channel("procs");
    let producer = Process::start("producer", server.url(), &channel);
    let doomed = Process::start("worker", server.url(), &channel);
    let survivor = Process::start("worker", server.url(), &channel);

    doomed.wait_for("acked", 2_000);
    let doomed = doomed.kill();
    let produced = producer.finish();
    wait_until_all_acked(server.url(), &channel);
    let survived = survivor.finish();

    let sent: BTreeSet<u64> = produced
        .iter()
        .filter_map(|l| l.strip_prefix("sent ").map(|s| s.parse().unwrap()))
        .collect();
    assert_eq!(sent.len(), ITEMS, "every send answered with its own seq");

    let doomed_acked = worker_lines(&doomed, "acked");
    let doomed_claimed = worker_lines(&doomed, "claimed");
    let survivor_acked = worker_lines(&survived, "acked");
    // Claimed by the killed worker and not known to be acked by it: the kill may have
    // landed after the server confirmed an ack and before the worker printed it.
    let left: BTreeMap<u64, u32> = doomed_claimed
        .iter()
        .filter(|(seq, _)| !doomed_acked.contains_key(seq))
        .map(|(&seq, &attempt)| (seq, attempt))
        .collect();
    assert!(!left.is_empty(), "the worker was killed with items in hand");

    for seq in doomed_acked.keys() {
        assert!(
            !survivor_acked.contains_key(seq),
            "seq {seq} acked by both workers"
        );
    }
    let mut came_back = 0;
    for &seq in &sent {
        match (
            doomed_acked.get(&seq),
            survivor_acked.get(&seq),
            left.get(&seq),
        ) {
            (Some(_), None, _) | (None, Some(_), None) => {}
            (None, Some(&again), Some(&before)) => {
                assert!(
                    again > before,
                    "seq {seq} came back with attempt {again} after {before}"
                );
                came_back += 1;
            }
            // Its ack reached the server just before the kill.
            (None, None, Some(_)) => {}
            other => panic!("seq {seq}: {other:?}"),
        }
    }
    assert!(
        came_back > 0,
        "none of the killed worker's {} items came back",
        left.len()
    );
    let acked = doomed_acked.len() + survivor_acked.len();
    eprintln!(
        "killed worker acked {}, left {} of which {came_back} came back; survivor acked {}",
        doomed_acked.len(),
        left.len(),
        survivor_acked.len()
    );
    assert!(
        acked <= ITEMS && acked + left.len() >= ITEMS,
        "{acked} acked lines, {} left by the killed worker",
        left.len()
    );
}

/// How many messages the broadcast test publishes.
const MESSAGES: u64 = 2_000;

fn stream_spec() -> StreamSpec {
    StreamSpec::default().retention(MESSAGES as usize)
}

/// The `got SEQ PAYLOAD` lines of a listener, as numbers.
fn received(lines: &[String]) -> Vec<(u64, u64)> {
    lines
        .iter()
        .filter_map(|line| line.strip_prefix("got "))
        .map(|rest| {
            let (seq, payload) = rest.split_once(' ').unwrap();
            (seq.parse().unwrap(), payload.parse().unwrap())
        })
        .collect()
}

#[test]
fn a_broadcast_from_one_process_is_read_in_order_in_two_others_and_a_late_joiner_catches_up() {
    if !common::available() {
        return;
    }
    let server = Shared::get();
    let channel = fresh_channel("news");
    let early = Process::start("listener", server.url(), &channel);
    early.wait_for("listening", 1);
    let publisher = Process::start("publisher", server.url(), &channel);
    let published = publisher.finish();
    let late = Process::start("listener", server.url(), &channel);
    let expected: Vec<(u64, u64)> = (1..=MESSAGES).map(|seq| (seq, seq - 1)).collect();
    let sent: Vec<u64> = published
        .iter()
        .filter_map(|l| l.strip_prefix("published ").map(|s| s.parse().unwrap()))
        .collect();
    assert_eq!(
        sent,
        (1..=MESSAGES).collect::<Vec<_>>(),
        "publishes answered with dense seqs"
    );
    assert_eq!(
        received(&early.finish()),
        expected,
        "the listener from the start"
    );
    assert_eq!(received(&late.finish()), expected, "the late joiner");
}

/// The child's side: runs only when a test above starts this binary as a child.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let url = std::env::var(URL).unwrap();
    let channel: ChannelId = std::env::var(CHANNEL).unwrap().parse().unwrap();
    let kernel = format!("{role}-{}", std::process::id());
    actix_rt::System::new().block_on(async move {
        let nats = Nats::connect(NatsOptions::new(&url, &kernel))
            .await
            .unwrap();
        if role == "publisher" || role == "listener" {
            return broadcast_child(&role, &nats, channel).await;
        }
        let shared = nats.work_queue(&channel, spec()).await.unwrap();
        let queue = WorkQueue::<String>::builder(channel)
            .shared(shared)
            .start()
            .unwrap();
        match role.as_str() {
            "producer" => {
                let producer = queue
                    .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
                    .await
                    .unwrap();
                let senders: Vec<_> = (0..8)
                    .map(|p| {
                        let producer = producer.clone();
                        actix_rt::spawn(async move {
                            for i in (p..ITEMS).step_by(8) {
                                let seq = producer.send(format!("item-{i}")).await.unwrap();
                                println!("sent {seq}");
                            }
                        })
                    })
                    .collect();
                for sender in senders {
                    sender.await.unwrap();
                }
            }
            _ => {
                let worker = queue
                    .grant(SystemId::new("worker").unwrap(), Rights::READ)
                    .await
                    .unwrap();
                let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let flag = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let _ = std::io::stdin().read_to_end(&mut Vec::new());
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                });
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let items = worker
                        .claim_wait(32, Duration::from_secs(60), Duration::from_millis(500))
                        .await
                        .unwrap();
                    for item in &items {
                        println!("claimed {} {}", item.seq(), item.attempt());
                    }
                    for item in items {
                        worker.ack(item.claim_token().unwrap()).await.unwrap();
                        println!("acked {} {} {}", item.seq(), item.attempt(), item.payload());
                    }
                }
            }
        }
    });
}

/// A broadcast child: publishes every message, or reads every message from the earliest
/// the server keeps, printing each.
async fn broadcast_child(role: &str, nats: &Nats, channel: ChannelId) {
    let shared = nats.broadcast(&channel, stream_spec()).await.unwrap();
    let news = Broadcast::<u64>::builder(channel)
        .shared(shared)
        .start()
        .unwrap();
    if role == "publisher" {
        let clock = news
            .grant(SystemId::new("clock").unwrap(), Rights::WRITE)
            .await
            .unwrap();
        for i in 0..MESSAGES {
            println!("published {}", clock.publish(i).await.unwrap());
        }
        return;
    }
    let reader = news
        .grant(SystemId::new("reader").unwrap(), Rights::READ)
        .await
        .unwrap();
    // Room for the whole history: a late joiner reads it all at once.
    let options = SubscribeOptions::default()
        .start(StartAt::Earliest)
        .buffer(MESSAGES as usize);
    let mut sub = reader.subscribe(options).await.unwrap();
    println!("listening");
    for _ in 0..MESSAGES {
        let msg = sub.recv().await.unwrap();
        assert_eq!(msg.sender().as_str(), "clock");
        println!("got {} {}", msg.seq(), msg.payload());
    }
}
