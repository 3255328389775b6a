//! [`KernelHandle`]: the embedding program's API to a running kernel.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, MailboxError};

use super::actor::{AddChannel, KernelActor, Managers};
use super::audit::{Audit, AuditRecord};
use super::channels::{ChannelEntry, KernelChannel};
use super::dock::Dock;
use super::docking::DockSystem;
use super::error::{DockError, GovernanceError, KernelStopped, UndockError, Unrecorded};
use super::gate::{Decide, Executor, ListPending, RegisterExecutor};
use super::lifecycle::Command;
use super::loader::{ListModules, ModuleLoaderActor, RegisterFramework};
use super::loads::{Load, ModuleInfo, ModuleLoaded, Unload};
use super::modules::Framework;
use super::ports::Visibility;
use super::remote::{RemoteDock, RemoteSystem};
use super::state::LifecycleState;
use super::undock::{Shutdown, Snapshot, TakeSnapshot, Undock};
use crate::channel::{Broadcast, BroadcastHandle, ChannelError};
use crate::ids::SystemId;
use crate::policy::Risk;
use crate::protocol::{ApprovalEvent, ApprovalId, Heartbeat, LifecycleCommand, ModuleLoad};
use crate::rights::Rights;
use crate::system::{System, SystemControl, SystemRef};

use super::agents::{AgentLine, DockAgents, UndockAgents};

/// The embedding program's handle to a running kernel: dock and undock systems, register
/// channels and executors, issue lifecycle commands and approval decisions, watch the
/// kernel's channels, read the audit log, shut down. Cheap to clone, `Send`.
///
/// The handle is the root authority: its requests pass no policy (they are audited).
#[derive(Clone)]
pub struct KernelHandle {
    pub(super) id: Arc<str>,
    pub(super) name: Arc<str>,
    pub(super) kernel: Addr<KernelActor>,
    pub(super) managers: Managers,
    pub(super) modules: Addr<ModuleLoaderActor>,
    pub(super) heartbeat: Broadcast<Heartbeat>,
    pub(super) approvals: Broadcast<ApprovalEvent>,
    pub(super) audit_channel: Broadcast<AuditRecord>,
    pub(super) audit: Audit,
}

impl fmt::Debug for KernelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelHandle")
            .field("id", &self.id)
            .field("running", &self.is_running())
            .finish()
    }
}

impl KernelHandle {
    /// The kernel's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kernel's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `true` until the kernel shuts down.
    pub fn is_running(&self) -> bool {
        self.kernel.connected()
    }

    /// Docks a system: validates the whole dock, then grants its channels and spawns
    /// it; a refused dock changes nothing.
    pub async fn dock<S: System>(&self, dock: Dock<S>) -> Result<SystemRef<S>, DockError> {
        let (system, _) = self.settle(self.kernel.send(DockSystem { dock })).await?;
        Ok(system)
    }

    /// Docks a remote system: the same atomic dock as [`dock`](Self::dock), with the
    /// grants, privilege and initial capabilities `dock` names; the answer holds the
    /// ports and client the remote acts through.
    pub async fn dock_remote(&self, dock: RemoteDock) -> Result<RemoteSystem, DockError> {
        let docked = self.kernel.send(DockSystem {
            dock: dock.into_dock(),
        });
        let (system, docked) = self.settle(docked).await?;
        Ok(RemoteSystem::new(docked.docking, system))
    }

    /// Docks a simulation's agents, all or none.
    pub(crate) async fn dock_agents(
        &self,
        agents: Vec<(SystemId, SystemControl)>,
    ) -> Result<AgentLine, DockError> {
        self.settle(self.kernel.send(DockAgents { agents })).await
    }

    /// Undocks a simulation's agents; answers how many were docked.
    pub(crate) async fn undock_agents(&self, ids: Vec<SystemId>) -> usize {
        self.kernel.send(UndockAgents(ids)).await.unwrap_or(0)
    }

    /// Undocks a system: revokes its capabilities (with every derived one), removes its
    /// grants from every channel, stops it, and stops and unregisters the channels it
    /// owned.
    pub async fn undock(&self, system: &SystemId) -> Result<(), UndockError> {
        self.settle(self.kernel.send(Undock(system.clone()))).await
    }

    /// Registers a channel the program created, so systems can dock to it. Its id must
    /// be free.
    pub async fn add_channel(
        &self,
        channel: impl KernelChannel,
        visibility: Visibility,
    ) -> Result<(), DockError> {
        let entry = ChannelEntry::new(channel, None, visibility);
        self.kernel
            .send(AddChannel { entry })
            .await
            .map_err(|_| KernelStopped)?
    }

    /// Registers (or replaces) executor `name` with its `risk` — the only source of an
    /// action's risk — and optionally a runner, so `execute` can run its actions.
    pub async fn register_executor(
        &self,
        name: &str,
        risk: Risk,
        runner: Option<Arc<dyn Executor>>,
    ) -> Result<(), KernelStopped> {
        self.managers
            .gate
            .send(RegisterExecutor {
                name: Arc::from(name),
                risk,
                runner,
            })
            .await
            .map_err(|_| KernelStopped)
    }

