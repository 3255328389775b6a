//! The governance protocol: typed requests and replies, serde-tagged by `"type"`.
//!
//! In process, a system's [`KernelClient`](crate::kernel::KernelClient) builds these for
//! it and returns typed results; the enums are the contract for everything else — the
//! HTTP surface, logs, tests — and the only one: there are no parallel "models" that
//! disagree with the wire (AAAX's defect C1 in `docs/aaax-defects.md`). Reply type names
//! follow the wire of AAAX, the Python kernel exokern descends from, where it has one
//! (`capability_grant`, `action_approved`, `module_accepted`, `lifecycle_ok`, …).
//!
//! Identity is never part of a request: the kernel takes it from the handle or token the
//! request arrived through. Unknown fields are errors, and [`decode`] turns anything
//! malformed — bad JSON, a missing field, a wrong type, an unknown `type`, an oversized
//! body — into an [`InvalidRequest`] that the kernel answers with
//! [`Reply::InvalidRequest`].
//!
//! ```
//! use exokern_actors::protocol::{decode, Request};
//!
//! let request = decode(br#"{"type": "capability_request", "resource": "executor:http",
//!                           "rights": "EXECUTE", "ttl_secs": 60}"#).unwrap();
//! assert!(matches!(request, Request::CapabilityRequest(_)));
//!
//! let error = decode(br#"{"type": "capability_request", "resource": "executor:http",
//!                         "rights": "EXECUTE", "from": "someone-else"}"#).unwrap_err();
//! assert!(error.reason.contains("unknown field `from`"));
//! ```

mod event;
mod reply;
mod request;

pub use event::{ApprovalEvent, ApprovalId, ChannelDepth, Heartbeat, SystemSummary};
pub use reply::{GrantInfo, Reply};
pub(crate) use request::{check_scope, check_ttl};
pub use request::{
    ActionRequest, ApprovalDecision, CapabilityDerive, CapabilityRequest, CapabilityRevoke,
    CaveatSpec, LifecycleCommand, LifecycleRequest, ModuleLoad, ModuleUnload, Request,
};

/// The largest request [`decode`] accepts, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A request that cannot be served as sent; the kernel answers it with
/// [`Reply::InvalidRequest`] and goes on serving everyone else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid request: {reason}")]
pub struct InvalidRequest {
    /// What was wrong, and what to send instead.
    pub reason: String,
}

impl InvalidRequest {
    /// An invalid request, for `reason`.
    pub fn new(reason: impl Into<String>) -> InvalidRequest {
        InvalidRequest {
            reason: reason.into(),
        }
    }
}

impl From<InvalidRequest> for Reply {
    fn from(invalid: InvalidRequest) -> Reply {
        Reply::InvalidRequest {
            reason: invalid.reason,
        }
    }
}

/// Decodes one JSON request of at most [`MAX_REQUEST_BYTES`].
pub fn decode(bytes: &[u8]) -> Result<Request, InvalidRequest> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(InvalidRequest::new(format!(
            "the request is {} bytes; the limit is {MAX_REQUEST_BYTES}",
            bytes.len()
        )));
    }
    let request: Request =
        serde_json::from_slice(bytes).map_err(|e| InvalidRequest::new(e.to_string()))?;
    request.validate()?;
    Ok(request)
}

#[cfg(test)]
mod tests;
