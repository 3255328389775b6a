//! [`KernelClient`]: a docked system's line to the kernel.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;

use crate::activity::Activity;

use super::actor::{KernelActor, ListPublic, Managers};
use super::desk::{DeriveCapability, DeriveRequest, RequestCapability, RevokeCapability, Serving};
use super::error::{GovernanceError, KernelStopped};
use super::gate::{Act, Approval, Decide, ListPending};
use super::lifecycle::Command;
use super::loads::{Load, ModuleLoaded, Unload};
use super::state::LifecycleState;
use super::undock::{Snapshot, TakeSnapshot};
use super::vocabulary::{require_privileged, require_running, Granted, Member};
use crate::capability::{Capability, Caveats, OnTable, Scope};
use crate::ids::{ChannelId, SystemId};
use crate::protocol::{
    ActionRequest, ApprovalEvent, ApprovalId, CapabilityRequest, LifecycleCommand, ModuleLoad,
};
use crate::rights::Rights;

/// A docked system's client for governance requests, found in its
/// [`SystemContext::kernel`](crate::system::SystemContext::kernel).
///
/// Every call is a typed request answered by a typed result, within the client's
/// timeout. The requester is always the system the client was made for: there is no way
/// to name another. Cheap to clone; clones may be moved into spawned futures.
#[derive(Clone)]
pub struct KernelClient {
    pub(super) line: Arc<Line>,
    timeout: Duration,
}

/// What every clone of a client shares: one allocation, so a clone moved into each
/// spawned request costs a reference count, not one per manager address.
pub(super) struct Line {
    pub(super) member: Arc<Member>,
    pub(super) kernel: Addr<KernelActor>,
    pub(super) managers: Managers,
    /// A simulation agent's requests count toward its round's activity, as its rank's.
    activity: Option<(Arc<Activity>, u32)>,
}

impl fmt::Debug for KernelClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelClient")
            .field("system", &self.line.member.id)
            .field("state", &self.line.member.state())
            .finish()
    }
}

impl KernelClient {
    pub(crate) fn new(
        member: Arc<Member>,
        kernel: Addr<KernelActor>,
        managers: Managers,
        timeout: Duration,
    ) -> KernelClient {
        KernelClient::on_line(member, kernel, managers, timeout, None)
    }

    /// The client of a simulation agent: its requests keep the round from ending until
    /// they are answered.
    pub(crate) fn for_agent(
        member: Arc<Member>,
        kernel: Addr<KernelActor>,
        managers: Managers,
        timeout: Duration,
        activity: (Arc<Activity>, u32),
    ) -> KernelClient {
        KernelClient::on_line(member, kernel, managers, timeout, Some(activity))
    }

    fn on_line(
        member: Arc<Member>,
        kernel: Addr<KernelActor>,
        managers: Managers,
        timeout: Duration,
        activity: Option<(Arc<Activity>, u32)>,
    ) -> KernelClient {
        KernelClient {
            line: Arc::new(Line {
                member,
                kernel,
                managers,
                activity,
            }),
            timeout,
        }
    }

    /// The system this client speaks for.
    pub fn system(&self) -> &SystemId {
        &self.line.member.id
    }

    /// The system's lifecycle state, as the kernel sees it.
    pub fn state(&self) -> LifecycleState {
        self.line.member.state()
    }

