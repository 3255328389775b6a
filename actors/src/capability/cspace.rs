//! [`CSpace`]: one system's capabilities, indexed by the resources they cover.

use std::fmt;

use tokio::time::Instant;

use super::handle::{Capability, CapabilityId};
use super::index::Index;
use super::resource::{ResourceKind, ResourceRef, Scope};
use super::table::CapabilityTable;
use crate::ids::SystemId;
use crate::rights::Rights;

/// A read-only view of one system's capability space.
///
/// Get one from [`CapabilityTable::cspace`]. Capabilities enter a CSpace only through
/// [`mint`](CapabilityTable::mint) and [`derive`](CapabilityTable::derive) and leave it
/// through [`revoke`](CapabilityTable::revoke), revocation of an ancestor or expiry;
/// there is no way to insert a capability built elsewhere.
///
/// ```
/// use exokern_actors::capability::{CapabilityTable, Caveats, ResourceRef};
/// use exokern_actors::{Rights, SystemId};
/// use tokio::time::Instant;
///
/// let mut table = CapabilityTable::new();
/// let agent = SystemId::new("agent-1").unwrap();
/// let now = Instant::now();
/// table.mint(&agent, "kernel:memory".parse().unwrap(), Rights::READ, Caveats::new(), now).unwrap();
///
/// let cspace = table.cspace(&agent);
/// assert_eq!(cspace.len(), 1);
/// assert!(cspace.can(&ResourceRef::domain("memory"), Rights::READ, now));
/// assert!(!cspace.can(&ResourceRef::domain("memory"), Rights::WRITE, now));
/// assert_eq!(cspace.active_domains(), ["memory"]);
/// ```
pub struct CSpace<'a> {
    table: &'a CapabilityTable,
    holder: &'a SystemId,
    index: Option<&'a Index>,
}

impl CapabilityTable {
    /// The CSpace of `holder` (empty if it holds nothing).
    pub fn cspace<'a>(&'a self, holder: &'a SystemId) -> CSpace<'a> {
        CSpace {
            table: self,
            holder,
            index: self.index(holder),
        }
    }
}

impl<'a> CSpace<'a> {
    /// The system whose CSpace this is.
    pub fn holder(&self) -> &SystemId {
        self.holder
    }

    /// How many capabilities it holds, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.index.map_or(0, Index::len)
    }

    /// `true` if it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` if one live capability covers `resource` with all of `rights` and has no
    /// action or target caveat; see [`CapabilityTable::find`] for accesses that name them.
    /// Rights never add up across capabilities: each capability carries its own caveats
    /// and expiry, so one of them must allow the whole access.
    pub fn can(&self, resource: &ResourceRef, rights: Rights, now: Instant) -> bool {
        self.table.can(self.holder, resource, rights, now)
    }

    /// The capability with this id, if this system holds it.
    pub fn get(&self, id: CapabilityId) -> Option<&'a Capability> {
        self.table
            .by_id(id)
            .filter(|cap| cap.holder() == self.holder)
    }

    /// Every capability held, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Capability> + 'a {
        let table = self.table;
        self.index
            .into_iter()
            .flat_map(Index::slots)
            .map(move |slot| table.handle_at(slot))
    }

    /// The capabilities whose scope satisfies `pred`.
    pub fn filter_scope(&self, pred: impl Fn(&Scope) -> bool) -> Vec<&'a Capability> {
        self.iter().filter(|cap| pred(cap.scope())).collect()
    }

    /// The kernel domains this system holds capabilities for, sorted, plus `exec` and
    /// `browser` when it holds those (the seed's "kernel manifest").
    pub fn active_domains(&self) -> Vec<&'a str> {
        let mut domains: Vec<&str> = self
            .iter()
            .filter_map(|cap| match cap.scope() {
                Scope::Exact(ResourceRef::KernelDomain { domain }) => Some(&**domain),
                Scope::Exact(ResourceRef::Exec { .. }) | Scope::Kind(ResourceKind::Exec) => {
                    Some("exec")
                }
                Scope::Exact(ResourceRef::Browser) | Scope::Kind(ResourceKind::Browser) => {
                    Some("browser")
                }
                _ => None,
            })
            .collect();
        domains.sort_unstable();
        domains.dedup();
        domains
    }
}

impl fmt::Debug for CSpace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CSpace")
            .field("holder", self.holder)
            .field("len", &self.len())
            .finish()
    }
}
