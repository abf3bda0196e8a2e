//! The sweep's steps (docs/design.md, "The sweep"), one invocation each, as the sweep machine
//! (`statemachine/sweep.asl.json`) runs them:
//!
//! 1. **Places**: the places the guard answers for, each guarded account in each guarded region
//!    (the member accounts from the settings, or from Organizations' `ListAccounts`).
//! 2. **Look in** one place (the machine's Map): the records CloudTrail has there in that place's
//!    window, looked up by the SageMaker source through the member role there. Each one the rule
//!    would have matched and that has no audit item (or record) is written to the ledger and
//!    submitted, wrapped as EventBridge wraps it. The place's checkpoint moves once every such
//!    record is in the ledger, so the window may forget what the ledger holds.
//! 3. **Unreachable**: a place the Map could not look in is alerted on the guard topic, naming
//!    its account and region.
//! 4. **Chores** (also on an enforcement's end): every event seen and not settled (its triage
//!    failed, or never ended) is submitted again from the ledger, with backoff, however old it
//!    is, until the triage settles it. Then the unsettled violations: one whose enforcement
//!    execution was stopped from outside (or never started, or started by someone else and
//!    stopped) is handed to a restart, `<eventID>_<n>`, and alerted. Last, every alert an item
//!    still owes (its publish had failed) is sent, and an error is reported while any still
//!    cannot go out.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use model_guard_core::audit::{AuditItem, AuditState, FailureRecord};
use model_guard_core::custody::{restart_name, start_input};
use model_guard_core::event::{execution_name, parse_guarded_event};
use model_guard_core::ledger::LedgerEntry;
use model_guard_core::notification::{
    TamperAlert, TamperKind, for_item, place_unreachable, render_tamper,
};
use model_guard_core::organization::{Guarded, Members};
use model_guard_core::ports::{
    AuditLog, CallHistory, EnforcementMachine, EventLedger, LookupKey, Notifier,
    OrganizationAccounts, Reach, RecordStore, SweepCheckpoint, TriageStarter,
};
use model_guard_core::sweep::{
    ExecutionStatus, Place, PlaceList, SAGEMAKER_SOURCE, SweepReport, SweepStep, WatchStep,
    envelope_in, places, resubmit, rule_matched, send_owed_alert, time_text, undecided_overdue,
    watch_step, window,
};
use model_guard_core::{ErrorKind, GuardError, ParseOutcome};
use serde_json::Value;

pub struct Ports<H, A, T, C, R, E, N, L, O> {
    /// CloudTrail in each place (through the member role there).
    pub history: H,
    pub audit: A,
    pub triage: T,
    pub checkpoint: C,
    /// The records table, for the recorded calls (which have no audit item).
    pub records: R,
    /// The enforcement machine, whose executions the sweep watches.
    pub enforcements: E,
    /// For the alert when an enforcement is restarted, the alerts still owed, and a place the
    /// sweep cannot look in.
    pub notifier: N,
    /// The events seen and not settled.
    pub ledger: L,
    /// The organization's accounts, when the guard answers for the whole organization.
    pub organization: O,
}

/// How many taken restart names the sweep steps over in one run (someone may have started
/// executions under the next names and stopped them).
const RESTART_ATTEMPTS: u32 = 5;

/// The sweep's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The guard's home and its members.
    pub guarded: Guarded,
    /// The member regions (`MEMBER_REGIONS`), besides the guard's own.
    pub regions: Vec<String>,
    /// Asked for again from the previous window (CloudTrail's delivery delay).
    pub overlap: Duration,
    /// The first sweep's window in a place.
    pub first_lookback: Duration,
    /// The first wait before a ledger entry is submitted again (doubled with each attempt, at
    /// most an hour).
    pub undecided_retry: Duration,
}

/// What an invocation answers: the places, or a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Places(PlaceList),
    Report(Box<SweepReport>),
}

