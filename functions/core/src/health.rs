//! The health check: is the guard switched on? Someone who wants it off around them can disable
//! its rule or leave it without a target, stop the trail, throttle a function to zero, stop the
//! sweep, keep an enforcement from ending, or unsubscribe everyone from the alerts. The tamper
//! rules alert each such act at once; this check finds the state they leave, including what a
//! tamper rule cannot see (a change made while it was itself switched off), on a schedule and
//! for `guardctl status`. What it cannot look at fails the check: the guard fails closed.
//!
//! [`check`] gathers the facts through [`GuardResources`] and the decisions table, and
//! [`evaluate`] judges them: pure, so every rule of judgement is tested without AWS.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditItem, AuditState};
use crate::contract::Version1;
use crate::error::GuardError;
use crate::ports::{AuditLog, GuardResources, SweepCheckpoint};

/// What the check looks at: the guard's own resources, as the stack names them (the health
/// function's `HEALTH_TARGETS`, and the stack's `HealthTargets` output for `guardctl status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthTargets {
    pub version: Version1,
    /// The region the guard watches: a trail must log its write management events.
    pub region: String,
    /// The rules that must be enabled, in groups that must each deliver to the same targets
    /// (every tamper rule to the guard topic): a Lambda's environment holds 4 KB in all.
    pub rules: Vec<RuleTargets>,
    /// The functions, none of which may be throttled to zero.
    pub functions: Vec<String>,
    /// The event source mappings that must be enabled (the policy table's stream).
    #[serde(default)]
    pub event_source_mappings: Vec<String>,
    /// The stack's own trail (name or ARN), or `None` when the account's trail is relied on
    /// (`createTrail=false`): then any trail that logs this region's write management events.
    #[serde(default)]
    pub trail: Option<String>,
    /// The policy table, whose write data events tell who changed a policy.
    pub policy_table_arn: String,
    /// The alert topics, each of which someone must be subscribed to.
    pub topics: Vec<String>,
    /// Minutes between sweeps: the last one must be recent.
    pub sweep_interval_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleTargets {
    pub names: Vec<String>,
    /// ARNs each of them must deliver to (their other targets are not the check's business).
    pub targets: Vec<String>,
}

impl HealthTargets {
    /// Every rule, with the targets it must deliver to, in the order of `rules`.
    pub fn each_rule(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.rules.iter().flat_map(|group| {
            group
                .names
                .iter()
                .map(move |name| (name.as_str(), group.targets.as_slice()))
        })
    }
}

/// An EventBridge rule as DescribeRule and ListTargetsByRule give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFact {
    /// `ENABLED`, `DISABLED`, `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`, …
    pub state: String,
    pub targets: Vec<String>,
}

/// A trail as DescribeTrails, GetTrailStatus and GetEventSelectors give it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrailFact {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    pub logging: bool,
    /// It logs write management events (of every source: an excluded source counts as not).
    pub management_writes: bool,
    /// The table ARNs whose write data events it logs; `"*"` for every table.
    pub data_write_tables: Vec<String>,
    /// S3 delivery's last error (`LatestDeliveryError`): EventBridge still gets the events.
    pub delivery_error: Option<String>,
    /// Why its status or selectors could not be read: it then counts as logging nothing.
    pub unreadable: Option<String>,
}

impl TrailFact {
    fn covers(&self, region: &str) -> bool {
        self.multi_region || self.home_region == region
    }

    /// Whether it logs the table's write data events: by its ARN, a prefix of it (`…*`), or `*`.
    fn logs_writes_of(&self, table_arn: &str) -> bool {
        self.data_write_tables
            .iter()
            .any(|t| match t.strip_suffix('*') {
                Some(prefix) => table_arn.starts_with(prefix),
                None => t == table_arn,
            })
    }

    fn is(&self, name_or_arn: &str) -> bool {
        self.arn == name_or_arn || self.name == name_or_arn
    }
}

/// A function's reserved concurrency: `None` when it has none (it shares the account's pool).
pub type ReservedConcurrency = Option<i32>;

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    /// Worth knowing; the guard still works.
    Warn,
    /// The guard is (partly) switched off, or the check could not look.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
}

