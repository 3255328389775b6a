//! [`Gateway`]: what the HTTP surface serves — the kernel, its remote systems and the
//! tokens that act as them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
#[cfg(feature = "http")]
use std::time::SystemTime;

use dashmap::DashMap;
use exokern_actors::kernel::{DockError, KernelHandle, RemoteDock, RemoteSystem};
use exokern_actors::SystemId;

#[cfg(feature = "http")]
use crate::tokens::TokenError;
use crate::tokens::{RecordError, Token, TokenRecord, TokenStore};

/// The most messages one read or claim may ask for.
pub const MAX_LIMIT: usize = 1_000;

/// The HTTP surface's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpLimits {
    /// The largest request body accepted, in bytes; a larger one is answered 413.
    pub max_body_bytes: usize,
}

impl HttpLimits {
    /// The same limits with a body limit of `bytes`.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> HttpLimits {
        self.max_body_bytes = bytes;
        self
    }
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_body_bytes: 1 << 20,
        }
    }
}

/// The state behind exokern's routes: the kernel, the remote systems requests act as,
/// and the tokens that name them. Cheap to clone.
///
/// Remote systems join with [`dock`](Self::dock) (or [`add`](Self::add), for one
/// docked elsewhere); tokens with [`mint`](Self::mint) or [`accept`](Self::accept).
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    kernel: KernelHandle,
    limits: HttpLimits,
    /// Read by every request, from any worker thread: sharded, so they share no lock, as
    /// the tokens are.
    remotes: DashMap<SystemId, RemoteSystem>,
    tokens: TokenStore,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("kernel", &self.inner.kernel)
            .field("limits", &self.inner.limits)
            .field("remotes", &self.inner.remotes.len())
            .finish()
    }
}

impl Gateway {
    /// A gateway to `kernel`, with no remote systems yet.
    pub fn new(kernel: KernelHandle, limits: HttpLimits) -> Gateway {
        Gateway {
            inner: Arc::new(Inner {
                kernel,
                limits,
                remotes: DashMap::default(),
                tokens: TokenStore::new(),
            }),
        }
    }

    /// The kernel.
    pub fn kernel(&self) -> &KernelHandle {
        &self.inner.kernel
    }

    /// The bounds requests are held to.
    pub fn limits(&self) -> HttpLimits {
        self.inner.limits
    }

    /// Docks a remote system and serves it.
    pub async fn dock(&self, dock: RemoteDock) -> Result<RemoteSystem, DockError> {
        let remote = self.inner.kernel.dock_remote(dock).await?;
        self.add(remote.clone());
        Ok(remote)
    }

    /// Serves a remote system docked with [`KernelHandle::dock_remote`].
    pub fn add(&self, remote: RemoteSystem) {
        self.inner.remotes.insert(remote.id().clone(), remote);
    }

    /// Mints a token acting as `system`, valid for `ttl` (forever if `None`).
    pub fn mint(&self, system: SystemId, ttl: Option<Duration>) -> (Token, TokenRecord) {
        self.inner.tokens.mint(system, ttl)
    }

    /// Accepts tokens matching `record` (as `exokern token` printed it).
    pub fn accept(&self, record: TokenRecord) -> Result<(), RecordError> {
        self.inner.tokens.insert(record)
    }

    /// Stops accepting the token with id `id`; answers whether there was one.
    pub fn revoke_token(&self, id: &str) -> bool {
        self.inner.tokens.revoke(id)
    }

    /// Stops accepting every token of `system`; answers how many there were.
    pub fn revoke_tokens_of(&self, system: &SystemId) -> usize {
        self.inner.tokens.revoke_system(system)
    }

    /// The remote system a presented token acts as.
    #[cfg(feature = "http")]
    pub(crate) fn authenticate(&self, presented: &str) -> Result<Authenticated, TokenError> {
        let system = self.inner.tokens.verify(presented, SystemTime::now())?;
        Ok(match self.inner.remotes.get(&system) {
            Some(remote) => Authenticated::Remote(remote.clone()),
            None => Authenticated::NotServed(system),
        })
    }
}

/// Who a valid token names.
#[cfg(feature = "http")]
pub(crate) enum Authenticated {
    /// A remote system this gateway serves.
    Remote(RemoteSystem),
    /// A system this gateway does not serve (never docked as a remote here).
    NotServed(SystemId),
}
