//! The capability desk: capability requests, derivations and revocations, decided by the
//! policy and carried out by the [`CapabilityActor`] itself, in one message
//! ([`OnTable`](crate::capability::OnTable)).
//!
//! A request goes straight to the actor that holds the CSpaces: it validates, asks the
//! policy and mints in one handler when the policy answers at once (the rule engine
//! always does), so a grant costs one mailbox round trip. A policy that must wait is
//! awaited on the actor's context while it serves others, and the grant is minted when
//! the decision arrives. Either way the requester's state is checked again in the step
//! that mints, so a lifecycle command handled before that step wins.

use std::sync::Arc;
use std::time::Duration;

use super::audit::{Audit, Entry};
use super::error::GovernanceError;
use super::state::LifecycleState;
use super::vocabulary::{require_running, Caller, Granted, Member};
use super::Limits;
use crate::capability::{
    Authority, Capability, CapabilityActor, Caveats, Derivation, Scope, Step, TableWork,
};
use crate::ids::SystemId;
use crate::policy::{CapabilityQuery, CapabilityVerdict, Decision, Evaluation, Policy};
use crate::protocol::{check_scope, check_ttl, CapabilityRequest};
use crate::rights::Rights;

/// What a derivation asks for (the parent is presented separately).
#[derive(Debug, Clone)]
pub(crate) struct DeriveRequest {
    pub(crate) to: Option<SystemId>,
    pub(crate) rights: Rights,
    pub(crate) scope: Option<Scope>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) caveats: Caveats,
}

/// Whom a capability request is served to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Serving {
    /// A running system asking.
    Running,
    /// A system being docked, getting its initial capabilities.
    Docking,
}

impl Serving {
    fn check(self, caller: &Member) -> Result<(), GovernanceError> {
        match (self, caller.state()) {
            (Serving::Running, _) => require_running(caller),
            (Serving::Docking, LifecycleState::Docked) => Ok(()),
            (Serving::Docking, state) => Err(GovernanceError::NotRunning {
                system: caller.id.clone(),
                state,
            }),
        }
    }

    fn audit_kind(self) -> &'static str {
        match self {
            Serving::Running => "capability_request",
            Serving::Docking => "capability_initial",
        }
    }
}

/// What capability decisions are made with, shared by every client of a kernel.
#[derive(Debug)]
pub(crate) struct Desk {
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) limits: Limits,
    pub(crate) audit: Audit,
}

impl Desk {
    /// The lifetime a grant gets: what was asked (or the default), capped by the kernel
    /// and by the deciding rule.
    fn lifetime(&self, asked: Option<Duration>, rule_cap: Option<Duration>) -> Duration {
        let ttl = asked
            .unwrap_or(self.limits.default_ttl)
            .min(self.limits.max_ttl);
        rule_cap.map_or(ttl, |cap| ttl.min(cap))
    }
}

/// Ask for a capability, as `caller`; sent [`OnTable`](crate::capability::OnTable).
#[derive(Debug)]
pub(crate) struct RequestCapability {
    pub(crate) caller: Caller,
    pub(crate) request: CapabilityRequest,
    pub(crate) serving: Serving,
    pub(crate) desk: Arc<Desk>,
}

/// A request that passed its checks, waiting for (or holding) the policy's decision.
struct Asked {
    caller: Caller,
    scope: Scope,
    rights: Rights,
    ttl: Option<Duration>,
    caveats: Caveats,
    serving: Serving,
    desk: Arc<Desk>,
}

impl Asked {
    /// Checks the request and builds the policy's query, or refuses it (audited).
    fn new(msg: RequestCapability) -> Result<(Asked, CapabilityQuery), GovernanceError> {
        let RequestCapability {
            caller,
            request,
            serving,
            desk,
        } = msg;
        let checked = serving.check(&caller).and_then(|()| {
            if request.rights.is_empty() {
                return Err(GovernanceError::invalid(
                    "`rights` is empty: ask for at least one right",
                ));
            }
            Ok(request.checked_caveats()?)
        });
        let caveats = match checked {
            Ok(caveats) => caveats,
            Err(error) => {
                let subject = request.resource.clone();
                desk.audit.record(
                    Entry::new(Some(&caller.id), serving.audit_kind(), subject, "denied")
                        .reason(error.to_string()),
                );
                return Err(error);
            }
        };
        let mut query =
            CapabilityQuery::new(caller.id.clone(), request.resource.clone(), request.rights);
        query.ttl = request.ttl;
        query.context = request.context;
        let asked = Asked {
            caller,
            scope: request.resource,
            rights: request.rights,
            ttl: request.ttl,
            caveats,
            serving,
            desk,
        };
        Ok((asked, query))
    }

