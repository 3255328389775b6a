//! The TOML configuration `exokern launch` runs: a kernel, its channels, executors and
//! modules, checked in full before anything starts.
//!
//! Every table refuses keys it does not know, and every mistake is reported with the
//! file, line and column it is at and what would be accepted. Checks that span tables
//! (duplicate ids, channels and executors a module names, frameworks) are made at load,
//! not when the constellation comes up. Relative paths resolve against the folder the
//! file is in. The keys are documented in `docs/config.md`.
//!
//! ```
//! use exokern::config::Config;
//!
//! let config = Config::parse(r#"
//!     [kernel]
//!     id = "demo"
//!
//!     [[channels]]
//!     id = "ticks"
//!     kind = "broadcast"
//!
//!     [[modules]]
//!     id = "clock"
//!     framework = "ticker"
//!     channels = ["ticks"]
//!     settings = { every_ms = 500 }
//! "#, "demo.toml", ".").unwrap();
//! assert_eq!(config.kernel.id, "demo");
//!
//! let typo = Config::parse("[[channels]]\nid = \"a\"\nkind = \"broadcast\"\nretension = 4\n",
//!                          "typo.toml", ".").unwrap_err();
//! assert!(typo.to_string().contains("unknown field `retension`"), "{typo}");
//! ```

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use exokern_actors::channel::ChannelKind;
use exokern_actors::kernel::Visibility;
use exokern_actors::policy::{Risk, RuleSet};
use exokern_actors::{ChannelId, SystemId};
use serde::Deserialize;
use toml::Spanned;

mod nats;
mod remotes;

pub use nats::{NatsConfig, NatsCredentials};
pub use remotes::RemoteConfig;

/// A configuration, loaded and checked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `[kernel]`.
    pub kernel: KernelConfig,
    /// `[[channels]]`, in file order.
    pub channels: Vec<ChannelConfig>,
    /// `[[executors]]`, in file order.
    pub executors: Vec<ExecutorConfig>,
    /// `[[modules]]`, in file order (the order they are loaded in).
    pub modules: Vec<ModuleConfig>,
    /// `[[remotes]]`, in file order (docked after the modules).
    pub remotes: Vec<RemoteConfig>,
}

/// `[kernel]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KernelConfig {
    /// `id` (default `exokern`).
    pub id: String,
    /// `name` (default `exokern`).
    pub name: String,
    /// The rules: `[kernel.policy]` inline, or the file `policy_file` names (TOML or
    /// JSON by its extension). Neither: everything is denied.
    pub policy: RuleSet,
    /// `heartbeat_ms` (default 1,000).
    pub heartbeat: Duration,
    /// `audit_file`, resolved against the config file's folder.
    pub audit_file: Option<PathBuf>,
    /// `audit_store` (default `memory`): `disk` keeps the audit log in
    /// `[kernel.storage] dir` too, and answers each decision once its record is there.
    pub audit_store: StoreKind,
    /// `[kernel.network]`.
    pub network: NetworkConfig,
    /// `[kernel.storage]`: where channels with `store = "disk"` keep their logs.
    pub storage: StorageConfig,
    /// `[kernel.nats]`: the server channels with `store = "nats"` are shared through.
    pub nats: Option<NatsConfig>,
}

/// `[kernel.storage]`: where and how channels with `store = "disk"` are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StorageConfig {
    /// `dir` (default `data`), resolved against the config file's folder.
    pub dir: PathBuf,
    /// `sync` (default `batch`): when a commit reaches the disk.
    pub sync: Sync,
}

/// `sync`: when a durable channel's commit reaches the disk. Either way a send or ack is
/// answered only once it is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sync {
    /// `"always"`: one commit, and one fsync, per send or ack.
    Always,
    /// `"batch"`: changes are gathered for up to `batch_ms` after the first (default 1)
    /// or until there are `batch_max` (default 8,192), then committed together.
    Batch {
        /// `batch_ms`.
        window: Duration,
        /// `batch_max`.
        max_changes: usize,
    },
}

/// `store` on a `[[channels]]` table, or `audit_store` in `[kernel]`: where the channel
/// or the audit log keeps what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoreKind {
    /// `"memory"` (the default): lost when the process ends.
    #[default]
    Memory,
    /// `"disk"`: in `[kernel.storage] dir`; survives a crash (work queues, broadcasts
    /// and the audit log).
    Disk,
    /// `"nats"`: on the server of `[kernel.nats]`, shared with every kernel that
    /// declares the channel there (work queues and broadcasts).
    Nats,
}

