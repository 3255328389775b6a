//! Simulations: rounds that end themselves, one outcome per seed, governance inside
//! rounds, panics, pauses, and no loss at scale.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use exokern_actors::channel::Inbound;
use exokern_actors::kernel::{Kernel, KernelHandle, LifecycleState};
use exokern_actors::policy::{Risk, RuleSet};
use exokern_actors::protocol::{ActionRequest, ApprovalEvent, LifecycleCommand};
use exokern_actors::simulation::{
    Schedule, SendError, Simulation, SimulationBuilder, SimulationError,
};
use exokern_actors::system::{System, SystemContext, Tick};
use exokern_actors::{Rights, SystemId};
use tokio::sync::Notify;

async fn kernel() -> KernelHandle {
    Kernel::builder()
        .policy(RuleSet::allow_all())
        .start()
        .await
        .unwrap()
}

/// Folds what it hears into an order-sensitive hash, and each round sends one to three
/// random agents a random number; every fifth agent also sends one from a future.
struct Trader {
    state: u64,
}

impl System for Trader {
    type Message = u64;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
        let sender = msg.sender().as_str().len() as u64;
        self.state = self
            .state
            .wrapping_mul(0x100_0000_01b3)
            .wrapping_add(*msg.payload() ^ sender ^ msg.seq().get());
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
        let round = ctx.simulation().unwrap();
        let agents = round.agents() as u64;
        let me = round.index();
        let sends = 1 + round.rng().below(3);
        for _ in 0..sends {
            let to = round.rng().below(agents) as usize;
            let value = round.rng().next_u64() % 1_000;
            round.send(to, value).unwrap();
        }
        if me.is_multiple_of(5) {
            let mailer = round.mailer();
            let to = round.rng().below(agents) as usize;
            ctx.spawn(async move {
                tokio::task::yield_now().await;
                mailer.send(to, 7).unwrap();
            });
        }
    }
}

async fn trade(seed: u64, arbiters: usize, agents: usize) -> Vec<u64> {
    let kernel = kernel().await;
    let mut sim = Simulation::builder(&kernel, |i| Trader { state: i as u64 })
        .agents(agents)
        .seed(seed)
        .arbiters(arbiters)
        .start()
        .await
        .unwrap();
    let reports = sim.run(8).await.unwrap();
    assert!(reports.iter().all(|r| r.panics == 0 && r.dropped == 0));
    for pair in reports.windows(2) {
        assert_eq!(
            pair[1].deliveries, pair[0].sent,
            "what one round sends, the next delivers"
        );
    }
    let states = sim.inspect(|_, trader| trader.state).await.unwrap();
    sim.stop().await;
    kernel.shutdown().await;
    states
}

#[actix_rt::test]
async fn a_seed_gives_one_outcome_run_after_run() {
    let first = trade(11, 2, 2_000).await;
    assert_eq!(first.len(), 2_000);
    for _ in 0..2 {
        assert_eq!(trade(11, 2, 2_000).await, first);
    }
    assert_ne!(
        trade(12, 2, 2_000).await,
        first,
        "another seed, another run"
    );
}

#[actix_rt::test]
async fn the_number_of_arbiters_does_not_change_the_outcome() {
    let one = trade(5, 1, 3_001).await;
    assert_eq!(trade(5, 2, 3_001).await, one);
    assert_eq!(trade(5, 3, 3_001).await, one);
}

/// Every agent sends agent 0 its index, three times a round; agent 0 logs what it got.
struct Reporter {
    log: Arc<Mutex<Vec<(String, u64, u64)>>>,
}

impl System for Reporter {
    type Message = u64;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
        let entry = (msg.sender().to_string(), msg.seq().get(), *msg.payload());
        self.log.lock().unwrap().push(entry);
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let round = ctx.simulation().unwrap();
        if tick.n == 1 {
            for k in 0..3 {
                round.send(0, round.index() as u64 * 10 + k).unwrap();
            }
        }
    }
}

