//! [`CapabilityActor`]: the actor that holds every CSpace, and the messages it answers.

use std::future::Future;
use std::pin::Pin;

use actix::{
    Actor, ActorFutureExt, ActorResponse, Context, Handler, Message, MessageResponse, WrapFuture,
};
use serde::Serialize;
use tokio::time::Instant;

use super::access::Access;
use super::caveat::Caveats;
use super::error::{Denial, DeriveError, GrantError, RevokeError};
use super::handle::{Capability, CapabilityId, CapabilityInfo};
use super::resource::Scope;
use super::table::{Authority, CapabilityTable, Derivation};
use super::template::Template;
use crate::ids::SystemId;
use crate::rights::Rights;

/// The default mailbox capacity: enough that a burst of pipelined checks queues instead
/// of parking every sender after the sixteenth (actix's default).
pub const DEFAULT_MAILBOX: usize = 4096;

/// Holds the kernel's [`CapabilityTable`] and answers grant, derive, revoke, check and
/// list requests, one at a time, in arrival order.
///
/// Every request is a typed message sent with `send(..).await`: a check answers allowed
/// or the [`Denial`] that explains the refusal. Whoever holds the actor's address holds
/// the kernel's authority to grant, so the kernel keeps it and stamps the presenting
/// system on each request itself.
///
/// Expired capabilities are swept before each request is answered.
///
/// ```
/// use actix::Actor;
/// use exokern_actors::capability::{Access, CapabilityActor, Check, Grant, ResourceRef};
/// use exokern_actors::{Rights, SystemId};
///
/// # actix::System::new().block_on(async {
/// let caps = CapabilityActor::new().start();
/// let agent = SystemId::new("agent-1").unwrap();
/// let cap = caps
///     .send(Grant::new(agent.clone(), "executor:http".parse().unwrap(), Rights::EXECUTE))
///     .await
///     .unwrap()
///     .unwrap();
/// let access = Access::new(ResourceRef::executor("http"), Rights::EXECUTE);
/// let verdict = caps.send(Check::new(agent, cap, access)).await.unwrap();
/// assert_eq!(verdict, Ok(()));
/// # });
/// ```
#[derive(Debug)]
pub struct CapabilityActor {
    table: CapabilityTable,
    mailbox: usize,
}

impl Default for CapabilityActor {
    fn default() -> CapabilityActor {
        CapabilityActor::new()
    }
}

impl CapabilityActor {
    /// An actor with an empty table.
    pub fn new() -> CapabilityActor {
        CapabilityActor::with_table(CapabilityTable::new())
    }

    /// An actor over an existing table.
    pub fn with_table(table: CapabilityTable) -> CapabilityActor {
        CapabilityActor {
            table,
            mailbox: DEFAULT_MAILBOX,
        }
    }

    /// Sets the mailbox capacity (default [`DEFAULT_MAILBOX`]); senders wait when it is full.
    #[must_use]
    pub fn mailbox_capacity(mut self, capacity: usize) -> CapabilityActor {
        self.mailbox = capacity.max(1);
        self
    }

    fn now(&mut self) -> Instant {
        let now = Instant::now();
        self.table.expire(now);
        now
    }

    /// The table, swept of what expired, and the time it was swept at: for the kernel's
    /// desk, whose requests this actor answers in the same step as it checks them.
    pub(crate) fn swept(&mut self) -> (&mut CapabilityTable, Instant) {
        let now = self.now();
        (&mut self.table, now)
    }
}

impl Actor for CapabilityActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

/// Mint a kernel capability for a system. Answers the capability or why none was made.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Capability, GrantError>")]
#[must_use = "a request does nothing until sent"]
pub struct Grant {
    holder: SystemId,
    scope: Scope,
    rights: Rights,
    caveats: Caveats,
}

impl Grant {
    /// `rights` over `scope` for `holder`, without caveats.
    pub fn new(holder: SystemId, scope: Scope, rights: Rights) -> Grant {
        Grant {
            holder,
            scope,
            rights,
            caveats: Caveats::new(),
        }
    }

