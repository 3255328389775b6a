//! The smallest governed constellation: a kernel under three rules, one docked agent that
//! is granted a capability, has an action approved by the gate, and is refused one the
//! policy forbids; then the audit log of what was decided.
//!
//! Run it with `cargo run --example minimal_kernel`.

use exokern::kernel::{Dock, Kernel};
use exokern::policy::{Risk, RuleSet};
use exokern::prelude::*;
use exokern::protocol::ActionRequest;
use tokio::sync::oneshot;

/// An agent that, once docked, asks for what it needs and tries two actions.
struct Agent {
    done: Option<oneshot::Sender<()>>,
}

impl System for Agent {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        let client = ctx.kernel().expect("docked by a kernel").clone();
        let done = self.done.take();
        ctx.spawn(async move {
            let granted = client
                .request("executor:http".parse().unwrap(), Rights::EXECUTE)
                .await
                .expect("the policy allows http capabilities");
            println!("granted: {:?}", granted.info());
            let fetch = ActionRequest::new("GET", "http", "https://example.com/");
            match client.authorize(fetch, Some(&granted.capability)).await {
                Ok(approval) => println!("GET example.com: approved ({})", approval.capability),
                Err(error) => println!("GET example.com: {error}"),
            }
            let post = ActionRequest::new("POST", "http", "https://example.com/");
            match client.authorize(post, Some(&granted.capability)).await {
                Ok(_) => println!("POST example.com: approved"),
                Err(error) => println!("POST example.com: refused: {error}"),
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
        });
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy: RuleSet = serde_json::from_str(
        r#"{ "rules": [
            { "name": "http capabilities", "on": "capability", "effect": "allow",
              "resources": ["executor:http"] },
            { "name": "reads", "on": "action", "effect": "allow", "actions": ["GET"] },
            { "name": "no writes", "on": "action", "effect": "deny", "actions": ["POST"] }
        ]}"#,
    )?;
    let kernel = Kernel::builder()
        .id("minimal")
        .policy(policy)
        .start()
        .await?;
    kernel.register_executor("http", Risk::Low, None).await?;

    let (done, finished) = oneshot::channel();
    let mut done = Some(done);
    kernel
        .dock(Dock::new(SystemId::new("agent")?, move || Agent {
            done: done.take(),
        }))
        .await?;
    finished.await?;

    println!("audit:");
    for record in kernel.audit(0, usize::MAX) {
        println!(
            "  #{} {} {} {}: {} ({})",
            record.seq,
            record.system.as_ref().map_or("kernel", |s| s.as_str()),
            record.request,
            record.subject,
            record.decision,
            record.rule.as_deref().unwrap_or("no rule"),
        );
    }
    kernel.shutdown().await;
    Ok(())
}
