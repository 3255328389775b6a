//! `[kernel.nats]`: the NATS server that channels with `store = "nats"` are shared
//! through, and how this kernel signs in to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::Source;
use crate::config::ConfigError;

/// `[kernel.nats]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NatsConfig {
    /// `url`: `nats://host:port`, or several, comma-separated.
    pub url: String,
    /// How the kernel signs in: at most one of `user` with `password`, `token`,
    /// `nkey_file` or `creds_file`.
    pub credentials: NatsCredentials,
    /// `retry_ms` (default 30,000): how long a send waits and retries while the server
    /// cannot be reached.
    pub retry: Duration,
}

/// How a kernel signs in to its NATS server.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NatsCredentials {
    /// None given.
    None,
    /// `user` and `password`.
    UserPassword {
        /// `user`.
        user: String,
        /// `password`.
        password: String,
    },
    /// `token`.
    Token(String),
    /// `nkey_file`: a file holding an nkey seed, resolved against the config's folder.
    NkeyFile(PathBuf),
    /// `creds_file`: a `.creds` file, resolved against the config's folder.
    CredsFile(PathBuf),
}

impl std::fmt::Debug for NatsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs.
        match self {
            NatsCredentials::None => f.write_str("None"),
            NatsCredentials::UserPassword { user, .. } => f
                .debug_struct("UserPassword")
                .field("user", user)
                .finish_non_exhaustive(),
            NatsCredentials::Token(_) => f.write_str("Token(..)"),
            NatsCredentials::NkeyFile(path) => f.debug_tuple("NkeyFile").field(path).finish(),
            NatsCredentials::CredsFile(path) => f.debug_tuple("CredsFile").field(path).finish(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNats {
    url: Spanned<String>,
    user: Option<Spanned<String>>,
    password: Option<String>,
    token: Option<Spanned<String>>,
    nkey_file: Option<Spanned<PathBuf>>,
    creds_file: Option<Spanned<PathBuf>>,
    retry_ms: Option<Spanned<u64>>,
}

pub(super) fn nats(
    source: &Source<'_>,
    base: &Path,
    raw: Spanned<RawNats>,
) -> Result<NatsConfig, ConfigError> {
    let table = raw.span();
    let raw = raw.into_inner();
    if raw.url.get_ref().trim().is_empty() {
        return Err(source.error(
            raw.url.span(),
            "`kernel.nats.url` is empty: give the server, e.g. \"nats://127.0.0.1:4222\"",
        ));
    }
    let given: Vec<&str> = [
        raw.user.as_ref().map(|_| "user"),
        raw.token.as_ref().map(|_| "token"),
        raw.nkey_file.as_ref().map(|_| "nkey_file"),
        raw.creds_file.as_ref().map(|_| "creds_file"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(source.error(
            table,
            format!(
                "`kernel.nats` signs in one way, but {} are set: keep one",
                given.join(" and ")
            ),
        ));
    }
    let credentials = match (
        raw.user,
        raw.password,
        raw.token,
        raw.nkey_file,
        raw.creds_file,
    ) {
        (Some(user), Some(password), ..) => NatsCredentials::UserPassword {
            user: user.into_inner(),
            password,
        },
        (Some(user), None, ..) => {
            return Err(source.error(user.span(), "`kernel.nats.user` needs `password`"))
        }
        (None, Some(_), ..) => {
            return Err(source.error(table, "`kernel.nats.password` needs `user`"))
        }
        (None, None, Some(token), ..) => NatsCredentials::Token(token.into_inner()),
        (None, None, None, Some(file), _) => {
            NatsCredentials::NkeyFile(base.join(file.into_inner()))
        }
        (None, None, None, None, Some(file)) => {
            NatsCredentials::CredsFile(base.join(file.into_inner()))
        }
        (None, None, None, None, None) => NatsCredentials::None,
    };
    let retry = match raw.retry_ms {
        Some(ms) if *ms.get_ref() == 0 => {
            return Err(source.error(ms.span(), "`kernel.nats.retry_ms` is 0: give at least 1"))
        }
        Some(ms) => Duration::from_millis(ms.into_inner()),
        None => Duration::from_secs(30),
    };
    Ok(NatsConfig {
        url: raw.url.into_inner(),
        credentials,
        retry,
    })
}
