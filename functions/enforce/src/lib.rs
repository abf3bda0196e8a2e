//! Enforce: stops or deletes the resource of a violation whose action is `enforce`, on the
//! verdict the guard recorded for the event, for the execution that holds it, once it is due
//! (`custody::check_enforceable`); never on a verdict it is handed. Then it records what it did
//! and moves the item to `enforced` itself, so that only an enforcement that happened ends one;
//! likewise `failed`, with the error, when the resource cannot be stopped or deleted for a reason
//! no retry cures (a transient error is the machine's to retry, and records nothing).
//!
//! A violating UpdateEndpoint whose verdict names the endpoint's last allowed deployment
//! (`rollbackTo`) is rolled back to it instead, when that config is still the one allowed; the
//! rollback record is written on the item before the update, so that Evaluate knows the update
//! for the guard's own. Otherwise the endpoint is deleted, and the result says why.

use chrono::{DateTime, Utc};
use model_guard_core::audit::{AuditState, FailureRecord, RollbackRecord};
use model_guard_core::custody::{check_enforceable, event_of_execution};
use model_guard_core::enforcement::{EnforceInput, EnforcementResult};
use model_guard_core::ports::{Advance, AuditLog, Enforcer, Reach, RollbackState};
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

pub struct Ports<A, X> {
    pub audit: A,
    /// SageMaker where the violation was made: an enforcer for its account and region.
    pub enforcers: X,
}

pub async fn handle<A: AuditLog, X: Reach<Port = E>, E: Enforcer>(
    input: Value,
    ports: &Ports<A, X>,
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
    let acted = async {
        // Where the recorded verdict says the call was made: a member that cannot be reached
        // fails the enforcement naming its account.
        let enforcer = ports
            .enforcers
            .at(verdict.account.as_deref(), verdict.region.as_deref())
            .await?;
        let Some(to) = verdict.rollback_to.as_deref() else {
            return enforcer.enforce(verdict).await;
        };
        match enforcer
            .rollback_state(verdict, to, item.rollback.as_ref())
            .await?
        {
            RollbackState::Done(result) => Ok(*result),
            RollbackState::Ready => {
                // The record first: Evaluate allows the update that follows only with it, so an
                // update made without it would be judged as a violation again.
                let record = RollbackRecord {
                    resource: verdict
                        .resource
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default(),
                    to: to.config.label(),
                    at: now,
                };
                ports
                    .audit
                    .note_rollback(event_id, &input.execution, &record)
                    .await?;
                enforcer.roll_back(verdict, to).await
            }
            RollbackState::Refused(why) => {
                tracing::warn!(event_id = %event_id, why = %why, "not rolled back: deleting");
                let mut result = enforcer.enforce(verdict).await?;
                result.not_rolled_back = Some(why);
                Ok(result)
            }
        }
    };
    let result = match acted.await {
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
        restored = ?result.restored,
        not_rolled_back = ?result.not_rolled_back,
        "enforced"
    );
    model_guard_aws::emit_metrics(&model_guard_core::metrics::enforcement(
        verdict,
        result.outcome.as_str(),
        now,
    ));
    Ok(result)
}
