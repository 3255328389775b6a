//! The mailbox inside its actor: the control plane. Inboxes come and go with READ
//! grants; revocation and stopping close them; stats read them. Messages themselves go
//! from handles straight into inboxes (see [`MailboxShared`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::channel::access::ChannelAccess;
use crate::channel::actor::{Core, Kind};
use crate::channel::outlet::Outlet;
use crate::channel::room::Room;
use crate::channel::{ChannelKind, ChannelState, ChannelStats, CloseReason};
use crate::ids::SystemId;
use crate::rights::Rights;

use super::MailboxShared;

pub(crate) struct MailboxState<T: Send + Sync + 'static> {
    pub(super) shared: Arc<MailboxShared<T>>,
}

/// Closes an inbox for good: what it held is dropped, and senders waiting for room in
/// it are told the recipient is gone.
fn close_inbox<T: Send + Sync + 'static>(inbox: &Arc<Outlet<T>>, reason: CloseReason) -> usize {
    let dropped = inbox.detach();
    inbox.close(reason);
    if let Some(room) = inbox.credits() {
        room.close();
    }
    dropped
}

impl<T: Send + Sync + 'static> Kind for MailboxState<T> {
    const KIND: ChannelKind = ChannelKind::Mailbox;
    const DRAINS_THROUGH_OUTLETS: bool = true;
    type GrantExtra = Option<Arc<Outlet<T>>>;

    fn granted(&mut self, core: &Core, grant: &Arc<ChannelAccess>) -> Option<Arc<Outlet<T>>> {
        let holder = grant.holder();
        let mut inboxes = self.shared.inboxes_mut();
        if !grant.rights().contains(Rights::READ) {
            if let Some(inbox) = inboxes.remove(holder) {
                close_inbox(&inbox, CloseReason::Revoked);
            }
            return None;
        }
        let inbox = inboxes.entry(holder.clone()).or_insert_with(|| {
            let room = Room::new(core.capacity);
            Outlet::pull(
                core.id.clone(),
                core.capacity,
                None,
                Some(room),
                Arc::clone(&core.drain),
            )
        });
        Some(Arc::clone(inbox))
    }

    fn revoked(&mut self, core: &mut Core, holder: &SystemId) {
        let removed = self.shared.inboxes_mut().remove(holder);
        if let Some(inbox) = removed {
            core.counters.dropped += close_inbox(&inbox, CloseReason::Revoked) as u64;
        }
    }

    fn pending(&self) -> u64 {
        self.shared.backlog().0
    }

    fn close(&mut self, _: &mut Core) -> u64 {
        let undelivered = self.pending();
        for (_, inbox) in self.shared.inboxes_mut().drain() {
            // Recipients still take what their inboxes hold.
            inbox.close(CloseReason::ChannelStopped);
            if let Some(room) = inbox.credits() {
                room.close();
            }
        }
        undelivered
    }

    fn fill_stats(&self, stats: &mut ChannelStats) {
        let (depth, lag, inboxes) = self.shared.backlog();
        let delivered = self.shared.delivered();
        stats.depth = depth;
        stats.lag = lag;
        stats.consumers = inboxes;
        stats.accepted += delivered;
        stats.delivered += delivered;
        stats.dropped += self.shared.dropped.load(Ordering::Relaxed);
    }

    fn entered(&mut self, state: ChannelState) {
        self.shared.set_state(state);
    }
}
