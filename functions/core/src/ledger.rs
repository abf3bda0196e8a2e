//! The ledger of events seen and not yet settled (design, "Events that are never lost"). An entry
//! is written before anything can lose the event: by the sweep before it submits one it found,
//! and by the triage machine itself when one of its steps fails. The triage deletes it when it
//! ends well (recorded, decided or ignored); until then the sweep submits it again, with backoff,
//! however old it is. A time window forgets; the ledger does not.
//!
//! The triage machine writes its entries with DynamoDB's own integration, so the field names here
//! are the ones `statemachine/triage.asl.json` writes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{FailureRecord, timestamp};

/// The longest the sweep waits between two submissions of an entry.
pub const MAX_RETRY_MINUTES: i64 = 60;

/// One event the guard saw and has not settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// The CloudTrail eventID (the item's key is this with a prefix no eventID has).
    #[serde(rename = "undecided")]
    pub event_id: String,
    /// The event as the triage machine takes it (EventBridge's envelope), as JSON text.
    pub envelope: String,
    #[serde(with = "timestamp")]
    pub first_seen_at: DateTime<Utc>,
    /// How often the sweep submitted it.
    #[serde(default)]
    pub attempts: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub last_submitted_at: Option<DateTime<Utc>>,
    /// When a triage run last failed on it, and why (the step's error; the cause is the JSON
    /// Step Functions caught).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub failed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureRecord>,
}

impl LedgerEntry {
    /// The entry the sweep writes for an event it found unsettled, before it submits it.
    pub fn seen(event_id: &str, envelope: &serde_json::Value, now: DateTime<Utc>) -> LedgerEntry {
        LedgerEntry {
            event_id: event_id.to_owned(),
            envelope: envelope.to_string(),
            first_seen_at: now,
            attempts: 0,
            last_submitted_at: None,
            failed_at: None,
            failure: None,
        }
    }

    /// How long after its last submission (or its failure, or its sighting) the entry is
    /// submitted again: `base`, doubled with each attempt, at most [`MAX_RETRY_MINUTES`].
    pub fn retry_after(&self, base: Duration) -> Duration {
        let cap = Duration::minutes(MAX_RETRY_MINUTES);
        let factor = 1_i32.checked_shl(self.attempts.min(16)).unwrap_or(i32::MAX);
        base.checked_mul(factor).map_or(cap, |d| d.min(cap))
    }

    /// Whether the sweep submits it now.
    pub fn due(&self, base: Duration, now: DateTime<Utc>) -> bool {
        let since = self
            .last_submitted_at
            .into_iter()
            .chain(self.failed_at)
            .max()
            .unwrap_or(self.first_seen_at);
        now.signed_duration_since(since) >= self.retry_after(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn an_entry_is_retried_with_doubling_waits_up_to_an_hour_and_never_given_up() {
        let seen = at("2026-12-02T12:00:00Z");
        let mut entry = LedgerEntry::seen("e1", &json!({"detail": {}}), seen);
        let base = Duration::minutes(5);
        assert!(!entry.due(base, seen + Duration::minutes(4)));
        assert!(entry.due(base, seen + Duration::minutes(5)));
        let waits: Vec<i64> = (0..10)
            .map(|n| {
                entry.attempts = n;
                entry.retry_after(base).num_minutes()
            })
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60, 60, 60, 60, 60]);
        entry.attempts = u32::MAX;
        assert_eq!(entry.retry_after(base), Duration::minutes(60));
        assert!(
            entry.due(base, seen + Duration::days(365)),
            "old is no reason to stop"
        );
    }

    #[test]
    fn the_wait_counts_from_the_last_submission_or_failure() {
        let seen = at("2026-12-02T12:00:00Z");
        let mut entry = LedgerEntry::seen("e1", &json!({}), seen);
        entry.attempts = 1;
        entry.last_submitted_at = Some(seen + Duration::minutes(30));
        let base = Duration::minutes(5);
        assert!(!entry.due(base, seen + Duration::minutes(39)));
        assert!(entry.due(base, seen + Duration::minutes(40)));
        entry.failed_at = Some(seen + Duration::minutes(35));
        assert!(!entry.due(base, seen + Duration::minutes(44)));
        assert!(entry.due(base, seen + Duration::minutes(45)));
        // The testbed's setting: every sweep submits it.
        assert!(entry.due(Duration::zero(), seen + Duration::minutes(35)));
    }

    #[test]
    fn the_triage_machines_write_reads_as_an_entry() {
        // What NoteUndecided in statemachine/triage.asl.json writes (Step Functions' timestamps
        // and the caught error as JSON text), less the key.
        let written = json!({
            "eventId": "undecided#e-1", "undecided": "e-1",
            "envelope": "{\"detail\":{\"eventID\":\"e-1\"}}",
            "firstSeenAt": "2026-12-02T12:00:00.123Z", "failedAt": "2026-12-02T12:00:00.123Z",
            "failure": {"error": "ModelGuard.PolicyInvalid",
                        "cause": "{\"Error\":\"ModelGuard.PolicyInvalid\",\"Cause\":\"...\"}"}
        });
        let entry: LedgerEntry = serde_json::from_value(written).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.event_id, "e-1");
        assert_eq!(entry.attempts, 0);
        assert_eq!(
            entry.failure.map(|f| f.error).as_deref(),
            Some("ModelGuard.PolicyInvalid")
        );
    }
}
