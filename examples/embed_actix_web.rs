//! exokern inside an actix-web service: the service owns a kernel, docks agents on
//! request and asks the action gate on their behalf.
//!
//! - `POST /agents/{id}` docks agent `id` and grants it EXECUTE on the `http` executor
//!   (through the policy): 201, or 409 if it is docked already.
//! - `POST /agents/{id}/actions` with `{"action": "GET", "target": "https://…"}` asks
//!   the gate as that agent: 200 approved, 403 refused, 404 unknown agent.
//! - Beside them, exokern's own routes under `/v1` (`exokern::http::routes`), where the
//!   remote system `dashboard` acts with the bearer token printed at start.
//!
//! Run it with `cargo run --example embed_actix_web` and try
//! `curl -X POST localhost:8080/agents/ada`, then
//! `curl -X POST localhost:8080/agents/ada/actions -H 'content-type: application/json' -d '{"action":"GET","target":"https://example.com/"}'`.
//! With `--self-test` it binds an ephemeral port, makes those requests itself, prints
//! the answers and exits.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use exokern::http::{routes, Gateway, HttpLimits};
use exokern::kernel::{Dock, DockError, Kernel, KernelClient, KernelHandle, RemoteDock};
use exokern::policy::{Risk, RuleSet};
use exokern::prelude::*;
use exokern::protocol::ActionRequest;
use serde::Deserialize;
use serde_json::json;

/// A docked agent that hands its kernel client to the service.
struct Agent {
    client: Arc<Mutex<Option<KernelClient>>>,
}

impl System for Agent {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        *self.client.lock().unwrap() = ctx.kernel().cloned();
    }
}

/// What the handlers share.
struct Service {
    kernel: KernelHandle,
    agents: Mutex<HashMap<SystemId, KernelClient>>,
}

async fn dock(service: web::Data<Service>, id: web::Path<String>) -> HttpResponse {
    let Ok(id) = SystemId::new(id.as_str()) else {
        return HttpResponse::BadRequest().json(json!({"error": "not a valid agent id"}));
    };
    let slot = Arc::new(Mutex::new(None));
    let client = Arc::clone(&slot);
    let docked = service
        .kernel
        .dock(Dock::new(id.clone(), move || Agent {
            client: Arc::clone(&client),
        }))
        .await;
    match docked {
        Ok(_) => {}
        Err(DockError::AlreadyDocked(_)) => {
            return HttpResponse::Conflict().json(json!({"error": "already docked"}))
        }
        Err(error) => {
            return HttpResponse::ServiceUnavailable().json(json!({"error": error.to_string()}))
        }
    }
    let client = slot
        .lock()
        .unwrap()
        .take()
        .expect("started before the dock returned");
    let granted = client
        .request(
            "executor:http".parse().expect("a valid scope"),
            Rights::EXECUTE,
        )
        .await;
    service.agents.lock().unwrap().insert(id.clone(), client);
    match granted {
        Ok(granted) => {
            HttpResponse::Created().json(json!({"agent": id, "granted": granted.info()}))
        }
        Err(error) => {
            HttpResponse::Created().json(json!({"agent": id, "refused": error.to_string()}))
        }
    }
}

#[derive(Deserialize)]
struct Action {
    action: String,
    target: String,
}

async fn act(
    service: web::Data<Service>,
    id: web::Path<String>,
    body: web::Json<Action>,
) -> HttpResponse {
    let client = SystemId::new(id.as_str())
        .ok()
        .and_then(|id| service.agents.lock().unwrap().get(&id).cloned());
    let Some(client) = client else {
        return HttpResponse::NotFound().json(json!({"error": "no such agent"}));
    };
    let request = ActionRequest::new(body.action.as_str(), "http", body.target.as_str());
    match client.authorize(request, None).await {
        Ok(approval) => {
            HttpResponse::Ok().json(json!({"approved": true, "capability": approval.capability}))
        }
        Err(error) => {
            HttpResponse::Forbidden().json(json!({"approved": false, "reason": error.to_string()}))
        }
    }
}

/// One HTTP/1.1 request, answered as (status line, body).
fn call(
    port: u16,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    let body = body.unwrap_or("");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Ok((status, body))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let policy: RuleSet = serde_json::from_str(
        r#"{ "rules": [
            { "name": "http for agents", "on": "capability", "effect": "allow",
              "resources": ["executor:http"] },
            { "name": "reads", "on": "action", "effect": "allow", "actions": ["GET"] }
        ]}"#,
    )?;
    let kernel = Kernel::builder().policy(policy).start().await?;
    kernel.register_executor("http", Risk::Low, None).await?;
    let service = web::Data::new(Service {
        kernel: kernel.clone(),
        agents: Mutex::new(HashMap::new()),
    });
    let gateway = Gateway::new(kernel.clone(), HttpLimits::default());
    let dashboard: SystemId = "dashboard".parse()?;
    gateway.dock(RemoteDock::new(dashboard.clone())).await?;
    let (token, _) = gateway.mint(dashboard, None);
    let token = token.secret().to_owned();
    println!("dashboard's token: {token}");
    let server = HttpServer::new({
        let service = service.clone();
        move || {
            App::new()
                .app_data(service.clone())
                .route("/agents/{id}", web::post().to(dock))
                .route("/agents/{id}/actions", web::post().to(act))
                .configure(routes(gateway.clone()))
        }
    })
    .workers(1)
    .bind(("127.0.0.1", if self_test { 0 } else { 8080 }))?;
    let port = server.addrs()[0].port();
    println!("serving on http://127.0.0.1:{port}");
    let server = server.run();
    if !self_test {
        server.await?;
        kernel.shutdown().await;
        return Ok(());
    }
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);
    let calls = actix_web::rt::task::spawn_blocking(move || {
        let get = r#"{"action": "GET", "target": "https://example.com/"}"#;
        let post = r#"{"action": "POST", "target": "https://example.com/"}"#;
        let capability = r#"{"resource": "executor:http", "rights": "EXECUTE"}"#;
        let action = r#"{"action": "GET", "executor": "http", "target": "https://example.com/"}"#;
        [
            ("/agents/ada", None, None, 201),
            ("/agents/ada", None, None, 409),
            ("/agents/ada/actions", Some(get), None, 200),
            ("/agents/ada/actions", Some(post), None, 403),
            ("/agents/bob/actions", Some(get), None, 404),
            (
                "/v1/capabilities",
                Some(capability),
                Some(token.as_str()),
                201,
            ),
            (
                "/v1/actions/authorize",
                Some(action),
                Some(token.as_str()),
                200,
            ),
            ("/v1/actions/authorize", Some(action), None, 401),
        ]
        .map(|(path, body, token, expected)| (path, expected, call(port, path, body, token)))
    })
    .await?;
    for (path, expected, answer) in calls {
        let (status, body) = answer?;
        println!("POST {path}: {status} {body}");
        if !status.starts_with(&format!("HTTP/1.1 {expected} ")) {
            return Err(format!("POST {path}: expected {expected}, got {status}").into());
        }
    }
    handle.stop(true).await;
    running.await??;
    kernel.shutdown().await;
    Ok(())
}