    /// Attaches caveats.
    pub fn caveats(mut self, caveats: Caveats) -> Grant {
        self.caveats = caveats;
        self
    }
}

impl Handler<Grant> for CapabilityActor {
    type Result = Result<Capability, GrantError>;

    fn handle(&mut self, msg: Grant, _: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        self.table
            .mint(&msg.holder, msg.scope, msg.rights, msg.caveats, now)
    }
}

/// Mint every capability of a template for a system, or none.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Capability>, GrantError>")]
#[must_use = "a request does nothing until sent"]
pub struct GrantTemplate {
    /// The system.
    pub holder: SystemId,
    /// The template.
    pub template: Template,
}

impl Handler<GrantTemplate> for CapabilityActor {
    type Result = Result<Vec<Capability>, GrantError>;

    fn handle(&mut self, msg: GrantTemplate, _: &mut Context<Self>) -> Self::Result {
        self.now();
        self.table.mint_template(&msg.holder, &msg.template)
    }
}

/// Derive a narrower capability from one the presenter holds; see
/// [`CapabilityTable::derive`].
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Capability, DeriveError>")]
#[must_use = "a request does nothing until sent"]
pub struct Derive {
    /// The system presenting the parent.
    pub presenter: SystemId,
    /// The parent capability.
    pub parent: Capability,
    /// What to derive.
    pub request: Derivation,
}

impl Handler<Derive> for CapabilityActor {
    type Result = Result<Capability, DeriveError>;

    fn handle(&mut self, msg: Derive, _: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        self.table
            .derive(&msg.presenter, &msg.parent, msg.request, now)
    }
}

/// Revoke a capability and its whole derivation subtree. Answers how many ended.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<usize, RevokeError>")]
#[must_use = "a request does nothing until sent"]
pub struct Revoke {
    /// Who asks.
    pub authority: Authority,
    /// The capability.
    pub capability: Capability,
}

impl Handler<Revoke> for CapabilityActor {
    type Result = Result<usize, RevokeError>;

    fn handle(&mut self, msg: Revoke, _: &mut Context<Self>) -> Self::Result {
        self.now();
        self.table.revoke(&msg.authority, &msg.capability)
    }
}

/// Revoke everything a system holds, with every subtree. Answers how many ended.
#[derive(Debug, Clone, Message)]
#[rtype(result = "usize")]
#[must_use = "a request does nothing until sent"]
pub struct RevokeAll {
    /// The system.
    pub holder: SystemId,
}

impl Handler<RevokeAll> for CapabilityActor {
    type Result = usize;

    fn handle(&mut self, msg: RevokeAll, _: &mut Context<Self>) -> usize {
        self.now();
        self.table.revoke_all(&msg.holder)
    }
}

/// Check an access made with a presented capability; optionally use it once.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), Denial>")]
#[must_use = "a request does nothing until sent"]
pub struct Check {
    presenter: SystemId,
    capability: Capability,
    access: Access,
    exercise: bool,
}

impl Check {
    /// Does `capability`, presented by `presenter`, allow `access`?
    pub fn new(presenter: SystemId, capability: Capability, access: Access) -> Check {
        Check {
            presenter,
            capability,
            access,
            exercise: false,
        }
    }

    /// Also uses the capability once if the check passes (for use-limited capabilities).
    pub fn exercise(mut self) -> Check {
        self.exercise = true;
        self
    }
}

impl Handler<Check> for CapabilityActor {
    type Result = Result<(), Denial>;

    fn handle(&mut self, msg: Check, _: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        if msg.exercise {
            self.table
                .exercise(&msg.presenter, &msg.capability, &msg.access, now)
        } else {
            self.table
                .check(&msg.presenter, &msg.capability, &msg.access, now)
        }
    }
}

/// Find a capability of a system that allows an access (an ambient check); optionally
/// use it once. Answers the capability that allowed it, or why none did.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Capability, Denial>")]
#[must_use = "a request does nothing until sent"]
pub struct Authorize {
    holder: SystemId,
    access: Access,
    exercise: bool,
}

