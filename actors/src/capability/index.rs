//! [`Index`]: where one system's capabilities are, by the resources they cover.

use rustc_hash::FxHashMap;

use super::resource::{ResourceKind, ResourceRef, Scope};

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
