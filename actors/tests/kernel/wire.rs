//! The wire path: JSON requests in, typed replies out, through the same checks as the
//! typed calls; malformed requests get `invalid_request` and nobody else notices.

use exokern_actors::policy::RuleSet;
use exokern_actors::protocol::{Reply, MAX_REQUEST_BYTES};
use serde_json::{json, Value};

use crate::support::{dock_probe, kernel};

fn wire(reply: &Reply) -> Value {
    serde_json::to_value(reply).unwrap()
}

#[actix_rt::test]
async fn malformed_requests_get_invalid_request_while_everyone_else_is_served() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let mallory = dock_probe(&kernel, "mallory", false).await;
    let mut honest = Vec::new();
    for n in 0..4 {
        let client = dock_probe(&kernel, &format!("honest-{n}"), false).await;
        honest.push(actix_rt::spawn(async move {
            let mut granted = 0;
            for _ in 0..50 {
                let reply = client
                    .call_json(br#"{"type":"capability_request","resource":"executor:http","rights":"EXECUTE"}"#)
                    .await;
                if let Reply::CapabilityGrant(_) = reply {
                    granted += 1;
                }
            }
            granted
        }));
    }
    let oversized = format!(
        r#"{{"type":"action_authorize","action":"GET","executor":"http","target":"{}"}}"#,
        "x".repeat(MAX_REQUEST_BYTES)
    );
    let bad: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "expected ident"),
        (br#"{"type":"capability_request","rights":"READ"}"#.to_vec(), "missing field `resource`"),
        (
            br#"{"type":"capability_request","resource":"executor:http","rights":"X","ttl_secs":"soon"}"#
                .to_vec(),
            "invalid type",
        ),
        (br#"{"type":"format_disk"}"#.to_vec(), "unknown variant `format_disk`"),
        (
            br#"{"type":"action_authorize","action":"GET","executor":"http","target":"/","from":"alice"}"#
                .to_vec(),
            "unknown field `from`",
        ),
        (
            br#"{"type":"capability_request","resource":"executor:http","rights":"READ","ttl_secs":0}"#
                .to_vec(),
            "zero",
        ),
        (oversized.into_bytes(), "the limit is"),
    ];
    for (bytes, expected) in bad {
        let reply = mallory.call_json(&bytes).await;
        let Reply::InvalidRequest { reason } = &reply else {
            panic!("expected invalid_request, got {reply:?}");
        };
        assert!(
            reason.contains(expected),
            "`{reason}` does not say `{expected}`"
        );
        assert_eq!(wire(&reply)["type"], "invalid_request");
    }
    for client in honest {
        assert_eq!(client.await.unwrap(), 50);
    }
    // Nothing was granted to the sender of garbage.
    let reply = mallory
        .call_json(br#"{"type":"action_authorize","action":"GET","executor":"http","target":"/"}"#)
        .await;
    assert_eq!(wire(&reply)["type"], "action_denied");
}

#[actix_rt::test]
async fn capability_ids_on_the_wire_authorize_only_their_holder() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let alice = dock_probe(&kernel, "alice", false).await;
    let bob = dock_probe(&kernel, "bob", false).await;
    let mallory = dock_probe(&kernel, "mallory", false).await;
    let call = |client: &exokern_actors::kernel::KernelClient, request: Value| {
        let client = client.clone();
        async move { wire(&client.call_json(request.to_string().as_bytes()).await) }
    };
    let grant = call(
        &alice,
        json!({"type": "capability_request", "resource": "executor:http",
               "rights": "EXECUTE|DELEGATE", "ttl_secs": 60}),
    )
    .await;
    assert_eq!(grant["type"], "capability_grant", "{grant}");
    let parent = grant["capability"].clone();
    let action = |capability: &Value| {
        json!({"type": "action_authorize", "action": "GET", "executor": "http",
               "target": "https://example.com/", "payload": {"q": 1}, "capability": capability})
    };
    let approved = call(&alice, action(&parent)).await;
    assert_eq!(approved["type"], "action_approved", "{approved}");
    assert_eq!(approved["payload"], json!({"q": 1}));
    // S1, S2: the id alone is worth nothing to anyone else.
    let stolen = call(&mallory, action(&parent)).await;
    assert_eq!(stolen["type"], "action_denied");
    assert!(
        stolen["reason"]
            .as_str()
            .unwrap()
            .contains("held by `alice`"),
        "{stolen}"
    );
    let derived = call(
        &alice,
        json!({"type": "capability_derive", "parent": parent, "to": "bob", "rights": "EXECUTE"}),
    )
    .await;
    assert_eq!(derived["type"], "capability_grant", "{derived}");
    let child = derived["capability"].clone();
    assert_eq!(call(&bob, action(&child)).await["type"], "action_approved");
    let revoked = call(
        &alice,
        json!({"type": "capability_revoke", "capability": parent}),
    )
    .await;
    assert_eq!(revoked["type"], "capability_revoked", "{revoked}");
    assert_eq!(revoked["revoked"], 2);
    let after = call(&bob, action(&child)).await;
    assert_eq!(after["type"], "action_denied", "{after}");
    // Unprivileged systems get refusals, typed as AAAX names them.
    let lifecycle = call(
        &bob,
        json!({"type": "lifecycle_command", "command": "pause", "system_id": "alice"}),
    )
    .await;
    assert_eq!(lifecycle["type"], "lifecycle_error", "{lifecycle}");
    let module = call(
        &bob,
        json!({"type": "module_load", "module_id": "m", "framework": "noop"}),
    )
    .await;
    assert_eq!(module["type"], "module_rejected", "{module}");
    let decision = call(
        &bob,
        json!({"type": "approval_decision", "approval": "00000000-0000-4000-8000-000000000000",
               "approve": true}),
    )
    .await;
    assert_eq!(decision["type"], "approval_error", "{decision}");
}

#[actix_rt::test]
async fn a_privileged_system_governs_over_the_wire() {
    let kernel = kernel(RuleSet::allow_all()).await;
    let admin = dock_probe(&kernel, "admin", true).await;
    let _worker = dock_probe(&kernel, "worker", false).await;
    let call = |request: Value| {
        let admin = admin.clone();
        async move { wire(&admin.call_json(request.to_string().as_bytes()).await) }
    };
    let paused =
        call(json!({"type": "lifecycle_command", "command": "pause", "system_id": "worker"})).await;
    assert_eq!(paused["type"], "lifecycle_ok", "{paused}");
    assert_eq!(paused["state"], "paused");
    let again =
        call(json!({"type": "lifecycle_command", "command": "pause", "system_id": "worker"})).await;
    assert_eq!(again["type"], "lifecycle_error", "{again}");
    let loaded = call(
        json!({"type": "module_load", "module_id": "helper", "framework": "noop",
                             "executors": ["http"]}),
    )
    .await;
    assert_eq!(loaded["type"], "module_accepted", "{loaded}");
    assert_eq!(loaded["system_id"], "helper");
    assert_eq!(
        loaded["granted_capabilities"][0]["resource"],
        "executor:http"
    );
    let unloaded = call(json!({"type": "module_unload", "module_id": "helper"})).await;
    assert_eq!(unloaded["type"], "module_unloaded", "{unloaded}");
    let unknown = call(json!({"type": "module_load", "module_id": "x", "framework": "lllm"})).await;
    assert_eq!(unknown["type"], "module_rejected", "{unknown}");
}
