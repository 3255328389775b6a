//! Unit tests of the capability table: every operation and every denial reason.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::ids::SystemId;
use crate::rights::Rights;

const RX: Rights = Rights::READ.union(Rights::EXECUTE);

fn sys(name: &str) -> SystemId {
    SystemId::new(name).unwrap()
}

fn scope(text: &str) -> Scope {
    text.parse().unwrap()
}

fn access(resource: &str, rights: Rights) -> Access {
    Access::new(resource.parse().unwrap(), rights)
}

struct World {
    table: CapabilityTable,
    now: Instant,
    a: SystemId,
    b: SystemId,
    c: SystemId,
}

fn world() -> World {
    World {
        table: CapabilityTable::new(),
        now: Instant::now(),
        a: sys("a"),
        b: sys("b"),
        c: sys("c"),
    }
}

impl World {
    fn mint(&mut self, holder: &SystemId, text: &str, rights: Rights) -> Capability {
        self.table
            .mint(holder, scope(text), rights, Caveats::new(), self.now)
            .unwrap()
    }

    fn mint_with(
        &mut self,
        holder: &SystemId,
        text: &str,
        rights: Rights,
        c: Caveats,
    ) -> Capability {
        self.table
            .mint(holder, scope(text), rights, c, self.now)
            .unwrap()
    }

    fn derive(
        &mut self,
        from: &Capability,
        to: &SystemId,
        rights: Rights,
    ) -> Result<Capability, DeriveError> {
        let presenter = from.holder().clone();
        self.table.derive(
            &presenter,
            from,
            Derivation::new(to.clone(), rights),
            self.now,
        )
    }
}

#[test]
fn a_minted_capability_allows_what_it_covers_and_nothing_else() {
    let mut w = world();
    let cap = w.mint(&w.a.clone(), "exec:shell", RX);
    assert_eq!(cap.issuer(), &Issuer::Kernel);
    assert_eq!(cap.holder(), &w.a);
    assert_eq!(
        w.table
            .check(&w.a, &cap, &access("exec:shell", Rights::EXECUTE), w.now),
        Ok(())
    );
    assert_eq!(
        w.table.check(&w.a, &cap, &access("exec:shell", RX), w.now),
        Ok(())
    );
    assert_eq!(
        w.table
            .check(&w.a, &cap, &access("exec:shell", Rights::WRITE), w.now),
        Err(Denial::InsufficientRights {
            held: RX,
            required: Rights::WRITE
        })
    );
    assert_eq!(
        w.table
            .check(&w.a, &cap, &access("exec:structured", Rights::READ), w.now),
        Err(Denial::OutOfScope {
            scope: "exec:shell".into(),
            resource: "exec:structured".into()
        })
    );
}

#[test]
fn a_capability_of_a_presented_by_b_is_denied() {
    let mut w = world();
    let cap = w.mint(&w.a.clone(), "browser", RX);
    assert_eq!(
        w.table
            .check(&w.b, &cap, &access("browser", Rights::READ), w.now),
        Err(Denial::WrongHolder {
            holder: w.a.clone(),
            presenter: w.b.clone()
        })
    );
    assert!(!w
        .table
        .cspace(&w.b)
        .can(&ResourceRef::Browser, Rights::READ, w.now));
}

#[test]
fn a_handle_from_another_table_is_unknown() {
    let mut w = world();
    let mut other = CapabilityTable::new();
    let foreign = other
        .mint(&w.a, scope("browser"), RX, Caveats::new(), w.now)
        .unwrap();
    assert_eq!(
        w.table
            .check(&w.a, &foreign, &access("browser", Rights::READ), w.now),
        Err(Denial::Unknown)
    );
    // Same slot and generation, different id: still unknown.
    let _own = w.mint(&w.a.clone(), "browser", RX);
    assert_eq!(
        w.table
            .check(&w.a, &foreign, &access("browser", Rights::READ), w.now),
        Err(Denial::Unknown)
    );
}

