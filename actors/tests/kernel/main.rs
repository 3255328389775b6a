//! The kernel through its public API: docking, capability requests, the action gate,
//! escalation, lifecycle, modules, the heartbeat and the audit log.

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
