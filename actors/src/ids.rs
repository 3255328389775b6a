//! Identifiers: [`SystemId`], [`ChannelId`], [`MessageId`] and the per-channel
//! sequence number [`Seq`].
//!
//! System and channel ids are validated once, when they are made, and are cheap to
//! clone afterwards: an id of up to 23 bytes is stored inline and copied, a longer one
//! is shared. Every message carries two or three of them, so a clone that touches no
//! reference count matters. They are safe as URL path segments and file names: ASCII
//! letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most
//! [`MAX_ID_LEN`] bytes. Ids starting with `kernel.` (in any case) belong to
//! the kernel; user code cannot make them.

use std::borrow::Borrow;
use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use smol_str::SmolStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The namespace reserved for the kernel's own systems and channels.
pub const KERNEL_PREFIX: &str = "kernel.";

/// Which kind of id failed validation; part of [`IdError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A [`SystemId`].
    System,
    /// A [`ChannelId`].
    Channel,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::System => "system id",
            IdKind::Channel => "channel id",
        })
    }
}

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("{kind} is empty: give a name such as `agent-1`")]
    Empty {
        /// Which id.
        kind: IdKind,
    },
    /// The string is longer than [`MAX_ID_LEN`].
    #[error("{kind} is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Which id.
        kind: IdKind,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside the allowed set, or a first character that is not a letter or digit.
    #[error("{kind} `{id}` has {ch:?} at byte {at}: use ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit")]
    InvalidChar {
        /// Which id.
        kind: IdKind,
        /// The rejected id (escaped for display).
        id: String,
        /// The offending character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// The id is in the `kernel.` namespace, which only the kernel may use.
    #[error("{kind} `{id}` is in the reserved `kernel.` namespace: choose another prefix")]
    Reserved {
        /// Which id.
        kind: IdKind,
        /// The rejected id.
        id: String,
    },
}

fn validate(kind: IdKind, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            len: s.len(),
            max: MAX_ID_LEN,
        });
    }
    for (at, ch) in s.char_indices() {
        let allowed = ch.is_ascii_alphanumeric() || (at > 0 && matches!(ch, '.' | '_' | '-'));
        if !allowed {
            return Err(IdError::InvalidChar {
                kind,
                id: s.escape_debug().to_string(),
                ch,
                at,
            });
        }
    }
    Ok(())
}

fn is_reserved(s: &str) -> bool {
    s.len() >= KERNEL_PREFIX.len()
        && s.as_bytes()[..KERNEL_PREFIX.len()].eq_ignore_ascii_case(KERNEL_PREFIX.as_bytes())
}

