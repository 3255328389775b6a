//! The `exokern` binary: launch, inspect, and the exit codes of every failure class.

use std::path::Path;

use assert_cmd::Command;

fn exokern() -> Command {
    Command::cargo_bin("exokern").expect("the binary is built")
}

fn demo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.toml"))
}

/// Runs `exokern ARGS`, answering (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let output = exokern().args(args).output().unwrap();
    (
        output.status.code().expect("exited, not killed"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn launch_once_brings_the_demo_up_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    // A copy, so the audit file it writes lands in the temporary folder.
    let config = dir.path().join("demo.toml");
    std::fs::copy(demo(), &config).unwrap();
    let (code, out, err) = run(&["launch", config.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Starting exokern 'exokern demo' (demo)."),
        "{out}"
    );
    assert!(out.contains("kernel_id=demo"), "{out}");
    for system in [
        "approver (running, privileged)",
        "worker-1 (running)",
        "log (running)",
    ] {
        assert!(out.contains(system), "{system} missing from\n{out}");
    }
    assert!(
        out.contains("  - jobs (work queue of json, public)"),
        "{out}"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let loads = audit
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["request"] == "module_load" && record["decision"] == "accepted")
        .count();
    assert_eq!(loads, 8, "every module was loaded through the policy");
}

#[test]
fn inspect_prints_the_plan_and_starts_nothing() {
    let (code, out, _) = run(&["inspect", demo().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.starts_with("kernel demo (exokern demo)\n"), "{out}");
    assert!(out.contains("  - approver (approver, privileged)"), "{out}");
    assert!(out.contains("  - deploy (risk high, runs)"), "{out}");
    assert!(out.contains("  - deploys (work_queue, private)"), "{out}");
    assert!(
        out.ends_with("launch: every module and remote system passes the policy and its checks\n"),
        "{out}"
    );
}

#[test]
fn every_config_error_class_exits_2_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[kernel]\nidd = \"x\"\n", "unknown field `idd`"),
        ("[kernel]\nheartbeat_ms = -1\n", "line 2"),
        (
            "[[channels]]\nid = \"a\"\nkind = \"pipe\"\n",
            "unknown variant `pipe`",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"ghost\"\n",
            "bad.toml:3:13: module `m`: unknown framework `ghost`",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"logger\"\nchannels = [\"x\"]\n",
            "no channel `x`",
        ),
        ("not toml at all", "bad.toml"),
    ];
    for (text, expected) in cases {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, text).unwrap();
        for command in ["launch", "inspect"] {
            let (code, out, err) = run(&[command, config.to_str().unwrap()]);
            assert_eq!(code, 2, "{command} {text:?}: {out}{err}");
            assert!(err.starts_with("error: "), "{err}");
            assert!(err.contains(expected), "{command} {text:?}: {err}");
        }
    }
    let (code, _, err) = run(&["launch", dir.path().join("absent.toml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&[]).0, 2);
    assert_eq!(run(&["launch"]).0, 2);
    assert_eq!(run(&["launch", "x.toml", "--twice"]).0, 2);
    assert_eq!(run(&["--version"]).0, 0);
}

/// `inspect` makes `launch`'s decisions, and both refuse the same configs the same way.
#[test]
fn what_the_policy_or_a_framework_refuses_exits_2_from_inspect_and_launch() {
    let dir = tempfile::tempdir().unwrap();
    let allow_modules =
        "[[kernel.policy.rules]]\nname = \"modules\"\non = \"module\"\neffect = \"allow\"\n";
    let cases = [
        (
            "[[modules]]\nid = \"m\"\nframework = \"noop\"\n".to_owned(),
            "module `m` was not loaded: denied by policy",
            "`on = \"module\"` and `effect = \"allow\"` whose `systems` match `m`",
        ),
        (
            format!(
                "{allow_modules}[[channels]]\nid = \"c\"\nkind = \"broadcast\"\n\
                 [[modules]]\nid = \"m\"\nframework = \"noop\"\nchannels = [\"c\"]\n"
            ),
            "module `m` was not loaded: module `m` cannot be built: framework `noop`: takes no channels",
            "change the `channels` or `settings` of module `m`",
        ),
        (
            format!(
                "{allow_modules}[[executors]]\nname = \"build\"\nrisk = \"low\"\n\
                 [[modules]]\nid = \"m\"\nframework = \"noop\"\nexecutors = [\"build\"]\n"
            ),
            "the initial capability on executor `build` was refused",
            "for `m` on `executor:build`",
        ),
        (
            "[[executors]]\nname = \"build\"\nrisk = \"low\"\n\
             [[remotes]]\nid = \"r\"\nexecutors = [\"build\"]\n"
                .to_owned(),
            "remote system `r` was not docked: the initial capability on executor `build`",
            "or drop `build` from its `executors`",
        ),
    ];
    for (text, refused, fix) in cases {
        let config = dir.path().join("refused.toml");
        std::fs::write(&config, &text).unwrap();
        for command in [&["inspect"][..], &["launch", "--once"]] {
            let mut args = command.to_vec();
            args.insert(1, config.to_str().unwrap());
            let (code, out, err) = run(&args);
            assert_eq!(code, 2, "{args:?} {text}: {out}{err}");
            assert!(err.contains(refused), "{args:?} {text}: {err}");
            assert!(err.contains(fix), "{args:?} {text}: {err}");
            assert!(!out.contains("Starting exokern"), "{out}");
        }
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_drains_and_exits_0() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Process, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    std::fs::copy(demo(), &config).unwrap();
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("exokern"))
        .args(["launch", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map(Result::unwrap)
        .any(|line| line == "Press Ctrl+C to stop.");
    assert!(ready, "the constellation came up");
    interrupt_drains_and_exits_0(child, lines);
}

/// Sends Ctrl-C to a launched `child` and checks it drains, says so and exits 0.
#[cfg(unix)]
fn interrupt_drains_and_exits_0(
    mut child: std::process::Child,
    lines: impl Iterator<Item = std::io::Result<String>>,
) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert_eq!(rest, ["Draining…", "Stopped exokern."]);
}

#[test]
fn token_prints_a_token_and_the_record_that_accepts_it() {
    let (code, out, _) = run(&["token", "ada", "--ttl-secs", "60"]);
    assert_eq!(code, 0);
    let token = out
        .lines()
        .find_map(|line| line.strip_prefix("# token = "))
        .unwrap_or_else(|| panic!("no token in {out}"));
    // The record is ready to paste under the remote's table.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.toml");
    std::fs::write(&path, format!("[[remotes]]\nid = \"ada\"\n\n{out}")).unwrap();
    let config = exokern::config::Config::load(&path).unwrap();
    let record = config.remotes[0].tokens[0].clone();
    assert!(record.expires.is_some());
    let store = exokern::tokens::TokenStore::new();
    store.insert(record).unwrap();
    let verified = store.verify(token, std::time::SystemTime::now());
    assert_eq!(verified, Ok("ada".parse().unwrap()));
    let (code, _, err) = run(&["token", "kernel.core"]);
    assert_eq!(code, 2);
    assert!(err.contains("reserved"), "{err}");
}

#[test]
fn once_and_publish_together_are_a_usage_error() {
    let (code, _, err) = run(&["launch", demo().to_str().unwrap(), "--once", "--publish"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("published.toml");
    let text = std::fs::read_to_string(demo()).unwrap();
    std::fs::write(
        &config,
        text.replace("port = 8100", "port = 8100\npublish = true"),
    )
    .unwrap();
    let (code, _, err) = run(&["launch", config.to_str().unwrap(), "--once"]);
    assert_eq!(code, 2);
    assert!(err.contains("`--once`"), "{err}");
}

/// Sends one HTTP/1.1 request and answers the status line and body.
fn http_get(address: &str, path: &str, token: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[cfg(unix)]
#[test]
fn launch_publish_serves_the_demo_remote_until_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Process, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    let text = std::fs::read_to_string(demo()).unwrap();
    std::fs::write(&config, text.replace("port = 8100", "port = 0")).unwrap();
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("exokern"))
        .args(["launch", config.to_str().unwrap(), "--publish"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|line| {
            line.strip_prefix("Serving HTTP on http://")
                .and_then(|rest| rest.split_once("/v1"))
                .map(|(address, _)| address.to_owned())
        })
        .expect("the server came up");
    let ready = lines
        .by_ref()
        .map(Result::unwrap)
        .any(|line| line == "Press Ctrl+C to stop.");
    assert!(ready);
    // The README's demo token.
    let token =
        "exo.162b46f8ee93f047.25e282a83dca732f58299ce0450fea0dfdbe565a39c5b1cc655b47c3ce9b5dab";
    let (status, body) = http_get(&address, "/v1/channels", token);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert!(
        body.contains(r#"{"id":"ticks","kind":"broadcast","rights":"R"}"#),
        "{body}"
    );
    let (status, _) = http_get(&address, "/v1/channels", "exo.162b46f8ee93f047.00");
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    interrupt_drains_and_exits_0(child, lines);
}

#[test]
fn bench_json_prints_the_machine_then_one_parsable_line_per_benchmark() {
    let (code, out, err) = run(&["bench", "--quick", "--filter", "thread-ring", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    let header = &lines[0];
    assert!(
        header["machine"]["cores"].as_u64().unwrap() >= 1,
        "{header}"
    );
    assert!(header["machine"]["cpu"].is_string(), "{header}");
    assert_eq!(header["scale"], "quick");
    assert!(
        header["placement"]
            .as_str()
            .is_some_and(|p| p.starts_with("one arbiter; the -pool workloads on")),
        "{header}"
    );
    let report = &lines[1];
    assert_eq!(report["name"], "thread-ring");
    assert_eq!(report["unit"], "ns/message");
    for key in ["median", "p99", "throughput", "baseline_median", "ratio"] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report}");
    }
}

#[test]
fn bench_iterations_measures_exactly_that_many_per_side() {
    let (code, out, err) = run(&[
        "bench",
        "--quick",
        "--filter",
        "thread-ring",
        "--json",
        "--iterations",
        "4",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(lines[0]["iterations"], 4, "{out}");
    assert_eq!(lines[1]["iterations"], 4, "{out}");
    assert_eq!(lines[1]["baseline_iterations"], 4, "{out}");

    let (code, out, _) = run(&[
        "bench",
        "--quick",
        "--filter",
        "counting",
        "--iterations",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .next()
            .is_some_and(|header| header.contains("quick scale, 1 iteration per side")),
        "{out}"
    );

    let (code, _, err) = run(&["bench", "--iterations", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--iterations"), "{err}");
}

#[test]
fn bench_exact_selects_the_benchmark_of_that_name_alone() {
    let (code, out, _) = run(&["bench", "--list", "--filter", "ping-pong"]);
    assert_eq!((code, out.lines().count()), (0, 2), "{out}");
    let (code, out, _) = run(&["bench", "--list", "--filter", "ping-pong", "--exact"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["ping-pong"], "{out}");

    let (code, _, err) = run(&["bench", "--list", "--filter", "ping", "--exact"]);
    assert_eq!(code, 2);
    assert!(err.contains("no benchmark is named `ping`"), "{err}");
    let (code, _, err) = run(&["bench", "--exact"]);
    assert_eq!(code, 2);
    assert!(err.contains("--filter"), "{err}");
}

#[test]
fn bench_prints_a_table_and_refuses_a_filter_that_matches_nothing() {
    let (code, out, err) = run(&["bench", "--quick", "--filter", "counting"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let header = out.lines().next().unwrap_or_default();
    assert!(
        header.contains("quick scale") && header.contains(" cores ("),
        "{header}"
    );
    let row = out.lines().find(|l| l.starts_with("counting")).expect(&out);
    assert!(row.contains("message") && row.contains('x'), "{row}");

    let (code, _, err) = run(&["bench", "--filter", "no-such-benchmark"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no benchmark matches `no-such-benchmark`"),
        "{err}"
    );
    assert!(err.contains("ping-pong"), "the names are listed: {err}");

    let (code, out, _) = run(&["bench", "--list"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 18, "{out}");
}
