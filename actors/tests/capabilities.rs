//! The CapabilityActor: every request over `send(..).await`, expiry on the monotonic
//! clock, and ordering under many concurrent requesters.

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use common::sid;
use exokern_actors::capability::{
    Access, Authority, Authorize, CapabilityActor, CapabilityStats, CaveatViolation, Caveats,
    Check, Denial, Derivation, Derive, DeriveError, Grant, GrantTemplate, List, ResourceRef,
    Revoke, RevokeAll, RevokeError, Stats, Template,
};
use exokern_actors::prelude::*;
use tokio::sync::Barrier;
use tokio::time::Instant;

fn http() -> Access {
    Access::new(ResourceRef::executor("http"), Rights::EXECUTE)
}

async fn grant(
    caps: &Addr<CapabilityActor>,
    holder: &str,
    scope: &str,
    rights: Rights,
) -> exokern_actors::capability::Capability {
    caps.send(Grant::new(sid(holder), scope.parse().unwrap(), rights))
        .await
        .unwrap()
        .unwrap()
}

#[actix_rt::test]
async fn every_request_round_trips_through_the_actor() {
    let caps = CapabilityActor::new().start();
    let lead = grant(
        &caps,
        "lead",
        "executor:http",
        Rights::EXECUTE | Rights::DELEGATE,
    )
    .await;
    assert_eq!(
        caps.send(Check::new(sid("lead"), lead.clone(), http()))
            .await
            .unwrap(),
        Ok(())
    );

    let helper = caps
        .send(Derive {
            presenter: sid("lead"),
            parent: lead.clone(),
            request: Derivation::new(sid("helper"), Rights::EXECUTE)
                .caveats(Caveats::new().max_uses(2)),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        caps.send(Authorize::new(sid("helper"), http()).exercise())
            .await
            .unwrap(),
        Ok(helper.clone())
    );
    assert_eq!(
        caps.send(Check::new(sid("helper"), helper.clone(), http()).exercise())
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        caps.send(Check::new(sid("helper"), helper.clone(), http()))
            .await
            .unwrap(),
        Err(Denial::Caveat(CaveatViolation::UsesExhausted))
    );

    let listed = caps
        .send(List {
            holder: sid("helper"),
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].parent, Some(lead.id()));
    assert_eq!(listed[0].uses_left, Some(0));

    let ops = caps
        .send(GrantTemplate {
            holder: sid("ops"),
            template: Template::supervisor(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ops.len(), 13);
    assert_eq!(
        caps.send(Stats).await.unwrap(),
        CapabilityStats {
            live: 15,
            holders: 3
        }
    );

    assert_eq!(
        caps.send(Revoke {
            authority: Authority::System(sid("helper")),
            capability: lead.clone()
        })
        .await
        .unwrap(),
        Err(RevokeError::NotPermitted {
            system: sid("helper")
        })
    );
    assert_eq!(
        caps.send(Revoke {
            authority: Authority::System(sid("lead")),
            capability: lead.clone()
        })
        .await
        .unwrap(),
        Ok(2)
    );
    assert_eq!(
        caps.send(Check::new(sid("helper"), helper, http()))
            .await
            .unwrap(),
        Err(Denial::Revoked)
    );
    assert_eq!(
        caps.send(RevokeAll { holder: sid("ops") }).await.unwrap(),
        13
    );
    assert_eq!(
        caps.send(Stats).await.unwrap(),
        CapabilityStats {
            live: 0,
            holders: 0
        }
    );
}

#[actix_rt::test]
async fn denials_carry_their_reason_over_the_wire() {
    let caps = CapabilityActor::new().start();
    let cap = grant(&caps, "a", "executor:http", Rights::EXECUTE).await;
    let verdict = caps
        .send(Check::new(sid("b"), cap.clone(), http()))
        .await
        .unwrap();
    assert_eq!(
        verdict,
        Err(Denial::WrongHolder {
            holder: sid("a"),
            presenter: sid("b")
        })
    );
    let json = serde_json::to_value(verdict.unwrap_err()).unwrap();
    assert_eq!(json["reason"], "wrong_holder");
    assert_eq!(json["holder"], "a");

    let refused = caps
        .send(Derive {
            presenter: sid("a"),
            parent: cap,
            request: Derivation::new(sid("b"), Rights::EXECUTE),
        })
        .await
        .unwrap();
    assert_eq!(refused, Err(DeriveError::NoDelegate { holder: sid("a") }));
    let verdict = caps.send(Authorize::new(sid("b"), http())).await.unwrap();
    assert_eq!(
        verdict,
        Err(Denial::NotHeld {
            holder: sid("b"),
            resource: "executor:http".into()
        })
    );
    assert_eq!(
        serde_json::to_value(verdict.unwrap_err()).unwrap()["reason"],
        "not_held"
    );
}

#[actix_rt::test]
async fn capabilities_expire_on_the_monotonic_clock() {
    tokio::time::pause();
    let caps = CapabilityActor::new().start();
    let deadline = Instant::now() + Duration::from_secs(30);
    let cap = caps
        .send(
            Grant::new(sid("a"), "executor:http".parse().unwrap(), Rights::EXECUTE)
                .caveats(Caveats::new().not_after(deadline)),
        )
        .await
        .unwrap()
        .unwrap();
    let listed = caps.send(List { holder: sid("a") }).await.unwrap();
    assert_eq!(listed[0].expires_in, Some(Duration::from_secs(30)));
    tokio::time::advance(Duration::from_secs(29)).await;
    assert_eq!(
        caps.send(Check::new(sid("a"), cap.clone(), http()))
            .await
            .unwrap(),
        Ok(())
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        caps.send(Check::new(sid("a"), cap.clone(), http()))
            .await
            .unwrap(),
        Err(Denial::Expired)
    );
    assert_eq!(
        caps.send(Stats).await.unwrap().live,
        0,
        "swept before answering"
    );
    assert!(caps
        .send(List { holder: sid("a") })
        .await
        .unwrap()
        .is_empty());
}

/// Eight systems pipeline checks in rounds; halfway through, the kernel revokes half of
/// them. Every check that reaches the actor before a revocation passes, and every one
/// after it is denied, even though nobody waited for the revocation's reply.
#[actix_rt::test]
async fn concurrent_checks_see_revocations_in_arrival_order() {
    let caps = CapabilityActor::new().start();
    let mut held = Vec::new();
    for i in 0..8 {
        let name = format!("agent-{i}");
        held.push((
            name.clone(),
            grant(&caps, &name, "executor:http", Rights::EXECUTE).await,
        ));
    }
    let halfway = Arc::new(Barrier::new(9));
    let revoked = Arc::new(Barrier::new(9));
    let mut tasks = Vec::new();
    for (name, cap) in held.clone() {
        let (caps, halfway, revoked) = (caps.clone(), halfway.clone(), revoked.clone());
        tasks.push(actix_rt::spawn(async move {
            let mut verdicts = Vec::new();
            for round in 0..10 {
                if round == 5 {
                    halfway.wait().await;
                    revoked.wait().await;
                }
                let checks =
                    (0..50).map(|_| caps.send(Check::new(sid(&name), cap.clone(), http())));
                verdicts.extend(pipelined(checks).await);
            }
            verdicts
        }));
    }
    halfway.wait().await;
    let revocations: Vec<_> = held
        .iter()
        .step_by(2)
        .map(|(_, cap)| {
            caps.send(Revoke {
                authority: Authority::Kernel,
                capability: cap.clone(),
            })
        })
        .collect();
    revoked.wait().await;
    for revocation in revocations {
        assert_eq!(revocation.await.unwrap(), Ok(1));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let verdicts = task.await.unwrap();
        assert_eq!(verdicts.len(), 500);
        let cut = if i % 2 == 0 { 250 } else { 500 };
        assert!(verdicts[..cut].iter().all(Result::is_ok), "agent-{i}");
        assert!(
            verdicts[cut..].iter().all(|v| *v == Err(Denial::Revoked)),
            "agent-{i}: once revoked, never allowed again"
        );
    }
}

/// Sends every request before awaiting any, so they queue in the actor's mailbox together.
async fn pipelined<F>(requests: impl Iterator<Item = F>) -> Vec<Result<(), Denial>>
where
    F: std::future::Future<Output = Result<Result<(), Denial>, actix::MailboxError>>,
{
    let pending: Vec<F> = requests.collect();
    let mut verdicts = Vec::with_capacity(pending.len());
    for request in pending {
        verdicts.push(request.await.unwrap());
    }
    verdicts
}