    /// Registers (or replaces) framework `name`.
    pub async fn register_framework(
        &self,
        name: &str,
        framework: impl Framework,
    ) -> Result<(), KernelStopped> {
        self.modules
            .send(RegisterFramework {
                name: Arc::from(name),
                framework: Arc::new(framework),
            })
            .await
            .map_err(|_| KernelStopped)
    }

    /// Loads a module along the path every module load takes: module policy (with no
    /// requester), framework, an atomic dock, initial capabilities through the capability
    /// policy, held by the module.
    pub async fn load_module(&self, request: ModuleLoad) -> Result<ModuleLoaded, GovernanceError> {
        let loaded = self.managers.modules.loads.send(Load {
            caller: None,
            request,
        });
        self.settle(loaded).await
    }

    /// Unloads a module: a full undock.
    pub async fn unload_module(&self, module: &SystemId) -> Result<(), GovernanceError> {
        let unloaded = self.managers.modules.unloads.send(Unload {
            caller: None,
            module: module.clone(),
        });
        self.settle(unloaded).await
    }

    /// The modules loaded, by id.
    pub async fn modules(&self) -> Result<Vec<ModuleInfo>, KernelStopped> {
        self.modules
            .send(ListModules)
            .await
            .map_err(|_| KernelStopped)
    }

    /// Applies a lifecycle command; answers the system's new state once it took effect.
    pub async fn lifecycle(
        &self,
        command: LifecycleCommand,
        system: &SystemId,
        timeout: Option<Duration>,
    ) -> Result<LifecycleState, GovernanceError> {
        let commanded =
            self.managers
                .lifecycle
                .send(Command::new(None, command, system.clone(), timeout));
        self.settle(commanded).await
    }

    /// Approves or denies a pending approval.
    pub async fn decide(
        &self,
        approval: ApprovalId,
        approve: bool,
        reason: Option<String>,
    ) -> Result<(), GovernanceError> {
        let decided = self
            .managers
            .gate
            .send(Decide::new(None, approval, approve, reason));
        self.settle(decided).await
    }

    /// The answer to a request `sent` to a manager, once the audit records made so far
    /// are durable: a decision is never answered before a crash could no longer take
    /// it back.
    async fn settle<T, E>(
        &self,
        sent: impl Future<Output = Result<Result<T, E>, MailboxError>>,
    ) -> Result<T, E>
    where
        E: From<KernelStopped> + From<Unrecorded>,
    {
        let answer = sent.await.map_err(|_| KernelStopped)?;
        self.audit.settled().await?;
        answer
    }

    /// The approvals waiting for a decision.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalEvent>, KernelStopped> {
        self.managers
            .gate
            .send(ListPending)
            .await
            .map_err(|_| KernelStopped)
    }

    /// A READ handle on `kernel.approvals` for `holder` (an id of the program's choosing).
    pub async fn watch_approvals(
        &self,
        holder: SystemId,
    ) -> Result<BroadcastHandle<ApprovalEvent>, ChannelError> {
        self.approvals.grant(holder, Rights::READ).await
    }

    /// A READ handle on `kernel.heartbeat` for `holder`.
    pub async fn watch_heartbeat(
        &self,
        holder: SystemId,
    ) -> Result<BroadcastHandle<Heartbeat>, ChannelError> {
        self.heartbeat.grant(holder, Rights::READ).await
    }

    /// A READ handle on `kernel.audit`, where every audit record is republished, for
    /// `holder`.
    pub async fn watch_audit(
        &self,
        holder: SystemId,
    ) -> Result<BroadcastHandle<AuditRecord>, ChannelError> {
        self.audit.watch();
        self.audit_channel.grant(holder, Rights::READ).await
    }

    /// Audit records after `after_seq` (0 for the oldest kept), oldest first.
    pub fn audit(&self, after_seq: u64, limit: usize) -> Vec<AuditRecord> {
        self.audit.since(after_seq, limit)
    }

    /// How many governance decisions were audited so far (the latest record's `seq`),
    /// including those the ring no longer holds.
    pub fn audited(&self) -> u64 {
        self.audit.recorded()
    }

    /// The constellation now.
    pub async fn snapshot(&self) -> Result<Snapshot, KernelStopped> {
        self.kernel
            .send(TakeSnapshot)
            .await
            .map_err(|_| KernelStopped)
    }

    /// Undocks every system, stops the kernel's channels and managers, flushes the audit
    /// sink and waits for the durable audit log. Further requests get [`KernelStopped`].
    pub async fn shutdown(&self) {
        let _ = self.kernel.send(Shutdown).await;
        let _ = self.managers.gate.send(StopActor).await;
        let _ = self.managers.lifecycle.send(StopActor).await;
        let _ = self.modules.send(StopActor).await;
        let _ = self.managers.caps.send(StopActor).await;
        if let Err(error) = self.audit.settled().await {
            tracing::error!(%error, "the audit records of the shutdown are not durable");
        }
    }
}

/// Stops a manager.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct StopActor;

macro_rules! stoppable {
    ($($actor:ty),*) => {$(
        impl actix::Handler<StopActor> for $actor {
            type Result = ();
            fn handle(&mut self, _: StopActor, ctx: &mut actix::Context<Self>) {
                actix::ActorContext::stop(ctx);
            }
        }
    )*};
}

stoppable!(
    super::gate::ActionGateActor,
    super::lifecycle::LifecycleActor,
    super::loader::ModuleLoaderActor,
    crate::capability::CapabilityActor
);