#[test]
fn revoked_then_reused_slots_reject_old_handles() {
    let mut w = world();
    let first = w.mint(&w.a.clone(), "browser", RX);
    assert_eq!(w.table.revoke(&Authority::Kernel, &first), Ok(1));
    let read = access("browser", Rights::READ);
    assert_eq!(
        w.table.check(&w.a, &first, &read, w.now),
        Err(Denial::Revoked)
    );

    let second = w.mint(&w.a.clone(), "browser", RX);
    assert_eq!(second.slot(), first.slot(), "the slot is reused");
    assert_eq!(
        w.table.check(&w.a, &first, &read, w.now),
        Err(Denial::Revoked)
    );
    assert_eq!(w.table.check(&w.a, &second, &read, w.now), Ok(()));

    w.table.revoke(&Authority::Kernel, &second).unwrap();
    assert_eq!(
        w.table.check(&w.a, &first, &read, w.now),
        Err(Denial::Stale)
    );
    assert_eq!(
        w.table.revoke(&Authority::Kernel, &first),
        Err(RevokeError::Gone(Denial::Stale))
    );
    assert!(w.table.is_empty());
}

#[test]
fn expiry_is_final_and_swept() {
    let mut w = world();
    let ttl = Duration::from_secs(5);
    let cap = w.mint_with(
        &w.a.clone(),
        "browser",
        RX,
        Caveats::new().not_after(w.now + ttl),
    );
    let read = access("browser", Rights::READ);
    assert_eq!(
        w.table
            .check(&w.a, &cap, &read, w.now + ttl - Duration::from_nanos(1)),
        Ok(())
    );
    assert_eq!(
        w.table.check(&w.a, &cap, &read, w.now + ttl),
        Err(Denial::Expired)
    );
    assert_eq!(
        w.table.find(&w.a, &read, w.now + ttl).unwrap_err(),
        Denial::Expired
    );
    assert_eq!(w.table.expire(w.now + ttl), 1);
    assert!(w.table.is_empty());
    assert_eq!(
        w.table.check(&w.a, &cap, &read, w.now),
        Err(Denial::Expired),
        "even if asked about the past"
    );
    assert_eq!(
        w.table.mint(
            &w.a,
            scope("browser"),
            RX,
            Caveats::new().not_after(w.now),
            w.now
        ),
        Err(GrantError::AlreadyExpired)
    );
}

#[test]
fn an_id_finds_its_live_capability_and_nothing_else() {
    let mut w = world();
    let a = w.a.clone();
    let cap = w.mint(&a, "browser", RX);
    assert_eq!(w.table.by_id(cap.id()), Some(&cap));
    let mut forged = *cap.id().as_uuid().as_bytes();
    forged[15] ^= 1;
    let forged: CapabilityId =
        serde_json::from_value(serde_json::json!(uuid::Uuid::from_bytes(forged))).unwrap();
    assert_eq!(
        forged.slot(),
        cap.id().slot(),
        "same slot, other random bits"
    );
    assert_eq!(w.table.by_id(forged), None);
    w.table.revoke(&Authority::Kernel, &cap).unwrap();
    let reused = w.mint(&a, "browser", RX);
    assert_eq!(reused.id().slot(), cap.id().slot(), "the slot is reused");
    assert_eq!(
        w.table.by_id(cap.id()),
        None,
        "an ended capability's id names nothing"
    );
    assert_eq!(w.table.by_id(reused.id()), Some(&reused));
    assert_eq!(cap.id().as_uuid().get_version_num(), 8);
}

#[test]
fn capabilities_that_end_early_leave_no_expiry_behind() {
    let mut w = world();
    let a = w.a.clone();
    let (soon, later) = (Duration::from_secs(5), Duration::from_secs(50));
    // Enough ended capabilities that their deadlines are compacted away, each slot
    // reused by the next.
    for _ in 0..3_000 {
        let cap = w.mint_with(&a, "browser", RX, Caveats::new().not_after(w.now + soon));
        assert_eq!(w.table.revoke(&Authority::Kernel, &cap), Ok(1));
    }
    let kept = w.mint_with(&a, "browser", RX, Caveats::new().not_after(w.now + later));
    assert_eq!(w.table.expire(w.now + soon), 0, "nothing due ends");
    let read = access("browser", Rights::READ);
    assert_eq!(w.table.check(&a, &kept, &read, w.now + soon), Ok(()));
    assert_eq!(w.table.len(), 1);
    assert_eq!(w.table.expire(w.now + later), 1);
    assert!(w.table.is_empty());
}

