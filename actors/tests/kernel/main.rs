//! The kernel through its public API: docking, capability requests, the action gate,
//! escalation, lifecycle, modules, the heartbeat and the audit log. `S3`, `C8` and the
//! like name the AAAX defects a test shows cannot happen here (`docs/aaax-defects.md`).

mod aaax;
#[path = "../common/mod.rs"]
mod common;
mod defects;
mod docking;
mod governance;
mod modules;
mod pulse;
mod remote;
mod support;
mod wire;
