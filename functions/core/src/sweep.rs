//! The sweep: EventBridge delivers CloudTrail events on a best-effort basis, so every few minutes
//! the sweep asks CloudTrail's LookupEvents for the covered calls since its last run and submits
//! each one that has no audit item to the triage machine, wrapped as EventBridge wraps it. A
//! duplicate is harmless: Evaluate's conditional write and the enforcement's execution name (the
//! eventID) let only one of them through.
//!
//! The sweep is a machine (`statemachine/sweep.asl.json`): its first step lists the places the
//! guard answers for (each guarded account in each guarded region), a Map looks in each place
//! (its own window and checkpoint, through the member role there), and the last step does the
//! chores that are the guard's own (the ledger, the enforcements it watches, the owed alerts).
//!
//! This module is the pure part: which places, which window to ask for, which records the rule
//! would have matched, in which order, and the envelope.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::covered::{covered_call, recorded_call};
use crate::error::{ErrorKind, GuardError};
use crate::organization::{Guarded, Members, is_account_id};

/// The one attribute each place is looked up by: LookupEvents takes one attribute per request,
/// at 2 requests a second in each account and region, so one lookup by the source, filtered
/// here, costs one request where one per covered eventName cost 57.
pub const SAGEMAKER_SOURCE: &str = "sagemaker.amazonaws.com";

/// The key of the sweep's checkpoint at home (a place elsewhere adds its scope).
pub const CHECKPOINT_KEY: &str = "sweep#checkpoint";

/// What one invocation of the sweep function is asked to do: a step of the sweep machine. Any
/// other event (an enforcement's end, from the EnforcementEnded rule) is [`SweepStep::Chores`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "step", rename_all = "camelCase", deny_unknown_fields)]
pub enum SweepStep {
    /// List the places to look in.
    Places,
    /// Look in one place.
    LookIn { place: Place },
    /// A place could not be looked in: alert the guard topic, naming it.
    Unreachable {
        place: Place,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        cause: Option<String>,
    },
    /// The ledger, the enforcements watched, the owed alerts.
    Chores,
}

impl SweepStep {
    /// The step an input asks for: one with a `step` must be a step; any other is the chores.
    pub fn of(input: &Value) -> Result<SweepStep, GuardError> {
        if input.get("step").is_none() {
            return Ok(SweepStep::Chores);
        }
        serde_path_to_error::deserialize(input).map_err(|e| {
            GuardError::new(
                ErrorKind::InvalidInput,
                format!("not a sweep step: {}: {}", e.path(), e.inner()),
            )
        })
    }
}

/// A Lambda error as Step Functions hands it on (`Cause` is the function's JSON error, whose
/// `errorMessage` says it best).
pub fn cause_text(error: Option<&str>, cause: Option<&str>) -> String {
    let message = cause
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .and_then(|c| {
            c.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    match (error, message.or(cause.map(str::to_owned))) {
        (Some(e), Some(m)) => format!("{e}: {m}"),
        (Some(e), None) => e.to_owned(),
        (None, Some(m)) => m,
        (None, None) => "no reason given".to_owned(),
    }
}

/// One account in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub account: String,
    pub region: String,
}

/// `<account>/<region>`, as a scope is written.
impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// The places the sweep looks in, as its first step answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlaceList {
    pub places: Vec<Place>,
    /// Where the accounts came from: `settings` (`MEMBER_ACCOUNTS`) or `organization`
    /// (Organizations' `ListAccounts`).
    pub membership: String,
}

