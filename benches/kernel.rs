//! The kernel: capability grant round trips (one at a time, and with 100 to 10,000 in
//! flight), action approvals through the gate, dock + undock, on the kernel's arbiter
//! and across two; and the memory an idle docked system costs.
//!
//! Each beside raw actix doing the same work: a desk actor that checks a rule, records
//! a grant in a hash map and answers (`raw_actix` grants), looks a grant up and answers
//! (`raw_actix` approvals), and an actor started and stopped (`raw_actix` dock).

#[path = "common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System as SystemAlloc};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use common::{config, sid, time_rounds};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use exokern::bench::suite::desk::{Desk, RawCheck, RawGrant};
use exokern::capability::Scope;
use exokern::kernel::{Dock, Kernel, KernelClient, KernelHandle};
use exokern::placement::Placement;
use exokern::policy::{Risk, RuleSet};
use exokern::prelude::{Rights, SystemContext, SystemId};
use exokern::protocol::ActionRequest;
use exokern::system::System;

/// Counts live heap bytes, for the memory an idle docked system costs.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// A global allocator is unsafe to implement by definition; this one only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { SystemAlloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { SystemAlloc.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// An idle system that hands its kernel client out.
struct Idle {
    client: Arc<Mutex<Option<KernelClient>>>,
}

impl System for Idle {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        *self.client.lock().unwrap() = ctx.kernel().cloned();
    }
}

fn idle(id: SystemId) -> Dock<Idle> {
    Dock::new(id, || Idle {
        client: Arc::default(),
    })
}

async fn start_kernel(placement: Placement) -> KernelHandle {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .placement(placement)
        .max_in_flight_per_system(16_384)
        .heartbeat_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    kernel
        .register_executor("http", Risk::Low, None)
        .await
        .unwrap();
    kernel
}

async fn dock_client(kernel: &KernelHandle, id: &str) -> KernelClient {
    let slot = Arc::new(Mutex::new(None));
    let client = Arc::clone(&slot);
    kernel
        .dock(Dock::new(sid(id), move || Idle {
            client: Arc::clone(&client),
        }))
        .await
        .unwrap();
    let client = slot.lock().unwrap().clone();
    client.unwrap()
}

fn http() -> Scope {
    "executor:http".parse().unwrap()
}

/// The baseline desk of `exokern bench`, with room for every request in flight.
fn raw_desk() -> Desk {
    Desk::allowing(vec![http()]).mailbox(usize::MAX)
}

/// Grants made before the holder's CSpace is cleared (it holds 65,536 at most).
const CSPACE_CHUNK: u64 = 50_000;

