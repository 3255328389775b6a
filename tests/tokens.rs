//! Bearer tokens: minted, stored hashed, checked, expired and revoked.

use std::time::{Duration, SystemTime};

use exokern::tokens::{TokenError, TokenRecord, TokenStore};
use exokern::SystemId;

fn sid(name: &str) -> SystemId {
    SystemId::new(name).unwrap()
}

#[test]
fn a_minted_token_acts_as_its_system_and_only_it() {
    let store = TokenStore::new();
    let now = SystemTime::now();
    let (ada, ada_record) = store.mint(sid("ada"), None);
    let (bob, _) = store.mint(sid("bob"), None);
    assert_ne!(ada.secret(), bob.secret());
    assert_eq!(store.verify(ada.secret(), now), Ok(sid("ada")));
    assert_eq!(store.verify(bob.secret(), now), Ok(sid("bob")));
    assert!(!ada_record.sha256.is_empty());
    assert!(
        !ada.secret().contains(&ada_record.sha256),
        "the record holds a hash, not the secret"
    );
    assert_eq!(
        format!("{ada:?}"),
        "Token(<secret>)",
        "debug output hides the secret"
    );
}

#[test]
fn forged_and_malformed_tokens_are_refused() {
    let store = TokenStore::new();
    let (token, record) = store.mint(sid("ada"), None);
    let now = SystemTime::now();
    // The right id with another secret: a forgery.
    let forged = format!("exo.{}.{}", record.id, "0".repeat(64));
    assert_eq!(store.verify(&forged, now), Err(TokenError::Unknown));
    let other_id = format!("exo.{}.{}", "f".repeat(16), &token.secret()[21..]);
    assert_eq!(store.verify(&other_id, now), Err(TokenError::Unknown));
    let secret = &token.secret()[21..];
    for bad in [
        String::new(),
        "ada".into(),
        format!("exo.{}", record.id),
        format!("xyz.{}.{secret}", record.id),
        format!("exo.{}.{secret}.x", record.id),
        format!("exo.{}.{}", record.id, &secret[1..]),
        format!("exo.{}.{}g", record.id, &secret[1..]),
        format!("exo.{}.{secret}", "é".repeat(8)),
        format!("exo.../{}", secret),
    ] {
        assert_eq!(
            store.verify(&bad, now),
            Err(TokenError::Malformed),
            "{bad:?}"
        );
    }
}

#[test]
fn tokens_expire_and_are_revoked_by_id_or_system() {
    let store = TokenStore::new();
    let now = SystemTime::now();
    let (short, _) = store.mint(sid("ada"), Some(Duration::from_secs(60)));
    assert!(store.verify(short.secret(), now).is_ok());
    let later = now + Duration::from_secs(61);
    assert_eq!(
        store.verify(short.secret(), later),
        Err(TokenError::Expired)
    );

    let (one, one_record) = store.mint(sid("bob"), None);
    let (two, _) = store.mint(sid("bob"), None);
    assert!(store.revoke(&one_record.id));
    assert!(!store.revoke("0000000000000000"));
    assert_eq!(store.verify(one.secret(), now), Err(TokenError::Revoked));
    assert!(store.verify(two.secret(), now).is_ok());
    assert_eq!(store.revoke_system(&sid("bob")), 2);
    assert_eq!(store.verify(two.secret(), now), Err(TokenError::Revoked));
    assert!(
        store.verify(short.secret(), now).is_ok(),
        "ada's token is untouched"
    );
}

#[test]
fn a_stored_record_accepts_its_token_in_another_store() {
    let (token, record) = TokenStore::new().mint(sid("ada"), None);
    let kernel = TokenStore::new();
    kernel.insert(record.clone()).unwrap();
    assert_eq!(
        kernel.verify(token.secret(), SystemTime::now()),
        Ok(sid("ada"))
    );
    let broken = TokenRecord {
        sha256: "xyz".into(),
        ..record.clone()
    };
    let error = kernel.insert(broken).unwrap_err().to_string();
    assert!(error.contains("sha256 must be 64 hex digits"), "{error}");
    let broken = TokenRecord {
        id: "short".into(),
        ..record
    };
    assert!(kernel.insert(broken).is_err());
}
