//! The scan function: the drift scan (the scan machine, on a schedule, one place per child) and
//! `guardctl scan --enforce`. It trusts nothing in its input but the choice of work
//! (`ScanRequest`, which names at most one of the guard's places): it lists, looks up and judges
//! by itself, with the guard's policy and role (the member role elsewhere), as `guardctl scan`
//! does with an operator's.
//!
//! Its steps for the scan machine (`statemachine/scan.asl.json`): `places` (the places the guard
//! answers for, as the sweep lists them), a scan of each, and `notScanned` (a place whose scan
//! failed, told of on the guard topic naming its account and region).
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
    NotificationKind, NotifyContext, place_unreachable, render, render_scan_attention,
    render_tamper,
};
use model_guard_core::organization::{Guarded, Members};
use model_guard_core::ports::{
    AuditLog, CallHistory, DriftMemory, EnforcementMachine, Notifier, OrganizationAccounts,
    PolicyStore, Reach, RecordStore, Recorded, RoleDirectory,
};
use model_guard_core::scan::{
    ATTENTION_LISTED, Finding, Inventory, Outcome, Problem, Progress, Report, ScanAttention,
    ScanMode, ScanPlace, ScanPorts, ScanRequest, ScanResponse, run, scanned_types,
};
use model_guard_core::sweep::{Place, PlaceList, places};
use model_guard_core::{
    Defaults, ErrorKind, GuardError, JobParents, PipelineSteps, Recovery, Resolver,
};
use serde_json::Value;

pub struct Ports<X, H, S, D, A, P, E, N, M, O> {
    /// SageMaker in each place (through the member role there): the inventory and the resolver.
    pub sagemaker: X,
    /// CloudTrail in each place.
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
    /// The name of the role the enforce function acts through outside its home place
    /// (`MEMBER_ENFORCE_ROLE_NAME`): its calls there are the guard's rollbacks.
    pub member_enforcer_role: String,
    /// The organization's accounts, when the guard answers for the whole organization.
    pub organization: O,
    /// The guard's home and its members.
    pub guarded: Guarded,
    /// The member regions (`MEMBER_REGIONS`), besides the guard's own.
    pub regions: Vec<String>,
}

/// A step of the scan machine other than a scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "step", rename_all = "camelCase", deny_unknown_fields)]
pub enum ScanStep {
    /// List the places to scan.
    Places,
    /// A place's scan failed: tell the guard topic, naming it.
    NotScanned {
        place: Place,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        cause: Option<String>,
    },
}

/// What an invocation answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Places(PlaceList),
    Scan(Box<ScanResponse>),
    /// `notScanned`: the guard topic was told.
    Told {
        told: Place,
    },
}

/// One invocation: a step of the scan machine, or a scan (of the home place when the request
/// names none).
pub async fn handle<X, H, S, D, A, P, E, N, M, O>(
    input: Value,
    ports: &Ports<X, H, S, D, A, P, E, N, M, O>,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<Answer, GuardError>
where
    X: Reach,
    X::Port: Inventory + Resolver + Recovery + PipelineSteps + JobParents + Sync,
    H: Reach,
    H::Port: CallHistory,
    S: RecordStore + Sync,
    D: RoleDirectory + Sync,
    A: AuditLog,
    P: PolicyStore,
    E: EnforcementMachine,
    N: Notifier,
    M: DriftMemory,
    O: OrganizationAccounts,
{
    if input.get("step").is_some() {
        let step: ScanStep = serde_path_to_error::deserialize(input).map_err(|e| {
            GuardError::new(
                ErrorKind::InvalidInput,
                format!("not a scan step: {}: {}", e.path(), e.inner()),
            )
        })?;
        return match step {
            ScanStep::Places => {
                let accounts = match ports.guarded.members {
                    Members::Organization => ports.organization.active_accounts().await?,
                    Members::Listed(_) => Vec::new(),
                };
                let list = places(&ports.guarded, &ports.regions, &accounts)?;
                tracing::info!(places = list.places.len(), membership = %list.membership, "places");
                Ok(Answer::Places(list))
            }
            ScanStep::NotScanned {
                place,
                error,
                cause,
            } => {
                not_scanned(ports, &place, error, cause).await?;
                Ok(Answer::Told { told: place })
            }
        };
    }
    // The schedule's own event ("Scheduled Event", from a rule that targets the function, as
    // before the scan machine): a drift scan of the home place.
    let request: ScanRequest =
        if input.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            ScanRequest {
                mode: ScanMode::Drift,
                types: None,
                place: None,
            }
        } else {
            serde_path_to_error::deserialize(input).map_err(|e| {
                GuardError::new(
                    ErrorKind::InvalidInput,
                    format!("not a scan request: {}: {}", e.path(), e.inner()),
                )
            })?
        };
    scan(request, ports, now, deadline)
        .await
        .map(|r| Answer::Scan(Box::new(r)))
}

