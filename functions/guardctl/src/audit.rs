//! `guardctl pending` and `guardctl history`: the decisions table through its two indexes,
//! `byState` (state, decidedAt) and `byResource` (resourceKey, decidedAt). `guardctl undecided`:
//! the ledger of events seen and not decided, beside them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use model_guard_aws::decisions_table::{
    RESOURCE_INDEX, RESOURCE_INDEX_KEY, RESOURCE_INDEX_SORT, STATE_INDEX, STATE_INDEX_KEY,
};
use model_guard_aws::ledger_store::DynamoLedger;
use model_guard_core::audit::{AuditItem, AuditState, FailureRecord, TargetKeys};
use model_guard_core::ledger::LedgerEntry;
use model_guard_core::ports::EventLedger;
use serde_json::Value;

use crate::aws::Aws;
use crate::failure::{Failure, sdk};
use crate::table::{Table, duration};

const ALL_STATES: [AuditState; 8] = [
    AuditState::Evaluated,
    AuditState::Allowed,
    AuditState::Audited,
    AuditState::Notified,
    AuditState::Pending,
    AuditState::Approved,
    AuditState::Enforced,
    AuditState::Failed,
];

#[derive(Args)]
pub struct HistoryArgs {
    /// Only this resource: its name or ARN.
    #[arg(long)]
    pub resource: Option<String>,
    /// Only decisions since then: RFC 3339 (2026-11-28T09:00:00Z) or an age (30m, 24h, 7d).
    /// Default: 24h, or all time with --resource.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

pub async fn pending(aws: &mut Aws, json: bool, now: DateTime<Utc>) -> Result<String, Failure> {
    let table = aws.decisions_table().await?;
    let client = aws.dynamodb().await;
    let mut items = query_state(&client, &table, AuditState::Pending, None, usize::MAX).await?;
    items.sort_by(|a, b| (a.deadline, &a.event_id).cmp(&(b.deadline, &b.event_id)));
    if json {
        let list: Vec<Value> = items
            .iter()
            .map(|item| {
                let mut v = serde_json::to_value(item).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    // The token answers the wait: not for printing.
                    o.remove("taskToken");
                    o.insert(
                        "secondsLeft".to_owned(),
                        item.deadline.map(|d| (d - now).num_seconds()).into(),
                    );
                }
                v
            })
            .collect();
        return pretty(&Value::Array(list));
    }
    if items.is_empty() {
        return Ok("no violations are waiting for approval".to_owned());
    }
    let mut out = Table::new(&[
        "EVENT",
        "RESOURCE",
        "CALLER",
        "ACTION",
        "DEADLINE",
        "LEFT",
        "APPROVERS",
    ])
    .toned("LEFT");
    for item in &items {
        out.row(vec![
            item.event_id.clone(),
            resource(item),
            item.principal.clone(),
            action(item),
            item.deadline.map(time).unwrap_or_default(),
            item.deadline
                .map(|d| duration((d - now).num_seconds()))
                .unwrap_or_default(),
            item.verdict
                .approvers
                .iter()
                .map(|set| set.any_of.join(" | "))
                .collect::<Vec<_>>()
                .join(" & "),
        ]);
    }
    Ok(out.render())
}

pub async fn history(
    aws: &mut Aws,
    args: &HistoryArgs,
    json: bool,
    now: DateTime<Utc>,
) -> Result<String, Failure> {
    let since = match (&args.since, &args.resource) {
        (Some(text), _) => Some(parse_since(text, now)?),
        (None, None) => Some(now - chrono::Duration::hours(24)),
        (None, Some(_)) => None,
    };
    let table = aws.decisions_table().await?;
    let client = aws.dynamodb().await;
    let mut items = match &args.resource {
        Some(resource) => {
            let target = TargetKeys::of(resource);
            let mut found = Vec::new();
            for key in &target.keys {
                let items = query_resource(&client, &table, key, since, args.limit).await?;
                found.extend(items.into_iter().filter(|i| target.holds(i)));
            }
            found
        }
        None => {
            let mut all = Vec::new();
            // Each state's newest `limit`: the newest `limit` of all are among them.
            for state in ALL_STATES {
                all.extend(query_state(&client, &table, state, since, args.limit).await?);
            }
            all
        }
    };
    items.sort_by(|a, b| (b.decided_at, &b.event_id).cmp(&(a.decided_at, &a.event_id)));
    items.truncate(args.limit);
    if json {
        let list: Vec<Value> = items
            .iter()
            .map(|item| {
                let mut v = serde_json::to_value(item).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.remove("taskToken");
                }
                v
            })
            .collect();
        return pretty(&Value::Array(list));
    }
    if items.is_empty() {
        return Ok(match since {
            Some(since) => format!("no decisions since {}", time(since)),
            None => "no decisions".to_owned(),
        });
    }
    let mut out =
        Table::new(&["DECIDED", "STATE", "RESOURCE", "CALLER", "EVENT", "DETAIL"]).toned("STATE");
    for item in &items {
        out.row(vec![
            time(item.decided_at),
            item.state.as_str().to_owned(),
            resource(item),
            item.principal.clone(),
            item.event_id.clone(),
            detail(item),
        ]);
    }
    Ok(out.render())
}