#[actix_rt::test]
async fn a_batch_arrives_by_sender_id_then_send_order() {
    let kernel = kernel().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&log);
    let mut sim = Simulation::builder(&kernel, move |i| Reporter {
        log: if i == 0 {
            Arc::clone(&shared)
        } else {
            Arc::default()
        },
    })
    .agents(12)
    .arbiters(3)
    .start()
    .await
    .unwrap();
    let first = sim.step().await.unwrap();
    assert_eq!((first.sent, first.deliveries), (36, 0));
    let second = sim.step().await.unwrap();
    assert_eq!(second.deliveries, 36);
    let log = log.lock().unwrap().clone();
    let expected: Vec<(String, u64, u64)> = (0..12)
        .flat_map(|i| (0..3).map(move |k| (format!("agent-{i:02}"), k + 1, i * 10 + k)))
        .collect();
    assert_eq!(log, expected);
    sim.stop().await;
}

/// Agent 0 spawns, in round 1, a future that waits for the test's gate and then sends.
struct Waiter {
    gate: Arc<Notify>,
    started: Arc<Notify>,
    done: Arc<AtomicBool>,
}

impl System for Waiter {
    type Message = u64;

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let round = ctx.simulation().unwrap();
        if tick.n != 1 || round.index() != 0 {
            return;
        }
        let mailer = round.mailer();
        let (gate, started, done) = (
            Arc::clone(&self.gate),
            Arc::clone(&self.started),
            Arc::clone(&self.done),
        );
        ctx.spawn(async move {
            started.notify_one();
            gate.notified().await;
            mailer.send(1, 42).unwrap();
            done.store(true, Ordering::SeqCst);
        });
    }
}

#[actix_rt::test]
async fn a_round_waits_for_the_futures_its_agents_spawned() {
    let kernel = kernel().await;
    let (gate, started, done) = (
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
        Arc::new(AtomicBool::new(false)),
    );
    let (g, s, d) = (Arc::clone(&gate), Arc::clone(&started), Arc::clone(&done));
    let mut sim = Simulation::builder(&kernel, move |_| Waiter {
        gate: Arc::clone(&g),
        started: Arc::clone(&s),
        done: Arc::clone(&d),
    })
    .agents(4)
    .arbiters(2)
    .start()
    .await
    .unwrap();
    {
        let mut step = Box::pin(sim.step());
        tokio::select! {
            biased;
            report = &mut step => panic!("the round ended before its future: {report:?}"),
            () = started.notified() => {}
        }
        assert!(!done.load(Ordering::SeqCst));
        gate.notify_one();
        let report = step.await.unwrap();
        assert!(
            done.load(Ordering::SeqCst),
            "the round ended with the future"
        );
        assert_eq!(report.sent, 1);
    }
    assert_eq!(sim.step().await.unwrap().deliveries, 1);
    sim.stop().await;
}

/// Agent 0 asks, in round 1, for a capability and then for an action the policy
/// escalates to a person.
struct Asker {
    outcome: Arc<Mutex<Option<bool>>>,
}

impl System for Asker {
    type Message = ();

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        if tick.n != 1 || ctx.simulation().unwrap().index() != 0 {
            return;
        }
        let client = ctx.kernel().expect("an agent is docked").clone();
        let outcome = Arc::clone(&self.outcome);
        ctx.spawn(async move {
            let cap = client
                .request("executor:http".parse().unwrap(), Rights::EXECUTE)
                .await
                .unwrap();
            let action = ActionRequest::new("POST", "http", "https://example.com/");
            let approved = client.authorize(action, Some(&cap.capability)).await;
            *outcome.lock().unwrap() = Some(approved.is_ok());
        });
    }
}

