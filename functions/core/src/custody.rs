//! Who acts for a violation: the one enforcement execution that holds its audit item.
//!
//! The enforcement machine trusts nothing in its input. Its execution name says which event it is
//! for (`<eventId>`, or `<eventId>_<n>` when the sweep restarted it); its first step, Claim, reads
//! the verdict the guard recorded for that event and takes the item for this execution with a
//! conditional write. Anyone may start the machine under an eventID (`states:StartExecution` is
//! in PowerUserAccess): such an execution either acts exactly as the guard's own would, on the
//! recorded verdict, or finds the item held by another execution and ends without acting. Enforce
//! acts only for the execution that holds the item, on the recorded verdict, once it is due.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::approval::ApprovalDecision;
use crate::audit::{AuditItem, AuditState};
use crate::contract::{Action, Decision, Verdict, Version1};
use crate::error::{ErrorKind, GuardError};

/// Between an eventID and a restart's number in an execution name (`#` is not allowed there).
pub const RESTART_SEPARATOR: char = '_';

/// How early Enforce may act before the recorded deadline: the Wait state and the function read
/// different clocks. An attacker who invokes Enforce directly gains at most this much.
pub const DEADLINE_TOLERANCE_SECONDS: i64 = 30;

/// The event an enforcement execution acts for, and its restart number (`None` for the first).
pub fn event_of_execution(name: &str) -> (&str, Option<u32>) {
    if let Some((event, n)) = name.rsplit_once(RESTART_SEPARATOR)
        && !event.is_empty()
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = n.parse::<u32>()
    {
        return (event, Some(n));
    }
    (name, None)
}

/// The name of the `n`th restart of an event's enforcement.
pub fn restart_name(event_id: &str, n: u32) -> String {
    format!("{event_id}{RESTART_SEPARATOR}{n}")
}

/// The enforcement machine's input as the triage starts it: nothing but the eventID.
pub fn start_input(event_id: &str) -> Value {
    json!({"version": 1, "eventId": event_id})
}

/// Claim's input: the execution's name and whatever input it was started with; or, from the
/// busy loop's end, the execution asking to hand the item on (`handOver`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimInput {
    pub version: Version1,
    pub execution: String,
    #[serde(default)]
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_over: Option<HandOverRequest>,
}

/// An execution that has used its busy attempts asks for the item to be handed to its
/// continuation, `<eventID>_<n+1>`, which it then starts (a Standard execution's history is
/// capped at 25,000 events, so a retry loop cannot run for ever in one execution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandOverRequest {
    /// The last ResourceBusy, as the machine caught it.
    pub error: crate::notification::CaughtError,
}

/// How the enforcement machine retries a resource that is busy (Creating, Updating, …): every
/// `retry_seconds`, at most `attempts_left` more times in this execution, then in a fresh one.
/// Never given up while the resource exists (docs/design.md, "Who acts for a violation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusyRetry {
    pub retry_seconds: u32,
    pub attempts_left: u32,
}

impl BusyRetry {
    /// The stack's default interval (`busyRetrySeconds`).
    pub const RETRY_SECONDS: u32 = 60;
    /// Attempts per execution by default: an hour at the default interval, so that the
    /// escalation alert of each hand-over comes hourly while a resource stays busy.
    pub const ATTEMPTS_PER_EXECUTION: u32 = 60;
    /// The most attempts one execution may make: each costs at most about 65 history events
    /// (Enforce with every retry it allows, the Choice, the Pass, the Wait), and 300 of them stay
    /// under the 25,000-event cap (tests/statemachine checks the arithmetic).
    pub const MAX_ATTEMPTS_PER_EXECUTION: u32 = 300;
    pub const MAX_RETRY_SECONDS: u32 = 3600;

