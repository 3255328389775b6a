//! Bearer tokens that bind a remote system to its identity.
//!
//! A token is `exo.<id>.<secret>`: 8 random bytes naming it and 32 random bytes proving
//! it, both in hex. The kernel keeps only the id and the SHA-256 of the secret, so a
//! config file or a memory dump gives nothing to present; a presented secret is hashed
//! and compared in constant time. Tokens may expire and may be revoked.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use exokern::tokens::{TokenError, TokenStore};
//! use exokern::SystemId;
//!
//! let store = TokenStore::new();
//! let remote = SystemId::new("remote-1").unwrap();
//! let (token, _record) = store.mint(remote.clone(), Some(Duration::from_secs(3600)));
//! let now = SystemTime::now();
//! assert_eq!(store.verify(token.secret(), now), Ok(remote.clone()));
//! let forged = format!("exo.0011223344556677.{}", "ab".repeat(32));
//! assert_eq!(store.verify(&forged, now), Err(TokenError::Unknown));
//! assert_eq!(store.verify("exo.0011223344556677.00", now), Err(TokenError::Malformed));
//! store.revoke_system(&remote);
//! assert_eq!(store.verify(token.secret(), now), Err(TokenError::Revoked));
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use exokern_actors::SystemId;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "exo";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A freshly minted token: the only time its secret exists outside the presenter.
#[derive(Clone)]
pub struct Token {
    text: String,
}

impl Token {
    /// The whole token, as a client sends it: `Authorization: Bearer <token>`.
    pub fn secret(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<secret>)")
    }
}

/// What the kernel keeps of a token: enough to check one, nothing to forge one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's public id (hex).
    pub id: String,
    /// SHA-256 of its secret part (hex).
    pub sha256: String,
    /// The system it acts as.
    pub system: SystemId,
    /// When it stops being accepted, if ever.
    pub expires: Option<SystemTime>,
}

impl TokenRecord {
    /// Checks the record's form: a 16-hex-digit id and a 64-hex-digit hash.
    pub fn validate(&self) -> Result<(), RecordError> {
        self.hash().map(drop)
    }

    fn hash(&self) -> Result<[u8; 32], RecordError> {
        let problem = |problem| RecordError {
            id: self.id.chars().take(64).collect(),
            problem,
        };
        if unhex::<ID_BYTES>(&self.id).is_none() {
            return Err(problem("the id must be 16 hex digits"));
        }
        unhex::<32>(&self.sha256).ok_or_else(|| problem("sha256 must be 64 hex digits"))
    }
}

/// Why a presented token is refused. Every case is a 401 to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not of the form `exo.<16 hex>.<64 hex>`.
    #[error("the token is malformed: expected exo.<id>.<secret> as `exokern token` prints it")]
    Malformed,
    /// No token has that id, or its secret does not match.
    #[error("the token is not one this kernel issued")]
    Unknown,
    /// It expired.
    #[error("the token has expired: ask for a new one")]
    Expired,
    /// It, or its system, was revoked.
    #[error("the token was revoked")]
    Revoked,
}

/// Why a stored record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token record `{id}`: {problem}")]
pub struct RecordError {
    id: String,
    problem: &'static str,
}

#[derive(Debug)]
struct Held {
    hash: [u8; 32],
    system: SystemId,
    expires: Option<SystemTime>,
    revoked: bool,
}

/// The tokens a kernel accepts, by id. Every request reads it, from any HTTP worker, so it
/// is sharded: readers share no lock, and minting or revoking locks one shard.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: DashMap<String, Held>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

impl TokenStore {
    /// An empty store.
    pub fn new() -> TokenStore {
        TokenStore::default()
    }

    /// Mints a token for `system`, valid for `ttl` (forever if `None`), and keeps its
    /// record. The token itself is not kept: hand it to the remote system now.
    pub fn mint(&self, system: SystemId, ttl: Option<Duration>) -> (Token, TokenRecord) {
        let id = hex(&random::<ID_BYTES>());
        let secret = hex(&random::<SECRET_BYTES>());
        let record = TokenRecord {
            id: id.clone(),
            sha256: hex(&Sha256::digest(secret.as_bytes())),
            system,
            expires: ttl.map(|ttl| SystemTime::now() + ttl),
        };
        self.insert(record.clone())
            .expect("a minted record is well-formed");
        let token = Token {
            text: format!("{PREFIX}.{id}.{secret}"),
        };
        (token, record)
    }

    /// Accepts tokens matching `record` (as a config file stores it); replaces a record
    /// with the same id.
    pub fn insert(&self, record: TokenRecord) -> Result<(), RecordError> {
        let hash = record.hash()?;
        self.tokens.insert(
            record.id,
            Held {
                hash,
                system: record.system,
                expires: record.expires,
                revoked: false,
            },
        );
        Ok(())
    }

    /// The system `presented` acts as, at `now`.
    pub fn verify(&self, presented: &str, now: SystemTime) -> Result<SystemId, TokenError> {
        let mut parts = presented.split('.');
        let (Some(PREFIX), Some(id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if unhex::<ID_BYTES>(id).is_none() || unhex::<SECRET_BYTES>(secret).is_none() {
            return Err(TokenError::Malformed);
        }
        let held = self.tokens.get(id).ok_or(TokenError::Unknown)?;
        let hash = Sha256::digest(secret.as_bytes());
        if !bool::from(hash.as_slice().ct_eq(&held.hash)) {
            return Err(TokenError::Unknown);
        }
        if held.revoked {
            return Err(TokenError::Revoked);
        }
        if held.expires.is_some_and(|at| at <= now) {
            return Err(TokenError::Expired);
        }
        Ok(held.system.clone())
    }

    /// Stops accepting the token with `id`; answers whether there was one.
    pub fn revoke(&self, id: &str) -> bool {
        self.tokens
            .get_mut(id)
            .map(|mut held| held.revoked = true)
            .is_some()
    }

    /// Stops accepting every token of `system`; answers how many there were.
    pub fn revoke_system(&self, system: &SystemId) -> usize {
        let mut count = 0;
        for mut held in self.tokens.iter_mut().filter(|h| &h.system == system) {
            held.revoked = true;
            count += 1;
        }
        count
    }
}
