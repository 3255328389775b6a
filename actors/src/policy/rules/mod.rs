//! [`RuleSet`]: the built-in policy, a list of rules as plain serde data.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::decision::{ActionVerdict, CapabilityVerdict, Decision, ModuleVerdict, PayloadChange};
use super::query::{ActionQuery, CapabilityQuery, ModuleQuery, Risk};
use super::{Evaluation, Policy};
use crate::glob::Glob;
use crate::rights::Rights;

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// Capability requests.
    Capability,
    /// Actions through the gate.
    Action,
    /// Module loads.
    Module,
}

/// What a matching rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Allow (grant, approve, admit).
    Allow,
    /// Deny. A matching deny rule wins over every other rule.
    Deny,
    /// Ask an approver (actions only). Wins over allow.
    Escalate,
}

/// One rule. It matches a request when every condition it sets holds; a condition left
/// out (an empty list) matches anything. Which conditions a rule may set depends on its
/// subject, and setting one that does not apply is an error at load, so a misplaced
/// condition can never silently widen a rule.
///
/// | field | capability | action | module |
/// |---|---|---|---|
/// | `systems` (globs over the requester, or the module's id) | ✓ | ✓ | ✓ |
/// | `resources` (globs over the scope, e.g. `executor:*`) | ✓ | | |
/// | `rights` (the request must be within these) | ✓ | | |
/// | `max_ttl_secs` (allow rules: cap on the lifetime) | ✓ | | |
/// | `executors`, `actions`, `targets` (globs) | | ✓ | |
/// | `risks` (from the executor registry) | | ✓ | |
/// | `escalate_to` (escalate rules: who decides) | | ✓ | |
/// | `frameworks` (globs), `privileged` | | | ✓ |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Rule {
    /// The rule's name: unique in its set, reported in every decision it makes.
    pub name: Arc<str>,
    /// What it is about.
    pub on: Subject,
    /// What it decides.
    pub effect: Effect,
    /// Which requesters (or, for modules, which module ids) it matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<Glob>,
    /// Which capability scopes it matches, in display form (`executor:http`, `mcp:*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Glob>,
    /// The most rights a matching capability request may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<Rights>,
    /// The longest lifetime an allowed capability may have, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl_secs: Option<f64>,
    /// Which executors it matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<Glob>,
    /// Which actions it matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Glob>,
    /// Which targets it matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Glob>,
    /// Which executor risks it matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    /// Who decides an escalated action (default `human`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
    /// Which frameworks it matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<Glob>,
    /// Matches only privileged (`true`) or only unprivileged (`false`) module docks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// The reason given with its decisions (default: one naming the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Rule {
    /// A rule with no conditions: it matches every request about `on`.
    pub fn new(name: impl Into<Arc<str>>, on: Subject, effect: Effect) -> Rule {
        Rule {
            name: name.into(),
            on,
            effect,
            systems: Vec::new(),
            resources: Vec::new(),
            rights: None,
            max_ttl_secs: None,
            executors: Vec::new(),
            actions: Vec::new(),
            targets: Vec::new(),
            risks: Vec::new(),
            escalate_to: None,
            frameworks: Vec::new(),
            privileged: None,
            reason: None,
        }
    }

    /// Sets `systems`.
    #[must_use]
    pub fn systems<I: IntoIterator<Item = Glob>>(mut self, globs: I) -> Rule {
        self.systems = globs.into_iter().collect();
        self
    }

    /// Sets `resources`.
    #[must_use]
    pub fn resources<I: IntoIterator<Item = Glob>>(mut self, globs: I) -> Rule {
        self.resources = globs.into_iter().collect();
        self
    }

    /// Sets `rights`.
    #[must_use]
    pub fn rights(mut self, rights: Rights) -> Rule {
        self.rights = Some(rights);
        self
    }

    /// Sets `max_ttl_secs`.
    #[must_use]
    pub fn max_ttl(mut self, ttl: Duration) -> Rule {
        self.max_ttl_secs = Some(ttl.as_secs_f64());
        self
    }

    /// Sets `executors`.
    #[must_use]
    pub fn executors<I: IntoIterator<Item = Glob>>(mut self, globs: I) -> Rule {
        self.executors = globs.into_iter().collect();
        self
    }

    /// Sets `actions`.
    #[must_use]
    pub fn actions<I: IntoIterator<Item = Glob>>(mut self, globs: I) -> Rule {
        self.actions = globs.into_iter().collect();
        self
    }

    /// Sets `targets`.
    #[must_use]
    pub fn targets<I: IntoIterator<Item = Glob>>(mut self, globs: I) -> Rule {
        self.targets = globs.into_iter().collect();
        self
    }

    /// Sets `risks`.
    #[must_use]
    pub fn risks<I: IntoIterator<Item = Risk>>(mut self, risks: I) -> Rule {
        self.risks = risks.into_iter().collect();
        self
    }

    /// Sets `escalate_to`.
    #[must_use]
    pub fn escalate_to(mut self, approver: impl Into<String>) -> Rule {
        self.escalate_to = Some(approver.into());
        self
    }

    /// Sets `frameworks`.
    #[must_use]
    pub fn frameworks<I: IntoIterator<Item = Glob>>(mut self, globs: I) -> Rule {
        self.frameworks = globs.into_iter().collect();
        self
    }

    /// Sets `privileged`.
    #[must_use]
    pub fn privileged(mut self, privileged: bool) -> Rule {
        self.privileged = Some(privileged);
        self
    }

    /// Sets the reason given with its decisions.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Rule {
        self.reason = Some(reason.into());
        self
    }

    /// The conditions set on this rule that do not apply to its subject.
    fn misplaced(&self) -> Vec<&'static str> {
        let set = [
            ("resources", !self.resources.is_empty(), Subject::Capability),
            ("rights", self.rights.is_some(), Subject::Capability),
            (
                "max_ttl_secs",
                self.max_ttl_secs.is_some(),
                Subject::Capability,
            ),
            ("executors", !self.executors.is_empty(), Subject::Action),
            ("actions", !self.actions.is_empty(), Subject::Action),
            ("targets", !self.targets.is_empty(), Subject::Action),
            ("risks", !self.risks.is_empty(), Subject::Action),
            ("escalate_to", self.escalate_to.is_some(), Subject::Action),
            ("frameworks", !self.frameworks.is_empty(), Subject::Module),
            ("privileged", self.privileged.is_some(), Subject::Module),
        ];
        set.into_iter()
            .filter(|&(_, present, subject)| present && subject != self.on)
            .map(|(field, _, _)| field)
            .collect()
    }

    fn validate(&self) -> Result<(), PolicyError> {
        let bad = |problem: String| PolicyError::BadRule {
            rule: self.name.to_string(),
            problem,
        };
        if self.name.trim().is_empty() {
            return Err(PolicyError::UnnamedRule);
        }
        if let Some(field) = self.misplaced().first() {
            return Err(bad(format!(
                "`{field}` does not apply to {} rules",
                subject_name(self.on)
            )));
        }
        if self.effect == Effect::Escalate && self.on != Subject::Action {
            return Err(bad(
                "only action rules may escalate; use allow or deny".to_owned()
            ));
        }
        if self.escalate_to.is_some() && self.effect != Effect::Escalate {
            return Err(bad("`escalate_to` needs `effect = \"escalate\"`".to_owned()));
        }
        if let Some(ttl) = self.max_ttl_secs {
            if self.effect != Effect::Allow {
                return Err(bad("`max_ttl_secs` needs `effect = \"allow\"`".to_owned()));
            }
            if !(ttl.is_finite() && ttl > 0.0) || Duration::try_from_secs_f64(ttl).is_err() {
                return Err(bad(format!(
                    "`max_ttl_secs` is {ttl}: give a positive number of seconds"
                )));
            }
        }
        if self.rights.is_some_and(Rights::is_empty) {
            return Err(bad("`rights` is empty: no request could match".to_owned()));
        }
        Ok(())
    }

    /// Who decides this rule's escalations.
    fn approver(&self) -> &str {
        self.escalate_to.as_deref().unwrap_or(DEFAULT_APPROVER)
    }

    /// The reason this rule's decisions give: its own, or one naming the rule and what
    /// it decides.
    fn decision_reason(&self) -> Arc<str> {
        if let Some(reason) = &self.reason {
            return Arc::from(reason.as_str());
        }
        let name = &self.name;
        Arc::from(match (self.on, self.effect) {
            (Subject::Capability, Effect::Allow) => format!("granted by rule {name:?}"),
            (Subject::Action, Effect::Allow) => format!("approved by rule {name:?}"),
            (Subject::Action, Effect::Escalate) => {
                format!("rule {name:?} requires approval by {}", self.approver())
            }
            (Subject::Module, Effect::Allow) => format!("admitted by rule {name:?}"),
            (Subject::Module, _) => format!("rejected by rule {name:?}"),
            _ => format!("denied by rule {name:?}"),
        })
    }
}

