//! The kernel's audit log on a disk store: what a restart keeps, and where seqs go on.

mod common;

use std::sync::Arc;

use exokern_actors::kernel::{AuditRecord, Kernel, KernelError, KernelHandle};
use exokern_actors::protocol::CapabilityRequest;
use exokern_actors::store::{Store, StoreError};
use exokern_actors::Rights;
use exokern_store::DiskStore;

async fn start(store: &Arc<DiskStore>) -> KernelHandle {
    start_with_ring(store, 4096).await
}

async fn start_with_ring(store: &Arc<DiskStore>, capacity: usize) -> KernelHandle {
    loop {
        match Kernel::builder()
            .audit_capacity(capacity)
            .audit_store(store.clone() as Arc<dyn Store>)
            .start()
            .await
        {
            Ok(kernel) => return kernel,
            // The stopped kernel's actors drop the log a moment after they stop.
            Err(KernelError::Audit(StoreError::InUse { .. })) => tokio::task::yield_now().await,
            Err(error) => panic!("the kernel did not start: {error}"),
        }
    }
}

fn asking(resource: &str) -> CapabilityRequest {
    CapabilityRequest::new(resource.parse().unwrap(), Rights::READ)
}

/// Starts a kernel on `store`, has a clerk ask for `requests` capabilities, shuts the
/// kernel down and answers its audit log as it stopped.
async fn decide_and_stop(store: &Arc<DiskStore>, requests: usize) -> Vec<AuditRecord> {
    let kernel = start(store).await;
    let clerk = common::clerk(&kernel, "clerk").await;
    for i in 0..requests {
        let _ = clerk
            .request_capability(asking(&format!("channel:before-{i}")))
            .await;
    }
    drop(clerk);
    kernel.shutdown().await;
    let shut = kernel.audit(0, usize::MAX);
    assert_eq!(shut.len(), requests + 2, "a dock, the requests, an undock");
    shut
}

#[actix_rt::test]
async fn audit_records_survive_a_restart_and_seqs_go_on_from_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let shut = decide_and_stop(&store, 5).await;

    let kernel = start(&store).await;
    assert_eq!(
        kernel.audited(),
        shut.last().unwrap().seq,
        "the restarted kernel counts every record kept"
    );
    assert_eq!(
        kernel.audit(0, usize::MAX),
        shut,
        "every record comes back as it was, with its seq and time"
    );
    let clerk = common::clerk(&kernel, "clerk-2").await;
    let _ = clerk.request_capability(asking("channel:after")).await;
    let after = kernel.audit(shut.last().unwrap().seq, usize::MAX);
    let seqs: Vec<u64> = after.iter().map(|r| r.seq).collect();
    let next = shut.last().unwrap().seq + 1;
    assert_eq!(seqs, (next..next + seqs.len() as u64).collect::<Vec<_>>());
    assert!(
        after.iter().any(|r| &*r.subject == "channel:after"),
        "{after:?}"
    );
    assert!(
        after[0].timestamp >= shut.last().unwrap().timestamp,
        "timestamps follow seq across the restart"
    );
}

#[actix_rt::test]
async fn a_small_ring_restores_only_the_latest_records_and_counts_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let all = decide_and_stop(&store, 20).await;
    let restarted = start_with_ring(&store, 4).await;
    let audited = restarted.audited();
    assert!(audited >= all.last().unwrap().seq);
    let kept = restarted.audit(0, usize::MAX);
    assert_eq!(kept.len(), 4);
    assert_eq!(kept.last().unwrap().seq, audited);
}
