//! [`World`]: what a simulation's cohorts and mailers share — the agents' ids, the mail
//! between cohorts, the clock, the counters a round's report is read from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use actix::Recipient;

use crate::activity::Activity;
use crate::envelope::{Envelope, Outgoing};
use crate::ids::{ChannelId, Seq, SystemId};
use crate::kernel::AgentLine;
use crate::rights::Rights;

/// Where an agent is, as its cohort acts on it: the kernel's lifecycle commands reach
/// the cohort before they are answered, and a copy here spares every send a look at the
/// kernel's member record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Delivered to, ticked, may send.
    Running,
    /// Holds its messages; not ticked.
    Paused,
    /// Delivered to and ticked, but its sends are refused until resumed.
    Revoked,
    /// Gone for good.
    Stopped,
}

/// How messages sent in a round reach their recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Bulk-synchronous: what is sent in round `r` is delivered in round `r + 1`, to each
    /// agent in one batch ordered by sender id and then by the sender's send order. A
    /// run's outcome depends only on its seed and its program, not on scheduling or on
    /// the number of arbiters.
    #[default]
    Lockstep,
    /// Same-round: what is sent is delivered in the round it is sent in, as soon as the
    /// recipient's cohort gets to it, and the round ends when no more is sent. The order
    /// in which batches from different cohorts arrive depends on scheduling, so runs with
    /// one seed may differ.
    Immediate,
}

/// One message on its way from one agent to another, stamped at the send (sender, seq,
/// time) and put in its envelope by the recipient's cohort: the envelope is then made
/// and freed on one thread, where a cross-thread free cost more than the rest of a
/// delivery.
pub(crate) struct Posted<M> {
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) seq: u64,
    pub(crate) sent_at: u64,
    pub(crate) outgoing: Outgoing<M>,
}

impl<M> Posted<M> {
    /// The canonical order of a batch: by sender, then by the sender's send order.
    pub(crate) fn order(&self) -> (u32, u64) {
        (self.from, self.seq)
    }
}

impl<M> World<M> {
    /// `posted` in its envelope, as its recipient receives it.
    pub(crate) fn envelope(&self, posted: Posted<M>) -> Arc<Envelope<M>> {
        Envelope::stamp_at(
            &self.channel,
            Seq::new(posted.seq),
            &self.ids[posted.from as usize],
            Some(self.ids[posted.to as usize].clone()),
            posted.outgoing,
            posted.sent_at,
        )
    }
}

/// The round's work in counters, read as deltas for each report.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) deliveries: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// A cohort's wake-up in immediate mode: mail has been posted for it.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct Wake(pub(crate) crate::activity::Busy);

/// The shared part of a simulation.
pub(crate) struct World<M> {
    pub(crate) channel: ChannelId,
    /// The agents' ids, ascending: an agent's rank is its index here.
    pub(crate) ids: Vec<SystemId>,
    /// Each agent's messages sent so far: the seq of its next envelope.
    sent: Vec<AtomicU64>,
    pub(crate) rights: Rights,
    pub(crate) schedule: Schedule,
    pub(crate) seed: u64,
    epoch: SystemTime,
    round_length: Duration,
    /// The round being run (1 for the first); 0 before it.
    round: AtomicU64,
    pub(crate) activity: Arc<Activity>,
    pub(crate) counters: Counters,
    /// Agents per cohort (the last may have fewer).
    per_cohort: u32,
    cohorts: usize,
    /// `[parity][destination * cohorts + source]`: mail for a round of that parity.
    mail: [Vec<Mutex<Vec<Posted<M>>>>; 2],
    line: OnceLock<AgentLine>,
    wakers: OnceLock<Vec<Recipient<Wake>>>,
}

/// How a world is laid out and clocked.
pub(crate) struct Layout {
    pub(crate) channel: ChannelId,
    pub(crate) ids: Vec<SystemId>,
    pub(crate) rights: Rights,
    pub(crate) schedule: Schedule,
    pub(crate) seed: u64,
    pub(crate) epoch: SystemTime,
    pub(crate) round_length: Duration,
    pub(crate) cohorts: usize,
}

