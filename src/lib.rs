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
/// Channels shared by kernels in many processes: the [`Nats`](nats::Nats) connection
/// behind `store = "nats"`.
#[cfg(feature = "nats")]
pub use exokern_nats as nats;
mod shared;
pub mod tokens;
