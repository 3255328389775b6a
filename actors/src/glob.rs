//! [`Glob`]: the one pattern language of exokern, used by capability caveats and by
//! policy rules.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest pattern accepted, in bytes.
pub const MAX_GLOB_LEN: usize = 256;

/// A pattern over names: `*` matches any run of characters (also none), every other
/// character matches itself.
///
/// ```
/// use exokern_actors::Glob;
///
/// let reports = Glob::new("reports/*.csv").unwrap();
/// assert!(reports.matches("reports/2026/q1.csv"));
/// assert!(!reports.matches("reports/q1.csv.gz"));
/// assert!(Glob::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Glob(Arc<str>);

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad pattern {pattern:?}: a pattern is 1 to {MAX_GLOB_LEN} bytes of printable text")]
pub struct GlobError {
    /// The pattern, escaped.
    pub pattern: String,
}

impl Glob {
    /// Validates `pattern`: non-empty, at most [`MAX_GLOB_LEN`] bytes, no control
    /// characters.
    pub fn new(pattern: impl Into<Arc<str>>) -> Result<Glob, GlobError> {
        let pattern = pattern.into();
        if pattern.is_empty()
            || pattern.len() > MAX_GLOB_LEN
            || pattern.chars().any(char::is_control)
        {
            return Err(GlobError {
                pattern: pattern.escape_debug().to_string(),
            });
        }
        Ok(Glob(pattern))
    }

    /// A pattern checked later, as a whole set of caveats is validated at once.
    pub(crate) fn unchecked(pattern: Arc<str>) -> Glob {
        Glob(pattern)
    }

    /// The pattern that matches everything.
    pub fn any() -> Glob {
        Glob(Arc::from("*"))
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `true` if the pattern is `*` alone (or only stars).
    pub fn matches_everything(&self) -> bool {
        self.0.bytes().all(|b| b == b'*')
    }

    /// Does `text` match? Single-star backtracking: linear in practice, never worse than
    /// `O(pattern × text)`.
    pub fn matches(&self, text: &str) -> bool {
        let (p, t) = (self.0.as_bytes(), text.as_bytes());
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && p[pi] == b'*' {
                star = Some((pi, ti));
                pi += 1;
            } else if pi < p.len() && p[pi] == t[ti] {
                pi += 1;
                ti += 1;
            } else if let Some((star_pi, star_ti)) = star {
                pi = star_pi + 1;
                ti = star_ti + 1;
                star = Some((star_pi, star_ti + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&b| b == b'*')
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", &*self.0)
    }
}

impl std::str::FromStr for Glob {
    type Err = GlobError;
    fn from_str(s: &str) -> Result<Glob, GlobError> {
        Glob::new(s)
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Glob, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Glob::new(&*s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).unwrap().matches(text)
    }

    #[test]
    fn patterns_match_like_globs() {
        assert!(matches("a", "a"));
        assert!(!matches("a", "ab"));
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("reports/*", "reports/2026/q1"));
        assert!(!matches("reports/*", "report/x"));
        assert!(matches("*.csv", "a.b.csv"));
        assert!(!matches("*.csv", "a.csv.gz"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("**", "x"));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("a\nb").is_err());
        assert!(Glob::new("x".repeat(MAX_GLOB_LEN + 1)).is_err());
        assert!(Glob::new("x".repeat(MAX_GLOB_LEN)).is_ok());
    }
}
