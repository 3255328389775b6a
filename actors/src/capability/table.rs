//! [`CapabilityTable`]: every capability of a kernel, its derivation tree and the
//! per-system CSpaces.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;
use tokio::time::Instant;

use super::access::Access;
use super::caveat::{CaveatError, CaveatViolation, Caveats};
use super::error::{Denial, DeriveError, GrantError, RevokeError};
use super::handle::{Capability, CapabilityId, CapabilityInfo, Issuer, Minted};
use super::index::Index;
use super::resource::{ResourceRef, Scope};
use super::template::Template;
use crate::ids::SystemId;
use crate::rights::Rights;

/// The longest derivation chain: a grant plus this many derivations.
pub const MAX_DEPTH: u8 = 32;

/// The default limit on the capabilities one system may hold.
pub const DEFAULT_CSPACE_LIMIT: usize = 65_536;

/// Who asks for a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// The kernel, which may revoke anything.
    Kernel,
    /// A system, which may revoke what it holds and whatever was derived from it.
    System(SystemId),
}

/// What a derivation asks for; see [`CapabilityTable::derive`].
///
/// ```
/// use exokern_actors::capability::{Caveats, Derivation};
/// use exokern_actors::{Rights, SystemId};
///
/// let helper = SystemId::new("helper").unwrap();
/// let request = Derivation::new(helper, Rights::READ)
///     .scope("mcp:github".parse().unwrap())
///     .caveats(Caveats::new().max_uses(3));
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
#[must_use = "a derivation does nothing until passed to `derive`"]
pub struct Derivation {
    to: SystemId,
    rights: Rights,
    scope: Option<Scope>,
    caveats: Caveats,
}

impl Derivation {
    /// A capability for `to` carrying `rights`, over the parent's scope, with the
    /// parent's caveats.
    pub fn new(to: SystemId, rights: Rights) -> Derivation {
        Derivation {
            to,
            rights,
            scope: None,
            caveats: Caveats::new(),
        }
    }

    /// Narrows the scope (it must lie within the parent's).
    pub fn scope(mut self, scope: Scope) -> Derivation {
        self.scope = Some(scope);
        self
    }

    /// Adds caveats to the parent's.
    pub fn caveats(mut self, caveats: Caveats) -> Derivation {
        self.caveats = caveats;
        self
    }
}

/// Every capability of one kernel: an arena of slots with generations, the derivation
/// tree threaded through it, and one [`CSpace`](super::CSpace) index per system.
///
/// All operations take the current monotonic time `now` explicitly, so the table is a
/// plain value that tests drive with any clock; the
/// [`CapabilityActor`](super::CapabilityActor) owns one and passes `Instant::now()`.
///
/// Costs: a check is two hash lookups plus the capabilities covering that one resource,
/// whatever the CSpace's size; mint and derive are O(1) amortized; a revocation is
/// proportional to the subtree it removes; a use-limited check walks the chain to the
/// grant (at most [`MAX_DEPTH`] links).
#[derive(Debug)]
pub struct CapabilityTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    spaces: FxHashMap<SystemId, Index>,
    /// Live capabilities (expired ones not yet swept included).
    live: usize,
    /// Deadlines, soonest first, as (deadline, slot, generation). A capability that ends
    /// before its deadline leaves its entry behind, to be skipped when it surfaces, so an
    /// end costs nothing here; the heap is compacted when stale entries outnumber live
    /// capabilities.
    expiries: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    cspace_limit: usize,
    scratch: Vec<u32>,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    node: Option<Node>,
    /// Why the capability of `generation - 1` ended.
    ended: Ended,
}