    /// The same client with another timeout for each call.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> KernelClient {
        self.timeout = timeout;
        self
    }

    /// Sends a request once the system has room in flight, and waits for its answer
    /// and for the audit records made so far to be durable, all within the client's
    /// timeout.
    pub(super) async fn answer<R, E, F>(
        &self,
        send: impl FnOnce() -> F,
    ) -> Result<R, GovernanceError>
    where
        F: Future<Output = Result<Result<R, GovernanceError>, E>>,
    {
        let _busy = self
            .line
            .activity
            .as_ref()
            .map(|(activity, rank)| activity.enter_for(*rank));
        let answered = async {
            let _room = self.line.member.in_flight.acquire().await;
            let answer = send().await;
            (answer, self.line.managers.desk.audit.settled().await)
        };
        let outcome = tokio::time::timeout(self.timeout, answered).await;
        if let Some((activity, _)) = &self.line.activity {
            activity.decided();
        }
        match outcome {
            Ok((Ok(result), Ok(()))) => result,
            Ok((Ok(_), Err(unrecorded))) => Err(unrecorded.into()),
            Ok((Err(_), _)) => Err(KernelStopped.into()),
            Err(_) => Err(GovernanceError::Timeout(self.timeout)),
        }
    }

    /// Asks for `rights` over `resource`; the policy decides and caps the lifetime.
    pub async fn request_capability(
        &self,
        request: CapabilityRequest,
    ) -> Result<Granted, GovernanceError> {
        self.answer(|| {
            self.line.managers.caps.send(OnTable(RequestCapability {
                caller: Arc::clone(&self.line.member),
                request,
                serving: Serving::Running,
                desk: Arc::clone(&self.line.managers.desk),
            }))
        })
        .await
    }

    /// Shorthand: `rights` over `resource`, no TTL, caveats or context.
    pub async fn request(
        &self,
        resource: Scope,
        rights: Rights,
    ) -> Result<Granted, GovernanceError> {
        self.request_capability(CapabilityRequest::new(resource, rights))
            .await
    }

    /// Derives a narrower capability from `parent` (held by this system) for `to` (this
    /// system if `None`; another needs DELEGATE on the parent).
    pub async fn derive(
        &self,
        parent: &Capability,
        to: Option<SystemId>,
        rights: Rights,
        scope: Option<Scope>,
        ttl: Option<Duration>,
        caveats: Caveats,
    ) -> Result<Granted, GovernanceError> {
        self.answer(|| {
            self.line.managers.caps.send(OnTable(DeriveCapability {
                caller: Arc::clone(&self.line.member),
                parent: parent.clone(),
                request: DeriveRequest {
                    to,
                    rights,
                    scope,
                    ttl,
                    caveats,
                },
                desk: Arc::clone(&self.line.managers.desk),
            }))
        })
        .await
    }

    /// Revokes `capability` (held by this system, or derived from one it holds) and its
    /// whole subtree; answers how many capabilities ended.
    pub async fn revoke(&self, capability: &Capability) -> Result<usize, GovernanceError> {
        self.answer(|| {
            self.line.managers.caps.send(OnTable(RevokeCapability {
                caller: Arc::clone(&self.line.member),
                capability: capability.clone(),
                desk: Arc::clone(&self.line.managers.desk),
            }))
        })
        .await
    }

    /// Asks the gate about `request`, and with `execute` has the executor run it.
    async fn act(
        &self,
        request: ActionRequest,
        capability: Option<&Capability>,
        execute: bool,
    ) -> Result<Approval, GovernanceError> {
        let act = Act {
            caller: Arc::clone(&self.line.member),
            request,
            capability: capability.cloned(),
            execute,
        };
        self.answer(|| self.line.managers.gate.send(act)).await
    }

    /// Asks the gate whether `request` may be taken, presenting `capability` (or, with
    /// `None`, any capability this system holds that allows it). An escalated action
    /// waits for an approver, up to the kernel's approval timeout (and this client's).
    pub async fn authorize(
        &self,
        request: ActionRequest,
        capability: Option<&Capability>,
    ) -> Result<Approval, GovernanceError> {
        self.act(request, capability, false).await
    }

    /// Like [`authorize`](Self::authorize), then has the kernel's registered executor
    /// run the action; [`Approval::output`] holds what it returned.
    pub async fn execute(
        &self,
        request: ActionRequest,
        capability: Option<&Capability>,
    ) -> Result<Approval, GovernanceError> {
        self.act(request, capability, true).await
    }

    /// Approves or denies a pending approval (privileged systems only).
    pub async fn decide(
        &self,
        approval: ApprovalId,
        approve: bool,
        reason: Option<String>,
    ) -> Result<(), GovernanceError> {
        let decider = Some(Arc::clone(&self.line.member));
        self.answer(|| {
            self.line
                .managers
                .gate
                .send(Decide::new(decider, approval, approve, reason))
        })
        .await
    }

    /// The approvals waiting for a decision (privileged systems only).
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalEvent>, GovernanceError> {
        require_privileged(&self.line.member, "listing approvals")?;
        self.answer(|| async { self.line.managers.gate.send(ListPending).await.map(Ok) })
            .await
    }

    /// The ids of the public channels (those served to remote systems), sorted.
    pub async fn public_channels(&self) -> Result<Vec<ChannelId>, GovernanceError> {
        require_running(&self.line.member)?;
        self.answer(|| async { self.line.kernel.send(ListPublic).await.map(Ok) })
            .await
    }

    /// The constellation now (running systems only).
    pub async fn snapshot(&self) -> Result<Snapshot, GovernanceError> {
        require_running(&self.line.member)?;
        self.answer(|| async { self.line.kernel.send(TakeSnapshot).await.map(Ok) })
            .await
    }

    /// Loads a module (privileged systems only); the module policy decides. The module's
    /// initial capabilities are held by the module, not by this system.
    pub async fn load_module(&self, request: ModuleLoad) -> Result<ModuleLoaded, GovernanceError> {
        self.answer(|| {
            self.line.managers.modules.loads.send(Load {
                caller: Some(Arc::clone(&self.line.member)),
                request,
            })
        })
        .await
    }

    /// Unloads a module (privileged systems only): a full undock.
    pub async fn unload_module(&self, module: SystemId) -> Result<(), GovernanceError> {
        self.answer(|| {
            self.line.managers.modules.unloads.send(Unload {
                caller: Some(Arc::clone(&self.line.member)),
                module,
            })
        })
        .await
    }

    /// Applies a lifecycle command to another system (privileged systems only); answers
    /// its new state once the command has taken effect (a drain: once it finished).
    pub async fn lifecycle(
        &self,
        command: LifecycleCommand,
        system: SystemId,
        timeout: Option<Duration>,
    ) -> Result<LifecycleState, GovernanceError> {
        let caller = Some(Arc::clone(&self.line.member));
        self.answer(|| {
            self.line
                .managers
                .lifecycle
                .send(Command::new(caller, command, system, timeout))
        })
        .await
    }
}
