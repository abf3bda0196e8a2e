//! The scan function: the drift scan (on a schedule) and `guardctl scan --enforce`. It trusts
//! nothing in its input but the choice of work (`ScanRequest`): it lists, looks up and judges by
//! itself, with the guard's policy and role, as `guardctl scan` does with an operator's.
//!
//! - **Drift**: each violation not alerted by a drift scan before is alerted (`drift-found`),
//!   once: a finding's key changes with the resource, the call that set it, what it runs and
//!   how the policy judges it, so a policy change or a model re-pointed is a new finding.
//! - **Enforce**: each violation is recorded as an audit item keyed by its finding key (a
//!   second scan finds it recorded and starts nothing) and its enforcement execution started
//!   under that name, with grace, approvals and alerts as for any violation (observe mode:
//!   notify-only). A violation an approver kept, or whose call's own enforcement is under way,
//!   is left alone.

use chrono::{DateTime, Utc};
use model_guard_core::audit::AuditItem;
use model_guard_core::custody::start_input;
use model_guard_core::notification::{NotificationKind, NotifyContext, render};
use model_guard_core::ports::{
    AuditLog, CallHistory, DriftMemory, EnforcementMachine, Notifier, PolicyStore, RecordStore,
    Recorded, RoleDirectory,
};
use model_guard_core::scan::{
    Finding, Inventory, Outcome, Progress, Report, ScanMode, ScanPorts, ScanRequest, ScanResponse,
    run, scanned_types,
};
use model_guard_core::{
    Defaults, ErrorKind, GuardError, JobParents, PipelineSteps, Recovery, Resolver,
};
use serde_json::Value;

pub struct Ports<R, H, S, D, A, P, E, N, M> {
    /// SageMaker: the inventory and the resolver.
    pub sagemaker: R,
    pub history: H,
    pub records: S,
    pub roles: D,
    pub audit: A,
    pub policies: P,
    pub enforcements: E,
    pub notifier: N,
    pub memory: M,
    pub defaults: Defaults,
}

pub async fn handle<R, H, S, D, A, P, E, N, M>(
    input: Value,
    ports: &Ports<R, H, S, D, A, P, E, N, M>,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<ScanResponse, GuardError>
where
    R: Inventory + Resolver + Recovery + PipelineSteps + JobParents + Sync,
    H: CallHistory,
    S: RecordStore + Sync,
    D: RoleDirectory + Sync,
    A: AuditLog,
    P: PolicyStore,
    E: EnforcementMachine,
    N: Notifier,
    M: DriftMemory,
{
    // The schedule's event is EventBridge's own ("Scheduled Event"): a drift scan of everything.
    let request: ScanRequest =
        if input.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            ScanRequest {
                mode: ScanMode::Drift,
                types: None,
            }
        } else {
            serde_path_to_error::deserialize(input).map_err(|e| {
                GuardError::new(
                    ErrorKind::InvalidInput,
                    format!("not a scan request: {}: {}", e.path(), e.inner()),
                )
            })?
        };
    let types = scanned_types(request.types.as_deref())?;
    let policy = ports.policies.policies().await?;
    let scan_ports = ScanPorts {
        inventory: &ports.sagemaker,
        history: &ports.history,
        resolver: &ports.sagemaker,
        records: &ports.records,
        roles: &ports.roles,
        audit: &ports.audit,
    };
    let mut report = Report::new(now);
    let mut progress = |p: Progress| {
        if let Progress::Listed {
            resource_type,
            count,
        } = p
        {
            tracing::info!(resource_type = %resource_type, count, "listed");
        }
    };
    run(
        &scan_ports,
        &types,
        &policy,
        &ports.defaults,
        now,
        deadline,
        &mut report,
        &mut progress,
    )
    .await;
    let mut response = ScanResponse {
        mode: request.mode,
        report,
        alerted: Vec::new(),
        started: Vec::new(),
        known: Vec::new(),
        skipped: Vec::new(),
    };
    let violations: Vec<Finding> = response
        .report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Violation)
        .cloned()
        .collect();
    for finding in violations {
        let Some(verdict) = &finding.verdict else {
            continue;
        };
        // Audit-only (mode off): nobody is told, nothing is stopped.
        if request.mode == ScanMode::Drift && verdict.action == model_guard_core::Action::None {
            continue;
        }
        if let Some(before) = &finding.decided_before {
            response.skipped.push(format!("{}: {before}", finding.key));
            continue;
        }
        match request.mode {
            ScanMode::Drift => {
                if ports.memory.alerted(&finding.key).await? {
                    response.known.push(finding.key.clone());
                    continue;
                }
                let alert = render(
                    NotificationKind::DriftFound,
                    verdict,
                    &NotifyContext::default(),
                );
                ports.notifier.publish(&alert).await?;
                let resource = format!(
                    "{} {}",
                    finding.resource.resource_type, finding.resource.name
                );
                ports.memory.remember(&finding.key, &resource, now).await?;
                tracing::warn!(key = %finding.key, resource = %resource, "drift: alerted");
                response.alerted.push(finding.key.clone());
            }
            ScanMode::Enforce => {
                let Some(item) = AuditItem::for_verdict(verdict, now) else {
                    continue;
                };
                let recorded = ports.audit.record(&item).await?;
                let unsettled = match &recorded {
                    Recorded::Created => true,
                    Recorded::Existing(existing) => !existing.state.is_terminal(),
                };
                // An audit-only (mode off) violation is recorded, and nothing runs for it.
                let runs = unsettled && item.verdict.action != model_guard_core::Action::None;
                // A scan that stopped between the write and the start is finished by the next:
                // the execution's name is the key, so a second start finds it taken.
                let started = runs
                    && ports
                        .enforcements
                        .start(&finding.key, &start_input(&finding.key))
                        .await?;
                tracing::info!(key = %finding.key, started, "scan violation recorded");
                match recorded {
                    // Started by this scan.
                    Recorded::Created if started => response.started.push(finding.key.clone()),
                    Recorded::Created if !runs => response
                        .skipped
                        .push(format!("{}: audit-only (mode off)", finding.key)),
                    // Recorded by an earlier scan (a start repeated for an execution that runs
                    // is Step Functions' no-op; it matters only when a scan stopped before it).
                    _ => response.known.push(finding.key.clone()),
                }
            }
        }
    }
    // The answer goes back to guardctl (6 MB at most): the verdicts stay in the audit items, and
    // the allowed and ignored resources are counted, not listed.
    response
        .report
        .findings
        .retain(|f| !matches!(f.outcome, Outcome::Allowed | Outcome::Ignored));
    for finding in &mut response.report.findings {
        finding.verdict = None;
    }
    Ok(response)
}
