//! Governance routes: capabilities, actions, approvals, lifecycle, modules, snapshot and
//! health. Every request acts as the caller's remote system, through its kernel client:
//! the same checks, policy and audit as a system docked in-process.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpResponse};
use exokern_actors::capability::CapabilityId;
use exokern_actors::protocol::{
    ActionRequest, ApprovalDecision, ApprovalId, CapabilityDerive, CapabilityRequest,
    CapabilityRevoke, LifecycleRequest, ModuleLoad, ModuleUnload, Reply, Request,
};
use exokern_actors::SystemId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::gateway::Gateway;

/// Serves `request` as the caller and answers the kernel's reply with `status`.
async fn serve(
    caller: &Caller,
    status: StatusCode,
    request: Request,
) -> Result<HttpResponse, ApiError> {
    let reply: Reply = caller.remote().client().serve(request).await?;
    Ok(HttpResponse::build(status).json(reply))
}

/// The kernel is up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The kernel's id.
    pub kernel: String,
}

/// Whether the kernel is up; needs no token.
#[utoipa::path(
    tag = "governance",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody))
)]
#[get("/health")]
pub(crate) async fn health(gateway: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let kernel = gateway.kernel();
    if !kernel.is_running() {
        return Err(ApiError::unavailable("the kernel has shut down"));
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
        kernel: kernel.id().to_owned(),
    }))
}

/// The constellation: systems, their states, channels.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Object, description = "kernel_id, systems, channels"),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody),
    )
)]
#[get("/snapshot")]
pub(crate) async fn snapshot(caller: Caller) -> Result<HttpResponse, ApiError> {
    let snapshot = caller.remote().client().snapshot().await?;
    Ok(HttpResponse::Ok().json(snapshot))
}