/// `[kernel.network]`: where `launch --publish` serves HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct NetworkConfig {
    /// Serve HTTP as if `launch --publish` were given (default false).
    pub publish: bool,
    /// Address to bind (default `127.0.0.1`).
    pub host: String,
    /// Port (default 8100; 0 picks a free one).
    pub port: u16,
    /// The largest request body accepted, in bytes (default 1 MiB); a larger one is
    /// answered 413.
    pub max_body_bytes: usize,
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            publish: false,
            host: "127.0.0.1".into(),
            port: 8100,
            max_body_bytes: 1 << 20,
        }
    }
}

/// `[[channels]]`: a channel of JSON messages.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChannelConfig {
    /// `id`.
    pub id: ChannelId,
    /// `kind`.
    pub kind: ChannelKind,
    /// `capacity`: items a work queue holds, messages a broadcast buffers per
    /// subscriber, messages a mailbox inbox holds (the channel's default if absent).
    pub capacity: Option<usize>,
    /// `retention`: messages a broadcast keeps for late readers (broadcasts only).
    pub retention: Option<usize>,
    /// `visibility` (default private).
    pub visibility: Visibility,
    /// `lease_ms`: how long a claim lasts (work queues only).
    pub lease: Option<Duration>,
    /// `max_attempts`: deliveries before an item is dead-lettered (work queues only).
    pub max_attempts: Option<u32>,
    /// `store` (default `memory`).
    pub store: StoreKind,
    /// `stream`: the JetStream stream a channel with `store = "nats"` is kept in
    /// (default: one named after the channel id).
    pub stream: Option<String>,
}

/// What runs an executor's approved actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runner {
    /// Answers `{"action", "target", "payload"}`: the action, as the gate let it through.
    Echo,
}

/// `[[executors]]`: an executor in the kernel's registry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExecutorConfig {
    /// `name`.
    pub name: String,
    /// `risk`: `low`, `medium`, `high` or `irreversible`.
    pub risk: Risk,
    /// `run`: what carries out approved actions; none means actions can be authorized
    /// but not executed.
    pub run: Option<Runner>,
}

/// `[[modules]]`: a system built by a framework and docked at launch.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ModuleConfig {
    /// `id`.
    pub id: SystemId,
    /// `framework`: a built-in (`noop`, `ticker`, `echo`, `worker`, `logger`).
    pub framework: String,
    /// `channels` it is wired to.
    pub channels: Vec<ChannelId>,
    /// `executors` it gets an EXECUTE capability for (through the policy).
    pub executors: Vec<String>,
    /// `privileged` (default false).
    pub privileged: bool,
    /// `settings`: the framework's own table.
    pub settings: serde_json::Value,
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// The file is not valid TOML, or a key or value is not one the config accepts.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with the line, column and what is allowed.
        message: String,
    },
    /// The file parses, but does not make sense as a whole.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    kernel: Option<Spanned<RawKernel>>,
    #[serde(default)]
    channels: Vec<Spanned<RawChannel>>,
    #[serde(default)]
    executors: Vec<Spanned<RawExecutor>>,
    #[serde(default)]
    modules: Vec<Spanned<RawModule>>,
    #[serde(default)]
    remotes: Vec<Spanned<remotes::RawRemote>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKernel {
    id: Option<Spanned<String>>,
    name: Option<String>,
    policy: Option<Spanned<RuleSet>>,
    policy_file: Option<Spanned<PathBuf>>,
    heartbeat_ms: Option<Spanned<u64>>,
    audit_file: Option<PathBuf>,
    audit_store: Option<Spanned<StoreKind>>,
    network: Option<Spanned<NetworkConfig>>,
    storage: Option<Spanned<RawStorage>>,
    nats: Option<Spanned<nats::RawNats>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    dir: Option<PathBuf>,
    sync: Option<Spanned<String>>,
    batch_ms: Option<Spanned<u64>>,
    batch_max: Option<Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    id: Spanned<String>,
    kind: ChannelKind,
    capacity: Option<Spanned<usize>>,
    retention: Option<Spanned<usize>>,
    #[serde(default)]
    visibility: Visibility,
    lease_ms: Option<Spanned<u64>>,
    max_attempts: Option<Spanned<u32>>,
    store: Option<Spanned<StoreKind>>,
    stream: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    name: Spanned<String>,
    risk: Risk,
    run: Option<Runner>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    id: Spanned<String>,
    framework: Spanned<String>,
    #[serde(default)]
    channels: Vec<Spanned<String>>,
    #[serde(default)]
    executors: Vec<Spanned<String>>,
    #[serde(default)]
    privileged: bool,
    #[serde(default)]
    settings: Option<toml::Table>,
}

