//! The watch function: the guard watching itself.
//!
//! - From the policy table's DynamoDB stream (NEW_AND_OLD_IMAGES): each change alerted on the
//!   guard topic, field by field, with what it means (`model_guard_core::policy_change`). Who made
//!   it is in the table's CloudTrail data event, which the `PolicyWrites` tamper rule alerts. A
//!   record that cannot be read fails the batch, so that Lambda retries it and, in the end, the
//!   event source mapping's failure destination keeps it: a policy change is never dropped silently.
//! - From the guard topic (an SNS subscription): every message kept in the decisions table
//!   (`model_guard_core::guard_log`), for `guardctl status`.

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sns::SnsEvent;
use chrono::{DateTime, Utc};
use model_guard_core::guard_log::guard_alert_record;
use model_guard_core::notification::render_policy_change;
use model_guard_core::policy_change::policy_change;
use model_guard_core::ports::{GuardAlertLog, Notifier};
use model_guard_core::{ErrorKind, GuardError};
use serde::Serialize;
use serde_json::Value;

pub struct Ports<N, L> {
    pub notifier: N,
    pub log: L,
}

/// What one invocation did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WatchReport {
    /// The policy items whose change was alerted, with the alert's message ID.
    pub policy_changes: Vec<(String, String)>,
    /// The guard-topic messages kept (new ones; a redelivery is kept once).
    pub kept: Vec<String>,
}

pub async fn handle<N, L>(event: Value, ports: &Ports<N, L>) -> Result<WatchReport, GuardError>
where
    N: Notifier,
    L: GuardAlertLog,
{
    let source = event
        .pointer("/Records/0/eventSource")
        .or_else(|| event.pointer("/Records/0/EventSource"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match source.as_str() {
        "aws:dynamodb" => policy_changes(event, ports).await,
        "aws:sns" => keep_messages(event, ports).await,
        _ => Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!(
                "neither a DynamoDB stream batch nor an SNS delivery (Records[0].eventSource {source:?})"
            ),
        )),
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> GuardError {
    GuardError::new(ErrorKind::InvalidInput, format!("{what}: {e}"))
}

async fn policy_changes<N: Notifier, L>(
    event: Value,
    ports: &Ports<N, L>,
) -> Result<WatchReport, GuardError> {
    let batch: StreamEvent =
        serde_json::from_value(event).map_err(|e| invalid("stream batch", e))?;
    let mut report = WatchReport::default();
    for record in batch.records {
        let old = image(&record.event_id, record.change.old_image)?;
        let new = image(&record.event_id, record.change.new_image)?;
        let at: Option<DateTime<Utc>> =
            Some(record.change.approximate_creation_date_time).filter(|t| t.timestamp() > 0);
        let change = policy_change(&record.event_id, at, old.as_ref(), new.as_ref())?;
        // One alert per record, each published before the next: a failure fails the batch, and
        // Lambda retries from this record (the mapping bisects and keeps what never succeeds).
        let message_id = ports
            .notifier
            .publish(&render_policy_change(&change))
            .await?;
        tracing::warn!(
            pk = %change.pk, change = change.change.as_str(), fields = change.fields.len(),
            warnings = ?change.warnings, message_id = %message_id, "policy change alerted"
        );
        report.policy_changes.push((change.pk, message_id));
    }
    Ok(report)
}

/// A stream record's image as JSON; `None` when the record has none (an insert's old image, a
/// remove's new one).
fn image(event_id: &str, item: serde_dynamo::Item) -> Result<Option<Value>, GuardError> {
    if item.is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item(item)
        .map(Some)
        .map_err(|e| invalid(&format!("stream record {event_id}"), e))
}

async fn keep_messages<N, L: GuardAlertLog>(
    event: Value,
    ports: &Ports<N, L>,
) -> Result<WatchReport, GuardError> {
    let delivery: SnsEvent =
        serde_json::from_value(event).map_err(|e| invalid("SNS delivery", e))?;
    let mut report = WatchReport::default();
    for record in delivery.records {
        let message = &record.sns;
        let kept = guard_alert_record(
            &message.message_id,
            message.timestamp,
            message.subject.as_deref(),
            &message.message,
        );
        if ports.log.keep(&kept).await? {
            tracing::info!(kind = %kept.kind, summary = %kept.summary, "guard alert kept");
            report.kept.push(kept.event_id);
        }
    }
    Ok(report)
}
