//! [`NatsError`]: why a kernel could not connect, or open a shared channel.

/// Why a kernel could not connect to its server, or open a shared channel there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The options cannot work as given.
    #[error("the NATS options are not usable: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The server could not be reached, or refused this kernel's sign-in.
    #[error("could not connect to the NATS server at {url}: {detail}; check that it runs with JetStream (`nats-server -js`) and that the credentials are right")]
    Connect {
        /// The server.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The server has no JetStream, or refused to set up a stream or consumer.
    #[error("the NATS server could not set up `{what}`: {detail}")]
    Setup {
        /// The stream or consumer.
        what: String,
        /// What the server said.
        detail: String,
    },
    /// Another kernel opened the shared channel with other settings: every kernel
    /// sharing it must agree.
    #[error("stream `{stream}` exists with {setting} = {theirs}, but this kernel asks for {ours}: every kernel sharing the channel must declare it alike")]
    Mismatch {
        /// The stream.
        stream: String,
        /// The setting that differs.
        setting: &'static str,
        /// What the server holds.
        theirs: String,
        /// What this kernel asked for.
        ours: String,
    },
}
