//! Model-based tests of the capability table: random sequences of grant, derive,
//! revoke, revoke-all, time passing, check, exercise and ambient find, run against the
//! real table and against a small reference model that recomputes everything from the
//! derivation chain on every question. Besides agreeing with the model, the table must
//! never amplify (every live capability lies within each ancestor), never let anything
//! under a revoked capability check true, and never revive an expired capability.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use exokern_actors::capability::{
    Access, Authority, Capability, CapabilityId, CapabilityInfo, CapabilityTable, Caveats, Denial,
    Derivation, ResourceRef, Scope, MAX_DEPTH,
};
use exokern_actors::{Rights, SystemId};
use proptest::prelude::*;
use proptest::sample::Index;
use tokio::time::Instant;

const SYSTEMS: [&str; 3] = ["s0", "s1", "s2"];
const RESOURCES: [&str; 4] = ["mcp:a", "mcp:b", "browser", "exec:shell"];
const SCOPES: [&str; 5] = ["mcp:a", "mcp:b", "browser", "exec:shell", "mcp:*"];
const ACTIONS: [&str; 3] = ["get", "put", "del"];

#[derive(Debug, Clone)]
struct Limits {
    actions: Option<u8>,
    uses: Option<u32>,
    ttl: Option<u64>,
}

#[derive(Debug, Clone)]
enum Op {
    Grant {
        holder: usize,
        scope: usize,
        rights: u8,
        limits: Limits,
    },
    Derive {
        parent: Index,
        to: usize,
        rights: u8,
        scope: Option<usize>,
        limits: Limits,
    },
    Revoke {
        cap: Index,
        by: Option<usize>,
    },
    RevokeAll {
        holder: usize,
    },
    Advance {
        secs: u64,
    },
    Check {
        cap: Index,
        presenter: usize,
        resource: usize,
        rights: u8,
        action: Option<usize>,
        exercise: bool,
    },
    Find {
        holder: usize,
        resource: usize,
        rights: u8,
        action: Option<usize>,
    },
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        prop::option::weighted(0.3, 0u8..8),
        prop::option::weighted(0.3, 1u32..4),
        prop::option::weighted(0.3, 1u64..8),
    )
        .prop_map(|(actions, uses, ttl)| Limits { actions, uses, ttl })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 0..5usize, 1u8..16, limits())
            .prop_map(|(holder, scope, rights, limits)| Op::Grant { holder, scope, rights, limits }),
        5 => (any::<Index>(), 0..3usize, 0u8..16, prop::option::weighted(0.4, 0..5usize), limits())
            .prop_map(|(parent, to, rights, scope, limits)| Op::Derive { parent, to, rights, scope, limits }),
        2 => (any::<Index>(), prop::option::of(0..3usize)).prop_map(|(cap, by)| Op::Revoke { cap, by }),
        1 => (0..3usize).prop_map(|holder| Op::RevokeAll { holder }),
        1 => (1u64..4).prop_map(|secs| Op::Advance { secs }),
        6 => (any::<Index>(), 0..3usize, 0..4usize, 1u8..16, prop::option::of(0..3usize), any::<bool>())
            .prop_map(|(cap, presenter, resource, rights, action, exercise)| Op::Check {
                cap, presenter, resource, rights, action, exercise,
            }),
        3 => (0..3usize, 0..4usize, 1u8..16, prop::option::of(0..3usize))
            .prop_map(|(holder, resource, rights, action)| Op::Find { holder, resource, rights, action }),
    ]
}

/// One capability as the model sees it: only what was asked for at its creation;
/// everything inherited is recomputed from the chain.
#[derive(Debug, Clone)]
struct Node {
    holder: usize,
    scope: usize,
    rights: u8,
    parent: Option<usize>,
    revoked: bool,
    actions: Option<u8>,
    uses: Option<u32>,
    used: u32,
    not_after: Option<u64>,
}

#[derive(Debug, Default)]
struct Model {
    nodes: Vec<Node>,
    now: u64,
}

