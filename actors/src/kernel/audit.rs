//! The audit log: every governance decision, in order, to a memory ring and optionally
//! a sink (the `exokern` crate provides a JSON-lines file) and a durable log in a
//! [`Store`](crate::store::Store).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::error::Unrecorded;
use super::AUDIT;
use crate::capability::{CapabilityId, Scope};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::store::{self, Change, Kept, StoreError};

/// One governance decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// Wall-clock time, seconds since the Unix epoch: the kernel's start plus the
    /// monotonic time since, so timestamps follow `seq` and never go backwards.
    pub timestamp: f64,
    /// Who asked; `None` for the embedding program (the kernel handle) or the kernel.
    pub system: Option<SystemId>,
    /// The request's type, e.g. `capability_request`, `action_authorize`, `dock`.
    pub request: Cow<'static, str>,
    /// What it was about: a resource, an executor and target, a system.
    pub subject: Arc<str>,
    /// What was decided: `granted`, `denied`, `approved`, `escalated`, `ok`, …
    pub decision: Cow<'static, str>,
    /// The policy rule that decided, if one did.
    pub rule: Option<Arc<str>>,
    /// Why.
    pub reason: Arc<str>,
    /// The capability granted, used or revoked, if any.
    pub capability: Option<CapabilityId>,
}

/// Where audit records go besides the memory ring. Called in order, once per record, on
/// the kernel's arbiter: buffer, and do slow work elsewhere.
pub trait AuditSink: Send + 'static {
    /// Takes one record.
    fn write(&mut self, record: &AuditRecord);

    /// Pushes buffered records out; called at each heartbeat and at shutdown.
    fn flush(&mut self) {}
}

/// What a decision was about, kept as the kernel had it: a scope is written out as text
/// only when the record is read, not on the path of every grant.
#[derive(Debug, Clone)]
pub(crate) enum Subject {
    Text(Arc<str>),
    Scope(Scope),
}

impl Subject {
    fn text(&self) -> Arc<str> {
        match self {
            Subject::Text(text) => Arc::clone(text),
            Subject::Scope(scope) => Arc::from(scope.to_string()),
        }
    }
}

impl From<&str> for Subject {
    fn from(text: &str) -> Subject {
        Subject::Text(Arc::from(text))
    }
}

impl From<String> for Subject {
    fn from(text: String) -> Subject {
        Subject::Text(Arc::from(text))
    }
}

impl From<Scope> for Subject {
    fn from(scope: Scope) -> Subject {
        Subject::Scope(scope)
    }
}

/// A decision about to be recorded: everything but the sequence number and time.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) system: Option<SystemId>,
    pub(crate) request: &'static str,
    pub(crate) subject: Subject,
    pub(crate) decision: &'static str,
    pub(crate) rule: Option<Arc<str>>,
    pub(crate) reason: Arc<str>,
    pub(crate) capability: Option<CapabilityId>,
    pub(crate) at: Option<Instant>,
}

impl Entry {
    #[inline]
    pub(crate) fn new(
        system: Option<&SystemId>,
        request: &'static str,
        subject: impl Into<Subject>,
        decision: &'static str,
    ) -> Entry {
        Entry {
            system: system.cloned(),
            request,
            subject: subject.into(),
            decision,
            rule: None,
            reason: Arc::from(""),
            capability: None,
            at: None,
        }
    }

    /// Dates the record at `now`, a time the decision already read, instead of reading
    /// the clock again.
    #[inline]
    pub(crate) fn at(mut self, now: Instant) -> Entry {
        self.at = Some(now);
        self
    }

    #[inline]
    pub(crate) fn rule(mut self, rule: Option<Arc<str>>) -> Entry {
        self.rule = rule;
        self
    }

    #[inline]
    pub(crate) fn reason(mut self, reason: impl Into<Arc<str>>) -> Entry {
        self.reason = reason.into();
        self
    }

    #[inline]
    pub(crate) fn capability(mut self, capability: Option<CapabilityId>) -> Entry {
        self.capability = capability;
        self
    }
}