/// Every place the guard answers for: its own account and each member account (`organization`:
/// `organization_accounts`, Organizations' active accounts), each in its own region and each of
/// `regions`. Sorted, each once; the home place first.
pub fn places(
    guarded: &Guarded,
    regions: &[String],
    organization_accounts: &[String],
) -> Result<PlaceList, GuardError> {
    let (members, membership): (Vec<&String>, &str) = match &guarded.members {
        Members::Listed(list) => (list.iter().collect(), "settings"),
        Members::Organization => (organization_accounts.iter().collect(), "organization"),
    };
    if let Some(bad) = members.iter().find(|a| !is_account_id(a)) {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!("{bad:?} is not an account ID: the member accounts cannot be listed"),
        ));
    }
    if let Some(bad) = regions
        .iter()
        .find(|r| r.is_empty() || r.contains(['/', '@', ',']) || r.trim() != r.as_str())
    {
        return Err(GuardError::new(
            ErrorKind::Configuration,
            format!("MEMBER_REGIONS: {bad:?} is not a region"),
        ));
    }
    let mut accounts: Vec<&str> = members.into_iter().map(String::as_str).collect();
    accounts.push(&guarded.account);
    accounts.sort_unstable();
    accounts.dedup();
    let mut all_regions: Vec<&str> = regions.iter().map(String::as_str).collect();
    all_regions.push(&guarded.region);
    all_regions.sort_unstable();
    all_regions.dedup();
    let home = Place {
        account: guarded.account.clone(),
        region: guarded.region.clone(),
    };
    let mut places = vec![home.clone()];
    for account in &accounts {
        for region in &all_regions {
            let place = Place {
                account: (*account).to_owned(),
                region: (*region).to_owned(),
            };
            if place != home {
                places.push(place);
            }
        }
    }
    Ok(PlaceList {
        places,
        membership: membership.to_owned(),
    })
}

/// The records of one place's lookup that the rule would have matched, in the order they are
/// submitted: the recorded calls (CreateModel, …) before the deployments that may need their
/// records, each kind oldest first. The others (reads, other calls, failed calls) are counted.
pub fn rule_matched(records: Vec<Value>) -> (Vec<Value>, usize) {
    let total = records.len();
    let mut kept: Vec<Value> = records
        .into_iter()
        .filter(|r| skip_reason(r).is_none())
        .collect();
    let others = total - kept.len();
    kept.sort_by_cached_key(|r| {
        let name = r
            .get("eventName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let time = r
            .get("eventTime")
            .and_then(Value::as_str)
            .unwrap_or_default();
        (recorded_call(name).is_none(), time.to_owned())
    });
    (kept, others)
}

/// LookupEvents answers for the last 90 days only.
pub const MAX_LOOKBACK_DAYS: i64 = 90;
/// The most one sweep asks for: after an outage, the backlog is worked through a window at a
/// time (each checkpointed), so no run grows past the function's timeout.
pub const MAX_WINDOW_HOURS: i64 = 6;
/// An audit item still `evaluated` this long after its decision lost its way (the triage failed
/// after Evaluate): the sweep submits its event again.
pub const STALE_EVALUATED_MINUTES: i64 = 10;

/// The window one sweep asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// From the last sweep's end, less `overlap` (CloudTrail makes an event visible to LookupEvents
/// minutes after the call, so the previous window's tail is asked for again), to `now`, but at
/// most [`MAX_WINDOW_HOURS`] long. The first sweep looks back `first_lookback`. Never further back
/// than LookupEvents answers.
pub fn window(
    last_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    overlap: Duration,
    first_lookback: Duration,
) -> Window {
    let before = |t: DateTime<Utc>, d: Duration| t.checked_sub_signed(d).unwrap_or(t);
    let start = match last_end {
        Some(end) => before(end, overlap),
        None => before(now, first_lookback),
    };
    let oldest = before(now, Duration::days(MAX_LOOKBACK_DAYS));
    let start = start.max(oldest).min(now);
    let end = start
        .checked_add_signed(Duration::hours(MAX_WINDOW_HOURS))
        .map_or(now, |cap| cap.min(now));
    Window { start, end }
}

/// Whether an event whose audit item is in `state`, decided at `decided_at`, is submitted again:
/// only an item left `evaluated` well past its decision (the enforcement never started).
pub fn resubmit(
    state: crate::audit::AuditState,
    decided_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    state == crate::audit::AuditState::Evaluated
        && now.signed_duration_since(decided_at) > Duration::minutes(STALE_EVALUATED_MINUTES)
}

/// Why a looked-up record is not submitted, or `None` when the rule would have matched it.
pub fn skip_reason(record: &Value) -> Option<String> {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    match text("eventSource") {
        Some("sagemaker.amazonaws.com") => {}
        other => return Some(format!("eventSource is {other:?}, not SageMaker")),
    }
    let name = text("eventName").unwrap_or_default();
    if covered_call(name).is_none() && recorded_call(name).is_none() {
        return Some(format!("{name:?} is not a covered or recorded call"));
    }
    // The rule matches only calls without an errorCode (or with an empty one).
    if let Some(code) = text("errorCode").filter(|c| !c.is_empty()) {
        return Some(format!("the call failed ({code})"));
    }
    if text("eventID").is_none_or(str::is_empty) {
        return Some("the record has no eventID".to_owned());
    }
    None
}

/// The event EventBridge would have delivered for a CloudTrail record ("AWS API Call via
/// CloudTrail", source `aws.<service>`), so the triage machine cannot tell the two apart.
pub fn eventbridge_envelope(record: &Value) -> Value {
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or_default();
    let service = text("eventSource")
        .strip_suffix(".amazonaws.com")
        .unwrap_or(text("eventSource"));
    let account = record
        .get("recipientAccountId")
        .and_then(Value::as_str)
        .or_else(|| {
            record
                .pointer("/userIdentity/accountId")
                .and_then(Value::as_str)
        })
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": format!("sweep-{}", text("eventID")),
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": account,
        "time": text("eventTime"),
        "region": text("awsRegion"),
        "resources": [],
        "detail": record,
    })
}

