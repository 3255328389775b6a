//! Remote systems: systems whose body lives outside the process (an HTTP client, a
//! process on another machine) and that act through the handles the kernel gave them.
//!
//! A remote system docks like any other — atomically, with its channel grants, its
//! privilege and its initial capabilities — but nothing runs inside the kernel for it:
//! whoever serves the remote (exokern's HTTP surface, say) holds the [`RemoteSystem`]
//! and uses its ports and kernel client on the remote's behalf. The kernel tracks it as
//! a member like any other: lifecycle commands, revocation and undock apply to it.

use std::fmt;
use std::sync::Arc;

use super::client::KernelClient;
use super::dock::Dock;
use super::extension::Docking;
use super::ports::Ports;
use super::state::LifecycleState;
use super::vocabulary::Granted;
use crate::ids::{ChannelId, SystemId};
use crate::rights::Rights;
use crate::system::{System, SystemRef};

/// How a remote system docks: its id, the channels it is granted and with which rights,
/// the executors it starts with capabilities on, and whether it is privileged.
///
/// ```
/// use exokern_actors::kernel::RemoteDock;
/// use exokern_actors::Rights;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dock = RemoteDock::new("dashboard".parse()?)
///     .channel("events".parse()?, Rights::READ | Rights::WRITE)
///     .executes("http");
/// # let _ = dock; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a remote dock does nothing until passed to `KernelHandle::dock_remote`"]
pub struct RemoteDock {
    id: SystemId,
    channels: Vec<(ChannelId, Rights)>,
    executes: Vec<Arc<str>>,
    privileged: bool,
}

impl RemoteDock {
    /// Docks remote system `id`, with no channels yet.
    pub fn new(id: SystemId) -> RemoteDock {
        RemoteDock {
            id,
            channels: Vec::new(),
            executes: Vec::new(),
            privileged: false,
        }
    }

    /// Grants `rights` on `channel` (a channel of any kind and payload type).
    pub fn channel(mut self, channel: ChannelId, rights: Rights) -> RemoteDock {
        self.channels.push((channel, rights));
        self
    }

    /// Starts with an EXECUTE capability on `executor:<executor>`, through the
    /// capability policy; a refusal refuses the dock.
    pub fn executes(mut self, executor: impl Into<Arc<str>>) -> RemoteDock {
        self.executes.push(executor.into());
        self
    }

    /// Docks privileged: lifecycle, module and approval requests are allowed, and the
    /// remote reads `kernel.approvals` and `kernel.audit`.
    pub fn privileged(mut self) -> RemoteDock {
        self.privileged = true;
        self
    }

    /// The system's id.
    pub fn id(&self) -> &SystemId {
        &self.id
    }

    /// The executors it is to start with a capability on.
    pub fn executors(&self) -> impl Iterator<Item = &str> {
        self.executes.iter().map(|e| &**e)
    }

    pub(crate) fn into_dock(self) -> Dock<Remote> {
        let mut dock = Dock::new(self.id, || Remote);
        for (channel, rights) in self.channels {
            dock = dock.port(channel, rights);
        }
        for executor in self.executes {
            dock = dock.executes(executor);
        }
        if self.privileged {
            dock = dock.privileged();
        }
        dock
    }
}

/// The in-kernel placeholder of a remote system: it consumes nothing and runs no hooks,
/// so that lifecycle commands and undock have an actor to stop.
#[derive(Debug)]
pub(crate) struct Remote;

impl System for Remote {
    type Message = ();
}

/// A docked remote system: the ports and kernel client the remote acts through. Cheap to
/// clone; hand it only to the code that serves this remote, since whoever holds it acts
/// as the system.
#[derive(Clone)]
pub struct RemoteSystem {
    docking: Arc<Docking>,
    system: SystemRef<Remote>,
}

impl fmt::Debug for RemoteSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSystem")
            .field("id", self.id())
            .field("state", &self.state())
            .field("ports", self.ports())
            .finish()
    }
}

impl RemoteSystem {
    pub(crate) fn new(docking: Arc<Docking>, system: SystemRef<Remote>) -> RemoteSystem {
        RemoteSystem { docking, system }
    }

    /// The system's id.
    pub fn id(&self) -> &SystemId {
        self.system.id()
    }

    /// Its lifecycle state, as the kernel sees it: [`LifecycleState::Stopped`] once
    /// undocked.
    pub fn state(&self) -> LifecycleState {
        self.docking.client().state()
    }

    /// `true` while the system is docked (whatever its lifecycle state).
    pub fn is_docked(&self) -> bool {
        self.system.is_running() && self.state() != LifecycleState::Stopped
    }

    /// The kernel client its governance requests go through.
    pub fn client(&self) -> &KernelClient {
        self.docking.client()
    }

    /// The channel handles it was granted (and the kernel channels of its tier).
    pub fn ports(&self) -> &Ports {
        self.docking.ports()
    }

    /// The capabilities it was given as it docked.
    pub fn capabilities(&self) -> &[Granted] {
        self.docking.capabilities()
    }
}
