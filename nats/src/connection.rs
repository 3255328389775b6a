//! [`Nats`]: one kernel's connection to its server, from which it opens shared channels.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::{ConnectOptions, ServerAddr};

use crate::options::{Credentials, NatsOptions};
use crate::NatsError;

/// A kernel's connection to a NATS server with JetStream. Cheap to clone: clones share
/// one connection, which reconnects by itself when it drops.
#[derive(Clone, Debug)]
pub struct Nats {
    pub(crate) shared: Arc<Connected>,
}

#[derive(Debug)]
pub(crate) struct Connected {
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) kernel: String,
    pub(crate) url: String,
    pub(crate) retry_for: Duration,
}

impl Nats {
    /// Connects to the server. Fails at once, naming the server, if it cannot be
    /// reached or refuses the sign-in; once connected, a dropped connection is
    /// re-established in the background, and operations meanwhile wait within their
    /// bounds.
    pub async fn connect(options: NatsOptions) -> Result<Nats, NatsError> {
        let invalid = |reason: String| NatsError::Invalid { reason };
        if options.kernel.is_empty() || options.kernel.contains(['\r', '\n']) {
            return Err(invalid(format!(
                "the kernel name {:?} must be one line and not empty",
                options.kernel
            )));
        }
        let servers = options
            .url
            .split(',')
            .map(|url| {
                ServerAddr::from_str(url.trim()).map_err(|e| {
                    invalid(format!(
                        "`{}` is not a NATS server address: {e}",
                        url.trim()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let connect = |detail: String| NatsError::Connect {
            url: options.url.clone(),
            detail,
        };
        let sign_in = match &options.credentials {
            Credentials::None => ConnectOptions::new(),
            Credentials::UserPassword { user, password } => {
                ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            Credentials::Token(token) => ConnectOptions::with_token(token.clone()),
            Credentials::NkeySeed(seed) => ConnectOptions::with_nkey(seed.clone()),
            Credentials::CredsFile(path) => ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|e| {
                    invalid(format!(
                        "the creds file {} cannot be read: {e}",
                        path.display()
                    ))
                })?,
        };
        let client = sign_in
            .name(format!("exokern kernel {}", options.kernel))
            .request_timeout(Some(options.answer_within))
            .connection_timeout(options.answer_within)
            .connect(servers)
            .await
            .map_err(|e| connect(e.to_string()))?;
        let jetstream = jetstream::new(client.clone());
        // The account's JetStream info, read raw: its shape varies with the server's
        // version, and all that matters here is that JetStream answers without error.
        let info = client
            .request("$JS.API.INFO", Default::default())
            .await
            .map_err(|e| connect(format!("JetStream does not answer ({e})")))?;
        let info: serde_json::Value = serde_json::from_slice(&info.payload)
            .map_err(|e| connect(format!("JetStream answered in an unknown form ({e})")))?;
        if let Some(error) = info.get("error") {
            return Err(connect(format!(
                "JetStream is not enabled for this account ({error})"
            )));
        }
        Ok(Nats {
            shared: Arc::new(Connected {
                client,
                jetstream,
                kernel: options.kernel,
                url: options.url,
                retry_for: options.retry_for,
            }),
        })
    }

    /// The kernel's name, as every message it sends carries it.
    pub fn kernel(&self) -> &str {
        &self.shared.kernel
    }
}
