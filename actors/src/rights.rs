//! [`Rights`]: the READ / WRITE / EXECUTE / DELEGATE bit set carried by grants and
//! capabilities.

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of access rights, stored as a 4-bit mask (`0x00..=0x0F`).
///
/// | right    | bit  | meaning on a channel                               |
/// |----------|------|----------------------------------------------------|
/// | READ     | 0x01 | read, subscribe, claim, receive an inbox           |
/// | WRITE    | 0x02 | publish, enqueue, send, reply                      |
/// | EXECUTE  | 0x04 | run an executor (used by the action gate)          |
/// | DELEGATE | 0x08 | pass a narrowed copy of the right to another holder |
///
/// Rights only ever combine with the set operations below; there is no way to build a
/// value outside the four bits.
///
/// ```
/// use exokern_actors::Rights;
///
/// let rw = Rights::READ | Rights::WRITE;
/// assert!(rw.contains(Rights::READ));
/// assert!(!rw.contains(Rights::EXECUTE));
/// assert_eq!(rw.to_string(), "R|W");
/// assert_eq!("read|write".parse::<Rights>().unwrap(), rw);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u8);

impl Rights {
    /// No rights at all.
    pub const NONE: Rights = Rights(0x00);
    /// Read access.
    pub const READ: Rights = Rights(0x01);
    /// Write access.
    pub const WRITE: Rights = Rights(0x02);
    /// Execute access.
    pub const EXECUTE: Rights = Rights(0x04);
    /// The right to delegate a subset of these rights.
    pub const DELEGATE: Rights = Rights(0x08);
    /// All four rights.
    pub const ALL: Rights = Rights(0x0F);

    const NAMES: [(Rights, &'static str, &'static str); 4] = [
        (Rights::READ, "R", "READ"),
        (Rights::WRITE, "W", "WRITE"),
        (Rights::EXECUTE, "X", "EXECUTE"),
        (Rights::DELEGATE, "D", "DELEGATE"),
    ];

    /// The raw bit mask.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Builds a set from a raw mask, or `None` if bits outside `0x0F` are set.
    pub const fn from_bits(bits: u8) -> Option<Rights> {
        if bits & !Rights::ALL.0 == 0 {
            Some(Rights(bits))
        } else {
            None
        }
    }

    /// `true` if every right in `other` is also in `self`.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights in either set.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// The rights in both sets.
    pub const fn intersect(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }

    /// The rights in `self` that are not in `other`.
    pub const fn difference(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    /// `true` if no right is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `true` if every right in `self` is also in `other` (`self` ⊆ `other`).
    pub const fn is_subset_of(self, other: Rights) -> bool {
        other.contains(self)
    }
}

impl BitOr for Rights {
    type Output = Rights;
    fn bitor(self, rhs: Rights) -> Rights {
        self.union(rhs)
    }
}

impl BitOrAssign for Rights {
    fn bitor_assign(&mut self, rhs: Rights) {
        *self = self.union(rhs);
    }
}

impl BitAnd for Rights {
    type Output = Rights;
    fn bitand(self, rhs: Rights) -> Rights {
        self.intersect(rhs)
    }
}

impl BitAndAssign for Rights {
    fn bitand_assign(&mut self, rhs: Rights) {
        *self = self.intersect(rhs);
    }
}

/// Formats as in the seed: `ALL`, `NONE`, or the letters joined by `|` (`R|W|X|D`).
impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Rights::ALL {
            return f.write_str("ALL");
        }
        if self.is_empty() {
            return f.write_str("NONE");
        }
        let mut first = true;
        for (right, letter, _) in Rights::NAMES {
            if self.contains(right) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(letter)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights({self})")
    }
}

/// A string that names no right; returned by [`Rights::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown right `{0}`: use READ, WRITE, EXECUTE, DELEGATE (or R, W, X, D), ALL or NONE, joined by `|`")]
pub struct ParseRightsError(String);

/// Parses `ALL`, `NONE`, or rights joined by `|`, by letter or full name, in any case:
/// `"R|W"`, `"read|write"`, `"EXECUTE"`.
impl FromStr for Rights {
    type Err = ParseRightsError;