#[actix_rt::test]
async fn a_round_waits_for_its_agents_governance_requests() {
    let policy: RuleSet = serde_json::from_value(serde_json::json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "ask", "on": "action", "effect": "escalate", "escalate_to": "ops"},
    ]}))
    .unwrap();
    let kernel = Kernel::builder().policy(policy).start().await.unwrap();
    kernel
        .register_executor("http", Risk::Low, None)
        .await
        .unwrap();
    let watch = kernel
        .watch_approvals(SystemId::new("test").unwrap())
        .await
        .unwrap();
    let mut approvals = watch.subscribe(Default::default()).await.unwrap();
    let outcome = Arc::new(Mutex::new(None));
    let shared = Arc::clone(&outcome);
    let mut sim = Simulation::builder(&kernel, move |_| Asker {
        outcome: Arc::clone(&shared),
    })
    .agents(3)
    .start()
    .await
    .unwrap();
    {
        let mut step = Box::pin(sim.step());
        let event = tokio::select! {
            biased;
            report = &mut step => panic!("the round ended before the approval: {report:?}"),
            event = approvals.recv() => event.unwrap(),
        };
        let ApprovalEvent::ActionEscalated {
            approval, system, ..
        } = event.payload().clone()
        else {
            panic!("expected an escalation, got {:?}", event.payload());
        };
        assert_eq!(system.as_str(), "agent-0", "identity stamped by the kernel");
        assert_eq!(*outcome.lock().unwrap(), None);
        kernel.decide(approval, true, None).await.unwrap();
        let report = step.await.unwrap();
        assert_eq!(*outcome.lock().unwrap(), Some(true));
        assert_eq!(report.decisions, 2, "the grant and the approval");
    }
    sim.stop().await;
}

/// Counts its ticks; agent 3 panics in round 2.
struct Fragile {
    ticks: u64,
}

impl System for Fragile {
    type Message = ();

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        self.ticks += 1;
        if tick.n == 2 && ctx.simulation().unwrap().index() == 3 {
            panic!("agent 3 fails in round 2");
        }
    }
}

#[actix_rt::test]
async fn a_panicking_agent_is_rebuilt_and_the_round_counts_it() {
    let kernel = kernel().await;
    let mut sim = Simulation::builder(&kernel, |_| Fragile { ticks: 0 })
        .agents(6)
        .arbiters(2)
        .start()
        .await
        .unwrap();
    let reports = sim.run(3).await.unwrap();
    let panics: Vec<u64> = reports.iter().map(|r| r.panics).collect();
    assert_eq!(panics, [0, 1, 0]);
    let ticks = sim.inspect(|_, agent| agent.ticks).await.unwrap();
    assert_eq!(ticks, [3, 3, 3, 1, 3, 3], "agent 3 was rebuilt fresh");
    sim.stop().await;
}

/// Every agent sends agent 5 a message each round (round × 100 + its index); agent 5
/// logs what it hears.
struct Mailman {
    heard: Arc<Mutex<Vec<u64>>>,
}

impl System for Mailman {
    type Message = u64;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
        self.heard.lock().unwrap().push(*msg.payload());
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let round = ctx.simulation().unwrap();
        if round.index() != 5 {
            let value = tick.n * 100 + round.index() as u64;
            round.send(5, value).unwrap();
        }
    }
}

/// Eight mailmen on two arbiters, and what agent 5 hears.
async fn mail_to_five(kernel: &KernelHandle) -> (Simulation<Mailman>, Arc<Mutex<Vec<u64>>>) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&heard);
    let sim = Simulation::builder(kernel, move |i| Mailman {
        heard: if i == 5 {
            Arc::clone(&shared)
        } else {
            Arc::default()
        },
    })
    .agents(8)
    .arbiters(2)
    .start()
    .await
    .unwrap();
    (sim, heard)
}

#[actix_rt::test]
async fn a_paused_agent_gets_its_messages_in_order_after_it_resumes() {
    let kernel = kernel().await;
    let (mut sim, heard) = mail_to_five(&kernel).await;
    sim.run(2).await.unwrap();
    let five = sim.ids()[5].clone();
    let state = kernel
        .lifecycle(LifecycleCommand::Pause, &five, None)
        .await
        .unwrap();
    assert_eq!(state, LifecycleState::Paused);
    let snapshot = kernel.snapshot().await.unwrap();
    let entry = snapshot.systems.iter().find(|s| s.id == five).unwrap();
    assert_eq!(entry.state, LifecycleState::Paused);
    let paused = sim.run(3).await.unwrap();
    assert!(paused.iter().all(|r| r.deliveries == 0 && r.dropped == 0));
    let before: Vec<u64> = (100..=107).filter(|v| v % 100 != 5).collect();
    assert_eq!(*heard.lock().unwrap(), before, "nothing while paused");
    kernel
        .lifecycle(LifecycleCommand::Resume, &five, None)
        .await
        .unwrap();
    let resumed = sim.step().await.unwrap();
    assert_eq!(
        resumed.deliveries,
        7 * 4,
        "three held rounds and the last one"
    );
    let expected: Vec<u64> = (1..=5)
        .flat_map(|round| (0..8).filter(|&i| i != 5).map(move |i| round * 100 + i))
        .collect();
    assert_eq!(*heard.lock().unwrap(), expected);
    sim.stop().await;
}