    /// Checked settings (`BUSY_RETRY_SECONDS`, `BUSY_ATTEMPTS_PER_EXECUTION`).
    pub fn new(retry_seconds: u32, attempts: u32) -> Result<BusyRetry, String> {
        if !(1..=Self::MAX_RETRY_SECONDS).contains(&retry_seconds) {
            return Err(format!(
                "busy retry interval {retry_seconds} s is outside 1..{}",
                Self::MAX_RETRY_SECONDS
            ));
        }
        if !(1..=Self::MAX_ATTEMPTS_PER_EXECUTION).contains(&attempts) {
            return Err(format!(
                "{attempts} busy attempts per execution is outside 1..{}",
                Self::MAX_ATTEMPTS_PER_EXECUTION
            ));
        }
        Ok(BusyRetry {
            retry_seconds,
            attempts_left: attempts,
        })
    }
}

impl Default for BusyRetry {
    fn default() -> BusyRetry {
        BusyRetry {
            retry_seconds: BusyRetry::RETRY_SECONDS,
            attempts_left: BusyRetry::ATTEMPTS_PER_EXECUTION,
        }
    }
}

/// Claim's output: what the machine goes on with, all of it from the decisions table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimOutput {
    pub version: Version1,
    pub event_id: String,
    /// False: this execution must not act (the item is held by another, or is not an
    /// enforceable violation); `why` says why.
    pub proceed: bool,
    pub why: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Whole seconds left of the grace period (0: enforce now).
    pub remaining_seconds: u64,
    /// The end of the grace period, RFC 3339 to the second (rounded up), for the Wait state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// How a busy resource is retried (an execution that holds the item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<BusyRetry>,
    /// After a hand-over: the execution to start, which now holds the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// What Claim does with the item it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimStep {
    /// Take (or keep) the item for this execution, with this deadline.
    Take { deadline: DateTime<Utc> },
    /// End without acting: nothing for this execution to do. `alert`: say so as tampering.
    Stand { why: String, alert: bool },
}

/// Decides Claim's step from the recorded item (`None`: not decided yet, an error to retry).
pub fn claim_step(
    item: Option<&AuditItem>,
    execution: &str,
    now: DateTime<Utc>,
) -> Result<ClaimStep, GuardError> {
    let (event_id, restart) = event_of_execution(execution);
    let Some(item) = item else {
        return Err(GuardError::new(
            ErrorKind::Undecided,
            format!("event {event_id} has no recorded decision yet"),
        ));
    };
    let verdict = &item.verdict;
    if verdict.decision != Decision::Violation || verdict.action == Action::None {
        return Ok(ClaimStep::Stand {
            why: format!(
                "event {event_id} is recorded as {:?} with action {:?}: nothing to enforce",
                verdict.decision, verdict.action
            ),
            alert: true,
        });
    }
    if item.state.is_terminal() {
        return Ok(ClaimStep::Stand {
            why: format!("event {event_id} is already {}", item.state),
            alert: item.execution.as_deref() != Some(execution),
        });
    }
    match (&item.execution, restart) {
        (Some(holder), _) if holder != execution => Ok(ClaimStep::Stand {
            why: format!("event {event_id} is held by execution {holder}"),
            alert: true,
        }),
        (None, Some(_)) => Ok(ClaimStep::Stand {
            why: format!(
                "event {event_id}: a restart ({execution}) acts only once the sweep has handed \
                 the item to it"
            ),
            alert: true,
        }),
        _ => Ok(ClaimStep::Take {
            deadline: item
                .deadline
                .unwrap_or(now + Duration::seconds(i64::from(verdict.grace_seconds))),
        }),
    }
}

/// What the hand-over of a busy enforcement does with the item it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOverStep {
    /// Hand the item from this execution to `next`, and start it.
    Continue { next: String },
    /// This execution does not hold an unsettled item (any more): end without acting.
    Stand { why: String },
}

pub fn hand_over_step(item: Option<&AuditItem>, execution: &str) -> HandOverStep {
    let (event_id, restart) = event_of_execution(execution);
    let Some(item) = item else {
        return HandOverStep::Stand {
            why: format!("event {event_id} has no recorded decision"),
        };
    };
    if item.state.is_terminal() {
        return HandOverStep::Stand {
            why: format!("event {event_id} is already {}", item.state),
        };
    }
    let next = restart_name(event_id, restart.unwrap_or(0) + 1);
    // Held by the continuation already: a retried hand-over, which starts it all the same.
    if item.execution.as_deref() != Some(execution) && item.execution.as_deref() != Some(&next) {
        return HandOverStep::Stand {
            why: format!(
                "event {event_id} is held by {}, not by {execution}",
                item.execution.as_deref().unwrap_or("no execution")
            ),
        };
    }
    HandOverStep::Continue { next }
}

