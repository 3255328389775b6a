//! Systems: the agents of a constellation, hosted in actix actors.
//!
//! Implement [`System`] for your type (every hook is optional; only the payload type
//! must be named), then spawn it with [`SystemActor::builder`], wiring it to the
//! channels it consumes. The host delivers messages to [`System::on_message`], calls
//! [`System::on_tick`] on an interval or an external clock, acks work items when the
//! hook returns, and catches panics: a panicking system is restarted from its factory
//! under a [`RestartPolicy`], its claimed work items are released for redelivery, and no
//! other actor is affected.
//!
//! ```
//! use exokern_actors::channel::{Broadcast, Inbound, SubscribeOptions};
//! use exokern_actors::system::{System, SystemActor, SystemContext};
//! use exokern_actors::{Rights, SystemId};
//!
//! struct Counter {
//!     seen: u64,
//! }
//!
//! impl System for Counter {
//!     type Message = u64;
//!
//!     fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
//!         self.seen += msg.payload();
//!     }
//! }
//!
//! # actix_rt::System::new().block_on(async {
//! let numbers = Broadcast::<u64>::builder("numbers".parse()?).start()?;
//! let id = SystemId::new("counter")?;
//! let port = numbers.grant(id.clone(), Rights::READ).await?;
//! let counter = SystemActor::builder(id, || Counter { seen: 0 })
//!     .subscribe(port, SubscribeOptions::default())
//!     .spawn()
//!     .await?;
//! assert!(counter.is_running());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod builder;
mod context;
mod error;
mod host;
mod link;
mod restart;
mod rng;
mod status;

pub(crate) use builder::{AgentCommand, AgentControl, SystemControl};
pub use builder::{SystemBuilder, SystemRef, SystemStopped};
pub use context::SystemContext;
pub(crate) use context::{Host, SharedHost};
pub use error::SpawnError;
pub use host::SystemActor;
pub(crate) use host::{panic_message, Factory};
pub use restart::RestartPolicy;
pub use rng::AgentRng;
pub use status::{SystemState, SystemStats};

use crate::channel::{CloseReason, Inbound};

/// What the spawner of a system puts in its host's extension slot, for the hooks.
pub(crate) type Extension = dyn std::any::Any + Send + Sync;
use crate::ids::ChannelId;

/// A system (an agent): state plus hooks, run by a [`SystemActor`].
///
/// Every hook has a default that does nothing; only [`Message`](Self::Message), the
/// payload type of the channels the system consumes, must be named. Hooks are plain
/// `&mut self` methods: they run one at a time, never concurrently, on the host's
/// arbiter. For asynchronous work use [`SystemContext::actix`] to spawn futures.
///
/// A panic in any hook is caught by the host; see [`RestartPolicy`].
pub trait System: Sized + 'static {
    /// The payload type of the channels this system consumes.
    type Message: Send + Sync + 'static;

    /// Called when the system starts, and again on the fresh instance after a restart.
    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let _ = ctx;
    }

    /// Called for every message delivered to the system. A work item is acked when this
    /// returns, unless the hook called [`SystemContext::nack`] or
    /// [`SystemContext::keep`]; if it panics the item is released for redelivery.
    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Self::Message>) {
        let _ = (ctx, msg);
    }

    /// Called on every tick, from the system's tick interval or an external clock.
    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let _ = (ctx, tick);
    }

    /// Called when this system fell behind on a broadcast channel and `missed` messages
    /// were dropped from its buffer.
    fn on_lagged(&mut self, ctx: &mut SystemContext<'_, Self>, channel: &ChannelId, missed: u64) {
        let _ = (ctx, channel, missed);
    }

    /// Called when a channel stops delivering to this system, and why.
    fn on_closed(
        &mut self,
        ctx: &mut SystemContext<'_, Self>,
        channel: &ChannelId,
        reason: CloseReason,
    ) {
        let _ = (ctx, channel, reason);
    }

    /// Called once when the system is stopping for good (not on a restart).
    fn stopping(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let _ = ctx;
    }
}

/// One tick of a system's clock. `n` counts interval boundaries from the first tick (or
/// is set by an external clock); when a system cannot keep up, missed boundaries are
/// skipped rather than delivered in a burst, and `n` jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, actix::Message)]
#[rtype(result = "()")]
pub struct Tick {
    /// The tick's number.
    pub n: u64,
}

impl Tick {
    /// A tick with this number, for an external clock.
    pub fn new(n: u64) -> Tick {
        Tick { n }
    }
}