#[test]
fn sweeping_an_expired_capability_takes_its_subtree() {
    let mut w = world();
    let parent = w.mint_with(
        &w.a.clone(),
        "browser",
        RX | Rights::DELEGATE,
        Caveats::new().not_after(w.now + Duration::from_secs(10)),
    );
    let child = w.derive(&parent, &w.b.clone(), Rights::READ).unwrap();
    assert_eq!(
        w.table.info(&child, w.now).unwrap().expires_in,
        Some(Duration::from_secs(10))
    );
    assert_eq!(w.table.expire(w.now + Duration::from_secs(10)), 2);
    assert_eq!(
        w.table
            .check(&w.b, &child, &access("browser", Rights::READ), w.now),
        Err(Denial::Expired)
    );
}

#[test]
fn caveats_deny_with_the_failing_caveat() {
    let mut w = world();
    let cap = w.mint_with(
        &w.a.clone(),
        "executor:http",
        Rights::EXECUTE,
        Caveats::new()
            .actions(["GET"])
            .target("https://api.example.com/*"),
    );
    let base = access("executor:http", Rights::EXECUTE);
    let ok = base
        .clone()
        .action("GET")
        .target("https://api.example.com/v1");
    assert_eq!(w.table.check(&w.a, &cap, &ok, w.now), Ok(()));
    let cases = [
        (base.clone(), CaveatViolation::ActionRequired),
        (
            base.clone()
                .action("POST")
                .target("https://api.example.com/v1"),
            CaveatViolation::ActionNotAllowed {
                action: "POST".into(),
            },
        ),
        (base.clone().action("GET"), CaveatViolation::TargetRequired),
        (
            base.clone().action("GET").target("https://evil.example/"),
            CaveatViolation::TargetNotAllowed {
                target: "https://evil.example/".into(),
                pattern: "https://api.example.com/*".into(),
            },
        ),
    ];
    for (access, violation) in cases {
        assert_eq!(
            w.table.check(&w.a, &cap, &access, w.now),
            Err(Denial::Caveat(violation.clone()))
        );
        assert_eq!(
            w.table.find(&w.a, &access, w.now).unwrap_err(),
            Denial::Caveat(violation)
        );
    }
}

#[test]
fn uses_run_out_and_are_shared_down_the_chain() {
    let mut w = world();
    let read = access("browser", Rights::READ);
    let parent = w.mint_with(
        &w.a.clone(),
        "browser",
        RX | Rights::DELEGATE,
        Caveats::new().max_uses(3),
    );
    let child = w.derive(&parent, &w.b.clone(), Rights::READ).unwrap();
    assert_eq!(w.table.info(&child, w.now).unwrap().uses_left, Some(3));
    w.table.exercise(&w.b, &child, &read, w.now).unwrap();
    w.table.exercise(&w.a, &parent, &read, w.now).unwrap();
    assert_eq!(
        w.table.check(&w.b, &child, &read, w.now),
        Ok(()),
        "checking uses nothing"
    );
    assert_eq!(w.table.exercise_any(&w.b, &read, w.now).unwrap(), child);
    for (holder, cap) in [(&w.a, &parent), (&w.b, &child)] {
        assert_eq!(
            w.table.check(holder, cap, &read, w.now),
            Err(Denial::Caveat(CaveatViolation::UsesExhausted))
        );
    }
    assert_eq!(
        w.table.find(&w.b, &read, w.now).unwrap_err(),
        Denial::Caveat(CaveatViolation::UsesExhausted)
    );
    assert_eq!(
        w.derive(&parent, &w.c.clone(), Rights::READ).unwrap_err(),
        DeriveError::Parent(Denial::Caveat(CaveatViolation::UsesExhausted))
    );
}

