//! [`ResourceRef`]: what a capability governs, and [`Scope`]: which resources one
//! capability covers.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ChannelId, IdError, SystemId};

/// The longest name a resource may carry (domain, program, mode, server, executor, kind).
pub const MAX_RESOURCE_NAME: usize = 256;

/// A protected resource.
///
/// The first eight variants are the seed's (Oxios) resources with the same serde form
/// (`{"kind": "Exec", "ref": {"mode": "shell"}}`) and the same display strings
/// (`exec:shell`); exokern adds channels, the kernel's executors and a custom kind for
/// resources an embedding program defines. `FromStr` parses the display form back.
///
/// ```
/// use exokern_actors::capability::ResourceRef;
///
/// let shell: ResourceRef = "exec:shell".parse().unwrap();
/// assert_eq!(shell, ResourceRef::Exec { mode: "shell".into() });
/// assert_eq!(ResourceRef::executor("http").to_string(), "executor:http");
/// assert_eq!("custom:db:orders".parse::<ResourceRef>().unwrap().to_string(), "custom:db:orders");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "ref")]
pub enum ResourceRef {
    /// A kernel domain such as `memory` or `security`.
    KernelDomain {
        /// The domain's name.
        domain: Arc<str>,
    },
    /// An installed program.
    Program {
        /// The program's name.
        name: Arc<str>,
    },
    /// A workspace space.
    Space {
        /// The space's id.
        id: Uuid,
    },
    /// Another agent, that is, a system of the constellation.
    Agent {
        /// The system's id.
        id: SystemId,
    },
    /// Command execution, in a mode such as `shell` or `structured`.
    Exec {
        /// The execution mode.
        mode: Arc<str>,
    },
    /// Headless browser access.
    Browser,
    /// Agent-to-agent communication.
    A2a,
    /// A Model Context Protocol server.
    Mcp {
        /// The server's name.
        server: Arc<str>,
    },
    /// A channel of the constellation.
    Channel {
        /// The channel's id.
        id: ChannelId,
    },
    /// An executor registered with the kernel's action gate.
    Executor {
        /// The executor's name.
        name: Arc<str>,
    },
    /// A resource kind the embedding program defines.
    Custom {
        /// The kind, e.g. `db`.
        kind: Arc<str>,
        /// The resource within the kind, e.g. `orders`.
        name: Arc<str>,
    },
}

impl ResourceRef {
    /// A kernel domain.
    pub fn domain(domain: impl Into<Arc<str>>) -> ResourceRef {
        ResourceRef::KernelDomain {
            domain: domain.into(),
        }
    }

    /// An executor of the action gate.
    pub fn executor(name: impl Into<Arc<str>>) -> ResourceRef {
        ResourceRef::Executor { name: name.into() }
    }

    /// A channel.
    pub fn channel(id: ChannelId) -> ResourceRef {
        ResourceRef::Channel { id }
    }

    /// The kind of this resource, for kind-wide scopes.
    pub fn kind(&self) -> ResourceKind {
        match self {
            ResourceRef::KernelDomain { .. } => ResourceKind::KernelDomain,
            ResourceRef::Program { .. } => ResourceKind::Program,
            ResourceRef::Space { .. } => ResourceKind::Space,
            ResourceRef::Agent { .. } => ResourceKind::Agent,
            ResourceRef::Exec { .. } => ResourceKind::Exec,
            ResourceRef::Browser => ResourceKind::Browser,
            ResourceRef::A2a => ResourceKind::A2a,
            ResourceRef::Mcp { .. } => ResourceKind::Mcp,
            ResourceRef::Channel { .. } => ResourceKind::Channel,
            ResourceRef::Executor { .. } => ResourceKind::Executor,
            ResourceRef::Custom { kind, .. } => ResourceKind::Custom(kind.clone()),
        }
    }

    /// Checks the lengths and characters of the names this resource carries.
    ///
    /// Values built in code or deserialized are checked when they are granted, so a
    /// capability never names an empty, overlong or control-character resource.
    pub fn validate(&self) -> Result<(), ResourceError> {
        match self {
            ResourceRef::KernelDomain { domain: name }
            | ResourceRef::Program { name }
            | ResourceRef::Exec { mode: name }
            | ResourceRef::Mcp { server: name }
            | ResourceRef::Executor { name } => check_name(name),
            ResourceRef::Custom { kind, name } => {
                check_kind(kind)?;
                check_name(name)
            }
            ResourceRef::Space { .. }
            | ResourceRef::Agent { .. }
            | ResourceRef::Browser
            | ResourceRef::A2a
            | ResourceRef::Channel { .. } => Ok(()),
        }
    }
}