/// The violation a change to a deployed resource would walk around: the newest unsettled item
/// (`evaluated` or `pending`, not approved) of another event on the same resource. `None` for a
/// call that changes nothing deployed (a create).
pub fn awaiting_enforcement<'a>(
    request: &crate::contract::Request,
    items: &'a [AuditItem],
) -> Option<&'a AuditItem> {
    let changes =
        crate::covered::covered_call(&request.event_name).is_some_and(|c| c.changes_deployed);
    if !changes {
        return None;
    }
    let key = crate::organization::scoped(
        crate::audit::resource_key(&request.resource.name),
        request.scope.as_deref(),
    );
    items
        .iter()
        .filter(|i| {
            !i.state.is_terminal()
                && i.event_id != request.event_id
                && i.resource_type == request.resource.resource_type
                && i.resource_key == key
                && i.verdict.action != Action::None
                && i.approval.as_ref().map(|a| a.decision) != Some(ApprovalDecision::Approve)
        })
        .max_by_key(|i| i.decided_at)
}

/// The verdict of a change made to a resource while a violation on it awaits enforcement
/// (UpdateEndpoint, UpdateEndpointWeightsAndCapacities, UpdateInferenceComponent,
/// UpdateInferenceComponentRuntimeConfig): keeping an endpoint busy with updates is how one would
/// starve its enforcement, and a successful update would swap what is enforced. So it violates
/// that violation's bindings — its action, its approvers, no more grace than it has left — and
/// is alerted as a violation of its own, whatever it would have been alone.
pub fn breaks_enforcement(
    mut verdict: Verdict,
    pending: &AuditItem,
    now: DateTime<Utc>,
) -> Verdict {
    let left = pending
        .deadline
        .map_or(i64::from(pending.verdict.grace_seconds), |d| {
            (d - now).num_seconds().max(0)
        });
    let grace = u32::try_from(left)
        .unwrap_or(0)
        .min(pending.verdict.grace_seconds);
    let resource = verdict
        .resource
        .as_ref()
        .map(|r| format!("{} {}", r.resource_type.as_str(), r.name))
        .unwrap_or_else(|| "the resource".to_owned());
    let mut reasons = vec![format!(
        "violation: {} changes {resource} while violation {} on it awaits enforcement; a change \
         now breaks that violation's bindings (enforced after {grace} s unless approved)",
        verdict.event_name.as_deref().unwrap_or("the call"),
        pending.event_id,
    )];
    reasons.append(&mut verdict.reasons);
    verdict.decision = Decision::Violation;
    verdict.action = pending.verdict.action;
    verdict.grace_seconds = if verdict.action == Action::None {
        0
    } else {
        grace
    };
    verdict.approvers = pending.verdict.approvers.clone();
    verdict.reasons = reasons;
    // Enforced as the awaited violation is: rolled back to what it would be (a capacity change
    // by autoscaling during the grace must not turn a rollback into a deletion).
    verdict.rollback_to = pending.verdict.rollback_to.clone();
    verdict
}

/// Claim's output for an item this execution holds.
pub fn claimed(item: &AuditItem, now: DateTime<Utc>) -> ClaimOutput {
    let deadline = item.deadline.unwrap_or(now);
    // Rounded up to the second, so the Wait never ends before the recorded deadline.
    let rounded = if deadline.timestamp_subsec_nanos() > 0 {
        DateTime::from_timestamp(deadline.timestamp() + 1, 0).unwrap_or(deadline)
    } else {
        deadline
    };
    let remaining = (rounded - now).num_seconds().max(0);
    ClaimOutput {
        version: Version1,
        event_id: item.event_id.clone(),
        proceed: true,
        why: format!("execution holds event {}", item.event_id),
        verdict: Some(item.verdict.clone()),
        remaining_seconds: u64::try_from(remaining).unwrap_or(0),
        deadline: Some(rounded.to_rfc3339_opts(SecondsFormat::Secs, true)),
        busy: None,
        next: None,
    }
}

