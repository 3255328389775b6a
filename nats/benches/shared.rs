//! Shared channels on NATS JetStream against raw `async-nats` doing the same work, across
//! two processes, on a nats-server of this bench's own:
//!
//! - **work queue**: this process produces N items in batches of 256, each batch
//!   answered once the server kept it; a second process takes up to 256 at a time, as
//!   they come, and acks them together, every ack confirmed by the server. Items per second, from the
//!   first send to the last ack.
//! - **broadcast**: this process publishes N messages, 256 in flight; a second process
//!   follows the stream and receives all of them. Deliveries per second, from the first
//!   publish to the last delivery.
//!
//! Each side runs alone, three times, alternating, each on its own stream; the table
//! gives the medians and exokern's ratio to raw async-nats.
//!
//! `cargo bench -p exokern-nats --bench shared` (`-- --items N` to change the count,
//! `-- --only broadcast` or `-- --only queue` for one of the two).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::header::HeaderMap;
use async_nats::jetstream::consumer::pull::{self, OrderedConfig};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use exokern_actors::channel::{Broadcast, SubscribeOptions, WorkQueue};
use exokern_actors::{ChannelId, MessageId, Rights, SystemId};
use exokern_nats::testing::{fresh_channel, TestServer};
use exokern_nats::{default_stream, Nats, NatsOptions, QueueSpec, StreamSpec};
use futures_util::StreamExt;

const BATCH: usize = 256;
const ROUNDS: usize = 3;
const LEASE: Duration = Duration::from_secs(60);

const ROLE: &str = "EXOKERN_NATS_BENCH_ROLE";
const URL: &str = "EXOKERN_NATS_BENCH_URL";
const CHANNEL: &str = "EXOKERN_NATS_BENCH_CHANNEL";
const ITEMS: &str = "EXOKERN_NATS_BENCH_ITEMS";

/// The consumer's process, started with its role, waiting until it says it is ready.
struct Consumer {
    child: Child,
    out: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Consumer {
    fn start(role: &str, url: &str, channel: &ChannelId, items: usize) -> Consumer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(ROLE, role)
            .env(URL, url)
            .env(CHANNEL, channel.as_str())
            .env(ITEMS, items.to_string())
            .env_remove("NOFOLLOW")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = out.next().expect("the consumer says it is ready").unwrap();
        assert_eq!(ready, "ready");
        Consumer { child, out }
    }

    /// Waits for the consumer to have all it expects.
    fn done(mut self) {
        let done = self
            .out
            .next()
            .expect("the consumer says it is done")
            .unwrap();
        assert_eq!(done, "done");
        assert!(self.child.wait().unwrap().success());
    }
}

fn options(url: &str, kernel: &str) -> NatsOptions {
    NatsOptions::new(url, kernel)
}

fn queue_spec(items: usize) -> QueueSpec {
    QueueSpec::default().capacity(items)
}

