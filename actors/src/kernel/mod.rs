//! The kernel: docks systems into a governed constellation, issues and revokes
//! capabilities under a policy, gates actions, and manages lifecycles.
//!
//! [`Kernel::builder`] starts the managers on one arbiter — the kernel actor (the
//! constellation: docked systems and channels), the
//! [`CapabilityActor`](crate::capability::CapabilityActor) (the CSpaces, and the desk
//! that decides capability requests), the action gate, the lifecycle manager and the
//! module loader — and returns a [`KernelHandle`]. A system docks with a [`Dock`]; inside it, its
//! [`KernelClient`] (from [`SystemContext::kernel`](crate::system::SystemContext::kernel))
//! makes governance requests. Identity always comes from the client the kernel made for
//! the system, never from a request.

mod actor;
mod agents;
mod audit;
mod builder;
mod channels;
mod client;
mod desk;
mod dock;
mod docking;
mod error;
mod extension;
mod gate;
mod handle;
mod heartbeat;
mod lifecycle;
mod loader;
mod loads;
mod modules;
mod ports;
mod preflight;
mod remote;
mod state;
mod undock;
mod vocabulary;
mod wire;

use std::time::Duration;

pub(crate) use agents::AgentLine;
pub use audit::{AuditRecord, AuditSink};
pub use builder::{Kernel, KernelBuilder};
pub use channels::KernelChannel;
pub use client::KernelClient;
pub use dock::Dock;
pub use error::{DockError, GovernanceError, KernelError, KernelStopped, UndockError, Unrecorded};
pub(crate) use extension::Docking;
pub use gate::{Approval, ApprovedAction, Executor, ExecutorFuture};
pub use handle::KernelHandle;
pub use heartbeat::DEFAULT_HEARTBEAT_INTERVAL;
pub use lifecycle::DEFAULT_DRAIN_TIMEOUT;
pub use loads::{ModuleInfo, ModuleLoaded};
pub use modules::{Framework, FrameworkError, ModuleDock, ModuleSpec};
pub use ports::{PortError, Ports, Visibility};
pub use preflight::Preflight;
pub use remote::{RemoteDock, RemoteSystem};
pub use state::LifecycleState;
pub use undock::{ChannelEntryInfo, Snapshot, SystemEntry};
pub use vocabulary::Granted;

/// The names of the kernel's channels, in the reserved `kernel.` namespace.
pub(crate) const HEARTBEAT: &str = "heartbeat";
pub(crate) const APPROVALS: &str = "approvals";
pub(crate) const AUDIT: &str = "audit";

/// The kernel's time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) default_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) approval_timeout: Duration,
    pub(crate) client_timeout: Duration,
    pub(crate) max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            default_ttl: Duration::from_secs(3600),
            max_ttl: Duration::from_secs(24 * 3600),
            approval_timeout: Duration::from_secs(300),
            client_timeout: Duration::from_secs(600),
            max_in_flight: 1024,
        }
    }
}
