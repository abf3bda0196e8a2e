//! Evaluate: resolves the request's subjects through SageMaker, judges them against the policy
//! table, writes the audit item, and returns the verdict. A duplicate delivery of an event that
//! was decided before returns the stored verdict: one decision per event.

use chrono::{DateTime, Utc};
use model_guard_core::audit::AuditItem;
use model_guard_core::ports::{AuditLog, PolicyStore, Recorded};
use model_guard_core::{
    Defaults, ErrorKind, GuardError, ParseOutcome, Resolver, Verdict, decide, resolve_subjects,
};
use serde_json::Value;

pub struct Ports<R, P, A> {
    pub resolver: R,
    pub policies: P,
    pub audit: A,
    pub defaults: Defaults,
}

/// ParseEvent's output in, the verdict out.
pub async fn handle<R: Resolver, P: PolicyStore, A: AuditLog>(
    input: Value,
    ports: &Ports<R, P, A>,
    now: DateTime<Utc>,
) -> Result<Verdict, GuardError> {
    let outcome: ParseOutcome = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not ParseEvent's output: {}: {}", e.path(), e.inner()),
        )
    })?;
    let request = match outcome {
        // Ignored events are not audited (DESIGN.md, "Audit").
        ParseOutcome::Ignored { verdict } => return Ok(verdict),
        ParseOutcome::Request { request } => request,
    };
    let policy = ports.policies.policies().await?;
    let subjects = resolve_subjects(&request, &ports.resolver).await?;
    let verdict = decide(&request, &subjects, &policy, &ports.defaults);
    let Some(item) = AuditItem::for_verdict(&verdict, now) else {
        return Ok(verdict);
    };
    match ports.audit.record(&item).await? {
        Recorded::Created => {
            tracing::info!(
                event_id = %item.event_id,
                decision = ?verdict.decision,
                action = ?verdict.action,
                state = %item.state,
                "decided"
            );
            Ok(verdict)
        }
        Recorded::Existing(existing) => {
            tracing::info!(
                event_id = %existing.event_id,
                state = %existing.state,
                "decided before (a duplicate delivery): returning the stored verdict"
            );
            Ok(existing.verdict)
        }
    }
}

/// The stack's defaults from the environment: `DEFAULT_GRACE_SECONDS` (900 when unset) and
/// `DEFAULT_APPROVERS` (a JSON array of principal patterns; none when unset).
pub fn defaults_from_env() -> Result<Defaults, GuardError> {
    let config = |m: String| GuardError::new(ErrorKind::Configuration, m);
    let grace = match std::env::var("DEFAULT_GRACE_SECONDS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<u32>()
            .map_err(|e| config(format!("DEFAULT_GRACE_SECONDS={v:?}: {e}")))?,
        _ => Defaults::GRACE_SECONDS,
    };
    let approvers: Vec<String> = match std::env::var("DEFAULT_APPROVERS") {
        Ok(v) if !v.trim().is_empty() => serde_json::from_str(&v).map_err(|e| {
            config(format!(
                "DEFAULT_APPROVERS is not a JSON array of principal patterns: {e}"
            ))
        })?,
        _ => Vec::new(),
    };
    Defaults::new(grace, &approvers).map_err(config)
}