/// The event EventBridge would have delivered for a record looked up in `place`: the place is
/// the one asked (CloudTrail answers for the account and region it is asked in), not what the
/// record says.
pub fn envelope_in(record: &Value, place: &Place) -> Value {
    let mut envelope = eventbridge_envelope(record);
    envelope["account"] = json!(place.account);
    envelope["region"] = json!(place.region);
    envelope
}

/// What one sweep did, as the sweep function returns it (and logs it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// The place looked in (`<account>/<region>`); `None` for the chores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    pub start: String,
    pub end: String,
    /// Records LookupEvents returned for the covered eventNames.
    pub found: usize,
    /// Records the rule would not have matched (another service, a failed call).
    pub skipped: usize,
    /// Events that already had an audit item: delivered by EventBridge, or an earlier sweep.
    pub already_audited: usize,
    /// Events submitted again because their audit item was left `evaluated` (among `submitted`).
    #[serde(default)]
    pub resubmitted: usize,
    /// Recorded calls (CreateModel, …) already in the records table.
    #[serde(default)]
    pub already_recorded: usize,
    /// Records that could not be handled (an unreadable audit item, an input Step Functions
    /// refuses): logged and counted, never allowed to stop the sweep.
    #[serde(default)]
    pub unprocessable: usize,
    /// The eventIDs submitted to the triage machine.
    pub submitted: Vec<String>,
    /// Records in the window that were in the ledger already (their triage failed, or a sweep
    /// submitted them): the ledger's schedule retries them, not the window.
    #[serde(default)]
    pub already_undecided: usize,
    /// Ledger entries submitted again (their eventIDs).
    #[serde(default)]
    pub retried: Vec<String>,
    /// Ledger entries the guard's own records show settled (an audit item, a record, an event
    /// the parser ignores), removed.
    #[serde(default)]
    pub settled: Vec<String>,
    /// Ledger entries that failed, or have been unsettled for longer than
    /// [`UNDECIDED_ALARM_MINUTES`]: events no decision was made for yet. The sweep logs how many,
    /// and the stack's alarm on that number pages the guard topic.
    #[serde(default)]
    pub undecided: Vec<String>,
    /// Enforcement executions started again because the one holding an unsettled violation was
    /// no longer running (stopped from outside, or never started): their names.
    #[serde(default)]
    pub restarted: Vec<String>,
    /// Alerts that were owed (`alertOwed`: their publish had failed) and went out now: the
    /// eventIDs.
    #[serde(default)]
    pub alerts_sent: Vec<String>,
    /// Owed alerts that still could not be published (the sweep reports an error, so its alarm
    /// fires on the guard topic); the next sweep tries again.
    #[serde(default)]
    pub alerts_still_owed: Vec<String>,
}

