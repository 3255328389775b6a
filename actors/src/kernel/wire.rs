//! The wire path: a [`Request`] in, a [`Reply`] out, for requests that arrive as data
//! (JSON over HTTP, a test harness, a script) rather than as typed calls. Every outcome,
//! error or not, is a reply; capability ids on the wire are resolved to the kernel's
//! live capabilities, which still authorize only their holder.

use super::client::KernelClient;
use super::error::{GovernanceError, KernelStopped};
use crate::capability::{Capability, CapabilityId, Denial, Resolve};
use crate::protocol::{decode, ActionRequest, Reply, Request};

impl KernelClient {
    /// Decodes `bytes` as one JSON [`Request`] and serves it as [`call`](Self::call)
    /// does; anything malformed (bad JSON, a missing field, a wrong type, an unknown
    /// `type`, more than [`MAX_REQUEST_BYTES`](crate::protocol::MAX_REQUEST_BYTES)) is
    /// answered with `invalid_request`.
    pub async fn call_json(&self, bytes: &[u8]) -> Reply {
        match decode(bytes) {
            Ok(request) => self.call(request).await,
            Err(invalid) => invalid.into(),
        }
    }

    /// Serves `request` as this system and answers the kernel's reply: the same path as
    /// the typed calls, with every error turned into the matching refusal
    /// (`capability_deny`, `action_denied`, `approval_error`, `module_rejected`,
    /// `lifecycle_error`) or `invalid_request`.
    pub async fn call(&self, request: Request) -> Reply {
        match request {
            Request::CapabilityRequest(request) => {
                let resource = Some(request.resource.to_string());
                match self.request_capability(request).await {
                    Ok(granted) => Reply::CapabilityGrant(granted.info()),
                    Err(error) => capability_deny(resource, error),
                }
            }
            Request::CapabilityDerive(derive) => {
                let resource = derive.resource.as_ref().map(ToString::to_string);
                let derived = async {
                    let parent = self.resolve(derive.parent).await?;
                    let caveats = derive.caveats.to_caveats()?;
                    let to = derive.to;
                    self.derive(
                        &parent,
                        to,
                        derive.rights,
                        derive.resource,
                        derive.ttl,
                        caveats,
                    )
                    .await
                };
                match derived.await {
                    Ok(granted) => Reply::CapabilityGrant(granted.info()),
                    Err(error) => capability_deny(resource, error),
                }
            }
            Request::CapabilityRevoke(revoke) => {
                let revoked = async {
                    let capability = self.resolve(revoke.capability).await?;
                    self.revoke(&capability).await
                };
                match revoked.await {
                    Ok(revoked) => Reply::CapabilityRevoked {
                        capability: revoke.capability,
                        revoked,
                    },
                    Err(error) => capability_deny(None, error),
                }
            }
            Request::ActionAuthorize(action) => self.act_on(action, false).await,
            Request::ActionExecute(action) => self.act_on(action, true).await,
            Request::ApprovalDecision(decision) => {
                let approval = decision.approval;
                match self
                    .decide(approval, decision.approve, decision.reason)
                    .await
                {
                    Ok(()) => Reply::ApprovalRecorded {
                        approval,
                        approved: decision.approve,
                    },
                    Err(error) => {
                        refusal(error, |reason| Reply::ApprovalError { approval, reason })
                    }
                }
            }
            Request::ModuleLoad(load) => {
                let module_id = load.module_id.clone();
                match self.load_module(load).await {
                    Ok(loaded) => Reply::ModuleAccepted {
                        system_id: loaded.module_id.clone(),
                        module_id: loaded.module_id,
                        granted_wiring: loaded.channels,
                        granted_capabilities: loaded.capabilities,
                    },
                    Err(error) => {
                        let rule = error.rule().map(str::to_owned);
                        refusal(error, |reason| Reply::ModuleRejected {
                            module_id,
                            reason,
                            rule,
                        })
                    }
                }
            }
            Request::ModuleUnload(unload) => {
                let module_id = unload.module_id;
                match self.unload_module(module_id.clone()).await {
                    Ok(()) => Reply::ModuleUnloaded { module_id },
                    Err(error) => refusal(error, |reason| Reply::ModuleRejected {
                        module_id,
                        reason,
                        rule: None,
                    }),
                }
            }
            Request::LifecycleCommand(command) => {
                let (verb, system_id) = (command.command, command.system_id);
                match self
                    .lifecycle(verb, system_id.clone(), command.timeout)
                    .await
                {
                    Ok(state) => Reply::LifecycleOk {
                        command: verb,
                        system_id,
                        state: state.to_string(),
                    },
                    Err(error) => refusal(error, |reason| Reply::LifecycleError {
                        command: verb,
                        system_id,
                        reason,
                    }),
                }
            }
        }
    }

    /// Authorizes (or, with `execute`, executes) `action`, presenting the capability
    /// its id names, if it names one.
    async fn act_on(&self, action: ActionRequest, execute: bool) -> Reply {
        let executor = action.executor.clone();
        let acted = async {
            let capability = match action.capability {
                Some(id) => Some(self.resolve(id).await?),
                None => None,
            };
            match execute {
                true => self.execute(action, capability.as_ref()).await,
                false => self.authorize(action, capability.as_ref()).await,
            }
        };
        match acted.await {
            Ok(approval) if execute => Reply::ActionExecuted {
                executor,
                output: approval.output.unwrap_or_default(),
            },
            Ok(approval) => Reply::ActionApproved {
                executor,
                payload: approval.payload,
                rewritten: approval.rewritten,
                approval: approval.approval,
            },
            Err(error) => action_denied(error),
        }
    }

    /// The live capability with this id. Whether the caller may use it is decided where
    /// it is used, as for a handle; an id that names nothing live (expired, revoked,
    /// never issued) is refused like a stale handle.
    async fn resolve(&self, id: CapabilityId) -> Result<Capability, GovernanceError> {
        self.line
            .managers
            .caps
            .send(Resolve { id })
            .await
            .map_err(|_| KernelStopped)?
            .ok_or(GovernanceError::Capability(Denial::Stale))
    }
}

/// The refusal `make` builds from the error's message, or `invalid_request` if the
/// request itself was at fault.
fn refusal(error: GovernanceError, make: impl FnOnce(String) -> Reply) -> Reply {
    match error {
        GovernanceError::Invalid(invalid) => invalid.into(),
        error => make(error.to_string()),
    }
}

fn capability_deny(resource: Option<String>, error: GovernanceError) -> Reply {
    let rule = error.rule().map(str::to_owned);
    refusal(error, |reason| Reply::CapabilityDeny {
        resource,
        reason,
        rule,
    })
}

fn action_denied(error: GovernanceError) -> Reply {
    let rule = error.rule().map(str::to_owned);
    refusal(error, |reason| Reply::ActionDenied { reason, rule })
}
