//! The channels a config shares through NATS (`store = "nats"`): the kernel's
//! connection to `[kernel.nats]`, and each shared work queue and broadcast opened on it.

use std::sync::Arc;

use exokern_actors::store::{SharedQueue, SharedStream};

use crate::config::{ChannelConfig, Config, StoreKind};

/// The connection of a kernel whose config shares channels through NATS.
#[cfg(feature = "nats")]
pub(crate) type NatsServer = exokern_nats::Nats;

/// Without the `nats` feature there is never a connection.
#[cfg(not(feature = "nats"))]
#[derive(Debug)]
pub(crate) enum NatsServer {}

/// The first channel the config shares through NATS, by the name its errors give it.
fn shared_channel(config: &Config) -> Option<&ChannelConfig> {
    config.channels.iter().find(|c| c.store == StoreKind::Nats)
}

/// Connects to `[kernel.nats]` if a channel is shared through it; the kernel's id is the
/// name its messages carry.
#[cfg(feature = "nats")]
pub(crate) async fn connect(config: &Config) -> Result<Option<NatsServer>, String> {
    use crate::config::NatsCredentials;
    use exokern_nats::{Credentials, Nats, NatsOptions};
    if shared_channel(config).is_none() {
        return Ok(None);
    }
    let settings = config
        .kernel
        .nats
        .as_ref()
        .ok_or("a channel is kept on NATS, but there is no `[kernel.nats]`")?;
    let credentials = match &settings.credentials {
        NatsCredentials::UserPassword { user, password } => Credentials::UserPassword {
            user: user.clone(),
            password: password.clone(),
        },
        NatsCredentials::Token(token) => Credentials::Token(token.clone()),
        NatsCredentials::NkeyFile(path) => {
            let seed = std::fs::read_to_string(path)
                .map_err(|e| format!("the nkey file {} cannot be read: {e}", path.display()))?;
            Credentials::NkeySeed(seed.trim().to_owned())
        }
        NatsCredentials::CredsFile(path) => Credentials::CredsFile(path.clone()),
        _ => Credentials::None,
    };
    let options = NatsOptions::new(&settings.url, &config.kernel.id)
        .credentials(credentials)
        .retry_for(settings.retry);
    Nats::connect(options)
        .await
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Without the `nats` feature, nothing shared through NATS can start.
#[cfg(not(feature = "nats"))]
pub(crate) async fn connect(config: &Config) -> Result<Option<NatsServer>, String> {
    match shared_channel(config) {
        Some(channel) => Err(format!(
            "channel `{}` is kept on NATS, and this build of exokern has no NATS client: build it with the `nats` feature",
            channel.id
        )),
        None => Ok(None),
    }
}

/// Opens the shared work queue `channel` declares, as its config sets it: the stream,
/// the capacity, the lease as the server's ack wait, and `max_attempts`.
#[cfg(feature = "nats")]
pub(crate) async fn work_queue(
    nats: &NatsServer,
    channel: &ChannelConfig,
) -> Result<Arc<dyn SharedQueue>, String> {
    let mut spec = exokern_nats::QueueSpec::default();
    if let Some(stream) = &channel.stream {
        spec = spec.stream(stream);
    }
    if let Some(capacity) = channel.capacity {
        spec = spec.capacity(capacity);
    }
    if let Some(lease) = channel.lease {
        spec = spec.ack_wait(lease);
    }
    if let Some(attempts) = channel.max_attempts {
        spec = spec.max_attempts(attempts);
    }
    let queue = nats
        .work_queue(&channel.id, spec)
        .await
        .map_err(|e| e.to_string())?;
    Ok(queue)
}

#[cfg(not(feature = "nats"))]
pub(crate) async fn work_queue(
    nats: &NatsServer,
    _: &ChannelConfig,
) -> Result<Arc<dyn SharedQueue>, String> {
    match *nats {}
}

/// Opens the shared broadcast `channel` declares: the stream, and the retention the
/// server keeps (the channel's default, 1,024, if it gives none).
#[cfg(feature = "nats")]
pub(crate) async fn broadcast(
    nats: &NatsServer,
    channel: &ChannelConfig,
) -> Result<Arc<dyn SharedStream>, String> {
    let mut spec = exokern_nats::StreamSpec::default();
    if let Some(stream) = &channel.stream {
        spec = spec.stream(stream);
    }
    if let Some(retention) = channel.retention {
        spec = spec.retention(retention);
    }
    let stream = nats
        .broadcast(&channel.id, spec)
        .await
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

#[cfg(not(feature = "nats"))]
pub(crate) async fn broadcast(
    nats: &NatsServer,
    _: &ChannelConfig,
) -> Result<Arc<dyn SharedStream>, String> {
    match *nats {}
}
