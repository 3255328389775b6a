//! The README's "Scaling out": two `exokern launch` processes, a producer kernel and a
//! worker kernel, share a work queue through a real NATS server.
#![cfg(feature = "nats")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use exokern::nats::testing::{fresh_channel, SharedServer};

/// The example config, on this test's server and channel, writing its audit into `dir`.
fn config(example: &str, url: &str, channel: &str, dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(Path::new("examples/scale-out").join(example)).unwrap();
    let text = text
        .replace("nats://127.0.0.1:4222", url)
        .replace("\"jobs\"", &format!("\"{channel}\""));
    let path = dir.join(example);
    std::fs::write(&path, text).unwrap();
    path
}

/// `exokern launch config`, its log on stderr (a summary line per heartbeat) piped or
/// dropped.
fn launch(config: &Path, log: Stdio) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("exokern"))
        .arg("launch")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `exokern launch config --once`: comes up, then exits.
fn launch_once(config: &Path) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("exokern"))
        .arg("launch")
        .arg(config)
        .arg("--once")
        .output()
        .unwrap()
}

/// The worker kernel's approved `compile` actions so far.
fn compiled(audit: &Path) -> usize {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.contains("\"subject\":\"compile service-a with build\"")
                && line.contains("\"decision\":\"approved\"")
        })
        .count()
}

#[test]
fn a_worker_kernel_runs_the_jobs_a_producer_kernel_in_another_process_sends() {
    if !exokern::nats::testing::available() {
        return;
    }
    let server = SharedServer::get();
    let channel = fresh_channel("jobs");
    let dir = tempfile::tempdir().unwrap();
    let producer = config("producer.toml", server.url(), channel.as_str(), dir.path());
    let worker = config("worker.toml", server.url(), channel.as_str(), dir.path());
    let audit = dir.path().join("worker-audit.jsonl");

    let mut kernels = [
        launch(&producer, Stdio::null()),
        launch(&worker, Stdio::piped()),
    ];
    // The worker's summary lines are the signal to look at its audit again.
    let log = BufReader::new(kernels[1].stderr.take().unwrap());
    let until = Instant::now() + Duration::from_secs(60);
    for _line in log.lines().map_while(Result::ok) {
        if compiled(&audit) >= 50 {
            break;
        }
        assert!(
            kernels[0].try_wait().unwrap().is_none(),
            "the producer kernel exited"
        );
        if Instant::now() > until {
            break;
        }
    }
    let ran = compiled(&audit);
    for kernel in &mut kernels {
        let _ = kernel.kill();
        let _ = kernel.wait();
    }
    assert!(ran >= 50, "the worker kernel ran {ran} jobs in 60 s");
}

#[test]
fn a_kernel_whose_server_is_away_does_not_start_and_says_which_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let producer = config("producer.toml", &url, "jobs", dir.path());
    let output = launch_once(&producer);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the channels shared through NATS cannot start")
            && stderr.contains(&url)
            && stderr.contains("nats-server -js"),
        "{stderr}"
    );
}

#[test]
fn a_kernel_signs_in_with_the_configs_password_and_a_missing_nkey_file_is_named() {
    if !exokern::nats::testing::available() {
        return;
    }
    let server =
        exokern::nats::testing::TestServer::start_with(&["--user", "producer", "--pass", "s3cret"]);
    let dir = tempfile::tempdir().unwrap();
    let producer = config("producer.toml", &server.url(), "jobs", dir.path());
    let text = std::fs::read_to_string(&producer).unwrap();
    let signed = text.replace(
        &format!("url = \"{}\"", server.url()),
        &format!(
            "url = \"{}\"\nuser = \"producer\"\npassword = \"s3cret\"",
            server.url()
        ),
    );
    std::fs::write(&producer, &signed).unwrap();
    let output = launch_once(&producer);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let nkey = signed.replace(
        "user = \"producer\"\npassword = \"s3cret\"",
        "nkey_file = \"missing.nk\"",
    );
    std::fs::write(&producer, nkey).unwrap();
    let output = launch_once(&producer);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the nkey file") && stderr.contains("missing.nk"),
        "{stderr}"
    );
}