macro_rules! name_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(SmolStr);

        impl $name {
            /// Validates `id` and rejects the reserved `kernel.` namespace.
            pub fn new(id: impl AsRef<str>) -> Result<Self, IdError> {
                let id = id.as_ref();
                validate($kind, id)?;
                if is_reserved(id) {
                    return Err(IdError::Reserved { kind: $kind, id: id.to_owned() });
                }
                Ok(Self(SmolStr::new(id)))
            }

            /// An id in the kernel's own `kernel.` namespace; only the kernel makes these.
            pub(crate) fn kernel(name: &str) -> Self {
                let id = format!("{KERNEL_PREFIX}{name}");
                debug_assert!(validate($kind, &id).is_ok(), "bad kernel id {id}");
                Self(SmolStr::new(id))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// `true` for ids in the kernel's `kernel.` namespace.
            pub fn is_reserved(&self) -> bool {
                is_reserved(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::new(&*s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_id!(
    /// The name of a system (an agent) in a constellation, e.g. `agent-17`.
    ///
    /// ```
    /// use exokern_actors::SystemId;
    ///
    /// let id = SystemId::new("agent-17").unwrap();
    /// assert_eq!(id.as_str(), "agent-17");
    /// assert!(SystemId::new("agent/17").is_err());
    /// assert!(SystemId::new("kernel.gate").is_err());
    /// ```
    SystemId,
    IdKind::System
);

name_id!(
    /// The name of a channel, e.g. `jobs` or `sim.ticks`.
    ///
    /// ```
    /// use exokern_actors::{ChannelId, IdError};
    ///
    /// assert!(ChannelId::new("sim.ticks").is_ok());
    /// assert!(matches!(ChannelId::new("Kernel.heartbeat"), Err(IdError::Reserved { .. })));
    /// assert!(matches!(ChannelId::new(".."), Err(IdError::InvalidChar { .. })));
    /// ```
    ChannelId,
    IdKind::Channel
);

/// A message's unique id: a UUID assigned when a channel accepts it (see
/// [`MessageId::unique`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(Uuid);

/// How many ids a thread takes from the process-wide counter at once.
const ID_BLOCK: u64 = 1 << 16;

/// The process's random half of every [`MessageId::unique`] id.
fn process_prefix() -> u64 {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    *PREFIX.get_or_init(|| Uuid::new_v4().as_u64_pair().0)
}

thread_local! {
    /// The next id this thread hands out, and the end of its block.
    static ID_BLOCK_LEFT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl MessageId {
    /// A fresh random (version 4) id.
    pub fn random() -> MessageId {
        MessageId(Uuid::new_v4())
    }

    /// A fresh id that no other call in this process returns: a version 8 UUID made of a
    /// random per-process prefix and a counter, so ids from different processes collide
    /// only if 58 random bits do. It costs a thread-local increment, where [`random`]
    /// draws 122 random bits; channels stamp every message with one.
    ///
    /// ```
    /// use exokern_actors::MessageId;
    ///
    /// let (a, b) = (MessageId::unique(), MessageId::unique());
    /// assert_ne!(a, b);
    /// assert_eq!(a.as_uuid().get_version_num(), 8);
    /// ```
    ///
    /// [`random`]: MessageId::random
    pub fn unique() -> MessageId {
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
        let counter = ID_BLOCK_LEFT.with(|left| {
            let (mut next, mut end) = left.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next + ID_BLOCK;
            }
            left.set((next + 1, end));
            next
        });
        // Built as one integer, version and variant bits included: assembled byte by
        // byte (as `uuid::Builder` sets those bits, even from `raw.to_be_bytes()`), the
        // id left memory in pieces and was read back whole, which stalls the load on
        // every message (BENCHMARKS.md, thread ring).
        let raw = (u128::from(process_prefix()) << 64) | u128::from(counter);
        let versioned = (raw & !(0xF << 76)) | (0x8 << 76);
        let rfc4122 = (versioned & !(0x3 << 62)) | (0x2 << 62);
        MessageId(Uuid::from_u128(rfc4122))
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for MessageId {
    fn from(uuid: Uuid) -> MessageId {
        MessageId(uuid)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.0)
    }
}

impl FromStr for MessageId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<MessageId, uuid::Error> {
        Uuid::parse_str(s).map(MessageId)
    }
}

/// A message's position in its channel: stamped by the channel, starting at 1 and
/// increasing by one per accepted message. `Seq::ZERO` means "before the first message",
/// so `read(after: Seq::ZERO, ..)` reads from the beginning.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(u64);

impl Seq {
    /// The position before the first message.
    pub const ZERO: Seq = Seq(0);

    /// Wraps a raw sequence number.
    pub const fn new(n: u64) -> Seq {
        Seq(n)
    }

    /// The raw number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next position.
    pub const fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_path_safe_names() {
        for ok in [
            "a",
            "agent-1",
            "sim.ticks",
            "A_b-c.9",
            &"x".repeat(MAX_ID_LEN),
        ] {
            assert_eq!(SystemId::new(ok).unwrap().as_str(), ok);
            assert_eq!(ChannelId::new(ok).unwrap().to_string(), ok);
        }
    }

    #[test]
    fn rejects_each_class_of_bad_input_with_its_error() {
        assert_eq!(
            ChannelId::new(""),
            Err(IdError::Empty {
                kind: IdKind::Channel
            })
        );
        assert!(matches!(
            SystemId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong {
                len: 129,
                max: 128,
                ..
            })
        ));
        for (bad, ch, at) in [
            ("a/b", '/', 1),
            ("..", '.', 0),
            (".hidden", '.', 0),
            ("-x", '-', 0),
            ("a b", ' ', 1),
            ("a\\b", '\\', 1),
            ("a:b", ':', 1),
            ("a%2f", '%', 1),
            ("agént", 'é', 2),
            ("a\u{202e}b", '\u{202e}', 1),
        ] {
            match ChannelId::new(bad) {
                Err(IdError::InvalidChar { ch: c, at: a, .. }) => {
                    assert_eq!((c, a), (ch, at), "{bad:?}")
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn the_kernel_namespace_is_reserved_in_any_case() {
        for reserved in ["kernel.heartbeat", "KERNEL.x", "Kernel.audit"] {
            assert!(matches!(
                ChannelId::new(reserved),
                Err(IdError::Reserved { .. })
            ));
            assert!(matches!(
                SystemId::new(reserved),
                Err(IdError::Reserved { .. })
            ));
        }
        assert!(ChannelId::new("kernel").is_ok());
        assert!(ChannelId::new("kernelx.y").is_ok());
        assert!(!ChannelId::new("kernelx.y").unwrap().is_reserved());
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let err = ChannelId::new("a/b").unwrap_err().to_string();
        assert!(
            err.contains("'/'") && err.contains("letters, digits"),
            "{err}"
        );
        let err = SystemId::new("kernel.me").unwrap_err().to_string();
        assert!(err.contains("reserved") && err.contains("choose another prefix"));
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let ok: StrDeserializer<'_, Error> = "jobs".into_deserializer();
        assert_eq!(ChannelId::deserialize(ok).unwrap().as_str(), "jobs");
        let bad: StrDeserializer<'_, Error> = "../etc".into_deserializer();
        assert!(ChannelId::deserialize(bad).is_err());
    }

    #[test]
    fn message_ids_are_unique_v4_uuids() {
        let a = MessageId::random();
        let b = MessageId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 4);
        assert_eq!(a.to_string().parse::<MessageId>().unwrap(), a);
    }

    #[test]
    fn unique_ids_never_repeat_across_threads_and_blocks() {
        let per_thread = usize::try_from(ID_BLOCK).unwrap() + 10;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    (0..per_thread)
                        .map(|_| MessageId::unique())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for thread in threads {
            for id in thread.join().unwrap() {
                assert_eq!(id.as_uuid().get_version_num(), 8);
                assert!(seen.insert(id), "{id} was handed out twice");
            }
        }
        assert_eq!(seen.len(), 4 * per_thread);
    }

    #[test]
    fn seq_orders_and_starts_after_zero() {
        assert!(Seq::ZERO < Seq::ZERO.next());
        assert_eq!(Seq::new(41).next().get(), 42);
    }
}
