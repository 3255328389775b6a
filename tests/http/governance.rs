//! Governance routes, each acting as the token's remote system and no other.

use std::time::Duration;

use exokern::kernel::LifecycleState;
use serde_json::{json, Value};

use crate::common::sid;
use crate::support::Served;

#[actix_rt::test]
async fn capabilities_are_requested_derived_and_revoked_as_the_caller() {
    let served = Served::start().await;
    let ask = json!({"resource": "executor:http", "rights": "EXECUTE|DELEGATE", "ttl_secs": 600});
    let (status, grant) = served.post("/capabilities", &served.alice, ask).await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!(grant["type"], "capability_grant");
    let parent = grant["capability"].as_str().unwrap().to_owned();

    let derive = json!({"parent": parent, "rights": "EXECUTE", "to": "bob", "ttl_secs": 60});
    let (status, child) = served
        .post("/capabilities/derive", &served.alice, derive.clone())
        .await;
    assert_eq!(status, 201, "{child}");
    let (status, _) = served
        .post("/capabilities/derive", &served.bob, derive)
        .await;
    assert_eq!(status, 403, "bob does not hold the parent");

    let (status, _) = served
        .raw(
            "DELETE",
            &format!("/capabilities/{parent}"),
            Some(&served.bob),
            None,
        )
        .await;
    assert_eq!(status, 403, "bob cannot revoke alice's capability");
    let (status, revoked) = served
        .raw(
            "DELETE",
            &format!("/capabilities/{parent}"),
            Some(&served.alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(revoked["revoked"], 2, "the derived one went with it");
    let (status, _) = served
        .raw(
            "DELETE",
            &format!("/capabilities/{parent}"),
            Some(&served.alice),
            None,
        )
        .await;
    assert_eq!(status, 403, "a revoked capability is stale");

    let (status, denied) = served
        .post(
            "/capabilities",
            &served.alice,
            json!({"resource": "executor:http", "rights": "READ", "ttl_secs": 0}),
        )
        .await;
    assert_eq!(status, 422, "{denied}");
    served.stop().await;
}

#[actix_rt::test]
async fn actions_pass_the_gate_or_are_refused_with_the_rule() {
    let served = Served::start().await;
    let get = json!({"action": "GET", "executor": "http", "target": "https://example.com/"});
    let (status, _) = served
        .post("/actions/authorize", &served.alice, get.clone())
        .await;
    assert_eq!(status, 403, "no capability yet");
    served
        .post(
            "/capabilities",
            &served.alice,
            json!({"resource": "executor:*", "rights": "EXECUTE"}),
        )
        .await;
    let (status, approved) = served
        .post("/actions/authorize", &served.alice, get.clone())
        .await;
    assert_eq!(
        (status, approved["type"].as_str()),
        (200, Some("action_approved"))
    );
    let (status, executed) = served.post("/actions/execute", &served.alice, get).await;
    assert_eq!(status, 200, "{executed}");
    assert_eq!(
        executed["output"],
        json!({"did": "GET", "to": "https://example.com/"})
    );
    let rm = json!({"action": "rm", "executor": "http", "target": "/"});
    let (status, denied) = served.post("/actions/authorize", &served.alice, rm).await;
    assert_eq!(
        (status, denied["error"]["type"].as_str()),
        (403, Some("denied"))
    );
    assert!(
        denied["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no rm"),
        "{denied}"
    );
    let unknown = json!({"action": "run", "executor": "teleporter", "target": "/"});
    let (status, _) = served
        .post("/actions/execute", &served.alice, unknown)
        .await;
    assert_eq!(status, 422, "an unregistered executor");
    served.stop().await;
}

#[actix_rt::test]
async fn escalations_wait_for_a_privileged_decision() {
    let served = std::rc::Rc::new(Served::start().await);
    served
        .post(
            "/capabilities",
            &served.alice,
            json!({"resource": "executor:shell", "rights": "EXECUTE"}),
        )
        .await;
    let waiting = {
        let served = std::rc::Rc::clone(&served);
        actix_rt::spawn(async move {
            let action = json!({"action": "reboot", "executor": "shell", "target": "db-1"});
            served
                .post("/actions/authorize", &served.alice, action)
                .await
        })
    };
    let pending = loop {
        let (status, pending) = served.get("/approvals", &served.ops).await;
        assert_eq!(status, 200);
        if let Some(first) = pending.as_array().unwrap().first() {
            break first.clone();
        }
        actix_rt::task::yield_now().await;
    };
    assert_eq!(pending["system"], "alice");
    let approval = pending["approval"].as_str().unwrap().to_owned();
    assert_eq!(served.get("/approvals", &served.bob).await.0, 403);
    let (status, _) = served
        .post(
            &format!("/approvals/{approval}"),
            &served.bob,
            json!({"approve": true}),
        )
        .await;
    assert_eq!(status, 403, "bob is not privileged");
    let (status, recorded) = served
        .post(
            &format!("/approvals/{approval}"),
            &served.ops,
            json!({"approve": true, "reason": "ok"}),
        )
        .await;
    assert_eq!((status, recorded["approved"].as_bool()), (200, Some(true)));
    let (status, approved) = waiting.await.unwrap();
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["approval"], Value::String(approval.clone()));
    let (status, _) = served
        .post(
            &format!("/approvals/{approval}"),
            &served.ops,
            json!({"approve": false}),
        )
        .await;
    assert_eq!(status, 422, "a decided approval is no longer pending");
    let (status, _) = served
        .post(
            "/approvals/not-a-uuid",
            &served.ops,
            json!({"approve": true}),
        )
        .await;
    assert_eq!(status, 404);
    if let Ok(served) = std::rc::Rc::try_unwrap(served) {
        served.stop().await;
    }
}

#[actix_rt::test]
async fn lifecycle_commands_change_what_a_token_may_do() {
    let served = Served::start().await;
    let pause = json!({"command": "pause", "system_id": "alice"});
    assert_eq!(
        served
            .post("/lifecycle", &served.bob, pause.clone())
            .await
            .0,
        403
    );
    let (status, paused) = served.post("/lifecycle", &served.ops, pause).await;
    assert_eq!((status, paused["state"].as_str()), (200, Some("paused")));
    let (status, error) = served.get("/channels", &served.alice).await;
    assert_eq!(
        (status, error["error"]["type"].as_str()),
        (409, Some("paused"))
    );
    let resume = json!({"command": "resume", "system_id": "alice"});
    assert_eq!(
        served
            .post("/lifecycle", &served.ops, resume.clone())
            .await
            .0,
        200
    );
    assert_eq!(served.get("/channels", &served.alice).await.0, 200);
    assert_eq!(
        served.post("/lifecycle", &served.ops, resume).await.0,
        409,
        "not paused"
    );
    let ghost = json!({"command": "pause", "system_id": "ghost"});
    assert_eq!(served.post("/lifecycle", &served.ops, ghost).await.0, 404);
    let revoke = json!({"command": "revoke", "system_id": "alice"});
    assert_eq!(served.post("/lifecycle", &served.ops, revoke).await.0, 200);
    let (status, error) = served.get("/channels", &served.alice).await;
    assert_eq!(
        status, 401,
        "a revoked system's token does not act: {error}"
    );
    served.stop().await;
}

#[actix_rt::test]
async fn modules_snapshot_health_and_the_openapi_document() {
    let served = Served::start().await;
    let load = json!({"module_id": "echo-1", "framework": "echo"});
    assert_eq!(
        served.post("/modules", &served.alice, load.clone()).await.0,
        403
    );
    let (status, loaded) = served.post("/modules", &served.ops, load).await;
    assert_eq!(
        (status, loaded["error"]["type"].as_str()),
        (403, Some("denied")),
        "no rule allows modules: {loaded}"
    );
    let (status, snapshot) = served.get("/snapshot", &served.bob).await;
    assert_eq!(status, 200);
    let systems: Vec<&str> = snapshot["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        systems.contains(&"alice") && systems.contains(&"ops"),
        "{systems:?}"
    );
    assert_eq!(
        served
            .raw("DELETE", "/modules/..%2Fetc", Some(&served.ops), None)
            .await
            .0,
        404
    );

    let (status, health) = served.raw("GET", "/health", None, None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, doc) = served.raw("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/channels",
        "/channels/{channel}/messages",
        "/channels/{channel}/claim",
        "/channels/{channel}/ack",
        "/channels/{channel}/nack",
        "/channels/{channel}/extend",
        "/channels/{channel}/inbox",
        "/channels/{channel}/stream",
        "/capabilities",
        "/capabilities/derive",
        "/capabilities/{capability}",
        "/actions/authorize",
        "/actions/execute",
        "/approvals",
        "/approvals/{approval}",
        "/lifecycle",
        "/modules",
        "/modules/{module}",
        "/snapshot",
        "/health",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(route), "{route} is documented");
    }
    assert!(paths["/channels/{channel}/messages"]["post"]["responses"]["429"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    served.kernel.shutdown().await;
    let (status, _) = served.raw("GET", "/health", None, None).await;
    assert_eq!(status, 503);
    served.stop().await;
}

#[actix_rt::test]
async fn tokens_of_undocked_unknown_expired_or_revoked_systems_are_401() {
    let served = Served::start().await;
    let (expired, _) = served.gateway.mint(sid("bob"), Some(Duration::ZERO));
    let (stranger, _) = served.gateway.mint(sid("stranger"), None);
    let (revoked, record) = served.gateway.mint(sid("bob"), None);
    assert_eq!(served.get("/channels", revoked.secret()).await.0, 200);
    assert!(served.gateway.revoke_token(&record.id));
    for token in [expired.secret(), stranger.secret(), revoked.secret()] {
        let (status, error) = served.get("/channels", token).await;
        assert_eq!(status, 401, "{error}");
    }
    served.kernel.undock(&sid("bob")).await.unwrap();
    let (status, error) = served.get("/channels", &served.bob).await;
    assert_eq!(status, 401, "{error}");
    let gone = served.gateway.revoke_tokens_of(&sid("bob"));
    assert_eq!(gone, 3);
    served.stop().await;
}

#[actix_rt::test]
async fn a_drained_system_answers_503_and_a_stopped_channel_404() {
    let served = Served::start().await;
    let drain = json!({"command": "drain", "system_id": "alice", "timeout_secs": 5});
    let (status, drained) = served.post("/lifecycle", &served.ops, drain).await;
    assert_eq!(status, 200, "{drained}");
    let state = served.gateway.kernel().snapshot().await.unwrap();
    let alice = state.systems.iter().find(|s| s.id == sid("alice")).unwrap();
    assert_ne!(alice.state, LifecycleState::Running);
    let (status, error) = served.get("/channels", &served.alice).await;
    assert_eq!(
        (status, error["error"]["type"].as_str()),
        (503, Some("unavailable"))
    );

    served.events.drain(Duration::from_secs(1)).await;
    let (status, error) = served
        .post(
            "/channels/events/messages",
            &served.bob,
            json!({"payload": 1}),
        )
        .await;
    assert_eq!(status, 403, "rights are checked first: {error}");
    let (status, _) = served.get("/channels/events/messages", &served.bob).await;
    assert_eq!(status, 404, "a stopped channel is gone");
    served.stop().await;
}