/// Turns byte spans into `file:line:column` errors.
struct Source<'a> {
    path: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl fmt::Display) -> ConfigError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            message: message.to_string(),
        }
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, &path.display().to_string(), base)
    }

    /// Checks `text`, read from `path` (named in errors); relative paths in it resolve
    /// against `base`.
    pub fn parse(text: &str, path: &str, base: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let source = Source { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let base = base.as_ref();
        let kernel = kernel(&source, base, raw.kernel)?;
        let channels = channels(&source, raw.channels, kernel.nats.is_some())?;
        let executors = executors(&source, raw.executors)?;
        let modules = modules(&source, raw.modules, &channels, &executors)?;
        let remotes = remotes::remotes(&source, raw.remotes, &channels, &executors, &modules)?;
        Ok(Config {
            kernel,
            channels,
            executors,
            modules,
            remotes,
        })
    }
}

fn kernel(
    source: &Source<'_>,
    base: &Path,
    raw: Option<Spanned<RawKernel>>,
) -> Result<KernelConfig, ConfigError> {
    let raw = raw.map(Spanned::into_inner).unwrap_or_default();
    let id = match raw.id {
        Some(id) => {
            let span = id.span();
            let id = id.into_inner();
            SystemId::new(&id).map_err(|e| source.error(span, format!("`kernel.id`: {e}")))?;
            id
        }
        None => "exokern".to_owned(),
    };
    let policy = match (raw.policy, raw.policy_file) {
        (Some(_), Some(file)) => {
            return Err(source.error(
                file.span(),
                "both `kernel.policy` and `kernel.policy_file` are set: keep one",
            ))
        }
        (Some(inline), None) => inline.into_inner(),
        (None, Some(file)) => {
            let span = file.span();
            policy_file(&base.join(file.into_inner()))
                .map_err(|message| source.error(span, message))?
        }
        (None, None) => RuleSet::deny_all(),
    };
    let heartbeat = match raw.heartbeat_ms {
        Some(ms) if *ms.get_ref() == 0 => {
            return Err(source.error(ms.span(), "`heartbeat_ms` is 0: give at least 1"))
        }
        Some(ms) => Duration::from_millis(ms.into_inner()),
        None => Duration::from_secs(1),
    };
    let network = match raw.network {
        Some(network) if network.get_ref().max_body_bytes == 0 => {
            return Err(source.error(
                network.span(),
                "`kernel.network.max_body_bytes` is 0: give at least 1",
            ))
        }
        Some(network) => network.into_inner(),
        None => NetworkConfig::default(),
    };
    let storage = storage(source, base, raw.storage)?;
    let audit_store = match raw.audit_store {
        Some(store) if *store.get_ref() == StoreKind::Nats => {
            return Err(source.error(
                store.span(),
                "`kernel.audit_store` is \"nats\": the audit log is kept in memory or on disk",
            ))
        }
        Some(store) => store.into_inner(),
        None => StoreKind::Memory,
    };
    let nats = raw
        .nats
        .map(|raw| nats::nats(source, base, raw))
        .transpose()?;
    Ok(KernelConfig {
        storage,
        nats,
        name: raw.name.unwrap_or_else(|| id.clone()),
        id,
        policy,
        heartbeat,
        audit_file: raw.audit_file.map(|file| base.join(file)),
        audit_store,
        network,
    })
}

fn storage(
    source: &Source<'_>,
    base: &Path,
    raw: Option<Spanned<RawStorage>>,
) -> Result<StorageConfig, ConfigError> {
    let Some(raw) = raw.map(Spanned::into_inner) else {
        return Ok(StorageConfig {
            dir: base.join("data"),
            sync: Sync::Batch {
                window: Duration::from_millis(1),
                max_changes: 8192,
            },
        });
    };
    let batch_key = |key: &str, span: Range<usize>| {
        source.error(
            span,
            format!("`kernel.storage.{key}` applies to `sync = \"batch\"` only: remove it, or sync in batches"),
        )
    };
    let sync = match raw.sync.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
        Some(("always", _)) => {
            if let Some(ms) = &raw.batch_ms {
                return Err(batch_key("batch_ms", ms.span()));
            }
            if let Some(max) = &raw.batch_max {
                return Err(batch_key("batch_max", max.span()));
            }
            Sync::Always
        }
        None | Some(("batch", _)) => {
            let window = match raw.batch_ms {
                Some(ms) if *ms.get_ref() == 0 || *ms.get_ref() > 1000 => {
                    return Err(source.error(
                        ms.span(),
                        "`kernel.storage.batch_ms` must be 1 to 1000 milliseconds",
                    ))
                }
                Some(ms) => Duration::from_millis(ms.into_inner()),
                None => Duration::from_millis(1),
            };
            let max_changes = match raw.batch_max {
                Some(max) if *max.get_ref() == 0 => {
                    return Err(source.error(
                        max.span(),
                        "`kernel.storage.batch_max` is 0: give at least 1",
                    ))
                }
                Some(max) => max.into_inner(),
                None => 8192,
            };
            Sync::Batch {
                window,
                max_changes,
            }
        }
        Some((other, span)) => {
            return Err(source.error(
                span,
                format!("`kernel.storage.sync` is {other:?}: give \"always\" or \"batch\""),
            ))
        }
    };
    Ok(StorageConfig {
        dir: base.join(raw.dir.unwrap_or_else(|| PathBuf::from("data"))),
        sync,
    })
}

