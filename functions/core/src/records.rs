//! Records of what SageMaker was asked to create (docs/design.md, "Records"): every
//! CreateModel and CreateEndpointConfig with its content as given, and every Delete of them. A
//! deployment is judged by the version of each model and config that was current at the call,
//! not by whatever the name points to when Evaluate runs: a name can be deleted and created
//! again, with other content, within the second of the call.
//!
//! CloudTrail's `eventTime` has whole seconds, and EventBridge does not order events, so
//! [`versions_at_call`] works from seconds alone and keeps every version that may have been
//! current; it says when the records it needs have not arrived yet.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::{Action, Decision, Verdict, Version1};

/// What is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    Model,
    EndpointConfig,
    /// An AutoML job: who created it, and what it was asked to deploy (the parent of the
    /// endpoint it deploys, `children`).
    #[serde(rename = "automl-job")]
    AutoMlJob,
    /// A monitoring schedule: who last created or changed it (the parent of the processing jobs
    /// it runs, `children`).
    MonitoringSchedule,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Model => "model",
            RecordKind::EndpointConfig => "endpoint-config",
            RecordKind::AutoMlJob => "automl-job",
            RecordKind::MonitoringSchedule => "monitoring-schedule",
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::Model => "model",
            RecordKind::EndpointConfig => "endpoint config",
            RecordKind::AutoMlJob => "AutoML job",
            RecordKind::MonitoringSchedule => "monitoring schedule",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordOp {
    Create,
    Delete,
}

/// What a create asked for, as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordContent {
    /// The model's or the config's own execution role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// An endpoint config's models: those of its production and shadow variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// A model's containers: images, model data, packages. `None` where the create's were
    /// unreadable (or the record predates them): the content is not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<crate::content::ContainerContent>>,
    /// The create's `requestParameters` as CloudTrail logged them, less `tags`: containers,
    /// images, artifacts and variants, as given. (A decision reads the role, the models and the
    /// containers; the records table then leaves this out.)
    #[serde(default)]
    pub given: Value,
}

/// One recorded call: ParseEvent's output for a recorded call, and an item of the records table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRecord {
    pub version: Version1,
    pub kind: RecordKind,
    /// The name as the call gave it.
    pub name: String,
    pub op: RecordOp,
    pub event_id: String,
    /// CloudTrail's `eventTime` (whole seconds, UTC).
    pub event_time: DateTime<Utc>,
    pub principal: String,
    /// A create's content; `None` for a delete, or a create whose `requestParameters`
    /// CloudTrail left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<RecordContent>,
    /// Where the call was made, as the guard keys what it keeps: absent in the guard's own
    /// account and region, else `<account>/<region>` (`organization::Guarded::scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl ResourceRecord {
    /// The records table's partition key: every version of one name (SageMaker names ignore
    /// case) in one account and region (`scope`, see `organization`).
    pub fn partition_key(kind: RecordKind, name: &str, scope: Option<&str>) -> String {
        crate::organization::scoped(
            format!("{}#{}", kind.as_str(), name.to_ascii_lowercase()),
            scope,
        )
    }

    /// This record's partition key.
    pub fn key(&self) -> String {
        ResourceRecord::partition_key(self.kind, &self.name, self.scope.as_deref())
    }

    /// The sort key: a re-created name is another record, in call order (to the second).
    pub fn sort_key(&self) -> String {
        format!(
            "{}#{}",
            self.event_time
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.event_id
        )
    }

    fn second(&self) -> DateTime<Utc> {
        whole_second(self.event_time)
    }

    /// How a reason names it.
    pub fn describe(&self) -> String {
        let call = match (self.kind, self.op) {
            (RecordKind::Model, RecordOp::Create) => "CreateModel",
            (RecordKind::Model, RecordOp::Delete) => "DeleteModel",
            (RecordKind::EndpointConfig, RecordOp::Create) => "CreateEndpointConfig",
            (RecordKind::EndpointConfig, RecordOp::Delete) => "DeleteEndpointConfig",
            (RecordKind::AutoMlJob, RecordOp::Create) => "CreateAutoMLJob",
            // AutoML jobs are not deleted, only stopped.
            (RecordKind::AutoMlJob, RecordOp::Delete) => "an AutoML job's deletion",
            // A create or an update: either sets what the schedule runs.
            (RecordKind::MonitoringSchedule, RecordOp::Create) => "Create/UpdateMonitoringSchedule",
            (RecordKind::MonitoringSchedule, RecordOp::Delete) => "DeleteMonitoringSchedule",
        };
        format!(
            "{call} at {} (event {})",
            self.event_time
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.event_id
        )
    }
}

