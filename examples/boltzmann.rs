//! Mesa's Boltzmann wealth model on exokern's simulation mode (see
//! `exokern::bench::boltzmann` for the model): every agent starts with one unit, and
//! each step every agent with any gives one to an agent drawn at random.
//!
//! ```text
//! cargo run --release --example boltzmann -- --agents 10000 --steps 100 --seed 42 --arbiters 2 --json
//! ```
//!
//! prints one JSON line with `agents`, `steps`, `seconds`, `agent_steps_per_s`, `gini`
//! and `digest` (a hash of every agent's final wealth in id order, the same for every
//! run with one seed, whatever the number of arbiters), and `bytes_per_agent` (what the
//! process's resident memory grew by per agent as they were docked). BENCHMARKS.md has the Mesa
//! script that prints the same line.

use exokern::bench::boltzmann;

/// The command line: `--agents N --steps S --seed K --arbiters A [--json]`.
#[derive(Debug)]
struct Args {
    agents: usize,
    steps: u64,
    seed: u64,
    arbiters: usize,
    json: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        agents: 10_000,
        steps: 100,
        seed: 42,
        arbiters: 2,
        json: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        if word == "--json" {
            args.json = true;
            continue;
        }
        let value = words
            .next()
            .ok_or_else(|| format!("`{word}` needs a value"))?;
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|e| format!("{what} `{value}`: {e}"))
        };
        match word.as_str() {
            "--agents" => args.agents = number("--agents")? as usize,
            "--steps" => args.steps = number("--steps")?,
            "--seed" => args.seed = number("--seed")?,
            "--arbiters" => args.arbiters = number("--arbiters")? as usize,
            other => {
                return Err(format!(
                    "unknown option `{other}`: use --agents, --steps, --seed, --arbiters, --json"
                ))
            }
        }
    }
    Ok(args)
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let run = boltzmann::run(args.agents, args.steps, args.seed, args.arbiters).await?;
    let seconds = run.elapsed.as_secs_f64();
    let rate = (args.agents as f64 * args.steps as f64) / seconds;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "agents": args.agents,
                "steps": args.steps,
                "seconds": seconds,
                "agent_steps_per_s": rate,
                "gini": run.gini,
                "digest": run.digest,
                "bytes_per_agent": run.resident_per_agent,
            })
        );
    } else {
        println!(
            "{} agents, {} steps on {} arbiter(s), seed {}: {seconds:.3} s, {rate:.0} agent-steps/s",
            args.agents, args.steps, args.arbiters, args.seed
        );
        println!("gini {:.4}, digest {}", run.gini, run.digest);
        if let Some(bytes) = run.resident_per_agent {
            println!("{bytes} bytes of resident memory per idle agent");
        }
    }
    Ok(())
}