/// One invocation: the step `input` asks for. `until`: when a lookup must stop paging.
pub async fn handle<H, A, T, C, R, E, N, L, O>(
    input: &Value,
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    settings: &Settings,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<Answer, GuardError>
where
    H: Reach,
    H::Port: CallHistory,
    A: AuditLog,
    T: TriageStarter,
    C: SweepCheckpoint,
    R: RecordStore,
    E: EnforcementMachine,
    N: Notifier,
    L: EventLedger,
    O: OrganizationAccounts,
{
    match SweepStep::of(input)? {
        SweepStep::Places => {
            let accounts = match settings.guarded.members {
                Members::Organization => ports.organization.active_accounts().await?,
                Members::Listed(_) => Vec::new(),
            };
            let list = places(&settings.guarded, &settings.regions, &accounts)?;
            tracing::info!(places = list.places.len(), membership = %list.membership, "places");
            Ok(Answer::Places(list))
        }
        SweepStep::LookIn { place } => look_in(ports, settings, &place, now, until)
            .await
            .map(|r| Answer::Report(Box::new(r))),
        SweepStep::Unreachable {
            place,
            error,
            cause,
        } => {
            unreachable(ports, &place, error, cause).await?;
            Ok(Answer::Report(Box::new(SweepReport {
                place: Some(place.to_string()),
                ..SweepReport::default()
            })))
        }
        SweepStep::Chores => chores(ports, settings, now)
            .await
            .map(|r| Answer::Report(Box::new(r))),
    }
}

/// Looks in one place: the records of its window, each one the rule would have matched and the
/// guard has not seen into the ledger and submitted; then the place's checkpoint moves.
pub async fn look_in<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    settings: &Settings,
    place: &Place,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<SweepReport, GuardError>
where
    H: Reach,
    H::Port: CallHistory,
    A: AuditLog,
    T: TriageStarter,
    C: SweepCheckpoint,
    R: RecordStore,
    L: EventLedger,
{
    let guarded = &settings.guarded;
    // Only a place the guard answers for: an input naming another is refused, not looked in.
    if let Some(why) = guarded.outsider(Some(&place.account)) {
        return Err(GuardError::new(ErrorKind::InvalidInput, why));
    }
    let scope = guarded.scope(Some(&place.account), Some(&place.region));
    let name = place.to_string();
    let mut report = SweepReport {
        place: Some(name.clone()),
        ..SweepReport::default()
    };
    let last = ports.checkpoint.last_end(scope.as_deref()).await?;
    let w = window(last, now, settings.overlap, settings.first_lookback);
    report.start = time_text(w.start);
    report.end = time_text(w.end);
    let history = ports
        .history
        .at(Some(&place.account), Some(&place.region))
        .await?;
    let looked_up = history
        .lookup(
            LookupKey::EventSource(SAGEMAKER_SOURCE),
            w.start,
            w.end,
            until,
        )
        .await?;
    let (records, others) = rule_matched(looked_up);
    report.found = records.len();
    report.skipped = others;
    for record in records {
        let event_id = record
            .get("eventID")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let envelope = envelope_in(&record, place);
        // A recorded call has a record instead of an audit item (and one that is judged too,
        // CreateModel, both); its record is the one of this place.
        match parse_guarded_event(&envelope, guarded) {
            ParseOutcome::Record { record, request } => {
                let judged = match request {
                    Some(_) => audited(&ports.audit, &event_id).await?,
                    None => true,
                };
                if judged && ports.records.contains(&record).await? {
                    report.already_recorded += 1;
                    continue;
                }
            }
            _ => match ports.audit.get(&event_id).await {
                Ok(None) => {}
                Ok(Some(item)) if resubmit(item.state, item.decided_at, now) => {
                    tracing::warn!(event_id = %event_id, "left evaluated; submitting again");
                    report.resubmitted += 1;
                }
                Ok(Some(_)) => {
                    report.already_audited += 1;
                    continue;
                }
                // An item that is there but unreadable is not a missed event: count it, go on.
                Err(e) if e.kind == ErrorKind::AuditConflict => {
                    tracing::error!(event_id = %event_id, error = %e, "unreadable audit item");
                    report.unprocessable += 1;
                    continue;
                }
                Err(e) => return Err(e),
            },
        }
        // Into the ledger before anything can lose it: from here on, the ledger, not the
        // window, keeps it until the triage settles it.
        let entry = LedgerEntry::seen(&event_id, &envelope, now);
        if !ports.ledger.note(&entry).await? {
            tracing::info!(event_id = %event_id, "in the ledger already; retried on its schedule");
            report.already_undecided += 1;
            continue;
        }
        if submit(
            &ports.triage,
            &ports.ledger,
            &event_id,
            &entry.envelope,
            now,
            &mut report,
        )
        .await?
        {
            tracing::info!(event_id = %event_id, place = %name, "submitted a missed event");
            report.submitted.push(event_id);
        }
    }
    ports.checkpoint.save_end(scope.as_deref(), w.end).await?;
    tracing::info!(
        place = %name, start = %report.start, end = %report.end, found = report.found,
        skipped = report.skipped, submitted = report.submitted.len(),
        already_audited = report.already_audited, resubmitted = report.resubmitted,
        unprocessable = report.unprocessable, "looked in a place"
    );
    model_guard_aws::emit_metrics(&model_guard_core::metrics::recovered(
        report.submitted.len(),
        now,
    ));
    Ok(report)
}

/// A place the Map could not look in (its member role cannot be assumed, its CloudTrail
/// refuses): the guard topic is told, naming it. A publish that fails fails the step, and so
/// the sweep's run.
async fn unreachable<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    place: &Place,
    error: Option<String>,
    cause: Option<String>,
) -> Result<(), GuardError>
where
    N: Notifier,
{
    let alert = place_unreachable(
        place,
        "the sweep cannot look in",
        "Calls made there that EventBridge did not deliver are not found until it can.",
        error.as_deref(),
        cause.as_deref(),
    );
    tracing::error!(account = %place.account, region = %place.region, error = %alert.detail, "cannot look in a place");
    ports.notifier.publish(&render_tamper(&alert, None)).await?;
    Ok(())
}

