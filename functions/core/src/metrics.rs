//! The guard's CloudWatch metrics, as Embedded Metric Format records: one JSON line in a
//! function's log, which CloudWatch turns into metrics with no API call of the function's own
//! ("Specification: Embedded metric format",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//! The stack's dashboard and alarms read these names (cdk/lib/dashboard.ts).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::contract::{Decision, Verdict};

/// Every metric of the guard is in this namespace.
pub const NAMESPACE: &str = "ModelGuard";

/// A decision Evaluate recorded (once per event: a duplicate delivery is not counted again).
pub const DECISIONS: &str = "Decisions";
/// Milliseconds from the call (`eventTime`) to its verdict.
pub const TIME_TO_VERDICT: &str = "TimeToVerdict";
/// An enforcement Enforce carried out, by outcome.
pub const ENFORCEMENTS: &str = "Enforcements";
/// Milliseconds from the call to its enforcement.
pub const TIME_TO_ENFORCEMENT: &str = "TimeToEnforcement";
/// Calls EventBridge never delivered that the sweep found and submitted.
pub const RECOVERED_EVENTS: &str = "RecoveredEvents";
/// Violations waiting for an approval or their grace's end, as the health check counted them.
pub const PENDING_APPROVALS: &str = "PendingApprovals";

/// One EMF record: `values` (name, value, unit) under the `dimensions` given (name, value), at
/// `at`. The dimension values and the metrics are the record's own top-level members.
pub fn record(
    at: DateTime<Utc>,
    dimensions: &[(&str, &str)],
    values: &[(&str, f64, &str)],
) -> Value {
    let mut line = Map::new();
    line.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": values.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        line.insert((*name).to_owned(), json!(value));
    }
    for (name, value, _) in values {
        line.insert((*name).to_owned(), json!(value));
    }
    Value::Object(line)
}

/// Milliseconds from the verdict's call to `now`, when its time is known and not in the future.
fn since_call(verdict: &Verdict, now: DateTime<Utc>) -> Option<f64> {
    let call = verdict.event_time.as_deref()?;
    let call = DateTime::parse_from_rfc3339(call).ok()?.with_timezone(&Utc);
    let elapsed = (now - call).num_milliseconds();
    // A clock far off, or a forged time, makes no latency: counted, not timed.
    (0..=86_400_000)
        .contains(&elapsed)
        .then_some(elapsed as f64)
}

fn resource_type(verdict: &Verdict) -> &'static str {
    verdict
        .resource
        .as_ref()
        .map_or("none", |r| r.resource_type.as_str())
}

/// One of `count`, and `timer` since the verdict's call, under `dimensions`.
fn counted_and_timed(
    count: &str,
    timer: &str,
    dimensions: &[(&str, &str)],
    verdict: &Verdict,
    now: DateTime<Utc>,
) -> Value {
    let mut values = vec![(count, 1.0, "Count")];
    if let Some(ms) = since_call(verdict, now) {
        values.push((timer, ms, "Milliseconds"));
    }
    record(now, dimensions, &values)
}

/// Evaluate's decision: one `Decisions` by decision and resource type, and `TimeToVerdict`.
pub fn decision(verdict: &Verdict, now: DateTime<Utc>) -> Value {
    let decision = match verdict.decision {
        Decision::Allow => "allow",
        Decision::Violation => "violation",
        Decision::Ignored => "ignored",
    };
    counted_and_timed(
        DECISIONS,
        TIME_TO_VERDICT,
        &[
            ("Decision", decision),
            ("ResourceType", resource_type(verdict)),
        ],
        verdict,
        now,
    )
}

/// Enforce's outcome (`deleted`, `stopped`, `rolled-back`, …): one `Enforcements` by outcome
/// and resource type, and `TimeToEnforcement`.
pub fn enforcement(verdict: &Verdict, outcome: &str, now: DateTime<Utc>) -> Value {
    counted_and_timed(
        ENFORCEMENTS,
        TIME_TO_ENFORCEMENT,
        &[
            ("Outcome", outcome),
            ("ResourceType", resource_type(verdict)),
        ],
        verdict,
        now,
    )
}

/// The sweep's look-in of one place: the calls it submitted.
pub fn recovered(submitted: usize, now: DateTime<Utc>) -> Value {
    record(now, &[], &[(RECOVERED_EVENTS, submitted as f64, "Count")])
}

/// The health check's count of violations waiting (a dashboard cannot read DynamoDB).
pub fn pending(count: usize, now: DateTime<Utc>) -> Value {
    record(now, &[], &[(PENDING_APPROVALS, count as f64, "Count")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_no_dimensions_has_one_empty_dimension_set() {
        let at = DateTime::from_timestamp_millis(1_764_900_000_000).unwrap_or_default();
        let line = pending(3, at);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(line[PENDING_APPROVALS], json!(3.0));
        assert_eq!(line["_aws"]["Timestamp"], json!(1_764_900_000_000_i64));
    }
}