/// Claim's output for an execution that must not act.
pub fn standing(event_id: &str, why: String) -> ClaimOutput {
    ClaimOutput {
        version: Version1,
        event_id: event_id.to_owned(),
        proceed: false,
        why,
        verdict: None,
        remaining_seconds: 0,
        deadline: None,
        busy: None,
        next: None,
    }
}

/// Checks that Enforce may act for `execution` on the recorded item now; `Ok(Some(item))` with
/// the enforcement already done (a retried step), `Ok(None)` to act.
pub fn check_enforceable<'a>(
    item: &'a AuditItem,
    execution: &str,
    now: DateTime<Utc>,
) -> Result<Option<&'a AuditItem>, GuardError> {
    let event_id = &item.event_id;
    let verdict = &item.verdict;
    if verdict.decision != Decision::Violation || verdict.action != Action::Enforce {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!(
                "event {event_id}: only a violation with action enforce is enforced (the \
                 recorded verdict is {:?} with action {:?})",
                verdict.decision, verdict.action
            ),
        ));
    }
    if item.execution.as_deref() != Some(execution) {
        return Err(GuardError::new(
            ErrorKind::AuditConflict,
            format!(
                "event {event_id} is held by {}, not by {execution:?}",
                item.execution.as_deref().unwrap_or("no execution")
            ),
        ));
    }
    if item.state == AuditState::Enforced && item.enforcement.is_some() {
        return Ok(Some(item));
    }
    if !matches!(item.state, AuditState::Evaluated | AuditState::Pending) {
        return Err(GuardError::new(
            ErrorKind::AuditConflict,
            format!("event {event_id} is {}; it is not enforced", item.state),
        ));
    }
    let decided = item.approval.as_ref().map(|a| a.decision);
    if decided == Some(ApprovalDecision::Approve) {
        return Err(GuardError::new(
            ErrorKind::AuditConflict,
            format!("event {event_id} was approved; it is not enforced"),
        ));
    }
    let due = decided == Some(ApprovalDecision::EnforceNow)
        || item
            .deadline
            .is_some_and(|d| d <= now + Duration::seconds(DEADLINE_TOLERANCE_SECONDS));
    if !due {
        return Err(GuardError::new(
            ErrorKind::NotDue,
            format!(
                "event {event_id}: the grace period ends at {}; no enforce-now is on record",
                item.deadline
                    .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "(not set)".to_owned())
            ),
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod awaiting_tests {
    use super::*;
    use crate::contract::Request;

    fn pending(event_id: &str, resource: &str, deadline_in: i64, now: DateTime<Utc>) -> AuditItem {
        let verdict: Verdict = serde_json::from_value(json!({
            "version": 1, "eventId": event_id, "eventName": "CreateEndpoint",
            "decision": "violation", "action": "enforce", "graceSeconds": 600,
            "principal": "arn:aws:iam::1:role/DataScientist",
            "resource": {"type": "endpoint", "name": resource, "arn": null},
            "subjects": [], "approvers": [{"binding": "model#fraud-*", "anyOf": ["arn:aws:iam::1:role/Sec"]}],
            "reasons": ["violation of model#fraud-*"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut item = AuditItem::for_verdict(&verdict, now - Duration::seconds(10))
            .unwrap_or_else(|| panic!("a violation has an item"));
        item.state = AuditState::Pending;
        item.deadline = Some(now + Duration::seconds(deadline_in));
        item
    }

    fn change(event_name: &str, resource: &str) -> Request {
        serde_json::from_value(json!({
            "version": 1, "eventId": "u1", "eventName": event_name, "eventTime": null,
            "account": null, "region": null, "principal": "arn:aws:iam::1:role/MLDeployer",
            "resource": {"type": "endpoint", "name": resource, "arn": null}, "targets": []
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_an_update_finds_an_unsettled_violation_of_another_event_on_the_same_resource() {
        let now = Utc::now();
        let items = vec![pending("e1", "Fraud-EP", 120, now)];
        for update in ["UpdateEndpoint", "UpdateEndpointWeightsAndCapacities"] {
            let found = awaiting_enforcement(&change(update, "fraud-ep"), &items);
            assert_eq!(found.map(|i| i.event_id.as_str()), Some("e1"), "{update}");
        }
        assert!(awaiting_enforcement(&change("CreateEndpoint", "fraud-ep"), &items).is_none());
        assert!(awaiting_enforcement(&change("UpdateEndpoint", "other-ep"), &items).is_none());
        let mut settled = items.clone();
        settled[0].state = AuditState::Enforced;
        assert!(awaiting_enforcement(&change("UpdateEndpoint", "fraud-ep"), &settled).is_none());
        let mut approved = items.clone();
        approved[0].approval = Some(crate::audit::ApprovalRecord {
            decision: ApprovalDecision::Approve,
            by: "arn:aws:iam::1:role/Sec".into(),
            person: None,
            caller_arn: "arn:aws:sts::1:assumed-role/Sec/s".into(),
            at: now,
            reason: "kept".into(),
        });
        assert!(awaiting_enforcement(&change("UpdateEndpoint", "fraud-ep"), &approved).is_none());
        let mut own = items;
        own[0].event_id = "u1".into();
        assert!(awaiting_enforcement(&change("UpdateEndpoint", "fraud-ep"), &own).is_none());
    }

    #[test]
    fn a_change_inherits_the_violations_action_approvers_and_what_is_left_of_its_grace() {
        let now = Utc::now();
        let awaiting = pending("e1", "fraud-ep", 120, now);
        let alone: Verdict = serde_json::from_value(json!({
            "version": 1, "eventId": "u1", "eventName": "UpdateEndpointWeightsAndCapacities",
            "decision": "ignored", "action": "none", "graceSeconds": 0,
            "principal": "arn:aws:iam::1:role/MLDeployer",
            "resource": {"type": "endpoint", "name": "fraud-ep", "arn": null},
            "subjects": [], "approvers": [], "reasons": ["ignored: capacity only"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let verdict = breaks_enforcement(alone, &awaiting, now);
        assert_eq!(
            (verdict.decision, verdict.action),
            (Decision::Violation, Action::Enforce)
        );
        assert!(
            (119..=120).contains(&verdict.grace_seconds),
            "{}",
            verdict.grace_seconds
        );
        assert_eq!(verdict.approvers, awaiting.verdict.approvers);
        assert!(verdict.reasons[0].contains("e1"), "{:?}", verdict.reasons);
        verdict
            .check_well_formed()
            .unwrap_or_else(|e| panic!("{e}"));
        // Past its deadline: no grace at all.
        let late = breaks_enforcement(verdict.clone(), &pending("e1", "fraud-ep", -5, now), now);
        assert_eq!(late.grace_seconds, 0);
        // An awaited rollback stays a rollback (autoscaling's capacity change during the grace
        // must not turn it into a deletion).
        assert_eq!(verdict.rollback_to, None);
        let mut rolling_back = pending("e1", "fraud-ep", 120, now);
        let to: crate::contract::RollbackTo = serde_json::from_value(json!({
            "eventId": "e0", "config": {"kind": "endpoint-config", "name": "cfg", "models": ["m"]}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        rolling_back.verdict.rollback_to = Some(Box::new(to.clone()));
        let change = breaks_enforcement(verdict, &rolling_back, now);
        assert_eq!(change.rollback_to.as_deref(), Some(&to));
    }
}

#[cfg(test)]
mod hand_over_tests {
    use super::*;

    fn held(state: AuditState, execution: &str) -> AuditItem {
        let verdict: Verdict = serde_json::from_value(json!({
            "version": 1, "eventId": "e1", "decision": "violation", "action": "enforce",
            "graceSeconds": 0, "resource": {"type": "endpoint", "name": "ep", "arn": null},
            "subjects": [], "approvers": [], "reasons": []
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut item = AuditItem::for_verdict(&verdict, Utc::now())
            .unwrap_or_else(|| panic!("an enforceable violation has an item"));
        item.state = state;
        item.execution = Some(execution.to_owned());
        item
    }

    #[test]
    fn the_holder_hands_over_to_the_next_name_and_a_retry_does_so_again() {
        for (holder, asking, next) in [
            ("e1", "e1", "e1_1"),
            ("e1_4", "e1_4", "e1_5"),
            ("e1_1", "e1", "e1_1"),
        ] {
            assert_eq!(
                hand_over_step(Some(&held(AuditState::Pending, holder)), asking),
                HandOverStep::Continue {
                    next: next.to_owned()
                },
                "{holder} {asking}"
            );
        }
    }

    #[test]
    fn no_one_else_and_nothing_settled_is_handed_over() {
        for (item, asking) in [
            (Some(held(AuditState::Pending, "e1_2")), "e1"),
            (Some(held(AuditState::Enforced, "e1")), "e1"),
            (None, "e1"),
        ] {
            assert!(
                matches!(
                    hand_over_step(item.as_ref(), asking),
                    HandOverStep::Stand { .. }
                ),
                "{item:?} {asking}"
            );
        }
    }

    #[test]
    fn busy_settings_are_bounded() {
        assert!(BusyRetry::new(1, 4).is_ok());
        assert!(BusyRetry::new(0, 4).is_err());
        assert!(BusyRetry::new(60, 0).is_err());
        assert!(BusyRetry::new(60, BusyRetry::MAX_ATTEMPTS_PER_EXECUTION + 1).is_err());
        assert_eq!(
            BusyRetry::default().attempts_left,
            BusyRetry::ATTEMPTS_PER_EXECUTION
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::ApprovalRecord;
    use crate::contract::{ResourceRef, ResourceType};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn item(action: Action, state: AuditState) -> AuditItem {
        let verdict = Verdict {
            version: Version1,
            event_id: Some("e1".into()),
            event_name: Some("CreateEndpoint".into()),
            event_time: None,
            account: None,
            region: None,
            decision: Decision::Violation,
            action,
            grace_seconds: 600,
            principal: Some("arn:aws:iam::1:role/DataScientist".into()),
            person: None,
            source_identity: None,
            resource: Some(ResourceRef {
                resource_type: ResourceType::Endpoint,
                name: "ep".into(),
                arn: None,
            }),
            subjects: Vec::new(),
            approvers: Vec::new(),
            reasons: vec!["r".into()],
            started_by: None,
            observed: false,
            restorable: None,
            rollback_to: None,
            scope: None,
        };
        let mut item = AuditItem::for_verdict(&verdict, now()).unwrap_or_else(|| unreachable!());
        item.state = state;
        item
    }

    fn approval(decision: ApprovalDecision) -> ApprovalRecord {
        ApprovalRecord {
            decision,
            by: "arn:aws:iam::1:role/SecurityOps".into(),
            person: None,
            caller_arn: "arn:aws:sts::1:assumed-role/SecurityOps/a".into(),
            at: now(),
            reason: "r".into(),
        }
    }

    #[test]
    fn execution_names_carry_the_event_and_the_restart() {
        assert_eq!(event_of_execution("e1"), ("e1", None));
        assert_eq!(event_of_execution("e1_2"), ("e1", Some(2)));
        assert_eq!(event_of_execution(&restart_name("e1", 7)), ("e1", Some(7)));
        assert_eq!(event_of_execution("e1_x"), ("e1_x", None));
        assert_eq!(event_of_execution("_3"), ("_3", None));
        assert_eq!(event_of_execution("e1_"), ("e1_", None));
        assert_eq!(
            event_of_execution("e1_99999999999"),
            ("e1_99999999999", None)
        );
    }

    #[test]
    fn the_first_execution_takes_an_item_nobody_holds() {
        let it = item(Action::Enforce, AuditState::Evaluated);
        assert_eq!(
            claim_step(Some(&it), "e1", now()),
            Ok(ClaimStep::Take {
                deadline: now() + Duration::seconds(600)
            })
        );
    }

    #[test]
    fn a_held_item_keeps_its_holder_and_its_deadline() {
        let mut it = item(Action::Enforce, AuditState::Pending);
        it.execution = Some("e1".into());
        it.deadline = Some(now() + Duration::seconds(5));
        assert_eq!(
            claim_step(Some(&it), "e1", now()),
            Ok(ClaimStep::Take {
                deadline: now() + Duration::seconds(5)
            })
        );
        let other = claim_step(Some(&it), "e1_1", now());
        assert!(
            matches!(other, Ok(ClaimStep::Stand { alert: true, .. })),
            "{other:?}"
        );
    }

    #[test]
    fn a_restart_acts_only_when_handed_the_item() {
        let it = item(Action::Enforce, AuditState::Evaluated);
        assert!(matches!(
            claim_step(Some(&it), "e1_1", now()),
            Ok(ClaimStep::Stand { alert: true, .. })
        ));
        let mut handed = it.clone();
        handed.execution = Some("e1_1".into());
        assert!(matches!(
            claim_step(Some(&handed), "e1_1", now()),
            Ok(ClaimStep::Take { .. })
        ));
    }

    #[test]
    fn nothing_is_claimed_for_what_is_not_an_enforceable_violation() {
        let mut allowed = item(Action::None, AuditState::Allowed);
        allowed.verdict.decision = Decision::Allow;
        assert!(matches!(
            claim_step(Some(&allowed), "e1", now()),
            Ok(ClaimStep::Stand { alert: true, .. })
        ));
        let mut done = item(Action::Enforce, AuditState::Enforced);
        done.execution = Some("e1".into());
        assert!(matches!(
            claim_step(Some(&done), "e1", now()),
            Ok(ClaimStep::Stand { alert: false, .. })
        ));
        let undecided = claim_step(None, "e1", now());
        assert_eq!(undecided.map_err(|e| e.kind), Err(ErrorKind::Undecided));
    }

    #[test]
    fn claimed_rounds_the_deadline_up_and_counts_what_is_left() {
        let mut it = item(Action::Enforce, AuditState::Pending);
        it.deadline = Some(now() + Duration::milliseconds(10_400));
        let out = claimed(&it, now());
        assert_eq!(out.remaining_seconds, 11);
        assert_eq!(out.deadline.as_deref(), Some("2026-12-02T12:00:11Z"));
        it.deadline = Some(now() - Duration::seconds(50));
        assert_eq!(claimed(&it, now()).remaining_seconds, 0);
    }

    #[test]
    fn enforce_acts_only_for_the_holder_on_a_due_enforceable_item() {
        let mut it = item(Action::Enforce, AuditState::Pending);
        it.execution = Some("e1".into());
        it.deadline = Some(now() + Duration::seconds(600));
        let kind = |r: Result<Option<&AuditItem>, GuardError>| r.map(|_| ()).map_err(|e| e.kind);
        assert_eq!(
            kind(check_enforceable(&it, "e1", now())),
            Err(ErrorKind::NotDue)
        );
        assert_eq!(
            kind(check_enforceable(&it, "e1", now() + Duration::seconds(600))),
            Ok(())
        );
        assert_eq!(
            kind(check_enforceable(&it, "e1", now() + Duration::seconds(571))),
            Ok(()),
            "within the tolerance"
        );
        assert_eq!(
            kind(check_enforceable(
                &it,
                "e1_1",
                now() + Duration::seconds(600)
            )),
            Err(ErrorKind::AuditConflict)
        );
        let mut early = it.clone();
        early.approval = Some(approval(ApprovalDecision::EnforceNow));
        assert_eq!(kind(check_enforceable(&early, "e1", now())), Ok(()));
        let mut approved = it.clone();
        approved.approval = Some(approval(ApprovalDecision::Approve));
        assert_eq!(
            kind(check_enforceable(
                &approved,
                "e1",
                now() + Duration::seconds(900)
            )),
            Err(ErrorKind::AuditConflict)
        );
        let mut notify = it.clone();
        notify.verdict.action = Action::Notify;
        assert_eq!(
            kind(check_enforceable(
                &notify,
                "e1",
                now() + Duration::seconds(900)
            )),
            Err(ErrorKind::InvalidInput)
        );
        let mut failed = it.clone();
        failed.state = AuditState::Failed;
        assert_eq!(
            kind(check_enforceable(
                &failed,
                "e1",
                now() + Duration::seconds(900)
            )),
            Err(ErrorKind::AuditConflict)
        );
    }
}
