//! [`Access`]: what a check asks for.

use std::sync::Arc;

use super::resource::ResourceRef;
use crate::rights::Rights;

/// One access to be checked: rights on a resource, optionally naming the action and the
/// target that caveats restrict.
///
/// A capability restricted to some actions or targets only allows accesses that name
/// them; an access that names none is denied by such a capability (fail closed).
///
/// ```
/// use exokern_actors::capability::{Access, ResourceRef};
/// use exokern_actors::Rights;
///
/// let access = Access::new(ResourceRef::executor("http"), Rights::EXECUTE)
///     .action("GET")
///     .target("https://example.com/");
/// assert_eq!(access.action_name(), Some("GET"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    resource: ResourceRef,
    rights: Rights,
    action: Option<Arc<str>>,
    target: Option<Arc<str>>,
}

impl Access {
    /// Asks for `rights` on `resource`.
    pub fn new(resource: ResourceRef, rights: Rights) -> Access {
        Access {
            resource,
            rights,
            action: None,
            target: None,
        }
    }

    /// Names the action, for capabilities restricted to some actions.
    #[must_use]
    pub fn action(mut self, action: impl Into<Arc<str>>) -> Access {
        self.action = Some(action.into());
        self
    }

    /// Names the target, for capabilities restricted to target patterns.
    #[must_use]
    pub fn target(mut self, target: impl Into<Arc<str>>) -> Access {
        self.target = Some(target.into());
        self
    }

    /// The resource asked for.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The rights asked for.
    pub fn rights(&self) -> Rights {
        self.rights
    }

    /// The action named, if any.
    pub fn action_name(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The target named, if any.
    pub fn target_name(&self) -> Option<&str> {
        self.target.as_deref()
    }
}