#[test]
fn derivation_narrows_and_records_its_origin() {
    let mut w = world();
    let parent = w.mint(&w.a.clone(), "mcp:*", RX | Rights::DELEGATE);
    let child = w
        .table
        .derive(
            &w.a,
            &parent,
            Derivation::new(w.b.clone(), Rights::READ)
                .scope(scope("mcp:github"))
                .caveats(Caveats::new().actions(["list"])),
            w.now,
        )
        .unwrap();
    assert_eq!(child.issuer(), &Issuer::System(w.a.clone()));
    assert_eq!(child.scope(), &scope("mcp:github"));
    let info = w.table.info(&child, w.now).unwrap();
    assert_eq!(info.parent, Some(parent.id()));
    assert_eq!(info.depth, 1);
    assert_eq!(info.holder, w.b);
    let list = access("mcp:github", Rights::READ).action("list");
    assert_eq!(w.table.check(&w.b, &child, &list, w.now), Ok(()));
    assert!(matches!(
        w.table.check(
            &w.b,
            &child,
            &access("mcp:gitlab", Rights::READ).action("list"),
            w.now
        ),
        Err(Denial::OutOfScope { .. })
    ));
    // Narrowing one's own capability needs no DELEGATE.
    let narrow = w.derive(&child, &w.b.clone(), Rights::READ).unwrap();
    assert_eq!(w.table.check(&w.b, &narrow, &list, w.now), Ok(()));
}

#[test]
fn every_widening_is_refused_and_creates_nothing() {
    let mut w = world();
    let deadline = w.now + Duration::from_secs(60);
    let parent = w.mint_with(
        &w.a.clone(),
        "mcp:github",
        Rights::READ | Rights::DELEGATE,
        Caveats::new()
            .actions(["list"])
            .max_uses(5)
            .not_after(deadline),
    );
    let no_delegate = w.mint(&w.a.clone(), "browser", RX);
    let before = w.table.len();
    let to_b = |rights| Derivation::new(sys("b"), rights);
    let refused = [
        (
            w.table
                .derive(&w.a, &parent, to_b(Rights::READ | Rights::WRITE), w.now),
            DeriveError::WidensRights {
                requested: Rights::READ | Rights::WRITE,
                held: Rights::READ | Rights::DELEGATE,
            },
        ),
        (
            w.table.derive(
                &w.a,
                &parent,
                to_b(Rights::READ).scope(scope("mcp:*")),
                w.now,
            ),
            DeriveError::WidensScope {
                requested: "mcp:*".into(),
                held: "mcp:github".into(),
            },
        ),
        (
            w.table.derive(
                &w.a,
                &parent,
                to_b(Rights::READ).caveats(Caveats::new().actions(["list", "call"])),
                w.now,
            ),
            CaveatError::WidensActions {
                action: "call".into(),
            }
            .into(),
        ),
        (
            w.table.derive(
                &w.a,
                &parent,
                to_b(Rights::READ)
                    .caveats(Caveats::new().not_after(deadline + Duration::from_secs(1))),
                w.now,
            ),
            CaveatError::WidensExpiry.into(),
        ),
        (
            w.table.derive(
                &w.a,
                &parent,
                to_b(Rights::READ).caveats(Caveats::new().max_uses(6)),
                w.now,
            ),
            CaveatError::WidensUses {
                requested: 6,
                left: 5,
            }
            .into(),
        ),
        (
            w.table
                .derive(&w.a, &no_delegate, to_b(Rights::READ), w.now),
            DeriveError::NoDelegate { holder: sys("a") },
        ),
        (
            w.table.derive(&w.b, &parent, to_b(Rights::READ), w.now),
            DeriveError::Parent(Denial::WrongHolder {
                holder: sys("a"),
                presenter: sys("b"),
            }),
        ),
        (
            w.table.derive(&w.a, &parent, to_b(Rights::NONE), w.now),
            GrantError::NoRights.into(),
        ),
        (
            w.table.derive(&w.a, &parent, to_b(Rights::READ), deadline),
            DeriveError::Parent(Denial::Expired),
        ),
    ];
    for (result, expected) in refused {
        assert_eq!(result.unwrap_err(), expected);
    }
    assert_eq!(w.table.len(), before);
    assert!(w.table.cspace(&w.b).is_empty());
}

#[test]
fn derivation_chains_are_bounded() {
    let mut w = world();
    let mut cap = w.mint(&w.a.clone(), "browser", RX);
    for _ in 0..MAX_DEPTH {
        cap = w.derive(&cap, &w.a.clone(), RX).unwrap();
    }
    assert_eq!(w.table.info(&cap, w.now).unwrap().depth, MAX_DEPTH);
    assert_eq!(
        w.derive(&cap, &w.a.clone(), RX).unwrap_err(),
        DeriveError::TooDeep { max: MAX_DEPTH }
    );
}

