//! Hostile input: each answered with the right status, and nothing lost or changed.

use serde_json::json;

use crate::support::{Served, BODY_LIMIT};

/// Messages accepted by `events` and `jobs`, and items waiting in `jobs`.
async fn counts(served: &Served) -> (u64, u64, u64) {
    let (events, jobs) = served.stats().await;
    (events.accepted, jobs.accepted, jobs.depth)
}

#[actix_rt::test]
async fn malformed_oversized_and_mistyped_bodies_change_nothing() {
    let served = Served::start().await;
    served
        .post(
            "/channels/jobs/messages",
            &served.alice,
            json!({"payload": "kept"}),
        )
        .await;
    let before = counts(&served).await;
    let huge = format!(r#"{{"payload": "{}"}}"#, "x".repeat(10 << 20));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("/channels/events/messages", b"{\"payload\":".to_vec(), 400),
        ("/channels/events/messages", b"not json".to_vec(), 400),
        ("/channels/events/messages", b"".to_vec(), 400),
        ("/channels/events/messages", b"[1, 2]".to_vec(), 422),
        (
            "/channels/events/messages",
            br#"{"payload": 1, "from": "ops"}"#.to_vec(),
            422,
        ),
        (
            "/channels/events/messages",
            br#"{"to": "bob"}"#.to_vec(),
            422,
        ),
        ("/channels/events/messages", huge.into_bytes(), 413),
        ("/channels/events/messages", vec![b' '; BODY_LIMIT + 1], 413),
        ("/channels/jobs/claim", br#"{"max": "ten"}"#.to_vec(), 422),
        ("/channels/jobs/claim", br#"{"max": -1}"#.to_vec(), 422),
        ("/channels/jobs/claim", br#"{"max": 0}"#.to_vec(), 422),
        ("/channels/jobs/claim", br#"{"max": 1001}"#.to_vec(), 422),
        (
            "/channels/jobs/claim",
            br#"{"max": 99999999999999999999999}"#.to_vec(),
            422,
        ),
        ("/channels/jobs/claim", br#"{"lease_ms": 0}"#.to_vec(), 422),
        (
            "/channels/jobs/claim",
            br#"{"lease_ms": 18446744073709551615}"#.to_vec(),
            422,
        ),
        (
            "/channels/jobs/ack",
            br#"{"token": "../../etc"}"#.to_vec(),
            422,
        ),
        ("/channels/jobs/ack", br#"{"token": 5}"#.to_vec(), 422),
        (
            "/channels/jobs/extend",
            br#"{"token": "1-0000000000000000", "lease_ms": -5}"#.to_vec(),
            422,
        ),
        (
            "/capabilities",
            br#"{"resource": 5, "rights": "READ"}"#.to_vec(),
            422,
        ),
        (
            "/capabilities",
            br#"{"resource": "executor:http", "rights": "FLY"}"#.to_vec(),
            422,
        ),
        ("/actions/authorize", br#"{"action": "GET"}"#.to_vec(), 422),
        (
            "/lifecycle",
            br#"{"command": "explode", "system_id": "bob"}"#.to_vec(),
            422,
        ),
    ];
    for (path, body, expected) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, error) = served
            .raw("POST", path, Some(&served.alice), Some(body))
            .await;
        assert_eq!(status, expected, "POST {path} {shown}: {error}");
    }
    let (status, _) = served
        .raw(
            "POST",
            "/channels/events/messages",
            Some(&served.alice),
            None,
        )
        .await;
    assert_eq!(status, 400, "no body, no content type");
    assert_eq!(
        counts(&served).await,
        before,
        "nothing was published, claimed or settled"
    );
    served.stop().await;
}

#[actix_rt::test]
async fn odd_ids_and_limits_are_refused_without_touching_other_channels() {
    let served = Served::start().await;
    served
        .post(
            "/channels/events/messages",
            &served.alice,
            json!({"payload": 1}),
        )
        .await;
    let before = counts(&served).await;
    let not_found = [
        "/channels/secret/messages",
        "/channels/..%2Fsecret/messages",
        "/channels/events%2F..%2Fsecret/messages",
        "/channels/%2E%2E/messages",
        "/channels/%E2%80%AEstneve/messages",
        "/channels/%F0%9F%92%A3/messages",
        "/channels/kernel.audit/messages",
        "/channels/nowhere/messages",
        "/channels/events/../secret/messages",
        "/nothing/here",
    ];
    for path in not_found {
        let (status, error) = served.get(path, &served.alice).await;
        assert_eq!(status, 404, "GET {path}: {error}");
    }
    let long = format!("/channels/{}/messages", "e".repeat(5000));
    assert_eq!(served.get(&long, &served.alice).await.0, 404);
    let limits = [
        ("?limit=-1", 422),
        ("?limit=0", 422),
        ("?limit=1001", 422),
        ("?limit=184467440737095516150", 422),
        ("?limit=ten", 400),
        ("?limit=1e3", 400),
        ("?after=-1", 422),
        ("?after=18446744073709551615", 200),
        ("?after=", 400),
        ("?limit=%00", 400),
    ];
    for (query, expected) in limits {
        let path = format!("/channels/events/messages{query}");
        let (status, body) = served.get(&path, &served.alice).await;
        assert_eq!(status, expected, "GET {path}: {body}");
    }
    let private = served
        .post(
            "/channels/secret/messages",
            &served.alice,
            json!({"payload": "leak"}),
        )
        .await;
    assert_eq!(
        private.0, 404,
        "a private channel is not served, granted or not"
    );
    assert_eq!(counts(&served).await, before);
    served.stop().await;
}

#[actix_rt::test]
async fn forged_and_malformed_bearer_tokens_are_401() {
    let served = Served::start().await;
    let alice = served.alice.clone();
    let mut forged_secret = alice.clone();
    let last = forged_secret.pop().unwrap();
    forged_secret.push(if last == '0' { '1' } else { '0' });
    let (id_part, _) = alice.rsplit_once('.').unwrap();
    let bobs_secret = served.bob.rsplit_once('.').unwrap().1;
    let spliced = format!("{id_part}.{bobs_secret}");
    let tokens = [
        forged_secret.as_str(),
        spliced.as_str(),
        "alice",
        "exo..",
        "exo.0123456789abcdef.zz",
        "exo.ÿÿÿÿ.ÿÿ",
        "",
    ];
    for token in tokens {
        let (status, error) = served.get("/channels", token).await;
        assert_eq!(status, 401, "{token:?}: {error}");
    }
    let (status, _) = served.raw("GET", "/channels", None, None).await;
    assert_eq!(status, 401);
    let client = awc::Client::default();
    for header in ["Basic YWxpY2U6cHc=", "bearer x", &alice] {
        let response = client
            .get(format!("{}/channels", served.base))
            .insert_header(("Authorization", header))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{header}");
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "Bearer"
        );
    }
    let publish = served
        .post(
            "/channels/events/messages",
            &forged_secret,
            json!({"payload": 1}),
        )
        .await;
    assert_eq!(publish.0, 401);
    assert_eq!(served.events.stats().await.unwrap().accepted, 0);
    served.stop().await;
}
