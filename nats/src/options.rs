//! [`NatsOptions`]: where the server is, how to sign in, and who this kernel is.

use std::path::PathBuf;
use std::time::Duration;

/// How a kernel connects to its NATS server.
#[derive(Clone)]
#[must_use = "options do nothing until given to `Nats::connect`"]
pub struct NatsOptions {
    pub(crate) url: String,
    pub(crate) credentials: Credentials,
    pub(crate) kernel: String,
    pub(crate) retry_for: Duration,
    pub(crate) answer_within: Duration,
}

/// How a kernel signs in to its server. The server's own permissions on these are what
/// keep a foreign process from posing as a kernel.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No sign-in: a server on loopback for tests and demos.
    #[default]
    None,
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A token.
    Token(String),
    /// An nkey seed (`SU...`), signing the server's challenge.
    NkeySeed(String),
    /// A `.creds` file holding a user JWT and its nkey seed.
    CredsFile(PathBuf),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs.
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::UserPassword { user, .. } => f
                .debug_struct("UserPassword")
                .field("user", user)
                .finish_non_exhaustive(),
            Credentials::Token(_) => f.write_str("Token(..)"),
            Credentials::NkeySeed(_) => f.write_str("NkeySeed(..)"),
            Credentials::CredsFile(path) => f.debug_tuple("CredsFile").field(path).finish(),
        }
    }
}

impl std::fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsOptions")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .field("kernel", &self.kernel)
            .field("retry_for", &self.retry_for)
            .field("answer_within", &self.answer_within)
            .finish()
    }
}

impl NatsOptions {
    /// Options for the server at `url` (`nats://host:port`, or several, comma-separated),
    /// for the kernel named `kernel`: the name every message it sends carries.
    pub fn new(url: impl Into<String>, kernel: impl Into<String>) -> NatsOptions {
        NatsOptions {
            url: url.into(),
            credentials: Credentials::None,
            kernel: kernel.into(),
            retry_for: Duration::from_secs(30),
            answer_within: Duration::from_secs(5),
        }
    }

    /// How to sign in (default: not at all).
    pub fn credentials(mut self, credentials: Credentials) -> NatsOptions {
        self.credentials = credentials;
        self
    }

    /// How long a send waits and retries while the server cannot be reached, before it
    /// fails (default 30 s). A retried send is kept once.
    pub fn retry_for(mut self, bound: Duration) -> NatsOptions {
        self.retry_for = bound;
        self
    }

    /// How long one request waits for the server's answer before it counts as lost
    /// (default 5 s).
    pub fn answer_within(mut self, wait: Duration) -> NatsOptions {
        self.answer_within = wait;
        self
    }
}
