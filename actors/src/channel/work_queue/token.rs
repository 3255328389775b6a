//! Claim tokens: the receipt of one delivery of one work item.

use std::fmt;
use std::str::FromStr;

use crate::ids::Seq;

/// Proof of one delivery of one work item, needed to ack, nack or extend it. A token is
/// valid only for the holder it was delivered to, and only while that delivery's lease
/// is live. Its text form (`"<seq>-<16 hex digits>"`) travels over the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken {
    pub(super) seq: Seq,
    pub(super) nonce: u64,
}

impl ClaimToken {
    /// The seq of the claimed item.
    pub fn seq(&self) -> Seq {
        self.seq
    }
}

impl fmt::Display for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:016x}", self.seq, self.nonce)
    }
}

impl fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimToken({self})")
    }
}

/// A string that is not a claim token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a claim token: expected `<seq>-<16 hex digits>`, as handed out with the claim"
)]
pub struct ParseClaimTokenError(String);

impl FromStr for ClaimToken {
    type Err = ParseClaimTokenError;

    fn from_str(s: &str) -> Result<ClaimToken, ParseClaimTokenError> {
        let parsed = s.split_once('-').and_then(|(seq, nonce)| {
            let nonce_ok = nonce.len() == 16 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
            let seq_ok = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
            if !(nonce_ok && seq_ok) {
                return None;
            }
            Some(ClaimToken {
                seq: Seq::new(seq.parse().ok()?),
                nonce: u64::from_str_radix(nonce, 16).ok()?,
            })
        });
        parsed.ok_or_else(|| ParseClaimTokenError(s.chars().take(64).collect()))
    }
}

impl serde::Serialize for ClaimToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ClaimToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
