//! A kernel served over HTTP on an ephemeral port, and a client for it.

use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use exokern::channel::{ChannelStats, Mailbox};
use exokern::http::{routes, Gateway, HttpLimits};
use exokern::kernel::{ApprovedAction, Executor, Kernel, KernelHandle, RemoteDock, Visibility};
use exokern::policy::{Risk, RuleSet};
use exokern::prelude::*;
use serde_json::{json, Value};

use crate::common::{cid, sid};

/// The largest body the test server accepts.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A served kernel. Channels: `events` (public broadcast, retention 2000), `jobs`
/// (public work queue, capacity 4), `letters` (public mailbox), `secret` (private
/// broadcast). Remotes: `alice` (READ|WRITE on all four), `bob` (READ on `events`,
/// READ|WRITE on `letters`), `ops` (privileged, nothing else).
pub(crate) struct Served {
    pub base: String,
    pub kernel: KernelHandle,
    pub gateway: Gateway,
    pub events: Broadcast<Value>,
    pub jobs: WorkQueue<Value>,
    pub alice: String,
    pub bob: String,
    pub ops: String,
    handle: ServerHandle,
}

async fn echo(action: ApprovedAction) -> Result<Value, String> {
    Ok(json!({ "did": action.action, "to": action.target }))
}

/// Everything allowed but irreversible actions, which escalate to `ops`.
pub(crate) fn policy() -> RuleSet {
    serde_json::from_value(json!({"rules": [
        {"name": "caps", "on": "capability", "effect": "allow"},
        {"name": "no rm", "on": "action", "effect": "deny", "actions": ["rm"]},
        {"name": "risky", "on": "action", "effect": "escalate", "risks": ["irreversible"], "escalate_to": "ops"},
        {"name": "rest", "on": "action", "effect": "allow"},
    ]}))
    .unwrap()
}

impl Served {
    pub(crate) async fn start() -> Served {
        let kernel = Kernel::builder()
            .built_in_frameworks()
            .policy(policy())
            .approval_timeout(Duration::from_secs(30))
            .start()
            .await
            .unwrap();
        kernel
            .register_executor(
                "http",
                Risk::Low,
                Some(std::sync::Arc::new(echo) as std::sync::Arc<dyn Executor>),
            )
            .await
            .unwrap();
        kernel
            .register_executor("shell", Risk::Irreversible, None)
            .await
            .unwrap();
        let events = Broadcast::<Value>::builder(cid("events"))
            .retention(2000)
            .start()
            .unwrap();
        let jobs = WorkQueue::<Value>::builder(cid("jobs"))
            .capacity(4)
            .start()
            .unwrap();
        let letters = Mailbox::<Value>::builder(cid("letters")).start().unwrap();
        let secret = Broadcast::<Value>::builder(cid("secret")).start().unwrap();
        kernel
            .add_channel(events.clone(), Visibility::Public)
            .await
            .unwrap();
        kernel
            .add_channel(jobs.clone(), Visibility::Public)
            .await
            .unwrap();
        kernel
            .add_channel(letters, Visibility::Public)
            .await
            .unwrap();
        kernel
            .add_channel(secret, Visibility::Private)
            .await
            .unwrap();
        let gateway = Gateway::new(kernel.clone(), HttpLimits::default().max_body(BODY_LIMIT));
        let rw = Rights::READ | Rights::WRITE;
        gateway
            .dock(
                RemoteDock::new(sid("alice"))
                    .channel(cid("events"), rw)
                    .channel(cid("jobs"), rw)
                    .channel(cid("letters"), rw)
                    .channel(cid("secret"), rw),
            )
            .await
            .unwrap();
        gateway
            .dock(
                RemoteDock::new(sid("bob"))
                    .channel(cid("events"), Rights::READ)
                    .channel(cid("letters"), rw),
            )
            .await
            .unwrap();
        gateway
            .dock(RemoteDock::new(sid("ops")).privileged())
            .await
            .unwrap();
        let token = |name: &str| gateway.mint(sid(name), None).0.secret().to_owned();
        let (alice, bob, ops) = (token("alice"), token("bob"), token("ops"));
        let served = gateway.clone();
        let server = HttpServer::new(move || App::new().configure(routes(served.clone())))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
        let base = format!("http://{}/v1", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Served {
            base,
            kernel,
            gateway,
            events,
            jobs,
            alice,
            bob,
            ops,
            handle,
        }
    }

    /// Sends `method path` with `token` and a raw `body` (as JSON if given).
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut response = match body {
            Some(body) => request
                .insert_header(("Content-Type", "application/json"))
                .send_body(body)
                .await
                .unwrap(),
            None => request.send().await.unwrap(),
        };
        let status = response.status().as_u16();
        let bytes = response.body().limit(16 << 20).await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        if status >= 400 {
            assert!(
                value["error"]["type"].is_string() && value["error"]["message"].is_string(),
                "error bodies are {{error: {{type, message}}}}: {value}"
            );
        }
        assert_ne!(status, 500, "no input answers 500: {value}");
        (status, value)
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.raw("GET", path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.raw(
            "POST",
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub(crate) async fn stats(&self) -> (ChannelStats, ChannelStats) {
        (
            self.events.stats().await.unwrap(),
            self.jobs.stats().await.unwrap(),
        )
    }

    pub(crate) async fn stop(self) {
        self.handle.stop(false).await;
        self.kernel.shutdown().await;
    }
}
