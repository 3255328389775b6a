//! Why a check is denied ([`Denial`]) and why a grant, derivation or revocation fails.

use serde::Serialize;

use super::caveat::{CaveatError, CaveatViolation};
use super::resource::ResourceError;
use crate::ids::SystemId;
use crate::rights::Rights;

/// Why an access was denied. Every check answers allowed, or one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Denial {
    /// The handle names no capability of this table: forged, or from another table.
    #[error("unknown capability: it was not issued here")]
    Unknown,
    /// The capability, or one it was derived from, was revoked.
    #[error("the capability was revoked")]
    Revoked,
    /// The capability, or one it was derived from, has expired.
    #[error("the capability has expired; ask for a new one")]
    Expired,
    /// The handle is older than the last capability in its slot: that capability was
    /// revoked or expired some time ago.
    #[error("stale capability handle: the capability it named no longer exists")]
    Stale,
    /// The capability was presented by a system other than its holder.
    #[error("capability held by `{holder}` was presented by `{presenter}`; a system can only use its own capabilities")]
    WrongHolder {
        /// Its holder.
        holder: SystemId,
        /// Who presented it.
        presenter: SystemId,
    },
    /// The capability does not cover the resource asked for.
    #[error("the capability covers `{scope}`, not `{resource}`")]
    OutOfScope {
        /// What it covers.
        scope: String,
        /// What was asked for.
        resource: String,
    },
    /// The capability lacks some of the rights asked for.
    #[error("the capability carries {held} but {required} is needed")]
    InsufficientRights {
        /// What it carries.
        held: Rights,
        /// What was asked for.
        required: Rights,
    },
    /// A caveat of the capability rules the access out.
    #[error("caveat: {0}")]
    Caveat(CaveatViolation),
    /// The system holds no capability covering the resource (an ambient check).
    #[error("`{holder}` holds no capability for `{resource}`")]
    NotHeld {
        /// The system.
        holder: SystemId,
        /// The resource.
        resource: String,
    },
}

/// Why the kernel could not mint a capability. Nothing was created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The scope names an invalid resource.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// A caveat is malformed.
    #[error(transparent)]
    Caveat(#[from] CaveatError),
    /// A capability with no rights allows nothing.
    #[error("a capability needs at least one right")]
    NoRights,
    /// The expiry asked for has already passed.
    #[error("the expiry asked for has already passed")]
    AlreadyExpired,
    /// The holder's CSpace is at its limit.
    #[error("the CSpace of `{holder}` is full ({limit} capabilities); revoke some first")]
    CSpaceFull {
        /// The holder.
        holder: SystemId,
        /// The limit.
        limit: usize,
    },
}

/// Why a derivation was refused. Nothing was created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeriveError {
    /// The parent capability cannot be used (revoked, expired, not the presenter's, …).
    #[error("cannot derive: {0}")]
    Parent(Denial),
    /// The child would carry rights the parent lacks.
    #[error("cannot derive {requested} from a capability carrying {held}: rights only narrow")]
    WidensRights {
        /// Rights asked for.
        requested: Rights,
        /// Rights the parent carries.
        held: Rights,
    },
    /// The child would cover resources the parent does not.
    #[error("cannot derive `{requested}` from a capability covering `{held}`: scope only narrows")]
    WidensScope {
        /// Scope asked for.
        requested: String,
        /// The parent's scope.
        held: String,
    },
    /// The child's caveats would be weaker than the parent's.
    #[error("cannot derive: {0}")]
    Caveat(#[from] CaveatError),
    /// The child goes to another system and the parent lacks DELEGATE.
    #[error("the parent capability lacks DELEGATE, so it can only be narrowed for its own holder `{holder}`")]
    NoDelegate {
        /// The parent's holder.
        holder: SystemId,
    },
    /// Derivation chains are limited in depth.
    #[error("derivation chain would exceed {max} levels")]
    TooDeep {
        /// The limit.
        max: u8,
    },
    /// The child would be invalid on its own (no rights, past expiry, full CSpace, …).
    #[error(transparent)]
    Grant(#[from] GrantError),
}

/// Why a revocation was refused. Nothing was revoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// The capability is already gone, or was never issued here.
    #[error("cannot revoke: {0}")]
    Gone(Denial),
    /// The system neither holds the capability nor one it was derived from.
    #[error("`{system}` may not revoke this capability: only its holder, the holder of a capability it was derived from, or the kernel may")]
    NotPermitted {
        /// Who asked.
        system: SystemId,
    },
}
