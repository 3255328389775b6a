//! Capabilities through the `CapabilityActor`: a grant from a template, a delegation
//! narrowed by caveats, checks that pass and checks that are denied with their reason,
//! use limits, expiry and a revocation that takes a whole subtree.
//!
//! Run it with `cargo run --example capabilities`.

use std::time::Duration;

use actix::Actor;
use exokern::capability::{
    Access, Authority, CapabilityActor, Caveats, Check, Derivation, Derive, Grant, GrantTemplate,
    List, ResourceRef, Revoke, Stats, Template,
};
use exokern::prelude::*;
use tokio::time::Instant;

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let caps = CapabilityActor::new().start();
    let (lead, helper, intruder) = (
        SystemId::new("lead")?,
        SystemId::new("helper")?,
        SystemId::new("intruder")?,
    );

    let granted = caps
        .send(GrantTemplate {
            holder: lead.clone(),
            template: Template::operator(),
        })
        .await??;
    println!(
        "granted `lead` the operator template: {} capabilities",
        granted.len()
    );
    let http = caps
        .send(
            Grant::new(
                lead.clone(),
                "executor:http".parse()?,
                Rights::EXECUTE | Rights::DELEGATE,
            )
            .caveats(Caveats::new().not_after(Instant::now() + Duration::from_millis(300))),
        )
        .await??;
    println!("granted `lead` {http:?}, expiring in 300 ms");

    let narrowed = caps
        .send(Derive {
            presenter: lead.clone(),
            parent: http.clone(),
            request: Derivation::new(helper.clone(), Rights::EXECUTE).caveats(
                Caveats::new()
                    .actions(["GET"])
                    .target("https://api.example.com/*")
                    .max_uses(2),
            ),
        })
        .await??;
    println!("`lead` derived for `helper`: {narrowed:?}");

    let get = Access::new(ResourceRef::executor("http"), Rights::EXECUTE)
        .action("GET")
        .target("https://api.example.com/v1/items");
    let post = get.clone().action("POST");
    let checks = [
        ("helper GETs the API", helper.clone(), get.clone(), true),
        ("helper POSTs", helper.clone(), post, false),
        (
            "intruder presents helper's capability",
            intruder,
            get.clone(),
            false,
        ),
        ("helper GETs again", helper.clone(), get.clone(), true),
        (
            "helper GETs a third time",
            helper.clone(),
            get.clone(),
            true,
        ),
    ];
    for (what, presenter, access, exercise) in checks {
        let check = Check::new(presenter, narrowed.clone(), access);
        let check = if exercise { check.exercise() } else { check };
        match caps.send(check).await? {
            Ok(()) => println!("  {what}: allowed"),
            Err(denial) => println!("  {what}: denied ({denial})"),
        }
    }

    for info in caps
        .send(List {
            holder: helper.clone(),
        })
        .await?
    {
        println!(
            "helper holds {} {} from {:?}, {:?} uses left",
            info.scope, info.rights, info.parent, info.uses_left
        );
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let verdict = caps
        .send(Check::new(
            lead.clone(),
            http,
            Access::new(ResourceRef::executor("http"), Rights::EXECUTE),
        ))
        .await?;
    println!("after 300 ms, lead's http capability: {verdict:?}");

    let a2a = granted
        .iter()
        .find(|cap| cap.scope() == &ResourceRef::A2a.into())
        .expect("operators hold a2a")
        .clone();
    let ended = caps
        .send(Revoke {
            authority: Authority::Kernel,
            capability: a2a,
        })
        .await??;
    println!("revoked lead's a2a capability: {ended} ended");
    println!("left: {:?}", caps.send(Stats).await?);
    Ok(())
}