fn check_kind(kind: &str) -> Result<(), ResourceError> {
    check_name(kind)?;
    if kind.contains(':') {
        return Err(ResourceError::BadName {
            name: kind.to_string(),
            reason: "a custom kind cannot contain `:`",
        });
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), ResourceError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_RESOURCE_NAME {
        "it is longer than 256 bytes"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(ResourceError::BadName {
        name: name.escape_debug().to_string(),
        reason,
    })
}

/// Formats as in the seed: `kernel:memory`, `program:x`, `space:<uuid>`, `agent:x`,
/// `exec:shell`, `browser`, `a2a`, `mcp:x`; and `channel:x`, `executor:x`,
/// `custom:kind:name`.
impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceRef::KernelDomain { domain } => write!(f, "kernel:{domain}"),
            ResourceRef::Program { name } => write!(f, "program:{name}"),
            ResourceRef::Space { id } => write!(f, "space:{id}"),
            ResourceRef::Agent { id } => write!(f, "agent:{id}"),
            ResourceRef::Exec { mode } => write!(f, "exec:{mode}"),
            ResourceRef::Browser => f.write_str("browser"),
            ResourceRef::A2a => f.write_str("a2a"),
            ResourceRef::Mcp { server } => write!(f, "mcp:{server}"),
            ResourceRef::Channel { id } => write!(f, "channel:{id}"),
            ResourceRef::Executor { name } => write!(f, "executor:{name}"),
            ResourceRef::Custom { kind, name } => write!(f, "custom:{kind}:{name}"),
        }
    }
}

/// Why a resource or scope string or value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// The prefix before `:` names no resource kind.
    #[error("unknown resource kind in `{input}`: use kernel, program, space, agent, exec, browser, a2a, mcp, channel, executor or custom")]
    UnknownKind {
        /// The rejected input.
        input: String,
    },
    /// The kind needs a name after `:` and has none, or has one it must not have.
    #[error("`{input}` is malformed: {expected}")]
    Malformed {
        /// The rejected input.
        input: String,
        /// The form that was expected.
        expected: &'static str,
    },
    /// A name is empty, too long or has control characters.
    #[error("resource name `{name}` is not allowed: {reason}")]
    BadName {
        /// The rejected name (escaped).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A space id is not a UUID.
    #[error("space id `{input}` is not a UUID")]
    BadUuid {
        /// The rejected id.
        input: String,
    },
    /// An agent or channel id is invalid.
    #[error(transparent)]
    Id(#[from] IdError),
}

impl FromStr for ResourceRef {
    type Err = ResourceError;

    fn from_str(s: &str) -> Result<ResourceRef, ResourceError> {
        let (kind, rest) = match s.split_once(':') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (s, None),
        };
        let named = |expected| {
            rest.ok_or_else(|| ResourceError::Malformed {
                input: s.to_owned(),
                expected,
            })
        };
        let resource = match kind {
            "browser" | "a2a" if rest.is_some() => {
                return Err(ResourceError::Malformed {
                    input: s.to_owned(),
                    expected: "`browser` and `a2a` take no name",
                })
            }
            "browser" => ResourceRef::Browser,
            "a2a" => ResourceRef::A2a,
            "kernel" => ResourceRef::domain(named("kernel:DOMAIN")?),
            "program" => ResourceRef::Program {
                name: named("program:NAME")?.into(),
            },
            "space" => {
                let id = named("space:UUID")?;
                ResourceRef::Space {
                    id: id.parse().map_err(|_| ResourceError::BadUuid {
                        input: id.to_owned(),
                    })?,
                }
            }
            "agent" => ResourceRef::Agent {
                id: SystemId::new(named("agent:SYSTEM")?)?,
            },
            "exec" => ResourceRef::Exec {
                mode: named("exec:MODE")?.into(),
            },
            "mcp" => ResourceRef::Mcp {
                server: named("mcp:SERVER")?.into(),
            },
            "channel" => ResourceRef::Channel {
                id: ChannelId::new(named("channel:ID")?)?,
            },
            "executor" => ResourceRef::executor(named("executor:NAME")?),
            "custom" => {
                let rest = named("custom:KIND:NAME")?;
                let (kind, name) = rest.split_once(':').ok_or(ResourceError::Malformed {
                    input: s.to_owned(),
                    expected: "custom:KIND:NAME",
                })?;
                ResourceRef::Custom {
                    kind: kind.into(),
                    name: name.into(),
                }
            }
            _ => {
                return Err(ResourceError::UnknownKind {
                    input: s.to_owned(),
                })
            }
        };
        resource.validate()?;
        Ok(resource)
    }
}

