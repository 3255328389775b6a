//! Governance beside raw actix: capability grants and checks, action approvals,
//! docking. The baselines are a raw actix "desk" doing the bare bookkeeping: a rule
//! check and a hash map insert for a grant, a hash map lookup for a check or an
//! approval, an actor started and stopped for a dock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::desk::{Desk, RawCheck, RawGrant};
use super::raw::Halt;
use super::Scale;
use crate::bench::{BenchError, Failure, Report, Runner, Workload};
use crate::capability::{Access, Capability, CapabilityActor, Check, Grant, ResourceRef, Scope};
use crate::kernel::{Dock, Kernel, KernelClient, KernelHandle};
use crate::policy::{Risk, RuleSet};
use crate::protocol::{ActionRequest, LifecycleCommand};
use crate::system::{System, SystemContext};
use crate::{Rights, SystemId};

pub(super) fn grants(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let batch = scale.pick(1_000, 1_000, 20);
    Box::pin(runner.compare(
        "capability-grants",
        "grant",
        GrantsOnExokern { batch },
        OnDesk {
            batch,
            ask: Ask::Grant,
        },
    ))
}

pub(super) fn checks(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let batch = scale.pick(1_000, 1_000, 20);
    Box::pin(runner.compare(
        "capability-checks",
        "check",
        ChecksOnExokern { batch },
        OnDesk {
            batch,
            ask: Ask::Check,
        },
    ))
}

pub(super) fn approvals(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let batch = scale.pick(1_000, 1_000, 20);
    Box::pin(runner.compare(
        "gate-approvals",
        "approval",
        ApprovalsOnExokern { batch },
        OnDesk {
            batch,
            ask: Ask::Check,
        },
    ))
}

pub(super) fn dock_undock(
    runner: &Runner,
    scale: Scale,
) -> LocalBoxFuture<'_, Result<Report, BenchError>> {
    let batch = scale.pick(200, 100, 5);
    Box::pin(runner.compare(
        "dock-undock",
        "dock",
        DockOnExokern { batch },
        StartStopOnActix { batch },
    ))
}

/// The executor every action and capability of these benchmarks names.
fn http() -> Scope {
    Scope::Exact(ResourceRef::executor("http"))
}

/// A kernel on this arbiter that allows everything, with the `http` executor.
async fn kernel() -> Result<KernelHandle, Failure> {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .heartbeat_interval(Duration::from_secs(3600))
        .start()
        .await?;
    kernel.register_executor("http", Risk::Low, None).await?;
    Ok(kernel)
}

/// An idle system that hands its kernel client out.
struct Idle {
    client: Arc<Mutex<Option<KernelClient>>>,
}

impl System for Idle {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = ctx.kernel().cloned();
    }
}

fn idle(id: SystemId, client: &Arc<Mutex<Option<KernelClient>>>) -> Dock<Idle> {
    let client = Arc::clone(client);
    Dock::new(id, move || Idle {
        client: Arc::clone(&client),
    })
}

/// A kernel and the client of a system docked into it.
struct Docked {
    kernel: KernelHandle,
    client: KernelClient,
}

async fn docked() -> Result<Docked, Failure> {
    let kernel = kernel().await?;
    let slot = Arc::default();
    kernel.dock(idle(SystemId::new("agent")?, &slot)).await?;
    let client = slot
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or("a docked system has a kernel client")?;
    Ok(Docked { kernel, client })
}

/// Grants a CSpace takes before it is cleared (untimed): it holds 65,536 at most.
pub(super) const CSPACE_CHUNK: u64 = 50_000;

/// On exokern: `batch` grant round trips, one after another, from a docked system.
struct GrantsOnExokern {
    batch: u64,
}

impl Workload for GrantsOnExokern {
    type State = (Docked, u64);

    fn work(&self) -> u64 {
        self.batch
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        Ok((docked().await?, 0))
    }

    async fn prepare(&mut self, (docked, held): &mut Self::State) -> Result<(), Failure> {
        if *held + self.batch > CSPACE_CHUNK {
            let agent = docked.client.system().clone();
            let kernel = &docked.kernel;
            kernel
                .lifecycle(LifecycleCommand::Revoke, &agent, None)
                .await?;
            kernel
                .lifecycle(LifecycleCommand::Resume, &agent, None)
                .await?;
            *held = 0;
        }
        Ok(())
    }

    async fn iteration(&mut self, (docked, held): &mut Self::State) -> Result<u64, Failure> {
        let mut granted = 0;
        for _ in 0..self.batch {
            docked.client.request(http(), Rights::EXECUTE).await?;
            granted += 1;
        }
        *held += granted;
        Ok(granted)
    }

    async fn teardown(&mut self, (docked, _): Self::State) {
        docked.kernel.shutdown().await;
    }
}

/// On exokern: `batch` check round trips to a capability actor.
struct ChecksOnExokern {
    batch: u64,
}