/// A record as the ring keeps it: a decision of this run, kept as the kernel had it, or
/// one read back from the durable log at start.
#[derive(Debug)]
enum Stored {
    Decided { seq: u64, at: Instant, entry: Entry },
    Restored(AuditRecord),
}

/// A moment read off both clocks, from which monotonic instants become wall-clock times.
#[derive(Debug, Clone, Copy)]
struct Epoch {
    at: Instant,
    wall: f64,
}

impl Epoch {
    /// Now, or just after `after` (the latest restored record's time) if the wall clock
    /// reads earlier, so that timestamps follow `seq` across restarts too.
    fn now(after: f64) -> Epoch {
        Epoch {
            at: Instant::now(),
            wall: wall_clock().max(after),
        }
    }

    fn wall(&self, at: Instant) -> f64 {
        self.wall + at.saturating_duration_since(self.at).as_secs_f64()
    }
}

impl Stored {
    fn seq(&self) -> u64 {
        match self {
            Stored::Decided { seq, .. } => *seq,
            Stored::Restored(record) => record.seq,
        }
    }

    fn record(&self, epoch: Epoch) -> AuditRecord {
        let (seq, at, entry) = match self {
            Stored::Decided { seq, at, entry } => (*seq, *at, entry),
            Stored::Restored(record) => return record.clone(),
        };
        AuditRecord {
            seq,
            timestamp: epoch.wall(at),
            system: entry.system.clone(),
            request: Cow::Borrowed(entry.request),
            subject: entry.subject.text(),
            decision: Cow::Borrowed(entry.decision),
            rule: entry.rule.clone(),
            reason: Arc::clone(&entry.reason),
            capability: entry.capability,
        }
    }
}

struct Log {
    ring: VecDeque<Stored>,
    capacity: usize,
    next: u64,
    epoch: Epoch,
    /// The latest record's time.
    last: Instant,
    sink: Option<Box<dyn AuditSink>>,
}

/// The audit's log in a store, and the latest seq known to be durable in it.
#[derive(Debug)]
struct Durable {
    log: Arc<dyn store::Log>,
    synced: AtomicU64,
}

/// The kernel's audit log, shared by its managers (all on one arbiter, so the lock is
/// never contended).
#[derive(Clone)]
pub(crate) struct Audit {
    log: Arc<Mutex<Log>>,
    durable: Option<Arc<Durable>>,
    appended: Arc<Notify>,
    /// Someone may read `kernel.audit`; until then the log is not republished there.
    watched: Arc<AtomicBool>,
}

impl fmt::Debug for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.lock();
        f.debug_struct("Audit")
            .field("records", &(log.next - 1))
            .field("capacity", &log.capacity)
            .field("durable", &self.durable.is_some())
            .finish()
    }
}