impl Slot {
    /// Holds the capability of `generation`, not one that ended or a later one.
    fn holds(&self, generation: u32) -> bool {
        self.generation == generation && self.node.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Never,
    Revoked,
    Expired,
}

#[derive(Debug)]
struct Node {
    handle: Capability,
    caveats: Caveats,
    parent: Option<u32>,
    first_child: Option<u32>,
    next_sibling: Option<u32>,
    prev_sibling: Option<u32>,
    depth: u8,
    uses_left: Option<u32>,
    /// This capability or an ancestor has a use limit.
    metered: bool,
    /// Where the holder's CSpace index lists this slot, for O(1) removal.
    position: u32,
}

impl Node {
    fn expired(&self, now: Instant) -> bool {
        self.caveats
            .expiry()
            .is_some_and(|deadline| now >= deadline)
    }
}

/// How far a candidate got before failing; the furthest one explains an ambient denial.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Miss {
    NotHeld,
    Expired,
    Rights(Rights),
    Caveat(CaveatViolation),
    Uses,
}

impl Miss {
    fn stage(&self) -> u8 {
        match self {
            Miss::NotHeld => 0,
            Miss::Expired => 1,
            Miss::Rights(_) => 2,
            Miss::Caveat(_) => 3,
            Miss::Uses => 4,
        }
    }
}

impl Default for CapabilityTable {
    fn default() -> CapabilityTable {
        CapabilityTable::new()
    }
}

impl CapabilityTable {
    /// An empty table whose CSpaces hold at most [`DEFAULT_CSPACE_LIMIT`] capabilities.
    pub fn new() -> CapabilityTable {
        CapabilityTable::with_cspace_limit(DEFAULT_CSPACE_LIMIT)
    }

    /// An empty table whose CSpaces hold at most `limit` capabilities each.
    pub fn with_cspace_limit(limit: usize) -> CapabilityTable {
        CapabilityTable {
            slots: Vec::new(),
            free: Vec::new(),
            spaces: FxHashMap::default(),
            live: 0,
            expiries: BinaryHeap::new(),
            cspace_limit: limit,
            scratch: Vec::new(),
        }
    }

