//! `[[remotes]]`: systems that act from outside the process, over HTTP, each bound to
//! the bearer tokens `exokern token` mints.

use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

use exokern_actors::kernel::{RemoteDock, Visibility};
use exokern_actors::{ChannelId, Rights, SystemId};
use serde::Deserialize;
use toml::Spanned;

use super::{
    defined_channel, defined_executors, ChannelConfig, ExecutorConfig, ModuleConfig, Source,
};
use crate::config::ConfigError;
use crate::tokens::TokenRecord;

/// `[[remotes]]`: a remote system, docked at launch, acting through the HTTP surface.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteConfig {
    /// `id`.
    pub id: SystemId,
    /// `channels`: the public channels it is granted, with their rights (READ|WRITE
    /// unless the entry is `{ id = "…", rights = "…" }`).
    pub channels: Vec<(ChannelId, Rights)>,
    /// `executors` it starts with an EXECUTE capability on (through the policy).
    pub executors: Vec<String>,
    /// `privileged` (default false).
    pub privileged: bool,
    /// `[[remotes.tokens]]`: the tokens that act as it.
    pub tokens: Vec<TokenRecord>,
}

impl RemoteConfig {
    /// The dock this remote asks for.
    pub fn dock(&self) -> RemoteDock {
        let mut dock = RemoteDock::new(self.id.clone());
        for (channel, rights) in &self.channels {
            dock = dock.channel(channel.clone(), *rights);
        }
        for executor in &self.executors {
            dock = dock.executes(executor.as_str());
        }
        if self.privileged {
            dock = dock.privileged();
        }
        dock
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemote {
    id: Spanned<String>,
    #[serde(default)]
    channels: Vec<Spanned<RawGrant>>,
    #[serde(default)]
    executors: Vec<Spanned<String>>,
    #[serde(default)]
    privileged: bool,
    #[serde(default)]
    tokens: Vec<Spanned<RawToken>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawGrant {
    Id(String),
    Table { id: String, rights: Rights },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    id: String,
    sha256: String,
    expires_unix: Option<u64>,
}

pub(super) fn remotes(
    source: &Source<'_>,
    raw: Vec<Spanned<RawRemote>>,
    channels: &[ChannelConfig],
    executors: &[ExecutorConfig],
    modules: &[ModuleConfig],
) -> Result<Vec<RemoteConfig>, ConfigError> {
    let mut seen: HashSet<SystemId> = modules.iter().map(|m| m.id.clone()).collect();
    let mut token_ids = HashSet::new();
    let mut remotes = Vec::with_capacity(raw.len());
    for table in raw {
        let raw = table.into_inner();
        let span = raw.id.span();
        let id = SystemId::new(raw.id.get_ref())
            .map_err(|e| source.error(span.clone(), format!("remote id: {e}")))?;
        if !seen.insert(id.clone()) {
            return Err(source.error(
                span,
                format!("system `{id}` is defined twice (remotes and modules share ids)"),
            ));
        }
        let who = format!("remote `{id}`");
        let mut granted = Vec::with_capacity(raw.channels.len());
        for grant in &raw.channels {
            let (name, rights) = match grant.get_ref() {
                RawGrant::Id(name) => (name, Rights::READ | Rights::WRITE),
                RawGrant::Table { id, rights } => (id, *rights),
            };
            let found = defined_channel(source, channels, &who, name, grant.span())?;
            if found.visibility != Visibility::Public {
                return Err(source.error(
                    grant.span(),
                    format!(
                        "remote `{id}`: channel `{name}` is private, and remotes reach only public channels: give it visibility = \"public\""
                    ),
                ));
            }
            if granted.iter().any(|(c, _)| c == &found.id) {
                return Err(source.error(
                    grant.span(),
                    format!("remote `{id}`: channel `{name}` is granted twice"),
                ));
            }
            granted.push((found.id.clone(), rights));
        }
        let names = defined_executors(source, executors, &who, &raw.executors)?;
        let mut tokens = Vec::with_capacity(raw.tokens.len());
        for token in raw.tokens {
            let at = token.span();
            let token = token.into_inner();
            if !token_ids.insert(token.id.clone()) {
                return Err(source.error(at, format!("token `{}` is listed twice", token.id)));
            }
            let record = TokenRecord {
                id: token.id,
                sha256: token.sha256,
                system: id.clone(),
                expires: token
                    .expires_unix
                    .map(|secs| UNIX_EPOCH + Duration::from_secs(secs)),
            };
            record.validate().map_err(|e| {
                source.error(
                    at,
                    format!("remote `{id}`: {e}; paste the lines `exokern token {id}` prints"),
                )
            })?;
            tokens.push(record);
        }
        remotes.push(RemoteConfig {
            id,
            channels: granted,
            executors: names,
            privileged: raw.privileged,
            tokens,
        });
    }
    Ok(remotes)
}
