//! [`Delivery`]: the actix message that hands a push consumer its waiting items.

use std::fmt;
use std::sync::Arc;

use actix::Message;

use crate::channel::outlet::{Next, Outlet};
use crate::channel::{CloseReason, Inbound};
use crate::ids::ChannelId;
/// The message a channel sends to a push consumer (any actix actor that handles it) when
/// items are waiting for it. Iterate it to take them.
///
/// One `Delivery` stands for a batch: the channel sends the next one only after this one
/// has been iterated to the end. A delivery yields at most one buffer's worth of items
/// (plus the one it may carry itself) and then schedules another, so a fast producer on
/// another thread cannot monopolise the consumer's mailbox. Dropping a delivery early
/// leaves the rest buffered for the next.
///
/// ```
/// use actix::{Actor, Context, Handler};
/// use exokern_actors::channel::Delivery;
///
/// struct Printer;
/// impl Actor for Printer {
///     type Context = Context<Self>;
/// }
/// impl Handler<Delivery<String>> for Printer {
///     type Result = ();
///     fn handle(&mut self, delivery: Delivery<String>, _: &mut Context<Self>) {
///         let channel = delivery.channel().clone();
///         for msg in delivery {
///             println!("{channel} #{}: {}", msg.seq(), msg.payload());
///         }
///     }
/// }
/// ```
pub struct Delivery<T: Send + Sync + 'static> {
    outlet: Arc<Outlet<T>>,
    /// An item handed over with the notice, when the consumer was idle.
    inline: Option<Inbound<T>>,
    budget: u32,
    lagged: u32,
    closed: Option<CloseReason>,
    finished: bool,
}

impl<T: Send + Sync + 'static> Delivery<T> {
    pub(super) fn new(
        outlet: Arc<Outlet<T>>,
        budget: u32,
        inline: Option<Inbound<T>>,
    ) -> Delivery<T> {
        Delivery {
            outlet,
            inline,
            budget: budget.max(1),
            lagged: 0,
            closed: None,
            finished: false,
        }
    }

    /// The channel the items come from.
    pub fn channel(&self) -> &ChannelId {
        self.outlet.channel()
    }

    /// How many messages this consumer missed so far in this delivery because its buffer
    /// overflowed (broadcast subscriptions with
    /// [`Overflow::DropOldest`](crate::channel::Overflow::DropOldest)).
    pub fn lagged(&self) -> u64 {
        u64::from(self.lagged)
    }

    /// Set once iteration has reached the end of a closed stream: nothing more will come.
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed
    }

    /// Drops a notice that never reached its consumer, with the item it carried,
    /// without touching the outlet (whose lock the caller holds).
    pub(super) fn disarm(mut self) {
        self.finished = true;
        self.inline = None;
    }

    /// Takes everything still waiting for this consumer, ignoring the budget: for a
    /// consumer that is being retired and hands its items back.
    pub(crate) fn take_rest(&mut self) -> Vec<Inbound<T>> {
        self.finished = true;
        let mut rest: Vec<Inbound<T>> = self.inline.take().into_iter().collect();
        rest.extend(self.outlet.take_all());
        rest
    }
}

impl<T: Send + Sync + 'static> Iterator for Delivery<T> {
    type Item = Inbound<T>;

    fn next(&mut self) -> Option<Inbound<T>> {
        if let Some(item) = self.inline.take() {
            self.outlet.took_inline();
            return Some(item);
        }
        while !self.finished && self.budget > 0 {
            if !self.outlet.has_pending() {
                self.finished = self.outlet.settle_idle();
                continue;
            }
            match self.outlet.next() {
                Next::Last(item) => {
                    self.finished = true;
                    self.budget -= 1;
                    return Some(item);
                }
                Next::Item(item) => {
                    self.budget -= 1;
                    return Some(item);
                }
                Next::Lagged(missed) => {
                    let missed = u32::try_from(missed).unwrap_or(u32::MAX);
                    self.lagged = self.lagged.saturating_add(missed);
                }
                Next::Empty => self.finished = true,
                Next::Closed(reason) => {
                    self.closed = Some(reason);
                    self.finished = true;
                }
            }
        }
        None
    }
}

impl<T: Send + Sync + 'static> Drop for Delivery<T> {
    fn drop(&mut self) {
        if let Some(item) = self.inline.take() {
            self.outlet.restore(item);
        } else if !self.finished {
            self.outlet.delivery_ended(self.budget == 0);
        }
    }
}

impl<T: Send + Sync + 'static> Message for Delivery<T> {
    type Result = ();
}

impl<T: Send + Sync + 'static> fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("channel", self.outlet.channel())
            .field("inline", &self.inline.is_some())
            .field("budget", &self.budget)
            .field("lagged", &self.lagged)
            .finish()
    }
}
