//! The HTTP surface through a real client, against a server on an ephemeral port:
//! every route, every error status, an adversarial set, concurrency and SSE resume.

mod adversarial;
mod channels;
#[path = "../../actors/tests/common/mod.rs"]
mod common;
mod concurrency;
mod governance;
mod support;
