//! Claim: the enforcement machine's first step. The execution's name says which event it is for;
//! Claim reads the verdict the guard recorded for that event and takes the audit item for this
//! execution (a conditional write), so that exactly one execution acts for a violation and it
//! acts on the recorded verdict, whatever input the execution was started with. An execution
//! that may not act ends at once, and one the guard did not start is alerted as tampering.

use chrono::{DateTime, Utc};
use model_guard_core::custody::{
    BusyRetry, ClaimInput, ClaimOutput, ClaimStep, HandOverRequest, HandOverStep, claim_step,
    claimed, event_of_execution, hand_over_step, standing, start_input,
};
use model_guard_core::notification::{
    DelayedAlert, TamperAlert, TamperKind, render_delayed, render_tamper,
};
use model_guard_core::ports::{AuditLog, Notifier};
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

pub struct Ports<A, N> {
    pub audit: A,
    pub notifier: N,
    /// How a busy resource is retried (`BUSY_RETRY_SECONDS`, `BUSY_ATTEMPTS_PER_EXECUTION`).
    pub busy: BusyRetry,
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
    if let Some(request) = &input.hand_over {
        return hand_over(ports, execution, request, now).await;
    }
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
                let mut output = claimed(&held, now);
                output.busy = Some(ports.busy);
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

/// The end of an execution's busy attempts: the item goes to the continuation, which the machine
/// then starts, and the owners hear that enforcement is held up and goes on.
async fn hand_over<A: AuditLog, N: Notifier>(
    ports: &Ports<A, N>,
    execution: &str,
    request: &HandOverRequest,
    now: DateTime<Utc>,
) -> Result<ClaimOutput, GuardError> {
    let (event_id, _) = event_of_execution(execution);
    let item = ports.audit.get(event_id).await?;
    let next = match hand_over_step(item.as_ref(), execution) {
        HandOverStep::Stand { why } => {
            tracing::warn!(event_id, execution, why = %why, "not handing over");
            return Ok(standing(event_id, why));
        }
        HandOverStep::Continue { next } => next,
    };
    let held_by_next = item.as_ref().and_then(|i| i.execution.as_deref()) == Some(next.as_str());
    // A retried step finds the item handed over already: start the continuation all the same.
    if !held_by_next
        && !ports
            .audit
            .hand_over(event_id, Some(execution), &next, now)
            .await?
    {
        let why = format!("event {event_id} was settled or changed hands meanwhile");
        tracing::warn!(event_id, execution, why = %why, "not handing over");
        return Ok(standing(event_id, why));
    }
    if let Some(item) = &item
        && !held_by_next
    {
        let alert = DelayedAlert {
            execution: execution.to_owned(),
            next: next.clone(),
            busy: request
                .error
                .cause
                .clone()
                .unwrap_or_else(|| request.error.error.clone()),
            retry_seconds: ports.busy.retry_seconds,
        };
        // The hand-over stands either way: a broken alert path must not stop the enforcement
        // (the guard topic's alarms say the path is broken).
        if let Err(e) = ports
            .notifier
            .publish(&render_delayed(&alert, &item.verdict))
            .await
        {
            tracing::error!(event_id, execution, error = %e, "the escalation alert was not published");
        }
    }
    tracing::warn!(event_id, execution, next = %next, "still busy: handed over");
    let mut output = standing(event_id, format!("handed over to {next}"));
    output.proceed = true;
    output.next = Some(next);
    Ok(output)
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
        place: None,
    };
    ports
        .notifier
        .publish(&render_tamper(&alert, item.map(|i| &i.verdict)))
        .await
        .map(|_| ())
}

/// `BUSY_RETRY_SECONDS` (60) and `BUSY_ATTEMPTS_PER_EXECUTION` (60) from the environment, checked.
pub fn busy_retry_from_env() -> Result<BusyRetry, GuardError> {
    let seconds = model_guard_aws::env_number("BUSY_RETRY_SECONDS", BusyRetry::RETRY_SECONDS)?;
    let attempts = model_guard_aws::env_number(
        "BUSY_ATTEMPTS_PER_EXECUTION",
        BusyRetry::ATTEMPTS_PER_EXECUTION,
    )?;
    BusyRetry::new(seconds, attempts).map_err(|e| GuardError::new(ErrorKind::Configuration, e))
}