/// The checks, in a fixed order, and when they were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub version: Version1,
    #[serde(with = "crate::audit::timestamp")]
    pub at: DateTime<Utc>,
    pub checks: Vec<Check>,
}

impl HealthReport {
    /// The names of the failing checks: what the alert compares with the last run's.
    pub fn failing(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| c.name.clone())
            .collect()
    }

    pub fn healthy(&self) -> bool {
        self.failing().is_empty()
    }
}

/// The facts, as the adapters gathered them. An `Err` is a look the guard could not take: its
/// check fails.
#[derive(Debug, Clone)]
pub struct HealthFacts {
    /// Per rule, in [`HealthTargets::each_rule`]'s order: `Ok(None)` when there is no such rule.
    pub rules: Vec<Result<Option<RuleFact>, GuardError>>,
    pub trails: Result<Vec<TrailFact>, GuardError>,
    /// Per function: `Ok(None)` when there is no such function.
    pub functions: Vec<Result<Option<ReservedConcurrency>, GuardError>>,
    /// Per event source mapping: its state (`Enabled`, `Disabled`, …), `Ok(None)` when missing.
    pub mappings: Vec<Result<Option<String>, GuardError>>,
    /// Per topic: its confirmed subscriptions, `Ok(None)` when there is no such topic.
    pub topics: Vec<Result<Option<u64>, GuardError>>,
    /// The end of the last window the sweep finished.
    pub swept_until: Result<Option<DateTime<Utc>>, GuardError>,
    /// The violations not settled yet (`evaluated`, `pending`).
    pub unsettled: Result<Vec<AuditItem>, GuardError>,
}

/// How long after its deadline an enforcement counts as stuck: the busy loop hands over (and
/// alerts) hourly at the defaults, so an hour past the deadline is the first sign of trouble
/// that no other alert names.
pub const STUCK_AFTER_MINUTES: i64 = 60;
/// How long after its decision a violation may wait for its first claim (the sweep starts a
/// missing enforcement five minutes after the decision).
pub const UNCLAIMED_AFTER_MINUTES: i64 = 20;

/// Gathers the facts and judges them.
pub async fn check<G, C, A>(
    targets: &HealthTargets,
    resources: &G,
    checkpoint: &C,
    audit: &A,
    now: DateTime<Utc>,
) -> HealthReport
where
    G: GuardResources,
    C: SweepCheckpoint,
    A: AuditLog,
{
    let mut rules = Vec::new();
    for (name, _) in targets.each_rule() {
        rules.push(resources.rule(name).await);
    }
    let mut functions = Vec::with_capacity(targets.functions.len());
    for function in &targets.functions {
        functions.push(resources.reserved_concurrency(function).await);
    }
    let mut mappings = Vec::with_capacity(targets.event_source_mappings.len());
    for mapping in &targets.event_source_mappings {
        mappings.push(resources.mapping_state(mapping).await);
    }
    let mut topics = Vec::with_capacity(targets.topics.len());
    for topic in &targets.topics {
        topics.push(resources.confirmed_subscriptions(topic).await);
    }
    let unsettled = async {
        let mut items = audit.in_state(AuditState::Evaluated).await?;
        items.extend(audit.in_state(AuditState::Pending).await?);
        Ok(items)
    }
    .await;
    let facts = HealthFacts {
        rules,
        trails: resources.trails().await,
        functions,
        mappings,
        topics,
        // The home place: looked in by every sweep run (a member place that cannot be is alerted).
        swept_until: checkpoint.last_end(None).await,
        unsettled,
    };
    evaluate(targets, &facts, now)
}

/// Judges the facts: one check per part of the guard, in a fixed order.
pub fn evaluate(targets: &HealthTargets, facts: &HealthFacts, now: DateTime<Utc>) -> HealthReport {
    let checks = vec![
        rules_check(targets, &facts.rules),
        trail_check(targets, &facts.trails),
        policy_writers_check(targets, &facts.trails),
        functions_check(targets, &facts.functions),
        mappings_check(targets, &facts.mappings),
        topics_check(targets, &facts.topics),
        sweep_check(targets, &facts.swept_until, now),
        enforcements_check(&facts.unsettled, now),
    ];
    HealthReport {
        version: Version1,
        at: now,
        checks,
    }
}

