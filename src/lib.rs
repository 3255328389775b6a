#![doc = include_str!("../README.md")]

pub use exokern_actors::*;

pub mod audit_file;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
/// Channels kept on disk: the [`DiskStore`](disk::DiskStore) behind `store = "disk"`.
#[cfg(feature = "disk")]
pub use exokern_store as disk;
pub mod http;
pub mod launch;
pub mod tokens;
