//! Mailbox request/reply round trip, beside raw actix asking an actor that answers: with
//! a plain `send().await`, and with `send().timeout(..)`, which does the same work as a
//! request (every request has a deadline). On one arbiter, and with the answering actor
//! on a second arbiter.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use actix::prelude::*;
use common::{cid, config, sid};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use exokern::channel::MailboxHandle;
use exokern::prelude::*;

/// Answers every request in its inbox with the payload plus one.
struct Responder {
    inbox: Option<MailboxHandle<u64>>,
}

impl Actor for Responder {
    type Context = Context<Self>;
}

impl Handler<Delivery<u64>> for Responder {
    type Result = ();
    fn handle(&mut self, delivery: Delivery<u64>, _: &mut Context<Self>) {
        let inbox = self.inbox.as_ref().expect("wired before use");
        for mut request in delivery {
            let answer = request.payload() + 1;
            inbox.reply(&mut request, answer).expect("requester waits");
        }
    }
}

/// The baseline's request.
#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

impl Handler<Ping> for Responder {
    type Result = u64;
    fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Wire(MailboxHandle<u64>);

impl Handler<Wire> for Responder {
    type Result = ();
    fn handle(&mut self, Wire(inbox): Wire, ctx: &mut Context<Self>) {
        inbox
            .subscribe_actor(ctx.address().recipient())
            .expect("the responder may read its inbox");
        self.inbox = Some(inbox);
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

fn round_trip(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let other = system.block_on(async { actix_rt::Arbiter::new() });
    let mut group = c.benchmark_group("mailbox_request_reply");
    for (placement, arbiter) in [
        ("same_arbiter", None),
        ("two_arbiters", Some(other.handle())),
    ] {
        let start_responder = |arbiter: &Option<actix_rt::ArbiterHandle>| match arbiter {
            None => Responder { inbox: None }.start(),
            Some(handle) => Responder::start_in_arbiter(handle, |_| Responder { inbox: None }),
        };

        let raw = system.block_on(async { start_responder(&arbiter) });
        group.bench_function(BenchmarkId::new("raw_actix", placement), |b| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let start = Instant::now();
                    for n in 0..iters {
                        assert_eq!(raw.send(Ping(n)).await.unwrap(), n + 1);
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function(BenchmarkId::new("raw_actix_timeout", placement), |b| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let start = Instant::now();
                    for n in 0..iters {
                        let answer = raw.send(Ping(n)).timeout(TIMEOUT).await.unwrap();
                        assert_eq!(answer, n + 1);
                    }
                    start.elapsed()
                })
            })
        });

        let (client, _mail) = system.block_on(async {
            let mail = Mailbox::<u64>::builder(cid("rpc")).start().unwrap();
            let client = mail.grant(sid("client"), Rights::WRITE).await.unwrap();
            let inbox = mail
                .grant(sid("server"), Rights::READ | Rights::WRITE)
                .await
                .unwrap();
            let responder = start_responder(&arbiter);
            responder.send(Wire(inbox)).await.unwrap();
            (client, mail)
        });
        let server = sid("server");
        group.bench_function(BenchmarkId::new("exokern", placement), |b| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let start = Instant::now();
                    for n in 0..iters {
                        let reply = client.request(&server, n, TIMEOUT).await.unwrap();
                        assert_eq!(*reply.payload(), n + 1);
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
    other.stop();
}

criterion_group! {
    name = benches;
    config = config();
    targets = round_trip
}
criterion_main!(benches);
