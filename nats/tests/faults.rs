//! A shared work queue while its server is killed and started again.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fresh_channel, Server};
use exokern_actors::channel::{ChannelError, WorkQueue};
use exokern_actors::store::StoreError;
use exokern_actors::{Rights, Seq, SystemId};
use exokern_nats::{Nats, NatsError, NatsOptions, QueueSpec};

const ITEMS: usize = 2_000;

#[actix_rt::test]
async fn a_server_stopped_and_restarted_mid_run_loses_nothing_acked_and_acks_nothing_twice() {
    if !common::available() {
        return;
    }
    let acked = restart_mid_run(false).await;
    for (seq, acks) in &acked {
        assert_eq!(acks.len(), 1, "seq {seq} acked {} times", acks.len());
    }
}

#[actix_rt::test]
async fn a_server_killed_and_restarted_mid_run_loses_nothing_acked() {
    if !common::available() {
        return;
    }
    // nats-server 2.9 writes its state behind its answers, so a SIGKILL may take back
    // its last few milliseconds of acks: those items are delivered again (at least
    // once), never lost.
    restart_mid_run(true).await;
}

/// Sends and acks through a server that is stopped (or killed with SIGKILL) a quarter of
/// the way through and started again a second later. Checks that every item whose send
/// was answered is acked, and answers each seq's acks (their payloads).
async fn restart_mid_run(crash: bool) -> BTreeMap<Seq, Vec<u64>> {
    let mut server = Server::start();
    let nats = Nats::connect(NatsOptions::new(server.url(), "kernel-a"))
        .await
        .unwrap();
    let id = fresh_channel("restart");
    let spec = QueueSpec::default().ack_wait(Duration::from_secs(2));
    let shared = nats.work_queue(&id, spec).await.unwrap();
    let queue = WorkQueue::<u64>::builder(id)
        .shared(shared)
        .start()
        .unwrap();
    let producer = queue
        .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
        .await
        .unwrap();
    let worker = queue
        .grant(SystemId::new("worker").unwrap(), Rights::READ)
        .await
        .unwrap();

    let sent: Arc<Mutex<BTreeMap<Seq, u64>>> = Arc::default();
    let acked: Arc<Mutex<BTreeMap<Seq, Vec<u64>>>> = Arc::default();
    let (progress, mut sent_so_far) = tokio::sync::watch::channel(0usize);
    let sending = {
        let sent = Arc::clone(&sent);
        actix_rt::spawn(async move {
            for i in 0..ITEMS as u64 {
                // Sends wait out the restart.
                let seq = producer
                    .send(i)
                    .await
                    .expect("a send within the retry bound");
                assert!(
                    sent.lock().unwrap().insert(seq, i).is_none(),
                    "seq {seq} given twice"
                );
                progress.send_replace(i as usize + 1);
            }
        })
    };
    let all_acked = {
        let (sent, acked) = (Arc::clone(&sent), Arc::clone(&acked));
        move || {
            let (sent, acked) = (sent.lock().unwrap(), acked.lock().unwrap());
            sent.len() == ITEMS && sent.keys().all(|seq| acked.contains_key(seq))
        }
    };
    let working = {
        let (acked, all_acked) = (Arc::clone(&acked), all_acked.clone());
        actix_rt::spawn(async move {
            while !all_acked() {
                let items = worker
                    .claim_wait(50, Duration::from_secs(60), Duration::from_millis(500))
                    .await
                    .expect("claims wait out the restart");
                for item in items {
                    match worker.ack(item.claim_token().unwrap()).await {
                        Ok(()) => acked
                            .lock()
                            .unwrap()
                            .entry(item.seq())
                            .or_default()
                            .push(*item.payload()),
                        // The server was away: the item comes back once its ack wait
                        // passes, unless the ack got there after all.
                        Err(ChannelError::Store {
                            error: StoreError::Unavailable { .. },
                            ..
                        }) => {}
                        Err(other) => panic!("an ack failed: {other}"),
                    }
                }
            }
        })
    };

    sent_so_far.wait_for(|n| *n >= ITEMS / 4).await.unwrap();
    let restarted = tokio::task::spawn_blocking(move || {
        if crash {
            server.kill();
        } else {
            server.stop();
        }
        std::thread::sleep(Duration::from_secs(1));
        server.restart();
        server
    });
    sending.await.unwrap();
    let _server = restarted.await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), working)
        .await
        .unwrap_or_else(|_| {
            let (sent, acked) = (sent.lock().unwrap(), acked.lock().unwrap());
            let missing: Vec<_> = sent
                .keys()
                .filter(|s| !acked.contains_key(s))
                .take(20)
                .collect();
            panic!("60 s after the restart, not acked: {missing:?}")
        })
        .unwrap();

    let sent = sent.lock().unwrap();
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let payloads: BTreeSet<u64> = sent.values().copied().collect();
    for (seq, acks) in &acked {
        match sent.get(seq) {
            Some(payload) => assert!(acks.iter().all(|p| p == payload), "seq {seq}: {acks:?}"),
            // A send whose answer the restart lost, sent again: JetStream rebuilds its
            // duplicate window from the messages it still holds, and this one's first
            // copy was already acked.
            None => assert!(
                acks.iter().all(|p| payloads.contains(p)),
                "seq {seq} was never sent: {acks:?}"
            ),
        }
    }
    acked
}