fn check_of(name: &str, problems: Vec<String>, fine: String) -> Check {
    if problems.is_empty() {
        Check {
            name: name.to_owned(),
            status: CheckStatus::Pass,
            detail: fine,
        }
    } else {
        Check {
            name: name.to_owned(),
            status: CheckStatus::Fail,
            detail: problems.join("; "),
        }
    }
}

fn cannot(what: &str, error: &GuardError) -> String {
    format!("{what}: could not be checked ({error})")
}

fn rules_check(targets: &HealthTargets, facts: &[Result<Option<RuleFact>, GuardError>]) -> Check {
    let mut problems = Vec::new();
    let mut count = 0;
    for ((name, wanted), fact) in targets.each_rule().zip(facts) {
        count += 1;
        match fact {
            Err(e) => problems.push(cannot(name, e)),
            Ok(None) => problems.push(format!("{name} is gone")),
            Ok(Some(fact)) => {
                // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS delivers what ENABLED does and more.
                if !fact.state.starts_with("ENABLED") {
                    problems.push(format!("{name} is {}", fact.state));
                }
                for target in wanted {
                    if !fact.targets.contains(target) {
                        problems.push(format!("{name} no longer delivers to {target}"));
                    }
                }
            }
        }
    }
    check_of(
        "rules",
        problems,
        format!("all {count} enabled, each with its targets"),
    )
}

fn trail_check(targets: &HealthTargets, trails: &Result<Vec<TrailFact>, GuardError>) -> Check {
    let trails = match trails {
        Ok(t) => t,
        Err(e) => return check_of("trail", vec![cannot("the trails", e)], String::new()),
    };
    let region = &targets.region;
    let delivers = |t: &TrailFact| t.logging && t.management_writes && t.covers(region);
    if let Some(own) = &targets.trail {
        let Some(trail) = trails.iter().find(|t| t.is(own)) else {
            return check_of(
                "trail",
                vec![format!("the stack's trail {own} is gone")],
                String::new(),
            );
        };
        let mut problems = Vec::new();
        if let Some(why) = &trail.unreadable {
            problems.push(format!("{} could not be checked ({why})", trail.name));
        } else if !trail.logging {
            problems.push(format!("{} is not logging", trail.name));
        } else if !trail.management_writes {
            problems.push(format!(
                "{} no longer logs write management events",
                trail.name
            ));
        }
        if problems.is_empty()
            && let Some(error) = &trail.delivery_error
        {
            return Check {
                name: "trail".to_owned(),
                status: CheckStatus::Warn,
                detail: format!(
                    "{} is logging, but cannot deliver its log files to S3 ({error}): \
                     EventBridge still gets the calls, the audit copy in S3 does not",
                    trail.name
                ),
            };
        }
        return check_of(
            "trail",
            problems,
            format!("{} logs this region's write management events", trail.name),
        );
    }
    match trails.iter().find(|t| delivers(t)) {
        Some(t) => check_of(
            "trail",
            Vec::new(),
            format!(
                "{} logs {region}'s write management events (the account's trail: createTrail=false)",
                t.name
            ),
        ),
        None => {
            let mut problem = format!(
                "no trail logs {region}'s write management events: EventBridge gets no SageMaker calls"
            );
            for t in trails.iter().filter(|t| t.unreadable.is_some()) {
                let _ = write!(
                    problem,
                    "; {} could not be checked ({})",
                    t.name,
                    t.unreadable.as_deref().unwrap_or_default()
                );
            }
            check_of("trail", vec![problem], String::new())
        }
    }
}

fn policy_writers_check(
    targets: &HealthTargets,
    trails: &Result<Vec<TrailFact>, GuardError>,
) -> Check {
    let name = "policy-writers";
    let trails = match trails {
        Ok(t) => t,
        Err(e) => return check_of(name, vec![cannot("the trails", e)], String::new()),
    };
    let table = &targets.policy_table_arn;
    let logging = |t: &TrailFact| t.logging && t.covers(&targets.region) && t.logs_writes_of(table);
    if let Some(t) = trails.iter().find(|t| logging(t)) {
        return check_of(
            name,
            Vec::new(),
            format!(
                "{} logs who writes the policy table (its write data events)",
                t.name
            ),
        );
    }
    let missing = "no trail logs the policy table's write data events: a policy change is \
                   alerted with the change but not who made it";
    if targets.trail.is_some() {
        // The stack's own trail had the selector: someone took it away.
        check_of(name, vec![missing.to_owned()], String::new())
    } else {
        Check {
            name: name.to_owned(),
            status: CheckStatus::Warn,
            detail: format!(
                "{missing} (add the selector to the account's trail: README \"Tampering\")"
            ),
        }
    }
}