impl Authorize {
    /// May `holder` make `access` with any capability it holds?
    pub fn new(holder: SystemId, access: Access) -> Authorize {
        Authorize {
            holder,
            access,
            exercise: false,
        }
    }

    /// Also uses the capability found once.
    pub fn exercise(mut self) -> Authorize {
        self.exercise = true;
        self
    }
}

impl Handler<Authorize> for CapabilityActor {
    type Result = Result<Capability, Denial>;

    fn handle(&mut self, msg: Authorize, _: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        if msg.exercise {
            self.table.exercise_any(&msg.holder, &msg.access, now)
        } else {
            self.table.find(&msg.holder, &msg.access, now).cloned()
        }
    }
}

/// List a system's live capabilities.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Vec<CapabilityInfo>")]
#[must_use = "a request does nothing until sent"]
pub struct List {
    /// The system.
    pub holder: SystemId,
}

impl Handler<List> for CapabilityActor {
    type Result = Vec<CapabilityInfo>;

    fn handle(&mut self, msg: List, _: &mut Context<Self>) -> Vec<CapabilityInfo> {
        let now = self.now();
        self.table.list(&msg.holder, now)
    }
}

/// Ask for the table's size.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "CapabilityStats")]
#[must_use = "a request does nothing until sent"]
pub struct Stats;

/// The table's size, as the heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, MessageResponse)]
pub struct CapabilityStats {
    /// Live capabilities.
    pub live: usize,
    /// Systems holding at least one.
    pub holders: usize,
}

impl Handler<Stats> for CapabilityActor {
    type Result = CapabilityStats;

    fn handle(&mut self, _: Stats, _: &mut Context<Self>) -> CapabilityStats {
        self.now();
        CapabilityStats {
            live: self.table.len(),
            holders: self.table.holders(),
        }
    }
}

/// Look up a live capability by id, as a request from outside the process names it. The
/// handle found still authorizes nothing unless presented by its holder.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Option<Capability>")]
#[must_use = "a request does nothing until sent"]
pub struct Resolve {
    /// The capability's id.
    pub id: CapabilityId,
}

impl Handler<Resolve> for CapabilityActor {
    type Result = Option<Capability>;

    fn handle(&mut self, msg: Resolve, _: &mut Context<Self>) -> Option<Capability> {
        let now = self.now();
        let cap = self.table.by_id(msg.id)?.clone();
        self.table.info(&cap, now).map(|_| cap)
    }
}

/// Work the kernel has this actor do on its table, in the actor, so that what it checks
/// and what it changes are one step: a capability request decided by the policy, a
/// derivation, a revocation as a system. It runs at once, or asks to wait for a future
/// (a policy that must wait) and then finishes on the actor, which serves others
/// meanwhile.
pub(crate) trait TableWork: Send + 'static {
    /// What the requester is answered.
    type Output: Send + 'static;

    /// Starts the work on the actor.
    fn run(self, caps: &mut CapabilityActor) -> Step<Self::Output>;
}

/// How a piece of [`TableWork`] goes on.
pub(crate) enum Step<O> {
    /// It is done.
    Done(O),
    /// It waits for the future, then finishes with what the future gives, on the actor.
    After(Pin<Box<dyn Future<Output = Finish<O>>>>),
}

/// The rest of a piece of work, run on the actor once what it waited for has come.
pub(crate) type Finish<O> = Box<dyn FnOnce(&mut CapabilityActor) -> O>;

/// Do `work` on the table. Answers the work's output.
pub(crate) struct OnTable<W>(pub(crate) W);

impl<W: TableWork> Message for OnTable<W> {
    type Result = W::Output;
}

impl<W: TableWork> Handler<OnTable<W>> for CapabilityActor {
    type Result = ActorResponse<Self, W::Output>;

    fn handle(&mut self, msg: OnTable<W>, _: &mut Context<Self>) -> Self::Result {
        match msg.0.run(self) {
            Step::Done(output) => ActorResponse::reply(output),
            Step::After(waiting) => {
                ActorResponse::r#async(waiting.into_actor(self).map(|finish, caps, _| finish(caps)))
            }
        }
    }
}