/// Reads rules from a TOML or JSON file (`{ rules = [...] }` either way).
fn policy_file(path: &Path) -> Result<RuleSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?;
    let parsed = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(&text).map_err(|e| e.to_string()),
        Some("toml") => toml::from_str(&text).map_err(|e| e.to_string()),
        _ => {
            return Err(format!(
                "the policy file {} must end in .toml or .json",
                path.display()
            ))
        }
    };
    parsed.map_err(|e| format!("in the policy file {}: {}", path.display(), e.trim_end()))
}

fn channels(
    source: &Source<'_>,
    raw: Vec<Spanned<RawChannel>>,
    has_nats: bool,
) -> Result<Vec<ChannelConfig>, ConfigError> {
    let mut seen = HashSet::new();
    let mut channels = Vec::with_capacity(raw.len());
    for table in raw {
        let raw = table.into_inner();
        let span = raw.id.span();
        let id = ChannelId::new(raw.id.get_ref())
            .map_err(|e| source.error(span.clone(), format!("channel id: {e}")))?;
        if !seen.insert(id.clone()) {
            return Err(source.error(span, format!("channel `{id}` is defined twice")));
        }
        let only = |key: &str, value: Option<Range<usize>>, kind: ChannelKind| match value {
            Some(at) if raw.kind != kind => Err(source.error(
                at,
                format!(
                    "channel `{id}`: `{key}` applies to {kind} channels only, and this one is a {}",
                    raw.kind
                ),
            )),
            _ => Ok(()),
        };
        only(
            "retention",
            raw.retention.as_ref().map(Spanned::span),
            ChannelKind::Broadcast,
        )?;
        only(
            "lease_ms",
            raw.lease_ms.as_ref().map(Spanned::span),
            ChannelKind::WorkQueue,
        )?;
        only(
            "max_attempts",
            raw.max_attempts.as_ref().map(Spanned::span),
            ChannelKind::WorkQueue,
        )?;
        for (key, value) in [
            (
                "capacity",
                raw.capacity
                    .as_ref()
                    .map(|v| (v.span(), *v.get_ref() as u64)),
            ),
            (
                "lease_ms",
                raw.lease_ms.as_ref().map(|v| (v.span(), *v.get_ref())),
            ),
            (
                "max_attempts",
                raw.max_attempts
                    .as_ref()
                    .map(|v| (v.span(), u64::from(*v.get_ref()))),
            ),
        ] {
            if let Some((at, 0)) = value {
                return Err(
                    source.error(at, format!("channel `{id}`: `{key}` is 0: give at least 1"))
                );
            }
        }
        let store = raw
            .store
            .as_ref()
            .map_or(StoreKind::Memory, |s| *s.get_ref());
        if let (Some(at), StoreKind::Disk, ChannelKind::Mailbox) =
            (raw.store.as_ref().map(Spanned::span), store, raw.kind)
        {
            return Err(source.error(
                at,
                format!("channel `{id}`: a mailbox cannot be kept on disk (work queues and broadcasts can): remove `store`"),
            ));
        }
        if let Some(at) = raw.store.as_ref().map(Spanned::span) {
            if store == StoreKind::Nats && raw.kind == ChannelKind::Mailbox {
                return Err(source.error(
                    at,
                    format!("channel `{id}`: only work queues and broadcasts are shared through NATS so far: use `store = \"memory\"`"),
                ));
            }
            if store == StoreKind::Nats && !has_nats {
                return Err(source.error(
                    at,
                    format!("channel `{id}` is kept on NATS, but there is no `[kernel.nats]`: add it with the server's `url`"),
                ));
            }
        }
        if let (Some(stream), false) = (&raw.stream, store == StoreKind::Nats) {
            return Err(source.error(
                stream.span(),
                format!(
                    "channel `{id}`: `stream` applies to channels with `store = \"nats\"` only"
                ),
            ));
        }
        channels.push(ChannelConfig {
            store,
            stream: raw.stream.map(Spanned::into_inner),
            id,
            kind: raw.kind,
            capacity: raw.capacity.map(Spanned::into_inner),
            retention: raw.retention.map(Spanned::into_inner),
            visibility: raw.visibility,
            lease: raw
                .lease_ms
                .map(|ms| Duration::from_millis(ms.into_inner())),
            max_attempts: raw.max_attempts.map(Spanned::into_inner),
        });
    }
    Ok(channels)
}

