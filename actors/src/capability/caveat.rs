//! [`Caveats`]: conditions that only narrow what a capability allows.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::glob::Glob;
use tokio::time::Instant;

/// The longest target pattern and action name accepted, in bytes.
pub const MAX_CAVEAT_LEN: usize = 256;

/// The most target patterns one capability may carry, inherited ones included.
pub const MAX_TARGET_PATTERNS: usize = 16;

/// Conditions attached to a capability, on top of its scope and rights.
///
/// A capability with caveats allows an access only if every caveat holds:
///
/// - **actions**: the access names one of these actions;
/// - **targets**: the access names a target matching every pattern (`*` matches any
///   run of characters, everything else matches itself);
/// - **max uses**: at most this many [exercises](super::CapabilityTable::exercise), shared
///   with every capability derived from this one;
/// - **not after**: the capability expires at this instant of the monotonic clock.
///
/// Caveats only ever narrow. A derived capability keeps all of its parent's caveats and
/// may add more; asking for an action its parent does not allow, more uses or a later
/// expiry is an error, not a silent widening.
///
/// ```
/// use exokern_actors::capability::Caveats;
///
/// let caveats = Caveats::new()
///     .actions(["GET", "HEAD"])
///     .target("https://api.example.com/*")
///     .max_uses(10);
/// assert_eq!(caveats.to_string(), "actions GET|HEAD; target https://api.example.com/*; 10 uses");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caveats {
    actions: Option<BTreeSet<Arc<str>>>,
    targets: Vec<Glob>,
    max_uses: Option<u32>,
    not_after: Option<Instant>,
}

impl Caveats {
    /// No caveats: the capability's scope and rights alone decide.
    pub fn new() -> Caveats {
        Caveats::default()
    }

    /// Allows only these actions. Calling it again narrows to the actions in both lists.
    #[must_use]
    pub fn actions<I, S>(mut self, actions: I) -> Caveats
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        let new: BTreeSet<Arc<str>> = actions.into_iter().map(Into::into).collect();
        self.actions = Some(match self.actions {
            Some(old) => old.intersection(&new).cloned().collect(),
            None => new,
        });
        self
    }

    /// Requires targets to match `pattern` as well as any pattern already present.
    #[must_use]
    pub fn target(mut self, pattern: impl Into<Arc<str>>) -> Caveats {
        let pattern = Glob::unchecked(pattern.into());
        if !self.targets.contains(&pattern) {
            self.targets.push(pattern);
        }
        self
    }

    /// Allows at most `uses` exercises.
    #[must_use]
    pub fn max_uses(mut self, uses: u32) -> Caveats {
        self.max_uses = Some(self.max_uses.map_or(uses, |old| old.min(uses)));
        self
    }

    /// Expires the capability at `deadline`.
    #[must_use]
    pub fn not_after(mut self, deadline: Instant) -> Caveats {
        self.not_after = Some(self.not_after.map_or(deadline, |old| old.min(deadline)));
        self
    }

    /// The allowed actions, or `None` if any action is allowed.
    pub fn allowed_actions(&self) -> Option<impl Iterator<Item = &str>> {
        self.actions.as_ref().map(|set| set.iter().map(|a| &**a))
    }

    /// The target patterns, all of which must match.
    pub fn target_patterns(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(Glob::as_str)
    }

    /// The use limit, if any.
    pub fn use_limit(&self) -> Option<u32> {
        self.max_uses
    }

    /// The expiry, if any.
    pub fn expiry(&self) -> Option<Instant> {
        self.not_after
    }

    /// `true` if there are no caveats at all.
    pub fn is_empty(&self) -> bool {
        self.actions.is_none()
            && self.targets.is_empty()
            && self.max_uses.is_none()
            && self.not_after.is_none()
    }

    pub(crate) fn validate(&self) -> Result<(), CaveatError> {
        let actions = self.actions.iter().flatten();
        for text in actions
            .map(|a| &**a)
            .chain(self.targets.iter().map(Glob::as_str))
        {
            if text.is_empty() || text.len() > MAX_CAVEAT_LEN || text.chars().any(char::is_control)
            {
                return Err(CaveatError::BadText {
                    text: text.escape_debug().to_string(),
                });
            }
        }
        if self.targets.len() > MAX_TARGET_PATTERNS {
            return Err(CaveatError::TooManyTargets {
                count: self.targets.len(),
            });
        }
        Ok(())
    }

    /// The caveats of a capability derived from one with `self`, asked for with
    /// `requested`: the parent's caveats plus the requested ones, or the first widening.
    pub(crate) fn narrow(&self, requested: &Caveats) -> Result<Caveats, CaveatError> {
        requested.validate()?;
        let actions = match (&self.actions, &requested.actions) {
            (Some(held), Some(asked)) => {
                if let Some(extra) = asked.difference(held).next() {
                    return Err(CaveatError::WidensActions {
                        action: extra.to_string(),
                    });
                }
                Some(asked.clone())
            }
            (held, asked) => held.clone().or_else(|| asked.clone()),
        };
        let mut targets = self.targets.clone();
        for pattern in &requested.targets {
            if !targets.contains(pattern) {
                targets.push(pattern.clone());
            }
        }
        if targets.len() > MAX_TARGET_PATTERNS {
            return Err(CaveatError::TooManyTargets {
                count: targets.len(),
            });
        }
        let not_after = match (self.not_after, requested.not_after) {
            (Some(held), Some(asked)) if asked > held => return Err(CaveatError::WidensExpiry),
            (held, asked) => asked.or(held),
        };
        Ok(Caveats {
            actions,
            targets,
            max_uses: requested.max_uses,
            not_after,
        })
    }

    /// Whether an access naming `action` and `target` passes the action and target caveats.
    pub(crate) fn admits(
        &self,
        action: Option<&str>,
        target: Option<&str>,
    ) -> Result<(), CaveatViolation> {
        if let Some(allowed) = &self.actions {
            match action {
                Some(action) if allowed.contains(action) => {}
                Some(action) => {
                    return Err(CaveatViolation::ActionNotAllowed {
                        action: action.to_owned(),
                    })
                }
                None => return Err(CaveatViolation::ActionRequired),
            }
        }
        for pattern in &self.targets {
            match target {
                Some(target) if pattern.matches(target) => {}
                Some(target) => {
                    return Err(CaveatViolation::TargetNotAllowed {
                        target: target.to_owned(),
                        pattern: pattern.to_string(),
                    })
                }
                None => return Err(CaveatViolation::TargetRequired),
            }
        }
        Ok(())
    }
}