/// The guard's own chores: the ledger, the enforcements it watches, the owed alerts.
pub async fn chores<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<SweepReport, GuardError>
where
    A: AuditLog,
    T: TriageStarter,
    R: RecordStore,
    E: EnforcementMachine,
    N: Notifier,
    L: EventLedger,
{
    let mut report = SweepReport::default();
    retry_undecided(ports, settings, now, &mut report).await?;
    watch(ports, now, &mut report).await?;
    send_owed_alerts(ports, now, &mut report).await?;
    tracing::info!(
        retried = ?report.retried, undecided = report.undecided.len(),
        undecided_events = ?report.undecided, restarted = ?report.restarted, alerts_sent = ?report.alerts_sent,
        alerts_still_owed = ?report.alerts_still_owed, unprocessable = report.unprocessable, "sweep done"
    );
    if !report.alerts_still_owed.is_empty() {
        // An error, so that the sweep's alarm (on the guard topic) says the alert path is broken.
        return Err(GuardError::new(
            ErrorKind::Unavailable,
            format!(
                "{} alert(s) still cannot be published: {}",
                report.alerts_still_owed.len(),
                report.alerts_still_owed.join(", ")
            ),
        ));
    }
    Ok(report)
}

/// Submits a ledger entry's event to the triage machine, counting the attempt first; `false` when
/// it was not submitted (settled meanwhile, or refused by Step Functions: then the refusal is
/// recorded on the entry, which stays, and is counted as unprocessable).
async fn submit<T, L>(
    triage: &T,
    ledger: &L,
    event_id: &str,
    envelope: &str,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<bool, GuardError>
where
    T: TriageStarter,
    L: EventLedger,
{
    if !ledger.submitted(event_id, now).await? {
        tracing::info!(event_id = %event_id, "settled meanwhile");
        return Ok(false);
    }
    // Named for the sweep, the time and the event, so a submission is easy to find; the triage
    // settles a ledger entry only in a run so named (statemachine/triage.asl.json, `Settled?`).
    let name = execution_name(&format!("sweep-{}-{event_id}", now.timestamp_millis()));
    match triage.start(&name, envelope).await {
        Ok(()) => Ok(true),
        // Step Functions refusing this input (too large, say) would refuse it every time: the
        // entry says why, stays visible, and is tried again on its (slowing) schedule.
        Err(e) if e.kind == ErrorKind::InvalidInput => {
            tracing::error!(event_id = %event_id, error = %e, "the triage refused the event");
            let failure = FailureRecord {
                error: e.error_type().to_owned(),
                cause: e.message.clone(),
            };
            ledger.failed(event_id, &failure, now).await?;
            report.unprocessable += 1;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Every ledger entry that is due is submitted again; the ones that failed (or are long
/// unsettled) are reported as undecided, so the alarm on them fires. Returns the eventIDs
/// submitted.
async fn retry_undecided<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    settings: &Settings,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<HashSet<String>, GuardError>
where
    A: AuditLog,
    T: TriageStarter,
    R: RecordStore,
    L: EventLedger,
{
    let mut submitted = HashSet::new();
    for entry in ports.ledger.entries().await? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tracing::error!(error = %e, "unreadable ledger entry");
                report.unprocessable += 1;
                continue;
            }
        };
        let event_id = &entry.event_id;
        let envelope = match serde_json::from_str::<Value>(&entry.envelope) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::error!(event_id = %event_id, error = %e, "a ledger entry's event is not JSON");
                report.unprocessable += 1;
                continue;
            }
        };
        // Settled by the guard's own records (a run ended well but its delete did not go
        // through): the entry goes, and only if it still holds the same event.
        if settled(ports, &settings.guarded, event_id, &envelope).await? {
            if ports.ledger.settle(event_id, &entry.envelope).await? {
                tracing::info!(event_id = %event_id, "settled; left the ledger");
                report.settled.push(event_id.clone());
            }
            continue;
        }
        if undecided_overdue(&entry, now) {
            report.undecided.push(event_id.clone());
        }
        if !entry.due(settings.undecided_retry, now) {
            continue;
        }
        if submit(
            &ports.triage,
            &ports.ledger,
            event_id,
            &entry.envelope,
            now,
            report,
        )
        .await?
        {
            tracing::warn!(
                event_id = %event_id, attempts = entry.attempts + 1,
                failure = ?entry.failure.as_ref().map(|f| &f.error),
                "submitted an undecided event again"
            );
            report.retried.push(event_id.clone());
            submitted.insert(event_id.clone());
        }
    }
    Ok(submitted)
}