pub(crate) fn wall_clock() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Audit {
    /// An audit log in memory, and in `durable` if given: what `durable` kept is read
    /// back first (its latest `capacity` records into the ring), and seqs go on after it.
    pub(crate) fn new(
        capacity: usize,
        sink: Option<Box<dyn AuditSink>>,
        durable: Option<Arc<dyn store::Log>>,
    ) -> Result<Audit, StoreError> {
        let mut ring = VecDeque::with_capacity(capacity.min(4096));
        let mut last_seq = 0;
        let mut latest = 0.0_f64;
        if let Some(log) = &durable {
            let recovered = log.recover()?;
            last_seq = recovered.last_seq.get();
            let skip = recovered.records.len().saturating_sub(capacity);
            let name = ChannelId::kernel(AUDIT).to_string();
            for kept in recovered.records.into_iter().skip(skip) {
                let record = restore(&name, &kept)?;
                latest = latest.max(record.timestamp);
                ring.push_back(Stored::Restored(record));
            }
        }
        let epoch = Epoch::now(latest);
        Ok(Audit {
            log: Arc::new(Mutex::new(Log {
                ring,
                capacity,
                next: last_seq + 1,
                epoch,
                last: epoch.at,
                sink,
            })),
            durable: durable.map(|log| {
                Arc::new(Durable {
                    log,
                    synced: AtomicU64::new(last_seq),
                })
            }),
            appended: Arc::new(Notify::new()),
            watched: Arc::new(AtomicBool::new(false)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a record.
    pub(crate) fn record(&self, entry: Entry) {
        self.append(entry);
        if self.watched.load(Ordering::Relaxed) {
            self.appended.notify_one();
        }
    }

    fn append(&self, entry: Entry) {
        let at = entry.at.unwrap_or_else(Instant::now);
        let mut log = self.lock();
        let at = at.max(log.last);
        log.last = at;
        let stored = Stored::Decided {
            seq: log.next,
            at,
            entry,
        };
        log.next += 1;
        let epoch = log.epoch;
        if log.sink.is_some() || self.durable.is_some() {
            let record = stored.record(epoch);
            if let Some(durable) = &self.durable {
                // Written under the lock, so the log receives records in seq order.
                durable.log.write(Change::Put {
                    seq: Seq::new(record.seq),
                    record: serde_json::to_vec(&record)
                        .expect("an audit record is strings, numbers and ids"),
                });
            }
            if let Some(sink) = &mut log.sink {
                sink.write(&record);
            }
        }
        if log.capacity > 0 {
            if log.ring.len() == log.capacity {
                log.ring.pop_front();
            }
            log.ring.push_back(stored);
        }
    }

    /// Resolves once every record appended so far is durable: at once when the log is
    /// only in memory, or when a later sync already covered them. A decision's answer
    /// waits for this, so no requester is told of a decision a crash could take back.
    pub(crate) async fn settled(&self) -> Result<(), Unrecorded> {
        let Some(durable) = &self.durable else {
            return Ok(());
        };
        let upto = self.recorded();
        if durable.synced.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        durable.log.sync().await.map_err(Unrecorded)?;
        durable.synced.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// How many records were ever appended: the latest `seq`.
    pub(crate) fn recorded(&self) -> u64 {
        self.lock().next - 1
    }

    /// The records after `after_seq`, oldest first, at most `limit`.
    pub(crate) fn since(&self, after_seq: u64, limit: usize) -> Vec<AuditRecord> {
        let log = self.lock();
        // The ring holds consecutive seqs, so the first wanted record's place is known.
        let first = log.ring.front().map_or(0, Stored::seq);
        let skip = usize::try_from(after_seq.saturating_sub(first.saturating_sub(1)))
            .unwrap_or(usize::MAX);
        log.ring
            .iter()
            .skip(skip)
            .take(limit)
            .map(|stored| stored.record(log.epoch))
            .collect()
    }

    /// Resolves once `kernel.audit` is watched and a record was appended since the last
    /// call returned (at once if one was). For the one task that republishes the log.
    pub(crate) async fn appended(&self) {
        self.appended.notified().await;
    }

    /// Someone can read `kernel.audit` now: republish the log there from here on,
    /// starting with what the ring holds. Until then a decision costs no channel message.
    pub(crate) fn watch(&self) {
        if !self.watched.swap(true, Ordering::Relaxed) {
            self.appended.notify_one();
        }
    }

    pub(crate) fn flush(&self) {
        if let Some(sink) = &mut self.lock().sink {
            sink.flush();
        }
    }
}

/// A record read back from the durable log, checked to be the one its seq keys.
fn restore(log: &str, kept: &Kept) -> Result<AuditRecord, StoreError> {
    let undecodable = |detail: String| StoreError::Undecodable {
        log: log.to_owned(),
        seq: kept.seq.get(),
        detail,
    };
    let record: AuditRecord =
        serde_json::from_slice(&kept.record).map_err(|e| undecodable(e.to_string()))?;
    if record.seq != kept.seq.get() {
        return Err(undecodable(format!(
            "the record says seq {}, but is kept under seq {}",
            record.seq, kept.seq
        )));
    }
    Ok(record)
}