/// The kind of a [`ResourceRef`], without its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    /// Kernel domains.
    KernelDomain,
    /// Programs.
    Program,
    /// Spaces.
    Space,
    /// Agents (systems).
    Agent,
    /// Execution modes.
    Exec,
    /// The browser.
    Browser,
    /// Agent-to-agent communication.
    A2a,
    /// MCP servers.
    Mcp,
    /// Channels.
    Channel,
    /// Executors.
    Executor,
    /// A custom kind, by name.
    Custom(Arc<str>),
}

impl ResourceKind {
    fn prefix(&self) -> &str {
        match self {
            ResourceKind::KernelDomain => "kernel",
            ResourceKind::Program => "program",
            ResourceKind::Space => "space",
            ResourceKind::Agent => "agent",
            ResourceKind::Exec => "exec",
            ResourceKind::Browser => "browser",
            ResourceKind::A2a => "a2a",
            ResourceKind::Mcp => "mcp",
            ResourceKind::Channel => "channel",
            ResourceKind::Executor => "executor",
            ResourceKind::Custom(kind) => kind,
        }
    }
}

/// Which resources one capability covers: exactly one, or every resource of a kind.
///
/// The seed's templates wrote `Mcp { server: "*" }` and the nil UUID as if they were
/// wildcards, but its check compared for equality, so they matched nothing real. Here a
/// kind-wide grant is its own variant and really covers every resource of that kind;
/// derivation may narrow it to one resource, never the reverse.
///
/// ```
/// use exokern_actors::capability::{ResourceKind, ResourceRef, Scope};
///
/// let every_server = Scope::Kind(ResourceKind::Mcp);
/// assert!(every_server.covers(&"mcp:github".parse().unwrap()));
/// assert!(!every_server.covers(&ResourceRef::A2a));
/// assert_eq!(every_server.to_string(), "mcp:*");
/// assert!(Scope::from(ResourceRef::A2a).is_within(&Scope::Kind(ResourceKind::A2a)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One resource.
    Exact(ResourceRef),
    /// Every resource of a kind.
    Kind(ResourceKind),
}

impl Scope {
    /// `true` if this scope includes `resource`.
    pub fn covers(&self, resource: &ResourceRef) -> bool {
        match self {
            Scope::Exact(own) => own == resource,
            Scope::Kind(kind) => match (kind, resource) {
                (ResourceKind::Custom(kind), ResourceRef::Custom { kind: other, .. }) => {
                    kind == other
                }
                (ResourceKind::Custom(_), _) => false,
                _ => *kind == resource.kind(),
            },
        }
    }

    /// `true` if everything `self` covers is also covered by `outer` (`self ⊆ outer`).
    pub fn is_within(&self, outer: &Scope) -> bool {
        match (self, outer) {
            (Scope::Exact(resource), outer) => outer.covers(resource),
            (Scope::Kind(inner), Scope::Kind(outer)) => inner == outer,
            (Scope::Kind(_), Scope::Exact(_)) => false,
        }
    }

    /// Checks the names in the scope; see [`ResourceRef::validate`].
    pub fn validate(&self) -> Result<(), ResourceError> {
        match self {
            Scope::Exact(resource) => resource.validate(),
            Scope::Kind(ResourceKind::Custom(kind)) => check_kind(kind),
            Scope::Kind(_) => Ok(()),
        }
    }
}

impl From<ResourceRef> for Scope {
    fn from(resource: ResourceRef) -> Scope {
        Scope::Exact(resource)
    }
}

/// The resource's display form, or `KIND:*` for a kind-wide scope (`custom:KIND:*`).
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Exact(resource) => resource.fmt(f),
            Scope::Kind(ResourceKind::Custom(kind)) => write!(f, "custom:{kind}:*"),
            Scope::Kind(kind) => write!(f, "{}:*", kind.prefix()),
        }
    }
}

/// Parses a resource's display form, or `KIND:*` / `custom:KIND:*` for a kind-wide scope.
impl FromStr for Scope {
    type Err = ResourceError;

