//! [`Kernel::builder`]: configure and start a kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext};
use tokio::sync::oneshot;

use super::actor::{KernelActor, KernelChannels, ManagerSet};
use super::audit::{Audit, AuditSink};
use super::channels::ChannelEntry;
use super::desk::Desk;
use super::error::KernelError;
use super::gate::ActionGateActor;
use super::handle::KernelHandle;
use super::heartbeat::DEFAULT_HEARTBEAT_INTERVAL;
use super::lifecycle::LifecycleActor;
use super::loader::ModuleLoaderActor;
use super::loads::Loader;
use super::modules::Framework;
use super::ports::Visibility;
use super::preflight::Preflight;
use super::{Limits, APPROVALS, AUDIT, HEARTBEAT};
use crate::capability::CapabilityActor;
use crate::channel::Broadcast;
use crate::ids::{ChannelId, SystemId};
use crate::placement::Placement;
use crate::policy::{Policy, RuleSet};
use crate::rights::Rights;
use crate::store::Store;

/// The kernel: start one with [`Kernel::builder`].
#[derive(Debug, Clone, Copy)]
pub struct Kernel;

impl Kernel {
    /// A builder with the defaults: id `exokern`, a policy that denies everything, the
    /// caller's arbiter.
    pub fn builder() -> KernelBuilder {
        KernelBuilder {
            id: "exokern".into(),
            name: "exokern kernel".into(),
            policy: Arc::new(RuleSet::deny_all()),
            placement: Placement::Current,
            limits: Limits::default(),
            audit_capacity: 4096,
            audit_sink: None,
            audit_store: None,
            max_pending_approvals: 10_000,
            heartbeat_every: DEFAULT_HEARTBEAT_INTERVAL,
            frameworks: Vec::new(),
        }
    }
}

/// Configures a kernel; [`start`](Self::start) starts it.
#[must_use = "a builder does nothing until `start` is called"]
pub struct KernelBuilder {
    id: String,
    name: String,
    policy: Arc<dyn Policy>,
    placement: Placement,
    limits: Limits,
    audit_capacity: usize,
    audit_sink: Option<Box<dyn AuditSink>>,
    audit_store: Option<Arc<dyn Store>>,
    max_pending_approvals: usize,
    heartbeat_every: Duration,
    frameworks: Vec<(Arc<str>, Arc<dyn Framework>)>,
}

impl fmt::Debug for KernelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelBuilder")
            .field("id", &self.id)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish()
    }
}

