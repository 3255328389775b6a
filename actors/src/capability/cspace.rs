//! [`CSpace`]: one system's capabilities, indexed by the resources they cover.

use std::fmt;

use rustc_hash::FxHashMap;
use tokio::time::Instant;

use super::handle::{Capability, CapabilityId};
use super::resource::{ResourceKind, ResourceRef, Scope};
use super::table::CapabilityTable;
use crate::ids::SystemId;
use crate::rights::Rights;

/// The slots of one system's capabilities, keyed so that finding the capabilities that
/// may cover a resource costs two hash lookups whatever the CSpace's size.
#[derive(Debug, Default)]
pub(crate) struct Index {
    exact: FxHashMap<ResourceRef, Vec<u32>>,
    kinds: FxHashMap<ResourceKind, Vec<u32>>,
    len: usize,
}

impl Index {
    /// Adds `slot` under `scope`, returning its position in that scope's list.
    pub(crate) fn insert(&mut self, scope: &Scope, slot: u32) -> u32 {
        // Looked up before inserting, so the common case clones no key.
        let slots = match scope {
            Scope::Exact(resource) => match self.exact.get_mut(resource) {
                Some(slots) => slots,
                None => self.exact.entry(resource.clone()).or_default(),
            },
            Scope::Kind(kind) => match self.kinds.get_mut(kind) {
                Some(slots) => slots,
                None => self.kinds.entry(kind.clone()).or_default(),
            },
        };
        slots.push(slot);
        self.len += 1;
        u32::try_from(slots.len() - 1).expect("fewer than 2^32 capabilities per resource")
    }

    /// Removes the slot at `position` under `scope` in O(1), returning the slot that
    /// moved into its place, whose recorded position must change to `position`.
    pub(crate) fn remove(&mut self, scope: &Scope, position: u32) -> Option<u32> {
        fn take<K: Eq + std::hash::Hash>(
            map: &mut FxHashMap<K, Vec<u32>>,
            key: &K,
            position: usize,
        ) -> Option<u32> {
            let slots = map
                .get_mut(key)
                .expect("an indexed capability's scope is a key");
            slots.swap_remove(position);
            let moved = slots.get(position).copied();
            if slots.is_empty() {
                map.remove(key);
            }
            moved
        }
        self.len -= 1;
        match scope {
            Scope::Exact(resource) => take(&mut self.exact, resource, position as usize),
            Scope::Kind(kind) => take(&mut self.kinds, kind, position as usize),
        }
    }

    /// The slots of capabilities whose scope is `resource` itself or its whole kind.
    pub(crate) fn candidates<'a>(
        &'a self,
        resource: &ResourceRef,
    ) -> impl Iterator<Item = u32> + 'a {
        let exact = self.exact.get(resource).map(Vec::as_slice);
        let kind = if self.kinds.is_empty() {
            None
        } else {
            self.kinds.get(&resource.kind()).map(Vec::as_slice)
        };
        exact
            .into_iter()
            .chain(kind)
            .flat_map(|slots| slots.iter().copied())
    }

    pub(crate) fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.exact
            .values()
            .chain(self.kinds.values())
            .flat_map(|slots| slots.iter().copied())
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

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

impl<'a> CSpace<'a> {
    pub(crate) fn new(
        table: &'a CapabilityTable,
        holder: &'a SystemId,
        index: Option<&'a Index>,
    ) -> CSpace<'a> {
        CSpace {
            table,
            holder,
            index,
        }
    }

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