/// Sends agent `(i * 7919 + round) % n` its index each round and counts what it gets.
struct Counter {
    got: u64,
    sum: u64,
}

impl System for Counter {
    type Message = u64;

    fn on_message(&mut self, _: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
        self.got += 1;
        self.sum += msg.payload();
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let round = ctx.simulation().unwrap();
        let (me, n) = (round.index() as u64, round.agents() as u64);
        round
            .send(((me * 7_919 + tick.n) % n) as usize, me)
            .unwrap();
    }
}

#[actix_rt::test]
async fn no_message_is_lost_or_duplicated_at_a_hundred_thousand_agents() {
    const AGENTS: u64 = 100_000;
    const ROUNDS: u64 = 3;
    let kernel = kernel().await;
    let mut sim = Simulation::builder(&kernel, |_| Counter { got: 0, sum: 0 })
        .agents(AGENTS as usize)
        .arbiters(2)
        .start()
        .await
        .unwrap();
    let reports = sim.run(ROUNDS + 1).await.unwrap();
    assert!(reports.iter().all(|r| r.sent == AGENTS));
    assert_eq!(reports[0].deliveries, 0);
    assert!(reports[1..].iter().all(|r| r.deliveries == AGENTS));
    let mut expected = vec![(0u64, 0u64); AGENTS as usize];
    for round in 1..=ROUNDS {
        for me in 0..AGENTS {
            let to = ((me * 7_919 + round) % AGENTS) as usize;
            expected[to].0 += 1;
            expected[to].1 += me;
        }
    }
    let got = sim.inspect(|_, c| (c.got, c.sum)).await.unwrap();
    assert_eq!(got.len(), AGENTS as usize);
    let wrong = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(wrong, 0, "{wrong} agents got other than they were sent");
    sim.stop().await;
}

/// Agent 2 spawns a future that never ends, in round 1.
struct Stuck {
    started: Arc<Notify>,
}

impl System for Stuck {
    type Message = ();

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
        if ctx.simulation().unwrap().index() == 2 {
            let started = Arc::clone(&self.started);
            ctx.spawn(async move {
                started.notify_one();
                std::future::pending::<()>().await;
            });
        }
    }
}

#[actix_rt::test]
async fn a_round_that_cannot_end_fails_naming_the_busy_agents() {
    let kernel = kernel().await;
    let started = Arc::new(Notify::new());
    let shared = Arc::clone(&started);
    let mut sim = Simulation::builder(&kernel, move |_| Stuck {
        started: Arc::clone(&shared),
    })
    .agents(4)
    .quiescence_bound(Duration::from_secs(30))
    .start()
    .await
    .unwrap();
    let failed = {
        let mut step = Box::pin(sim.step());
        tokio::select! {
            biased;
            report = &mut step => panic!("a stuck round ended: {report:?}"),
            () = started.notified() => {}
        }
        // From here the bound passes in paused time, at once.
        tokio::time::pause();
        step.await
    };
    let Err(SimulationError::NotQuiescent { round, bound, busy }) = failed else {
        panic!("expected NotQuiescent, got {failed:?}");
    };
    assert_eq!((round, bound), (1, Duration::from_secs(30)));
    assert!(busy.iter().any(|id| id.as_str() == "agent-2"), "{busy:?}");
    let again = sim.step().await;
    assert!(
        matches!(again, Err(SimulationError::Failed { round: 1 })),
        "{again:?}"
    );
}

/// What each of a probe's sends answered.
type Answers = Arc<Mutex<Vec<Result<(), SendError>>>>;