/// The ledger's entries, oldest first: events the guard saw and has not decided (a triage failed
/// on them, or is still running), how often the sweep submitted them, and why they failed.
pub async fn undecided(aws: &mut Aws, json: bool, now: DateTime<Utc>) -> Result<String, Failure> {
    let table = aws.decisions_table().await?;
    let ledger = DynamoLedger::new(aws.dynamodb().await, &table);
    let entries = ledger.entries().await.map_err(Failure::guard)?;
    let mut readable = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => readable.push(entry),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let call = |entry: &LedgerEntry| -> (String, String) {
        let envelope: Value = serde_json::from_str(&entry.envelope).unwrap_or(Value::Null);
        let text = |pointer: &str| {
            envelope
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        (text("/detail/eventName"), text("/detail/userIdentity/arn"))
    };
    if json {
        let list: Vec<Value> = readable
            .iter()
            .map(|entry| {
                let mut v = serde_json::to_value(entry).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    let envelope: Value =
                        serde_json::from_str(&entry.envelope).unwrap_or(Value::Null);
                    o.insert("envelope".to_owned(), envelope);
                }
                v
            })
            .chain(
                problems
                    .iter()
                    .map(|p| serde_json::json!({"unreadable": p})),
            )
            .collect();
        return pretty(&Value::Array(list));
    }
    if readable.is_empty() && problems.is_empty() {
        return Ok("no undecided events: every event the guard saw is decided".to_owned());
    }
    let mut out = Table::new(&[
        "FIRST SEEN",
        "AGE",
        "EVENT",
        "CALL",
        "CALLER",
        "ATTEMPTS",
        "FAILURE",
    ]);
    for entry in &readable {
        let (name, caller) = call(entry);
        out.row(vec![
            time(entry.first_seen_at),
            duration((now - entry.first_seen_at).num_seconds()),
            entry.event_id.clone(),
            name,
            caller,
            entry.attempts.to_string(),
            entry.failure.as_ref().map(failure_text).unwrap_or_default(),
        ]);
    }
    let mut text = out.render();
    for problem in problems {
        text.push_str(&format!("\nunreadable ledger entry: {problem}"));
    }
    Ok(text)
}

/// A ledger failure in a line: the step's error, and the first line of its cause (the cause as
/// Step Functions caught it is JSON with `Error` and `Cause`).
fn failure_text(failure: &FailureRecord) -> String {
    let caught: Value = serde_json::from_str(&failure.cause).unwrap_or(Value::Null);
    let cause = caught
        .get("Cause")
        .and_then(Value::as_str)
        .unwrap_or(&failure.cause);
    // A Lambda error's cause is its own JSON ({"errorType", "errorMessage"}).
    let inner: Value = serde_json::from_str(cause).unwrap_or(Value::Null);
    let message = inner
        .get("errorMessage")
        .and_then(Value::as_str)
        .unwrap_or(cause);
    let line: String = message
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect();
    format!("{}: {line}", failure.error)
}

fn pretty(value: &Value) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map_err(Failure::cannot_print)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn resource(item: &AuditItem) -> String {
    item.verdict
        .resource
        .as_ref()
        .map(|r| format!("{} {}", r.resource_type, r.name))
        .unwrap_or_default()
}

