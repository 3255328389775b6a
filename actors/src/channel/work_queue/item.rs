//! [`Queued`]: an item as the queue holds it.

use std::sync::Arc;

use crate::envelope::Envelope;

/// An item in the queue, between deliveries.
pub(super) struct Queued<T> {
    pub(super) envelope: Arc<Envelope<T>>,
    /// Deliveries so far.
    pub(super) attempts: u32,
    pub(super) last_error: Option<String>,
}