/// Sends as told, and keeps what each send answered.
struct Probe {
    to: usize,
    answers: Answers,
}

impl System for Probe {
    type Message = ();

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
        let round = ctx.simulation().unwrap();
        if round.index() == 0 {
            let answer = round.send(self.to, ());
            self.answers.lock().unwrap().push(answer);
        }
    }
}

fn probe(kernel: &KernelHandle, to: usize) -> (SimulationBuilder<Probe>, Answers) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&answers);
    let builder = Simulation::builder(kernel, move |_| Probe {
        to,
        answers: Arc::clone(&shared),
    })
    .agents(3);
    (builder, answers)
}

#[actix_rt::test]
async fn bad_sends_are_refused_with_what_was_wrong() {
    let kernel = kernel().await;
    let (builder, answers) = probe(&kernel, 3);
    let mut sim = builder.start().await.unwrap();
    let report = sim.step().await.unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(
        answers.lock().unwrap().pop(),
        Some(Err(SendError::UnknownAgent {
            index: 3,
            agents: 3
        }))
    );
    sim.stop().await;

    let (builder, answers) = probe(&kernel, 1);
    let mut sim = builder
        .prefix("reader")
        .rights(Rights::READ)
        .start()
        .await
        .unwrap();
    sim.step().await.unwrap();
    let refused = answers.lock().unwrap().pop();
    assert!(
        matches!(refused, Some(Err(SendError::NotPermitted { .. }))),
        "{refused:?}"
    );
    sim.stop().await;

    let (builder, answers) = probe(&kernel, 1);
    let mut sim = builder.prefix("revoked").start().await.unwrap();
    sim.step().await.unwrap();
    let first = sim.ids()[0].clone();
    kernel
        .lifecycle(LifecycleCommand::Revoke, &first, None)
        .await
        .unwrap();
    let report = sim.step().await.unwrap();
    assert_eq!(report.sent, 0);
    let refused = answers.lock().unwrap().clone();
    assert_eq!(refused[0], Ok(()));
    assert_eq!(
        refused[1],
        Err(SendError::NotRunning {
            system: first.clone(),
            state: LifecycleState::Revoked
        })
    );
    kernel
        .lifecycle(LifecycleCommand::Resume, &first, None)
        .await
        .unwrap();
    assert_eq!(sim.step().await.unwrap().sent, 1, "resumed, it sends again");
    sim.stop().await;
}

#[actix_rt::test]
async fn bad_settings_and_taken_ids_are_refused_and_change_nothing() {
    let kernel = kernel().await;
    let none = probe(&kernel, 0).0.agents(0).start().await;
    assert!(matches!(none, Err(SimulationError::Setting(_))), "{none:?}");
    let arbiters = probe(&kernel, 0).0.arbiters(0).start().await;
    assert!(
        matches!(arbiters, Err(SimulationError::Setting(_))),
        "{arbiters:?}"
    );
    let prefix = probe(&kernel, 0).0.prefix("no spaces").start().await;
    assert!(
        matches!(prefix, Err(SimulationError::Setting(_))),
        "{prefix:?}"
    );
    let first = probe(&kernel, 0).0.start().await.unwrap();
    let twin = probe(&kernel, 0).0.start().await;
    assert!(
        matches!(&twin, Err(SimulationError::Dock(_))),
        "the ids are taken: {twin:?}"
    );
    assert_eq!(kernel.snapshot().await.unwrap().systems.len(), 3);
    first.stop().await;
    let snapshot = kernel.snapshot().await.unwrap();
    assert!(snapshot.systems.is_empty(), "stopped agents are undocked");
    let factory = Simulation::builder(&kernel, |i| {
        assert!(i != 1, "no agent 1");
        Fragile { ticks: 0 }
    })
    .agents(3)
    .start()
    .await;
    let Err(SimulationError::Factory { agent, .. }) = factory else {
        panic!("expected a factory error, got {factory:?}");
    };
    assert_eq!(agent.as_str(), "agent-1");
    assert!(kernel.snapshot().await.unwrap().systems.is_empty());
}