#[test]
fn revocation_takes_the_whole_subtree_and_only_it() {
    let mut w = world();
    let (a, b, c) = (w.a.clone(), w.b.clone(), w.c.clone());
    let all = Rights::ALL;
    let root = w.mint(&a, "a2a", all);
    let left = w.derive(&root, &b, all).unwrap();
    let middle = w.derive(&root, &b, all).unwrap();
    let right = w.derive(&root, &c, all).unwrap();
    let deep = w.derive(&middle, &c, all).unwrap();
    let deeper = w.derive(&deep, &a, Rights::READ).unwrap();
    let read = access("a2a", Rights::READ);

    assert_eq!(w.table.revoke(&Authority::Kernel, &middle), Ok(3));
    for (holder, cap) in [(&b, &middle), (&c, &deep), (&a, &deeper)] {
        assert_eq!(
            w.table.check(holder, cap, &read, w.now),
            Err(Denial::Revoked)
        );
    }
    for (holder, cap) in [(&a, &root), (&b, &left), (&c, &right)] {
        assert_eq!(w.table.check(holder, cap, &read, w.now), Ok(()));
    }
    // The sibling list survived the unlink: revoking the root takes both remaining children.
    assert_eq!(w.table.revoke(&Authority::Kernel, &root), Ok(3));
    assert!(w.table.is_empty());
    assert_eq!(w.table.holders(), 0);
}

#[test]
fn who_may_revoke() {
    let mut w = world();
    let (a, b, c) = (w.a.clone(), w.b.clone(), w.c.clone());
    let root = w.mint(&a, "a2a", Rights::ALL);
    let mid = w.derive(&root, &b, Rights::ALL).unwrap();
    let leaf = w.derive(&mid, &c, Rights::READ).unwrap();
    assert_eq!(
        w.table.revoke(&Authority::System(c.clone()), &mid),
        Err(RevokeError::NotPermitted { system: c.clone() })
    );
    assert_eq!(
        w.table.revoke(&Authority::System(b.clone()), &root),
        Err(RevokeError::NotPermitted { system: b.clone() })
    );
    assert_eq!(
        w.table.revoke(&Authority::System(a.clone()), &leaf),
        Ok(1),
        "an ancestor's holder may"
    );
    let leaf = w.derive(&mid, &c, Rights::READ).unwrap();
    assert_eq!(
        w.table.revoke(&Authority::System(c), &leaf),
        Ok(1),
        "the holder may"
    );
    assert_eq!(w.table.revoke(&Authority::System(b), &mid), Ok(1));
    assert_eq!(w.table.len(), 1);
}

#[test]
fn revoke_all_ends_a_systems_capabilities_and_what_came_of_them() {
    let mut w = world();
    let (a, b) = (w.a.clone(), w.b.clone());
    let granted = w.table.mint_template(&a, &Template::operator()).unwrap();
    let a2a = granted
        .iter()
        .find(|c| c.scope() == &scope("a2a"))
        .unwrap()
        .clone();
    let given = w.derive(&a2a, &b, Rights::READ);
    assert_eq!(
        given.unwrap_err(),
        DeriveError::NoDelegate { holder: a.clone() }
    );
    let mine = w.derive(&a2a, &a, Rights::READ).unwrap();
    let delegable = w.mint(&a, "browser", Rights::READ | Rights::DELEGATE);
    let given = w.derive(&delegable, &b, Rights::READ).unwrap();
    let own_b = w.mint(&b, "browser", Rights::READ);

    assert_eq!(w.table.revoke_all(&a), 9 + 1 + 1 + 1);
    assert!(w.table.cspace(&a).is_empty());
    assert_eq!(
        w.table
            .check(&a, &mine, &access("a2a", Rights::READ), w.now),
        Err(Denial::Revoked)
    );
    assert_eq!(
        w.table
            .check(&b, &given, &access("browser", Rights::READ), w.now),
        Err(Denial::Revoked)
    );
    assert_eq!(
        w.table
            .check(&b, &own_b, &access("browser", Rights::READ), w.now),
        Ok(())
    );
    assert_eq!(w.table.revoke_all(&a), 0);
}

