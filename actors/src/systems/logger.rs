//! `logger`: logs every message of the broadcasts it subscribes to, through `tracing`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::{Inbound, SubscribeOptions};
use crate::ids::ChannelId;
use crate::kernel::{Dock, FrameworkError, ModuleDock, ModuleSpec};
use crate::system::{System, SystemContext};

/// The level `logger` logs at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    #[default]
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

/// `logger`'s settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggerSettings {
    /// The level (default `info`).
    pub level: LogLevel,
}

struct Logger {
    level: LogLevel,
    seen: u64,
}

macro_rules! log_at {
    ($level:expr, $($field:tt)*) => {
        match $level {
            LogLevel::Trace => tracing::trace!($($field)*),
            LogLevel::Debug => tracing::debug!($($field)*),
            LogLevel::Info => tracing::info!($($field)*),
            LogLevel::Warn => tracing::warn!($($field)*),
            LogLevel::Error => tracing::error!($($field)*),
        }
    };
}

impl System for Logger {
    type Message = Value;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Value>) {
        self.seen += 1;
        log_at!(
            self.level,
            system = %ctx.id(),
            channel = %msg.channel(),
            seq = %msg.seq(),
            sender = %msg.sender(),
            seen = self.seen,
            payload = %msg.payload(),
            "message"
        );
    }

    fn on_lagged(&mut self, ctx: &mut SystemContext<'_, Self>, channel: &ChannelId, missed: u64) {
        tracing::warn!(system = %ctx.id(), %channel, missed, "logger fell behind");
    }
}

/// The `logger` framework: one or more broadcasts of JSON, every message logged with
/// its channel, seq, sender and payload.
pub fn logger(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    spec.channel_count(1, usize::MAX)?;
    let settings: LoggerSettings = spec.settings()?;
    let dock = Dock::new(spec.id.clone(), move || Logger {
        level: settings.level,
        seen: 0,
    });
    let dock = spec.channels.iter().fold(dock, |dock, channel| {
        dock.subscribe(channel.clone(), SubscribeOptions::default())
    });
    Ok(ModuleDock::new(dock))
}
