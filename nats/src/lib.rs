//! Channels shared by exokern kernels in many processes and on many machines, on
//! [NATS JetStream](https://docs.nats.io/nats-concepts/jetstream).
//!
//! A kernel connects once ([`Nats::connect`]) and opens each shared channel by its id;
//! every kernel that opens the same channel on the same server shares it. A work queue
//! ([`Nats::work_queue`]) is a stream with work-queue retention and one durable pull
//! consumer that the kernels' workers share: each kernel fetches only what its own
//! claimers and workers have room for, holds it under its own leases and claim tokens,
//! and settles each delivery with the server. A kernel that dies leaves its deliveries
//! to come back, with the next attempt number, once the queue's ack wait passes.
//!
//! ```no_run
//! use std::time::Duration;
//! use exokern_actors::channel::WorkQueue;
//! use exokern_actors::{Rights, SystemId};
//! use exokern_nats::{Nats, NatsOptions, QueueSpec};
//!
//! # actix_rt::System::new().block_on(async {
//! let nats = Nats::connect(NatsOptions::new("nats://127.0.0.1:4222", "kernel-a")).await?;
//! let id = "jobs".parse()?;
//! let shared = nats.work_queue(&id, QueueSpec::default()).await?;
//! let jobs = WorkQueue::<String>::builder(id).shared(shared).start()?;
//! let producer = jobs.grant(SystemId::new("producer")?, Rights::WRITE).await?;
//! producer.send("resize image 1".to_string()).await?; // on the server once this returns
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Subjects and permissions
//!
//! A work queue kept in stream `S` takes items on `exokern.S.items` and keeps dead
//! letters in stream `S_DEAD` on `exokern.S.dead`; its kernels consume through the
//! durable consumer `workers`. A broadcast kept in stream `S` takes messages on
//! `exokern.S.messages`; each kernel that reads it follows with an ordered consumer of
//! its own. Every message carries, in headers set by the kernel that
//! sent it, that kernel's name (`Exokern-Kernel`) and the sending system
//! (`Exokern-Sender`); a receiving kernel shows the first as
//! [`Envelope::kernel`](exokern_actors::Envelope::kernel). A message without them, or
//! whose sender differs from its record's, did not come from a kernel: a work queue
//! sends it to its dead-letter stream (`unverified`), a broadcast skips it, and neither
//! delivers it. A kernel's own handles check rights locally; what stops a foreign process
//! from posing as a kernel is the server's sign-in and the permissions of each kernel's
//! user, for instance (in `nats-server.conf`):
//!
//! ```text
//! authorization {
//!   users = [
//!     { user: kernel-a, password: "...",
//!       permissions: {
//!         publish: ["exokern.EXOKERN_jobs.>", "$JS.API.>", "$JS.ACK.EXOKERN_jobs.>"],
//!         subscribe: ["_INBOX.>"] } }
//!   ]
//! }
//! ```

mod batches;
mod broadcast;
mod connection;
mod error;
mod naming;
mod options;
mod publishing;
mod queue;
mod setup;
pub mod testing;

pub use broadcast::{NatsStream, StreamSpec};
pub use connection::Nats;
pub use error::NatsError;
pub use naming::default_stream;
pub use options::{Credentials, NatsOptions};
pub use queue::{NatsQueue, QueueSpec, KERNEL_HEADER, SENDER_HEADER};
