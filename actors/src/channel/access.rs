//! Grants and the per-channel access list.
//!
//! A holder's handles share one [`ChannelAccess`]. The channel keeps the live grants in its
//! [`AccessList`] and checks the grant presented with every operation against it; the
//! handle checks the same grant before sending, so a revoked or under-privileged caller
//! fails fast without a round trip. Revoking flips the grant dead for good: a later
//! grant to the same holder is a new grant, and old handles stay dead.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::channel::ChannelError;
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;

/// One holder's access to one channel.
#[derive(Debug)]
pub(crate) struct ChannelAccess {
    channel: ChannelId,
    holder: SystemId,
    rights: AtomicU8,
    live: AtomicBool,
}

impl ChannelAccess {
    pub(crate) fn holder(&self) -> &SystemId {
        &self.holder
    }

    pub(crate) fn channel(&self) -> &ChannelId {
        &self.channel
    }

    pub(crate) fn rights(&self) -> Rights {
        Rights::from_bits(self.rights.load(Ordering::Acquire)).unwrap_or(Rights::NONE)
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// `Ok` if the grant is live and holds `needed`.
    pub(crate) fn check(&self, needed: Rights) -> Result<(), ChannelError> {
        if !self.is_live() {
            return Err(ChannelError::Revoked {
                channel: self.channel.clone(),
                holder: self.holder.clone(),
            });
        }
        let held = self.rights();
        if !held.contains(needed) {
            return Err(ChannelError::MissingRights {
                channel: self.channel.clone(),
                holder: self.holder.clone(),
                needed: needed.difference(held),
                held,
            });
        }
        Ok(())
    }
}

/// The live grants of one channel, owned by the channel's actor.
#[derive(Debug, Default)]
pub(crate) struct AccessList {
    grants: FxHashMap<SystemId, Arc<ChannelAccess>>,
}

impl AccessList {
    /// Grants `rights` to `holder`. A holder that already has a live grant keeps it, with
    /// its rights replaced, so its existing handles follow the new rights.
    pub(crate) fn grant(
        &mut self,
        channel: &ChannelId,
        holder: SystemId,
        rights: Rights,
    ) -> Arc<ChannelAccess> {
        let grant = self.grants.entry(holder.clone()).or_insert_with(|| {
            Arc::new(ChannelAccess {
                channel: channel.clone(),
                holder,
                rights: AtomicU8::new(rights.bits()),
                live: AtomicBool::new(true),
            })
        });
        grant.rights.store(rights.bits(), Ordering::Release);
        Arc::clone(grant)
    }

    /// Revokes `holder`'s grant, if it has one; its handles fail from now on.
    pub(crate) fn revoke(&mut self, holder: &SystemId) -> Option<Arc<ChannelAccess>> {
        let grant = self.grants.remove(holder)?;
        grant.live.store(false, Ordering::Release);
        Some(grant)
    }

    /// The channel-side check of every operation: the presented grant must be the one
    /// this list holds for its holder, live, with `needed` rights.
    pub(crate) fn check(
        &self,
        grant: &Arc<ChannelAccess>,
        needed: Rights,
    ) -> Result<(), ChannelError> {
        match self.grants.get(grant.holder()) {
            Some(current) if Arc::ptr_eq(current, grant) => grant.check(needed),
            _ => Err(ChannelError::Revoked {
                channel: grant.channel.clone(),
                holder: grant.holder.clone(),
            }),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.grants.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (ChannelId, SystemId) {
        (
            ChannelId::new("c").unwrap(),
            SystemId::new("alice").unwrap(),
        )
    }

    #[test]
    fn revoked_grants_stay_dead_after_a_new_grant() {
        let (channel, alice) = ids();
        let mut access = AccessList::default();
        let first = access.grant(&channel, alice.clone(), Rights::READ);
        assert!(access.check(&first, Rights::READ).is_ok());
        access.revoke(&alice).unwrap();
        assert!(matches!(
            access.check(&first, Rights::READ),
            Err(ChannelError::Revoked { .. })
        ));
        let second = access.grant(&channel, alice, Rights::READ);
        assert!(access.check(&second, Rights::READ).is_ok());
        assert!(matches!(
            access.check(&first, Rights::READ),
            Err(ChannelError::Revoked { .. })
        ));
        assert!(first.check(Rights::READ).is_err());
    }

    #[test]
    fn regranting_a_live_holder_changes_the_rights_of_its_handles() {
        let (channel, alice) = ids();
        let mut access = AccessList::default();
        let grant = access.grant(&channel, alice.clone(), Rights::READ | Rights::WRITE);
        let again = access.grant(&channel, alice, Rights::READ);
        assert!(Arc::ptr_eq(&grant, &again));
        match access.check(&grant, Rights::WRITE) {
            Err(ChannelError::MissingRights { needed, held, .. }) => {
                assert_eq!((needed, held), (Rights::WRITE, Rights::READ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grant_from_another_list_is_not_accepted() {
        let (channel, alice) = ids();
        let mut mine = AccessList::default();
        let mut other = AccessList::default();
        mine.grant(&channel, alice.clone(), Rights::ALL);
        let foreign = other.grant(&channel, alice, Rights::ALL);
        assert!(mine.check(&foreign, Rights::READ).is_err());
    }
}
