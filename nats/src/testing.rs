//! A real `nats-server` for tests of code that shares channels through NATS: one of the
//! test's own, on a free loopback port with a temporary store, killed when dropped; or,
//! for tests that only need a server, the one `EXOKERN_NATS_URL` names (CI starts one).
//!
//! ```no_run
//! use exokern_nats::testing::TestServer;
//!
//! let mut server = TestServer::start();
//! println!("a server with JetStream at {}", server.url());
//! server.restart(); // SIGTERM, then the same port and store again
//! ```

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exokern_actors::ChannelId;

use crate::{Nats, NatsOptions};

/// A nats-server a test started and owns.
#[derive(Debug)]
pub struct TestServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    flags: Vec<String>,
}

/// The nats-server binary: `EXOKERN_NATS_SERVER`, or `nats-server` on the PATH.
fn binary() -> PathBuf {
    std::env::var_os("EXOKERN_NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

/// Whether this machine has a NATS server for tests: `EXOKERN_NATS_URL` names one, or
/// `nats-server` can be started. On a machine with nothing but Rust, as the README's
/// quick start promises, tests that need a server call this first and skip, saying so;
/// CI sets `EXOKERN_REQUIRE_NATS`, and there a missing server fails them instead.
pub fn available() -> bool {
    if std::env::var_os("EXOKERN_NATS_URL").is_some() {
        return true;
    }
    let found = Command::new(binary())
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found && std::env::var_os("EXOKERN_REQUIRE_NATS").is_none() {
        eprintln!(
            "skipped: this test needs nats-server (Debian's `nats-server` package, or its path in EXOKERN_NATS_SERVER); .ci/run installs it and fails without it"
        );
        return false;
    }
    true
}

impl TestServer {
    /// Starts a server with JetStream on a free loopback port; panics, saying what to
    /// install, if there is no `nats-server` (`EXOKERN_NATS_SERVER`, or on the `PATH`).
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts a server as [`start`](Self::start) does, with more of `nats-server`'s
    /// flags: `["--user", "k", "--pass", "s3cret"]` to require a sign-in.
    pub fn start_with(flags: &[&str]) -> TestServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut server = TestServer {
            child: None,
            port,
            dir: tempfile::tempdir().expect("a temporary store directory"),
            flags: flags.iter().map(|flag| flag.to_string()).collect(),
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.path())
            .args(&self.flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; install Debian's nats-server (`apt-get install nats-server`) or set EXOKERN_NATS_SERVER to its path",
                    binary().display()
                )
            });
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < until,
                "nats-server did not listen on port {} within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server with SIGTERM, letting it write out its state, and waits for it
    /// to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill -TERM failed: {status}");
            let _ = child.wait();
        }
    }

    /// Stops the server (SIGTERM) and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server tests may share: CI's, or one started for this test.
#[derive(Debug)]
pub struct SharedServer {
    url: String,
    _own: Option<TestServer>,
}

impl SharedServer {
    /// The server `EXOKERN_NATS_URL` names, else one of this test's own.
    pub fn get() -> SharedServer {
        match std::env::var("EXOKERN_NATS_URL") {
            Ok(url) => SharedServer { url, _own: None },
            Err(_) => {
                let own = TestServer::start();
                SharedServer {
                    url: own.url(),
                    _own: Some(own),
                }
            }
        }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A kernel's connection.
    pub async fn connect(&self, kernel: &str) -> Nats {
        Nats::connect(NatsOptions::new(&self.url, kernel))
            .await
            .expect("the test server accepts the kernel")
    }
}

/// A channel id no other test uses, so that tests can share one server.
pub fn fresh_channel(prefix: &str) -> ChannelId {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    ChannelId::new(format!("{prefix}-{}", &tag[..12])).unwrap()
}
