//! A tour of the exokern substrate: channels and systems at work, with a summary of
//! what flows printed every second.
//!
//! - a `clock` system ticks and publishes each tick on the broadcast channel `ticks`;
//!   three `listener` systems subscribe to it;
//! - a `dispatcher` turns every tick into a batch of jobs on the work queue `jobs`;
//!   two `worker` systems take them as push workers, and one job in every fifty is
//!   poison: the worker that gets it panics, is restarted, and the job is redelivered
//!   until it lands on the dead-letter queue `jobs.dead`;
//! - the dispatcher also asks a `clerk` system, over the mailbox `desk`, how many jobs
//!   it has seen; the clerk answers through its inbox.
//!
//! Run it with `cargo run --release --example tour` (add `-- 10` to run for ten
//! seconds; the default is five).

use std::time::Duration;

use exokern::channel::{ChannelStats, DeadLetter, MailboxHandle, WorkQueueHandle};
use exokern::prelude::*;
use exokern::system::SystemStats;
use tracing::{info, warn};

/// A job: its number, and whether it will make its worker panic.
#[derive(Debug, Clone)]
enum Msg {
    Tick(u64),
    Job { n: u64, poison: bool },
    HowMany,
    Count(u64),
}

fn id(name: &str) -> SystemId {
    SystemId::new(name).expect("valid system id")
}

/// Publishes a tick on every tick of its own clock.
struct Clock {
    ticks: BroadcastHandle<Msg>,
}

impl System for Clock {
    type Message = Msg;

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let ticks = self.ticks.clone();
        ctx.spawn(async move {
            if let Err(error) = ticks.publish(Msg::Tick(tick.n)).await {
                warn!(%error, "publishing a tick failed");
            }
        });
    }
}

/// Counts the ticks it hears.
struct Listener {
    heard: u64,
}

impl System for Listener {
    type Message = Msg;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Msg>) {
        if let Msg::Tick(n) = msg.payload() {
            self.heard += 1;
            if n % 10 == 0 {
                info!(listener = %ctx.id(), tick = n, heard = self.heard, "heard a tick");
            }
        }
    }
}

/// Turns each tick into jobs, and asks the clerk for a count every fifth tick.
struct Dispatcher {
    jobs: WorkQueueHandle<Msg>,
    desk: MailboxHandle<Msg>,
    next_job: u64,
}

impl System for Dispatcher {
    type Message = Msg;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<Msg>) {
        let Msg::Tick(tick) = *msg.payload() else {
            return;
        };
        let batch: Vec<Msg> = (self.next_job..self.next_job + 20)
            .map(|n| Msg::Job {
                n,
                poison: n % 50 == 49,
            })
            .collect();
        self.next_job += 20;
        let (jobs, desk) = (self.jobs.clone(), self.desk.clone());
        ctx.spawn(async move {
            if let Err(error) = jobs.send_batch(batch).await {
                warn!(%error, "queueing jobs failed");
            }
            if tick % 5 == 0 {
                let clerk = id("clerk");
                match desk
                    .request(&clerk, Msg::HowMany, Duration::from_secs(1))
                    .await
                {
                    Ok(reply) => {
                        if let Msg::Count(count) = reply.payload() {
                            info!(tick, count, from = %reply.sender(), "the clerk answered");
                        }
                    }
                    Err(error) => warn!(%error, "the clerk did not answer"),
                }
            }
        });
    }
}

/// Does jobs; panics on poison, which the host turns into a restart and a redelivery.
struct Worker {
    done: u64,
}

impl System for Worker {
    type Message = Msg;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<Msg>) {
        if let Msg::Job { n, poison } = *msg.payload() {
            if poison {
                panic!("job {n} is poison (attempt {})", msg.attempt());
            }
            self.done += 1;
        }
    }
}

/// Answers how many jobs it has been told about.
struct Clerk {
    asked: u64,
}

impl System for Clerk {
    type Message = Msg;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, mut msg: Inbound<Msg>) {
        if matches!(msg.payload(), Msg::HowMany) {
            self.asked += 1;
            if let Err(error) = ctx.reply(&mut msg, Msg::Count(self.asked)) {
                warn!(%error, "replying failed");
            }
        }
    }
}

