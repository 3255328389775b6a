//! [`Template`]: named bundles of grants — worker, standard, operator, supervisor.

use std::fmt;
use std::str::FromStr;

use super::resource::{ResourceKind, ResourceRef, Scope};
use crate::rights::Rights;

/// A named set of `(scope, rights)` grants, minted together with
/// [`CapabilityTable::mint_template`](super::CapabilityTable::mint_template).
///
/// The four built-in templates have the seed's contents, each a superset of the one
/// before; where the seed meant "every space", "every agent" or "every MCP server" (and
/// wrote the nil UUID or `"*"`, which matched nothing real) the grant here is a
/// kind-wide [`Scope`] that covers every resource of the kind. Entries for the same
/// scope merge, so operator's `kernel:memory` is one capability with `R|W`.
///
/// | template | adds |
/// |---|---|
/// | worker | `exec:shell` R\|X, `browser` R\|X |
/// | standard | `kernel:memory` R |
/// | operator | `space:*` R\|W, `agent:*` R\|W, `a2a` R\|W\|X, `kernel:persona` R\|W, `kernel:program` R\|W\|X, `mcp:*` R\|X, `kernel:memory` R\|W |
/// | supervisor | `kernel:security` ALL, `kernel:budget` R\|W, `kernel:resource` R\|W, `kernel:cron` R\|W\|X |
///
/// ```
/// use exokern_actors::capability::{Scope, Template};
/// use exokern_actors::Rights;
///
/// let operator: Template = "operator".parse().unwrap();
/// assert_eq!(operator.len(), 9);
/// let coder = Template::worker().with("program:fmt".parse().unwrap(), Rights::READ | Rights::EXECUTE);
/// assert_eq!(coder.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    name: String,
    grants: Vec<(Scope, Rights)>,
}

const RW: Rights = Rights::READ.union(Rights::WRITE);
const RX: Rights = Rights::READ.union(Rights::EXECUTE);
const RWX: Rights = RW.union(Rights::EXECUTE);

impl Template {
    /// An empty template with a name of your choosing.
    pub fn named(name: impl Into<String>) -> Template {
        Template {
            name: name.into(),
            grants: Vec::new(),
        }
    }

    /// Shell execution and the browser.
    pub fn worker() -> Template {
        Template::named("worker")
            .with(
                ResourceRef::Exec {
                    mode: "shell".into(),
                }
                .into(),
                RX,
            )
            .with(ResourceRef::Browser.into(), RX)
    }

    /// A worker that may also read memory.
    pub fn standard() -> Template {
        Template::worker()
            .renamed("standard")
            .with(ResourceRef::domain("memory").into(), Rights::READ)
    }

    /// A standard system that also manages spaces, agents, personas, programs, MCP
    /// servers and agent-to-agent traffic, and writes memory.
    pub fn operator() -> Template {
        Template::standard()
            .renamed("operator")
            .with(Scope::Kind(ResourceKind::Space), RW)
            .with(Scope::Kind(ResourceKind::Agent), RW)
            .with(ResourceRef::A2a.into(), RWX)
            .with(ResourceRef::domain("persona").into(), RW)
            .with(ResourceRef::domain("program").into(), RWX)
            .with(Scope::Kind(ResourceKind::Mcp), RX)
            .with(ResourceRef::domain("memory").into(), RW)
    }

    /// An operator that also holds security, budget, resource and cron.
    pub fn supervisor() -> Template {
        Template::operator()
            .renamed("supervisor")
            .with(ResourceRef::domain("security").into(), Rights::ALL)
            .with(ResourceRef::domain("budget").into(), RW)
            .with(ResourceRef::domain("resource").into(), RW)
            .with(ResourceRef::domain("cron").into(), RWX)
    }