/// `actions A|B; target P; N uses; expiring`, or `none`.
impl fmt::Display for Caveats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(actions) = &self.actions {
            let names: Vec<&str> = actions.iter().map(|a| &**a).collect();
            parts.push(format!("actions {}", names.join("|")));
        }
        for pattern in &self.targets {
            parts.push(format!("target {pattern}"));
        }
        if let Some(uses) = self.max_uses {
            parts.push(format!("{uses} uses"));
        }
        if self.not_after.is_some() {
            parts.push("expiring".to_owned());
        }
        if parts.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&parts.join("; "))
    }
}

/// Serialized for listings: actions, target patterns and the use limit (an expiry is a
/// monotonic instant, which means nothing outside the process; listings report the
/// time left instead).
impl Serialize for Caveats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Caveats", 3)?;
        s.serialize_field("actions", &self.actions)?;
        s.serialize_field(
            "targets",
            &self.targets.iter().map(Glob::as_str).collect::<Vec<_>>(),
        )?;
        s.serialize_field("max_uses", &self.max_uses)?;
        s.end()
    }
}

/// Why a requested set of caveats cannot be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaveatError {
    /// The derived capability would allow an action its parent does not.
    #[error("action `{action}` is not allowed by the parent capability; ask for a subset of its actions")]
    WidensActions {
        /// The action the parent does not allow.
        action: String,
    },
    /// The derived capability would outlive its parent.
    #[error("the requested expiry is later than the parent capability's; ask for an earlier one or none (the parent's is inherited)")]
    WidensExpiry,
    /// The derived capability would allow more uses than its parent has left.
    #[error("{requested} uses requested but the parent capability has {left} left")]
    WidensUses {
        /// The requested limit.
        requested: u32,
        /// The parent's remaining uses.
        left: u32,
    },
    /// An action name or target pattern is empty, too long or has control characters.
    #[error(
        "caveat text `{text}` is not allowed: it must be 1 to 256 bytes with no control characters"
    )]
    BadText {
        /// The rejected text (escaped).
        text: String,
    },
    /// More than [`MAX_TARGET_PATTERNS`] target patterns.
    #[error("{count} target patterns; at most 16 may apply to one capability")]
    TooManyTargets {
        /// How many there would be.
        count: usize,
    },
}

