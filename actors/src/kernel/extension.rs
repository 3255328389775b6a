//! [`Docking`]: what the kernel puts in a docked system's host, and what the hooks of a
//! docked system reach through their context because of it.

use super::client::KernelClient;
use super::ports::Ports;
use super::vocabulary::Granted;
use crate::system::{System, SystemContext};

/// What a docked system's host holds from the kernel.
#[derive(Debug)]
pub(crate) struct Docking {
    client: KernelClient,
    ports: Ports,
    capabilities: Vec<Granted>,
}

impl Docking {
    pub(crate) fn new(client: KernelClient, ports: Ports, capabilities: Vec<Granted>) -> Docking {
        Docking {
            client,
            ports,
            capabilities,
        }
    }

    /// The capabilities the system was given as it docked.
    pub(crate) fn capabilities(&self) -> &[Granted] {
        &self.capabilities
    }

    /// The system's kernel client.
    pub(crate) fn client(&self) -> &KernelClient {
        &self.client
    }

    /// The system's ports.
    pub(crate) fn ports(&self) -> &Ports {
        &self.ports
    }
}

/// What a hook of a docked system reaches through the kernel's extension of its host.
impl<S: System> SystemContext<'_, S> {
    fn docking(&self) -> Option<&Docking> {
        self.extension()?.downcast_ref()
    }

    /// The kernel client of a docked system: request capabilities, authorize and execute
    /// actions, and (if privileged) govern. `None` for a system spawned outside a kernel.
    pub fn kernel(&self) -> Option<&KernelClient> {
        self.docking().map(Docking::client)
    }

    /// The channel handles a docked system was granted beyond those it consumes (e.g.
    /// channels it publishes to). `None` for a system spawned outside a kernel.
    pub fn ports(&self) -> Option<&Ports> {
        self.docking().map(Docking::ports)
    }

    /// The capabilities a docked system was given as it docked (see
    /// [`Dock::executes`](crate::kernel::Dock::executes)); they are held by this system.
    /// Empty for a system spawned outside a kernel.
    pub fn capabilities(&self) -> &[Granted] {
        self.docking().map_or(&[], Docking::capabilities)
    }
}