fn covers(scope: usize, resource: usize) -> bool {
    SCOPES[scope] == RESOURCES[resource]
        || (SCOPES[scope] == "mcp:*" && RESOURCES[resource].starts_with("mcp:"))
}

fn within(inner: usize, outer: usize) -> bool {
    inner == outer || (SCOPES[outer] == "mcp:*" && SCOPES[inner].starts_with("mcp:"))
}

impl Model {
    fn chain(&self, i: usize) -> Vec<usize> {
        let mut chain = vec![i];
        while let Some(p) = self.nodes[*chain.last().unwrap()].parent {
            chain.push(p);
        }
        chain
    }

    fn revoked(&self, i: usize) -> bool {
        self.chain(i).iter().any(|&j| self.nodes[j].revoked)
    }

    fn not_after(&self, i: usize) -> Option<u64> {
        self.chain(i)
            .iter()
            .filter_map(|&j| self.nodes[j].not_after)
            .min()
    }

    fn expired(&self, i: usize) -> bool {
        self.not_after(i).is_some_and(|t| self.now >= t)
    }

    fn live(&self, i: usize) -> bool {
        !self.revoked(i) && !self.expired(i)
    }

    fn actions(&self, i: usize) -> Option<u8> {
        self.chain(i)
            .iter()
            .filter_map(|&j| self.nodes[j].actions)
            .reduce(|a, b| a & b)
    }

    fn uses_left(&self, i: usize) -> Option<u32> {
        self.chain(i)
            .iter()
            .filter_map(|&j| self.nodes[j].uses.map(|u| u - self.nodes[j].used))
            .min()
    }

    fn allows(
        &self,
        i: usize,
        presenter: usize,
        resource: usize,
        rights: u8,
        action: Option<usize>,
    ) -> bool {
        let node = &self.nodes[i];
        self.live(i)
            && node.holder == presenter
            && covers(node.scope, resource)
            && rights & !node.rights == 0
            && self
                .actions(i)
                .is_none_or(|set| action.is_some_and(|a| set & (1 << a) != 0))
            && self.uses_left(i) != Some(0)
    }

    fn exercise(&mut self, i: usize) {
        for j in self.chain(i) {
            self.nodes[j].used += 1;
        }
    }

    fn derive_ok(&self, p: usize, to: usize, rights: u8, scope: usize, limits: &Limits) -> bool {
        let parent = &self.nodes[p];
        let actions_ok = match (self.actions(p), limits.actions) {
            (Some(held), Some(asked)) => asked & !held == 0,
            _ => true,
        };
        let expiry = limits.ttl.map(|ttl| self.now + ttl);
        let expiry_ok = match (self.not_after(p), expiry) {
            (Some(held), Some(asked)) => asked <= held,
            _ => true,
        };
        let uses_ok = match (self.uses_left(p), limits.uses) {
            (Some(left), Some(asked)) => asked <= left,
            _ => true,
        };
        self.live(p)
            && self.uses_left(p) != Some(0)
            && (to == parent.holder || parent.rights & 8 != 0)
            && rights != 0
            && rights & !parent.rights == 0
            && within(scope, parent.scope)
            && actions_ok
            && expiry_ok
            && uses_ok
            && ((self.chain(p).len() - 1) as u8) < MAX_DEPTH
    }

    fn subtree(&self, root: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&j| self.chain(j).contains(&root))
            .collect()
    }

    fn revoke(&mut self, root: usize) -> usize {
        let ended = self
            .subtree(root)
            .into_iter()
            .filter(|&j| self.live(j))
            .count();
        self.nodes[root].revoked = true;
        ended
    }
}

fn caveats(limits: &Limits, now: Instant) -> Caveats {
    let mut caveats = Caveats::new();
    if let Some(mask) = limits.actions {
        caveats = caveats.actions((0..3).filter(|a| mask & (1 << a) != 0).map(|a| ACTIONS[a]));
    }
    if let Some(uses) = limits.uses {
        caveats = caveats.max_uses(uses);
    }
    if let Some(ttl) = limits.ttl {
        caveats = caveats.not_after(now + Duration::from_secs(ttl));
    }
    caveats
}

fn rights(bits: u8) -> Rights {
    Rights::from_bits(bits).unwrap()
}

