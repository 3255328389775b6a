//! [`Ports`]: the channel handles a docked system was granted, and who may see a
//! channel from outside the process ([`Visibility`]).

use std::any::Any;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::audit::AuditRecord;
use super::{APPROVALS, AUDIT, HEARTBEAT};
use crate::channel::{BroadcastHandle, ChannelHandle, MailboxHandle, WorkQueueHandle};
use crate::ids::ChannelId;
use crate::protocol::{ApprovalEvent, Heartbeat};

/// Who may see a channel from outside the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only docked systems granted it.
    #[default]
    Private,
    /// Also served over HTTP to authenticated remote systems.
    Public,
}

impl Visibility {
    /// The config's word for it: `private` or `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
        }
    }
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a port cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The system was not granted the channel.
    #[error("no port for channel `{channel}`: dock the system with it (`Dock::publish` or a consuming link)")]
    NotGranted {
        /// The channel.
        channel: ChannelId,
    },
    /// The channel is of another kind or carries another payload type.
    #[error("channel `{channel}` is a {actual}, not a {asked}")]
    WrongType {
        /// The channel.
        channel: ChannelId,
        /// What was asked for.
        asked: String,
        /// What it is.
        actual: String,
    },
}

/// A granted handle, type-erased, with its description for error messages
/// (unnameable outside the crate).
pub struct Port {
    pub(crate) handle: Box<dyn Any + Send + Sync>,
    pub(crate) describes: String,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describes)
    }
}

/// The channel handles a docked system holds beyond the channels it consumes: look one
/// up by id and payload type.
///
/// ```no_run
/// # use exokern_actors::kernel::Ports;
/// # fn f(ports: &Ports) -> Result<(), Box<dyn std::error::Error>> {
/// let events = ports.broadcast::<String>(&"events".parse()?)?;
/// # let _ = events; Ok(()) }
/// ```
#[derive(Default)]
pub struct Ports {
    ports: FxHashMap<ChannelId, (Port, Visibility)>,
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ports.keys()).finish()
    }
}

impl Ports {
    pub(crate) fn insert(&mut self, channel: ChannelId, port: Port, visibility: Visibility) {
        self.ports.insert(channel, (port, visibility));
    }

    /// The visibility of `channel`, if there is a port for it.
    pub fn visibility(&self, channel: &ChannelId) -> Option<Visibility> {
        self.ports.get(channel).map(|(_, visibility)| *visibility)
    }

    fn get<H: Clone + 'static>(&self, channel: &ChannelId, asked: String) -> Result<H, PortError> {
        let (port, _) = self
            .ports
            .get(channel)
            .ok_or_else(|| PortError::NotGranted {
                channel: channel.clone(),
            })?;
        port.handle
            .downcast_ref::<H>()
            .cloned()
            .ok_or_else(|| PortError::WrongType {
                channel: channel.clone(),
                asked,
                actual: port.describes.clone(),
            })
    }

    /// The handle on broadcast channel `channel`.
    pub fn broadcast<T: Send + Sync + 'static>(
        &self,
        channel: &ChannelId,
    ) -> Result<BroadcastHandle<T>, PortError> {
        self.get(channel, describe("broadcast", std::any::type_name::<T>()))
    }

    /// The handle on work queue `channel`.
    pub fn work_queue<T: Send + Sync + 'static>(
        &self,
        channel: &ChannelId,
    ) -> Result<WorkQueueHandle<T>, PortError> {
        self.get(channel, describe("work queue", std::any::type_name::<T>()))
    }

    /// The handle on mailbox `channel`.
    pub fn mailbox<T: Send + Sync + 'static>(
        &self,
        channel: &ChannelId,
    ) -> Result<MailboxHandle<T>, PortError> {
        self.get(channel, describe("mailbox", std::any::type_name::<T>()))
    }

    /// The handle on `channel`, whatever its kind, carrying `T`.
    pub fn channel<T: Send + Sync + 'static>(
        &self,
        channel: &ChannelId,
    ) -> Result<ChannelHandle<T>, PortError> {
        let broadcast = self.broadcast::<T>(channel).map(ChannelHandle::Broadcast);
        let queue = || self.work_queue::<T>(channel).map(ChannelHandle::WorkQueue);
        let mailbox = || self.mailbox::<T>(channel).map(ChannelHandle::Mailbox);
        match broadcast.or_else(|_| queue()).or_else(|_| mailbox()) {
            Err(PortError::WrongType {
                channel, actual, ..
            }) => Err(PortError::WrongType {
                channel,
                asked: format!("channel of {}", std::any::type_name::<T>()),
                actual,
            }),
            found => found,
        }
    }

    /// The READ handle on `kernel.heartbeat` every docked system holds.
    pub fn heartbeat(&self) -> Result<BroadcastHandle<Heartbeat>, PortError> {
        self.broadcast(&ChannelId::kernel(HEARTBEAT))
    }

    /// The READ handle on `kernel.approvals`, held by privileged systems only.
    pub fn approvals(&self) -> Result<BroadcastHandle<ApprovalEvent>, PortError> {
        self.broadcast(&ChannelId::kernel(APPROVALS))
    }

    /// The READ handle on `kernel.audit`, held by privileged systems only.
    pub fn audit(&self) -> Result<BroadcastHandle<AuditRecord>, PortError> {
        self.broadcast(&ChannelId::kernel(AUDIT))
    }

    /// The channels there are ports for.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelId> {
        self.ports.keys()
    }
}

pub(crate) fn describe(kind: &str, payload: &str) -> String {
    // Config files declare JSON channels: say it in their word.
    let payload = match payload {
        "serde_json::value::Value" => "json",
        payload => payload,
    };
    format!("{kind} of {payload}")
}
