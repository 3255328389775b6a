//! Ready-made systems a module names by framework: [`noop`], [`ticker`], [`echo`],
//! [`worker`], [`logger`] and [`approver`]. They work on channels carrying JSON
//! ([`serde_json::Value`]), the payload of every channel a config file declares. Each
//! framework checks its settings (unknown keys are errors) and its channels before
//! anything is docked.
//!
//! ```
//! use exokern_actors::kernel::Kernel;
//! use exokern_actors::policy::RuleSet;
//! use exokern_actors::protocol::ModuleLoad;
//!
//! # actix_rt::System::new().block_on(async {
//! let kernel = Kernel::builder()
//!     .built_in_frameworks()
//!     .policy(RuleSet::allow_all())
//!     .start()
//!     .await?;
//! let loaded = kernel
//!     .load_module(ModuleLoad::new("idle".parse()?, "noop"))
//!     .await?;
//! assert_eq!(loaded.module_id.as_str(), "idle");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod approver;
mod echo;
mod logger;
mod noop;
mod ticker;
mod worker;

pub use approver::{approver, ApproverSettings};
pub use echo::{echo, EchoSettings};
pub use logger::{logger, LogLevel, LoggerSettings};
pub use noop::{noop, NoopSettings};
pub use ticker::{ticker, TickerSettings};
pub use worker::{worker, WorkerSettings};

use crate::kernel::KernelBuilder;

/// A built-in framework's build function.
type Build = fn(
    &crate::kernel::ModuleSpec,
) -> Result<crate::kernel::ModuleDock, crate::kernel::FrameworkError>;

const BUILT_IN: [(&str, Build); 6] = [
    ("noop", noop),
    ("ticker", ticker),
    ("echo", echo),
    ("worker", worker),
    ("logger", logger),
    ("approver", approver),
];

/// The names of the built-in frameworks.
pub fn built_in() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// Registers the built-in frameworks with a kernel being built, so that modules can name
/// them; the shell's kernels have them, a kernel built with [`Kernel::builder`] only if
/// asked.
///
/// ```
/// use exokern_actors::kernel::Kernel;
///
/// let builder = Kernel::builder().built_in_frameworks();
/// # let _ = builder;
/// ```
///
/// [`Kernel::builder`]: crate::kernel::Kernel::builder
impl KernelBuilder {
    /// Registers every built-in framework ([`built_in`] names them) under its name.
    pub fn built_in_frameworks(self) -> KernelBuilder {
        BUILT_IN.iter().fold(self, |builder, &(name, build)| {
            builder.framework(name, build)
        })
    }
}