    /// Carries out the policy's decision on the actor's table, in one step with the
    /// requester's state check; audits the outcome.
    fn conclude(
        self,
        caps: &mut CapabilityActor,
        decision: Decision<CapabilityVerdict>,
    ) -> Result<Granted, GovernanceError> {
        let Asked {
            caller,
            scope,
            rights,
            ttl,
            caveats,
            serving,
            desk,
        } = self;
        let entry = |decision| {
            Entry::new(
                Some(&caller.id),
                serving.audit_kind(),
                scope.clone(),
                decision,
            )
        };
        let outcome = match decision.verdict {
            CapabilityVerdict::Deny => Err(GovernanceError::Denied {
                reason: decision.reason.to_string(),
                rule: decision.rule.as_deref().map(str::to_owned),
            }),
            CapabilityVerdict::Allow { max_ttl } => serving.check(&caller).and_then(|()| {
                let (table, now) = caps.swept();
                let expires = now + desk.lifetime(ttl, max_ttl);
                let cap = table.mint(
                    &caller.id,
                    scope.clone(),
                    rights,
                    caveats.not_after(expires),
                    now,
                )?;
                Ok((cap, now, expires))
            }),
        };
        match outcome {
            Ok((cap, now, expires)) => {
                desk.audit.record(
                    entry("granted")
                        .rule(decision.rule.clone())
                        .reason(decision.reason)
                        .capability(Some(cap.id()))
                        .at(now),
                );
                Ok(Granted::new(cap, Some(expires)))
            }
            Err(error) => {
                desk.audit.record(
                    entry("denied")
                        .rule(decision.rule.clone())
                        .reason(error.to_string()),
                );
                Err(error)
            }
        }
    }
}

impl TableWork for RequestCapability {
    type Output = Result<Granted, GovernanceError>;

    fn run(self, caps: &mut CapabilityActor) -> Step<Self::Output> {
        let (asked, query) = match Asked::new(self) {
            Ok(asked) => asked,
            Err(error) => return Step::Done(Err(error)),
        };
        match asked.desk.policy.capability(&query) {
            Evaluation::Ready(decision) => Step::Done(asked.conclude(caps, decision)),
            Evaluation::Pending(pending) => Step::After(Box::pin(async move {
                let decision = pending.await;
                Box::new(move |caps: &mut CapabilityActor| asked.conclude(caps, decision)) as _
            })),
        }
    }
}

/// Derive a capability, as `caller`; sent [`OnTable`](crate::capability::OnTable).
#[derive(Debug)]
pub(crate) struct DeriveCapability {
    pub(crate) caller: Caller,
    pub(crate) parent: Capability,
    pub(crate) request: DeriveRequest,
    pub(crate) desk: Arc<Desk>,
}

impl TableWork for DeriveCapability {
    type Output = Result<Granted, GovernanceError>;

    fn run(self, caps: &mut CapabilityActor) -> Step<Self::Output> {
        let DeriveCapability {
            caller,
            parent,
            request,
            desk,
        } = self;
        let subject = request.scope.as_ref().unwrap_or(parent.scope()).to_string();
        let to = request.to.clone().unwrap_or_else(|| caller.id.clone());
        let entry = Entry::new(
            Some(&caller.id),
            "capability_derive",
            format!("{subject} for {to}"),
            "derived",
        );
        let outcome = derive(caps, &desk, &caller, &parent, to, request);
        match &outcome {
            Ok(granted) => desk
                .audit
                .record(entry.capability(Some(granted.capability.id()))),
            Err(error) => desk.audit.record(Entry {
                decision: "denied",
                ..entry
                    .reason(error.to_string())
                    .capability(Some(parent.id()))
            }),
        };
        Step::Done(outcome)
    }
}

fn derive(
    caps: &mut CapabilityActor,
    desk: &Desk,
    caller: &Member,
    parent: &Capability,
    to: SystemId,
    request: DeriveRequest,
) -> Result<Granted, GovernanceError> {
    require_running(caller)?;
    if let Some(scope) = &request.scope {
        check_scope(scope)?;
    }
    check_ttl(request.ttl)?;
    let (table, now) = caps.swept();
    let mut caveats = request.caveats;
    let mut expires = None;
    if let Some(ttl) = request.ttl {
        let at = now + ttl.min(desk.limits.max_ttl);
        caveats = caveats.not_after(at);
        expires = Some(at);
    }
    let mut derivation = Derivation::new(to, request.rights).caveats(caveats);
    if let Some(scope) = request.scope {
        derivation = derivation.scope(scope);
    }
    let cap = table.derive(&caller.id, parent, derivation, now)?;
    Ok(Granted::new(cap, expires))
}

/// Revoke a capability (and its subtree), as `caller`; sent [`OnTable`](crate::capability::OnTable).
#[derive(Debug)]
pub(crate) struct RevokeCapability {
    pub(crate) caller: Caller,
    pub(crate) capability: Capability,
    pub(crate) desk: Arc<Desk>,
}

impl TableWork for RevokeCapability {
    type Output = Result<usize, GovernanceError>;

    fn run(self, caps: &mut CapabilityActor) -> Step<Self::Output> {
        let RevokeCapability {
            caller,
            capability,
            desk,
        } = self;
        let outcome = require_running(&caller).and_then(|()| {
            let (table, _) = caps.swept();
            let authority = Authority::System(caller.id.clone());
            Ok(table.revoke(&authority, &capability)?)
        });
        let entry = Entry::new(
            Some(&caller.id),
            "capability_revoke",
            capability.scope().clone(),
            if outcome.is_ok() { "revoked" } else { "denied" },
        )
        .capability(Some(capability.id()));
        desk.audit.record(match &outcome {
            Ok(count) => entry.reason(format!("{count} capabilities ended")),
            Err(error) => entry.reason(error.to_string()),
        });
        Step::Done(outcome)
    }
}
