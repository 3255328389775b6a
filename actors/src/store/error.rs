//! [`StoreError`]: why a store could not keep or give back a record.

/// Why a store could not keep or give back a record. A write that failed changed nothing
/// that was acknowledged before it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store's files are damaged somewhere a crash cannot explain; the store refuses
    /// to start rather than skip what it cannot read.
    #[error("the store {file} is damaged at {place}: {detail}; restore it from a backup, or move it aside to start the channel empty")]
    Damaged {
        /// The file.
        file: String,
        /// Where in it: a byte offset, or the channel and seq of the record.
        place: String,
        /// What is wrong.
        detail: String,
    },
    /// The disk is full: the change was not kept.
    #[error("the store {file} is out of disk space ({detail}): free some space and send again; nothing acknowledged before was lost")]
    Full {
        /// The file.
        file: String,
        /// What the system said.
        detail: String,
    },
    /// The disk or the file system failed otherwise.
    #[error("the store {file} could not be written or read: {detail}")]
    Io {
        /// The file.
        file: String,
        /// What the system said.
        detail: String,
    },
    /// The log is already open: one channel may run on a log at a time.
    #[error("the log of channel `{log}` is already open in this store: stop the channel that holds it first")]
    InUse {
        /// The channel.
        log: String,
    },
    /// The store was shut down before the change was kept.
    #[error("the store holding the log of `{log}` was shut down before the change was kept")]
    Closed {
        /// The channel.
        log: String,
    },
    /// A record was read back whole but does not decode as the channel's payload type.
    #[error("record {seq} of channel `{log}` does not decode: {detail}; was the channel's payload type changed?")]
    Undecodable {
        /// The channel.
        log: String,
        /// The record.
        seq: u64,
        /// What the decoder said.
        detail: String,
    },
    /// A message came through a shared channel's server without the marks every kernel
    /// sets on what it sends: something other than a kernel published it.
    #[error("message {seq} of channel `{log}` did not come from a kernel: {detail}; check the server's permissions on the channel's subjects")]
    Unverified {
        /// The channel.
        log: String,
        /// The message.
        seq: u64,
        /// What was wrong.
        detail: String,
    },
    /// The server holding a shared channel could not be reached, or did not answer in
    /// time. What was not answered may or may not have been kept; a send is kept once
    /// whatever the retries, by its message id.
    #[error("the server {server} did not answer: {detail}; check that it runs and that this process can reach it")]
    Unavailable {
        /// The server, as configured.
        server: String,
        /// What went wrong.
        detail: String,
    },
    /// The server holding a shared channel refused the operation.
    #[error("the server holding channel `{log}` refused: {detail}")]
    Refused {
        /// The channel.
        log: String,
        /// What the server said.
        detail: String,
    },
    /// A shared channel is at its capacity on its server: the item was not kept.
    #[error("channel `{log}` holds its most items ({capacity}) on its server: wait for consumers and send again")]
    AtCapacity {
        /// The channel.
        log: String,
        /// Its capacity.
        capacity: usize,
    },
}
