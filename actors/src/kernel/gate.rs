//! [`ActionGateActor`]: an action is allowed only if a live capability covers the
//! executor with EXECUTE **and** the policy allows it; escalations wait for an approver.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::Value;
use tokio::sync::oneshot;

use super::audit::{Audit, Entry};
use super::error::{GovernanceError, KernelStopped};
use super::vocabulary::{require_privileged, require_running, Caller, Ruled};
use crate::capability::{
    Access, Authorize, Capability, CapabilityActor, CapabilityId, Check, ResourceRef,
};
use crate::channel::BroadcastHandle;
use crate::ids::SystemId;
use crate::policy::{ActionQuery, ActionVerdict, PayloadChange, Policy, Risk};
use crate::protocol::{ActionRequest, ApprovalDecision, ApprovalEvent, ApprovalId};
use crate::rights::Rights;

/// What an executor returns.
pub type ExecutorFuture = Pin<Box<dyn Future<Output = Result<Value, String>>>>;

/// An action the gate approved, as an executor receives it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApprovedAction {
    /// Who asked.
    pub system: SystemId,
    /// The verb.
    pub action: String,
    /// The target.
    pub target: String,
    /// The payload, as the policy left it.
    pub payload: Value,
}

/// Runs approved actions for the kernel, so a side effect can be made to pass the gate:
/// a system that holds no other route to the effect can only `execute` it.
pub trait Executor: Send + Sync + 'static {
    /// Runs the action; `Err` carries a message for the requester.
    fn execute(&self, action: ApprovedAction) -> ExecutorFuture;
}

impl<F, Fut> Executor for F
where
    F: Fn(ApprovedAction) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, String>> + 'static,
{
    fn execute(&self, action: ApprovedAction) -> ExecutorFuture {
        Box::pin(self(action))
    }
}

#[derive(Clone)]
struct Registered {
    risk: Risk,
    runner: Option<Arc<dyn Executor>>,
}

/// An approved action: the payload to use and how it was approved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Approval {
    /// The payload to use: the requester's, or the policy's rewrite.
    pub payload: Value,
    /// `true` if the policy rewrote it.
    pub rewritten: bool,
    /// The approval that allowed it, if it was escalated.
    pub approval: Option<ApprovalId>,
    /// The capability that covered it (presented, or found among the requester's).
    pub capability: CapabilityId,
    /// What the executor returned, for an `execute`.
    pub output: Option<Value>,
}

struct Pending {
    system: SystemId,
    event: ApprovalEvent,
    answer: oneshot::Sender<Result<(), GovernanceError>>,
}

/// The action gate: an action is allowed only if a live capability of the requester
/// covers the executor with EXECUTE (and the action and target, by its caveats) **and**
/// the policy allows it. Risk comes from the executor registry. An escalated action is
/// broadcast on `kernel.approvals` and waits for a privileged decision or its timeout.
pub(crate) struct ActionGateActor {
    policy: Arc<dyn Policy>,
    caps: Addr<CapabilityActor>,
    audit: Audit,
    approvals: BroadcastHandle<ApprovalEvent>,
    executors: FxHashMap<Arc<str>, Registered>,
    pending: FxHashMap<ApprovalId, Pending>,
    approval_timeout: Duration,
    max_pending: usize,
}

impl fmt::Debug for ActionGateActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionGateActor")
            .field("executors", &self.executors.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl ActionGateActor {
    pub(crate) fn new(
        policy: Arc<dyn Policy>,
        caps: Addr<CapabilityActor>,
        audit: Audit,
        approvals: BroadcastHandle<ApprovalEvent>,
        approval_timeout: Duration,
        max_pending: usize,
    ) -> ActionGateActor {
        ActionGateActor {
            policy,
            caps,
            audit,
            approvals,
            executors: FxHashMap::default(),
            pending: FxHashMap::default(),
            approval_timeout,
            max_pending,
        }
    }

    fn publish(&self, event: ApprovalEvent) {
        let approvals = self.approvals.clone();
        actix::spawn(async move {
            if let Err(error) = approvals.publish(event).await {
                tracing::debug!(%error, "publishing an approval event");
            }
        });
    }
}

impl Actor for ActionGateActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(crate::capability::DEFAULT_MAILBOX);
    }
}

