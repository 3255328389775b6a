//! A capability's whole life through the kernel: a lead agent is granted EXECUTE over
//! an executor, derives a narrower capability for a helper (GET only, three uses), the
//! helper uses it until it runs out, the lead revokes its own, and the helper's dies
//! with it. Each step is a typed request and a typed answer.
//!
//! Run it with `cargo run --example capability_roundtrip`.

use std::sync::{Arc, Mutex};

use exokern::capability::Caveats;
use exokern::kernel::{Dock, Kernel, KernelClient};
use exokern::policy::{Risk, RuleSet};
use exokern::prelude::*;
use exokern::protocol::ActionRequest;

/// A system that hands its kernel client to `main` and does nothing else.
struct Agent {
    client: Arc<Mutex<Option<KernelClient>>>,
}

impl System for Agent {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        *self.client.lock().unwrap() = ctx.kernel().cloned();
    }
}

async fn dock(
    kernel: &exokern::kernel::KernelHandle,
    id: &str,
) -> Result<KernelClient, Box<dyn std::error::Error>> {
    let slot = Arc::new(Mutex::new(None));
    let client = Arc::clone(&slot);
    kernel
        .dock(Dock::new(SystemId::new(id)?, move || Agent {
            client: Arc::clone(&client),
        }))
        .await?;
    let client = slot.lock().unwrap().take();
    Ok(client.expect("started before the dock returned"))
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kernel = Kernel::builder()
        .policy(RuleSet::allow_all())
        .start()
        .await?;
    kernel.register_executor("http", Risk::Low, None).await?;
    let lead = dock(&kernel, "lead").await?;
    let helper = dock(&kernel, "helper").await?;

    let rights = Rights::EXECUTE | Rights::DELEGATE;
    let granted = lead.request("executor:http".parse()?, rights).await?;
    println!("lead holds {}", granted.capability.id());

    let caveats = Caveats::new().actions(["GET"]).max_uses(3);
    let derived = lead
        .derive(
            &granted.capability,
            Some(helper.system().clone()),
            Rights::EXECUTE,
            None,
            None,
            caveats,
        )
        .await?;
    println!(
        "helper holds {} (GET only, 3 uses)",
        derived.capability.id()
    );

    let get = || ActionRequest::new("GET", "http", "https://example.com/");
    let post = ActionRequest::new("POST", "http", "https://example.com/");
    match helper.authorize(post, Some(&derived.capability)).await {
        Ok(_) => println!("helper POST: approved"),
        Err(error) => println!("helper POST: refused: {error}"),
    }
    for n in 1..=4 {
        match helper.authorize(get(), Some(&derived.capability)).await {
            Ok(_) => println!("helper GET #{n}: approved"),
            Err(error) => println!("helper GET #{n}: refused: {error}"),
        }
    }
    match lead.authorize(get(), Some(&derived.capability)).await {
        Ok(_) => println!("lead with the helper's capability: approved"),
        Err(error) => println!("lead with the helper's capability: refused: {error}"),
    }

    let ended = lead.revoke(&granted.capability).await?;
    println!("lead revoked its capability: {ended} capabilities ended");
    match lead.authorize(get(), Some(&granted.capability)).await {
        Ok(_) => println!("lead GET after revoke: approved"),
        Err(error) => println!("lead GET after revoke: refused: {error}"),
    }
    match helper.authorize(get(), Some(&derived.capability)).await {
        Ok(_) => println!("helper GET after the lead's revoke: approved"),
        Err(error) => println!("helper GET after the lead's revoke: refused: {error}"),
    }
    kernel.shutdown().await;
    Ok(())
}
