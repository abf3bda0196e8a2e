//! ParseEvent: an EventBridge "AWS API Call via CloudTrail" event in; a typed request to evaluate,
//! a record to keep, or an ignored verdict with its reasons, out. Pure: no AWS call. A call from
//! an account the deployment does not answer for is ignored; any other carries where it was made
//! (`organization`).

use model_guard_core::organization::Guarded;
use model_guard_core::{ParseOutcome, parse_guarded_event};
use serde_json::Value;

/// Never fails: anything that is not a covered, successful call is an `ignored` outcome.
pub fn handle(event: &Value, guarded: &Guarded) -> ParseOutcome {
    let outcome = parse_guarded_event(event, guarded);
    match &outcome {
        ParseOutcome::Request { request } => tracing::info!(
            event_id = %request.event_id,
            event_name = %request.event_name,
            principal = %request.principal,
            resource = %request.resource.name,
            scope = request.scope.as_deref().unwrap_or("home"),
            "request"
        ),
        ParseOutcome::Record { record, .. } => tracing::info!(
            event_id = %record.event_id,
            kind = record.kind.as_str(),
            name = %record.name,
            op = ?record.op,
            "record"
        ),
        ParseOutcome::Ignored { verdict } => tracing::info!(
            event_id = verdict.event_id.as_deref().unwrap_or(""),
            reasons = ?verdict.reasons,
            "ignored"
        ),
    }
    outcome
}