/// The stream and consumer exokern's queue would set up, made by hand for the raw side.
async fn raw_queue(
    jetstream: &async_nats::jetstream::Context,
    name: &str,
    items: usize,
) -> PullConsumer {
    let stream = jetstream
        .create_stream(stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("exokern.{name}.items")],
            retention: RetentionPolicy::WorkQueue,
            max_messages: items as i64,
            discard: DiscardPolicy::New,
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .unwrap();
    stream
        .get_or_create_consumer(
            "workers",
            pull::Config {
                durable_name: Some("workers".to_owned()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_ack_pending: items as i64,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

async fn raw_stream(
    jetstream: &async_nats::jetstream::Context,
    name: &str,
    items: usize,
) -> stream::Stream {
    jetstream
        .create_stream(stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("exokern.{name}.messages")],
            retention: RetentionPolicy::Limits,
            max_messages: items as i64,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Publishes `items` messages on `subject`, `BATCH` in flight, each with a message id
/// and the kernel's headers, as exokern's publishes carry them.
async fn raw_publish(jetstream: &async_nats::jetstream::Context, subject: String, items: usize) {
    let payload = serde_json::to_vec(&serde_json::json!({"payload": 0})).unwrap();
    let mut sent = 0;
    while sent < items {
        let n = BATCH.min(items - sent);
        let mut acks = Vec::with_capacity(n);
        for _ in 0..n {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", MessageId::unique().to_string().as_str());
            headers.insert("Exokern-Kernel", "raw");
            headers.insert("Exokern-Sender", "producer");
            let ack = jetstream
                .publish_with_headers(subject.clone(), headers, payload.clone().into())
                .await
                .unwrap();
            acks.push(ack);
        }
        for ack in acks {
            ack.await.unwrap();
        }
        sent += n;
    }
}

fn queue_raw(url: &str, items: usize) -> f64 {
    let channel = fresh_channel("bench-raw-queue");
    let name = default_stream(&channel);
    actix_rt::System::new().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        raw_queue(&jetstream, &name, items).await;
        let worker = Consumer::start("queue-raw", url, &channel, items);
        let started = Instant::now();
        raw_publish(&jetstream, format!("exokern.{name}.items"), items).await;
        worker.done();
        items as f64 / started.elapsed().as_secs_f64()
    })
}

fn queue_exokern(url: &str, items: usize) -> f64 {
    let channel = fresh_channel("bench-queue");
    actix_rt::System::new().block_on(async {
        let nats = Nats::connect(options(url, "producer")).await.unwrap();
        let shared = nats.work_queue(&channel, queue_spec(items)).await.unwrap();
        let queue = WorkQueue::<u64>::builder(channel.clone())
            .capacity(items)
            .shared(shared)
            .start()
            .unwrap();
        let producer = queue
            .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
            .await
            .unwrap();
        let worker = Consumer::start("queue-exokern", url, &channel, items);
        let started = Instant::now();
        let mut sent = 0;
        while sent < items {
            let n = BATCH.min(items - sent);
            producer.send_batch(0..n as u64).await.unwrap();
            sent += n;
        }
        worker.done();
        items as f64 / started.elapsed().as_secs_f64()
    })
}

fn broadcast_raw(url: &str, items: usize) -> f64 {
    let channel = fresh_channel("bench-raw-news");
    let name = default_stream(&channel);
    actix_rt::System::new().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        raw_stream(&jetstream, &name, items).await;
        let listener = Consumer::start("listener-raw", url, &channel, items);
        let started = Instant::now();
        raw_publish(&jetstream, format!("exokern.{name}.messages"), items).await;
        listener.done();
        items as f64 / started.elapsed().as_secs_f64()
    })
}

fn broadcast_exokern(url: &str, items: usize) -> f64 {
    let channel = fresh_channel("bench-news");
    actix_rt::System::new().block_on(async {
        let nats = Nats::connect(options(url, "publisher")).await.unwrap();
        let spec = StreamSpec::default().retention(items);
        let shared = nats.broadcast(&channel, spec).await.unwrap();
        let news = Broadcast::<u64>::builder(channel.clone())
            .shared(shared)
            .start()
            .unwrap();
        let clock = news
            .grant(SystemId::new("clock").unwrap(), Rights::WRITE)
            .await
            .unwrap();
        let listener = Consumer::start("listener-exokern", url, &channel, items);
        let started = Instant::now();
        let publishers: Vec<_> = (0..BATCH)
            .map(|p| {
                let clock = clock.clone();
                let mine = items / BATCH + usize::from(p < items % BATCH);
                actix_rt::spawn(async move {
                    for i in 0..mine {
                        clock.publish(i as u64).await.unwrap();
                    }
                })
            })
            .collect();
        for publisher in publishers {
            publisher.await.unwrap();
        }
        listener.done();
        items as f64 / started.elapsed().as_secs_f64()
    })
}

/// The consumer's side, in its own process.
fn consume(role: &str) {
    let url = std::env::var(URL).unwrap();
    let channel: ChannelId = std::env::var(CHANNEL).unwrap().parse().unwrap();
    let items: usize = std::env::var(ITEMS).unwrap().parse().unwrap();
    let name = default_stream(&channel);
    actix_rt::System::new().block_on(async move {
        match role {
            "queue-raw" => {
                let client = async_nats::connect(&url).await.unwrap();
                let jetstream = async_nats::jetstream::new(client);
                let consumer = raw_queue(&jetstream, &name, items).await;
                println!("ready");
                // Pulls continuously, up to a batch ahead, and acks what came together
                // at once: the loop a raw async-nats worker would write.
                let mut messages = consumer
                    .stream()
                    .max_messages_per_batch(BATCH)
                    .messages()
                    .await
                    .unwrap()
                    .ready_chunks(BATCH);
                let mut acked = 0;
                while acked < items {
                    let chunk = messages.next().await.unwrap();
                    let chunk: Vec<_> = chunk.into_iter().map(Result::unwrap).collect();
                    let acks = chunk.iter().map(|m| m.double_ack());
                    for ack in futures_util::future::join_all(acks).await {
                        ack.unwrap();
                    }
                    acked += chunk.len();
                }
            }
            "queue-exokern" => {
                let nats = Nats::connect(options(&url, "worker")).await.unwrap();
                let shared = nats.work_queue(&channel, queue_spec(items)).await.unwrap();
                let queue = WorkQueue::<u64>::builder(channel)
                    .capacity(items)
                    .shared(shared)
                    .start()
                    .unwrap();
                let worker = queue
                    .grant(SystemId::new("worker").unwrap(), Rights::READ)
                    .await
                    .unwrap();
                println!("ready");
                let mut acked = 0;
                while acked < items {
                    let claimed = worker
                        .claim_wait(BATCH, LEASE, Duration::from_secs(1))
                        .await
                        .unwrap();
                    let tokens = claimed
                        .iter()
                        .filter_map(|item| item.claim_token())
                        .collect::<Vec<_>>();
                    acked += tokens.len();
                    worker.ack_many(tokens).await.unwrap();
                }
            }
            "listener-raw" => {
                let client = async_nats::connect(&url).await.unwrap();
                let jetstream = async_nats::jetstream::new(client);
                let stream = raw_stream(&jetstream, &name, items).await;
                let consumer = stream
                    .create_consumer(OrderedConfig {
                        deliver_policy: DeliverPolicy::All,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                let mut messages = consumer.messages().await.unwrap();
                println!("ready");
                for _ in 0..items {
                    messages.next().await.unwrap().unwrap();
                }
            }
            "listener-exokern" => {
                let nats = Nats::connect(options(&url, "listener")).await.unwrap();
                let spec = StreamSpec::default().retention(items);
                let shared = nats.broadcast(&channel, spec).await.unwrap();
                let news = Broadcast::<u64>::builder(channel)
                    .shared(shared)
                    .start()
                    .unwrap();
                let reader = news
                    .grant(SystemId::new("reader").unwrap(), Rights::READ)
                    .await
                    .unwrap();
                let mut sub = reader
                    .subscribe(SubscribeOptions::default().buffer(items))
                    .await
                    .unwrap();
                println!("ready");
                for _ in 0..items {
                    sub.recv().await.unwrap();
                }
            }
            other => panic!("unknown role {other}"),
        }
        println!("done");
    });
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

type Side = (&'static str, fn(&str, usize) -> f64);

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        return consume(&role);
    }
    let args: Vec<String> = std::env::args().collect();
    let items = args
        .iter()
        .position(|a| a == "--items")
        .and_then(|i| args.get(i + 1))
        .map_or(50_000, |n| n.parse().expect("--items takes a number"));
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let server = TestServer::start();
    let url = server.url();
    let pairs: [(&str, Side, Side); 2] = [
        (
            "work queue items/s",
            ("raw async-nats", queue_raw),
            ("exokern", queue_exokern),
        ),
        (
            "broadcast deliveries/s",
            ("raw async-nats", broadcast_raw),
            ("exokern", broadcast_exokern),
        ),
    ];
    println!("{items} items per run, {ROUNDS} runs per side, alternating; nats-server on {url}");
    for (what, raw, ours) in pairs {
        if only
            .as_ref()
            .is_some_and(|only| !what.contains(only.as_str()))
        {
            continue;
        }
        let mut raw_runs = Vec::new();
        let mut our_runs = Vec::new();
        for _ in 0..ROUNDS {
            raw_runs.push((raw.1)(&url, items));
            our_runs.push((ours.1)(&url, items));
        }
        let (raw_median, our_median) = (median(raw_runs.clone()), median(our_runs.clone()));
        println!("{what}");
        println!(
            "  {:<16} {:>10.0}   runs {:?}",
            raw.0,
            raw_median,
            raw_runs.iter().map(|v| *v as u64).collect::<Vec<_>>()
        );
        println!(
            "  {:<16} {:>10.0}   runs {:?}",
            ours.0,
            our_median,
            our_runs.iter().map(|v| *v as u64).collect::<Vec<_>>()
        );
        println!("  exokern / raw    {:>10.2}x", our_median / raw_median);
    }
}
