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
use model_guard_core::notification::{
    NotificationKind, NotifyContext, render, render_scan_attention,
};
use model_guard_core::ports::{
    AuditLog, CallHistory, DriftMemory, EnforcementMachine, Notifier, PolicyStore, RecordStore,
    Recorded, RoleDirectory,
};
use model_guard_core::scan::{
    ATTENTION_LISTED, Finding, Inventory, Outcome, Problem, Progress, Report, ScanAttention,
    ScanMode, ScanPorts, ScanRequest, ScanResponse, run, scanned_types,
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
    /// The enforce function's role (`ENFORCE_ROLE_ARN`): its UpdateEndpoint calls are the
    /// guard's rollbacks, which answer for nothing in the attribution.
    pub enforcer_role: Option<String>,
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
        enforcer_role: ports.enforcer_role.as_deref(),
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
        attention: false,
    };
    let violations: Vec<Finding> = response
        .report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Violation)
        .cloned()
        .collect();
    // Acting has its own time after judging stopped: a violation not acted on is acted on by the
    // next scan (its key is the same), and this one says so.
    let acting_until = deadline.map(|d| d + chrono::Duration::seconds(ACTING_SECONDS));
    for (done, finding) in violations.iter().enumerate() {
        if acting_until.is_some_and(|d| Utc::now() >= d) {
            response.report.complete = false;
            response.report.problems.push(Problem {
                what: format!(
                    "acting on violations ({} of {} not acted on)",
                    violations.len() - done,
                    violations.len()
                ),
                error: "out of time: the next scan acts on them".to_owned(),
            });
            break;
        }
        // One violation's failure (a throttled put, a start refused) leaves the others to be
        // acted on; the scan is incomplete and says which.
        if let Err(e) = act(request.mode, finding, ports, now, &mut response).await {
            response.report.complete = false;
            response.report.problems.push(Problem {
                what: format!(
                    "acting on {} {} ({})",
                    finding.resource.resource_type, finding.resource.name, finding.key
                ),
                error: e.message,
            });
        }
    }
    if request.mode == ScanMode::Drift {
        tell_what_was_not_judged(ports, &mut response, now).await?;
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

/// Seconds the scan keeps, after judging stops at its deadline, for acting on what it found (the
/// 15 s left of the 30 are for telling what it could not judge, and answering).
const ACTING_SECONDS: i64 = 15;

/// Alerts (drift) or records and starts the enforcement of (enforce) one violation.
async fn act<R, H, S, D, A, P, E, N, M>(
    mode: ScanMode,
    finding: &Finding,
    ports: &Ports<R, H, S, D, A, P, E, N, M>,
    now: DateTime<Utc>,
    response: &mut ScanResponse,
) -> Result<(), GuardError>
where
    A: AuditLog,
    E: EnforcementMachine,
    N: Notifier,
    M: DriftMemory,
{
    let Some(verdict) = &finding.verdict else {
        return Ok(());
    };
    // Audit-only (mode off): nobody is told, nothing is stopped.
    if mode == ScanMode::Drift && verdict.action == model_guard_core::Action::None {
        return Ok(());
    }
    if let Some(before) = &finding.decided_before {
        response.skipped.push(format!("{}: {before}", finding.key));
        return Ok(());
    }
    match mode {
        ScanMode::Drift => {
            if ports.memory.alerted(&finding.key).await? {
                response.known.push(finding.key.clone());
                return Ok(());
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
                return Ok(());
            };
            let recorded = ports.audit.record(&item).await?;
            let unsettled = match &recorded {
                Recorded::Created => true,
                Recorded::Existing(existing) => !existing.state.is_terminal(),
            };
            // An audit-only (mode off) violation is recorded, and nothing runs for it.
            let runs = unsettled && item.verdict.action != model_guard_core::Action::None;
            // A scan that stopped between the write and the start is finished by the next: the
            // execution's name is the key, so a second start finds it taken.
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
                // Recorded by an earlier scan (a start repeated for an execution that runs is
                // Step Functions' no-op; it matters only when a scan stopped before it).
                _ => response.known.push(finding.key.clone()),
            }
        }
    }
    Ok(())
}

/// Drift: what the scan could not judge goes to the guard topic — the resources nobody can be
/// credited with that no drift scan told of before, and an incomplete scan (every time). The
/// guard fails loud where it cannot see: an old endpoint nobody owns, or a family it could not
/// list, would otherwise be silent.
async fn tell_what_was_not_judged<R, H, S, D, A, P, E, N, M>(
    ports: &Ports<R, H, S, D, A, P, E, N, M>,
    response: &mut ScanResponse,
    now: DateTime<Utc>,
) -> Result<(), GuardError>
where
    N: Notifier,
    M: DriftMemory,
{
    let mut new = Vec::new();
    for finding in response
        .report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Unattributed && !f.unsure)
    {
        if !ports.memory.alerted(&finding.key).await? {
            new.push(finding);
        }
    }
    let Some(attention) = ScanAttention::of(&response.report, &new) else {
        return Ok(());
    };
    ports
        .notifier
        .publish(&render_scan_attention(&attention))
        .await?;
    // Remembered once named (the ones only counted are named by a later scan): a scan that
    // stops before this tells of them again.
    let named = &new[..new.len().min(ATTENTION_LISTED)];
    for finding in named {
        let resource = format!(
            "{} {}",
            finding.resource.resource_type, finding.resource.name
        );
        ports.memory.remember(&finding.key, &resource, now).await?;
    }
    tracing::warn!(
        unattributed = new.len(),
        complete = response.report.complete,
        "drift: the guard topic told of what was not judged"
    );
    response.attention = true;
    response.alerted.extend(named.iter().map(|f| f.key.clone()));
    Ok(())
}
