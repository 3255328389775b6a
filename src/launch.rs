//! Bringing a [`Config`] up: the kernel, its executors and channels, then its modules,
//! in file order, each through the same path a privileged request would take, then its
//! remote systems with their tokens.

use std::sync::Arc;

use exokern_actors::channel::{Broadcast, Mailbox, StartError, WorkQueue};
use exokern_actors::kernel::{
    ApprovedAction, DockError, Executor, GovernanceError, Kernel, KernelBuilder, KernelChannel,
    KernelError, KernelHandle, Visibility,
};
use exokern_actors::protocol::ModuleLoad;
use exokern_actors::store::Store;
use serde_json::{json, Value};

use crate::audit_file::JsonLinesAudit;
use crate::config::{
    ChannelConfig, ChannelKind, Config, ModuleConfig, RemoteConfig, Runner, StoreKind,
};
use crate::http::{Gateway, HttpLimits};
use crate::shared;

/// Why a configuration did not come up. Whatever had started is shut down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// The kernel did not start.
    #[error("the kernel did not start: {0}")]
    Kernel(#[from] KernelError),
    /// The kernel stopped while the constellation was coming up.
    #[error("the kernel stopped while the constellation was coming up")]
    Stopped,
    /// The audit file could not be opened.
    #[error("cannot open the audit file {path}: {reason}")]
    AuditFile {
        /// The file.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// The store of the channels kept on disk could not be opened.
    #[error("the channels kept on disk cannot start: {0}")]
    Storage(String),
    /// The NATS server of the channels shared through it could not be reached.
    #[error("the channels shared through NATS cannot start: {0}")]
    Nats(String),
    /// A channel did not start or register.
    #[error("channel `{channel}` did not start: {reason}")]
    Channel {
        /// The channel.
        channel: String,
        /// Why.
        reason: String,
    },
    /// A remote system was refused: by the policy (its initial capabilities) or the dock.
    #[error("remote system `{remote}` was not docked: {error}")]
    Remote {
        /// The remote system.
        remote: String,
        /// Why.
        error: DockError,
    },
    /// A module was refused: by the module policy, its framework, or its initial
    /// capabilities.
    #[error("module `{module}` was not loaded: {error}")]
    Module {
        /// The module.
        module: String,
        /// Why.
        error: GovernanceError,
    },
}

impl LaunchError {
    fn module(module: &ModuleConfig) -> impl FnOnce(GovernanceError) -> LaunchError + '_ {
        |error| LaunchError::Module {
            module: module.id.to_string(),
            error,
        }
    }

    fn remote(remote: &RemoteConfig) -> impl FnOnce(DockError) -> LaunchError + '_ {
        |error| LaunchError::Remote {
            remote: remote.id.to_string(),
            error,
        }
    }
}

/// A constellation brought up from a config.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Launched {
    /// The kernel.
    pub kernel: KernelHandle,
    /// The remote systems and their tokens, ready to serve over HTTP
    /// ([`routes`](crate::http::routes)).
    pub gateway: Gateway,
}

