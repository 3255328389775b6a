//! The wire path: a [`Request`] in, a [`Reply`] out, for requests that arrive as data
//! (JSON over HTTP, a test harness, a script) rather than as typed calls. Every outcome,
//! error or not, is a reply; capability ids on the wire are resolved to the kernel's
//! live capabilities, which still authorize only their holder.

use super::client::KernelClient;
use super::error::{GovernanceError, KernelStopped};
use crate::capability::{Capability, CapabilityId, Denial, Resolve};
use crate::ids::SystemId;
use crate::protocol::{decode, ActionRequest, ApprovalId, LifecycleCommand, Reply, Request};

impl KernelClient {
    /// Decodes `bytes` as one JSON [`Request`] and serves it as [`call`](Self::call)
    /// does; anything malformed (bad JSON, a missing field, a wrong type, an unknown
    /// `type`, more than [`MAX_REQUEST_BYTES`](crate::protocol::MAX_REQUEST_BYTES)) is
    /// answered with `invalid_request`.
    pub async fn call_json(&self, bytes: &[u8]) -> Reply {
        match decode(bytes) {
            // `decode` checked it already.
            Ok(request) => {
                let refusal = Refusal::of(&request);
                refusal.answer(self.dispatch(request).await)
            }
            Err(invalid) => invalid.into(),
        }
    }

    /// Serves `request` as this system and answers the kernel's reply: the same path as
    /// the typed calls, with every error turned into the matching refusal
    /// (`capability_deny`, `action_denied`, `approval_error`, `module_rejected`,
    /// `lifecycle_error`) or `invalid_request`.
    pub async fn call(&self, request: Request) -> Reply {
        let refusal = Refusal::of(&request);
        refusal.answer(self.serve(request).await)
    }

    /// Serves `request` as this system, after the checks serde cannot make
    /// ([`Request::validate`]): the success reply, or the error that refused it, typed,
    /// for a front end that maps errors itself (to HTTP statuses, say).
    pub async fn serve(&self, request: Request) -> Result<Reply, GovernanceError> {
        request.validate()?;
        self.dispatch(request).await
    }

    /// Serves a checked request.
    async fn dispatch(&self, request: Request) -> Result<Reply, GovernanceError> {
        Ok(match request {
            Request::CapabilityRequest(request) => {
                Reply::CapabilityGrant(self.request_capability(request).await?.info())
            }
            Request::CapabilityDerive(derive) => {
                let parent = self.capability(derive.parent).await?;
                let caveats = derive.caveats.to_caveats()?;
                let derived = self
                    .derive(
                        &parent,
                        derive.to,
                        derive.rights,
                        derive.resource,
                        derive.ttl,
                        caveats,
                    )
                    .await?;
                Reply::CapabilityGrant(derived.info())
            }
            Request::CapabilityRevoke(revoke) => {
                let capability = self.capability(revoke.capability).await?;
                Reply::CapabilityRevoked {
                    capability: revoke.capability,
                    revoked: self.revoke(&capability).await?,
                }
            }
            Request::ActionAuthorize(action) => self.act_on(action, false).await?,
            Request::ActionExecute(action) => self.act_on(action, true).await?,
            Request::ApprovalDecision(decision) => {
                let approval = decision.approval;
                self.decide(approval, decision.approve, decision.reason)
                    .await?;
                Reply::ApprovalRecorded {
                    approval,
                    approved: decision.approve,
                }
            }
            Request::ModuleLoad(load) => {
                let loaded = self.load_module(load).await?;
                Reply::ModuleAccepted {
                    system_id: loaded.module_id.clone(),
                    module_id: loaded.module_id,
                    granted_wiring: loaded.channels,
                    granted_capabilities: loaded.capabilities,
                }
            }
            Request::ModuleUnload(unload) => {
                self.unload_module(unload.module_id.clone()).await?;
                Reply::ModuleUnloaded {
                    module_id: unload.module_id,
                }
            }
            Request::LifecycleCommand(command) => {
                let (verb, system_id) = (command.command, command.system_id);
                let state = self
                    .lifecycle(verb, system_id.clone(), command.timeout)
                    .await?;
                Reply::LifecycleOk {
                    command: verb,
                    system_id,
                    state: state.to_string(),
                }
            }
        })
    }

