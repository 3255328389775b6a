//! Capabilities: unforgeable, attenuable, revocable authority over resources.
//!
//! A [`Capability`] gives its holder [`Rights`](crate::Rights) over a [`Scope`] of
//! resources ([`ResourceRef`]), narrowed by [`Caveats`]. The kernel mints capabilities
//! ([`CapabilityTable::mint`], or a whole [`Template`]); a holder derives narrower ones
//! ([`CapabilityTable::derive`]) for itself or, with DELEGATE, for another system.
//! Derivations form a tree: revoking a capability ends its whole subtree, so a system
//! can always take back what it handed out, and the kernel can take back everything a
//! system ever held ([`CapabilityTable::revoke_all`]).
//!
//! The guarantees, each tested against a reference model:
//!
//! - **Unforgeable.** Handles have private fields, no public constructor and no
//!   `Deserialize`; a handle presented by anyone but its holder is denied.
//! - **No amplification.** A derived capability's rights, scope, caveats and expiry are
//!   each within its parent's; asking for more is an error and creates nothing.
//! - **Complete revocation.** Nothing derived from a revoked capability checks true
//!   again, at any depth; old handles to reused slots are rejected by generation.
//! - **Final expiry.** Expiry uses the monotonic clock; an expired capability never
//!   checks true again.
//! - **O(1) checks.** A check costs two hash lookups and the capabilities covering that
//!   one resource, whatever the size of the CSpace.
//!
//! [`CapabilityActor`] owns the kernel's table and answers typed requests
//! ([`Grant`], [`Derive`], [`Revoke`], [`Check`], …) sent with `send(..).await`.
//!
//! ```
//! use exokern_actors::capability::{
//!     Access, Authority, CapabilityTable, Caveats, Denial, Derivation, ResourceRef,
//! };
//! use exokern_actors::{Rights, SystemId};
//! use tokio::time::Instant;
//!
//! let mut table = CapabilityTable::new();
//! let (lead, helper) = (SystemId::new("lead").unwrap(), SystemId::new("helper").unwrap());
//! let now = Instant::now();
//!
//! // The kernel grants `lead` every MCP server, with the right to delegate.
//! let all_servers = table
//!     .mint(&lead, "mcp:*".parse().unwrap(), Rights::READ | Rights::EXECUTE | Rights::DELEGATE,
//!           Caveats::new(), now)
//!     .unwrap();
//! // `lead` hands `helper` read access to one server, for three uses.
//! let one = table
//!     .derive(&lead, &all_servers,
//!             Derivation::new(helper.clone(), Rights::READ)
//!                 .scope("mcp:github".parse().unwrap())
//!                 .caveats(Caveats::new().max_uses(3)),
//!             now)
//!     .unwrap();
//! let read = Access::new("mcp:github".parse().unwrap(), Rights::READ);
//! assert_eq!(table.exercise(&helper, &one, &read, now), Ok(()));
//! // Someone else presenting helper's capability gets nowhere.
//! assert!(matches!(table.check(&lead, &one, &read, now), Err(Denial::WrongHolder { .. })));
//! // Revoking the parent ends the child too.
//! assert_eq!(table.revoke(&Authority::System(lead), &all_servers), Ok(2));
//! assert_eq!(table.check(&helper, &one, &read, now), Err(Denial::Revoked));
//! ```

mod access;
mod actor;
mod caveat;
mod cspace;
mod error;
mod handle;
mod index;
mod resource;
mod table;
mod template;

pub use access::Access;
pub use actor::{
    Authorize, CapabilityActor, CapabilityStats, Check, Derive, Grant, GrantTemplate, List,
    Resolve, Revoke, RevokeAll, Stats, DEFAULT_MAILBOX,
};
pub(crate) use actor::{OnTable, Step, TableWork};
pub use caveat::{CaveatError, CaveatViolation, Caveats, MAX_CAVEAT_LEN, MAX_TARGET_PATTERNS};
pub use cspace::CSpace;
pub use error::{Denial, DeriveError, GrantError, RevokeError};
pub use handle::{Capability, CapabilityId, CapabilityInfo, Issuer};
pub use resource::{ResourceError, ResourceKind, ResourceRef, Scope, MAX_RESOURCE_NAME};
pub use table::{Authority, CapabilityTable, Derivation, DEFAULT_CSPACE_LIMIT, MAX_DEPTH};
pub use template::{Template, UnknownTemplate};

#[cfg(test)]
mod tests;