impl ResourceRecord {
    /// What `guardctl explain` (and Evaluate, should a record reach it) says of a recorded call:
    /// nothing to judge; deployments that use it are judged by it.
    pub fn as_verdict(&self) -> Verdict {
        let content = match (&self.content, self.op) {
            (_, RecordOp::Delete) => String::new(),
            (Some(c), _) if c.models.is_empty() => format!(
                " (execution role {})",
                c.execution_role_arn.as_deref().unwrap_or("none")
            ),
            (Some(c), _) => format!(
                " (models {}; execution role {})",
                c.models.join(", "),
                c.execution_role_arn.as_deref().unwrap_or("none")
            ),
            (None, _) => " (its requestParameters were left out of the event: the version is \
                           judged by a describe where that is safe, else as unresolvable)"
                .to_owned(),
        };
        Verdict {
            version: Version1,
            event_id: Some(self.event_id.clone()),
            event_name: Some(
                self.describe()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            event_time: Some(
                self.event_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            account: None,
            region: None,
            decision: Decision::Ignored,
            action: Action::None,
            grace_seconds: 0,
            principal: None,
            person: None,
            source_identity: None,
            resource: None,
            subjects: Vec::new(),
            approvers: Vec::new(),
            reasons: vec![format!(
                "recorded, not judged: {} {}{content}; deployments that use it are judged by \
                 what it was at their call",
                self.kind, self.name
            )],
            started_by: None,
            observed: false,
            restorable: None,
            rollback_to: None,
            scope: self.scope.clone(),
        }
    }
}

/// The most records of one name a decision reads. A name created and deleted more often than
/// this (by someone who wants Evaluate to run out of time) cannot be placed: unresolvable.
pub const MAX_HISTORY: usize = 2000;

/// A name's records, as the records table gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub records: Vec<ResourceRecord>,
    /// There were more than [`MAX_HISTORY`]; these are the newest.
    pub truncated: bool,
}

pub fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

/// Whether a resource SageMaker says it created at `created` is another than the one a call
/// CloudTrail stamped `call` made (the name made again since). CloudTrail's `eventTime` has whole
/// seconds and is when the call arrived: a call stamped second T that arrived late in T is often
/// made during T+1 (and the two services' clocks differ by a little). Only a creation in a later
/// second than T+1 is another resource; within it, a name made again is made by another call,
/// itself judged.
pub fn created_after_the_call(created: DateTime<Utc>, call: DateTime<Utc>) -> bool {
    whole_second(created) > whole_second(call) + TimeDelta::seconds(1)
}

/// A version of a name that may have been current at the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version<'a> {
    /// Judged by its record's content.
    Recorded(&'a ResourceRecord),
    /// The version SageMaker describes now, whose record carries no content (CloudTrail left its
    /// parameters out): judged by the describe.
    Described(&'a ResourceRecord),
}

/// What the records say a name was at the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtCall<'a> {
    /// Every version that may have been current; more than one when the name was deleted and
    /// created again within the call's second.
    Versions(Vec<Version<'a>>),
    /// A record the answer needs has not arrived (EventBridge does not order events); why.
    Incomplete(String),
}

/// What SageMaker says of a name now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    /// It exists, created at this time.
    CreatedAt(DateTime<Utc>),
    /// It exists, and the describe gave no creation time.
    Exists,
    /// It is gone.
    Gone,
}

/// The versions of a name that may have been current at a call in second `call`, from its
/// records (creates and deletes, any order) and what SageMaker says of it [`Now`].
///
/// A create in second `c` may have been current unless something else happened to the name
/// strictly between `c` and `call` (a delete, or another create, which needs a delete first):
/// within one second, order is unknown, so both sides of a same-second re-creation are kept.
///
/// The records are complete enough only when:
/// - the version described now has its create on record (in its second, or the one before:
///   CloudTrail's clock and SageMaker's stamp the same call apart);
/// - if it came after the call (or the name is gone), the version the call used has its delete
///   on record too;
/// - the deletes on record, and what exists now, need no version whose create is not on record
///   (one that existed before Model Guard saw it) — or that version ended before the call.
pub fn versions_at_call(records: &[ResourceRecord], call: DateTime<Utc>, now: Now) -> AtCall<'_> {
    let call = whole_second(call);
    let creates = || records.iter().filter(|r| r.op == RecordOp::Create);
    // Every second something happened to the name, ascending.
    let mut seconds: Vec<DateTime<Utc>> = records.iter().map(ResourceRecord::second).collect();
    seconds.sort_unstable();
    seconds.dedup();
    // Whether something happened strictly between `after` and the call.
    let between = |after: DateTime<Utc>| {
        let next = seconds.partition_point(|s| *s <= after);
        seconds.get(next).is_some_and(|s| *s < call)
    };
    let candidates: Vec<&ResourceRecord> = creates()
        .filter(|c| c.second() <= call && !between(c.second()))
        .collect();
    let deleted_since = || {
        records
            .iter()
            .any(|r| r.op == RecordOp::Delete && r.second() >= call)
    };
    if let Some(end) = unrecorded_version_end(records, now).filter(|d| *d >= call) {
        return AtCall::Incomplete(format!(
            "it was deleted at {}, and a version whose create is not on record (made before Model \
             Guard saw it) may be the one the call used",
            end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    let described = match now {
        Now::CreatedAt(t) => Some(whole_second(t)),
        Now::Exists | Now::Gone => None,
    };
    // The create of the version described now: in its second, or the one before.
    let is_described = |c: &ResourceRecord| {
        described.is_some_and(|d| c.second() == d || c.second() + TimeDelta::seconds(1) == d)
    };
    match (now, described) {
        (_, Some(now)) if now <= call => {
            // The version described now may be the one at the call: its create must be known.
            if !creates().any(is_described) {
                return AtCall::Incomplete(format!(
                    "it was created at {}, and that create is not on record",
                    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
        }
        (_, Some(now)) => {
            if candidates.is_empty() || !deleted_since() {
                return AtCall::Incomplete(format!(
                    "it was created again at {}, after the call, and the version the call used \
                     is not on record (its create and its delete)",
                    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
        }
        (Now::Gone, _) => {
            if candidates.is_empty() || !deleted_since() {
                return AtCall::Incomplete(
                    "it is gone, and the version the call used is not on record (its create and \
                     its delete)"
                        .to_owned(),
                );
            }
        }
        // No time to check the records against: the candidates are all there is to go by.
        (_, None) => {}
    }
    if candidates.is_empty() {
        return AtCall::Incomplete("no record of a create before the call".to_owned());
    }
    let versions = candidates
        .into_iter()
        .map(|c| {
            // Only the version described now can stand in for a record without content, and
            // only when no other create may be it.
            let alone = creates().filter(|o| is_described(o)).count() == 1;
            if c.content.is_none() && alone && is_described(c) {
                Version::Described(c)
            } else {
                Version::Recorded(c)
            }
        })
        .collect();
    AtCall::Versions(versions)
}

/// When a version whose create is not on record may have ended: the last delete on record, if
/// the deletes and what exists now need more versions than the creates on record give (each
/// delete ends one version, and a name that exists now has one more).
fn unrecorded_version_end(records: &[ResourceRecord], now: Now) -> Option<DateTime<Utc>> {
    let creates = records.iter().filter(|r| r.op == RecordOp::Create).count();
    let deletes = records.iter().filter(|r| r.op == RecordOp::Delete);
    let alive = usize::from(!matches!(now, Now::Gone));
    (alive + deletes.clone().count() > creates)
        .then(|| deletes.map(ResourceRecord::second).max())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_made_in_the_second_after_the_calls_is_the_calls() {
        let call = at("2026-12-06T04:58:47Z");
        // Found by the chaos soak: a call stamped 47 whose resource SageMaker stamped 48.003 was
        // judged "another one under the same name", and failed closed.
        for same in [
            "2026-12-06T04:58:46.500Z",
            "2026-12-06T04:58:47.999Z",
            "2026-12-06T04:58:48.003Z",
            "2026-12-06T04:58:48.999Z",
        ] {
            assert!(!created_after_the_call(at(same), call), "{same}");
        }
        for another in ["2026-12-06T04:58:49Z", "2026-12-06T05:58:47Z"] {
            assert!(created_after_the_call(at(another), call), "{another}");
        }
    }
    use serde_json::json;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    fn record(op: RecordOp, time: &str, id: &str, role: &str) -> ResourceRecord {
        ResourceRecord {
            version: Version1,
            kind: RecordKind::EndpointConfig,
            name: "cfg".into(),
            op,
            event_id: id.into(),
            event_time: at(time),
            principal: "arn:aws:iam::1:role/X".into(),
            content: (op == RecordOp::Create).then(|| RecordContent {
                execution_role_arn: Some(role.into()),
                models: vec![format!("model-of-{id}")],
                containers: None,
                given: json!({}),
            }),
            scope: None,
        }
    }
    fn create(time: &str, id: &str) -> ResourceRecord {
        record(RecordOp::Create, time, id, "r")
    }
    fn delete(time: &str, id: &str) -> ResourceRecord {
        record(RecordOp::Delete, time, id, "r")
    }

    fn ids(at_call: &AtCall) -> Vec<String> {
        match at_call {
            AtCall::Versions(v) => v
                .iter()
                .map(|v| match v {
                    Version::Recorded(r) => r.event_id.clone(),
                    Version::Described(r) => format!("described:{}", r.event_id),
                })
                .collect(),
            AtCall::Incomplete(why) => vec![format!("incomplete: {why}")],
        }
    }

    const CALL: &str = "2026-11-20T10:15:30Z";

    #[test]
    fn a_pipeline_within_one_second_is_judged_by_its_one_version() {
        let records = [create("2026-11-20T10:15:30Z", "c1")];
        let at_call = versions_at_call(
            &records,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:15:30.400Z")),
        );
        assert_eq!(ids(&at_call), ["c1"]);
    }

    #[test]
    fn a_re_creation_within_the_calls_second_keeps_both_versions() {
        // The attack: deploy the forbidden config, then within the second delete it and create
        // an allowed one under the same name.
        let records = [
            create("2026-11-20T10:00:00Z", "forbidden"),
            delete("2026-11-20T10:15:30Z", "d1"),
            create("2026-11-20T10:15:30Z", "allowed"),
        ];
        let at_call = versions_at_call(
            &records,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:15:30.900Z")),
        );
        assert_eq!(ids(&at_call), ["forbidden", "allowed"]);
    }

    #[test]
    fn the_records_of_a_re_creation_not_yet_arrived_are_waited_for() {
        let old = [create("2026-11-20T10:00:00Z", "forbidden")];
        let at_call = versions_at_call(
            &old,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:15:30.900Z")),
        );
        assert!(
            ids(&at_call)[0].contains("that create is not on record"),
            "{at_call:?}"
        );
        // Created after the call, before the delete record arrived.
        let at_call = versions_at_call(&old, at(CALL), Now::CreatedAt(at("2026-11-20T10:20:00Z")));
        assert!(ids(&at_call)[0].contains("created again"), "{at_call:?}");
        // Gone, before the delete record arrived.
        let at_call = versions_at_call(&old, at(CALL), Now::Gone);
        assert!(ids(&at_call)[0].contains("it is gone"), "{at_call:?}");
        // No record at all.
        assert!(ids(&versions_at_call(&[], at(CALL), Now::Gone))[0].starts_with("incomplete"));
    }

    #[test]
    fn a_version_deleted_after_the_call_is_the_one_judged() {
        let records = [
            create("2026-11-20T10:00:00Z", "used"),
            delete("2026-11-20T10:16:00Z", "d1"),
            create("2026-11-20T10:16:00Z", "later"),
        ];
        let at_call = versions_at_call(
            &records,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:16:00.100Z")),
        );
        assert_eq!(ids(&at_call), ["used"]);
        let gone = [
            create("2026-11-20T10:00:00Z", "used"),
            delete("2026-11-20T10:15:31Z", "d"),
        ];
        assert_eq!(ids(&versions_at_call(&gone, at(CALL), Now::Gone)), ["used"]);
    }

    #[test]
    fn versions_replaced_before_the_call_are_not_candidates() {
        let records = [
            create("2026-11-20T09:00:00Z", "first"),
            delete("2026-11-20T09:30:00Z", "d1"),
            create("2026-11-20T09:30:00Z", "second"),
            // Its delete never arrived; the third create shows it was gone before the call.
            create("2026-11-20T10:00:00Z", "third"),
        ];
        let at_call = versions_at_call(
            &records,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:00:00.500Z")),
        );
        assert_eq!(ids(&at_call), ["third"]);
    }

    #[test]
    fn a_record_without_content_stands_for_the_version_described_now() {
        let mut bare = create("2026-11-20T10:15:30Z", "c1");
        bare.content = None;
        let records = [bare];
        let at_call = versions_at_call(
            &records,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:15:30.400Z")),
        );
        assert_eq!(ids(&at_call), ["described:c1"]);
        // Not when the name was created again since: the content is unknown.
        let mut bare = create("2026-11-20T10:00:00Z", "c1");
        bare.content = None;
        let records = [
            bare,
            delete("2026-11-20T10:16:00Z", "d"),
            create("2026-11-20T10:16:00Z", "c2"),
        ];
        let at_call = versions_at_call(
            &records,
            at(CALL),
            Now::CreatedAt(at("2026-11-20T10:16:00.100Z")),
        );
        assert_eq!(ids(&at_call), ["c1"]);
        assert!(
            matches!(&at_call, AtCall::Versions(v) if matches!(v[0], Version::Recorded(r) if r.content.is_none()))
        );
    }

    #[test]
    fn keys_keep_every_version_of_a_name_apart() {
        let a = create("2026-11-20T10:15:30Z", "e1");
        let b = create("2026-11-20T10:15:30Z", "e2");
        assert_eq!(
            ResourceRecord::partition_key(RecordKind::EndpointConfig, "CFG", None),
            "endpoint-config#cfg"
        );
        assert_ne!(a.sort_key(), b.sort_key());
        assert_eq!(a.sort_key(), "2026-11-20T10:15:30Z#e1");
    }

    proptest::proptest! {
        /// Whatever a name's life, the version current at the call is among those judged, or
        /// the answer is that the records cannot tell; and with every record there, they can.
        /// `pre_existing`: the name's first version was made before Model Guard saw it, so its
        /// create is not on record (a config from before the guard was deployed).
        #[test]
        fn the_version_at_the_call_is_always_judged(
            // A name's life: creates and deletes alternate, each some seconds after the last.
            gaps in proptest::collection::vec(0i64..3, 1..8),
            call_offset in 0i64..12,
            // Where in its second the call falls: before, between or after that second's events.
            call_ms in 0i64..100,
            pre_existing in proptest::bool::ANY,
        ) {
            let start = at("2026-11-20T10:00:00Z");
            let mut records = Vec::new();
            let mut t = start;
            let mut live: Option<String> = pre_existing.then(|| "pre".to_owned());
            let mut current_at_call: Option<Option<String>> = None;
            let call = start + TimeDelta::seconds(call_offset) + TimeDelta::milliseconds(call_ms);
            for (i, gap) in gaps.iter().enumerate() {
                t += TimeDelta::seconds(*gap) + TimeDelta::milliseconds(10);
                let id = format!("e{i}");
                let op = if live.is_none() { RecordOp::Create } else { RecordOp::Delete };
                // What was current at the instant of the call, in true order.
                if t > call && current_at_call.is_none() {
                    current_at_call = Some(live.clone());
                }
                live = (op == RecordOp::Create).then(|| id.clone());
                let mut r = record(op, "2026-11-20T10:00:00Z", &id, "r");
                r.event_time = whole_second(t);
                records.push(r);
            }
            let current_at_call = current_at_call.unwrap_or_else(|| live.clone());
            // A deployment needs its config: a call when none existed is no case.
            let Some(current_at_call) = current_at_call else {
                return Ok(());
            };
            let described = match &live {
                None => Now::Gone,
                Some(id) if id == "pre" => Now::CreatedAt(start - TimeDelta::hours(1)),
                Some(_) => Now::CreatedAt(t),
            };
            match versions_at_call(&records, call, described) {
                AtCall::Versions(versions) => {
                    let judged: Vec<String> = versions.iter().map(|v| match v {
                        Version::Recorded(r) | Version::Described(r) => r.event_id.clone(),
                    }).collect();
                    proptest::prop_assert!(judged.contains(&current_at_call),
                        "{current_at_call} not in {judged:?} ({records:?})");
                }
                AtCall::Incomplete(why) => proptest::prop_assert!(pre_existing,
                    "complete records, yet: {why}"),
            }
        }
    }
}
