//! The names most programs need: `use exokern_actors::prelude::*;`.

pub use crate::capability::{
    Access, Capability, CapabilityActor, CapabilityTable, Caveats, ResourceRef, Scope, Template,
};
pub use crate::channel::{
    Broadcast, BroadcastHandle, ChannelControl, ChannelError, ClaimToken, Delivery, Inbound,
    Mailbox, MailboxHandle, Overflow, RecvError, StartAt, SubscribeOptions, Subscription,
    WorkQueue, WorkQueueHandle, WorkerOptions,
};
pub use crate::envelope::{Envelope, Outgoing};
pub use crate::ids::{ChannelId, MessageId, Seq, SystemId};
pub use crate::placement::{ArbiterPool, Placement};
pub use crate::rights::Rights;
pub use crate::simulation::{Simulation, SimulationError};
pub use crate::system::{
    AgentRng, RestartPolicy, System, SystemActor, SystemContext, SystemRef, Tick,
};