impl KernelBuilder {
    /// The kernel's id, reported in snapshots and heartbeats.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The kernel's display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The policy (default: [`RuleSet::deny_all`]).
    pub fn policy(mut self, policy: impl Policy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Where the kernel's managers run, all on one arbiter (default: the caller's).
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// The lifetime of a capability whose request names none (default 1 hour).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.limits.default_ttl = ttl;
        self
    }

    /// The longest lifetime of any capability (default 24 hours).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.limits.max_ttl = ttl;
        self
    }

    /// How long an escalated action waits for a decision (default 5 minutes).
    pub fn approval_timeout(mut self, timeout: Duration) -> Self {
        self.limits.approval_timeout = timeout;
        self
    }

    /// How long a system's client waits for any answer (default 10 minutes).
    pub fn client_timeout(mut self, timeout: Duration) -> Self {
        self.limits.client_timeout = timeout;
        self
    }

    /// The time between heartbeats on `kernel.heartbeat` (default 1 second). The audit
    /// sink is flushed at each.
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.heartbeat_every = every;
        self
    }

    /// Approvals that may wait for a decision at once (default 10,000); escalations
    /// beyond it are denied.
    pub fn max_pending_approvals(mut self, approvals: usize) -> Self {
        self.max_pending_approvals = approvals;
        self
    }

    /// Registers framework `name`, so modules can be loaded with it (replacing one
    /// registered earlier under that name, a built-in included).
    pub fn framework(mut self, name: &str, framework: impl Framework) -> Self {
        self.frameworks.push((Arc::from(name), Arc::new(framework)));
        self
    }

    /// Governance requests one system may have in the kernel at once (default 1,024);
    /// further calls wait for its earlier ones, so a flooding system delays the others
    /// by at most this many requests.
    pub fn max_in_flight_per_system(mut self, requests: usize) -> Self {
        self.limits.max_in_flight = requests;
        self
    }

    /// Records kept in the audit ring (default 4,096).
    pub fn audit_capacity(mut self, records: usize) -> Self {
        self.audit_capacity = records;
        self
    }

    /// Also writes every audit record to `sink`.
    pub fn audit_sink(mut self, sink: impl AuditSink) -> Self {
        self.audit_sink = Some(Box::new(sink));
        self
    }

    /// Keeps the audit log in `store` as well, under the log `kernel.audit`: the kernel
    /// reads back what it kept at start (its latest records into the ring) and goes on
    /// from its last seq, and a decision is answered only once its record is durable,
    /// so a crash never takes back a decision someone was told of.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use exokern_actors::kernel::Kernel;
    /// use exokern_actors::store::Store;
    ///
    /// # async fn start(store: Arc<dyn Store>) -> Result<(), exokern_actors::kernel::KernelError> {
    /// let kernel = Kernel::builder().audit_store(store).start().await?;
    /// # let _ = kernel; Ok(()) }
    /// ```
    pub fn audit_store(mut self, store: Arc<dyn Store>) -> Self {
        self.audit_store = Some(store);
        self
    }

    /// The decisions this kernel would make on modules and remote systems, asked without
    /// starting it.
    pub fn preflight(&self) -> Preflight {
        Preflight::new(Arc::clone(&self.policy), self.frameworks.iter().cloned())
    }

    /// Starts the kernel's managers and channels; call inside an actix `System`.
    pub async fn start(self) -> Result<KernelHandle, KernelError> {
        let limits = self.limits;
        for (name, value) in [
            ("default_ttl", limits.default_ttl),
            ("max_ttl", limits.max_ttl),
            ("approval_timeout", limits.approval_timeout),
            ("client_timeout", limits.client_timeout),
            ("heartbeat_interval", self.heartbeat_every),
        ] {
            if value.is_zero() {
                return Err(KernelError::Setting(format!(
                    "`{name}` is zero: give a positive duration"
                )));
            }
        }
        if limits.max_in_flight == 0 {
            return Err(KernelError::Setting(
                "`max_in_flight_per_system` is zero: allow at least one request".into(),
            ));
        }
        // The audit log is read back before anything starts, so a damaged store leaves
        // nothing running.
        let durable = self
            .audit_store
            .as_ref()
            .map(|store| store.open(&ChannelId::kernel(AUDIT)))
            .transpose()
            .map_err(KernelError::Audit)?;
        let audit = Audit::new(self.audit_capacity, self.audit_sink, durable)
            .map_err(KernelError::Audit)?;
        let core = SystemId::kernel("core");
        let heartbeat = Broadcast::builder(ChannelId::kernel(HEARTBEAT))
            .retention(16)
            .start()?;
        let approvals = Broadcast::builder(ChannelId::kernel(APPROVALS)).start()?;
        let audit_channel = Broadcast::builder(ChannelId::kernel(AUDIT))
            .retention(self.audit_capacity.min(1024))
            .start()?;
        let kernel_channels = KernelChannels {
            heartbeat: heartbeat.grant(core.clone(), Rights::WRITE).await?,
            approvals: approvals.grant(core.clone(), Rights::WRITE).await?,
            audit: audit_channel.grant(core.clone(), Rights::WRITE).await?,
        };
        let place = self.placement;
        let caps = place.start(Some(&core), |_| CapabilityActor::new())?;
        let lifecycle = {
            let (caps, audit) = (caps.clone(), audit.clone());
            place.start(Some(&core), move |_| LifecycleActor::new(caps, audit))?
        };
        let gate = {
            let (policy, caps, audit) = (Arc::clone(&self.policy), caps.clone(), audit.clone());
            let approvals = kernel_channels.approvals.clone();
            let (timeout, max) = (limits.approval_timeout, self.max_pending_approvals);
            place.start(Some(&core), move |_| {
                ActionGateActor::new(policy, caps, audit, approvals, timeout, max)
            })?
        };
        let desk = Arc::new(Desk {
            policy: Arc::clone(&self.policy),
            limits,
            audit: audit.clone(),
        });
        let mut channels = BTreeMap::new();
        for entry in [
            ChannelEntry::new(heartbeat.clone(), None, Visibility::Private),
            ChannelEntry::new(approvals.clone(), None, Visibility::Private),
            ChannelEntry::new(audit_channel.clone(), None, Visibility::Private),
        ] {
            channels.insert(entry.id().clone(), entry);
        }
        let id: Arc<str> = Arc::from(self.id);
        // The module loader docks with the kernel's address, and the kernel hands its
        // clients the loader's: the loader starts beside the kernel, as the kernel starts.
        let (started, managers) = oneshot::channel();
        let actor = {
            let id = Arc::clone(&id);
            let audit = audit.clone();
            let kernel_channels = kernel_channels.clone();
            let heartbeat_every = self.heartbeat_every;
            let preflight = Preflight::new(Arc::clone(&self.policy), self.frameworks);
            move |ctx: &mut actix::Context<KernelActor>| {
                let loader =
                    ModuleLoaderActor::new(ctx.address(), preflight, audit.clone()).start();
                let managers = Arc::new(ManagerSet {
                    caps,
                    desk,
                    gate,
                    lifecycle,
                    modules: Loader {
                        loads: loader.clone().recipient(),
                        unloads: loader.clone().recipient(),
                    },
                });
                let _ = started.send((managers.clone(), loader));
                KernelActor {
                    id,
                    limits,
                    managers,
                    audit,
                    kernel_channels,
                    channels,
                    pending_channels: BTreeSet::new(),
                    members: BTreeMap::new(),
                    shutting_down: false,
                    heartbeat_every,
                    beats: 0,
                    beating: false,
                }
            }
        };
        let kernel = place.start(Some(&core), actor)?;
        let (managers, modules) = managers.await.map_err(|_| KernelError::ArbiterStopped)?;
        Ok(KernelHandle {
            id,
            name: Arc::from(self.name),
            kernel,
            managers,
            modules,
            heartbeat,
            approvals,
            audit_channel,
            audit,
        })
    }
}