    fn from_str(s: &str) -> Result<Rights, ParseRightsError> {
        let mut rights = Rights::NONE;
        for part in s.split('|').map(str::trim) {
            let found = if part.eq_ignore_ascii_case("ALL") {
                Some(Rights::ALL)
            } else if part.eq_ignore_ascii_case("NONE") {
                Some(Rights::NONE)
            } else {
                Rights::NAMES
                    .iter()
                    .find(|(_, letter, name)| {
                        part.eq_ignore_ascii_case(letter) || part.eq_ignore_ascii_case(name)
                    })
                    .map(|(right, _, _)| *right)
            };
            rights |= found.ok_or_else(|| ParseRightsError(part.to_owned()))?;
        }
        Ok(rights)
    }
}

/// Serialises as the seed does: the bare mask as an integer.
impl Serialize for Rights {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

/// Accepts the seed's integer form (rejecting bits above `0x0F`) or the string form of
/// [`Rights::from_str`].
impl<'de> Deserialize<'de> for Rights {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rights, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Bits(u64),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Bits(bits) => u8::try_from(bits)
                .ok()
                .and_then(Rights::from_bits)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "rights mask {bits:#x} has bits outside 0x0F (READ=1, WRITE=2, EXECUTE=4, DELEGATE=8)"
                    ))
                }),
            Repr::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_follow_the_seed() {
        let rw = Rights::READ | Rights::WRITE;
        assert!(rw.contains(Rights::READ) && rw.contains(Rights::WRITE));
        assert!(!rw.contains(Rights::ALL));
        assert!(rw.contains(Rights::NONE));
        assert_eq!(rw.intersect(Rights::WRITE | Rights::EXECUTE), Rights::WRITE);
        assert_eq!(rw & Rights::EXECUTE, Rights::NONE);
        assert_eq!(rw.difference(Rights::READ), Rights::WRITE);
        assert!(Rights::NONE.is_empty() && !rw.is_empty());
        assert!(Rights::READ.is_subset_of(rw) && !rw.is_subset_of(Rights::READ));
        assert_eq!(Rights::READ.bits(), 0x01);
        assert_eq!(Rights::DELEGATE.bits(), 0x08);
        assert_eq!(Rights::ALL.bits(), 0x0F);
    }

    #[test]
    fn masks_outside_four_bits_are_rejected() {
        assert_eq!(Rights::from_bits(0x0F), Some(Rights::ALL));
        assert_eq!(Rights::from_bits(0x10), None);
        let err = serde_plain_u8(0x1F).unwrap_err();
        assert!(err.contains("outside 0x0F"), "{err}");
    }

    #[test]
    fn display_matches_the_seed() {
        assert_eq!(Rights::ALL.to_string(), "ALL");
        assert_eq!(Rights::NONE.to_string(), "NONE");
        assert_eq!((Rights::READ | Rights::EXECUTE).to_string(), "R|X");
        assert_eq!((Rights::WRITE | Rights::DELEGATE).to_string(), "W|D");
    }

    #[test]
    fn parses_letters_names_and_rejects_unknown() {
        assert_eq!(
            "R|W".parse::<Rights>().unwrap(),
            Rights::READ | Rights::WRITE
        );
        assert_eq!(
            " execute | Delegate ".parse::<Rights>().unwrap(),
            Rights::EXECUTE | Rights::DELEGATE
        );
        assert_eq!("all".parse::<Rights>().unwrap(), Rights::ALL);
        assert_eq!("NONE".parse::<Rights>().unwrap(), Rights::NONE);
        let err = "READ|fly".parse::<Rights>().unwrap_err();
        assert!(err.to_string().contains("`fly`"));
        assert!("".parse::<Rights>().is_err());
    }

    fn serde_plain_u8(bits: u64) -> Result<Rights, String> {
        use serde::de::value::{Error, U64Deserializer};
        use serde::de::IntoDeserializer;
        let de: U64Deserializer<Error> = bits.into_deserializer();
        Rights::deserialize(de).map_err(|e| e.to_string())
    }
}