/// Times `total` calls of `call` made by `requesters` tasks on this arbiter at once,
/// each making its share one after another, so that `requesters` calls are in flight
/// throughout. Every `CSPACE_CHUNK` calls the tasks finish and `between` runs untimed.
async fn in_flight<C, F>(requesters: u64, total: u64, call: C, between: impl AsyncFn()) -> Duration
where
    C: Fn() -> F + Clone + 'static,
    F: Future<Output = ()> + 'static,
{
    let per_chunk = (CSPACE_CHUNK / requesters).max(1);
    let mut elapsed = Duration::ZERO;
    let mut done = 0;
    while done < total {
        let each = ((total - done) / requesters).clamp(1, per_chunk);
        let start = Instant::now();
        let tasks: Vec<_> = (0..requesters)
            .map(|_| {
                let call = call.clone();
                actix_rt::spawn(async move {
                    for _ in 0..each {
                        call().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("requester finished");
        }
        elapsed += start.elapsed();
        done += each * requesters;
        between().await;
    }
    elapsed
}

/// Times `iters` grants to `client`, `requesters` at a time, clearing its CSpace
/// (untimed) before it fills.
fn time_grants(
    system: &actix_rt::SystemRunner,
    kernel: &KernelHandle,
    client: &KernelClient,
    iters: u64,
    requesters: u64,
) -> Duration {
    let holder = client.system().clone();
    let (client, scope) = (Rc::new(client.clone()), Rc::new(http()));
    let grant = move || {
        let (client, scope) = (Rc::clone(&client), Rc::clone(&scope));
        async move {
            client
                .request((*scope).clone(), Rights::EXECUTE)
                .await
                .unwrap();
        }
    };
    system.block_on(in_flight(requesters, iters, grant, async || {
        clear(kernel, &holder).await
    }))
}

/// Revokes everything `system` holds and lets it run again.
async fn clear(kernel: &KernelHandle, system: &SystemId) {
    use exokern::protocol::LifecycleCommand::{Resume, Revoke};
    kernel.lifecycle(Revoke, system, None).await.unwrap();
    kernel.lifecycle(Resume, system, None).await.unwrap();
}

fn grants(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let here = system.block_on(start_kernel(Placement::Current));
    let here_client = system.block_on(dock_client(&here, "agent"));
    let remote_arbiter = system.block_on(async { Arbiter::new() });
    let away = system.block_on(start_kernel(Placement::Pinned(remote_arbiter.handle())));
    let away_client = system.block_on(dock_client(&away, "agent"));
    let desk_here = system.block_on(async { raw_desk().start() });
    let desk_away = {
        let arbiter = Arbiter::new();
        system.block_on(async move { Desk::start_in_arbiter(&arbiter.handle(), |_| raw_desk()) })
    };
    let (agent, scope) = (sid("agent"), http());
    let raw_grant =
        |desk: &Addr<Desk>| desk.send(RawGrant(agent.clone(), scope.clone(), Rights::EXECUTE));

    let mut group = c.benchmark_group("kernel_grant_sequential");
    for (place, kernel, client, desk) in [
        ("one_arbiter", &here, &here_client, &desk_here),
        ("two_arbiters", &away, &away_client, &desk_away),
    ] {
        group.bench_function(BenchmarkId::new("exokern", place), |b| {
            b.iter_custom(|iters| time_grants(&system, kernel, client, iters, 1))
        });
        group.bench_function(BenchmarkId::new("raw_actix", place), |b| {
            b.iter_custom(|iters| {
                time_rounds(
                    &system,
                    &async || {
                        raw_grant(desk).await.unwrap().unwrap();
                    },
                    iters,
                )
            })
        });
    }
    group.finish();

    for (place, kernel, client, desk) in [
        ("one_arbiter", &here, &here_client, &desk_here),
        ("two_arbiters", &away, &away_client, &desk_away),
    ] {
        let mut group = c.benchmark_group(format!("kernel_grants_in_flight_{place}"));
        for requesters in [100u64, 1_000, 10_000] {
            group.throughput(Throughput::Elements(requesters));
            group.bench_function(BenchmarkId::new("exokern", requesters), |b| {
                b.iter_custom(|iters| {
                    time_grants(&system, kernel, client, iters * requesters, requesters)
                })
            });
            group.bench_function(BenchmarkId::new("raw_actix", requesters), |b| {
                b.iter_custom(|iters| {
                    let (desk, scope, agent) = (desk.clone(), Rc::new(http()), sid("agent"));
                    let grant = move || {
                        let grant = RawGrant(agent.clone(), (*scope).clone(), Rights::EXECUTE);
                        let granted = desk.send(grant);
                        async move {
                            granted.await.unwrap().unwrap();
                        }
                    };
                    system.block_on(in_flight(
                        requesters,
                        iters * requesters,
                        grant,
                        async || {},
                    ))
                })
            });
        }
        group.finish();
    }
}

fn approvals(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let kernel = system.block_on(start_kernel(Placement::Current));
    let client = system.block_on(dock_client(&kernel, "agent"));
    let granted = system
        .block_on(client.request(http(), Rights::EXECUTE))
        .unwrap();
    let desk = system.block_on(async { raw_desk().start() });
    let raw_id = system
        .block_on(desk.send(RawGrant(sid("agent"), http(), Rights::EXECUTE)))
        .unwrap()
        .unwrap();
    let action = ActionRequest::new("GET", "http", "https://example.com/");

    let mut group = c.benchmark_group("kernel_action_approval");
    group.bench_function(BenchmarkId::new("exokern", "one_arbiter"), |b| {
        b.iter_custom(|iters| {
            time_rounds(
                &system,
                &async || {
                    client
                        .authorize(action.clone(), Some(&granted.capability))
                        .await
                        .unwrap();
                },
                iters,
            )
        })
    });
    group.bench_function(BenchmarkId::new("raw_actix", "one_arbiter"), |b| {
        b.iter_custom(|iters| {
            time_rounds(
                &system,
                &async || {
                    assert!(desk
                        .send(RawCheck(sid("agent"), raw_id, Rights::EXECUTE))
                        .await
                        .unwrap())
                },
                iters,
            )
        })
    });
    group.finish();
}

/// The baseline "system": an actor that is started, then stopped, and says when.
struct Bare;

impl Actor for Bare {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Halt;

impl Handler<Halt> for Bare {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

fn dock_undock(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let kernel = system.block_on(start_kernel(Placement::Current));
    let id = sid("visitor");
    let mut group = c.benchmark_group("kernel_dock_undock");
    group.bench_function(BenchmarkId::new("exokern", "idle_system"), |b| {
        b.iter_custom(|iters| {
            time_rounds(
                &system,
                &async || {
                    kernel.dock(idle(id.clone())).await.unwrap();
                    kernel.undock(&id).await.unwrap();
                },
                iters,
            )
        })
    });
    group.bench_function(BenchmarkId::new("raw_actix", "bare_actor"), |b| {
        b.iter_custom(|iters| {
            time_rounds(
                &system,
                &async || {
                    let addr = Bare.start();
                    addr.send(Halt).await.unwrap();
                },
                iters,
            )
        })
    });
    group.finish();
}

/// Prints the live heap bytes per idle docked system, beside a bare actix actor.
fn memory(_: &mut Criterion) {
    const SYSTEMS: usize = 10_000;
    let system = actix_rt::System::new();
    let kernel = system.block_on(start_kernel(Placement::Current));
    // Warm the maps up first, so the measure is of the systems, not of growth.
    system.block_on(async {
        for n in 0..SYSTEMS {
            kernel.dock(idle(sid(&format!("w{n}")))).await.unwrap();
        }
        for n in 0..SYSTEMS {
            kernel.undock(&sid(&format!("w{n}"))).await.unwrap();
        }
    });
    let ids: Vec<SystemId> = (0..SYSTEMS).map(|n| sid(&format!("s{n}"))).collect();
    let before = LIVE.load(Ordering::Relaxed);
    system.block_on(async {
        for id in &ids {
            kernel.dock(idle(id.clone())).await.unwrap();
        }
    });
    let docked = LIVE.load(Ordering::Relaxed) - before;
    let before = LIVE.load(Ordering::Relaxed);
    let actors: Vec<Addr<Bare>> =
        system.block_on(async { (0..SYSTEMS).map(|_| Bare.start()).collect() });
    let bare = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "kernel_memory/idle_docked_system: {} bytes per system; raw_actix bare actor: {} bytes",
        docked / SYSTEMS as isize,
        bare / SYSTEMS as isize
    );
    drop(actors);
}

criterion_group! {
    name = benches;
    config = config();
    targets = grants, approvals, dock_undock, memory
}
criterion_main!(benches);