/// How long an event may sit in the ledger without a failure before it counts as undecided: a
/// triage run takes at most five minutes, and the sweep runs every five.
pub const UNDECIDED_ALARM_MINUTES: i64 = 15;

/// Whether a ledger entry is reported as undecided: a triage run failed on it (or Step
/// Functions refused it), or it has been unsettled for too long.
pub fn undecided_overdue(entry: &crate::ledger::LedgerEntry, now: DateTime<Utc>) -> bool {
    entry.failure.is_some()
        || now.signed_duration_since(entry.first_seen_at)
            > Duration::minutes(UNDECIDED_ALARM_MINUTES)
}

/// How long an owed alert is left to the execution that holds the item while it runs: its
/// Notify step retries for about two minutes before it gives up.
pub const ALERT_RETRY_MINUTES: i64 = 5;

/// Whether the sweep sends an item's owed alert now: its execution no longer runs (it gave up
/// on the alert), or has had long enough.
pub fn send_owed_alert(
    item: &crate::audit::AuditItem,
    execution_running: bool,
    now: DateTime<Utc>,
) -> bool {
    item.alert_owed.is_some()
        && (!execution_running
            || now.signed_duration_since(item.updated_at) > Duration::minutes(ALERT_RETRY_MINUTES))
}

/// How long an unsettled item may go without any enforcement execution before the sweep starts
/// one: the triage starts it within seconds of Evaluate's write, or retries for a few minutes.
pub const UNSTARTED_MINUTES: i64 = 5;

/// An enforcement execution's state, as Step Functions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionStatus {
    Running,
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    Ended(String),
}

/// What the sweep does about an unsettled violation (`evaluated` or `pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchStep {
    /// Its execution is running (or it is too soon to tell).
    Fine,
    /// Start the execution the triage should have started, under the eventID.
    StartFirst,
    /// Its execution ended with the violation unsettled: hand the item to a restart.
    Restart {
        from: Option<String>,
        status: String,
        next: u32,
    },
}

/// Decides the sweep's step for an unsettled item, given the status of the execution that
/// holds it (or, when none has claimed it, of the one named by the eventID; `None`: there is
/// no such execution).
pub fn watch_step(
    item: &crate::audit::AuditItem,
    status: Option<&ExecutionStatus>,
    now: DateTime<Utc>,
) -> WatchStep {
    use crate::custody::event_of_execution;
    if item.state.is_terminal() {
        return WatchStep::Fine;
    }
    let next = item
        .execution
        .as_deref()
        .and_then(|e| event_of_execution(e).1)
        .unwrap_or(0)
        + 1;
    match status {
        Some(ExecutionStatus::Running) => WatchStep::Fine,
        Some(ExecutionStatus::Ended(status)) => WatchStep::Restart {
            from: item.execution.clone(),
            status: status.clone(),
            next,
        },
        None if item.execution.is_some() => WatchStep::Restart {
            from: item.execution.clone(),
            status: "not found".to_owned(),
            next,
        },
        None if now - item.decided_at >= Duration::minutes(UNSTARTED_MINUTES) => {
            WatchStep::StartFirst
        }
        None => WatchStep::Fine,
    }
}

pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(members: Option<&str>) -> Guarded {
        Guarded::new("123456789012", "us-east-1", members).unwrap_or_else(|e| panic!("{e}"))
    }

    fn names(list: &PlaceList) -> Vec<String> {
        list.places.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_single_account_guard_has_one_place_and_members_multiply_by_regions() {
        let alone = places(&guarded(None), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&alone), ["123456789012/us-east-1"]);
        assert_eq!(alone.membership, "settings");
        let regions = ["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let listed =
            places(&guarded(Some("210987654321")), &regions, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            names(&listed),
            [
                "123456789012/us-east-1",
                "123456789012/eu-west-1",
                "210987654321/eu-west-1",
                "210987654321/us-east-1"
            ]
        );
        // The organization's accounts come from Organizations (the home one listed too, once).
        let org = places(
            &guarded(Some("organization")),
            &[],
            &["123456789012".to_owned(), "444455556666".to_owned()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(org.membership, "organization");
        assert_eq!(
            names(&org),
            ["123456789012/us-east-1", "444455556666/us-east-1"]
        );
        // What Organizations answers is checked as any input is.
        let bad = places(&guarded(Some("organization")), &[], &["x/../".to_owned()]);
        assert!(bad.is_err());
        let bad_region = places(&guarded(None), &["eu-west-1/x".to_owned()], &[]);
        assert!(bad_region.is_err());
    }

    #[test]
    fn a_lookup_by_source_keeps_what_the_rule_matches_records_first_oldest_first() {
        let call = |name: &str, at: &str, extra: Value| {
            let mut r = json!({"eventSource": SAGEMAKER_SOURCE, "eventName": name,
                               "eventID": format!("{name}-{at}"), "eventTime": at});
            if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
                r.extend(extra.clone());
            }
            r
        };
        let looked_up = vec![
            call("CreateEndpoint", "2026-01-01T00:03:00Z", json!({})),
            call("DescribeEndpoint", "2026-01-01T00:02:30Z", json!({})),
            call(
                "CreateEndpoint",
                "2026-01-01T00:02:00Z",
                json!({"errorCode": "ValidationException"}),
            ),
            call("CreateModel", "2026-01-01T00:02:00Z", json!({})),
            call("CreateEndpointConfig", "2026-01-01T00:01:00Z", json!({})),
            call("CreateEndpoint", "2026-01-01T00:00:00Z", json!({})),
        ];
        let (kept, others) = rule_matched(looked_up);
        let ids: Vec<&str> = kept.iter().filter_map(|r| r["eventID"].as_str()).collect();
        assert_eq!(
            ids,
            [
                "CreateEndpointConfig-2026-01-01T00:01:00Z",
                "CreateModel-2026-01-01T00:02:00Z",
                "CreateEndpoint-2026-01-01T00:00:00Z",
                "CreateEndpoint-2026-01-01T00:03:00Z"
            ]
        );
        assert_eq!(others, 2, "the read and the failed call");
    }

    #[test]
    fn a_step_is_read_strictly_and_any_other_event_is_the_chores() {
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(SweepStep::of(&scheduled).ok(), Some(SweepStep::Chores));
        let look =
            json!({"step": "lookIn", "place": {"account": "210987654321", "region": "eu-west-1"}});
        assert!(matches!(SweepStep::of(&look), Ok(SweepStep::LookIn { .. })));
        for bad in [
            json!({"step": "lookIn"}),
            json!({"step": "lookIn", "place": {"account": "1", "region": "r", "x": 1}}),
            json!({"step": "everything"}),
        ] {
            assert!(SweepStep::of(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unsettled_violation_whose_execution_ended_is_restarted() {
        let verdict: crate::Verdict = serde_json::from_value(json!({
            "version": 1, "eventId": "e1", "eventName": "CreateEndpoint", "eventTime": null,
            "account": null, "region": null, "decision": "violation", "action": "enforce",
            "graceSeconds": 60, "principal": "p", "resource": {"type": "endpoint", "name": "ep", "arn": null},
            "subjects": [], "approvers": [], "reasons": ["r"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let decided = at("2026-12-02T12:00:00Z");
        let mut item = crate::audit::AuditItem::for_verdict(&verdict, decided)
            .unwrap_or_else(|| unreachable!());
        let soon = decided + Duration::minutes(1);
        let later = decided + Duration::minutes(UNSTARTED_MINUTES);
        assert_eq!(watch_step(&item, None, soon), WatchStep::Fine);
        assert_eq!(watch_step(&item, None, later), WatchStep::StartFirst);
        let running = ExecutionStatus::Running;
        assert_eq!(watch_step(&item, Some(&running), later), WatchStep::Fine);
        let aborted = ExecutionStatus::Ended("ABORTED".into());
        assert_eq!(
            watch_step(&item, Some(&aborted), soon),
            WatchStep::Restart {
                from: None,
                status: "ABORTED".into(),
                next: 1
            }
        );
        item.execution = Some("e1_3".into());
        assert_eq!(
            watch_step(&item, Some(&aborted), soon),
            WatchStep::Restart {
                from: Some("e1_3".into()),
                status: "ABORTED".into(),
                next: 4
            }
        );
        assert_eq!(
            watch_step(&item, None, soon),
            WatchStep::Restart {
                from: Some("e1_3".into()),
                status: "not found".into(),
                next: 4
            }
        );
        item.state = crate::audit::AuditState::Enforced;
        assert_eq!(watch_step(&item, Some(&aborted), later), WatchStep::Fine);
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_window_starts_before_the_last_end_and_never_beyond_lookup_events_reach() {
        let now = at("2026-11-28T12:00:00Z");
        let overlap = Duration::minutes(15);
        let first = Duration::hours(1);
        assert_eq!(
            window(Some(at("2026-11-28T11:45:00Z")), now, overlap, first),
            Window {
                start: at("2026-11-28T11:30:00Z"),
                end: now
            }
        );
        assert_eq!(
            window(None, now, overlap, first).start,
            at("2026-11-28T11:00:00Z")
        );
        assert_eq!(
            window(Some(at("2026-01-01T00:00:00Z")), now, overlap, first).start,
            at("2026-08-30T12:00:00Z")
        );
        // A checkpoint in the future (a clock moved back) asks for nothing rather than a negative window.
        assert_eq!(
            window(Some(at("2026-11-29T00:00:00Z")), now, overlap, first).start,
            now
        );
    }

    #[test]
    fn only_what_the_rule_matches_is_submitted() {
        let record = |patch: Value| {
            let mut r = json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateEndpoint",
                "eventID": "e-1", "eventTime": "2026-11-28T11:50:00Z", "awsRegion": "eu-west-1",
                "recipientAccountId": "123456789012"});
            if let (Some(r), Some(p)) = (r.as_object_mut(), patch.as_object()) {
                r.extend(p.clone());
            }
            r
        };
        assert_eq!(skip_reason(&record(json!({}))), None);
        assert_eq!(skip_reason(&record(json!({"errorCode": ""}))), None);
        assert_eq!(
            skip_reason(&record(json!({"errorCode": "ValidationException"}))),
            Some("the call failed (ValidationException)".to_owned())
        );
        assert!(skip_reason(&record(json!({"eventName": "DescribeEndpoint"}))).is_some());
        assert!(skip_reason(&record(json!({"eventSource": "s3.amazonaws.com"}))).is_some());
        assert!(skip_reason(&record(json!({"eventID": ""}))).is_some());
    }

    #[test]
    fn the_envelope_is_what_eventbridge_delivers_and_parses_as_the_same_call() {
        let record = json!({"eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com",
            "eventName": "CreateEndpoint", "eventID": "e-1", "eventTime": "2026-11-28T11:50:00Z",
            "awsRegion": "eu-west-1", "recipientAccountId": "123456789012",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Dev/alice",
                "accountId": "123456789012"},
            "requestParameters": {"endpointName": "ep", "endpointConfigName": "cfg"},
            "responseElements": {"endpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/ep"}});
        let envelope = eventbridge_envelope(&record);
        assert_eq!(envelope["source"], "aws.sagemaker");
        assert_eq!(envelope["detail-type"], "AWS API Call via CloudTrail");
        assert_eq!(envelope["account"], "123456789012");
        assert_eq!(envelope["detail"], record);
        let parsed = crate::parse_event_value(&envelope);
        let from_eventbridge = crate::parse_event_value(&json!({
            "version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-28T11:50:00Z",
            "region": "eu-west-1", "resources": [], "detail": record}));
        assert_eq!(format!("{parsed:?}"), format!("{from_eventbridge:?}"));
        assert!(format!("{parsed:?}").contains("CreateEndpoint"));
    }
}
