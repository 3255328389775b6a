//! Channel routes: list, read by seq, publish, claim / ack / nack / extend, inbox, SSE.

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::support::Served;

#[actix_rt::test]
async fn the_list_shows_public_channels_and_the_callers_rights() {
    let served = Served::start().await;
    let (status, list) = served.get("/channels", &served.bob).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!([
            {"id": "events", "kind": "broadcast", "rights": "R"},
            {"id": "jobs", "rights": "NONE"},
            {"id": "letters", "kind": "mailbox", "rights": "R|W"},
        ]),
        "the private channel is not listed"
    );
    served.stop().await;
}

#[actix_rt::test]
async fn publish_then_read_by_seq_in_order_stamped_with_the_caller() {
    let served = Served::start().await;
    for n in 1..=5 {
        let (status, published) = served
            .post(
                "/channels/events/messages",
                &served.alice,
                json!({"payload": {"n": n}}),
            )
            .await;
        assert_eq!((status, published), (201, json!({"seq": n})));
    }
    let (status, page) = served
        .get("/channels/events/messages?after=1&limit=3", &served.bob)
        .await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3, 4]);
    assert_eq!(page["next"], 4);
    assert_eq!(page["messages"][0]["payload"], json!({"n": 2}));
    assert_eq!(page["messages"][0]["sender"], "alice");
    let (_, rest) = served
        .get("/channels/events/messages?after=4", &served.bob)
        .await;
    assert_eq!(rest["messages"].as_array().unwrap().len(), 1);
    let (_, none) = served
        .get("/channels/events/messages?after=5", &served.bob)
        .await;
    assert_eq!(none, json!({"messages": [], "next": 5}));

    let (status, refused) = served
        .post(
            "/channels/events/messages",
            &served.bob,
            json!({"payload": 1}),
        )
        .await;
    assert_eq!(status, 403, "bob may only read: {refused}");
    assert_eq!(served.events.stats().await.unwrap().accepted, 5);
    served.stop().await;
}