impl<M> World<M> {
    pub(crate) fn new(layout: Layout) -> World<M> {
        let agents = layout.ids.len();
        let cohorts = layout.cohorts.clamp(1, agents.max(1));
        let per_cohort = u32::try_from(agents.div_ceil(cohorts).max(1)).unwrap_or(u32::MAX);
        let boxes = || (0..cohorts * cohorts).map(|_| Mutex::default()).collect();
        World {
            channel: layout.channel,
            sent: layout.ids.iter().map(|_| AtomicU64::new(0)).collect(),
            ids: layout.ids,
            rights: layout.rights,
            schedule: layout.schedule,
            seed: layout.seed,
            epoch: layout.epoch,
            round_length: layout.round_length,
            round: AtomicU64::new(0),
            activity: Arc::default(),
            counters: Counters::default(),
            per_cohort,
            cohorts,
            mail: [boxes(), boxes()],
            line: OnceLock::new(),
            wakers: OnceLock::new(),
        }
    }

    pub(crate) fn agents(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn cohorts(&self) -> usize {
        self.cohorts
    }

    /// The ranks cohort `cohort` hosts.
    pub(crate) fn ranks(&self, cohort: usize) -> std::ops::Range<u32> {
        let agents = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        let start = (cohort as u32).saturating_mul(self.per_cohort).min(agents);
        start..start.saturating_add(self.per_cohort).min(agents)
    }

    pub(crate) fn cohort_of(&self, rank: u32) -> usize {
        (rank / self.per_cohort) as usize
    }

    pub(crate) fn round(&self) -> u64 {
        self.round.load(Ordering::Acquire)
    }

    pub(crate) fn set_round(&self, round: u64) {
        self.round.store(round, Ordering::Release);
    }

    /// Virtual time at the start of `round`, in nanoseconds since the Unix epoch.
    pub(crate) fn clock_nanos(&self, round: u64) -> u64 {
        let since = self
            .epoch
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let elapsed = self
            .round_length
            .saturating_mul(u32::try_from(round).unwrap_or(u32::MAX));
        u64::try_from((since + elapsed).as_nanos()).unwrap_or(u64::MAX)
    }

    pub(crate) fn now(&self, round: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.clock_nanos(round))
    }

    /// The seq of agent `rank`'s next message.
    pub(crate) fn next_seq(&self, rank: u32) -> u64 {
        self.sent[rank as usize].fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The mail box from cohort `source` to cohort `destination` for rounds of `parity`.
    pub(crate) fn mail(
        &self,
        parity: usize,
        destination: usize,
        source: usize,
    ) -> MutexGuard<'_, Vec<Posted<M>>> {
        // A panic while a box is held (in a push or a swap) cannot leave it half-changed.
        self.mail[parity][destination * self.cohorts + source]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The parity of the round mail sent now is for.
    pub(crate) fn posting_parity(&self) -> usize {
        let round = self.round();
        match self.schedule {
            Schedule::Lockstep => ((round + 1) % 2) as usize,
            Schedule::Immediate => (round % 2) as usize,
        }
    }

    /// Hands `batch` (from cohort `source` to cohort `destination`) to the mail, and in
    /// immediate mode wakes the destination.
    pub(crate) fn post(&self, source: usize, destination: usize, batch: &mut Vec<Posted<M>>) {
        if batch.is_empty() {
            return;
        }
        {
            let mut mail = self.mail(self.posting_parity(), destination, source);
            if mail.is_empty() {
                std::mem::swap(&mut *mail, batch);
            } else {
                mail.append(batch);
            }
        }
        if self.schedule == Schedule::Immediate {
            if let Some(wakers) = self.wakers.get() {
                // The wake carries the quiescence count of the mail just posted, from a
                // hook that cannot wait: a dropped wake would strand the mail, and there
                // is at most one per batch posted.
                wakers[destination].do_send(Wake(self.activity.enter()));
            }
        }
    }

    pub(crate) fn line(&self) -> &AgentLine {
        self.line
            .get()
            .expect("agents are docked before any round runs")
    }

    pub(crate) fn set_line(&self, line: AgentLine) {
        let _ = self.line.set(line);
    }

    pub(crate) fn set_wakers(&self, wakers: Vec<Recipient<Wake>>) {
        let _ = self.wakers.set(wakers);
    }
}