fn summarise(channels: &[ChannelStats], systems: &[SystemStats]) {
    let channels: Vec<String> = channels
        .iter()
        .map(|c| {
            format!(
                "{}: in {} out {} held {} dropped {} dead {}",
                c.channel,
                c.accepted,
                c.delivered,
                c.depth + c.in_flight,
                c.dropped,
                c.dead_lettered
            )
        })
        .collect();
    let handled: u64 = systems.iter().map(|s| s.handled).sum();
    let restarts: u64 = systems.iter().map(|s| s.restarts).sum();
    println!(
        "[summary] {} | systems handled {handled}, restarts {restarts}",
        channels.join(" | ")
    );
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .init();
    // Systems' panics are caught by their hosts, which log them with the restart; keep
    // the default report (with its backtrace) out of the way.
    std::panic::set_hook(Box::new(|panic| {
        let message = panic.payload().downcast_ref::<String>().map(String::as_str);
        tracing::debug!(location = ?panic.location(), "{}", message.unwrap_or("panic"));
    }));
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(5), |s| s.parse())?;

    // Channels, each owned by the program, which grants the systems their handles.
    let ticks = Broadcast::<Msg>::builder("ticks".parse()?)
        .retention(64)
        .start()?;
    let dead = WorkQueue::<DeadLetter<Msg>>::builder("jobs.dead".parse()?).start()?;
    let jobs = WorkQueue::<Msg>::builder("jobs".parse()?)
        .capacity(1_000)
        .max_attempts(3)
        .dead_letter(dead.grant(id("jobs"), Rights::WRITE).await?)
        .start()?;
    let desk = Mailbox::<Msg>::builder("desk".parse()?).start()?;

    let mut systems = Vec::new();
    let clock_ticks = ticks.grant(id("clock"), Rights::WRITE).await?;
    systems.push(
        SystemActor::builder(id("clock"), move || Clock {
            ticks: clock_ticks.clone(),
        })
        .tick_every(Duration::from_millis(100))
        .spawn()
        .await?
        .stats_source(),
    );
    for n in 1..=3 {
        let name = id(&format!("listener-{n}"));
        let port = ticks.grant(name.clone(), Rights::READ).await?;
        systems.push(
            SystemActor::builder(name, || Listener { heard: 0 })
                .subscribe(port, SubscribeOptions::default())
                .spawn()
                .await?
                .stats_source(),
        );
    }
    let (dispatcher_jobs, dispatcher_desk) = (
        jobs.grant(id("dispatcher"), Rights::WRITE).await?,
        desk.grant(id("dispatcher"), Rights::WRITE).await?,
    );
    let dispatcher_ticks = ticks.grant(id("dispatcher"), Rights::READ).await?;
    systems.push(
        SystemActor::builder(id("dispatcher"), move || Dispatcher {
            jobs: dispatcher_jobs.clone(),
            desk: dispatcher_desk.clone(),
            next_job: 0,
        })
        .subscribe(dispatcher_ticks, SubscribeOptions::default())
        .spawn()
        .await?
        .stats_source(),
    );
    for n in 1..=2 {
        let name = id(&format!("worker-{n}"));
        let port = jobs.grant(name.clone(), Rights::READ).await?;
        systems.push(
            SystemActor::builder(name, || Worker { done: 0 })
                .worker(port, WorkerOptions::default().prefetch(8))
                .restart(RestartPolicy::up_to(1_000, Duration::from_secs(1)))
                .spawn()
                .await?
                .stats_source(),
        );
    }
    let clerk_inbox = desk
        .grant(id("clerk"), Rights::READ | Rights::WRITE)
        .await?;
    systems.push(
        SystemActor::builder(id("clerk"), || Clerk { asked: 0 })
            .inbox(clerk_inbox)
            .spawn()
            .await?
            .stats_source(),
    );

    for _ in 0..seconds {
        actix_rt::time::sleep(Duration::from_secs(1)).await;
        let mut lines = Vec::new();
        for control in [&*ticks, &*jobs, &*dead, &*desk] {
            lines.push(control.stats().await?);
        }
        let stats: Vec<SystemStats> = systems.iter().map(|s| s()).collect();
        summarise(&lines, &stats);
    }

    // Stop the ticks, let the queue finish what it holds, then report the dead letters.
    for control in [&*ticks, &*jobs, &*desk] {
        let report = control.drain(Duration::from_secs(2)).await;
        println!(
            "drained {}: {:?}, {} left undelivered",
            control.id(),
            report.outcome,
            report.undelivered
        );
    }
    let ops = dead.grant(id("ops"), Rights::READ).await?;
    let letters = ops.claim(100, Duration::from_secs(1)).await?;
    for item in &letters {
        let letter = item.payload();
        println!(
            "dead letter: {:?} after {} attempts: {:?}",
            letter.envelope().payload(),
            letter.attempts(),
            letter.reason()
        );
    }
    ops.ack_many(
        letters
            .iter()
            .filter_map(|item| item.claim_token())
            .collect(),
    )
    .await?;
    Ok(())
}

/// Lets the tour keep every system's counters without naming each system's type.
trait StatsSource {
    fn stats_source(self) -> Box<dyn Fn() -> SystemStats>;
}

impl<S: System> StatsSource for SystemRef<S> {
    fn stats_source(self) -> Box<dyn Fn() -> SystemStats> {
        Box::new(move || self.stats())
    }
}
