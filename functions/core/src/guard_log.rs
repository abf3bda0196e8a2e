//! The guard topic's log: every message published to the guard topic (tamper alerts, from the
//! tamper rules and from the functions; policy writes and changes; health alerts; alarms; the
//! enforcement executions that ended badly) is kept in the decisions table by the watch function,
//! which is subscribed to the topic, so that `guardctl status` can list the last day's. One
//! mechanism for every source: nothing that publishes there has to remember to record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::Version1;

/// The key prefix of a kept message: `guard-alert#<SNS MessageId>`.
pub const GUARD_ALERT_PREFIX: &str = "guard-alert#";
/// Its `state`, so that the `byState` index (sorted by `decidedAt`) lists them by time.
pub const GUARD_ALERT_STATE: &str = "guard-alert";
/// At most this much of a message is kept: the summary says what it was; the rest is in the
/// e-mail and, for a CloudTrail call, in CloudTrail.
pub const KEPT_MESSAGE_CHARS: usize = 4_000;

/// One message of the guard topic, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardAlertRecord {
    pub version: Version1,
    /// `guard-alert#<MessageId>`.
    pub event_id: String,
    pub state: String,
    /// When SNS received it.
    #[serde(with = "crate::audit::timestamp")]
    pub decided_at: DateTime<Utc>,
    /// `tamper`, `policy-written`, `policy-changed`, `health`, `alarm`, `enforcement-ended`, or
    /// `message` for anything else.
    pub kind: String,
    /// The tamper alert's `what`, the alarm's name, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// The event it is about, where it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub summary: String,
    /// The message as published, cut at [`KEPT_MESSAGE_CHARS`].
    pub message: String,
}

/// Reads what a guard-topic message is. Never fails: a message of unknown shape is kept as
/// `message` with its subject (or its start) as the summary.
pub fn guard_alert_record(
    message_id: &str,
    at: DateTime<Utc>,
    subject: Option<&str>,
    message: &str,
) -> GuardAlertRecord {
    let json: Option<Value> = serde_json::from_str(message).ok();
    let text = |v: &Value, path: &[&str]| {
        path.iter()
            .try_fold(v, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let subject = subject.filter(|s| !s.is_empty()).map(str::to_owned);
    let (kind, what, about, summary) = match &json {
        // The guard's own documents: the functions' (`kind`, a verdict or a tamper alert) and the
        // tamper rules' (`kind`, `summary`).
        Some(doc) if doc.get("kind").and_then(Value::as_str).is_some() => {
            let kind = text(doc, &["kind"]).unwrap_or_default();
            let what = text(doc, &["tamper", "what"]);
            let about = text(doc, &["tamper", "eventId"])
                .or_else(|| text(doc, &["write", "eventId"]))
                .or_else(|| text(doc, &["verdict", "eventId"]))
                .or_else(|| text(doc, &["policyChange", "pk"]));
            let summary = text(doc, &["summary"])
                .or_else(|| subject.clone())
                .or_else(|| text(doc, &["tamper", "detail"]))
                .unwrap_or_else(|| kind.clone());
            (kind, what, about, summary)
        }
        Some(doc) if doc.get("AlarmName").is_some() => {
            let name = text(doc, &["AlarmName"]).unwrap_or_default();
            let summary = format!(
                "alarm {name}: {} -> {}: {}",
                text(doc, &["OldStateValue"]).unwrap_or_default(),
                text(doc, &["NewStateValue"]).unwrap_or_default(),
                text(doc, &["NewStateReason"]).unwrap_or_default()
            );
            ("alarm".to_owned(), Some(name), None, summary)
        }
        Some(doc)
            if text(doc, &["detail-type"]).as_deref()
                == Some("Step Functions Execution Status Change") =>
        {
            let name = text(doc, &["detail", "name"]).unwrap_or_default();
            let status = text(doc, &["detail", "status"]).unwrap_or_default();
            let summary = format!("enforcement execution {name} ended {status}");
            // The execution's name is the eventID (or `<eventID>_<n>`).
            let about = name.split('_').next().map(str::to_owned);
            ("enforcement-ended".to_owned(), Some(status), about, summary)
        }
        _ => {
            let summary = subject
                .clone()
                .unwrap_or_else(|| message.chars().take(200).collect());
            ("message".to_owned(), None, None, summary)
        }
    };
    GuardAlertRecord {
        version: Version1,
        event_id: format!("{GUARD_ALERT_PREFIX}{message_id}"),
        state: GUARD_ALERT_STATE.to_owned(),
        decided_at: at,
        kind,
        what,
        about,
        summary,
        message: message.chars().take(KEPT_MESSAGE_CHARS).collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:02Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn a_tamper_rules_alert_keeps_its_summary_and_event() {
        let message = json!({"version": 1, "kind": "tamper", "summary": "Model Guard TAMPER ALERT: DisableRule",
                             "tamper": {"what": "guard-changed", "eventId": "e-1", "detail": "d"},
                             "event": {"detail": {}}})
        .to_string();
        let record = guard_alert_record("m-1", at(), None, &message);
        assert_eq!(record.event_id, "guard-alert#m-1");
        assert_eq!(record.state, "guard-alert");
        assert_eq!(
            (
                record.kind.as_str(),
                record.what.as_deref(),
                record.about.as_deref()
            ),
            ("tamper", Some("guard-changed"), Some("e-1"))
        );
        assert_eq!(record.summary, "Model Guard TAMPER ALERT: DisableRule");
    }

    #[test]
    fn a_functions_document_takes_its_subject_as_summary() {
        let message = json!({"version": 1, "kind": "tamper",
                             "tamper": {"what": "enforcement-restarted", "eventId": "e-2", "detail": "d"}})
        .to_string();
        let record = guard_alert_record("m", at(), Some("Model Guard: TAMPERING: x"), &message);
        assert_eq!(record.summary, "Model Guard: TAMPERING: x");
        assert_eq!(record.what.as_deref(), Some("enforcement-restarted"));
    }

    #[test]
    fn alarms_and_ended_executions_are_read_for_what_they_are() {
        let alarm = json!({"AlarmName": "G-HealthCheckFailing", "OldStateValue": "OK",
                           "NewStateValue": "ALARM", "NewStateReason": "missing data"})
        .to_string();
        let record = guard_alert_record("m", at(), Some("ALARM: ..."), &alarm);
        assert_eq!(record.kind, "alarm");
        assert_eq!(
            record.summary,
            "alarm G-HealthCheckFailing: OK -> ALARM: missing data"
        );
        let ended = json!({"detail-type": "Step Functions Execution Status Change",
                           "detail": {"name": "e-3_2", "status": "ABORTED"}})
        .to_string();
        let record = guard_alert_record("m", at(), None, &ended);
        assert_eq!(record.kind, "enforcement-ended");
        assert_eq!(record.about.as_deref(), Some("e-3"));
    }

    #[test]
    fn anything_else_is_kept_cut_to_size() {
        let long = "x".repeat(10_000);
        let record = guard_alert_record("m", at(), None, &long);
        assert_eq!(record.kind, "message");
        assert_eq!(record.message.chars().count(), KEPT_MESSAGE_CHARS);
        assert_eq!(record.summary.chars().count(), 200);
    }
}