/// The place a request names, if the guard answers for it (its home when it names none), with
/// its scope and the guard's member enforce role there.
fn scan_place<X, H, S, D, A, P, E, N, M, O>(
    requested: Option<Place>,
    ports: &Ports<X, H, S, D, A, P, E, N, M, O>,
) -> Result<ScanPlace, GuardError> {
    let guarded = &ports.guarded;
    let place = requested.unwrap_or_else(|| Place {
        account: guarded.account.clone(),
        region: guarded.region.clone(),
    });
    // Only a place the guard answers for: a direct invoke cannot point the guard's roles at
    // another account, nor make the guard enforce in a region it does not watch.
    if let Some(why) = guarded.outsider(Some(&place.account)) {
        return Err(GuardError::new(ErrorKind::InvalidInput, why));
    }
    if place.region != guarded.region && !ports.regions.contains(&place.region) {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!(
                "region {} is not guarded here: it is neither the guard's own ({}) nor one of \
                 its member regions (MEMBER_REGIONS)",
                place.region, guarded.region
            ),
        ));
    }
    let scope = guarded.scope(Some(&place.account), Some(&place.region));
    let partition = ports
        .enforcer_role
        .as_deref()
        .and_then(|arn| arn.split(':').nth(1))
        .unwrap_or("aws");
    // Outside its home place the enforce function acts through the member enforce role there.
    let member_enforcer = scope.is_some().then(|| {
        format!(
            "arn:{partition}:iam::{}:role/{}",
            place.account, ports.member_enforcer_role
        )
    });
    Ok(ScanPlace {
        place,
        scope,
        member_enforcer,
    })
}

/// A scan of one place.
async fn scan<X, H, S, D, A, P, E, N, M, O>(
    request: ScanRequest,
    ports: &Ports<X, H, S, D, A, P, E, N, M, O>,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<ScanResponse, GuardError>
where
    X: Reach,
    X::Port: Inventory + Resolver + Recovery + PipelineSteps + JobParents + Sync,
    H: Reach,
    H::Port: CallHistory,
    S: RecordStore + Sync,
    D: RoleDirectory + Sync,
    A: AuditLog,
    P: PolicyStore,
    E: EnforcementMachine,
    N: Notifier,
    M: DriftMemory,
{
    let types = scanned_types(request.types.as_deref())?;
    let place = scan_place(request.place, ports)?;
    let (account, region) = (
        Some(place.place.account.as_str()),
        Some(place.place.region.as_str()),
    );
    // A place that cannot be reached fails the scan naming it (the machine tells the guard topic).
    let sagemaker = ports.sagemaker.at(account, region).await?;
    let history = ports.history.at(account, region).await?;
    let policy = ports.policies.policies().await?;
    let scan_ports = ScanPorts {
        inventory: &sagemaker,
        history: &history,
        resolver: &sagemaker,
        records: &ports.records,
        roles: &ports.roles,
        audit: &ports.audit,
        enforcer_role: ports.enforcer_role.as_deref(),
        place: Some(&place),
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
async fn act<X, H, S, D, A, P, E, N, M, O>(
    mode: ScanMode,
    finding: &Finding,
    ports: &Ports<X, H, S, D, A, P, E, N, M, O>,
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
async fn tell_what_was_not_judged<X, H, S, D, A, P, E, N, M, O>(
    ports: &Ports<X, H, S, D, A, P, E, N, M, O>,
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

/// A place the scan machine could not scan (its member role gone or denied, the scan failed):
/// the guard topic is told, naming its account and region.
async fn not_scanned<X, H, S, D, A, P, E, N, M, O>(
    ports: &Ports<X, H, S, D, A, P, E, N, M, O>,
    place: &Place,
    error: Option<String>,
    cause: Option<String>,
) -> Result<(), GuardError>
where
    N: Notifier,
{
    let alert = place_unreachable(
        place,
        "the drift scan cannot scan",
        "What exists there is not judged until it can.",
        error.as_deref(),
        cause.as_deref(),
    );
    tracing::error!(account = %place.account, region = %place.region, error = %alert.detail, "cannot scan a place");
    ports.notifier.publish(&render_tamper(&alert, None)).await?;
    Ok(())
}
