//! [`Capability`]: the opaque handle a holder presents, and [`CapabilityInfo`]: what a
//! listing shows of it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::caveat::Caveats;
use super::resource::Scope;
use crate::ids::SystemId;
use crate::rights::Rights;

/// A capability's id, shown as `cap:<uuid>`: a UUID (version 8) holding the table slot
/// the capability lives in, the slot's generation, and 58 random bits.
///
/// The slot lets the kernel find a capability named by id without an index of ids, and
/// the random bits make ids unguessable. An id names a capability; it grants nothing.
/// Authority comes from presenting a [`Capability`] as the system that holds it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CapabilityId(Uuid);

/// Where an id keeps its slot and generation: clear of the UUID's version (byte 6) and
/// variant (byte 8) bits.
const SLOT: std::ops::Range<usize> = 0..4;
const GENERATION: std::ops::Range<usize> = 10..14;

impl CapabilityId {
    /// A fresh id for the capability in `slot` at `generation`.
    pub(crate) fn minted(slot: u32, generation: u32) -> CapabilityId {
        let mut bytes = *Uuid::new_v4().as_bytes();
        bytes[SLOT].copy_from_slice(&slot.to_be_bytes());
        bytes[GENERATION].copy_from_slice(&generation.to_be_bytes());
        CapabilityId(Uuid::new_v8(bytes))
    }

    /// The table slot it was minted in.
    pub(crate) fn slot(&self) -> u32 {
        let mut slot = [0; 4];
        slot.copy_from_slice(&self.0.as_bytes()[SLOT]);
        u32::from_be_bytes(slot)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for CapabilityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cap:{}", self.0)
    }
}

impl fmt::Debug for CapabilityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cap:{}", self.0)
    }
}

/// Who created a capability: the kernel (a grant), or a system deriving from its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "issuer", content = "id", rename_all = "snake_case")]
pub enum Issuer {
    /// Minted by the kernel, the root authority.
    Kernel,
    /// Derived by this system from a capability it held.
    System(SystemId),
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Issuer::Kernel => f.write_str("kernel"),
            Issuer::System(id) => write!(f, "system:{id}"),
        }
    }
}

/// An unforgeable capability handle.
///
/// Only [`CapabilityTable::mint`](super::CapabilityTable::mint) and
/// [`derive`](super::CapabilityTable::derive) make one: the type has private fields, no
/// public constructor and no `Deserialize`. It names its slot in the table together with
/// the slot's generation and the capability's random id, so a handle outlives neither a
/// revocation (the generation moves on) nor a trip to another table (the id differs).
/// It is bound to its holder: presented by any other system it is denied, so cloning it
/// or passing it around confers nothing — delegation is [`derive`](super::CapabilityTable::derive).
///
/// Clones are cheap (one reference count).
#[derive(Clone)]
pub struct Capability(Arc<Minted>);

/// What a handle records of its capability when it is made.
pub(crate) struct Minted {
    pub(crate) id: CapabilityId,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    pub(crate) holder: SystemId,
    pub(crate) scope: Scope,
    pub(crate) rights: Rights,
    pub(crate) issuer: Issuer,
}

impl Capability {
    pub(crate) fn new(minted: Minted) -> Capability {
        Capability(Arc::new(minted))
    }

    /// The capability's id.
    pub fn id(&self) -> CapabilityId {
        self.0.id
    }

    /// The system that holds it, the only one that may present it.
    pub fn holder(&self) -> &SystemId {
        &self.0.holder
    }

    /// The resources it covers.
    pub fn scope(&self) -> &Scope {
        &self.0.scope
    }

    /// The rights it carries.
    pub fn rights(&self) -> Rights {
        self.0.rights
    }

    /// Who created it.
    pub fn issuer(&self) -> &Issuer {
        &self.0.issuer
    }

    pub(crate) fn slot(&self) -> u32 {
        self.0.slot
    }

    pub(crate) fn generation(&self) -> u32 {
        self.0.generation
    }
}

impl PartialEq for Capability {
    fn eq(&self, other: &Capability) -> bool {
        self.0.id == other.0.id
            && self.0.slot == other.0.slot
            && self.0.generation == other.0.generation
    }
}

impl Eq for Capability {}

impl std::hash::Hash for Capability {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Capability({} {} {} held by {})",
            self.0.id, self.0.scope, self.0.rights, self.0.holder
        )
    }
}

/// What a listing shows of one live capability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapabilityInfo {
    /// The capability's id.
    pub id: CapabilityId,
    /// The system holding it.
    pub holder: SystemId,
    /// Who created it.
    pub issuer: Issuer,
    /// The resources it covers, as a display string (`exec:shell`, `mcp:*`).
    pub scope: String,
    /// Its rights.
    pub rights: Rights,
    /// Its caveats, inherited ones included.
    pub caveats: Caveats,
    /// The capability it was derived from, if any.
    pub parent: Option<CapabilityId>,
    /// How many derivations separate it from a kernel grant (0 for a grant).
    pub depth: u8,
    /// Exercises left before it, or an ancestor, runs out; `None` if unlimited.
    pub uses_left: Option<u32>,
    /// Time left before it expires; `None` if it does not.
    #[serde(rename = "expires_in_ms", with = "millis")]
    pub expires_in: Option<Duration>,
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(left) => s.serialize_some(&(left.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }
}
