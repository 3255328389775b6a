//! [`Desk`]: the raw-actix baseline of governance: a rule check and a hash map.

use actix::prelude::*;
use rustc_hash::FxHashMap;
use uuid::Uuid;

use super::governance::CSPACE_CHUNK;
use crate::capability::Scope;
use crate::{Rights, SystemId};

/// A plain actix actor doing the bare bookkeeping of a capability desk: it grants only
/// the scopes it allows, records each grant under a random id in a hash map (cleared
/// before it outgrows a CSpace, as the exokern side's CSpace is), and answers whether
/// a holder has rights under a grant. The baseline of grants, checks and approvals.
#[derive(Debug)]
pub struct Desk {
    allowed: Vec<Scope>,
    grants: FxHashMap<Uuid, (SystemId, Scope, Rights)>,
    mailbox: usize,
}

impl Desk {
    /// A desk that grants these scopes, with actix's default mailbox capacity.
    pub fn allowing(allowed: Vec<Scope>) -> Desk {
        Desk {
            allowed,
            grants: FxHashMap::default(),
            mailbox: 16,
        }
    }

    /// Sets the capacity of its mailbox (for many requests in flight).
    #[must_use]
    pub fn mailbox(mut self, capacity: usize) -> Desk {
        self.mailbox = capacity;
        self
    }
}

impl Actor for Desk {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

/// Grant `rights` over a scope to a holder: the grant's id, or `None` if the scope is
/// not allowed.
#[derive(Debug, Message)]
#[rtype(result = "Option<Uuid>")]
pub struct RawGrant(pub SystemId, pub Scope, pub Rights);

impl Handler<RawGrant> for Desk {
    type Result = Option<Uuid>;

    fn handle(
        &mut self,
        RawGrant(holder, scope, rights): RawGrant,
        _: &mut Context<Self>,
    ) -> Self::Result {
        if !self.allowed.contains(&scope) {
            return None;
        }
        if self.grants.len() as u64 >= CSPACE_CHUNK {
            self.grants.clear();
        }
        let id = Uuid::new_v4();
        self.grants.insert(id, (holder, scope, rights));
        Some(id)
    }
}

/// Whether a holder has `rights` under the grant with this id.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct RawCheck(pub SystemId, pub Uuid, pub Rights);

impl Handler<RawCheck> for Desk {
    type Result = bool;

    fn handle(&mut self, RawCheck(holder, id, rights): RawCheck, _: &mut Context<Self>) -> bool {
        self.grants
            .get(&id)
            .is_some_and(|(h, _, held)| *h == holder && held.contains(rights))
    }
}
