//! `guardctl status`: is the guard switched on? Every check of the health function
//! (`model_guard_core::health`), run here with the operator's own credentials (so it works when
//! the guard's own function does not), with the violations waiting for approval, the failures and
//! the guard topic's alerts of the last 24 hours, and the undecided events.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::checkpoint::DynamoCheckpoint;
use model_guard_aws::guard_resources::AwsGuardResources;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::ledger_store::DynamoLedger;
use model_guard_core::audit::{AuditItem, AuditState};
use model_guard_core::guard_log::GuardAlertRecord;
use model_guard_core::health::{CheckStatus, HealthReport, HealthTargets, check};
use model_guard_core::ports::{AuditLog, EventLedger, GuardAlertLog};
use serde::Serialize;

use crate::aws::Aws;
use crate::failure::Failure;
use crate::table::{Table, Tone, duration, paint};

/// The exit code when a check fails (0 when none does; 1–3 as for every command).
pub const UNHEALTHY: u8 = 4;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    healthy: bool,
    report: HealthReport,
    pending: Vec<Pending>,
    failures_last_24h: Vec<Failed>,
    undecided: usize,
    guard_alerts_last_24h: Vec<GuardAlertRecord>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    event_id: String,
    resource: String,
    deadline: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failed {
    event_id: String,
    resource: String,
    at: DateTime<Utc>,
    error: String,
}

fn resource(item: &AuditItem) -> String {
    item.verdict.resource.as_ref().map_or_else(
        || item.resource_key.clone(),
        |r| format!("{} {}", r.resource_type.as_str(), r.name),
    )
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn aws_failure(e: model_guard_core::GuardError) -> Failure {
    Failure::guard(e)
}

/// The status screen (or JSON), and the exit code: [`UNHEALTHY`] when a check fails.
pub async fn status(
    aws: &mut Aws,
    json: bool,
    now: DateTime<Utc>,
) -> Result<(String, u8), Failure> {
    let targets: HealthTargets = {
        let text = aws.health_targets().await?;
        serde_json::from_str(&text).map_err(|e| {
            Failure::bad_input(
                format!("the health targets are not valid: {e}"),
                "guardctl and the stack are of different versions: update guardctl or \
                     redeploy the stack",
            )
        })?
    };
    let table = aws.decisions_table().await?;
    let config = aws.config().await.clone();
    let dynamodb = aws.dynamodb().await;
    let audit = DynamoAuditLog::new(dynamodb.clone(), &table);
    let report = check(
        &targets,
        &AwsGuardResources::new(&config),
        &DynamoCheckpoint::new(dynamodb.clone(), &table),
        &audit,
        now,
    )
    .await;
    let day_ago = now - Duration::hours(24);
    let mut pending: Vec<Pending> = audit
        .in_state(AuditState::Pending)
        .await
        .map_err(aws_failure)?
        .iter()
        .map(|item| Pending {
            event_id: item.event_id.clone(),
            resource: resource(item),
            deadline: item.deadline,
        })
        .collect();
    pending.sort_by_key(|p| p.deadline);
    let failures: Vec<Failed> = audit
        .in_state(AuditState::Failed)
        .await
        .map_err(aws_failure)?
        .iter()
        .filter(|item| item.updated_at >= day_ago)
        .map(|item| Failed {
            event_id: item.event_id.clone(),
            resource: resource(item),
            at: item.updated_at,
            error: item
                .failure
                .as_ref()
                .map(|f| format!("{}: {}", f.error, f.cause))
                .unwrap_or_default(),
        })
        .collect();
    let undecided = DynamoLedger::new(dynamodb.clone(), &table)
        .entries()
        .await
        .map_err(aws_failure)?
        .len();
    let alerts = DynamoGuardStore::new(dynamodb, &table)
        .since(day_ago)
        .await
        .map_err(aws_failure)?;
    let status = Status {
        healthy: report.healthy(),
        report,
        pending,
        failures_last_24h: failures,
        undecided,
        guard_alerts_last_24h: alerts,
    };
    let code = if status.healthy { 0 } else { UNHEALTHY };
    if json {
        let text = serde_json::to_string_pretty(&status).map_err(Failure::cannot_print)?;
        return Ok((text, code));
    }
    Ok((render(&status, now), code))
}

fn render(status: &Status, now: DateTime<Utc>) -> String {
    let failing = status.report.failing();
    let mut text = if failing.is_empty() {
        paint(Tone::Good, "Model Guard is switched on: every check passes")
    } else {
        paint(
            Tone::Bad,
            &format!(
                "Model Guard: {} FAILING ({}): it may not see or stop deployments",
                if failing.len() == 1 {
                    "1 check".to_owned()
                } else {
                    format!("{} checks", failing.len())
                },
                failing.join(", ")
            ),
        )
    };
    text.push_str("\n\n");
    let mut checks = Table::new(&["CHECK", "STATUS", "DETAIL"]).toned("STATUS");
    for c in &status.report.checks {
        let mark = match c.status {
            CheckStatus::Pass => "ok",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
        };
        checks.row(vec![c.name.clone(), mark.to_owned(), c.detail.clone()]);
    }
    text.push_str(&checks.render());
    text.push_str(&format!(
        "\n\nWaiting for approval: {}",
        status.pending.len()
    ));
    for p in &status.pending {
        let left = p
            .deadline
            .map(|d| format!("{} left", duration((d - now).num_seconds())))
            .unwrap_or_else(|| "no deadline yet".to_owned());
        text.push_str(&format!("\n  {}  {}  ({left})", p.event_id, p.resource));
    }
    text.push_str(&format!(
        "\nEnforcements failed, last 24 h: {}",
        status.failures_last_24h.len()
    ));
    for f in &status.failures_last_24h {
        text.push_str(&format!(
            "\n  {}  {}  {}  {}",
            time(f.at),
            f.event_id,
            f.resource,
            f.error
        ));
    }
    text.push_str(&format!(
        "\nUndecided events: {}{}",
        status.undecided,
        if status.undecided > 0 {
            " (guardctl undecided)"
        } else {
            ""
        }
    ));
    let tamper = status
        .guard_alerts_last_24h
        .iter()
        .filter(|a| a.kind == "tamper")
        .count();
    text.push_str(&format!(
        "\nGuard alerts, last 24 h: {} ({tamper} tamper)",
        status.guard_alerts_last_24h.len()
    ));
    for a in &status.guard_alerts_last_24h {
        text.push_str(&format!(
            "\n  {}  {:<17} {}",
            time(a.decided_at),
            a.kind,
            a.summary
        ));
    }
    text
}
