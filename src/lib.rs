#![doc = include_str!("../README.md")]

pub use exokern_actors::*;

pub mod audit_file;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod http;
pub mod launch;
pub mod tokens;