#[actix_rt::test]
async fn a_send_to_a_server_that_stays_away_fails_within_its_bound_naming_the_server() {
    if !common::available() {
        return;
    }
    let mut server = Server::start();
    let options = NatsOptions::new(server.url(), "kernel-a")
        .retry_for(Duration::from_secs(2))
        .answer_within(Duration::from_millis(500));
    let nats = Nats::connect(options).await.unwrap();
    let id = fresh_channel("away");
    let shared = nats.work_queue(&id, QueueSpec::default()).await.unwrap();
    let queue = WorkQueue::<u64>::builder(id)
        .shared(shared)
        .start()
        .unwrap();
    let producer = queue
        .grant(SystemId::new("producer").unwrap(), Rights::WRITE)
        .await
        .unwrap();
    producer.send(1).await.unwrap();
    server.kill();
    let error = tokio::time::timeout(Duration::from_secs(20), producer.send(2))
        .await
        .expect("the send gives up within its bound")
        .unwrap_err();
    match &error {
        ChannelError::Store {
            error: StoreError::Unavailable { server: named, .. },
            ..
        } => {
            assert_eq!(named, &server.url());
        }
        other => panic!("{other}"),
    }
    assert!(error.to_string().contains("check that it runs"), "{error}");
}

#[actix_rt::test]
async fn connecting_to_no_server_fails_at_once_naming_it() {
    if !common::available() {
        return;
    }
    let server = Server::start();
    let url = server.url();
    drop(server);
    let options = NatsOptions::new(&url, "kernel-a").answer_within(Duration::from_millis(500));
    let error = Nats::connect(options).await.unwrap_err();
    assert!(
        matches!(&error, NatsError::Connect { url: named, .. } if named == &url),
        "{error}"
    );
    let error = Nats::connect(NatsOptions::new("http://[::1", "kernel-a"))
        .await
        .unwrap_err();
    assert!(matches!(error, NatsError::Invalid { .. }), "{error}");
    let error = Nats::connect(NatsOptions::new(&url, "")).await.unwrap_err();
    assert!(matches!(error, NatsError::Invalid { .. }), "{error}");
}

#[actix_rt::test]
async fn a_kernel_signs_in_with_its_credentials_and_a_wrong_one_is_refused_naming_the_server() {
    if !common::available() {
        return;
    }
    use exokern_nats::Credentials;
    let server = Server::start_with(&["--user", "kernel-a", "--pass", "s3cret"]);
    let url = server.url();
    let signed_in = NatsOptions::new(&url, "kernel-a").credentials(Credentials::UserPassword {
        user: "kernel-a".into(),
        password: "s3cret".into(),
    });
    let nats = Nats::connect(signed_in)
        .await
        .expect("the right password signs in");
    let id = fresh_channel("auth");
    nats.work_queue(&id, QueueSpec::default()).await.unwrap();

    for wrong in [
        Credentials::None,
        Credentials::UserPassword {
            user: "kernel-a".into(),
            password: "guess".into(),
        },
        Credentials::Token("guess".into()),
    ] {
        let options = NatsOptions::new(&url, "intruder")
            .credentials(wrong)
            .answer_within(Duration::from_secs(2));
        let error = Nats::connect(options).await.unwrap_err();
        assert!(
            matches!(&error, NatsError::Connect { url: named, .. } if named == &url),
            "{error}"
        );
        assert!(
            !error.to_string().contains("s3cret") && !error.to_string().contains("guess"),
            "{error}"
        );
    }

    let tokened = Server::start_with(&["--auth", "t0ken"]);
    let options =
        NatsOptions::new(tokened.url(), "kernel-a").credentials(Credentials::Token("t0ken".into()));
    Nats::connect(options)
        .await
        .expect("the right token signs in");
}
