//! The subcommands of the `exokern` binary that live outside `main.rs`.

pub mod bench;
