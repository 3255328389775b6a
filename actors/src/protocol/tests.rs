use serde_json::json;

use super::*;

fn decode_value(value: serde_json::Value) -> Result<Request, InvalidRequest> {
    decode(value.to_string().as_bytes())
}

#[test]
fn requests_round_trip_with_their_type_tags() {
    let cases = [
        json!({"type": "capability_request", "resource": "mcp:*", "rights": 5, "ttl_secs": 1.5,
               "caveats": {"actions": ["GET"], "targets": ["https://*"], "max_uses": 3},
               "context": {"why": "crawl"}}),
        json!({"type": "capability_derive", "parent": "67e55044-10b1-426f-9247-bb680e5fe0c8",
               "to": "helper", "rights": 1, "resource": "mcp:github"}),
        json!({"type": "capability_revoke", "capability": "67e55044-10b1-426f-9247-bb680e5fe0c8"}),
        json!({"type": "action_authorize", "action": "GET", "executor": "http", "target": "x",
               "payload": {"a": 1}}),
        json!({"type": "action_execute", "action": "GET", "executor": "http", "target": "x"}),
        json!({"type": "approval_decision", "approval": "67e55044-10b1-426f-9247-bb680e5fe0c8",
               "approve": false, "reason": "no"}),
        json!({"type": "module_load", "module_id": "m", "framework": "ticker",
               "channels": ["ticks"], "settings": {"every_ms": 10}}),
        json!({"type": "module_unload", "module_id": "m"}),
        json!({"type": "lifecycle_command", "command": "drain", "system_id": "a", "timeout_secs": 2.0}),
    ];
    for value in cases {
        let request = decode_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(request.kind(), value["type"]);
        let again = serde_json::to_value(&request).unwrap();
        assert_eq!(decode_value(again).unwrap(), request);
    }
}

#[test]
fn malformed_requests_are_invalid_with_a_reason() {
    let cases = [
        (
            json!({"type": "capability_request", "rights": "READ"}),
            "missing field `resource`",
        ),
        (
            json!({"type": "capability_request", "resource": "mcp:*", "rights": "ROOT"}),
            "unknown right",
        ),
        (
            json!({"type": "capability_request", "resource": "nope:x", "rights": "READ"}),
            "nope",
        ),
        (
            json!({"type": "capability_request", "resource": "mcp:*", "rights": "READ", "ttl_secs": "long"}),
            "invalid type",
        ),
        (
            json!({"type": "capability_request", "resource": "mcp:*", "rights": "READ", "ttl_secs": -1}),
            "not a duration",
        ),
        (
            json!({"type": "capability_request", "resource": "mcp:*", "rights": "READ", "ttl_secs": 0}),
            "zero",
        ),
        (
            json!({"type": "capability_request", "resource": "mcp:*", "rights": "READ", "system_id": "b"}),
            "unknown field `system_id`",
        ),
        (
            json!({"type": "action_authorize", "action": "x", "executor": "http", "target": "t", "risk_level": "low"}),
            "unknown field `risk_level`",
        ),
        (
            json!({"type": "action_authorize", "action": "", "executor": "http", "target": "t"}),
            "`action`",
        ),
        (
            json!({"type": "lifecycle_command", "command": "explode", "system_id": "a"}),
            "unknown variant `explode`",
        ),
        (
            json!({"type": "lifecycle_command", "command": "pause", "system_id": "kernel.x"}),
            "reserved",
        ),
        (json!({"type": "teleport"}), "unknown variant `teleport`"),
        (json!({"resource": "mcp:*"}), "missing field `type`"),
        (json!([1, 2]), "invalid type"),
    ];
    for (value, expected) in cases {
        let error = decode_value(value.clone()).expect_err(&value.to_string());
        assert!(
            error.reason.contains(expected),
            "{value}: {:?} lacks {expected:?}",
            error.reason
        );
    }
    assert!(decode(b"{not json").is_err());
    let huge = format!(
        r#"{{"type": "action_authorize", "action": "x", "executor": "e", "target": "t", "payload": "{}"}}"#,
        "x".repeat(MAX_REQUEST_BYTES)
    );
    assert!(decode(huge.as_bytes())
        .unwrap_err()
        .reason
        .contains("limit"));
}

#[test]
fn replies_carry_the_aaax_type_names() {
    let reply = Reply::LifecycleError {
        command: LifecycleCommand::Resume,
        system_id: "a".parse().unwrap(),
        reason: "r".into(),
    };
    let value = serde_json::to_value(&reply).unwrap();
    assert_eq!(value["type"], "lifecycle_error");
    assert_eq!(value["command"], "resume");
    assert_eq!(reply.kind(), "lifecycle_error");
    let back: Reply = serde_json::from_value(value).unwrap();
    assert_eq!(back, reply);
    let invalid: Reply = InvalidRequest::new("bad").into();
    assert_eq!(
        serde_json::to_value(&invalid).unwrap(),
        json!({"type": "invalid_request", "reason": "bad"})
    );
}
