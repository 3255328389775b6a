//! `echo`: answers every request in its inbox with the request's own payload.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::Inbound;
use crate::kernel::{Dock, FrameworkError, ModuleDock, ModuleSpec};
use crate::system::{System, SystemContext};

/// `echo` takes no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoSettings {}

struct Echo;

impl System for Echo {
    type Message = Value;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, mut msg: Inbound<Value>) {
        if !msg.is_request() {
            return;
        }
        let payload = msg.payload().clone();
        if let Err(error) = ctx.reply(&mut msg, payload) {
            tracing::debug!(system = %ctx.id(), %error, "an echo was not delivered");
        }
    }
}

/// The `echo` framework: exactly one channel, a mailbox of JSON whose inbox the module
/// reads; each request is answered with its payload.
pub fn echo(spec: &ModuleSpec) -> Result<ModuleDock, FrameworkError> {
    spec.channel_count(1, 1)?;
    let EchoSettings {} = spec.settings()?;
    let dock = Dock::new(spec.id.clone(), || Echo).inbox(spec.channels[0].clone());
    Ok(ModuleDock::new(dock))
}
