#![doc = include_str!("../README.md")]
#![warn(missing_docs, missing_debug_implementations)]

pub use exokern_actors::*;

pub mod audit_file;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod http;
pub mod launch;
pub mod tokens;