fn functions_check(
    targets: &HealthTargets,
    facts: &[Result<Option<ReservedConcurrency>, GuardError>],
) -> Check {
    let mut problems = Vec::new();
    for (function, fact) in targets.functions.iter().zip(facts) {
        match fact {
            Err(e) => problems.push(cannot(function, e)),
            Ok(None) => problems.push(format!("{function} is gone")),
            Ok(Some(Some(n))) if *n <= 0 => problems.push(format!(
                "{function} is throttled to zero (reserved concurrency {n}): it never runs"
            )),
            Ok(Some(_)) => {}
        }
    }
    check_of(
        "functions",
        problems,
        format!("all {} can run", targets.functions.len()),
    )
}

fn mappings_check(targets: &HealthTargets, facts: &[Result<Option<String>, GuardError>]) -> Check {
    let mut problems = Vec::new();
    for (mapping, fact) in targets.event_source_mappings.iter().zip(facts) {
        match fact {
            Err(e) => problems.push(cannot(mapping, e)),
            Ok(None) => problems.push(format!("event source mapping {mapping} is gone")),
            // Enabling, Updating, Creating pass through to Enabled; Disabled(ing) is someone's act.
            Ok(Some(state)) if state.starts_with("Disabl") || state == "Deleting" => problems.push(
                format!("event source mapping {mapping} is {state}: policy changes go unalerted"),
            ),
            Ok(Some(_)) => {}
        }
    }
    check_of(
        "policy-stream",
        problems,
        "the policy table's stream reaches the watch function".to_owned(),
    )
}

fn topics_check(targets: &HealthTargets, facts: &[Result<Option<u64>, GuardError>]) -> Check {
    let mut problems = Vec::new();
    for (topic, fact) in targets.topics.iter().zip(facts) {
        match fact {
            Err(e) => problems.push(cannot(topic, e)),
            Ok(None) => problems.push(format!("{topic} is gone")),
            Ok(Some(0)) => problems.push(format!("no one has confirmed a subscription to {topic}")),
            Ok(Some(_)) => {}
        }
    }
    check_of(
        "alert-subscribers",
        problems,
        "someone is subscribed to each alert topic".to_owned(),
    )
}

/// How old the sweep's checkpoint may be: two intervals, and at least ten minutes more than one
/// (a sweep runs for up to five).
pub fn sweep_allowance(interval_minutes: u32) -> Duration {
    let interval = i64::from(interval_minutes);
    Duration::minutes((2 * interval).max(interval + 10))
}

fn sweep_check(
    targets: &HealthTargets,
    swept_until: &Result<Option<DateTime<Utc>>, GuardError>,
    now: DateTime<Utc>,
) -> Check {
    let name = "sweep";
    match swept_until {
        Err(e) => check_of(
            name,
            vec![cannot("the sweep's checkpoint", e)],
            String::new(),
        ),
        Ok(None) => Check {
            name: name.to_owned(),
            status: CheckStatus::Warn,
            detail: "the sweep has not finished a run yet (a new stack's first runs within its \
                     interval)"
                .to_owned(),
        },
        Ok(Some(at)) => {
            let age = now - *at;
            let allowed = sweep_allowance(targets.sweep_interval_minutes);
            if age > allowed {
                check_of(
                    name,
                    vec![format!(
                        "the last sweep finished at {} ({} min ago; it runs every {} min): calls \
                         EventBridge dropped are not being found",
                        time(at),
                        age.num_minutes(),
                        targets.sweep_interval_minutes
                    )],
                    String::new(),
                )
            } else {
                check_of(
                    name,
                    Vec::new(),
                    format!("the last sweep finished at {}", time(at)),
                )
            }
        }
    }
}

