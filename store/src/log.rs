//! [`DiskLog`]: one channel's log in the store's file.

use std::sync::Arc;
use std::time::Instant;

use exokern_actors::store::{Change, Kept, Log, Recovered, StoreError, Synced};
use exokern_actors::{ChannelId, Seq};
use redb::{ReadableDatabase, ReadableTable, TableError};
use rustc_hash::FxHashMap;

use crate::file::{DELIVERED, LAST_SEQ, MARKS, RECORDS};
use crate::{Inner, SyncMode};

/// One channel's log: its changes go to the store's writer, its records are read back
/// from the file.
pub(crate) struct DiskLog {
    pub(crate) channel: ChannelId,
    pub(crate) number: u32,
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for DiskLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskLog")
            .field("channel", &self.channel)
            .field("file", &self.inner.shared.file.0)
            .finish()
    }
}

impl Drop for DiskLog {
    fn drop(&mut self) {
        self.inner.release(self.number);
    }
}

impl DiskLog {
    /// This channel's seq in `table`, 0 if it has none.
    fn seq_in(
        &self,
        txn: &redb::ReadTransaction,
        table: redb::TableDefinition<'_, u32, u64>,
    ) -> Result<u64, StoreError> {
        let file = &self.inner.shared.file;
        match txn.open_table(table) {
            Ok(table) => Ok(table
                .get(self.number)
                .map_err(|e| file.error(e))?
                .map_or(0, |v| v.value())),
            Err(TableError::TableDoesNotExist(_)) => Ok(0),
            Err(error) => Err(file.error(error)),
        }
    }
}

impl Log for DiskLog {
    fn recover(&self) -> Result<Recovered, StoreError> {
        let shared = &self.inner.shared;
        // An earlier log of this channel may have left changes in the writer's hands.
        shared.flush();
        let file = &shared.file;
        let txn = shared.with_db(|db| db.begin_read().map_err(|e| file.error(e)))?;
        let channel = self.channel.as_str();
        let mut marks: FxHashMap<u64, Vec<u8>> = file
            .unsealed(&txn, MARKS, "marks", channel, self.number)?
            .collect();
        let records: Vec<Kept> = file
            .unsealed(&txn, RECORDS, "records", channel, self.number)?
            .map(|(seq, record)| Kept::new(Seq::new(seq), record, marks.remove(&seq)))
            .collect();
        let kept_last = self.seq_in(&txn, LAST_SEQ)?;
        let delivered = self.seq_in(&txn, DELIVERED)?;
        let last_record = records.last().map_or(0, |kept| kept.seq.get());
        Ok(
            Recovered::new(Seq::new(kept_last.max(last_record)), records)
                .delivered_through(Seq::new(delivered)),
        )
    }

    fn write(&self, change: Change) {
        let shared = &self.inner.shared;
        let mut pending = shared.pending();
        if pending.shutdown {
            return;
        }
        let first = pending.open.is_empty();
        if first {
            pending.opened_at = Some(Instant::now());
        }
        pending.open.add(self.number, change);
        // Under `Always` the next sync seals these changes into its own commit; waking
        // the writer now would commit them apart, one fsync more for nothing.
        let wake = match shared.mode {
            SyncMode::Always => false,
            SyncMode::Batch { max_changes, .. } => first || pending.open.changes >= max_changes,
        };
        drop(pending);
        if wake {
            shared.wake.notify_one();
        }
    }

    fn sync(&self) -> Synced {
        let (reply, synced) = Synced::pending(self.channel.as_str());
        let shared = &self.inner.shared;
        let mut pending = shared.pending();
        if pending.shutdown {
            drop(pending);
            reply.send(Err(StoreError::Closed {
                log: self.channel.to_string(),
            }));
            return synced;
        }
        match shared.mode {
            SyncMode::Always => {
                let mut batch = std::mem::take(&mut pending.open);
                pending.opened_at = None;
                batch.waiters.push(reply);
                pending.sealed.push_back(batch);
            }
            SyncMode::Batch { .. } => {
                if pending.open.is_empty() {
                    pending.opened_at = Some(Instant::now());
                }
                pending.open.waiters.push(reply);
            }
        }
        drop(pending);
        shared.wake.notify_one();
        synced
    }
}