    fn from_str(s: &str) -> Result<Scope, ResourceError> {
        let Some(prefix) = s.strip_suffix(":*") else {
            return s.parse().map(Scope::Exact);
        };
        let kind = match prefix {
            "kernel" => ResourceKind::KernelDomain,
            "program" => ResourceKind::Program,
            "space" => ResourceKind::Space,
            "agent" => ResourceKind::Agent,
            "exec" => ResourceKind::Exec,
            "browser" => ResourceKind::Browser,
            "a2a" => ResourceKind::A2a,
            "mcp" => ResourceKind::Mcp,
            "channel" => ResourceKind::Channel,
            "executor" => ResourceKind::Executor,
            _ => match prefix.strip_prefix("custom:") {
                Some(kind) => ResourceKind::Custom(kind.into()),
                None => {
                    return Err(ResourceError::UnknownKind {
                        input: s.to_owned(),
                    })
                }
            },
        };
        let scope = Scope::Kind(kind);
        scope.validate()?;
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip_for_every_kind() {
        let all = [
            "kernel:memory",
            "program:calc",
            "space:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "agent:planner",
            "exec:shell",
            "browser",
            "a2a",
            "mcp:github",
            "channel:news",
            "executor:http",
            "custom:db:orders",
        ];
        for text in all {
            let resource: ResourceRef = text.parse().unwrap();
            assert_eq!(resource.to_string(), text);
            let scope: Scope = text.parse().unwrap();
            assert_eq!(scope, Scope::Exact(resource));
        }
    }

    #[test]
    fn serde_form_is_the_seeds() {
        let shell = ResourceRef::Exec {
            mode: "shell".into(),
        };
        let json = serde_json::to_string(&shell).unwrap();
        assert_eq!(json, r#"{"kind":"Exec","ref":{"mode":"shell"}}"#);
        assert_eq!(
            serde_json::to_string(&ResourceRef::Browser).unwrap(),
            r#"{"kind":"Browser"}"#
        );
        let domain: ResourceRef =
            serde_json::from_str(r#"{"kind":"KernelDomain","ref":{"domain":"memory"}}"#).unwrap();
        assert_eq!(domain, ResourceRef::domain("memory"));
    }

    #[test]
    fn bad_strings_are_typed_errors() {
        assert!(matches!(
            "disk:x".parse::<ResourceRef>(),
            Err(ResourceError::UnknownKind { .. })
        ));
        assert!(matches!(
            "exec".parse::<ResourceRef>(),
            Err(ResourceError::Malformed { .. })
        ));
        assert!(matches!(
            "browser:x".parse::<ResourceRef>(),
            Err(ResourceError::Malformed { .. })
        ));
        assert!(matches!(
            "space:nope".parse::<ResourceRef>(),
            Err(ResourceError::BadUuid { .. })
        ));
        assert!(matches!(
            "agent:kernel.x".parse::<ResourceRef>(),
            Err(ResourceError::Id(_))
        ));
        assert!(matches!(
            "exec:".parse::<ResourceRef>(),
            Err(ResourceError::BadName { .. })
        ));
        assert!(matches!(
            "mcp:a\u{7}b".parse::<ResourceRef>(),
            Err(ResourceError::BadName { .. })
        ));
        assert!(matches!(
            "custom:db".parse::<ResourceRef>(),
            Err(ResourceError::Malformed { .. })
        ));
        assert!(matches!(
            "disk:*".parse::<Scope>(),
            Err(ResourceError::UnknownKind { .. })
        ));
    }

    #[test]
    fn kind_scopes_cover_their_kind_only() {
        let mcp: Scope = "mcp:*".parse().unwrap();
        assert!(mcp.covers(&"mcp:a".parse().unwrap()));
        assert!(!mcp.covers(&"exec:a".parse().unwrap()));
        let db: Scope = "custom:db:*".parse().unwrap();
        assert_eq!(db.to_string(), "custom:db:*");
        assert!(db.covers(&"custom:db:orders".parse().unwrap()));
        assert!(!db.covers(&"custom:queue:orders".parse().unwrap()));
        assert!(!db.covers(&ResourceRef::Browser));
    }

    #[test]
    fn within_is_the_resource_lattice() {
        let one: Scope = "mcp:a".parse().unwrap();
        let all: Scope = "mcp:*".parse().unwrap();
        assert!(one.is_within(&all));
        assert!(one.is_within(&one));
        assert!(all.is_within(&all));
        assert!(!all.is_within(&one));
        assert!(!one.is_within(&"mcp:b".parse().unwrap()));
        assert!(!one.is_within(&"exec:*".parse().unwrap()));
    }
}