/// Whether the guard's own records settle a ledger entry's event: the parser ignores it, its
/// record is kept, or it has an audit item (Evaluate's conditional write: decided). What only
/// Evaluate can ignore (a capacity change with nothing awaiting enforcement) is settled by its
/// triage run alone.
async fn settled<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    guarded: &Guarded,
    event_id: &str,
    envelope: &Value,
) -> Result<bool, GuardError>
where
    A: AuditLog,
    R: RecordStore,
{
    // Parsed as ParseEvent parses it, so a record is looked for under its place's key.
    match parse_guarded_event(envelope, guarded) {
        ParseOutcome::Ignored { .. } => Ok(true),
        ParseOutcome::Record { record, request } => Ok(ports.records.contains(&record).await?
            && (request.is_none() || audited(&ports.audit, event_id).await?)),
        ParseOutcome::Request { .. } => audited(&ports.audit, event_id).await,
    }
}

/// Whether the event has an audit item (Evaluate decided it); an unreadable one says no.
async fn audited<A: AuditLog>(audit: &A, event_id: &str) -> Result<bool, GuardError> {
    match audit.get(event_id).await {
        Ok(item) => Ok(item.is_some()),
        Err(e) if e.kind == ErrorKind::AuditConflict => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every alert an item still owes goes out: the ones a failing alert path left behind.
async fn send_owed_alerts<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), GuardError>
where
    A: AuditLog,
    E: EnforcementMachine,
    N: Notifier,
{
    for item in ports.audit.owing_alerts().await? {
        let Some(kind) = item.alert_owed else {
            continue;
        };
        let holder = item.execution.as_deref().unwrap_or(&item.event_id);
        let running = ports.enforcements.status(holder).await? == Some(ExecutionStatus::Running);
        if !send_owed_alert(&item, running, now) {
            continue;
        }
        // The item was read before its execution's status: an execution that has ended since
        // sent its alert (and cleared it) before it ended. Read it again to send it once.
        let item = match ports.audit.get(&item.event_id).await? {
            Some(fresh) if fresh.alert_owed == Some(kind) => fresh,
            _ => continue,
        };
        let event_id = &item.event_id;
        match ports.notifier.publish(&for_item(kind, &item)).await {
            Ok(message_id) => {
                ports.audit.alert_sent(event_id, kind).await?;
                tracing::warn!(event_id = %event_id, kind = kind.as_str(), message_id = %message_id, "sent an owed alert");
                report.alerts_sent.push(event_id.clone());
            }
            Err(e) => {
                tracing::error!(event_id = %event_id, kind = kind.as_str(), error = %e, "an owed alert still cannot be published");
                report.alerts_still_owed.push(event_id.clone());
            }
        }
    }
    Ok(())
}

/// Every unsettled violation has a running enforcement execution, or gets one.
async fn watch<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), GuardError>
where
    A: AuditLog,
    E: EnforcementMachine,
    N: Notifier,
{
    for state in [AuditState::Evaluated, AuditState::Pending] {
        for item in ports.audit.in_state(state).await? {
            let holder = item.execution.as_deref().unwrap_or(&item.event_id);
            let status = ports.enforcements.status(holder).await?;
            match watch_step(&item, status.as_ref(), now) {
                WatchStep::Fine => {}
                WatchStep::StartFirst => {
                    let input = start_input(&item.event_id);
                    if ports.enforcements.start(&item.event_id, &input).await? {
                        tracing::warn!(event_id = %item.event_id, "started a missing enforcement");
                        report.restarted.push(item.event_id.clone());
                    }
                }
                WatchStep::Restart { from, status, next } => {
                    restart(ports, &item, from, &status, next, now, report).await?;
                }
            }
        }
    }
    Ok(())
}

