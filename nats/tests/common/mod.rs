//! What the tests share: the test server, under the names the tests use.

#![allow(unused_imports, unreachable_pub)]

pub use exokern_nats::testing::{
    available, fresh_channel, SharedServer as Shared, TestServer as Server,
};