fn access(resource: usize, bits: u8, action: Option<usize>) -> Access {
    let access = Access::new(
        RESOURCES[resource].parse::<ResourceRef>().unwrap(),
        rights(bits),
    );
    match action {
        Some(a) => access.action(ACTIONS[a]),
        None => access,
    }
}

/// Every live capability lies within each of its ancestors.
fn assert_no_amplification(table: &CapabilityTable, systems: &[SystemId], now: Instant) {
    let all: HashMap<CapabilityId, CapabilityInfo> = systems
        .iter()
        .flat_map(|s| table.list(s, now))
        .map(|info| (info.id, info))
        .collect();
    for info in all.values() {
        let mut at = info.parent;
        while let Some(id) = at {
            let ancestor = all
                .get(&id)
                .expect("a live capability's ancestors are live");
            assert!(
                info.rights.is_subset_of(ancestor.rights),
                "{info:?} exceeds {ancestor:?}"
            );
            let (inner, outer): (Scope, Scope) =
                (info.scope.parse().unwrap(), ancestor.scope.parse().unwrap());
            assert!(inner.is_within(&outer), "{info:?} exceeds {ancestor:?}");
            if let Some(outer) = ancestor.caveats.expiry() {
                assert!(info.caveats.expiry().is_some_and(|inner| inner <= outer));
            }
            if let Some(outer) = ancestor.caveats.allowed_actions() {
                let outer: BTreeSet<&str> = outer.collect();
                let inner: BTreeSet<&str> = info
                    .caveats
                    .allowed_actions()
                    .expect("actions inherited")
                    .collect();
                assert!(inner.is_subset(&outer));
            }
            if let Some(outer) = ancestor.uses_left {
                assert!(info.uses_left.is_some_and(|inner| inner <= outer));
            }
            at = ancestor.parent;
        }
    }
}

