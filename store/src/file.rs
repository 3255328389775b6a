//! The store's file: its tables, the checksum on every value, and what its errors mean.

use std::io;

use exokern_actors::store::StoreError;
use redb::{ReadTransaction, ReadableTable, TableDefinition, TableError};

/// Each channel's records, by (channel number, seq).
pub(crate) const RECORDS: TableDefinition<'_, (u32, u64), &[u8]> = TableDefinition::new("records");
/// The mark beside a record, by the same key.
pub(crate) const MARKS: TableDefinition<'_, (u32, u64), &[u8]> = TableDefinition::new("marks");
/// Each channel id's number.
pub(crate) const CHANNELS: TableDefinition<'_, &str, u32> = TableDefinition::new("channels");
/// The last seq each channel ever put, by channel number.
pub(crate) const LAST_SEQ: TableDefinition<'_, u32, u64> = TableDefinition::new("last_seq");
/// The highest seq each channel delivered at least once, by channel number.
pub(crate) const DELIVERED: TableDefinition<'_, u32, u64> = TableDefinition::new("delivered");

/// `bytes` with a CRC-32 of its key and contents after it. redb checksums its pages
/// only when it repairs a file after a crash; this finds damage to any value, whenever
/// it is read. The sum goes on the end of `bytes` itself, whose spare capacity from
/// encoding usually holds it, so most values are not copied.
pub(crate) fn seal(key: (u32, u64), mut bytes: Vec<u8>) -> Vec<u8> {
    let sum = checksum(key, &bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    bytes
}

/// The contents of a sealed value, or `None` if it fails its checksum.
pub(crate) fn unseal(key: (u32, u64), sealed: &[u8]) -> Option<&[u8]> {
    let split = sealed.len().checked_sub(4)?;
    let (bytes, sum) = sealed.split_at(split);
    let sum = u32::from_le_bytes(sum.try_into().expect("four bytes"));
    (checksum(key, bytes) == sum).then_some(bytes)
}

fn checksum((channel, seq): (u32, u64), bytes: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&channel.to_le_bytes());
    hasher.update(&seq.to_le_bytes());
    hasher.update(bytes);
    hasher.finalize()
}

/// The file, named in every error.
#[derive(Debug, Clone)]
pub(crate) struct StoreFile(pub(crate) String);

impl StoreFile {
    /// What a redb error means to a user of the store.
    pub(crate) fn error(&self, error: impl Into<redb::Error>) -> StoreError {
        let file = self.0.clone();
        match error.into() {
            redb::Error::Io(error) if is_full(&error) => StoreError::Full {
                file,
                detail: error.to_string(),
            },
            redb::Error::Corrupted(detail) => StoreError::Damaged {
                file,
                place: "a page of its B-tree".into(),
                detail,
            },
            other => StoreError::Io {
                file,
                detail: other.to_string(),
            },
        }
    }

    /// Every value `table` keeps for channel `number` (`channel` in errors), by seq,
    /// checked against its seal; none if the table was never written.
    pub(crate) fn unsealed(
        &self,
        txn: &ReadTransaction,
        table: TableDefinition<'_, (u32, u64), &[u8]>,
        name: &str,
        channel: &str,
        number: u32,
    ) -> Result<impl Iterator<Item = (u64, Vec<u8>)>, StoreError> {
        let table = match txn.open_table(table) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new().into_iter()),
            Err(error) => return Err(self.error(error)),
        };
        let mut values = Vec::new();
        for entry in table
            .range((number, 0)..=(number, u64::MAX))
            .map_err(|e| self.error(e))?
        {
            let (key, value) = entry.map_err(|e| self.error(e))?;
            let key = key.value();
            let bytes =
                unseal(key, value.value()).ok_or_else(|| self.damaged(name, channel, key.1))?;
            values.push((key.1, bytes.to_vec()));
        }
        Ok(values.into_iter())
    }

    /// A value that fails its checksum.
    pub(crate) fn damaged(&self, table: &str, channel: &str, seq: u64) -> StoreError {
        StoreError::Damaged {
            file: self.0.clone(),
            place: format!("the {table} of channel `{channel}`, seq {seq}"),
            detail: "the value fails its checksum".into(),
        }
    }
}

/// An error that more disk space would cure. `EFBIG` is what a file-size limit
/// (`ulimit -f`) gives, which is how the tests fill a disk.
fn is_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded
    ) || matches!(error.raw_os_error(), Some(27 | 28 | 122))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_and_any_flipped_bit_is_caught() {
        let sealed = seal((3, 17), b"payload".to_vec());
        assert_eq!(unseal((3, 17), &sealed), Some(&b"payload"[..]));
        assert_eq!(
            unseal((3, 18), &sealed),
            None,
            "a value moved to another key"
        );
        for byte in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[byte] ^= 0x10;
            assert_eq!(unseal((3, 17), &bad), None, "byte {byte}");
        }
        assert_eq!(unseal((3, 17), &sealed[..3]), None);
    }
}
