//! The changes gathered for one commit, folded together as they arrive: an item put,
//! delivered and acked within one batch never reaches the disk at all.

use std::collections::BTreeMap;

use exokern_actors::store::{Change, SyncReply};
use redb::ReadableTable;
use rustc_hash::FxHashMap;

use crate::file::{seal, DELIVERED, LAST_SEQ, MARKS, RECORDS};

/// What a commit does to one key.
enum Entry {
    /// A record put in this batch, not on disk before it.
    Fresh {
        record: Vec<u8>,
        mark: Option<Vec<u8>>,
    },
    /// A record that may be on disk: a new mark, or its removal.
    Known {
        mark: Option<Vec<u8>>,
        removed: bool,
    },
}

/// The changes and waiters of one commit.
#[derive(Default)]
pub(crate) struct Batch {
    entries: BTreeMap<(u32, u64), Entry>,
    last_seq: FxHashMap<u32, u64>,
    delivered: FxHashMap<u32, u64>,
    pub(crate) waiters: Vec<SyncReply>,
    /// Changes added, before folding: what the count window counts.
    pub(crate) changes: usize,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.changes == 0 && self.waiters.is_empty()
    }

    pub(crate) fn add(&mut self, channel: u32, change: Change) {
        self.changes += 1;
        match change {
            Change::Put { seq, record } => {
                let seq = seq.get();
                let last = self.last_seq.entry(channel).or_default();
                *last = (*last).max(seq);
                let record = seal((channel, seq), record);
                self.entries
                    .insert((channel, seq), Entry::Fresh { record, mark: None });
            }
            Change::Mark { seq, mark } => {
                let key = (channel, seq.get());
                let sealed = seal(key, mark);
                match self.entries.get_mut(&key) {
                    Some(Entry::Known { removed: true, .. }) => {}
                    Some(Entry::Fresh { mark, .. }) | Some(Entry::Known { mark, .. }) => {
                        *mark = Some(sealed)
                    }
                    None => {
                        self.entries.insert(
                            key,
                            Entry::Known {
                                mark: Some(sealed),
                                removed: false,
                            },
                        );
                    }
                }
            }
            Change::Delivered { through } => {
                let kept = self.delivered.entry(channel).or_default();
                *kept = (*kept).max(through.get());
            }
            Change::Remove { seq } => {
                let key = (channel, seq.get());
                if let Some(Entry::Fresh { .. }) = self.entries.get(&key) {
                    self.entries.remove(&key);
                } else {
                    self.entries.insert(
                        key,
                        Entry::Known {
                            mark: None,
                            removed: true,
                        },
                    );
                }
            }
        }
    }

    /// Applies the batch in `txn`.
    pub(crate) fn apply(&self, txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
        let mut records = txn.open_table(RECORDS)?;
        let mut marks = txn.open_table(MARKS)?;
        for (key, entry) in &self.entries {
            match entry {
                Entry::Fresh { record, mark } => {
                    records.insert(key, record.as_slice())?;
                    if let Some(mark) = mark {
                        marks.insert(key, mark.as_slice())?;
                    }
                }
                Entry::Known {
                    mark: Some(mark), ..
                } => {
                    marks.insert(key, mark.as_slice())?;
                }
                Entry::Known { removed: true, .. } => {
                    records.remove(key)?;
                    marks.remove(key)?;
                }
                Entry::Known { .. } => {}
            }
        }
        raise(txn, LAST_SEQ, &self.last_seq)?;
        raise(txn, DELIVERED, &self.delivered)?;
        Ok(())
    }
}

/// Raises each channel's seq in `table` to the batch's, where the batch's is higher.
fn raise(
    txn: &redb::WriteTransaction,
    table: redb::TableDefinition<'_, u32, u64>,
    seqs: &FxHashMap<u32, u64>,
) -> Result<(), redb::Error> {
    if seqs.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(table)?;
    for (&channel, &seq) in seqs {
        let kept = table.get(channel)?.map_or(0, |v| v.value());
        if seq > kept {
            table.insert(channel, seq)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exokern_actors::Seq;

    #[test]
    fn an_item_put_and_removed_in_one_batch_leaves_only_its_seq() {
        let mut batch = Batch::default();
        batch.add(
            1,
            Change::Put {
                seq: Seq::new(5),
                record: b"x".to_vec(),
            },
        );
        batch.add(
            1,
            Change::Mark {
                seq: Seq::new(5),
                mark: b"m".to_vec(),
            },
        );
        batch.add(1, Change::Remove { seq: Seq::new(5) });
        batch.add(1, Change::Remove { seq: Seq::new(2) });
        assert_eq!(batch.changes, 4);
        assert!(!batch.entries.contains_key(&(1, 5)));
        assert!(matches!(
            batch.entries.get(&(1, 2)),
            Some(Entry::Known { removed: true, .. })
        ));
        assert_eq!(batch.last_seq.get(&1), Some(&5));
    }
}