fn enforcements_check(unsettled: &Result<Vec<AuditItem>, GuardError>, now: DateTime<Utc>) -> Check {
    let name = "enforcements";
    let items = match unsettled {
        Ok(items) => items,
        Err(e) => {
            return check_of(
                name,
                vec![cannot("the unsettled violations", e)],
                String::new(),
            );
        }
    };
    let mut problems = Vec::new();
    for item in items {
        match item.deadline {
            Some(deadline) if now - deadline > Duration::minutes(STUCK_AFTER_MINUTES) => {
                problems.push(format!(
                    "event {} ({} {}) is still {} {} min after its deadline",
                    item.event_id,
                    item.resource_type.as_str(),
                    item.verdict
                        .resource
                        .as_ref()
                        .map_or("?", |r| r.name.as_str()),
                    item.state,
                    (now - deadline).num_minutes()
                ));
            }
            None if now - item.decided_at > Duration::minutes(UNCLAIMED_AFTER_MINUTES) => {
                problems.push(format!(
                    "event {} was decided {} min ago and no enforcement has claimed it",
                    item.event_id,
                    (now - item.decided_at).num_minutes()
                ));
            }
            _ => {}
        }
    }
    check_of(
        name,
        problems,
        format!("{} unsettled, none stuck", items.len()),
    )
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The report as text, one line per check: what `guardctl status` and the alert show.
pub fn report_text(report: &HealthReport) -> String {
    let mut text = String::new();
    for check in &report.checks {
        let mark = match check.status {
            CheckStatus::Pass => "ok  ",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
        };
        let _ = writeln!(text, "{mark}  {:<18} {}", check.name, check.detail);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc)
    }

    const TRIAGE: &str = "arn:aws:states:us-east-1:1:stateMachine:G-Triage";
    const POLICY: &str = "arn:aws:dynamodb:us-east-1:1:table/G-Policies";

    fn targets(own_trail: bool) -> HealthTargets {
        HealthTargets {
            version: Version1,
            region: "us-east-1".into(),
            rules: vec![RuleTargets {
                names: vec!["G-SageMakerCalls".into()],
                targets: vec![TRIAGE.into()],
            }],
            functions: vec!["G-evaluate".into(), "G-enforce".into()],
            event_source_mappings: vec!["u-1".into()],
            trail: own_trail.then(|| "arn:aws:cloudtrail:us-east-1:1:trail/G-Trail".to_owned()),
            policy_table_arn: POLICY.into(),
            topics: vec!["arn:aws:sns:us-east-1:1:G-guard".into()],
            sweep_interval_minutes: 15,
        }
    }

    fn trail() -> TrailFact {
        TrailFact {
            name: "G-Trail".into(),
            arn: "arn:aws:cloudtrail:us-east-1:1:trail/G-Trail".into(),
            home_region: "us-east-1".into(),
            multi_region: false,
            logging: true,
            management_writes: true,
            data_write_tables: vec![POLICY.into()],
            delivery_error: None,
            unreadable: None,
        }
    }

    fn fine() -> HealthFacts {
        HealthFacts {
            rules: vec![Ok(Some(RuleFact {
                state: "ENABLED".into(),
                targets: vec![TRIAGE.into()],
            }))],
            trails: Ok(vec![trail()]),
            functions: vec![Ok(Some(None)), Ok(Some(Some(5)))],
            mappings: vec![Ok(Some("Enabled".into()))],
            topics: vec![Ok(Some(1))],
            swept_until: Ok(Some(at("2026-12-04T09:55:00Z"))),
            unsettled: Ok(Vec::new()),
        }
    }

    const NOW: &str = "2026-12-04T10:00:00Z";

    fn status(facts: &HealthFacts, own_trail: bool, name: &str) -> (CheckStatus, String) {
        let report = evaluate(&targets(own_trail), facts, at(NOW));
        let check = report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}"));
        (check.status, check.detail.clone())
    }

    #[test]
    fn a_working_guard_passes_every_check() {
        let report = evaluate(&targets(true), &fine(), at(NOW));
        assert!(report.healthy(), "{}", report_text(&report));
        assert!(report.checks.iter().all(|c| c.status == CheckStatus::Pass));
        assert_eq!(report.checks.len(), 8);
    }

    #[test]
    fn a_rule_disabled_gone_or_without_its_target_fails() {
        let mut facts = fine();
        facts.rules[0] = Ok(Some(RuleFact {
            state: "DISABLED".into(),
            targets: vec![TRIAGE.into()],
        }));
        assert_eq!(status(&facts, true, "rules").0, CheckStatus::Fail);
        facts.rules[0] = Ok(Some(RuleFact {
            state: "ENABLED".into(),
            targets: vec!["arn:aws:sqs:us-east-1:1:elsewhere".into()],
        }));
        let (s, detail) = status(&facts, true, "rules");
        assert_eq!(s, CheckStatus::Fail);
        assert!(detail.contains("no longer delivers to"), "{detail}");
        facts.rules[0] = Ok(None);
        assert_eq!(status(&facts, true, "rules").0, CheckStatus::Fail);
        // What the check cannot see fails it.
        facts.rules[0] = Err(GuardError::new(ErrorKind::AccessDenied, "denied"));
        let (s, detail) = status(&facts, true, "rules");
        assert_eq!(s, CheckStatus::Fail);
        assert!(detail.contains("could not be checked"), "{detail}");
        // The state that delivers every management event delivers the SageMaker calls too.
        facts.rules[0] = Ok(Some(RuleFact {
            state: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS".into(),
            targets: vec![TRIAGE.into(), "arn:aws:sqs:us-east-1:1:also".into()],
        }));
        assert_eq!(status(&facts, true, "rules").0, CheckStatus::Pass);
    }

    #[test]
    fn the_stacks_trail_stopped_or_narrowed_fails() {
        let mut facts = fine();
        facts.trails = Ok(vec![TrailFact {
            logging: false,
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "trail").0, CheckStatus::Fail);
        facts.trails = Ok(vec![TrailFact {
            management_writes: false,
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "trail").0, CheckStatus::Fail);
        // Another trail logging does not stand in for the stack's own: that one was switched off.
        facts.trails = Ok(vec![TrailFact {
            name: "org".into(),
            arn: "arn:aws:cloudtrail:us-east-1:9:trail/org".into(),
            multi_region: true,
            home_region: "eu-west-1".into(),
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "trail").0, CheckStatus::Fail);
        // ... but without a trail of its own (createTrail=false), it does.
        assert_eq!(status(&facts, false, "trail").0, CheckStatus::Pass);
        // A trail the check cannot read does not pass.
        facts.trails = Ok(vec![TrailFact {
            unreadable: Some("AccessDenied".into()),
            ..trail()
        }]);
        let (s, detail) = status(&facts, true, "trail");
        assert_eq!(s, CheckStatus::Fail);
        assert!(detail.contains("could not be checked"), "{detail}");
        // A delivery error is worth knowing; EventBridge still gets the calls.
        facts.trails = Ok(vec![TrailFact {
            delivery_error: Some("AccessDenied".into()),
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "trail").0, CheckStatus::Warn);
    }

    #[test]
    fn without_a_trail_of_its_own_one_covering_the_region_must_log() {
        let mut facts = fine();
        facts.trails = Ok(vec![TrailFact {
            home_region: "eu-west-1".into(),
            ..trail()
        }]);
        let (s, detail) = status(&facts, false, "trail");
        assert_eq!(s, CheckStatus::Fail);
        assert!(detail.contains("no trail logs us-east-1"), "{detail}");
        facts.trails = Ok(Vec::new());
        assert_eq!(status(&facts, false, "trail").0, CheckStatus::Fail);
    }

    #[test]
    fn who_writes_policies_unrecorded_fails_on_the_stacks_trail_and_warns_on_the_accounts() {
        let mut facts = fine();
        facts.trails = Ok(vec![TrailFact {
            data_write_tables: Vec::new(),
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "policy-writers").0, CheckStatus::Fail);
        assert_eq!(status(&facts, false, "policy-writers").0, CheckStatus::Warn);
        facts.trails = Ok(vec![TrailFact {
            data_write_tables: vec!["*".into()],
            ..trail()
        }]);
        assert_eq!(status(&facts, false, "policy-writers").0, CheckStatus::Pass);
        facts.trails = Ok(vec![TrailFact {
            data_write_tables: vec!["arn:aws:dynamodb:us-east-1:1:table/G-*".into()],
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "policy-writers").0, CheckStatus::Pass);
        facts.trails = Ok(vec![TrailFact {
            data_write_tables: vec!["arn:aws:dynamodb:us-east-1:1:table/H-*".into()],
            ..trail()
        }]);
        assert_eq!(status(&facts, true, "policy-writers").0, CheckStatus::Fail);
    }

    #[test]
    fn a_function_throttled_to_zero_or_gone_fails_and_one_with_a_limit_passes() {
        let mut facts = fine();
        facts.functions[1] = Ok(Some(Some(0)));
        let (s, detail) = status(&facts, true, "functions");
        assert_eq!(s, CheckStatus::Fail);
        assert!(
            detail.contains("G-enforce is throttled to zero"),
            "{detail}"
        );
        facts.functions[1] = Ok(None);
        assert_eq!(status(&facts, true, "functions").0, CheckStatus::Fail);
        facts.functions[1] = Ok(Some(Some(1)));
        assert_eq!(status(&facts, true, "functions").0, CheckStatus::Pass);
    }

    #[test]
    fn a_disabled_policy_stream_and_an_unheard_topic_fail() {
        let mut facts = fine();
        facts.mappings[0] = Ok(Some("Disabled".into()));
        assert_eq!(status(&facts, true, "policy-stream").0, CheckStatus::Fail);
        facts.mappings[0] = Ok(Some("Updating".into()));
        assert_eq!(status(&facts, true, "policy-stream").0, CheckStatus::Pass);
        facts.topics[0] = Ok(Some(0));
        assert_eq!(
            status(&facts, true, "alert-subscribers").0,
            CheckStatus::Fail
        );
        facts.topics[0] = Ok(None);
        assert_eq!(
            status(&facts, true, "alert-subscribers").0,
            CheckStatus::Fail
        );
    }

    #[test]
    fn the_sweep_must_have_finished_within_two_intervals() {
        assert_eq!(sweep_allowance(15), Duration::minutes(30));
        assert_eq!(sweep_allowance(5), Duration::minutes(15));
        let mut facts = fine();
        facts.swept_until = Ok(Some(at("2026-12-04T09:30:00Z")));
        assert_eq!(status(&facts, true, "sweep").0, CheckStatus::Pass);
        facts.swept_until = Ok(Some(at("2026-12-04T09:29:59Z")));
        assert_eq!(status(&facts, true, "sweep").0, CheckStatus::Fail);
        facts.swept_until = Ok(None);
        assert_eq!(status(&facts, true, "sweep").0, CheckStatus::Warn);
    }

    fn unsettled(deadline: Option<&str>, decided: &str) -> AuditItem {
        let verdict: crate::Verdict = serde_json::from_value(serde_json::json!({
            "version": 1, "eventId": "e-1", "decision": "violation", "action": "enforce",
            "graceSeconds": 0, "principal": "p",
            "resource": {"type": "endpoint", "name": "ep", "arn": "arn"},
            "subjects": [], "approvers": [], "reasons": []
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut item =
            AuditItem::for_verdict(&verdict, at(decided)).unwrap_or_else(|| panic!("no item"));
        item.deadline = deadline.map(at);
        item
    }

    #[test]
    fn an_enforcement_an_hour_past_its_deadline_or_never_claimed_is_stuck() {
        let mut facts = fine();
        facts.unsettled = Ok(vec![unsettled(
            Some("2026-12-04T09:00:00Z"),
            "2026-12-04T08:00:00Z",
        )]);
        assert_eq!(status(&facts, true, "enforcements").0, CheckStatus::Pass);
        facts.unsettled = Ok(vec![unsettled(
            Some("2026-12-04T08:59:59Z"),
            "2026-12-04T08:00:00Z",
        )]);
        let (s, detail) = status(&facts, true, "enforcements");
        assert_eq!(s, CheckStatus::Fail);
        assert!(detail.contains("event e-1 (endpoint ep)"), "{detail}");
        facts.unsettled = Ok(vec![unsettled(None, "2026-12-04T09:39:59Z")]);
        assert_eq!(status(&facts, true, "enforcements").0, CheckStatus::Fail);
        facts.unsettled = Ok(vec![unsettled(None, "2026-12-04T09:45:00Z")]);
        assert_eq!(status(&facts, true, "enforcements").0, CheckStatus::Pass);
    }
}