#[test]
fn ambient_checks_find_the_covering_capability_or_the_best_reason() {
    let mut w = world();
    let a = w.a.clone();
    let read = access("mcp:github", Rights::READ);
    assert_eq!(
        w.table.find(&a, &read, w.now).unwrap_err(),
        Denial::NotHeld {
            holder: a.clone(),
            resource: "mcp:github".into()
        }
    );
    w.mint(&a, "mcp:gitlab", RX);
    assert!(matches!(
        w.table.find(&a, &read, w.now),
        Err(Denial::NotHeld { .. })
    ));
    w.mint(&a, "mcp:github", Rights::EXECUTE);
    assert_eq!(
        w.table.find(&a, &read, w.now).unwrap_err(),
        Denial::InsufficientRights {
            held: Rights::EXECUTE,
            required: Rights::READ
        }
    );
    let every = w.mint(&a, "mcp:*", RX);
    assert_eq!(w.table.find(&a, &read, w.now), Ok(&every));
    let cspace = w.table.cspace(&a);
    assert!(cspace.can(&"mcp:github".parse().unwrap(), RX, w.now));
    assert!(cspace.can(&"mcp:anything".parse().unwrap(), Rights::READ, w.now));
    assert!(!cspace.can(&"mcp:github".parse().unwrap(), Rights::WRITE, w.now));
    // Rights never add up across capabilities.
    w.mint(&a, "kernel:memory", Rights::READ);
    w.mint(&a, "kernel:memory", Rights::WRITE);
    assert!(!w.table.cspace(&a).can(
        &ResourceRef::domain("memory"),
        Rights::READ | Rights::WRITE,
        w.now
    ));
}

#[test]
fn cspace_views_list_look_up_and_filter() {
    let mut w = world();
    let (a, b) = (w.a.clone(), w.b.clone());
    let caps = w.table.mint_template(&a, &Template::supervisor()).unwrap();
    let other = w.mint(&b, "browser", RX);
    let cspace = w.table.cspace(&a);
    assert_eq!(cspace.holder(), &a);
    assert_eq!(cspace.len(), 13);
    assert_eq!(cspace.iter().count(), 13);
    assert_eq!(cspace.get(caps[0].id()), Some(&caps[0]));
    assert_eq!(
        cspace.get(other.id()),
        None,
        "b's capability is not in a's CSpace"
    );
    assert_eq!(
        cspace.filter_scope(|s| matches!(s, Scope::Kind(_))).len(),
        3
    );
    assert_eq!(
        cspace.active_domains(),
        [
            "browser", "budget", "cron", "exec", "memory", "persona", "program", "resource",
            "security"
        ]
    );
    let listed = w.table.list(&a, w.now);
    assert_eq!(listed.len(), 13);
    assert!(listed
        .iter()
        .all(|info| info.issuer == Issuer::Kernel && info.depth == 0));
    assert!(w.table.list(&sys("nobody"), w.now).is_empty());
    assert!(w.table.cspace(&sys("nobody")).is_empty());
}

#[test]
fn grants_are_validated_and_bounded() {
    let mut w = World {
        table: CapabilityTable::with_cspace_limit(4),
        ..world()
    };
    let a = w.a.clone();
    assert_eq!(
        w.table
            .mint(&a, scope("browser"), Rights::NONE, Caveats::new(), w.now),
        Err(GrantError::NoRights)
    );
    let bad = Scope::Exact(ResourceRef::domain(""));
    assert!(matches!(
        w.table.mint(&a, bad, Rights::READ, Caveats::new(), w.now),
        Err(GrantError::Resource(ResourceError::BadName { .. }))
    ));
    assert!(matches!(
        w.table.mint(
            &a,
            scope("browser"),
            Rights::READ,
            Caveats::new().target(""),
            w.now
        ),
        Err(GrantError::Caveat(CaveatError::BadText { .. }))
    ));
    assert_eq!(
        w.table.mint_template(&a, &Template::operator()),
        Err(GrantError::CSpaceFull {
            holder: a.clone(),
            limit: 4
        })
    );
    assert!(
        w.table.is_empty(),
        "a template that does not fit mints nothing"
    );
    w.table.mint_template(&a, &Template::standard()).unwrap();
    w.mint(&a, "a2a", Rights::READ);
    assert!(matches!(
        w.table
            .mint(&a, scope("a2a"), Rights::READ, Caveats::new(), w.now),
        Err(GrantError::CSpaceFull { .. })
    ));
}