    /// Adds a grant; rights for a scope already present are merged into it.
    #[must_use]
    pub fn with(mut self, scope: Scope, rights: Rights) -> Template {
        match self.grants.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, held)) => *held |= rights,
            None => self.grants.push((scope, rights)),
        }
        self
    }

    fn renamed(mut self, name: &str) -> Template {
        self.name = name.to_owned();
        self
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its grants, one per scope.
    pub fn grants(&self) -> impl Iterator<Item = (&Scope, Rights)> {
        self.grants.iter().map(|(scope, rights)| (scope, *rights))
    }

    /// How many capabilities it mints.
    pub fn len(&self) -> usize {
        self.grants.len()
    }

    /// `true` if it mints none.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The name given is not a built-in template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability template `{0}`: use worker, standard, operator or supervisor")]
pub struct UnknownTemplate(pub String);

/// Parses a built-in template's name, ignoring case and surrounding spaces. Unlike the
/// seed, an unknown name is an error rather than a silent fallback to `worker`.
impl FromStr for Template {
    type Err = UnknownTemplate;

    fn from_str(s: &str) -> Result<Template, UnknownTemplate> {
        match s.trim().to_ascii_lowercase().as_str() {
            "worker" => Ok(Template::worker()),
            "standard" => Ok(Template::standard()),
            "operator" => Ok(Template::operator()),
            "supervisor" => Ok(Template::supervisor()),
            _ => Err(UnknownTemplate(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights_for(template: &Template, scope: &str) -> Option<Rights> {
        let scope: Scope = scope.parse().unwrap();
        template
            .grants()
            .find(|(s, _)| **s == scope)
            .map(|(_, rights)| rights)
    }

    #[test]
    fn templates_have_the_seeds_contents() {
        let worker = Template::worker();
        assert_eq!(worker.len(), 2);
        assert_eq!(rights_for(&worker, "exec:shell"), Some(RX));
        assert_eq!(rights_for(&worker, "browser"), Some(RX));

        let standard = Template::standard();
        assert_eq!(standard.len(), 3);
        assert_eq!(rights_for(&standard, "kernel:memory"), Some(Rights::READ));

        let operator = Template::operator();
        assert_eq!(operator.len(), 9);
        assert_eq!(rights_for(&operator, "kernel:memory"), Some(RW));
        assert_eq!(rights_for(&operator, "space:*"), Some(RW));
        assert_eq!(rights_for(&operator, "agent:*"), Some(RW));
        assert_eq!(rights_for(&operator, "a2a"), Some(RWX));
        assert_eq!(rights_for(&operator, "kernel:persona"), Some(RW));
        assert_eq!(rights_for(&operator, "kernel:program"), Some(RWX));
        assert_eq!(rights_for(&operator, "mcp:*"), Some(RX));

        let supervisor = Template::supervisor();
        assert_eq!(supervisor.len(), 13);
        assert_eq!(
            rights_for(&supervisor, "kernel:security"),
            Some(Rights::ALL)
        );
        assert_eq!(rights_for(&supervisor, "kernel:budget"), Some(RW));
        assert_eq!(rights_for(&supervisor, "kernel:resource"), Some(RW));
        assert_eq!(rights_for(&supervisor, "kernel:cron"), Some(RWX));
    }

    #[test]
    fn each_template_extends_the_one_before() {
        let chain = [
            Template::worker(),
            Template::standard(),
            Template::operator(),
            Template::supervisor(),
        ];
        for pair in chain.windows(2) {
            for (scope, rights) in pair[0].grants() {
                let wider = pair[1]
                    .grants()
                    .find(|(s, _)| *s == scope)
                    .map(|(_, r)| r)
                    .unwrap_or_else(|| panic!("{} lacks {scope}", pair[1]));
                assert!(rights.is_subset_of(wider), "{} narrows {scope}", pair[1]);
            }
        }
    }

    #[test]
    fn wildcard_grants_cover_real_resources() {
        let operator = Template::operator();
        let covers = |resource: &str| {
            let resource: ResourceRef = resource.parse().unwrap();
            operator.grants().any(|(scope, _)| scope.covers(&resource))
        };
        assert!(covers("mcp:github"));
        assert!(covers("agent:planner"));
        assert!(covers("space:67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(!covers("kernel:security"));
        assert!(!covers("exec:structured"));
    }

    #[test]
    fn names_parse_and_unknown_names_are_errors() {
        assert_eq!(
            " Operator ".parse::<Template>().unwrap(),
            Template::operator()
        );
        assert_eq!(
            "root".parse::<Template>(),
            Err(UnknownTemplate("root".into()))
        );
        assert_eq!(Template::supervisor().to_string(), "supervisor");
    }
}
