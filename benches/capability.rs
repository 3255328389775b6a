//! Capabilities: the cost of a check, a derivation and a subtree revocation in the
//! table, and of a check through the CapabilityActor, one at a time and pipelined.
//!
//! The table benchmarks stand beside the seed's (Oxios') structures doing the same job:
//! a check scans the capabilities for an equal resource (`seed_scan`), a delegated
//! capability is a fresh UUID inserted into a map (`seed_insert`), and removing
//! capabilities is removing map entries by id (`seed_remove`). The actor benchmarks
//! stand beside raw actix: an actor that looks the rights up in a hash map and answers.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant as StdInstant;

use actix::prelude::*;
use common::{config, sid, time_rounds};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use exokern::capability::{
    Access, Authority, Capability, CapabilityActor, CapabilityTable, Caveats, Check, Denial,
    Derivation, ResourceRef, Scope,
};
use exokern::prelude::*;
use rustc_hash::FxHashMap;
use tokio::time::Instant;
use uuid::Uuid;

fn resource(i: usize) -> ResourceRef {
    ResourceRef::Custom {
        kind: "db".into(),
        name: format!("table-{i}").into(),
    }
}

fn can(c: &mut Criterion) {
    let mut group = c.benchmark_group("capability_can");
    let holder = sid("agent");
    let now = Instant::now();
    for size in [10usize, 100, 1_000, 10_000] {
        let mut table = CapabilityTable::new();
        let mut seed: Vec<(ResourceRef, Rights)> = Vec::with_capacity(size);
        for i in 0..size {
            let rights = Rights::READ | Rights::WRITE;
            table
                .mint(&holder, resource(i).into(), rights, Caveats::new(), now)
                .unwrap();
            seed.push((resource(i), rights));
        }
        let wanted = resource(size / 2);
        group.bench_function(BenchmarkId::new("exokern", size), |b| {
            let cspace = table.cspace(&holder);
            b.iter(|| black_box(cspace.can(black_box(&wanted), Rights::READ, now)))
        });
        group.bench_function(BenchmarkId::new("seed_scan", size), |b| {
            b.iter(|| {
                black_box(
                    seed.iter().any(|(r, rights)| {
                        r == black_box(&wanted) && rights.contains(Rights::READ)
                    }),
                )
            })
        });
    }
    group.finish();
}

fn derive(c: &mut Criterion) {
    let mut group = c.benchmark_group("capability_derive");
    let (lead, helper) = (sid("lead"), sid("helper"));
    let scope: Scope = "mcp:*".parse().unwrap();
    group.bench_function(BenchmarkId::new("exokern", "one"), |b| {
        b.iter_custom(|iters| {
            let now = Instant::now();
            let mut table = CapabilityTable::with_cspace_limit(usize::MAX);
            let root = table
                .mint(&lead, scope.clone(), Rights::ALL, Caveats::new(), now)
                .unwrap();
            let start = StdInstant::now();
            for _ in 0..iters {
                let request = Derivation::new(helper.clone(), Rights::READ)
                    .scope("mcp:github".parse().unwrap());
                black_box(table.derive(&lead, &root, request, now).unwrap());
            }
            start.elapsed()
        })
    });
    group.bench_function(BenchmarkId::new("seed_insert", "one"), |b| {
        b.iter_custom(|iters| {
            let mut map: HashMap<Uuid, (ResourceRef, Rights, SystemId)> = HashMap::new();
            let start = StdInstant::now();
            for _ in 0..iters {
                let resource: ResourceRef = "mcp:github".parse().unwrap();
                map.insert(Uuid::new_v4(), (resource, Rights::READ, lead.clone()));
            }
            black_box(&map);
            start.elapsed()
        })
    });
    group.finish();
}

/// A root with 100 children of 99 children each: 10,000 capabilities under the root,
/// spread over three holders.
fn tree() -> (CapabilityTable, Capability) {
    let now = Instant::now();
    let holders = [sid("a"), sid("b"), sid("c")];
    let mut table = CapabilityTable::with_cspace_limit(usize::MAX);
    let root = table
        .mint(
            &holders[0],
            "a2a".parse().unwrap(),
            Rights::ALL,
            Caveats::new(),
            now,
        )
        .unwrap();
    for i in 0..100 {
        let to = &holders[1 + i % 2];
        let child = table
            .derive(
                &holders[0],
                &root,
                Derivation::new(to.clone(), Rights::ALL),
                now,
            )
            .unwrap();
        for _ in 0..99 {
            table
                .derive(
                    to,
                    &child,
                    Derivation::new(holders[0].clone(), Rights::READ),
                    now,
                )
                .unwrap();
        }
    }
    (table, root)
}

