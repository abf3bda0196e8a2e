//! The sweep's handler: for each covered eventName, the records CloudTrail has in the window; each
//! one the rule would have matched and that has no audit item is submitted to the triage machine.
//! The checkpoint moves only when every submission went through, so a failed sweep's window is
//! asked for again next time (duplicates are harmless).

use chrono::{DateTime, Duration, Utc};
use model_guard_core::covered::rule_event_names;
use model_guard_core::event::execution_name;
use model_guard_core::ports::{AuditLog, CallHistory, RecordStore, SweepCheckpoint, TriageStarter};
use model_guard_core::sweep::{
    SweepReport, eventbridge_envelope, resubmit, skip_reason, time_text, window,
};
use model_guard_core::{ErrorKind, GuardError, ParseOutcome, parse_event_value};
use serde_json::Value;

pub struct Ports<H, A, T, C, R> {
    pub history: H,
    pub audit: A,
    pub triage: T,
    pub checkpoint: C,
    /// The records table, for the recorded calls (which have no audit item).
    pub records: R,
}

/// How far each window reaches back.
#[derive(Debug, Clone, Copy)]
pub struct Reach {
    /// Asked for again from the previous window (CloudTrail's delivery delay).
    pub overlap: Duration,
    /// The first sweep's window.
    pub first_lookback: Duration,
}

pub async fn handle<H, A, T, C, R>(
    ports: &Ports<H, A, T, C, R>,
    reach: Reach,
    now: DateTime<Utc>,
) -> Result<SweepReport, GuardError>
where
    H: CallHistory,
    A: AuditLog,
    T: TriageStarter,
    C: SweepCheckpoint,
    R: RecordStore,
{
    let last = ports.checkpoint.last_end().await?;
    let w = window(last, now, reach.overlap, reach.first_lookback);
    let mut report = SweepReport {
        start: time_text(w.start),
        end: time_text(w.end),
        found: 0,
        skipped: 0,
        already_audited: 0,
        already_recorded: 0,
        resubmitted: 0,
        unprocessable: 0,
        submitted: Vec::new(),
    };
    for event_name in rule_event_names() {
        let records = ports.history.lookup(event_name, w.start, w.end).await?;
        report.found += records.len();
        for record in records {
            if let Some(why) = skip_reason(&record) {
                tracing::debug!(reason = %why, "skipped");
                report.skipped += 1;
                continue;
            }
            let event_id = record
                .get("eventID")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let envelope = eventbridge_envelope(&record);
            // A recorded call has a record instead of an audit item.
            if let ParseOutcome::Record { record } = parse_event_value(&envelope) {
                if ports.records.contains(&record).await? {
                    report.already_recorded += 1;
                    continue;
                }
            } else {
                match ports.audit.get(&event_id).await {
                    Ok(None) => {}
                    Ok(Some(item)) if resubmit(item.state, item.decided_at, now) => {
                        tracing::warn!(event_id = %event_id, "left evaluated; submitting again");
                        report.resubmitted += 1;
                    }
                    Ok(Some(_)) => {
                        report.already_audited += 1;
                        continue;
                    }
                    // An item that is there but unreadable is not a missed event: count it, go on.
                    Err(e) if e.kind == ErrorKind::AuditConflict => {
                        tracing::error!(event_id = %event_id, error = %e, "unreadable audit item");
                        report.unprocessable += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            // Named for the sweep, the time and the event, so a submission is easy to find.
            let name = execution_name(&format!("sweep-{}-{event_id}", now.timestamp_millis()));
            match ports.triage.start(&name, &envelope).await {
                Ok(()) => {}
                // Step Functions refusing this input (too large, say) would refuse it every time.
                Err(e) if e.kind == ErrorKind::InvalidInput => {
                    tracing::error!(event_id = %event_id, error = %e, "the triage refused the event");
                    report.unprocessable += 1;
                    continue;
                }
                Err(e) => return Err(e),
            }
            tracing::info!(event_id = %event_id, event_name, "submitted a missed event");
            report.submitted.push(event_id);
        }
    }
    ports.checkpoint.save_end(w.end).await?;
    tracing::info!(
        start = %report.start, end = %report.end, found = report.found,
        submitted = report.submitted.len(), already_audited = report.already_audited,
        resubmitted = report.resubmitted, unprocessable = report.unprocessable,
        "sweep done"
    );
    Ok(report)
}
