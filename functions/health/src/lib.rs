//! The health check's handler: every check of `model_guard_core::health`, logged as one
//! `health done` line (the stack's metric filter turns its `failed` count into the
//! `ModelGuard/HealthChecksFailed` metric, whose alarm treats missing data as breaching, so
//! switching the check off alerts too), and an alert on the guard topic whenever the failing
//! checks change. When the guard topic cannot take it (its key disabled, its policy broken), the
//! alert goes to the violations topic instead: the one path left.

use chrono::{DateTime, Utc};
use model_guard_core::GuardError;
use model_guard_core::audit::AuditState;
use model_guard_core::health::{CheckStatus, HealthReport, HealthTargets, check};
use model_guard_core::notification::{Channel, render_health};
use model_guard_core::ports::{AuditLog, GuardResources, HealthMemory, Notifier, SweepCheckpoint};

pub struct Ports<G, C, A, N, M> {
    pub resources: G,
    pub checkpoint: C,
    pub audit: A,
    pub notifier: N,
    pub memory: M,
}

pub async fn handle<G, C, A, N, M>(
    targets: &HealthTargets,
    ports: &Ports<G, C, A, N, M>,
    now: DateTime<Utc>,
) -> Result<HealthReport, GuardError>
where
    G: GuardResources,
    C: SweepCheckpoint,
    A: AuditLog,
    N: Notifier,
    M: HealthMemory,
{
    let report = check(
        targets,
        &ports.resources,
        &ports.checkpoint,
        &ports.audit,
        now,
    )
    .await;
    let failing = report.failing();
    let warnings = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Warn)
        .count();
    tracing::info!(
        failed = failing.len(),
        warnings,
        failing = ?failing,
        checks = %serde_json::to_string(&report.checks).unwrap_or_default(),
        "health done"
    );
    // The violations waiting, for the dashboard (which cannot read DynamoDB).
    match ports.audit.in_state(AuditState::Pending).await {
        Ok(pending) => {
            model_guard_aws::emit_metrics(&model_guard_core::metrics::pending(pending.len(), now))
        }
        Err(e) => tracing::warn!(error = %e, "the pending violations cannot be counted"),
    }
    // What was alerted last; unreadable, it is taken as unknown and the state alerted again.
    let last = match ports.memory.last_failing().await {
        Ok(last) => last,
        Err(e) => {
            tracing::error!(error = %e, "the last health state cannot be read");
            None
        }
    };
    let changed = match &last {
        Some(last) => *last != failing,
        // The first run tells only of trouble.
        None => !failing.is_empty(),
    };
    if changed {
        let notification = render_health(&report, last.as_deref().unwrap_or_default());
        let published = match ports.notifier.publish(&notification).await {
            Ok(id) => Ok(id),
            Err(e) => {
                tracing::error!(error = %e, "the guard topic refused the health alert; sending it to the violations topic");
                let mut fallback = notification.clone();
                fallback.channel = Channel::Violations;
                fallback.text.push_str(&format!(
                    "\nSent to the violations topic: the guard topic refused it ({e}).\n"
                ));
                ports.notifier.publish(&fallback).await
            }
        };
        let message_id = published?;
        tracing::warn!(message_id = %message_id, failing = ?failing, "health alert sent");
        // Saved once alerted: an alert that could not go out is tried again at the next run.
        ports.memory.save_failing(&failing, now).await?;
    }
    Ok(report)
}
