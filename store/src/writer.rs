//! The writer thread: gathers changes from every log into batches and commits each in
//! one durable redb transaction, then answers the syncs it holds.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use exokern_actors::store::StoreError;
use redb::Database;

use crate::batch::Batch;
use crate::file::StoreFile;
use crate::SyncMode;

/// What the logs and the writer share.
pub(crate) struct Shared {
    pub(crate) pending: Mutex<Pending>,
    /// Signalled when a batch starts, fills, or is sealed, and at shutdown.
    pub(crate) wake: Condvar,
    /// Held from taking a batch to the end of its commit, so batches reach the disk in
    /// the order they were taken, whoever commits them.
    commit: Mutex<()>,
    /// `None` only while it is being reopened after a failed commit.
    pub(crate) db: RwLock<Option<Database>>,
    pub(crate) file: StoreFile,
    path: PathBuf,
    pub(crate) mode: SyncMode,
}

/// Changes not yet taken by a commit.
#[derive(Default)]
pub(crate) struct Pending {
    /// The batch changes go into.
    pub(crate) open: Batch,
    /// When the open batch's first change came (its time window's start).
    pub(crate) opened_at: Option<Instant>,
    /// Batches closed by a sync under [`SyncMode::Always`], each its own commit.
    pub(crate) sealed: VecDeque<Batch>,
    pub(crate) shutdown: bool,
}

impl Pending {
    fn has_work(&self) -> bool {
        !self.open.is_empty() || !self.sealed.is_empty()
    }

    /// The next batch to commit.
    fn take(&mut self) -> Batch {
        self.sealed.pop_front().unwrap_or_else(|| {
            self.opened_at = None;
            std::mem::take(&mut self.open)
        })
    }
}

impl Shared {
    pub(crate) fn new(db: Database, file: StoreFile, path: PathBuf, mode: SyncMode) -> Shared {
        Shared {
            pending: Mutex::default(),
            wake: Condvar::new(),
            commit: Mutex::new(()),
            db: RwLock::new(Some(db)),
            file,
            path,
            mode,
        }
    }

    pub(crate) fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits everything pending now, on the caller's thread, in order after any commit
    /// under way.
    pub(crate) fn flush(&self) {
        let _commit = self.commit.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let batch = {
                let mut pending = self.pending();
                if !pending.has_work() {
                    return;
                }
                pending.take()
            };
            self.commit(batch);
        }
    }

    /// The writer thread's loop, until shutdown with nothing left.
    pub(crate) fn run(&self) {
        loop {
            let mut pending = self.pending();
            while !pending.has_work() && !pending.shutdown {
                pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            if !pending.has_work() {
                return;
            }
            if let SyncMode::Batch {
                max_delay,
                max_changes,
            } = self.mode
            {
                let deadline = pending.opened_at.unwrap_or_else(Instant::now) + max_delay;
                while !pending.shutdown && pending.open.changes < max_changes {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    pending = self
                        .wake
                        .wait_timeout(pending, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
            drop(pending);
            let _commit = self.commit.lock().unwrap_or_else(|e| e.into_inner());
            let batch = self.pending().take();
            self.commit(batch);
        }
    }

    /// Commits `batch` in one durable transaction and answers its syncs.
    fn commit(&self, batch: Batch) {
        let outcome = self.write(&batch);
        if let Err(error) = &outcome {
            tracing::error!(%error, "a commit failed; its changes were not kept");
            self.reopen();
        }
        for waiter in batch.waiters {
            waiter.send(outcome.clone());
        }
    }

    /// Runs `work` on the open database.
    pub(crate) fn with_db<R>(
        &self,
        work: impl FnOnce(&Database) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let db = self.db.read().unwrap_or_else(|e| e.into_inner());
        match db.as_ref() {
            Some(db) => work(db),
            None => Err(StoreError::Io {
                file: self.file.0.clone(),
                detail: "the file could not be reopened after an earlier failure".into(),
            }),
        }
    }

    fn write(&self, batch: &Batch) -> Result<(), StoreError> {
        self.with_db(|db| {
            let mut txn = db.begin_write().map_err(|e| self.file.error(e))?;
            // With redb's default one-phase commit, the first commit after a failed one
            // (the disk full, the file reopened) was sometimes missing after a restart
            // although later commits were there: `tests/full_disk.rs` lost an answered
            // item in 4 of 270 runs. Two phases, an fsync more per commit, lost none in
            // 150.
            txn.set_two_phase_commit(true);
            batch.apply(&txn).map_err(|e| self.file.error(e))?;
            txn.commit().map_err(|e| self.file.error(e))
        })
    }

    /// After a failed commit redb must be reopened before it writes again; reopening
    /// rolls back to the last durable commit, which is what the failed batch's syncs
    /// were told.
    fn reopen(&self) {
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        drop(db.take());
        match Database::create(&self.path) {
            Ok(reopened) => *db = Some(reopened),
            Err(error) => {
                tracing::error!(error = %self.file.error(error), "the store could not be reopened; every later write fails")
            }
        }
    }
}

/// Runs the writer on its own thread.
pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("exokern-store".into())
        .spawn(move || shared.run())
}
