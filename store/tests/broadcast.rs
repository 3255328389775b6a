//! A broadcast on a disk store, stopped and started again in one process: its retained
//! history, its seqs and reads by seq across the restart.

use std::sync::Arc;

use exokern_actors::channel::{
    Broadcast, BroadcastHandle, ChannelError, StartAt, StartError, SubscribeOptions,
};
use exokern_actors::store::{Store, StoreError};
use exokern_actors::{Rights, Seq, SystemId};
use exokern_store::DiskStore;

async fn start(store: &Arc<DiskStore>, retention: usize) -> (Broadcast<u64>, BroadcastHandle<u64>) {
    for _ in 0..100 {
        let started = Broadcast::<u64>::builder("news".parse().unwrap())
            .retention(retention)
            .store(store.clone() as Arc<dyn Store>)
            .start();
        match started {
            Ok(channel) => {
                let handle = channel
                    .grant(SystemId::new("desk").unwrap(), Rights::READ | Rights::WRITE)
                    .await
                    .unwrap();
                return (channel, handle);
            }
            // The stopped channel lets go of its log once its actor is gone.
            Err(StartError::Store {
                error: StoreError::InUse { .. },
                ..
            }) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    panic!("the stopped channel never let go of its log");
}

fn seqs(envelopes: &[Arc<exokern_actors::Envelope<u64>>]) -> Vec<u64> {
    envelopes.iter().map(|e| e.seq().get()).collect()
}

#[actix_rt::test]
async fn the_retained_history_and_the_seqs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let (channel, desk) = start(&store, 5).await;
    for n in 1..=12u64 {
        assert_eq!(desk.publish(n * 100).await.unwrap(), Seq::new(n));
    }
    channel.stop().await;
    drop((channel, desk));

    let (channel, desk) = start(&store, 5).await;
    let history = desk.read(Seq::new(7), 100).await.unwrap();
    assert_eq!(seqs(&history), [8, 9, 10, 11, 12]);
    assert_eq!(*history[0].payload(), 800);
    assert_eq!(history[0].sender().as_str(), "desk");
    assert!(matches!(
        desk.read(Seq::new(2), 10).await,
        Err(ChannelError::Lagged { missed: 5, .. })
    ));
    let mut late = desk
        .subscribe(SubscribeOptions::default().start(StartAt::Earliest))
        .await
        .unwrap();
    assert_eq!(
        desk.publish(1300).await.unwrap(),
        Seq::new(13),
        "seqs are never reused"
    );
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(late.recv().await.unwrap().seq().get());
    }
    assert_eq!(seen, [8, 9, 10, 11, 12, 13]);
    channel.stop().await;
}

#[actix_rt::test]
async fn a_lower_retention_after_a_restart_keeps_only_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let (channel, desk) = start(&store, 10).await;
    for n in 1..=10u64 {
        desk.publish(n).await.unwrap();
    }
    channel.stop().await;
    drop((channel, desk));
    let (channel, desk) = start(&store, 3).await;
    assert_eq!(
        seqs(&desk.read(Seq::new(7), 100).await.unwrap()),
        [8, 9, 10]
    );
    channel.stop().await;
    drop((channel, desk));
    let (channel, desk) = start(&store, 10).await;
    assert_eq!(
        seqs(&desk.read(Seq::new(7), 100).await.unwrap()),
        [8, 9, 10],
        "what a lower retention dropped stays dropped"
    );
    assert_eq!(desk.publish(11).await.unwrap(), Seq::new(11));
    channel.stop().await;
}