    /// How many capabilities exist, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.live
    }

    /// `true` if there are none.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// How many systems hold at least one capability.
    pub fn holders(&self) -> usize {
        self.spaces.len()
    }

    /// The index of `holder`'s CSpace, if it holds anything.
    pub(crate) fn index(&self, holder: &SystemId) -> Option<&Index> {
        self.spaces.get(holder)
    }

    /// Mints a kernel-issued capability for `holder`.
    ///
    /// Fails, creating nothing, if the scope or caveats are malformed, `rights` is empty,
    /// the expiry has passed or the holder's CSpace is full.
    pub fn mint(
        &mut self,
        holder: &SystemId,
        scope: Scope,
        rights: Rights,
        caveats: Caveats,
        now: Instant,
    ) -> Result<Capability, GrantError> {
        scope.validate()?;
        caveats.validate()?;
        self.admit(holder, rights, &caveats, now)?;
        Ok(self.insert(holder, scope, rights, caveats, Issuer::Kernel, None))
    }

    /// Mints every capability of `template` for `holder`, or none of them.
    pub fn mint_template(
        &mut self,
        holder: &SystemId,
        template: &Template,
    ) -> Result<Vec<Capability>, GrantError> {
        for (scope, rights) in template.grants() {
            scope.validate()?;
            if rights.is_empty() {
                return Err(GrantError::NoRights);
            }
        }
        self.room(holder, template.len())?;
        Ok(template
            .grants()
            .map(|(scope, rights)| {
                self.insert(
                    holder,
                    scope.clone(),
                    rights,
                    Caveats::new(),
                    Issuer::Kernel,
                    None,
                )
            })
            .collect())
    }

    /// Derives a capability from `parent` for `request`'s recipient.
    ///
    /// Only `presenter`, the parent's holder, may derive from it, and only while the
    /// parent is live. Nothing widens: the rights must be a subset of the parent's, the
    /// scope within the parent's, the caveats are the parent's plus the requested ones
    /// (no action the parent disallows, no later expiry, no more uses than the chain has
    /// left), and a capability for another system needs DELEGATE on the parent.
    /// On any failure nothing is created.
    pub fn derive(
        &mut self,
        presenter: &SystemId,
        parent: &Capability,
        request: Derivation,
        now: Instant,
    ) -> Result<Capability, DeriveError> {
        let slot = self.resolve(parent).map_err(DeriveError::Parent)?;
        let node = self.node(slot);
        if node.handle.holder() != presenter {
            return Err(DeriveError::Parent(Denial::WrongHolder {
                holder: node.handle.holder().clone(),
                presenter: presenter.clone(),
            }));
        }
        if node.expired(now) {
            return Err(DeriveError::Parent(Denial::Expired));
        }
        let uses_left = self.uses_left(slot);
        if uses_left == Some(0) {
            return Err(DeriveError::Parent(Denial::Caveat(
                CaveatViolation::UsesExhausted,
            )));
        }
        if &request.to != presenter && !node.handle.rights().contains(Rights::DELEGATE) {
            return Err(DeriveError::NoDelegate {
                holder: presenter.clone(),
            });
        }
        if !request.rights.is_subset_of(node.handle.rights()) {
            return Err(DeriveError::WidensRights {
                requested: request.rights,
                held: node.handle.rights(),
            });
        }
        let scope = request.scope.unwrap_or_else(|| node.handle.scope().clone());
        if !scope.is_within(node.handle.scope()) {
            return Err(DeriveError::WidensScope {
                requested: scope.to_string(),
                held: node.handle.scope().to_string(),
            });
        }
        scope.validate().map_err(GrantError::from)?;
        let caveats = node.caveats.narrow(&request.caveats)?;
        if let (Some(requested), Some(left)) = (caveats.use_limit(), uses_left) {
            if requested > left {
                return Err(CaveatError::WidensUses { requested, left }.into());
            }
        }
        if node.depth >= MAX_DEPTH {
            return Err(DeriveError::TooDeep { max: MAX_DEPTH });
        }
        self.admit(&request.to, request.rights, &caveats, now)?;
        let issuer = Issuer::System(presenter.clone());
        Ok(self.insert(
            &request.to,
            scope,
            request.rights,
            caveats,
            issuer,
            Some(slot),
        ))
    }

    /// Revokes `cap` and everything derived from it, returning how many capabilities
    /// ended. The kernel may revoke anything; a system may revoke a capability it holds
    /// or one derived, at any depth, from a capability it holds.
    pub fn revoke(
        &mut self,
        authority: &Authority,
        cap: &Capability,
    ) -> Result<usize, RevokeError> {
        let slot = self.resolve(cap).map_err(RevokeError::Gone)?;
        if let Authority::System(system) = authority {
            if !self
                .chain(slot)
                .any(|s| self.node(s).handle.holder() == system)
            {
                return Err(RevokeError::NotPermitted {
                    system: system.clone(),
                });
            }
        }
        Ok(self.remove_subtree(slot, Ended::Revoked))
    }

    /// Revokes every capability `holder` holds, with their derivation subtrees (which may
    /// reach other systems), returning how many capabilities ended.
    pub fn revoke_all(&mut self, holder: &SystemId) -> usize {
        let Some(index) = self.spaces.get(holder) else {
            return 0;
        };
        let roots: Vec<(u32, u32)> = index
            .slots()
            .map(|slot| (slot, self.slots[slot as usize].generation))
            .collect();
        let mut ended = 0;
        for (slot, generation) in roots {
            // An earlier subtree may already have taken this one (self-derivations).
            if self.slots[slot as usize].generation == generation {
                ended += self.remove_subtree(slot, Ended::Revoked);
            }
        }
        ended
    }

    /// Removes every capability whose expiry is at or before `now`, with its subtree,
    /// returning how many ended. Checks deny expired capabilities whether or not they
    /// have been swept; sweeping returns their memory.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut ended = 0;
        while let Some(&Reverse((deadline, slot, generation))) = self.expiries.peek() {
            if deadline > now {
                break;
            }
            self.expiries.pop();
            if self.slots[slot as usize].holds(generation) {
                ended += self.remove_subtree(slot, Ended::Expired);
            }
        }
        ended
    }

    /// Checks whether `presenter` may make `access` with `cap`, without using it up.
    pub fn check(
        &self,
        presenter: &SystemId,
        cap: &Capability,
        access: &Access,
        now: Instant,
    ) -> Result<(), Denial> {
        let slot = self.resolve(cap)?;
        let node = self.node(slot);
        if node.handle.holder() != presenter {
            return Err(Denial::WrongHolder {
                holder: node.handle.holder().clone(),
                presenter: presenter.clone(),
            });
        }
        if node.expired(now) {
            return Err(Denial::Expired);
        }
        if !node.handle.scope().covers(access.resource()) {
            return Err(Denial::OutOfScope {
                scope: node.handle.scope().to_string(),
                resource: access.resource().to_string(),
            });
        }
        if !node.handle.rights().contains(access.rights()) {
            return Err(Denial::InsufficientRights {
                held: node.handle.rights(),
                required: access.rights(),
            });
        }
        node.caveats
            .admits(access.action_name(), access.target_name())
            .map_err(Denial::Caveat)?;
        if node.metered && self.uses_left(slot) == Some(0) {
            return Err(Denial::Caveat(CaveatViolation::UsesExhausted));
        }
        Ok(())
    }

    /// Checks like [`check`](Self::check) and, if allowed, uses the capability once:
    /// its use count and that of every use-limited ancestor go down by one.
    pub fn exercise(
        &mut self,
        presenter: &SystemId,
        cap: &Capability,
        access: &Access,
        now: Instant,
    ) -> Result<(), Denial> {
        self.check(presenter, cap, access, now)?;
        self.consume(cap.slot());
        Ok(())
    }

    /// Finds a live capability of `holder` that allows `access` (an ambient check, as
    /// the action gate makes), or explains why none does.
    pub fn find(
        &self,
        holder: &SystemId,
        access: &Access,
        now: Instant,
    ) -> Result<&Capability, Denial> {
        let found = self.scan(
            holder,
            access.resource(),
            access.rights(),
            access.action_name(),
            access.target_name(),
            now,
        );
        match found {
            Ok(slot) => Ok(&self.node(slot).handle),
            Err(Miss::NotHeld) => Err(Denial::NotHeld {
                holder: holder.clone(),
                resource: access.resource().to_string(),
            }),
            Err(Miss::Expired) => Err(Denial::Expired),
            Err(Miss::Rights(held)) => Err(Denial::InsufficientRights {
                held,
                required: access.rights(),
            }),
            Err(Miss::Caveat(violation)) => Err(Denial::Caveat(violation)),
            Err(Miss::Uses) => Err(Denial::Caveat(CaveatViolation::UsesExhausted)),
        }
    }

    /// Like [`find`](Self::find), and uses the capability found once.
    pub fn exercise_any(
        &mut self,
        holder: &SystemId,
        access: &Access,
        now: Instant,
    ) -> Result<Capability, Denial> {
        let cap = self.find(holder, access, now)?.clone();
        self.consume(cap.slot());
        Ok(cap)
    }

    /// What a listing shows of `cap`, if it is still live.
    pub fn info(&self, cap: &Capability, now: Instant) -> Option<CapabilityInfo> {
        let slot = self.resolve(cap).ok()?;
        Some(self.info_at(slot, now))
    }

    /// Listings of every capability `holder` holds.
    pub fn list(&self, holder: &SystemId, now: Instant) -> Vec<CapabilityInfo> {
        self.spaces.get(holder).map_or_else(Vec::new, |index| {
            index.slots().map(|slot| self.info_at(slot, now)).collect()
        })
    }

    pub(crate) fn by_id(&self, id: CapabilityId) -> Option<&Capability> {
        let node = self.slots.get(id.slot() as usize)?.node.as_ref()?;
        (node.handle.id() == id).then_some(&node.handle)
    }

    pub(crate) fn handle_at(&self, slot: u32) -> &Capability {
        &self.node(slot).handle
    }

    fn node(&self, slot: u32) -> &Node {
        self.slots[slot as usize]
            .node
            .as_ref()
            .expect("a resolved or linked slot is occupied")
    }

    fn node_mut(&mut self, slot: u32) -> &mut Node {
        self.slots[slot as usize]
            .node
            .as_mut()
            .expect("a resolved or linked slot is occupied")
    }

    /// The slot of the live capability `cap` names, or why there is none.
    fn resolve(&self, cap: &Capability) -> Result<u32, Denial> {
        let slot = self.slots.get(cap.slot() as usize).ok_or(Denial::Unknown)?;
        if cap.generation() == slot.generation {
            return match &slot.node {
                Some(node) if node.handle.id() == cap.id() => Ok(cap.slot()),
                _ => Err(Denial::Unknown),
            };
        }
        if cap.generation() > slot.generation {
            return Err(Denial::Unknown);
        }
        Err(match slot.ended {
            Ended::Revoked if cap.generation() + 1 == slot.generation => Denial::Revoked,
            Ended::Expired if cap.generation() + 1 == slot.generation => Denial::Expired,
            _ => Denial::Stale,
        })
    }

    /// The fewest uses left along the chain from `slot` to its grant.
    fn uses_left(&self, slot: u32) -> Option<u32> {
        self.chain(slot)
            .map(|s| self.node(s))
            .take_while(|node| node.metered)
            .filter_map(|node| node.uses_left)
            .min()
    }

    /// `slot` and the slots of its ancestors, up to the grant.
    fn chain(&self, slot: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(slot), |&s| self.node(s).parent)
    }

    fn consume(&mut self, slot: u32) {
        let mut at = Some(slot);
        while let Some(s) = at {
            let node = self.node_mut(s);
            if !node.metered {
                break;
            }
            if let Some(left) = &mut node.uses_left {
                *left -= 1;
            }
            at = node.parent;
        }
    }

    /// `true` if a live capability of `holder` without action or target caveats covers
    /// `resource` with `rights`.
    pub(crate) fn can(
        &self,
        holder: &SystemId,
        resource: &ResourceRef,
        rights: Rights,
        now: Instant,
    ) -> bool {
        self.scan(holder, resource, rights, None, None, now).is_ok()
    }

    fn scan(
        &self,
        holder: &SystemId,
        resource: &ResourceRef,
        rights: Rights,
        action: Option<&str>,
        target: Option<&str>,
        now: Instant,
    ) -> Result<u32, Miss> {
        let index = self.spaces.get(holder).ok_or(Miss::NotHeld)?;
        let mut miss = Miss::NotHeld;
        for slot in index.candidates(resource) {
            let node = self.node(slot);
            let held = node.handle.rights();
            let failed = if node.expired(now) {
                Miss::Expired
            } else if !held.contains(rights) {
                Miss::Rights(held)
            } else if let Err(violation) = node.caveats.admits(action, target) {
                Miss::Caveat(violation)
            } else if node.metered && self.uses_left(slot) == Some(0) {
                Miss::Uses
            } else {
                return Ok(slot);
            };
            if failed.stage() > miss.stage() {
                miss = failed;
            }
        }
        Err(miss)
    }

    /// Refuses a new capability for `holder` that could never be used or would not fit.
    fn admit(
        &self,
        holder: &SystemId,
        rights: Rights,
        caveats: &Caveats,
        now: Instant,
    ) -> Result<(), GrantError> {
        if rights.is_empty() {
            return Err(GrantError::NoRights);
        }
        if caveats.expiry().is_some_and(|deadline| deadline <= now) {
            return Err(GrantError::AlreadyExpired);
        }
        self.room(holder, 1)
    }

    /// Refuses `count` more capabilities for `holder` if its CSpace would overflow.
    fn room(&self, holder: &SystemId, count: usize) -> Result<(), GrantError> {
        let held = self.spaces.get(holder).map_or(0, Index::len);
        if held + count > self.cspace_limit {
            return Err(GrantError::CSpaceFull {
                holder: holder.clone(),
                limit: self.cspace_limit,
            });
        }
        Ok(())
    }

    fn insert(
        &mut self,
        holder: &SystemId,
        scope: Scope,
        rights: Rights,
        caveats: Caveats,
        issuer: Issuer,
        parent: Option<u32>,
    ) -> Capability {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    node: None,
                    ended: Ended::Never,
                });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 capability slots")
            }
        };
        let generation = self.slots[slot as usize].generation;
        let id = CapabilityId::minted(slot, generation);
        let handle = Capability::new(Minted {
            id,
            slot,
            generation,
            holder: holder.clone(),
            scope,
            rights,
            issuer,
        });
        let (depth, parent_metered, next_sibling) = match parent {
            Some(p) => {
                let parent = self.node(p);
                (parent.depth + 1, parent.metered, parent.first_child)
            }
            None => (0, false, None),
        };
        let uses_left = caveats.use_limit();
        if let Some(deadline) = caveats.expiry() {
            self.expiries.push(Reverse((deadline, slot, generation)));
        }
        let space = match self.spaces.get_mut(holder) {
            Some(space) => space,
            None => self.spaces.entry(holder.clone()).or_default(),
        };
        let position = space.insert(handle.scope(), slot);
        self.live += 1;
        self.slots[slot as usize].node = Some(Node {
            handle: handle.clone(),
            caveats,
            parent,
            first_child: None,
            next_sibling,
            prev_sibling: None,
            depth,
            metered: parent_metered || uses_left.is_some(),
            uses_left,
            position,
        });
        if let Some(p) = parent {
            if let Some(next) = next_sibling {
                self.node_mut(next).prev_sibling = Some(slot);
            }
            self.node_mut(p).first_child = Some(slot);
        }
        // Compacting is linear, after at least as many pushes: constant per push.
        if self.expiries.len() > 2 * self.live + 1024 {
            let slots = &self.slots;
            self.expiries
                .retain(|&Reverse((_, slot, generation))| slots[slot as usize].holds(generation));
        }
        handle
    }

    /// Unlinks `root` from its parent and frees it and all its descendants.
    fn remove_subtree(&mut self, root: u32, ended: Ended) -> usize {
        let (parent, prev, next) = {
            let node = self.node(root);
            (node.parent, node.prev_sibling, node.next_sibling)
        };
        match prev {
            Some(prev) => self.node_mut(prev).next_sibling = next,
            None => {
                if let Some(parent) = parent {
                    self.node_mut(parent).first_child = next;
                }
            }
        }
        if let Some(next) = next {
            self.node_mut(next).prev_sibling = prev;
        }
        let mut stack = std::mem::take(&mut self.scratch);
        stack.push(root);
        let mut count = 0;
        while let Some(slot) = stack.pop() {
            let node = self.free_slot(slot, ended);
            let mut child = node.first_child;
            while let Some(c) = child {
                stack.push(c);
                child = self.node(c).next_sibling;
            }
            count += 1;
        }
        self.scratch = stack;
        count
    }

    fn free_slot(&mut self, slot: u32, ended: Ended) -> Node {
        let entry = &mut self.slots[slot as usize];
        let node = entry.node.take().expect("freeing an occupied slot");
        entry.ended = ended;
        // A slot whose generation would wrap is retired, so no handle can ever alias.
        match entry.generation.checked_add(1) {
            Some(next) => {
                entry.generation = next;
                self.free.push(slot);
            }
            None => entry.generation = u32::MAX,
        }
        let holder = node.handle.holder();
        let index = self
            .spaces
            .get_mut(holder)
            .expect("a capability's holder has a CSpace");
        let moved = index.remove(node.handle.scope(), node.position);
        if index.len() == 0 {
            self.spaces.remove(holder);
        }
        if let Some(moved) = moved {
            self.node_mut(moved).position = node.position;
        }
        self.live -= 1;
        node
    }

    fn info_at(&self, slot: u32, now: Instant) -> CapabilityInfo {
        let node = self.node(slot);
        CapabilityInfo {
            id: node.handle.id(),
            holder: node.handle.holder().clone(),
            issuer: node.handle.issuer().clone(),
            scope: node.handle.scope().to_string(),
            rights: node.handle.rights(),
            caveats: node.caveats.clone(),
            parent: node.parent.map(|p| self.node(p).handle.id()),
            depth: node.depth,
            uses_left: self.uses_left(slot),
            expires_in: node
                .caveats
                .expiry()
                .map(|deadline| deadline.saturating_duration_since(now)),
        }
    }
}