fn revoke(c: &mut Criterion) {
    let mut group = c.benchmark_group("capability_revoke_subtree");
    group.throughput(Throughput::Elements(10_001));
    group.bench_function(BenchmarkId::new("exokern", 10_000), |b| {
        b.iter_batched(
            tree,
            |(mut table, root)| {
                assert_eq!(table.revoke(&Authority::Kernel, &root), Ok(10_001));
                table
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(BenchmarkId::new("seed_remove", 10_000), |b| {
        b.iter_batched(
            || {
                let map: HashMap<Uuid, (ResourceRef, Rights)> = (0..10_001)
                    .map(|_| (Uuid::new_v4(), ("a2a".parse().unwrap(), Rights::ALL)))
                    .collect();
                let ids: Vec<Uuid> = map.keys().copied().collect();
                (map, ids)
            },
            |(mut map, ids)| {
                for id in &ids {
                    map.remove(id);
                }
                map
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Raw actix doing a check's work: look the holder's rights up in a map and answer.
struct RawCaps {
    rights: FxHashMap<(SystemId, ResourceRef), Rights>,
}

impl Actor for RawCaps {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(exokern::capability::DEFAULT_MAILBOX);
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), Denial>")]
struct RawCheck {
    holder: SystemId,
    resource: ResourceRef,
    rights: Rights,
}

impl Handler<RawCheck> for RawCaps {
    type Result = Result<(), Denial>;

    fn handle(&mut self, msg: RawCheck, _: &mut Context<Self>) -> Result<(), Denial> {
        match self.rights.get(&(msg.holder, msg.resource)) {
            Some(held) if held.contains(msg.rights) => Ok(()),
            _ => Err(Denial::Unknown),
        }
    }
}

struct Fixture {
    ours: Addr<CapabilityActor>,
    raw: Addr<RawCaps>,
    holder: SystemId,
    cap: Capability,
    access: Access,
}

async fn fixture() -> Fixture {
    let holder = sid("agent");
    let ours = CapabilityActor::new().start();
    let cap = ours
        .send(exokern::capability::Grant::new(
            holder.clone(),
            ResourceRef::executor("http").into(),
            Rights::EXECUTE,
        ))
        .await
        .unwrap()
        .unwrap();
    let mut rights = FxHashMap::default();
    rights.insert(
        (holder.clone(), ResourceRef::executor("http")),
        Rights::EXECUTE,
    );
    Fixture {
        ours,
        raw: RawCaps { rights }.start(),
        holder,
        cap,
        access: Access::new(ResourceRef::executor("http"), Rights::EXECUTE),
    }
}

impl Fixture {
    fn ours(&self) -> Request<CapabilityActor, Check> {
        self.ours.send(Check::new(
            self.holder.clone(),
            self.cap.clone(),
            self.access.clone(),
        ))
    }

    fn raw(&self) -> Request<RawCaps, RawCheck> {
        self.raw.send(RawCheck {
            holder: self.holder.clone(),
            resource: self.access.resource().clone(),
            rights: self.access.rights(),
        })
    }
}

const PIPELINE: u64 = 1_000;

fn actor(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let f = system.block_on(fixture());

    let mut group = c.benchmark_group("capability_check_round_trip");
    group.bench_function(BenchmarkId::new("exokern", "one_arbiter"), |b| {
        b.iter_custom(|iters| {
            time_rounds(&system, &async || f.ours().await.unwrap().unwrap(), iters)
        })
    });
    group.bench_function(BenchmarkId::new("raw_actix", "one_arbiter"), |b| {
        b.iter_custom(|iters| {
            time_rounds(&system, &async || f.raw().await.unwrap().unwrap(), iters)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("capability_checks_pipelined");
    group.throughput(Throughput::Elements(PIPELINE));
    group.bench_function(BenchmarkId::new("exokern", PIPELINE), |b| {
        b.iter_custom(|iters| time_rounds(&system, &async || pipelined(|| f.ours()).await, iters))
    });
    group.bench_function(BenchmarkId::new("raw_actix", PIPELINE), |b| {
        b.iter_custom(|iters| time_rounds(&system, &async || pipelined(|| f.raw()).await, iters))
    });
    group.finish();
}

/// Sends [`PIPELINE`] checks before awaiting the first answer.
async fn pipelined<F, E>(send: impl Fn() -> F)
where
    F: std::future::Future<Output = Result<Result<(), Denial>, E>>,
    E: std::fmt::Debug,
{
    let pending: Vec<F> = (0..PIPELINE).map(|_| send()).collect();
    for request in pending {
        request.await.unwrap().unwrap();
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = can, derive, revoke, actor
}
criterion_main!(benches);