fn subject_name(subject: Subject) -> &'static str {
    match subject {
        Subject::Capability => "capability",
        Subject::Action => "action",
        Subject::Module => "module",
    }
}

/// Any glob in `globs` matches `text`; an empty list matches everything.
fn any(globs: &[Glob], text: &str) -> bool {
    globs.is_empty() || globs.iter().any(|glob| glob.matches(text))
}

/// Why a rule set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A rule has no name.
    #[error(
        "a rule has an empty name: name every rule, so decisions can say which rule made them"
    )]
    UnnamedRule,
    /// Two rules share a name.
    #[error("two rules are named {0:?}: rule names must be unique")]
    DuplicateRule(String),
    /// A rule is inconsistent.
    #[error("rule {rule:?}: {problem}")]
    BadRule {
        /// The rule.
        rule: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The built-in [`Policy`]: an ordered list of [`Rule`]s.
///
/// For a request, every rule about its subject is tried. A matching **deny** decides at
/// once; otherwise the first matching **escalate** decides (actions), otherwise the first
/// matching **allow**; with no match the request is **denied**. A rule set is validated
/// when it is built or deserialised: unknown fields, unknown effects or risks, misplaced
/// conditions and duplicate names are errors, so a typo fails closed at load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRuleSet", into = "RawRuleSet")]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// The reason each rule's decisions give, made once at load rather than per decision.
    reasons: Vec<Arc<str>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSet {
    #[serde(default)]
    rules: Vec<Rule>,
}

impl TryFrom<RawRuleSet> for RuleSet {
    type Error = PolicyError;
    fn try_from(raw: RawRuleSet) -> Result<RuleSet, PolicyError> {
        RuleSet::new(raw.rules)
    }
}

impl From<RuleSet> for RawRuleSet {
    fn from(set: RuleSet) -> RawRuleSet {
        RawRuleSet { rules: set.rules }
    }
}

/// Who decides an escalation when the rule does not say.
const DEFAULT_APPROVER: &str = "human";

impl RuleSet {
    /// Validates `rules` into a rule set.
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, PolicyError> {
        let mut names = HashSet::new();
        for rule in &rules {
            rule.validate()?;
            if !names.insert(rule.name.clone()) {
                return Err(PolicyError::DuplicateRule(rule.name.to_string()));
            }
        }
        let reasons = rules.iter().map(Rule::decision_reason).collect();
        Ok(RuleSet { rules, reasons })
    }

    /// No rules: everything is denied.
    pub fn deny_all() -> RuleSet {
        RuleSet::default()
    }

    /// One allow rule per subject: every capability request, action and module load is
    /// allowed (the kernel's TTL cap still applies). For simulations and tests, where
    /// the capability checks alone are the point.
    pub fn allow_all() -> RuleSet {
        let rules = [Subject::Capability, Subject::Action, Subject::Module]
            .into_iter()
            .map(|on| Rule::new(format!("allow-all-{}", subject_name(on)), on, Effect::Allow))
            .collect();
        RuleSet::new(rules).expect("the allow-all rules are valid")
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Decides by the deny-wins order: the first matching deny, else the first matching
    /// escalate, else the first matching allow, else `None`. Answers the rule and the
    /// reason its decisions give.
    fn decide(&self, on: Subject, matches: impl Fn(&Rule) -> bool) -> Option<(&Rule, &Arc<str>)> {
        let mut escalate = None;
        let mut allow = None;
        let candidates = self.rules.iter().zip(&self.reasons);
        for (rule, reason) in candidates.filter(|(rule, _)| rule.on == on) {
            if !matches(rule) {
                continue;
            }
            match rule.effect {
                Effect::Deny => return Some((rule, reason)),
                Effect::Escalate => {
                    escalate.get_or_insert((rule, reason));
                }
                Effect::Allow => {
                    allow.get_or_insert((rule, reason));
                }
            }
        }
        escalate.or(allow)
    }
}

fn no_rule<V>(verdict: V, what: &str) -> Evaluation<V> {
    Evaluation::Ready(Decision::new(
        verdict,
        format!("no policy rule allows this {what}; the default is to deny"),
    ))
}

impl Policy for RuleSet {
    fn capability(&self, query: &CapabilityQuery) -> Evaluation<CapabilityVerdict> {
        // Only rules that name resources need the scope's text.
        let scope = OnceCell::new();
        let decided = self.decide(Subject::Capability, |rule| {
            any(&rule.systems, query.system.as_str())
                && (rule.resources.is_empty()
                    || any(
                        &rule.resources,
                        scope.get_or_init(|| query.scope.to_string()),
                    ))
                && rule
                    .rights
                    .is_none_or(|most| query.rights.is_subset_of(most))
        });
        let Some((rule, reason)) = decided else {
            return no_rule(CapabilityVerdict::Deny, "capability");
        };
        let verdict = match rule.effect {
            Effect::Allow => CapabilityVerdict::Allow {
                max_ttl: rule.max_ttl_secs.map(Duration::from_secs_f64),
            },
            _ => CapabilityVerdict::Deny,
        };
        Decision::by_rule(verdict, rule.name.clone(), Arc::clone(reason)).into()
    }

    fn action(&self, query: &ActionQuery) -> Evaluation<ActionVerdict> {
        let decided = self.decide(Subject::Action, |rule| {
            any(&rule.systems, query.system.as_str())
                && any(&rule.executors, &query.executor)
                && any(&rule.actions, &query.action)
                && any(&rule.targets, &query.target)
                && (rule.risks.is_empty() || rule.risks.contains(&query.risk))
        });
        let Some((rule, reason)) = decided else {
            return no_rule(ActionVerdict::Deny, "action");
        };
        let verdict = match rule.effect {
            Effect::Allow => ActionVerdict::Approve(PayloadChange::Unchanged),
            Effect::Deny => ActionVerdict::Deny,
            Effect::Escalate => ActionVerdict::Escalate {
                to: rule.approver().to_owned(),
            },
        };
        Decision::by_rule(verdict, rule.name.clone(), Arc::clone(reason)).into()
    }

    fn module(&self, query: &ModuleQuery) -> Evaluation<ModuleVerdict> {
        let decided = self.decide(Subject::Module, |rule| {
            any(&rule.systems, query.module.as_str())
                && any(&rule.frameworks, &query.framework)
                && rule.privileged.is_none_or(|p| p == query.privileged)
        });
        let Some((rule, reason)) = decided else {
            return no_rule(ModuleVerdict::Reject, "module");
        };
        let verdict = match rule.effect {
            Effect::Allow => ModuleVerdict::Admit,
            _ => ModuleVerdict::Reject,
        };
        Decision::by_rule(verdict, rule.name.clone(), Arc::clone(reason)).into()
    }
}

#[cfg(test)]
mod tests;