fn action(item: &AuditItem) -> String {
    serde_json::to_value(item.verdict.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What a row needs to say beyond its state.
fn detail(item: &AuditItem) -> String {
    if let Some(approval) = &item.approval {
        return format!(
            "{} by {}: {}",
            approval.decision.as_str(),
            approval.by,
            approval.reason
        );
    }
    if let Some(failure) = &item.failure {
        return format!("{}: {}", failure.error, failure.cause);
    }
    if let Some(enforcement) = &item.enforcement {
        return serde_json::to_value(enforcement.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
    }
    match item.state {
        AuditState::Pending => item
            .deadline
            .map(|d| format!("deadline {}", time(d)))
            .unwrap_or_default(),
        _ => item.verdict.reasons.first().cloned().unwrap_or_default(),
    }
}

/// `30m`, `24h`, `7d` before `now`, or an RFC 3339 time.
fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Failure> {
    let bad = || {
        Failure::bad_input(
            format!("--since {text:?} is neither a time nor an age"),
            "give an RFC 3339 time (2026-11-28T09:00:00Z) or an age (30m, 24h, 7d)",
        )
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let (number, unit) = [("m", 60), ("h", 3600), ("d", 86_400)]
        .into_iter()
        .find_map(|(suffix, unit)| text.strip_suffix(suffix).map(|n| (n, unit)))
        .ok_or_else(bad)?;
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = n.checked_mul(unit).filter(|s| *s >= 0).ok_or_else(bad)?;
    chrono::Duration::try_seconds(seconds)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(bad)
}

fn since_text(since: DateTime<Utc>) -> String {
    // The same form as decidedAt (milliseconds, Z), so the string comparison is a time comparison.
    since.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn items(
    found: Vec<HashMap<String, AttributeValue>>,
    table: &str,
) -> Result<Vec<AuditItem>, Failure> {
    found
        .into_iter()
        .map(|i| {
            serde_dynamo::from_item(i).map_err(|e| {
                Failure::bad_input(
                    format!("table {table}: an item is not an audit item: {e}"),
                    "is --decisions-table (MODEL_GUARD_DECISIONS_TABLE) the guard's decisions \
                     table, written by the same version of Model Guard as this guardctl?",
                )
            })
        })
        .collect()
}

/// One of the decisions table's indexes, newest first: the items whose `key_attribute` is `key`,
/// decided since `since`, at most `limit`.
async fn query_index(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    (index, key_attribute, key): (&str, &str, &str),
    since: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<AuditItem>, Failure> {
    let mut query = client
        .query()
        .table_name(table)
        .index_name(index)
        .scan_index_forward(false)
        .expression_attribute_names("#key", key_attribute)
        .expression_attribute_values(":key", AttributeValue::S(key.to_owned()));
    query = match since {
        Some(since) => query
            .key_condition_expression("#key = :key AND #at >= :since")
            .expression_attribute_names("#at", RESOURCE_INDEX_SORT)
            .expression_attribute_values(":since", AttributeValue::S(since_text(since))),
        None => query.key_condition_expression("#key = :key"),
    };
    let mut found = Vec::new();
    let mut pages = query.into_paginator().items().send();
    while found.len() < limit
        && let Some(item) = pages.next().await
    {
        found.push(item.map_err(|e| sdk(&format!("Query {table} index {index}"), &e))?);
    }
    // Both indexes hold keys only: the items come from the table.
    let found = model_guard_aws::keyed_reads::items_for(client, table, key_attribute, found)
        .await
        .map_err(Failure::guard)?;
    items(found, table)
}

async fn query_state(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    state: AuditState,
    since: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<AuditItem>, Failure> {
    let key = (STATE_INDEX, STATE_INDEX_KEY, state.as_str());
    query_index(client, table, key, since, limit).await
}

async fn query_resource(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    resource_key: &str,
    since: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<AuditItem>, Failure> {
    let key = (RESOURCE_INDEX, RESOURCE_INDEX_KEY, resource_key);
    query_index(client, table, key, since, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_age_or_a_time() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let at = |s: &str| parse_since(s, now).map(time).map_err(|e| e.to_string());
        assert_eq!(at("30m"), Ok("2026-11-28T11:30:00Z".to_owned()));
        assert_eq!(at("24h"), Ok("2026-11-27T12:00:00Z".to_owned()));
        assert_eq!(at("7d"), Ok("2026-11-21T12:00:00Z".to_owned()));
        assert_eq!(
            at("2026-11-28T09:00:00+01:00"),
            Ok("2026-11-28T08:00:00Z".to_owned())
        );
        for bad in [
            "",
            "h",
            "5w",
            "-3d",
            "99999999999999d",
            "yesterday",
            "5é",
            "é",
        ] {
            assert!(at(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