impl Workload for ChecksOnExokern {
    type State = (Addr<CapabilityActor>, SystemId, Capability);

    fn work(&self) -> u64 {
        self.batch
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let holder = SystemId::new("agent")?;
        let caps = CapabilityActor::new().start();
        let cap = caps
            .send(Grant::new(holder.clone(), http(), Rights::EXECUTE))
            .await??;
        Ok((caps, holder, cap))
    }

    async fn iteration(&mut self, (caps, holder, cap): &mut Self::State) -> Result<u64, Failure> {
        let access = Access::new(ResourceRef::executor("http"), Rights::EXECUTE);
        let mut allowed = 0;
        for _ in 0..self.batch {
            caps.send(Check::new(holder.clone(), cap.clone(), access.clone()))
                .await??;
            allowed += 1;
        }
        Ok(allowed)
    }

    async fn teardown(&mut self, _: Self::State) {}
}

/// On exokern: `batch` actions authorized through the gate, one after another.
struct ApprovalsOnExokern {
    batch: u64,
}

impl Workload for ApprovalsOnExokern {
    type State = (Docked, Capability);

    fn work(&self) -> u64 {
        self.batch
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let docked = docked().await?;
        let granted = docked.client.request(http(), Rights::EXECUTE).await?;
        Ok((docked, granted.capability))
    }

    async fn iteration(&mut self, (docked, cap): &mut Self::State) -> Result<u64, Failure> {
        let action = ActionRequest::new("GET", "http", "https://example.com/");
        let mut approved = 0;
        for _ in 0..self.batch {
            docked.client.authorize(action.clone(), Some(cap)).await?;
            approved += 1;
        }
        Ok(approved)
    }

    async fn teardown(&mut self, (docked, _): Self::State) {
        docked.kernel.shutdown().await;
    }
}

/// On exokern: an idle system docked and undocked, `batch` times.
struct DockOnExokern {
    batch: u64,
}

impl Workload for DockOnExokern {
    type State = (KernelHandle, SystemId, Arc<Mutex<Option<KernelClient>>>);

    fn work(&self) -> u64 {
        self.batch
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        Ok((kernel().await?, SystemId::new("visitor")?, Arc::default()))
    }

    async fn iteration(&mut self, (kernel, id, slot): &mut Self::State) -> Result<u64, Failure> {
        let mut docked = 0;
        for _ in 0..self.batch {
            kernel.dock(idle(id.clone(), slot)).await?;
            kernel.undock(id).await?;
            docked += 1;
        }
        Ok(docked)
    }

    async fn teardown(&mut self, (kernel, _, _): Self::State) {
        kernel.shutdown().await;
    }
}

// ------------------------------------------------------------------- baselines --

/// What the desk is asked, `batch` times an iteration.
#[derive(Debug, Clone, Copy)]
enum Ask {
    Grant,
    Check,
}

/// On raw actix: `batch` round trips to the desk.
struct OnDesk {
    batch: u64,
    ask: Ask,
}

impl Workload for OnDesk {
    type State = (Addr<Desk>, SystemId, Uuid);

    fn work(&self) -> u64 {
        self.batch
    }

    async fn setup(&mut self) -> Result<Self::State, Failure> {
        let desk = Desk::allowing(vec![http()]).start();
        let holder = SystemId::new("agent")?;
        let id = desk
            .send(RawGrant(holder.clone(), http(), Rights::EXECUTE))
            .await?
            .ok_or("the desk grants `http`")?;
        Ok((desk, holder, id))
    }

    async fn iteration(&mut self, (desk, holder, id): &mut Self::State) -> Result<u64, Failure> {
        let mut answered = 0;
        for _ in 0..self.batch {
            let yes = match self.ask {
                Ask::Grant => desk
                    .send(RawGrant(holder.clone(), http(), Rights::EXECUTE))
                    .await?
                    .is_some(),
                Ask::Check => {
                    desk.send(RawCheck(holder.clone(), *id, Rights::EXECUTE))
                        .await?
                }
            };
            answered += u64::from(yes);
        }
        Ok(answered)
    }

    async fn teardown(&mut self, _: Self::State) {}
}

/// The raw "system": an actor that is started, then stopped.
struct Bare;

impl Actor for Bare {
    type Context = Context<Self>;
}

impl Handler<Halt> for Bare {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// On raw actix: an actor started, and stopped with a message it answers.
struct StartStopOnActix {
    batch: u64,
}

impl Workload for StartStopOnActix {
    type State = ();

    fn work(&self) -> u64 {
        self.batch
    }

    async fn setup(&mut self) -> Result<(), Failure> {
        Ok(())
    }

    async fn iteration(&mut self, _: &mut ()) -> Result<u64, Failure> {
        let mut stopped = 0;
        for _ in 0..self.batch {
            Bare.start().send(Halt).await?;
            stopped += 1;
        }
        Ok(stopped)
    }

    async fn teardown(&mut self, _: ()) {}
}