/// Asks for a capability; the policy decides and caps its lifetime.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    request_body(content = Object, description = "resource, rights, ttl_secs?, caveats?, context?",
        example = json!({"resource": "executor:http", "rights": "EXECUTE", "ttl_secs": 60})),
    responses(
        (status = 201, body = Object, description = "`capability_grant`: capability, resource, rights, expires"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/capabilities")]
pub(crate) async fn request_capability(
    caller: Caller,
    body: web::Json<CapabilityRequest>,
) -> Result<HttpResponse, ApiError> {
    serve(
        &caller,
        StatusCode::CREATED,
        Request::CapabilityRequest(body.into_inner()),
    )
    .await
}

/// Derives a narrower capability from one the caller holds, for itself or (with
/// DELEGATE) another system.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    request_body(content = Object, description = "parent, rights, to?, resource?, ttl_secs?, caveats?",
        example = json!({"parent": "00000000-0000-8000-8000-000000000000", "rights": "EXECUTE", "ttl_secs": 10})),
    responses(
        (status = 201, body = Object, description = "`capability_grant`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
#[post("/capabilities/derive")]
pub(crate) async fn derive_capability(
    caller: Caller,
    body: web::Json<CapabilityDerive>,
) -> Result<HttpResponse, ApiError> {
    serve(
        &caller,
        StatusCode::CREATED,
        Request::CapabilityDerive(body.into_inner()),
    )
    .await
}

/// Revokes a capability the caller holds (or derived), with its whole subtree.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    params(("capability" = String, Path, description = "The capability's id")),
    responses(
        (status = 200, body = Object, description = "`capability_revoked`: capability, revoked"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/capabilities/{capability}")]
pub(crate) async fn revoke_capability(
    caller: Caller,
    capability: web::Path<CapabilityId>,
) -> Result<HttpResponse, ApiError> {
    let revoke = CapabilityRevoke {
        capability: capability.into_inner(),
    };
    serve(&caller, StatusCode::OK, Request::CapabilityRevoke(revoke)).await
}

/// Asks the gate whether an action may be taken. An escalated action waits for an
/// approver (up to the kernel's approval timeout).
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    request_body(content = Object, description = "action, executor, target, payload?, capability?",
        example = json!({"action": "GET", "executor": "http", "target": "https://example.com/"})),
    responses(
        (status = 200, body = Object, description = "`action_approved`: executor, payload, rewritten, approval?"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
#[post("/actions/authorize")]
pub(crate) async fn authorize(
    caller: Caller,
    body: web::Json<ActionRequest>,
) -> Result<HttpResponse, ApiError> {
    serve(
        &caller,
        StatusCode::OK,
        Request::ActionAuthorize(body.into_inner()),
    )
    .await
}

/// Authorizes an action, then has the kernel's registered executor take it.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    request_body(content = Object, description = "action, executor, target, payload?, capability?",
        example = json!({"action": "GET", "executor": "http", "target": "https://example.com/"})),
    responses(
        (status = 200, body = Object, description = "`action_executed`: executor, output"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
#[post("/actions/execute")]
pub(crate) async fn execute(
    caller: Caller,
    body: web::Json<ActionRequest>,
) -> Result<HttpResponse, ApiError> {
    serve(
        &caller,
        StatusCode::OK,
        Request::ActionExecute(body.into_inner()),
    )
    .await
}

/// The approvals waiting for a decision (privileged).
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Object>, description = "`action_escalated` events"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    )
)]
#[get("/approvals")]
pub(crate) async fn approvals(caller: Caller) -> Result<HttpResponse, ApiError> {
    let pending = caller.remote().client().pending_approvals().await?;
    Ok(HttpResponse::Ok().json(pending))
}

/// A decision on an escalated action.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Approve (`true`) or deny.
    pub approve: bool,
    /// Why; shown to the requester on a denial.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approves or denies a pending approval (privileged).
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    params(("approval" = String, Path, description = "The approval's id")),
    request_body = Decision,
    responses(
        (status = 200, body = Object, description = "`approval_recorded`: approval, approved"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
#[post("/approvals/{approval}")]
pub(crate) async fn decide(
    caller: Caller,
    approval: web::Path<ApprovalId>,
    body: web::Json<Decision>,
) -> Result<HttpResponse, ApiError> {
    let Decision { approve, reason } = body.into_inner();
    let decision = ApprovalDecision {
        approval: approval.into_inner(),
        approve,
        reason,
    };
    serve(&caller, StatusCode::OK, Request::ApprovalDecision(decision)).await
}

/// Pauses, resumes, revokes or drains a system (privileged); answers once it took
/// effect (a drain: once it finished).
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    request_body(content = Object, description = "command (pause, resume, revoke, drain), system_id, timeout_secs?",
        example = json!({"command": "pause", "system_id": "worker-1"})),
    responses(
        (status = 200, body = Object, description = "`lifecycle_ok`: command, system_id, state"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/lifecycle")]
pub(crate) async fn lifecycle(
    caller: Caller,
    body: web::Json<LifecycleRequest>,
) -> Result<HttpResponse, ApiError> {
    serve(
        &caller,
        StatusCode::OK,
        Request::LifecycleCommand(body.into_inner()),
    )
    .await
}

/// Loads a module (privileged); the module policy decides.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    request_body(content = Object, description = "module_id, framework, channels?, executors?, privileged?, settings?",
        example = json!({"module_id": "echo-1", "framework": "echo"})),
    responses(
        (status = 201, body = Object, description = "`module_accepted`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/modules")]
pub(crate) async fn load_module(
    caller: Caller,
    body: web::Json<ModuleLoad>,
) -> Result<HttpResponse, ApiError> {
    serve(
        &caller,
        StatusCode::CREATED,
        Request::ModuleLoad(body.into_inner()),
    )
    .await
}

/// Unloads a module (privileged): a full undock.
#[utoipa::path(
    tag = "governance",
    security(("bearer" = [])),
    params(("module" = String, Path, description = "The module's system id")),
    responses(
        (status = 200, body = Object, description = "`module_unloaded`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
#[delete("/modules/{module}")]
pub(crate) async fn unload_module(
    caller: Caller,
    module: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let module_id = SystemId::new(module.as_str()).map_err(|e| {
        ApiError::not_found(format!(
            "no module `{}`: {e}",
            module.chars().take(64).collect::<String>()
        ))
    })?;
    serve(
        &caller,
        StatusCode::OK,
        Request::ModuleUnload(ModuleUnload { module_id }),
    )
    .await
}
