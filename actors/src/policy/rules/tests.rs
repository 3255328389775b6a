use std::time::Duration;

use serde_json::json;

use super::*;
use crate::capability::Scope;
use crate::ids::SystemId;

fn rules(value: serde_json::Value) -> RuleSet {
    serde_json::from_value(value).expect("valid rules")
}

fn load_error(value: serde_json::Value) -> String {
    serde_json::from_value::<RuleSet>(value)
        .expect_err("the rules must be rejected")
        .to_string()
}

fn sys(id: &str) -> SystemId {
    SystemId::new(id).unwrap()
}

fn cap(set: &RuleSet, system: &str, scope: &str, rights: Rights) -> Decision<CapabilityVerdict> {
    let scope: Scope = scope.parse().unwrap();
    set.capability(&CapabilityQuery::new(sys(system), scope, rights))
        .ready()
        .unwrap()
}

fn act(
    set: &RuleSet,
    system: &str,
    action: &str,
    target: &str,
    risk: Risk,
) -> Decision<ActionVerdict> {
    set.action(&ActionQuery::new(sys(system), action, "http", target, risk))
        .ready()
        .unwrap()
}

#[test]
fn an_empty_rule_set_denies_everything() {
    let set = RuleSet::deny_all();
    let decision = cap(&set, "a", "executor:http", Rights::EXECUTE);
    assert_eq!(decision.verdict, CapabilityVerdict::Deny);
    assert_eq!(decision.rule, None);
    assert!(decision.reason.contains("default is to deny"));
    assert_eq!(
        act(&set, "a", "GET", "x", Risk::Low).verdict,
        ActionVerdict::Deny
    );
    let module = ModuleQuery::new(None, sys("m"), "noop");
    assert_eq!(
        set.module(&module).ready().unwrap().verdict,
        ModuleVerdict::Reject
    );
}

#[test]
fn an_explicit_deny_wins_wherever_it_stands() {
    let allow = json!({"name": "allow", "on": "action", "effect": "allow"});
    let deny = json!({"name": "deny-rm", "on": "action", "effect": "deny", "actions": ["rm"]});
    for order in [vec![allow.clone(), deny.clone()], vec![deny, allow]] {
        let set = rules(json!({ "rules": order }));
        let decision = act(&set, "a", "rm", "/", Risk::Low);
        assert_eq!(decision.verdict, ActionVerdict::Deny);
        assert_eq!(decision.rule.as_deref(), Some("deny-rm"));
        assert!(matches!(
            act(&set, "a", "ls", "/", Risk::Low).verdict,
            ActionVerdict::Approve(_)
        ));
    }
}

#[test]
fn escalation_beats_allow_and_names_the_approver() {
    let set = rules(json!({ "rules": [
        {"name": "allow", "on": "action", "effect": "allow"},
        {"name": "risky", "on": "action", "effect": "escalate", "risks": ["high", "irreversible"]},
        {"name": "payments", "on": "action", "effect": "escalate", "targets": ["pay:*"], "escalate_to": "finance"},
    ]}));
    assert_eq!(
        act(&set, "a", "x", "t", Risk::High).verdict,
        ActionVerdict::Escalate { to: "human".into() }
    );
    assert_eq!(
        act(&set, "a", "x", "pay:42", Risk::Low).verdict,
        ActionVerdict::Escalate {
            to: "finance".into()
        }
    );
    assert_eq!(
        act(&set, "a", "x", "t", Risk::Medium).verdict,
        ActionVerdict::Approve(PayloadChange::Unchanged)
    );
}

#[test]
fn action_rules_match_system_executor_action_and_target() {
    let set = rules(json!({ "rules": [{
        "name": "crawl", "on": "action", "effect": "allow", "systems": ["crawler-*"],
        "executors": ["http"], "actions": ["GET", "HEAD"], "targets": ["https://*"]
    }]}));
    assert!(matches!(
        act(&set, "crawler-1", "GET", "https://a", Risk::Low).verdict,
        ActionVerdict::Approve(_)
    ));
    assert_eq!(
        act(&set, "writer", "GET", "https://a", Risk::Low).verdict,
        ActionVerdict::Deny
    );
    assert_eq!(
        act(&set, "crawler-1", "POST", "https://a", Risk::Low).verdict,
        ActionVerdict::Deny
    );
    assert_eq!(
        act(&set, "crawler-1", "GET", "http://a", Risk::Low).verdict,
        ActionVerdict::Deny
    );
    let other = ActionQuery::new(sys("crawler-1"), "GET", "shell", "https://a", Risk::Low);
    assert_eq!(
        set.action(&other).ready().unwrap().verdict,
        ActionVerdict::Deny
    );
}

#[test]
fn capability_rules_match_scope_and_rights_and_cap_the_lifetime() {
    let set = rules(json!({ "rules": [{
        "name": "executors", "on": "capability", "effect": "allow",
        "resources": ["executor:*"], "rights": "EXECUTE", "max_ttl_secs": 60
    }]}));
    assert_eq!(
        cap(&set, "a", "executor:http", Rights::EXECUTE).verdict,
        CapabilityVerdict::Allow {
            max_ttl: Some(Duration::from_secs(60))
        }
    );
    assert_eq!(
        cap(
            &set,
            "a",
            "executor:http",
            Rights::EXECUTE | Rights::DELEGATE
        )
        .verdict,
        CapabilityVerdict::Deny
    );
    assert_eq!(
        cap(&set, "a", "mcp:github", Rights::EXECUTE).verdict,
        CapabilityVerdict::Deny
    );
}

