//! Many clients at once: nothing lost, nothing duplicated, each client's order kept.

use std::collections::BTreeMap;

use serde_json::json;

use crate::support::Served;

const CLIENTS: usize = 100;
const EACH: usize = 10;

#[actix_rt::test]
async fn a_hundred_concurrent_publishers_lose_nothing() {
    let served = std::rc::Rc::new(Served::start().await);
    let mut publishers = Vec::new();
    for client in 0..CLIENTS {
        let served = std::rc::Rc::clone(&served);
        publishers.push(actix_rt::spawn(async move {
            let http = awc::Client::default();
            for n in 0..EACH {
                let response = http
                    .post(format!("{}/channels/events/messages", served.base))
                    .insert_header(("Authorization", format!("Bearer {}", served.alice)))
                    .send_json(&json!({"payload": {"client": client, "n": n}}))
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 201);
            }
        }));
    }
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let mut seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut after = 0;
    loop {
        let (status, page) = served
            .get(
                &format!("/channels/events/messages?after={after}&limit=1000"),
                &served.bob,
            )
            .await;
        assert_eq!(status, 200);
        let messages = page["messages"].as_array().unwrap();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let payload = &message["payload"];
            seen.entry(payload["client"].as_u64().unwrap())
                .or_default()
                .push(payload["n"].as_u64().unwrap());
        }
        after = page["next"].as_u64().unwrap();
    }
    assert_eq!(after, (CLIENTS * EACH) as u64, "seqs are dense");
    assert_eq!(seen.len(), CLIENTS);
    for (client, ns) in &seen {
        assert_eq!(
            ns,
            &(0..EACH as u64).collect::<Vec<_>>(),
            "client {client}: all, in order, once"
        );
    }
    if let Ok(served) = std::rc::Rc::try_unwrap(served) {
        served.stop().await;
    }
}