#[actix_rt::test]
async fn work_queue_claims_settle_with_their_tokens_only() {
    let served = Served::start().await;
    for n in 0..3 {
        let (status, _) = served
            .post(
                "/channels/jobs/messages",
                &served.alice,
                json!({"payload": n}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, claimed) = served
        .post(
            "/channels/jobs/claim",
            &served.alice,
            json!({"max": 2, "lease_ms": 60000}),
        )
        .await;
    assert_eq!(status, 200);
    let items = claimed["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["attempt"], 1);
    assert_eq!(items[0]["message"]["payload"], 0);
    let first = items[0]["token"].clone();
    let second = items[1]["token"].clone();

    let ack = |token: &Value| json!({"token": token});
    assert_eq!(
        served
            .post("/channels/jobs/ack", &served.alice, ack(&first))
            .await
            .0,
        204
    );
    let (status, replayed) = served
        .post("/channels/jobs/ack", &served.alice, ack(&first))
        .await;
    assert_eq!(
        (status, replayed["error"]["type"].as_str()),
        (409, Some("stale_claim"))
    );
    let forged = format!(
        "{}-{:016x}",
        second.as_str().unwrap().split('-').next().unwrap(),
        7
    );
    let (status, _) = served
        .post(
            "/channels/jobs/ack",
            &served.alice,
            json!({"token": forged}),
        )
        .await;
    assert_eq!(status, 409, "a forged token is a stale claim");
    let extend = json!({"token": second, "lease_ms": 120000});
    assert_eq!(
        served
            .post("/channels/jobs/extend", &served.alice, extend)
            .await
            .0,
        204
    );
    let nack = json!({"token": second, "reason": "try again"});
    assert_eq!(
        served
            .post("/channels/jobs/nack", &served.alice, nack.clone())
            .await
            .0,
        204
    );
    assert_eq!(
        served
            .post("/channels/jobs/nack", &served.alice, nack)
            .await
            .0,
        409
    );

    let (_, again) = served
        .post("/channels/jobs/claim", &served.alice, json!({"max": 10}))
        .await;
    let again = again["items"].as_array().unwrap().clone();
    let mut redelivered: Vec<(i64, i64)> = again
        .iter()
        .map(|i| {
            (
                i["message"]["payload"].as_i64().unwrap(),
                i["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    redelivered.sort();
    assert_eq!(
        redelivered,
        [(1, 2), (2, 1)],
        "the nacked item came back, nothing else was lost"
    );
    for item in &again {
        assert_eq!(
            served
                .post("/channels/jobs/ack", &served.alice, ack(&item["token"]))
                .await
                .0,
            204
        );
    }
    let stats = served.jobs.stats().await.unwrap();
    assert_eq!((stats.acked, stats.depth, stats.in_flight), (3, 0, 0));

    let (status, _) = served
        .post("/channels/jobs/claim", &served.bob, json!({"max": 1}))
        .await;
    assert_eq!(status, 403, "bob was not granted jobs");
    let (status, _) = served
        .post("/channels/events/claim", &served.alice, json!({"max": 1}))
        .await;
    assert_eq!(status, 422, "claims apply to work queues");
    served.stop().await;
}

#[actix_rt::test]
async fn a_full_queue_answers_429_and_keeps_what_it_holds() {
    let served = Served::start().await;
    for n in 0..4 {
        let (status, _) = served
            .post(
                "/channels/jobs/messages",
                &served.alice,
                json!({"payload": n}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, full) = served
        .post(
            "/channels/jobs/messages",
            &served.alice,
            json!({"payload": 4}),
        )
        .await;
    assert_eq!(
        (status, full["error"]["type"].as_str()),
        (429, Some("full"))
    );
    let (_, claimed) = served
        .post("/channels/jobs/claim", &served.alice, json!({"max": 10}))
        .await;
    let payloads: Vec<i64> = claimed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["message"]["payload"].as_i64().unwrap())
        .collect();
    assert_eq!(payloads, [0, 1, 2, 3]);
    served.stop().await;
}

#[actix_rt::test]
async fn mailbox_messages_reach_only_their_recipients_inbox() {
    let served = Served::start().await;
    for n in 0..3 {
        let body = json!({"payload": {"letter": n}, "to": "bob"});
        assert_eq!(
            served
                .post("/channels/letters/messages", &served.alice, body)
                .await
                .0,
            201
        );
    }
    let (status, mine) = served.get("/channels/letters/inbox", &served.alice).await;
    assert_eq!(
        (status, mine["messages"].as_array().unwrap().len()),
        (200, 0)
    );
    let (status, inbox) = served
        .get("/channels/letters/inbox?limit=2", &served.bob)
        .await;
    assert_eq!(status, 200);
    let letters: Vec<Value> = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["payload"]["letter"].clone())
        .collect();
    assert_eq!(letters, [json!(0), json!(1)]);
    assert_eq!(inbox["messages"][0]["sender"], "alice");
    assert_eq!(inbox["messages"][0]["recipient"], "bob");
    let (_, rest) = served.get("/channels/letters/inbox", &served.bob).await;
    assert_eq!(rest["messages"][0]["payload"]["letter"], 2);

    let cases = [
        (json!({"payload": 1}), "needs `to`"),
        (json!({"payload": 1, "to": "nobody"}), "no inbox"),
        (json!({"payload": 1, "to": "../bob"}), "not a system id"),
    ];
    for (body, expected) in cases {
        let (status, error) = served
            .post("/channels/letters/messages", &served.alice, body)
            .await;
        assert_eq!(status, 422);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains(expected),
            "{error}"
        );
    }
    let (status, _) = served
        .post(
            "/channels/events/messages",
            &served.alice,
            json!({"payload": 1, "to": "bob"}),
        )
        .await;
    assert_eq!(status, 422, "`to` applies to mailboxes only");
    assert_eq!(
        served.get("/channels/events/inbox", &served.alice).await.0,
        422
    );
    served.stop().await;
}

/// Reads server-sent events until `count` message events arrived.
async fn events(
    body: &mut (impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>
              + Unpin),
    count: usize,
) -> Vec<(String, Value)> {
    let mut text = String::new();
    let mut seen = Vec::new();
    while seen.len() < count {
        let chunk = body.next().await.expect("the stream stays open").unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            let id = event
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .unwrap_or("");
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                seen.push((id.to_owned(), serde_json::from_str(data).unwrap()));
            }
        }
    }
    seen
}

#[actix_rt::test]
async fn a_stream_resumes_from_last_event_id_with_exactly_the_missed_messages() {
    let served = Served::start().await;
    for n in 1..=5 {
        served
            .post(
                "/channels/events/messages",
                &served.alice,
                json!({"payload": n}),
            )
            .await;
    }
    let client = awc::Client::default();
    let mut response = client
        .get(format!("{}/channels/events/stream", served.base))
        .insert_header(("Authorization", format!("Bearer {}", served.bob)))
        .insert_header(("Last-Event-ID", "2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let missed = events(&mut response, 3).await;
    let ids: Vec<&str> = missed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["3", "4", "5"]);
    assert_eq!(missed[0].1["payload"], 3);
    served
        .post(
            "/channels/events/messages",
            &served.alice,
            json!({"payload": 6}),
        )
        .await;
    let live = events(&mut response, 1).await;
    assert_eq!(live[0].0, "6");
    assert_eq!(live[0].1["payload"], 6);

    let (status, _) = served.get("/channels/jobs/stream", &served.alice).await;
    assert_eq!(status, 422, "streams are of broadcasts");
    let (status, _) = served
        .raw(
            "GET",
            "/channels/events/stream?after=x",
            Some(&served.bob),
            None,
        )
        .await;
    assert_eq!(status, 400);
    drop(response);
    served.stop().await;
}
