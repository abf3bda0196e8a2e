//! Enforce: stops or deletes the resource of a violation whose action is `enforce`, on the
//! verdict the guard recorded for the event, for the execution that holds it, once it is due
//! (`custody::check_enforceable`); never on a verdict it is handed. Then it records what it did
//! and moves the item to `enforced` itself, so that only an enforcement that happened ends one;
//! likewise `failed`, with the error, when the resource cannot be stopped or deleted for a reason
//! no retry cures (a transient error is the machine's to retry, and records nothing).

use chrono::{DateTime, Utc};
use model_guard_core::audit::{AuditState, FailureRecord};
use model_guard_core::custody::{check_enforceable, event_of_execution};
use model_guard_core::enforcement::{EnforceInput, EnforcementResult};
use model_guard_core::ports::{Advance, AuditLog, Enforcer};
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

pub struct Ports<A, E> {
    pub audit: A,
    pub enforcer: E,
}

pub async fn handle<A: AuditLog, E: Enforcer>(
    input: Value,
    ports: &Ports<A, E>,
    now: DateTime<Utc>,
) -> Result<EnforcementResult, GuardError> {
    let input: EnforceInput = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not an enforce input: {}: {}", e.path(), e.inner()),
        )
    })?;
    let event_id = &input.event_id;
    if event_of_execution(&input.execution).0 != event_id {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!(
                "execution {:?} is not an enforcement of event {event_id}",
                input.execution
            ),
        ));
    }
    let item = ports.audit.get(event_id).await?.ok_or_else(|| {
        GuardError::new(
            ErrorKind::AuditConflict,
            format!("event {event_id} has no recorded decision: nothing is enforced"),
        )
    })?;
    if let Some(done) = check_enforceable(&item, &input.execution, now)? {
        // A retried step: it acted before.
        if let Some(result) = &done.enforcement {
            return Ok(result.clone());
        }
    }
    let verdict = &item.verdict;
    let result = match ports.enforcer.enforce(verdict).await {
        Ok(result) => result,
        Err(e) if e.kind.is_transient() => return Err(e),
        Err(e) => {
            let mut advance = Advance::to(AuditState::Failed, now);
            advance.failure = Some(FailureRecord {
                error: e.error_type().to_owned(),
                cause: e.message.clone(),
            });
            ports.audit.advance(event_id, &advance).await?;
            tracing::error!(event_id = %event_id, execution = %input.execution, error = %e, "enforcement failed");
            return Err(e);
        }
    };
    let mut advance = Advance::to(AuditState::Enforced, now);
    advance.enforcement = Some(result.clone());
    ports.audit.advance(event_id, &advance).await?;
    tracing::info!(
        event_id = %event_id,
        execution = %input.execution,
        resource_type = %result.resource.resource_type,
        resource = %result.resource.name,
        outcome = result.outcome.as_str(),
        deregistered = ?result.deregistered_scalable_targets,
        deleted_inference_components = ?result.deleted_inference_components,
        "enforced"
    );
    Ok(result)
}