/// Logs the time its messages were sent at and the time it sees.
struct Clocked {
    stamps: Arc<Mutex<Vec<(SystemTime, SystemTime)>>>,
}

impl System for Clocked {
    type Message = ();

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<()>) {
        self.stamps.lock().unwrap().push((msg.sent_at(), ctx.now()));
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, _: Tick) {
        let round = ctx.simulation().unwrap();
        let next = (round.index() + 1) % round.agents();
        round.send(next, ()).unwrap();
    }
}

#[actix_rt::test]
async fn stamps_and_now_read_the_virtual_clock() {
    let kernel = kernel().await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&stamps);
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut sim = Simulation::builder(&kernel, move |_| Clocked {
        stamps: Arc::clone(&shared),
    })
    .agents(2)
    .epoch(epoch)
    .round_length(Duration::from_secs(60))
    .start()
    .await
    .unwrap();
    sim.run(3).await.unwrap();
    let at = |round: u64| epoch + Duration::from_secs(60 * round);
    let expected = vec![
        (at(1), at(2)),
        (at(1), at(2)),
        (at(2), at(3)),
        (at(2), at(3)),
    ];
    assert_eq!(*stamps.lock().unwrap(), expected);
    sim.stop().await;
}

/// Passes a hop counter on until it reaches ten.
struct Relay {
    hops: Arc<AtomicU64>,
}

impl System for Relay {
    type Message = u64;

    fn on_message(&mut self, ctx: &mut SystemContext<'_, Self>, msg: Inbound<u64>) {
        self.hops.fetch_add(1, Ordering::SeqCst);
        let round = ctx.simulation().unwrap();
        if *msg.payload() < 10 {
            let next = (round.index() + 1) % round.agents();
            round.send(next, msg.payload() + 1).unwrap();
        }
    }

    fn on_tick(&mut self, ctx: &mut SystemContext<'_, Self>, tick: Tick) {
        let round = ctx.simulation().unwrap();
        if tick.n == 1 && round.index() == 0 {
            round.send(1, 1).unwrap();
        }
    }
}

#[actix_rt::test]
async fn immediate_delivery_ends_the_round_when_nothing_more_is_sent() {
    let kernel = kernel().await;
    let hops = Arc::new(AtomicU64::new(0));
    let shared = Arc::clone(&hops);
    let mut sim = Simulation::builder(&kernel, move |_| Relay {
        hops: Arc::clone(&shared),
    })
    .agents(4)
    .arbiters(2)
    .schedule(Schedule::Immediate)
    .start()
    .await
    .unwrap();
    let report = sim.step().await.unwrap();
    assert_eq!((report.sent, report.deliveries), (10, 10));
    assert_eq!(hops.load(Ordering::SeqCst), 10);
    let quiet = sim.step().await.unwrap();
    assert_eq!((quiet.sent, quiet.deliveries), (0, 0));
    sim.stop().await;
}

#[actix_rt::test]
async fn an_undocked_or_drained_agent_stops_and_its_mail_is_counted_as_dropped() {
    let kernel = kernel().await;
    let (mut sim, _) = mail_to_five(&kernel).await;
    sim.run(2).await.unwrap();
    let (five, six) = (sim.ids()[5].clone(), sim.ids()[6].clone());
    kernel.undock(&five).await.unwrap();
    let state = kernel
        .lifecycle(LifecycleCommand::Drain, &six, None)
        .await
        .unwrap();
    assert_eq!(state, LifecycleState::Drained);
    let report = sim.step().await.unwrap();
    assert_eq!(
        report.dropped, 7,
        "round 2's messages to the undocked agent"
    );
    assert_eq!(report.sent, 6, "the drained agent sends no more");
    let snapshot = kernel.snapshot().await.unwrap();
    assert!(snapshot.systems.iter().all(|s| s.id != five));
    let drained = snapshot.systems.iter().find(|s| s.id == six).unwrap();
    assert_eq!(drained.state, LifecycleState::Drained);
    assert_eq!(sim.inspect(|_, _| ()).await.unwrap().len(), 6);
    sim.stop().await;
    assert!(kernel.snapshot().await.unwrap().systems.is_empty());
}
