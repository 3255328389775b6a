//! Durable channels for exokern: every channel's log in one embedded
//! [redb](https://www.redb.org) file, written by one thread with group commit.
//!
//! A [`DiskStore`] is a [`Store`]: give it to a channel's builder and the channel keeps
//! what a crash must not undo. Changes from every channel go into one batch; the batch
//! is committed in one redb transaction with an fsync, and only then are the sends and
//! acks it holds answered. A crash mid-commit leaves the last commit whole (redb's commit
//! is checksummed), so what was answered is on disk, and what was not answered may or
//! may not be.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use exokern_actors::channel::WorkQueue;
//! use exokern_actors::{Rights, SystemId};
//! use exokern_store::DiskStore;
//!
//! # let dir = tempfile::tempdir()?;
//! let store = Arc::new(DiskStore::open(dir.path())?);
//! # actix_rt::System::new().block_on(async {
//! let jobs = WorkQueue::<String>::builder("jobs".parse()?)
//!     .store(store.clone())
//!     .start()?;
//! let producer = jobs.grant(SystemId::new("producer")?, Rights::WRITE).await?;
//! producer.send("resize image 1".to_string()).await?; // on disk once this returns
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use exokern_actors::store::{Log, Store, StoreError};
use exokern_actors::ChannelId;
use redb::{Database, ReadableDatabase, ReadableTable, TableError};

mod batch;
mod file;
mod log;
mod writer;

use file::{StoreFile, CHANNELS};
use log::DiskLog;
use writer::Shared;

/// The file a store keeps in its folder.
pub const FILE_NAME: &str = "channels.redb";

/// When a commit is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Each sync is its own commit: one fsync per send or ack.
    Always,
    /// Changes are gathered for up to `max_delay` after the first, or until there are
    /// `max_changes`, then committed together. A send or ack is still answered only
    /// once its batch is on disk, so this is as safe as [`SyncMode::Always`].
    Batch {
        /// The time window.
        max_delay: Duration,
        /// The count window.
        max_changes: usize,
    },
}

impl SyncMode {
    /// [`SyncMode::Batch`] with its default windows: 1 ms, 8,192 changes.
    pub const BATCH: SyncMode = SyncMode::Batch {
        max_delay: Duration::from_millis(1),
        max_changes: 8192,
    };
}

impl Default for SyncMode {
    fn default() -> SyncMode {
        SyncMode::BATCH
    }
}

/// Durable channels' logs, in `FOLDER/channels.redb`. Cheap to clone: the clones share
/// one file and one writer thread, which stops once the last clone and the last log
/// are dropped, after committing what it holds.
#[derive(Debug, Clone)]
pub struct DiskStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    open: Mutex<HashSet<u32>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStore")
            .field("file", &self.shared.file.0)
            .field("sync", &self.shared.mode)
            .finish()
    }
}

impl Inner {
    fn release(&self, number: u32) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&number);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.pending().shutdown = true;
        self.shared.wake.notify_all();
        if let Some(writer) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = writer.join();
        }
    }
}

/// Opens a [`DiskStore`] with settings.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct DiskStoreBuilder {
    dir: PathBuf,
    mode: SyncMode,
}

impl DiskStoreBuilder {
    /// When commits are made (default [`SyncMode::BATCH`]).
    pub fn sync(mut self, mode: SyncMode) -> Self {
        self.mode = mode;
        self
    }

    /// Opens the store, creating its folder and file if there are none. Refuses a file
    /// that fails redb's integrity check, naming it.
    pub fn open(self) -> Result<DiskStore, StoreError> {
        let path = self.dir.join(FILE_NAME);
        let file = StoreFile(path.display().to_string());
        if let SyncMode::Batch { max_changes: 0, .. } = self.mode {
            return Err(StoreError::Io {
                file: file.0,
                detail: "the count window of batch sync must be at least 1".into(),
            });
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::Io {
            file: file.0.clone(),
            detail: format!("cannot create its folder: {e}"),
        })?;
        let mut db = Database::create(&path).map_err(|e| file.error(e))?;
        if !db.check_integrity().map_err(|e| file.error(e))? {
            return Err(StoreError::Damaged {
                file: file.0,
                place: "its B-tree".into(),
                detail: "redb's integrity check failed and rolled the file back to its last intact commit, so records committed after it may be gone; look at the file, then start again to accept it as it is now".into(),
            });
        }
        let shared = Arc::new(Shared::new(db, file.clone(), path, self.mode));
        let writer = writer::spawn(Arc::clone(&shared)).map_err(|e| StoreError::Io {
            file: file.0,
            detail: format!("cannot start its writer thread: {e}"),
        })?;
        Ok(DiskStore {
            inner: Arc::new(Inner {
                shared,
                writer: Mutex::new(Some(writer)),
                open: Mutex::default(),
            }),
        })
    }
}

impl DiskStore {
    /// Opens the store in `dir` with batch sync (see [`DiskStoreBuilder::open`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<DiskStore, StoreError> {
        DiskStore::builder(dir).open()
    }

    /// A builder for the store in `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> DiskStoreBuilder {
        DiskStoreBuilder {
            dir: dir.as_ref().to_path_buf(),
            mode: SyncMode::default(),
        }
    }

    /// The store's file.
    pub fn file(&self) -> &str {
        &self.inner.shared.file.0
    }

    /// The number `channel` is kept under, given it now if it has none.
    fn number(&self, channel: &ChannelId) -> Result<u32, StoreError> {
        let shared = &self.inner.shared;
        shared.with_db(|db| self.number_in(db, channel))
    }

    fn number_in(&self, db: &Database, channel: &ChannelId) -> Result<u32, StoreError> {
        let file = &self.inner.shared.file;
        let read = db.begin_read().map_err(|e| file.error(e))?;
        match read.open_table(CHANNELS) {
            Ok(table) => {
                if let Some(number) = table.get(channel.as_str()).map_err(|e| file.error(e))? {
                    return Ok(number.value());
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(error) => return Err(file.error(error)),
        }
        drop(read);
        let txn = db.begin_write().map_err(|e| file.error(e))?;
        let number = {
            let mut table = txn.open_table(CHANNELS).map_err(|e| file.error(e))?;
            let existing = table
                .get(channel.as_str())
                .map_err(|e| file.error(e))?
                .map(|v| v.value());
            match existing {
                Some(number) => number,
                None => {
                    let mut next = 0;
                    for entry in table.iter().map_err(|e| file.error(e))? {
                        let (_, number) = entry.map_err(|e| file.error(e))?;
                        next = next.max(number.value() + 1);
                    }
                    table
                        .insert(channel.as_str(), next)
                        .map_err(|e| file.error(e))?;
                    next
                }
            }
        };
        txn.commit().map_err(|e| file.error(e))?;
        Ok(number)
    }
}

impl Store for DiskStore {
    fn open(&self, channel: &ChannelId) -> Result<Arc<dyn Log>, StoreError> {
        let number = self.number(channel)?;
        if !self
            .inner
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(number)
        {
            return Err(StoreError::InUse {
                log: channel.to_string(),
            });
        }
        Ok(Arc::new(DiskLog {
            channel: channel.clone(),
            number,
            inner: Arc::clone(&self.inner),
        }))
    }
}