/// Starts the kernel `config` describes, loads its modules and docks its remote
/// systems; call inside an actix `System`. On failure, shuts down what had started.
pub async fn launch(config: &Config) -> Result<Launched, LaunchError> {
    let settings = &config.kernel;
    let mut builder = kernel_builder(config);
    if let Some(path) = &settings.audit_file {
        let sink = JsonLinesAudit::append(path).map_err(|e| LaunchError::AuditFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        builder = builder.audit_sink(sink);
    }
    let store = open_store(config).map_err(LaunchError::Storage)?;
    if let (StoreKind::Disk, Some(store)) = (settings.audit_store, &store) {
        builder = builder.audit_store(Arc::clone(store));
    }
    let stores = Stores {
        disk: store,
        nats: shared::connect(config).await.map_err(LaunchError::Nats)?,
    };
    let kernel = builder.start().await?;
    let limits = HttpLimits::default().max_body(settings.network.max_body_bytes);
    let gateway = Gateway::new(kernel.clone(), limits);
    match populate(&gateway, config, &stores).await {
        Ok(()) => Ok(Launched { kernel, gateway }),
        Err(error) => {
            kernel.shutdown().await;
            Err(error)
        }
    }
}

/// Makes the decisions [`launch`] makes on `config` before it docks anything, starting
/// nothing: the module policy and the framework's check of the settings and channels
/// of each module, and the capability policy on the executors of each module and
/// remote system. The first refusal is the one `launch` would meet.
pub async fn preflight(config: &Config) -> Result<(), LaunchError> {
    let preflight = kernel_builder(config).preflight();
    for module in &config.modules {
        preflight
            .module(&module_load(module))
            .await
            .map_err(LaunchError::module(module))?;
    }
    for remote in &config.remotes {
        preflight
            .remote(&remote.dock())
            .await
            .map_err(LaunchError::remote(remote))?;
    }
    Ok(())
}

/// The kernel `config` describes, before its audit sink.
fn kernel_builder(config: &Config) -> KernelBuilder {
    let settings = &config.kernel;
    Kernel::builder()
        .id(settings.id.clone())
        .name(settings.name.clone())
        .policy(settings.policy.clone())
        .heartbeat_interval(settings.heartbeat)
        .built_in_frameworks()
}

/// The request that loads `module`.
fn module_load(module: &ModuleConfig) -> ModuleLoad {
    ModuleLoad {
        channels: module.channels.clone(),
        executors: module.executors.clone(),
        privileged: module.privileged,
        settings: module.settings.clone(),
        ..ModuleLoad::new(module.id.clone(), module.framework.clone())
    }
}

/// Where the config's channels are kept beyond memory.
struct Stores {
    disk: Option<Arc<dyn Store>>,
    nats: Option<shared::NatsServer>,
}

async fn populate(gateway: &Gateway, config: &Config, stores: &Stores) -> Result<(), LaunchError> {
    let kernel = gateway.kernel();
    for executor in &config.executors {
        let runner = executor
            .run
            .map(|Runner::Echo| Arc::new(echo) as Arc<dyn Executor>);
        kernel
            .register_executor(&executor.name, executor.risk, runner)
            .await
            .map_err(|_| LaunchError::Stopped)?;
    }
    for channel in &config.channels {
        add_channel(kernel, channel, stores)
            .await
            .map_err(|reason| LaunchError::Channel {
                channel: channel.id.to_string(),
                reason,
            })?;
    }
    for module in &config.modules {
        kernel
            .load_module(module_load(module))
            .await
            .map_err(LaunchError::module(module))?;
    }
    for remote in &config.remotes {
        gateway
            .dock(remote.dock())
            .await
            .map_err(LaunchError::remote(remote))?;
        for token in &remote.tokens {
            gateway
                .accept(token.clone())
                .expect("the config checked every token record");
        }
    }
    Ok(())
}

/// The `echo` runner: the action, as the gate let it through.
async fn echo(action: ApprovedAction) -> Result<Value, String> {
    Ok(json!({
        "action": action.action,
        "target": action.target,
        "payload": action.payload,
    }))
}

/// What the config keeps on disk, by the name its errors give it: the first channel
/// with `store = "disk"`, or the audit log.
fn kept_on_disk(config: &Config) -> Option<String> {
    if config.kernel.audit_store == StoreKind::Disk {
        return Some("the audit log (`audit_store = \"disk\"`)".to_owned());
    }
    config
        .channels
        .iter()
        .find(|c| c.store == StoreKind::Disk)
        .map(|channel| format!("channel `{}` (`store = \"disk\"`)", channel.id))
}

/// The store the channels with `store = "disk"` and a disk audit log share, if the
/// config keeps anything on disk.
#[cfg(feature = "disk")]
fn open_store(config: &Config) -> Result<Option<Arc<dyn Store>>, String> {
    use crate::config::Sync;
    use exokern_store::{DiskStore, SyncMode};
    if kept_on_disk(config).is_none() {
        return Ok(None);
    }
    let storage = &config.kernel.storage;
    let mode = match storage.sync {
        Sync::Always => SyncMode::Always,
        Sync::Batch {
            window,
            max_changes,
        } => SyncMode::Batch {
            max_delay: window,
            max_changes,
        },
    };
    let store = DiskStore::builder(&storage.dir)
        .sync(mode)
        .open()
        .map_err(|e| e.to_string())?;
    Ok(Some(Arc::new(store)))
}

/// Without the `disk` feature, nothing kept on disk can start.
#[cfg(not(feature = "disk"))]
fn open_store(config: &Config) -> Result<Option<Arc<dyn Store>>, String> {
    match kept_on_disk(config) {
        Some(what) => Err(format!(
            "{what} is kept on disk, and this build of exokern has no disk store: build it with the `disk` feature"
        )),
        None => Ok(None),
    }
}

async fn add_channel(
    kernel: &KernelHandle,
    channel: &ChannelConfig,
    stores: &Stores,
) -> Result<(), String> {
    let id = channel.id.clone();
    let visibility = channel.visibility;
    let store = match channel.store {
        StoreKind::Disk => stores.disk.clone(),
        _ => None,
    };
    let nats = match channel.store {
        StoreKind::Nats => stores.nats.as_ref(),
        _ => None,
    };
    match channel.kind {
        ChannelKind::Broadcast => {
            let mut builder = Broadcast::<Value>::builder(id);
            if let Some(store) = store {
                builder = builder.store(store);
            }
            if let Some(nats) = nats {
                builder = builder.shared(shared::broadcast(nats, channel).await?);
            }
            if let Some(retention) = channel.retention {
                builder = builder.retention(retention);
            }
            if let Some(capacity) = channel.capacity {
                builder = builder.subscriber_buffer(capacity);
            }
            register(kernel, builder.start(), visibility).await
        }
        ChannelKind::WorkQueue => {
            let mut builder = WorkQueue::<Value>::builder(id);
            if let Some(store) = store {
                builder = builder.store(store);
            }
            if let Some(nats) = nats {
                builder = builder.shared(shared::work_queue(nats, channel).await?);
            }
            if let Some(capacity) = channel.capacity {
                builder = builder.capacity(capacity);
            }
            if let Some(lease) = channel.lease {
                builder = builder.lease(lease);
            }
            if let Some(attempts) = channel.max_attempts {
                builder = builder.max_attempts(attempts);
            }
            register(kernel, builder.start(), visibility).await
        }
        ChannelKind::Mailbox => {
            let mut builder = Mailbox::<Value>::builder(id);
            if let Some(capacity) = channel.capacity {
                builder = builder.inbox_capacity(capacity);
            }
            register(kernel, builder.start(), visibility).await
        }
    }
}

/// Registers a channel that started with the kernel.
async fn register(
    kernel: &KernelHandle,
    started: Result<impl KernelChannel, StartError>,
    visibility: Visibility,
) -> Result<(), String> {
    let channel = started.map_err(|e| e.to_string())?;
    kernel
        .add_channel(channel, visibility)
        .await
        .map_err(|e| e.to_string())
}
