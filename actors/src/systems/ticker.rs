//! `ticker`: publishes a numbered tick to each of its channels at a fixed interval.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::channel::ChannelHandle;
use crate::kernel::{Dock, FrameworkError, ModuleDock, ModuleSpec};
use crate::system::{System, SystemContext, Tick};

/// `ticker`'s settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TickerSettings {
    /// Milliseconds between ticks (default 1,000; at least 1).
    pub every_ms: u64,
    /// Sent with every tick as `payload`, if not `null`.
    pub payload: Value,
}

impl Default for TickerSettings {
    fn default() -> TickerSettings {
        TickerSettings {
            every_ms: 1000,
            payload: Value::Null,
        }
    }
}

struct Ticker {
    payload: Value,
    outputs: Vec<ChannelHandle<Value>>,
}

impl System for Ticker {
    type Message = Value;

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let ports = ctx.ports().expect("a module is docked");
        self.outputs = ports
            .channels()
            .filter_map(|channel| ports.channel::<Value>(channel).ok())
            .filter(|handle| !handle.channel().is_reserved())
            .collect();
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let mut msg = json!({ "tick": tick.n });
        if !self.payload.is_null() {
            msg["payload"] = self.payload.clone();
        }
        for output in &self.outputs {
            let (output, msg) = (output.clone(), msg.clone());
            ctx.spawn(async move {
                let sent = match &output {
                    ChannelHandle::Broadcast(out) => out.publish(msg).await,
                    ChannelHandle::WorkQueue(out) => out.send(msg).await,
                    ChannelHandle::Mailbox(_) => return,
                };
                if let Err(error) = sent {
                    tracing::warn!(channel = %output.channel(), %error, "a tick was not sent");
                }
            });
        }
    }
}

/// The `ticker` framework: one or more channels (broadcasts or work queues of JSON),
/// each sent `{"tick": n, "payload": …}` every `every_ms`.
pub fn ticker(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    spec.channel_count(1, usize::MAX)?;
    let settings: TickerSettings = spec.settings()?;
    if settings.every_ms == 0 {
        return Err(FrameworkError::new(
            "settings: `every_ms` must be at least 1",
        ));
    }
    let payload = settings.payload;
    let dock = Dock::new(spec.id.clone(), move || Ticker {
        payload: payload.clone(),
        outputs: Vec::new(),
    })
    .tick_every(Duration::from_millis(settings.every_ms));
    let dock = spec.channels.iter().cloned().fold(dock, Dock::sends);
    Ok(ModuleDock::new(dock))
}
