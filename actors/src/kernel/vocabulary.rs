//! The kernel's vocabulary: the words its managers and the clients of docked systems
//! share — who is asking ([`Member`], [`Caller`]), the checks every request starts with
//! ([`require_running`], [`require_privileged`]), an outcome with the rule that decided
//! it ([`Ruled`]) and a capability granted ([`Granted`]). It imports no other part of
//! the kernel but its states, errors and audit clock, so that every manager can.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use async_lock::Semaphore;
use tokio::time::Instant;

use super::audit::wall_clock;
use super::error::GovernanceError;
use super::state::LifecycleState;
use crate::capability::Capability;
use crate::ids::SystemId;
use crate::protocol::GrantInfo;

/// A docked system's identity and state as the kernel's managers see it: created at dock,
/// shared by the kernel and the system's client, changed only by the kernel.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: SystemId,
    pub(crate) privileged: bool,
    state: AtomicU8,
    /// Governance requests the system may have in the kernel at once: a system that
    /// floods the kernel waits for its own answers, and everyone else's requests queue
    /// behind at most this many of its own.
    pub(crate) in_flight: Semaphore,
}

impl Member {
    pub(crate) fn new(id: SystemId, privileged: bool, max_in_flight: usize) -> Member {
        Member {
            id,
            privileged,
            state: AtomicU8::new(LifecycleState::Docked as u8),
            in_flight: Semaphore::new(max_in_flight),
        }
    }

    pub(crate) fn state(&self) -> LifecycleState {
        LifecycleState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn set_state(&self, state: LifecycleState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves from `from` to `to` if still in `from`; answers whether it did.
    pub(crate) fn transition(&self, from: LifecycleState, to: LifecycleState) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// The caller of a governance request: the member record the kernel made at dock, so
/// identity and state come from the kernel, never from the request.
pub(crate) type Caller = Arc<Member>;

/// An outcome with the policy rule that decided it, kept on both sides for the audit log.
pub(crate) type Ruled<T> = Result<(T, Option<Arc<str>>), (GovernanceError, Option<Arc<str>>)>;

pub(crate) fn require_running(caller: &Member) -> Result<(), GovernanceError> {
    match caller.state() {
        LifecycleState::Running => Ok(()),
        state => Err(GovernanceError::NotRunning {
            system: caller.id.clone(),
            state,
        }),
    }
}

/// A running, privileged caller; `what` names the request for the error.
pub(crate) fn require_privileged(
    caller: &Member,
    what: &'static str,
) -> Result<(), GovernanceError> {
    require_running(caller)?;
    if caller.privileged {
        return Ok(());
    }
    Err(GovernanceError::NotPrivileged {
        system: caller.id.clone(),
        what,
    })
}

/// A capability the kernel granted, and when it expires.
#[derive(Debug, Clone)]
pub struct Granted {
    /// The capability handle; present it to the gate or derive from it.
    pub capability: Capability,
    expires: Option<Instant>,
}

impl Granted {
    pub(crate) fn new(capability: Capability, expires: Option<Instant>) -> Granted {
        Granted {
            capability,
            expires,
        }
    }

    /// When it expires, if it does.
    pub fn expires(&self) -> Option<Instant> {
        self.expires
    }

    /// What a wire reply says of it: id, scope, rights, and expiry in wall-clock time.
    /// Made on demand, as only replies that leave the process need the text.
    pub fn info(&self) -> GrantInfo {
        let now = Instant::now();
        let cap = &self.capability;
        GrantInfo {
            capability: cap.id(),
            resource: cap.scope().to_string(),
            rights: cap.rights(),
            expires: self
                .expires
                .map(|at| wall_clock() + at.saturating_duration_since(now).as_secs_f64()),
        }
    }
}
