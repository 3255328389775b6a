//! The capability desk: capability requests, derivations and revocations, decided by the
//! policy and carried out by the [`CapabilityActor`].

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::time::Instant;

use super::actor::{grant_info, require_running, Caller, Ruled};
use super::audit::{Audit, Entry};
use super::error::{GovernanceError, KernelStopped};
use super::state::{LifecycleState, Member};
use super::Limits;
use crate::capability::{
    Authority, Capability, CapabilityActor, Caveats, Derivation, Derive, Grant, Revoke, Scope,
};
use crate::ids::SystemId;
use crate::policy::{CapabilityQuery, CapabilityVerdict, Policy};
use crate::protocol::{check_scope, check_ttl, CapabilityRequest, GrantInfo};
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
enum Serving {
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
}

/// Everything a capability decision needs; cheap to clone (handles and `Arc`s).
#[derive(Clone)]
pub(crate) struct Desk {
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) caps: Addr<CapabilityActor>,
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

    pub(crate) async fn request(
        self,
        caller: Caller,
        request: CapabilityRequest,
    ) -> Result<(Capability, GrantInfo), GovernanceError> {
        self.decide(caller, request, Serving::Running).await
    }

    /// A capability a system gets as it docks, through the same policy as any request;
    /// the system is still being docked.
    pub(crate) async fn initial(
        self,
        caller: Caller,
        request: CapabilityRequest,
    ) -> Result<(Capability, GrantInfo), GovernanceError> {
        self.decide(caller, request, Serving::Docking).await
    }

    async fn decide(
        self,
        caller: Caller,
        request: CapabilityRequest,
        serving: Serving,
    ) -> Result<(Capability, GrantInfo), GovernanceError> {
        let subject = request.resource.to_string();
        let kind = match serving {
            Serving::Running => "capability_request",
            Serving::Docking => "capability_initial",
        };
        let entry = |decision| Entry::new(Some(&caller.id), kind, &*subject, decision);
        let outcome = self.grant(&caller, request, serving).await;
        match &outcome {
            Ok(((cap, _, reason), rule)) => self.audit.record(
                entry("granted")
                    .rule(rule.as_deref())
                    .reason(reason.as_str())
                    .capability(Some(cap.id())),
            ),
            Err((error, rule)) => self.audit.record(
                entry("denied")
                    .rule(rule.as_deref())
                    .reason(error.to_string()),
            ),
        };
        outcome
            .map(|((cap, info, _), _)| (cap, info))
            .map_err(|(error, _)| error)
    }

    async fn grant(
        &self,
        caller: &Caller,
        request: CapabilityRequest,
        serving: Serving,
    ) -> Ruled<(Capability, GrantInfo, String)> {
        let early = |e: GovernanceError| (e, None);
        serving.check(caller).map_err(early)?;
        if request.rights.is_empty() {
            return Err(early(GovernanceError::invalid(
                "`rights` is empty: ask for at least one right",
            )));
        }
        request.validate().map_err(|e| early(e.into()))?;
        let caveats = request.caveats.to_caveats().map_err(|e| early(e.into()))?;
        let mut query =
            CapabilityQuery::new(caller.id.clone(), request.resource.clone(), request.rights);
        query.ttl = request.ttl;
        query.context = request.context;
        let decision = self.policy.capability(&query).decide().await;
        let rule = decision.rule.clone();
        let max_ttl = match decision.verdict {
            CapabilityVerdict::Allow { max_ttl } => max_ttl,
            CapabilityVerdict::Deny => {
                let error = GovernanceError::Denied {
                    reason: decision.reason,
                    rule: rule.as_deref().map(str::to_owned),
                };
                return Err((error, rule));
            }
        };
        // Checked again at decision time, in the same step as the grant is sent: a
        // control command handled while the policy deliberated wins.
        serving.check(caller).map_err(|e| (e, rule.clone()))?;
        let expires = Instant::now() + self.lifetime(request.ttl, max_ttl);
        let grant = Grant::new(caller.id.clone(), request.resource, request.rights)
            .caveats(caveats.not_after(expires));
        let cap = self
            .caps
            .send(grant)
            .await
            .map_err(|_| (KernelStopped.into(), rule.clone()))?
            .map_err(|e| (GovernanceError::from(e), rule.clone()))?;
        let info = grant_info(&cap, Some(expires));
        Ok(((cap, info, decision.reason), rule))
    }

    pub(crate) async fn derive(
        self,
        caller: Caller,
        parent: Capability,
        request: DeriveRequest,
    ) -> Result<(Capability, GrantInfo), GovernanceError> {
        let subject = request.scope.as_ref().unwrap_or(parent.scope()).to_string();
        let to = request.to.clone().unwrap_or_else(|| caller.id.clone());
        let outcome = self
            .derive_inner(&caller, parent.clone(), to.clone(), request)
            .await;
        let entry = Entry::new(
            Some(&caller.id),
            "capability_derive",
            format!("{subject} for {to}"),
            "derived",
        );
        match &outcome {
            Ok((cap, _)) => self.audit.record(entry.capability(Some(cap.id()))),
            Err(error) => self.audit.record(Entry {
                decision: "denied",
                ..entry
                    .reason(error.to_string())
                    .capability(Some(parent.id()))
            }),
        };
        outcome
    }

    async fn derive_inner(
        &self,
        caller: &Caller,
        parent: Capability,
        to: SystemId,
        request: DeriveRequest,
    ) -> Result<(Capability, GrantInfo), GovernanceError> {
        require_running(caller)?;
        if let Some(scope) = &request.scope {
            check_scope(scope)?;
        }
        check_ttl(request.ttl)?;
        let mut caveats = request.caveats;
        let mut expires = None;
        if let Some(ttl) = request.ttl {
            let at = Instant::now() + ttl.min(self.limits.max_ttl);
            caveats = caveats.not_after(at);
            expires = Some(at);
        }
        let mut derivation = Derivation::new(to, request.rights).caveats(caveats);
        if let Some(scope) = request.scope {
            derivation = derivation.scope(scope);
        }
        let derive = Derive {
            presenter: caller.id.clone(),
            parent,
            request: derivation,
        };
        let cap = self.caps.send(derive).await.map_err(|_| KernelStopped)??;
        let info = grant_info(&cap, expires);
        Ok((cap, info))
    }

    pub(crate) async fn revoke(
        self,
        caller: Caller,
        capability: Capability,
    ) -> Result<usize, GovernanceError> {
        let outcome = async {
            require_running(&caller)?;
            let revoke = Revoke {
                authority: Authority::System(caller.id.clone()),
                capability: capability.clone(),
            };
            self.caps
                .send(revoke)
                .await
                .map_err(|_| KernelStopped)?
                .map_err(GovernanceError::from)
        }
        .await;
        let entry = Entry::new(
            Some(&caller.id),
            "capability_revoke",
            capability.scope().to_string(),
            if outcome.is_ok() { "revoked" } else { "denied" },
        )
        .capability(Some(capability.id()));
        self.audit.record(match &outcome {
            Ok(count) => entry.reason(format!("{count} capabilities ended")),
            Err(error) => entry.reason(error.to_string()),
        });
        outcome
    }
}
