//! How shared channels are named on the server: streams, subjects, consumers.
//!
//! A work queue's stream `S` takes its items on `exokern.S.items` and keeps its dead
//! letters in the stream `S_DEAD`, on `exokern.S.dead`; its kernels consume through
//! the durable consumer `workers`. The subject layout is what a server's permissions
//! name, so it stays fixed: see the crate's docs for an example.

use exokern_actors::ChannelId;

use crate::NatsError;

/// The durable consumer every kernel of a work queue consumes through.
pub(crate) const WORKERS: &str = "workers";

/// The stream a channel is kept in unless one is named: `EXOKERN_` and the channel id,
/// with `.` written `_2E` and `_` written `_5F`, so that two channel ids never share
/// a stream by accident.
///
/// ```
/// use exokern_actors::ChannelId;
/// use exokern_nats::default_stream;
///
/// assert_eq!(default_stream(&"jobs".parse()?), "EXOKERN_jobs");
/// assert_eq!(default_stream(&"sim.jobs_1".parse()?), "EXOKERN_sim_2Ejobs_5F1");
/// # Ok::<(), exokern_actors::IdError>(())
/// ```
pub fn default_stream(channel: &ChannelId) -> String {
    let mut name = String::from("EXOKERN_");
    for ch in channel.as_str().chars() {
        match ch {
            '.' => name.push_str("_2E"),
            '_' => name.push_str("_5F"),
            other => name.push(other),
        }
    }
    name
}

/// Checks a stream name given in config: JetStream names hold no `.`, `*`, `>`, path
/// separators or whitespace; ours hold letters, digits, `_` and `-`.
pub(crate) fn check_stream(name: &str) -> Result<(), NatsError> {
    let fine = !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    if fine {
        Ok(())
    } else {
        Err(NatsError::Invalid {
            reason: format!(
                "the stream name {name:?} must be 1 to 200 letters, digits, `_` or `-`"
            ),
        })
    }
}

/// The subject a work queue's items are published on.
pub(crate) fn items(stream: &str) -> String {
    format!("exokern.{stream}.items")
}

/// The subject a broadcast's messages are published on.
pub(crate) fn messages(stream: &str) -> String {
    format!("exokern.{stream}.messages")
}

/// The stream a work queue's dead letters are kept in, and their subject.
pub(crate) fn dead(stream: &str) -> (String, String) {
    (format!("{stream}_DEAD"), format!("exokern.{stream}.dead"))
}
