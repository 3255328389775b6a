//! Helpers shared by the integration tests.
#![allow(dead_code)]

use exokern::prelude::*;

/// A system id from a literal.
pub fn sid(name: &str) -> SystemId {
    SystemId::new(name).expect("valid system id")
}

/// A channel id from a literal.
pub fn cid(name: &str) -> ChannelId {
    ChannelId::new(name).expect("valid channel id")
}

/// Payloads of a list of envelopes.
pub fn payloads<T: Clone>(envs: &[std::sync::Arc<Envelope<T>>]) -> Vec<T> {
    envs.iter().map(|e| e.payload().clone()).collect()
}