#[test]
fn module_rules_match_id_framework_and_privilege() {
    let set = rules(json!({ "rules": [
        {"name": "builtins", "on": "module", "effect": "allow", "frameworks": ["ticker", "echo"]},
        {"name": "no-privileged", "on": "module", "effect": "deny", "privileged": true},
    ]}));
    let mut query = ModuleQuery::new(None, sys("t"), "ticker");
    assert_eq!(
        set.module(&query).ready().unwrap().verdict,
        ModuleVerdict::Admit
    );
    query.privileged = true;
    let decision = set.module(&query).ready().unwrap();
    assert_eq!(decision.verdict, ModuleVerdict::Reject);
    assert_eq!(decision.rule.as_deref(), Some("no-privileged"));
    let other = ModuleQuery::new(None, sys("t"), "shell");
    assert_eq!(
        set.module(&other).ready().unwrap().verdict,
        ModuleVerdict::Reject
    );
}

#[test]
fn allow_all_allows_every_subject() {
    let set = RuleSet::allow_all();
    assert!(matches!(
        cap(&set, "a", "mcp:*", Rights::ALL).verdict,
        CapabilityVerdict::Allow { max_ttl: None }
    ));
    assert!(matches!(
        act(&set, "a", "rm", "/", Risk::Irreversible).verdict,
        ActionVerdict::Approve(_)
    ));
}

#[test]
fn typos_fail_at_load() {
    let cases = [
        (
            json!({"rules": [{"name": "x", "on": "action", "effect": "Deny"}]}),
            "unknown variant",
        ),
        (
            json!({"rules": [{"name": "x", "on": "action", "effect": "allow", "executor": ["http"]}]}),
            "unknown field",
        ),
        (
            json!({"rules": [{"name": "x", "on": "actions", "effect": "allow"}]}),
            "unknown variant",
        ),
        (
            json!({"rules": [{"name": "x", "on": "action", "effect": "allow", "risks": ["extreme"]}]}),
            "unknown variant",
        ),
        (json!({"rule": []}), "unknown field"),
        (
            json!({"rules": [{"name": "x", "on": "action", "effect": "allow", "resources": ["a"]}]}),
            "`resources` does not apply to action rules",
        ),
        (
            json!({"rules": [{"name": "x", "on": "capability", "effect": "escalate"}]}),
            "only action rules may escalate",
        ),
        (
            json!({"rules": [{"name": "x", "on": "action", "effect": "allow", "escalate_to": "h"}]}),
            "needs `effect = \"escalate\"`",
        ),
        (
            json!({"rules": [{"name": "x", "on": "capability", "effect": "deny", "max_ttl_secs": 5}]}),
            "needs `effect = \"allow\"`",
        ),
        (
            json!({"rules": [{"name": "x", "on": "capability", "effect": "allow", "max_ttl_secs": -1}]}),
            "positive number",
        ),
        (
            json!({"rules": [{"name": "x", "on": "capability", "effect": "allow", "rights": 0}]}),
            "`rights` is empty",
        ),
        (
            json!({"rules": [{"name": "x", "on": "capability", "effect": "allow", "rights": "ROOT"}]}),
            "ROOT",
        ),
        (
            json!({"rules": [{"name": "x", "on": "action", "effect": "allow", "targets": [""]}]}),
            "bad pattern",
        ),
        (
            json!({"rules": [{"name": " ", "on": "action", "effect": "allow"}]}),
            "empty name",
        ),
        (
            json!({"rules": [
            {"name": "x", "on": "action", "effect": "allow"},
            {"name": "x", "on": "module", "effect": "allow"}]}),
            "two rules are named \"x\"",
        ),
    ];
    for (value, expected) in cases {
        let error = load_error(value.clone());
        assert!(
            error.contains(expected),
            "{value}: {error:?} lacks {expected:?}"
        );
    }
}

#[test]
fn rule_sets_round_trip_through_serde() {
    let set = RuleSet::new(vec![
        Rule::new("a", Subject::Action, Effect::Escalate)
            .risks([Risk::High])
            .escalate_to("ops"),
        Rule::new("c", Subject::Capability, Effect::Allow)
            .rights(Rights::READ)
            .max_ttl(Duration::from_secs(30)),
    ])
    .unwrap();
    let text = serde_json::to_string(&set).unwrap();
    assert_eq!(serde_json::from_str::<RuleSet>(&text).unwrap(), set);
}

#[test]
fn a_rule_reason_replaces_the_default() {
    let set = RuleSet::new(vec![
        Rule::new("r", Subject::Action, Effect::Deny).reason("not on weekends")
    ])
    .unwrap();
    assert_eq!(
        &*act(&set, "a", "x", "t", Risk::Low).reason,
        "not on weekends"
    );
}
