//! Claim: the enforcement machine's first step. The execution's name says which event it is for;
//! Claim reads the verdict the guard recorded for that event and takes the audit item for this
//! execution (a conditional write), so that exactly one execution acts for a violation and it
//! acts on the recorded verdict, whatever input the execution was started with. An execution
//! that may not act ends at once, and one the guard did not start is alerted as tampering.

use chrono::{DateTime, Utc};
use model_guard_core::custody::{
    ClaimInput, ClaimOutput, ClaimStep, claim_step, claimed, event_of_execution, standing,
    start_input,
};
use model_guard_core::notification::{TamperAlert, TamperKind, render_tamper};
use model_guard_core::ports::{AuditLog, Notifier};
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

pub struct Ports<A, N> {
    pub audit: A,
    pub notifier: N,
}

/// How often Claim re-reads after losing a write race before it gives up (each loss means the
/// item changed in between: it settles within a couple of reads).
const ATTEMPTS: usize = 3;

pub async fn handle<A: AuditLog, N: Notifier>(
    input: Value,
    ports: &Ports<A, N>,
    now: DateTime<Utc>,
) -> Result<ClaimOutput, GuardError> {
    let input: ClaimInput = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not a claim input: {}: {}", e.path(), e.inner()),
        )
    })?;
    let execution = input.execution.as_str();
    let (event_id, _) = event_of_execution(execution);
    for _ in 0..ATTEMPTS {
        let item = ports.audit.get(event_id).await?;
        match claim_step(item.as_ref(), execution, now)? {
            ClaimStep::Stand { why, alert } => {
                tracing::warn!(event_id, execution, why = %why, "not acting");
                if alert {
                    let detail = format!("execution {execution}: {why}");
                    alert_tamper(ports, event_id, detail, item.as_ref()).await?;
                }
                return Ok(standing(event_id, why));
            }
            ClaimStep::Take { deadline } => {
                let Some(held) = ports
                    .audit
                    .claim(event_id, execution, deadline, now)
                    .await?
                else {
                    continue; // the item changed since it was read: decide again
                };
                // The guard starts its executions with the eventID alone; anything else was
                // started by someone else. It acts all the same, on the recorded verdict.
                let restarted = event_of_execution(execution).1.is_some();
                if !restarted && input.input != start_input(event_id) {
                    let detail = format!(
                        "execution {execution} was started with an input the guard does not \
                         send; it acts on the recorded verdict, not on that input"
                    );
                    alert_tamper(ports, event_id, detail, Some(&held)).await?;
                }
                let output = claimed(&held, now);
                tracing::info!(
                    event_id,
                    execution,
                    remaining_seconds = output.remaining_seconds,
                    "claimed"
                );
                return Ok(output);
            }
        }
    }
    Err(GuardError::new(
        ErrorKind::AuditConflict,
        format!("event {event_id} kept changing while {execution} tried to claim it"),
    ))
}

async fn alert_tamper<A, N: Notifier>(
    ports: &Ports<A, N>,
    event_id: &str,
    detail: String,
    item: Option<&model_guard_core::audit::AuditItem>,
) -> Result<(), GuardError> {
    let alert = TamperAlert {
        what: TamperKind::ExecutionNotTheGuards,
        event_id: Some(event_id.to_owned()),
        detail,
    };
    ports
        .notifier
        .publish(&render_tamper(&alert, item.map(|i| &i.verdict)))
        .await
        .map(|_| ())
}