/// Register (or replace) an executor with its risk and, optionally, its runner.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RegisterExecutor {
    pub(crate) name: Arc<str>,
    pub(crate) risk: Risk,
    pub(crate) runner: Option<Arc<dyn Executor>>,
}

impl Handler<RegisterExecutor> for ActionGateActor {
    type Result = ();

    fn handle(&mut self, msg: RegisterExecutor, _: &mut Context<Self>) {
        self.executors.insert(
            msg.name,
            Registered {
                risk: msg.risk,
                runner: msg.runner,
            },
        );
    }
}

/// Authorize (and with `execute`, run) an action, as `caller`.
#[derive(Message)]
#[rtype(result = "Result<Approval, GovernanceError>")]
pub(crate) struct Act {
    pub(crate) caller: Caller,
    pub(crate) request: ActionRequest,
    pub(crate) capability: Option<Capability>,
    pub(crate) execute: bool,
}

impl Handler<Act> for ActionGateActor {
    type Result = ResponseFuture<Result<Approval, GovernanceError>>;

    fn handle(&mut self, msg: Act, ctx: &mut Context<Self>) -> Self::Result {
        let gate = ctx.address();
        let registered = self.executors.get(msg.request.executor.as_str()).cloned();
        let policy = Arc::clone(&self.policy);
        let caps = self.caps.clone();
        let audit = self.audit.clone();
        let timeout = self.approval_timeout;
        Box::pin(async move {
            let Act {
                caller,
                request,
                capability,
                execute,
            } = msg;
            let subject = format!(
                "{} {} with {}",
                request.action, request.target, request.executor
            );
            let entry = Entry::new(
                Some(&caller.id),
                if execute {
                    "action_execute"
                } else {
                    "action_authorize"
                },
                subject,
                "approved",
            );
            let outcome = decide(
                &caller, request, capability, execute, registered, policy, caps, gate, timeout,
            )
            .await;
            audit.record(match &outcome {
                Ok((approval, rule)) => entry
                    .rule(rule.clone())
                    .capability(Some(approval.capability))
                    .reason(match approval.approval {
                        Some(id) => format!("approved through {id}"),
                        None => "approved".to_owned(),
                    }),
                Err((error, rule)) => Entry {
                    decision: "denied",
                    ..entry.rule(rule.clone()).reason(error.to_string())
                },
            });
            outcome
                .map(|(approval, _)| approval)
                .map_err(|(error, _)| error)
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn decide(
    caller: &Caller,
    request: ActionRequest,
    capability: Option<Capability>,
    execute: bool,
    registered: Option<Registered>,
    policy: Arc<dyn Policy>,
    caps: Addr<CapabilityActor>,
    gate: Addr<ActionGateActor>,
    timeout: Duration,
) -> Ruled<Approval> {
    let early = |e: GovernanceError| (e, None);
    require_running(caller).map_err(early)?;
    request.validate().map_err(|e| early(e.into()))?;
    let registered = registered.ok_or_else(|| {
        early(GovernanceError::Executor {
            executor: request.executor.clone(),
            problem: "not registered with the kernel; register it (with its risk) first".into(),
        })
    })?;
    let runner = match (execute, &registered.runner) {
        (false, _) => None,
        (true, Some(runner)) => Some(Arc::clone(runner)),
        (true, None) => {
            return Err(early(GovernanceError::Executor {
                executor: request.executor.clone(),
                problem: "has no runner in the kernel; authorize the action and run it yourself"
                    .into(),
            }))
        }
    };
    let access = Access::new(
        ResourceRef::executor(request.executor.as_str()),
        Rights::EXECUTE,
    )
    .action(request.action.as_str())
    .target(request.target.as_str());
    let capability = check(caller, &caps, capability, &access, false)
        .await
        .map_err(early)?;
    let query = ActionQuery::new(
        caller.id.clone(),
        request.action.as_str(),
        request.executor.as_str(),
        request.target.as_str(),
        registered.risk,
    )
    .payload(request.payload.clone());
    let decision = policy.action(&query).decide().await;
    let rule = decision.rule.clone();
    let fail = |e: GovernanceError| (e, rule.clone());
    let (payload, rewritten, approval) = match decision.verdict {
        ActionVerdict::Deny => {
            return Err(fail(GovernanceError::Denied {
                reason: decision.reason.to_string(),
                rule: rule.as_deref().map(str::to_owned),
            }))
        }
        ActionVerdict::Approve(PayloadChange::Unchanged) => (request.payload, false, None),
        ActionVerdict::Approve(PayloadChange::Replace(payload)) => (payload, true, None),
        ActionVerdict::Escalate { to } => {
            let id = ApprovalId::random();
            let event = ApprovalEvent::ActionEscalated {
                approval: id,
                system: caller.id.clone(),
                action: request.action.clone(),
                executor: request.executor.clone(),
                target: request.target.clone(),
                payload: request.payload.clone(),
                reason: decision.reason.to_string(),
                escalated_to: to,
                rule: rule.as_deref().map(str::to_owned),
                expires_in_secs: timeout.as_secs_f64(),
            };
            let answer = gate
                .send(Escalate {
                    id,
                    system: caller.id.clone(),
                    event,
                })
                .await
                .map_err(|_| fail(KernelStopped.into()))?
                .map_err(fail)?;
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(Ok(()))) => (request.payload, false, Some(id)),
                Ok(Ok(Err(error))) => return Err(fail(error)),
                Ok(Err(_)) => return Err(fail(KernelStopped.into())),
                Err(_) => {
                    let _ = gate.send(Expire(id)).await;
                    return Err(fail(GovernanceError::ApprovalExpired { approval: id }));
                }
            }
        }
    };
    // At decision time, in one step: the requester still runs and its capability is
    // still live (a revoke handled meanwhile wins); a use-limited capability is used.
    require_running(caller).map_err(fail)?;
    let capability = check(caller, &caps, Some(capability), &access, true)
        .await
        .map_err(fail)?;
    let output = match runner {
        Some(runner) => {
            let action = ApprovedAction {
                system: caller.id.clone(),
                action: request.action,
                target: request.target,
                payload: payload.clone(),
            };
            let output = runner.execute(action).await.map_err(|problem| {
                fail(GovernanceError::Executor {
                    executor: request.executor.clone(),
                    problem: format!("failed: {problem}"),
                })
            })?;
            Some(output)
        }
        None => None,
    };
    Ok((
        Approval {
            payload,
            rewritten,
            approval,
            capability: capability.id(),
            output,
        },
        rule,
    ))
}

/// Checks the presented capability, or finds one (ambient); with `exercise`, uses it.
async fn check(
    caller: &Caller,
    caps: &Addr<CapabilityActor>,
    capability: Option<Capability>,
    access: &Access,
    exercise: bool,
) -> Result<Capability, GovernanceError> {
    match capability {
        Some(cap) => {
            let mut check = Check::new(caller.id.clone(), cap.clone(), access.clone());
            if exercise {
                check = check.exercise();
            }
            caps.send(check).await.map_err(|_| KernelStopped)??;
            Ok(cap)
        }
        None => {
            let mut find = Authorize::new(caller.id.clone(), access.clone());
            if exercise {
                find = find.exercise();
            }
            Ok(caps.send(find).await.map_err(|_| KernelStopped)??)
        }
    }
}

/// Open a pending approval; answers the receiver its decision arrives on.
#[derive(Message)]
#[rtype(result = "Result<oneshot::Receiver<Result<(), GovernanceError>>, GovernanceError>")]
struct Escalate {
    id: ApprovalId,
    system: SystemId,
    event: ApprovalEvent,
}

impl Handler<Escalate> for ActionGateActor {
    type Result = Result<oneshot::Receiver<Result<(), GovernanceError>>, GovernanceError>;

    fn handle(&mut self, msg: Escalate, _: &mut Context<Self>) -> Self::Result {
        if self.pending.len() >= self.max_pending {
            return Err(GovernanceError::Denied {
                reason: format!(
                    "{} approvals are already pending; the limit is {}",
                    self.pending.len(),
                    self.max_pending
                ),
                rule: None,
            });
        }
        let (answer, receiver) = oneshot::channel();
        self.publish(msg.event.clone());
        self.pending.insert(
            msg.id,
            Pending {
                system: msg.system,
                event: msg.event,
                answer,
            },
        );
        Ok(receiver)
    }
}

/// An approval ran out of time.
#[derive(Message)]
#[rtype(result = "()")]
struct Expire(ApprovalId);

impl Handler<Expire> for ActionGateActor {
    type Result = ();

    fn handle(&mut self, Expire(id): Expire, _: &mut Context<Self>) {
        if self.pending.remove(&id).is_some() {
            self.publish(ApprovalEvent::ApprovalResolved {
                approval: id,
                approved: false,
                decided_by: "kernel".into(),
                reason: "not decided in time".into(),
            });
        }
    }
}

/// Decide a pending approval, as a privileged system or (`decider: None`) the embedding
/// program.
#[derive(Message)]
#[rtype(result = "Result<(), GovernanceError>")]
pub(crate) struct Decide {
    pub(crate) decider: Option<Caller>,
    pub(crate) decision: ApprovalDecision,
}

impl Decide {
    pub(crate) fn new(
        decider: Option<Caller>,
        approval: ApprovalId,
        approve: bool,
        reason: Option<String>,
    ) -> Decide {
        Decide {
            decider,
            decision: ApprovalDecision {
                approval,
                approve,
                reason,
            },
        }
    }
}

impl Handler<Decide> for ActionGateActor {
    type Result = Result<(), GovernanceError>;

    fn handle(&mut self, msg: Decide, _: &mut Context<Self>) -> Self::Result {
        let decider = msg.decider.as_ref().map(|d| d.id.clone());
        let approval = msg.decision.approval;
        let outcome = self.resolve(msg);
        if let Err(error) = &outcome {
            self.audit.record(
                Entry::new(
                    decider.as_ref(),
                    "approval_decision",
                    approval.to_string(),
                    "error",
                )
                .reason(error.to_string()),
            );
        }
        outcome
    }
}

impl ActionGateActor {
    /// Settles a pending approval as `msg` decides, if its decider may.
    fn resolve(&mut self, msg: Decide) -> Result<(), GovernanceError> {
        let decided_by = match &msg.decider {
            Some(decider) => {
                require_privileged(decider, "an approval decision")?;
                decider.id.to_string()
            }
            None => "kernel".to_owned(),
        };
        msg.decision.validate()?;
        let ApprovalDecision {
            approval,
            approve,
            reason,
        } = msg.decision;
        let pending = self.pending.remove(&approval).ok_or_else(|| {
            GovernanceError::invalid(format!(
                "no pending approval {approval}: it was decided, expired, or never existed"
            ))
        })?;
        let reason = reason.unwrap_or_else(|| if approve { "approved" } else { "denied" }.into());
        self.audit.record(
            Entry::new(
                msg.decider.as_ref().map(|d| &d.id),
                "approval_decision",
                format!("{approval} for {}", pending.system),
                if approve { "approved" } else { "denied" },
            )
            .reason(reason.as_str()),
        );
        let answer = if approve {
            Ok(())
        } else {
            Err(GovernanceError::ApprovalDenied {
                approval,
                decided_by: decided_by.clone(),
                reason: reason.clone(),
            })
        };
        let _ = pending.answer.send(answer);
        self.publish(ApprovalEvent::ApprovalResolved {
            approval,
            approved: approve,
            decided_by,
            reason,
        });
        Ok(())
    }
}

/// The approvals waiting for a decision.
#[derive(Message)]
#[rtype(result = "Vec<ApprovalEvent>")]
pub(crate) struct ListPending;

impl Handler<ListPending> for ActionGateActor {
    type Result = Vec<ApprovalEvent>;

    fn handle(&mut self, _: ListPending, _: &mut Context<Self>) -> Vec<ApprovalEvent> {
        self.pending.values().map(|p| p.event.clone()).collect()
    }
}

/// How many approvals wait for a decision.
#[derive(Message)]
#[rtype(result = "usize")]
pub(crate) struct CountPending;

impl Handler<CountPending> for ActionGateActor {
    type Result = usize;

    fn handle(&mut self, _: CountPending, _: &mut Context<Self>) -> usize {
        self.pending.len()
    }
}