    /// Authorizes (or, with `execute`, executes) `action`, presenting the capability
    /// its id names, if it names one.
    async fn act_on(&self, action: ActionRequest, execute: bool) -> Result<Reply, GovernanceError> {
        let executor = action.executor.clone();
        let capability = match action.capability {
            Some(id) => Some(self.capability(id).await?),
            None => None,
        };
        Ok(if execute {
            let approval = self.execute(action, capability.as_ref()).await?;
            Reply::ActionExecuted {
                executor,
                output: approval.output.unwrap_or_default(),
            }
        } else {
            let approval = self.authorize(action, capability.as_ref()).await?;
            Reply::ActionApproved {
                executor,
                payload: approval.payload,
                rewritten: approval.rewritten,
                approval: approval.approval,
            }
        })
    }

    /// The live capability with this id. Whether the caller may use it is decided where
    /// it is used, as for a handle; an id that names nothing live (expired, revoked,
    /// never issued) is refused like a stale handle.
    pub async fn capability(&self, id: CapabilityId) -> Result<Capability, GovernanceError> {
        self.line
            .managers
            .caps
            .send(Resolve { id })
            .await
            .map_err(|_| KernelStopped)?
            .ok_or(GovernanceError::Capability(Denial::Stale))
    }
}

/// Which refusal a request gets, with what it needs from the request to say so.
enum Refusal {
    Capability {
        resource: Option<String>,
    },
    Action,
    Approval {
        approval: ApprovalId,
    },
    Module {
        module_id: SystemId,
    },
    Lifecycle {
        command: LifecycleCommand,
        system_id: SystemId,
    },
}

impl Refusal {
    fn of(request: &Request) -> Refusal {
        match request {
            Request::CapabilityRequest(r) => Refusal::Capability {
                resource: Some(r.resource.to_string()),
            },
            Request::CapabilityDerive(d) => Refusal::Capability {
                resource: d.resource.as_ref().map(ToString::to_string),
            },
            Request::CapabilityRevoke(_) => Refusal::Capability { resource: None },
            Request::ActionAuthorize(_) | Request::ActionExecute(_) => Refusal::Action,
            Request::ApprovalDecision(d) => Refusal::Approval {
                approval: d.approval,
            },
            Request::ModuleLoad(load) => Refusal::Module {
                module_id: load.module_id.clone(),
            },
            Request::ModuleUnload(unload) => Refusal::Module {
                module_id: unload.module_id.clone(),
            },
            Request::LifecycleCommand(c) => Refusal::Lifecycle {
                command: c.command,
                system_id: c.system_id.clone(),
            },
        }
    }

    /// The reply, or for an error its refusal (`invalid_request` if the request itself
    /// was at fault).
    fn answer(self, served: Result<Reply, GovernanceError>) -> Reply {
        let error = match served {
            Ok(reply) => return reply,
            Err(error) => error,
        };
        if let GovernanceError::Invalid(invalid) = error {
            return invalid.into();
        }
        let rule = error.rule().map(str::to_owned);
        let reason = error.to_string();
        match self {
            Refusal::Capability { resource } => Reply::CapabilityDeny {
                resource,
                reason,
                rule,
            },
            Refusal::Action => Reply::ActionDenied { reason, rule },
            Refusal::Approval { approval } => Reply::ApprovalError { approval, reason },
            Refusal::Module { module_id } => Reply::ModuleRejected {
                module_id,
                reason,
                rule,
            },
            Refusal::Lifecycle { command, system_id } => Reply::LifecycleError {
                command,
                system_id,
                reason,
            },
        }
    }
}