/// Which caveat an access failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "caveat", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CaveatViolation {
    /// The capability allows only some actions and the access named none.
    #[error("the capability allows only listed actions and the access named no action")]
    ActionRequired,
    /// The access named an action the capability does not allow.
    #[error("action `{action}` is not allowed by the capability")]
    ActionNotAllowed {
        /// The action.
        action: String,
    },
    /// The capability restricts targets and the access named none.
    #[error("the capability restricts targets and the access named no target")]
    TargetRequired,
    /// The access named a target outside the capability's patterns.
    #[error("target `{target}` does not match the capability's pattern `{pattern}`")]
    TargetNotAllowed {
        /// The target.
        target: String,
        /// The pattern it failed.
        pattern: String,
    },
    /// The capability, or one it was derived from, has no uses left.
    #[error("the capability has no uses left")]
    UsesExhausted,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn admits_checks_actions_then_targets() {
        let c = Caveats::new().actions(["read"]).target("docs/*");
        assert_eq!(c.admits(Some("read"), Some("docs/a")), Ok(()));
        assert_eq!(
            c.admits(Some("write"), Some("docs/a")),
            Err(CaveatViolation::ActionNotAllowed {
                action: "write".into()
            })
        );
        assert_eq!(
            c.admits(None, Some("docs/a")),
            Err(CaveatViolation::ActionRequired)
        );
        assert_eq!(
            c.admits(Some("read"), None),
            Err(CaveatViolation::TargetRequired)
        );
        assert!(matches!(
            c.admits(Some("read"), Some("etc/passwd")),
            Err(CaveatViolation::TargetNotAllowed { .. })
        ));
        assert_eq!(Caveats::new().admits(None, None), Ok(()));
    }

    #[test]
    fn narrowing_keeps_the_parents_caveats_and_rejects_widening() {
        let now = Instant::now();
        let parent = Caveats::new()
            .actions(["read", "list"])
            .target("docs/*")
            .not_after(now + Duration::from_secs(10));
        let child = parent
            .narrow(&Caveats::new().actions(["read"]).target("*.md"))
            .unwrap();
        assert_eq!(
            child.allowed_actions().unwrap().collect::<Vec<_>>(),
            ["read"]
        );
        assert_eq!(
            child.target_patterns().collect::<Vec<_>>(),
            ["docs/*", "*.md"]
        );
        assert_eq!(child.expiry(), parent.expiry());

        let inherited = parent.narrow(&Caveats::new()).unwrap();
        assert_eq!(inherited, parent);

        assert_eq!(
            parent.narrow(&Caveats::new().actions(["read", "delete"])),
            Err(CaveatError::WidensActions {
                action: "delete".into()
            })
        );
        assert_eq!(
            parent.narrow(&Caveats::new().not_after(now + Duration::from_secs(11))),
            Err(CaveatError::WidensExpiry)
        );
        let sooner = parent
            .narrow(&Caveats::new().not_after(now + Duration::from_secs(5)))
            .unwrap();
        assert_eq!(sooner.expiry(), Some(now + Duration::from_secs(5)));
    }

    #[test]
    fn builder_calls_only_narrow() {
        let now = Instant::now();
        let c = Caveats::new()
            .actions(["a", "b"])
            .actions(["b", "c"])
            .max_uses(5)
            .max_uses(9)
            .not_after(now)
            .not_after(now + Duration::from_secs(1));
        assert_eq!(c.allowed_actions().unwrap().collect::<Vec<_>>(), ["b"]);
        assert_eq!(c.use_limit(), Some(5));
        assert_eq!(c.expiry(), Some(now));
    }

    #[test]
    fn bad_text_and_too_many_targets_are_rejected() {
        assert!(matches!(
            Caveats::new().actions([""]).validate(),
            Err(CaveatError::BadText { .. })
        ));
        assert!(matches!(
            Caveats::new().target("a\nb").validate(),
            Err(CaveatError::BadText { .. })
        ));
        let many = (0..17).fold(Caveats::new(), |c, i| c.target(format!("p{i}")));
        assert_eq!(
            many.validate(),
            Err(CaveatError::TooManyTargets { count: 17 })
        );
    }
}
