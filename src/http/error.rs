//! [`ApiError`]: every refusal the HTTP surface answers, as
//! `{ "error": { "type", "message" } }` with the status that says whose fault it was.

use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use exokern_actors::capability::GrantError;
use exokern_actors::channel::{ChannelError, RecvError};
use exokern_actors::kernel::{GovernanceError, KernelStopped};
use serde::Serialize;
use utoipa::ToSchema;

use crate::tokens::TokenError;

/// A refused request: its status, a stable machine-readable `type`, and a message that
/// says what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `malformed`, `unauthorized`, `forbidden`, `not_found`,
    /// `stale_claim`, `too_large`, `invalid`, `full`, `unavailable`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// For a person: what was wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// An error with this status, type and message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 400: the request could not be parsed.
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 401: no token, or one that does not act as a docked system.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such (public) thing.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, kind, message)
    }

    /// 422: well-formed, but not a valid request.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    /// 503: the kernel, the channel or the caller is draining or stopped.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable type.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                kind: self.kind.to_owned(),
                message: self.message.clone(),
            },
        })
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> ApiError {
        ApiError::unauthorized(error.to_string())
    }
}

impl From<KernelStopped> for ApiError {
    fn from(error: KernelStopped) -> ApiError {
        ApiError::unavailable(error.to_string())
    }
}

impl From<ChannelError> for ApiError {
    fn from(error: ChannelError) -> ApiError {
        let message = error.to_string();
        match error {
            ChannelError::Revoked { .. } | ChannelError::MissingRights { .. } => {
                ApiError::forbidden(message)
            }
            ChannelError::Full { .. }
            | ChannelError::TooManyConsumers { .. }
            | ChannelError::TooManyWaiters { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "full", message)
            }
            ChannelError::Draining { .. } => ApiError::unavailable(message),
            ChannelError::Closed { .. } => ApiError::not_found(message),
            ChannelError::Lagged { .. } => ApiError::conflict("lagged", message),
            ChannelError::StaleClaim { .. } => ApiError::conflict("stale_claim", message),
            ChannelError::RequesterGone { .. } => ApiError::conflict("requester_gone", message),
            ChannelError::Timeout { .. } | ChannelError::NoReply { .. } => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", message)
            }
            ChannelError::BatchTooLarge { .. }
            | ChannelError::UnknownRecipient { .. }
            | ChannelError::NotARequest { .. }
            | ChannelError::WrongChannel { .. }
            | ChannelError::InvalidArgument { .. } => ApiError::invalid(message),
            _ => ApiError::unavailable(message),
        }
    }
}

impl From<RecvError> for ApiError {
    fn from(error: RecvError) -> ApiError {
        match error {
            RecvError::Channel(error) => error.into(),
            RecvError::Lagged { .. } => ApiError::conflict("lagged", error.to_string()),
            error => ApiError::not_found(error.to_string()),
        }
    }
}

impl From<GovernanceError> for ApiError {
    fn from(error: GovernanceError) -> ApiError {
        let message = error.to_string();
        match error {
            GovernanceError::Denied { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "denied", message)
            }
            GovernanceError::Capability(_)
            | GovernanceError::Derive(_)
            | GovernanceError::Revoke(_)
            | GovernanceError::NotPrivileged { .. }
            | GovernanceError::ApprovalExpired { .. }
            | GovernanceError::ApprovalDenied { .. } => ApiError::forbidden(message),
            GovernanceError::Grant(GrantError::CSpaceFull { .. }) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "full", message)
            }
            GovernanceError::UnknownSystem(_) => ApiError::not_found(message),
            GovernanceError::Transition { .. } | GovernanceError::NotRunning { .. } => {
                ApiError::conflict("state", message)
            }
            GovernanceError::DrainTimedOut { .. } | GovernanceError::Timeout(_) => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", message)
            }
            GovernanceError::Stopped(_) | GovernanceError::Unrecorded(_) => {
                ApiError::unavailable(message)
            }
            _ => ApiError::invalid(message),
        }
    }
}

/// Body errors: unreadable JSON is 400, JSON of the wrong shape 422, too big 413.
pub(crate) fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &error {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            too_large(&format!("{length} bytes"), *limit)
        }
        JsonPayloadError::Overflow { limit } => too_large("longer than that", *limit),
        JsonPayloadError::ContentType => {
            ApiError::malformed("the body must be JSON: send `Content-Type: application/json`")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::invalid(format!("the body is JSON but not a valid request: {e}"))
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::malformed(format!("the body is not valid JSON: {e}"))
        }
        other => ApiError::malformed(format!("the body could not be read: {other}")),
    };
    api.into()
}

fn too_large(length: &str, limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("this server accepts bodies of at most {limit} bytes, and this one is {length}"),
    )
}

/// Query-string errors: 400 (values are checked by the handlers, which answer 422).
pub(crate) fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::malformed(format!("the query string cannot be read: {error}")).into()
}

/// Path errors: no route matches such a path.
pub(crate) fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::not_found(format!("no such resource: {error}")).into()
}