fn executors(
    source: &Source<'_>,
    raw: Vec<Spanned<RawExecutor>>,
) -> Result<Vec<ExecutorConfig>, ConfigError> {
    let mut seen = HashSet::new();
    let mut executors = Vec::with_capacity(raw.len());
    for table in raw {
        let raw = table.into_inner();
        let span = raw.name.span();
        let name = raw.name.into_inner();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(source.error(
                span,
                format!("executor name {name:?}: give a non-empty name without spaces"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(source.error(span, format!("executor `{name}` is defined twice")));
        }
        executors.push(ExecutorConfig {
            name,
            risk: raw.risk,
            run: raw.run,
        });
    }
    Ok(executors)
}

/// The channel `name` (written at `at` by `who`, e.g. "module `m`"), which must be
/// defined.
fn defined_channel<'c>(
    source: &Source<'_>,
    channels: &'c [ChannelConfig],
    who: &str,
    name: &str,
    at: Range<usize>,
) -> Result<&'c ChannelConfig, ConfigError> {
    channels
        .iter()
        .find(|c| c.id.as_str() == name)
        .ok_or_else(|| {
            source.error(
                at,
                format!("{who}: no channel `{name}`; define it in a [[channels]] table"),
            )
        })
}

/// The executors `who` names, each of which must be defined.
fn defined_executors(
    source: &Source<'_>,
    executors: &[ExecutorConfig],
    who: &str,
    names: &[Spanned<String>],
) -> Result<Vec<String>, ConfigError> {
    names
        .iter()
        .map(|name| {
            if executors.iter().any(|e| &e.name == name.get_ref()) {
                Ok(name.get_ref().clone())
            } else {
                Err(source.error(
                    name.span(),
                    format!(
                        "{who}: no executor `{}`; define it in an [[executors]] table",
                        name.get_ref()
                    ),
                ))
            }
        })
        .collect()
}

fn modules(
    source: &Source<'_>,
    raw: Vec<Spanned<RawModule>>,
    channels: &[ChannelConfig],
    executors: &[ExecutorConfig],
) -> Result<Vec<ModuleConfig>, ConfigError> {
    let frameworks: Vec<&str> = exokern_actors::systems::built_in().collect();
    let mut seen = HashSet::new();
    let mut modules = Vec::with_capacity(raw.len());
    for table in raw {
        let raw = table.into_inner();
        let span = raw.id.span();
        let id = SystemId::new(raw.id.get_ref())
            .map_err(|e| source.error(span.clone(), format!("module id: {e}")))?;
        if !seen.insert(id.clone()) {
            return Err(source.error(span, format!("module `{id}` is defined twice")));
        }
        let framework = raw.framework.get_ref();
        if !frameworks.contains(&framework.as_str()) {
            return Err(source.error(
                raw.framework.span(),
                format!(
                    "module `{id}`: unknown framework `{framework}`; the built-in ones are {}",
                    frameworks.join(", ")
                ),
            ));
        }
        let who = format!("module `{id}`");
        let wired = raw
            .channels
            .iter()
            .map(|c| {
                defined_channel(source, channels, &who, c.get_ref(), c.span()).map(|c| c.id.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let granted = defined_executors(source, executors, &who, &raw.executors)?;
        let settings = match raw.settings {
            Some(table) => serde_json::to_value(table)
                .map_err(|e| source.error(span.clone(), format!("module `{id}` settings: {e}")))?,
            None => serde_json::Value::Null,
        };
        modules.push(ModuleConfig {
            id,
            framework: framework.clone(),
            channels: wired,
            executors: granted,
            privileged: raw.privileged,
            settings,
        });
    }
    Ok(modules)
}
