//! Publish requests over keep-alive: exokern's `POST /v1/channels/{channel}/messages`
//! (bearer token checked, the caller's grant on a public broadcast, the message stamped
//! and retained) beside a plain actix-web handler at the same path that decodes the same
//! JSON and does nothing else. One HTTP worker each; the client keeps 1 or 32 requests
//! in flight over pooled keep-alive connections.
//!
//! Beside them, the check every request starts with: a bearer token verified against a
//! store of 256, by one thread or by two at once, as two HTTP workers would.

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use exokern::http::{routes, Gateway, HttpLimits};
use exokern::kernel::{Kernel, RemoteDock, Visibility};
use exokern::prelude::*;
use exokern::tokens::TokenStore;
use serde::Deserialize;
use serde_json::{json, Value};

const BODY: &str = r#"{"payload": {"sensor": "t-17", "reading": 21.5, "tags": ["lab", "north"]}}"#;

/// The body the plain handler decodes: the same shape exokern's route accepts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Publish {
    payload: Value,
    #[serde(default)]
    to: Option<String>,
}

async fn plain(_: web::Path<String>, _: web::Json<Publish>) -> HttpResponse {
    HttpResponse::Created().json(json!({ "seq": 0 }))
}

/// Starts `app` on one worker on an ephemeral port; answers the publish URL.
macro_rules! serve {
    ($app:expr) => {{
        let server = HttpServer::new($app)
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
        let address = server.addrs()[0];
        actix_rt::spawn(server.run());
        format!("http://{address}/v1/channels/events/messages")
    }};
}

async fn exokern_server() -> (String, String) {
    let kernel = Kernel::builder()
        .heartbeat_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let events = Broadcast::<Value>::builder("events".parse().unwrap())
        .start()
        .unwrap();
    kernel
        .add_channel(events, Visibility::Public)
        .await
        .unwrap();
    let gateway = Gateway::new(kernel, HttpLimits::default());
    let id: SystemId = "bench".parse().unwrap();
    gateway
        .dock(RemoteDock::new(id.clone()).channel("events".parse().unwrap(), Rights::WRITE))
        .await
        .unwrap();
    let token = gateway.mint(id, None).0.secret().to_owned();
    let url = serve!(move || App::new().configure(routes(gateway.clone())));
    (url, token)
}

/// Sends `total` publishes, `in_flight` at a time, and answers how long they took.
async fn drive(
    client: &awc::Client,
    url: &Rc<str>,
    token: &Rc<str>,
    in_flight: u64,
    total: u64,
) -> Duration {
    let each = (total / in_flight).max(1);
    let start = Instant::now();
    let senders: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, url, token) = (client.clone(), Rc::clone(url), Rc::clone(token));
            actix_rt::spawn(async move {
                for _ in 0..each {
                    let mut response = client
                        .post(&*url)
                        .insert_header(("Authorization", format!("Bearer {token}")))
                        .insert_header(("Content-Type", "application/json"))
                        .send_body(BODY)
                        .await
                        .expect("the server answers");
                    assert_eq!(response.status().as_u16(), 201);
                    response.body().await.expect("a body");
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("sender finished");
    }
    start
        .elapsed()
        .mul_f64(total as f64 / (each * in_flight) as f64)
}

fn publish(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let (exokern_url, token) = system.block_on(exokern_server());
    let plain_url = system.block_on(async {
        serve!(|| App::new().route("/v1/channels/{channel}/messages", web::post().to(plain)))
    });
    let client = system.block_on(async {
        awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish()
    });
    let token: Rc<str> = Rc::from(token);
    let mut group = c.benchmark_group("http_publish");
    group.throughput(Throughput::Elements(1));
    for in_flight in [1, 32] {
        for (name, url) in [("exokern", &exokern_url), ("plain_actix_web", &plain_url)] {
            let url: Rc<str> = Rc::from(url.as_str());
            group.bench_with_input(BenchmarkId::new(name, in_flight), &in_flight, |b, &n| {
                b.iter_custom(|iters| system.block_on(drive(&client, &url, &token, n, iters)))
            });
        }
    }
    group.finish();
}

fn verify_token(c: &mut Criterion) {
    let store = TokenStore::new();
    let tokens: Vec<String> = (0..256)
        .map(|i| {
            let system: SystemId = format!("remote-{i}").parse().unwrap();
            store.mint(system, None).0.secret().to_owned()
        })
        .collect();
    let mut group = c.benchmark_group("token_verify");
    for threads in [1u64, 2] {
        group.throughput(Throughput::Elements(threads));
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &n| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..n {
                        let (store, tokens) = (&store, &tokens);
                        scope.spawn(move || {
                            for i in 0..iters {
                                let token = &tokens[((i + t * 128) % 256) as usize];
                                let verified = store.verify(token, std::time::SystemTime::now());
                                assert!(verified.is_ok());
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = publish, verify_token
}
criterion_main!(benches);