async fn restart<H, A, T, C, R, E, N, L, O>(
    ports: &Ports<H, A, T, C, R, E, N, L, O>,
    item: &AuditItem,
    mut from: Option<String>,
    status: &str,
    next: u32,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), GuardError>
where
    A: AuditLog,
    E: EnforcementMachine,
    N: Notifier,
{
    let event_id = &item.event_id;
    let was = from.clone().unwrap_or_else(|| event_id.clone());
    let input = start_input(event_id);
    for n in next..next + RESTART_ATTEMPTS {
        let to = restart_name(event_id, n);
        // The hand-over comes first: the restart's Claim takes only an item handed to it.
        if !ports
            .audit
            .hand_over(event_id, from.as_deref(), &to, now)
            .await?
        {
            tracing::info!(event_id = %event_id, "settled or handed over meanwhile");
            return Ok(());
        }
        let started = ports.enforcements.start(&to, &input).await?
            // Someone started an execution under the name; running, it claims the item and
            // acts as the guard's own would.
            || ports.enforcements.status(&to).await? == Some(ExecutionStatus::Running);
        if started {
            tracing::warn!(event_id = %event_id, was = %was, status, restarted = %to, "restarted an enforcement");
            let alert = TamperAlert {
                what: TamperKind::EnforcementRestarted,
                event_id: Some(event_id.clone()),
                detail: format!(
                    "enforcement execution {was} is {status} while the violation is still {}; \
                     restarted as {to}",
                    item.state
                ),
                place: None,
            };
            ports
                .notifier
                .publish(&render_tamper(&alert, Some(&item.verdict)))
                .await?;
            report.restarted.push(to);
            return Ok(());
        }
        from = Some(to);
    }
    tracing::error!(event_id = %event_id, "every restart name tried was taken");
    Err(GuardError::new(
        ErrorKind::AuditConflict,
        format!(
            "event {event_id}: restart names {next} to {} were all taken; the next sweep goes on",
            next + RESTART_ATTEMPTS - 1
        ),
    ))
}
