//! exokern: a governed actor runtime for multi-agent systems, on actix and tokio.
//!
//! This crate is the shell around the runtime crate [`exokern_actors`], which it
//! re-exports whole; most programs start with `use exokern::prelude::*;`.
#![warn(missing_docs, missing_debug_implementations)]

pub use exokern_actors::*;
