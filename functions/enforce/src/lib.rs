//! Enforce: stops or deletes the resource of a violation whose action is `enforce`.

use model_guard_core::contract::{Action, Decision};
use model_guard_core::enforcement::{EnforceInput, EnforcementResult};
use model_guard_core::ports::Enforcer;
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

pub async fn handle<E: Enforcer>(
    input: Value,
    enforcer: &E,
) -> Result<EnforcementResult, GuardError> {
    let input: EnforceInput = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not an enforce input: {}: {}", e.path(), e.inner()),
        )
    })?;
    let verdict = &input.verdict;
    // Refuse anything but an enforce verdict: a wiring mistake must never delete what was allowed.
    if verdict.decision != Decision::Violation || verdict.action != Action::Enforce {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!(
                "event {}: only a violation with action enforce is enforced (this is {:?} with action {:?})",
                verdict.event_id.as_deref().unwrap_or("?"),
                verdict.decision,
                verdict.action
            ),
        ));
    }
    let result = enforcer.enforce(verdict).await?;
    tracing::info!(
        event_id = verdict.event_id.as_deref().unwrap_or(""),
        resource_type = %result.resource.resource_type,
        resource = %result.resource.name,
        outcome = result.outcome.as_str(),
        deregistered = ?result.deregistered_scalable_targets,
        deleted_inference_components = ?result.deleted_inference_components,
        "enforced"
    );
    Ok(result)
}