fn run(ops: Vec<Op>) {
    let systems: Vec<SystemId> = SYSTEMS.iter().map(|s| SystemId::new(s).unwrap()).collect();
    let start = Instant::now();
    let mut table = CapabilityTable::new();
    let mut model = Model::default();
    let mut handles: Vec<Capability> = Vec::new();
    let mut expired_seen: BTreeSet<usize> = BTreeSet::new();
    for op in ops {
        let now = start + Duration::from_secs(model.now);
        match op {
            Op::Grant {
                holder,
                scope,
                rights: bits,
                limits,
            } => {
                let result = table.mint(
                    &systems[holder],
                    SCOPES[scope].parse().unwrap(),
                    rights(bits),
                    caveats(&limits, now),
                    now,
                );
                let cap = result.expect("grants within limits succeed");
                handles.push(cap);
                model.nodes.push(Node {
                    holder,
                    scope,
                    rights: bits,
                    parent: None,
                    revoked: false,
                    actions: limits.actions,
                    uses: limits.uses,
                    used: 0,
                    not_after: limits.ttl.map(|ttl| model.now + ttl),
                });
            }
            Op::Derive {
                parent,
                to,
                rights: bits,
                scope,
                limits,
            } => {
                if handles.is_empty() {
                    continue;
                }
                let p = parent.index(handles.len());
                let holder = model.nodes[p].holder;
                let scope = scope.unwrap_or(model.nodes[p].scope);
                let request = Derivation::new(systems[to].clone(), rights(bits))
                    .scope(SCOPES[scope].parse().unwrap())
                    .caveats(caveats(&limits, now));
                let result = table.derive(&systems[holder], &handles[p], request, now);
                let expected = model.derive_ok(p, to, bits, scope, &limits);
                assert_eq!(result.is_ok(), expected, "derive from {p}: {result:?}");
                if let Ok(cap) = result {
                    handles.push(cap);
                    model.nodes.push(Node {
                        holder: to,
                        scope,
                        rights: bits,
                        parent: Some(p),
                        revoked: false,
                        actions: limits.actions,
                        uses: limits.uses,
                        used: 0,
                        not_after: limits.ttl.map(|ttl| model.now + ttl),
                    });
                }
            }
            Op::Revoke { cap, by } => {
                if handles.is_empty() {
                    continue;
                }
                let i = cap.index(handles.len());
                let authority =
                    by.map_or(Authority::Kernel, |s| Authority::System(systems[s].clone()));
                let permitted =
                    by.is_none_or(|s| model.chain(i).iter().any(|&j| model.nodes[j].holder == s));
                let result = table.revoke(&authority, &handles[i]);
                if model.live(i) && permitted {
                    let subtree = model.subtree(i);
                    assert_eq!(result, Ok(model.revoke(i)));
                    for j in subtree {
                        let holder = &systems[model.nodes[j].holder];
                        for resource in 0..RESOURCES.len() {
                            let denied =
                                table.check(holder, &handles[j], &access(resource, 1, None), now);
                            assert!(
                                matches!(
                                    denied,
                                    Err(Denial::Revoked | Denial::Expired | Denial::Stale)
                                ),
                                "under a revoked capability: {denied:?}"
                            );
                        }
                    }
                } else {
                    assert!(result.is_err(), "revoke of {i} by {by:?}: {result:?}");
                }
            }
            Op::RevokeAll { holder } => {
                let roots: Vec<usize> = (0..model.nodes.len())
                    .filter(|&j| model.nodes[j].holder == holder && model.live(j))
                    .collect();
                let doomed: BTreeSet<usize> = roots
                    .iter()
                    .flat_map(|&r| model.subtree(r))
                    .filter(|&j| model.live(j))
                    .collect();
                for r in roots {
                    model.nodes[r].revoked = true;
                }
                assert_eq!(table.revoke_all(&systems[holder]), doomed.len());
                assert!(table.cspace(&systems[holder]).is_empty());
            }
            Op::Advance { secs } => {
                model.now += secs;
                let now = start + Duration::from_secs(model.now);
                let before = table.len();
                let swept = table.expire(now);
                assert_eq!(before - swept, table.len());
                let live = (0..model.nodes.len()).filter(|&j| model.live(j)).count();
                assert_eq!(table.len(), live, "live capabilities after sweeping");
            }
            Op::Check {
                cap,
                presenter,
                resource,
                rights: bits,
                action,
                exercise,
            } => {
                if handles.is_empty() {
                    continue;
                }
                let i = cap.index(handles.len());
                let access = access(resource, bits, action);
                let expected = model.allows(i, presenter, resource, bits, action);
                let result = if exercise {
                    table.exercise(&systems[presenter], &handles[i], &access, now)
                } else {
                    table.check(&systems[presenter], &handles[i], &access, now)
                };
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "check {i} by s{presenter}: {result:?}"
                );
                if expected && exercise {
                    model.exercise(i);
                }
                if result == Err(Denial::Expired) {
                    expired_seen.insert(i);
                }
                if !model.live(i) {
                    assert!(matches!(
                        result,
                        Err(Denial::Revoked | Denial::Expired | Denial::Stale)
                    ));
                }
            }
            Op::Find {
                holder,
                resource,
                rights: bits,
                action,
            } => {
                let expected =
                    (0..model.nodes.len()).any(|j| model.allows(j, holder, resource, bits, action));
                let result = table.find(&systems[holder], &access(resource, bits, action), now);
                assert_eq!(result.is_ok(), expected, "find for s{holder}: {result:?}");
                if let Ok(cap) = result {
                    let j = handles
                        .iter()
                        .position(|h| h == cap)
                        .expect("found one of ours");
                    assert!(model.allows(j, holder, resource, bits, action));
                }
            }
        }
        let now = start + Duration::from_secs(model.now);
        for &i in &expired_seen {
            let holder = &systems[model.nodes[i].holder];
            for resource in 0..RESOURCES.len() {
                assert!(
                    table
                        .check(holder, &handles[i], &access(resource, 1, None), now)
                        .is_err(),
                    "expiry is final"
                );
            }
        }
        assert_no_amplification(&table, &systems, now);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_table_agrees_with_the_reference_model(ops in prop::collection::vec(op(), 1..80)) {
        run(ops);
    }
}
