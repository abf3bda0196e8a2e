//! Evaluate: resolves the request's subjects through SageMaker, judges them against the policy
//! table, writes the audit item, and returns the verdict. A duplicate delivery of an event that
//! was decided before returns the stored verdict: one decision per event.

use chrono::{DateTime, Utc};
use model_guard_core::audit::{AuditItem, resource_key};
use model_guard_core::contract::Restorable;
use model_guard_core::covered::covered_call;
use model_guard_core::custody::{awaiting_enforcement, breaks_enforcement};
use model_guard_core::decide::observing;
use model_guard_core::organization::scoped;
use model_guard_core::policy::PolicySet;
use model_guard_core::ports::{
    AuditLog, PolicyStore, Reach, RecordStore, Recorded, RoleDirectory, look_up_role_path,
};
use model_guard_core::rollback::{
    own_rollback, rejudged, restorable, restorable_component, rollback_candidate,
};
use model_guard_core::{
    Action, Decision, Defaults, ErrorKind, EvaluateInput, Evaluated, GuardError, JobParents,
    Lookups, Mode, ParseOutcome, PipelineSteps, RecordWait, Recovery, Request, Resolver,
    RollbackTo, Verdict, WaitForRecords, decide_child, decide_resolved, resolve_subjects,
};
use serde_json::Value;

pub struct Ports<X, P, A, D, S> {
    /// SageMaker where the call was made: a resolver for its account and region (`Reach`).
    pub resolvers: X,
    pub policies: P,
    pub audit: A,
    /// IAM, for the path of a caller's role when the event gave none.
    pub roles: D,
    /// The records table: what each model and endpoint config contained at creation.
    pub records: S,
    /// How long after a call a record it needs is waited for (`RECORD_WAIT_SECONDS`).
    pub record_wait: chrono::Duration,
    pub defaults: Defaults,
    /// The enforce function's role (`ENFORCE_ROLE_ARN`): an UpdateEndpoint it made may be the
    /// guard's own rollback (`rollback::own_rollback`).
    pub enforcer_role: String,
    /// The name of the role the enforce function acts through in a member account
    /// (`MEMBER_ENFORCE_ROLE_NAME`): there, the guard's rollback is made by it.
    pub member_enforcer_role: String,
}

impl<X, P, A, D, S> Ports<X, P, A, D, S> {
    /// Whether the call was made by the enforce function: with its own role at home, or through
    /// its member role in the call's account (which only the enforce role may assume).
    fn by_enforcer(&self, request: &Request) -> bool {
        if request.principal == self.enforcer_role {
            return true;
        }
        let partition = self.enforcer_role.split(':').nth(1).unwrap_or("aws");
        request.account.as_deref().is_some_and(|account| {
            request.principal
                == format!(
                    "arn:{partition}:iam::{account}:role/{}",
                    self.member_enforcer_role
                )
        })
    }
}

/// How long a missing record is waited for when `RECORD_WAIT_SECONDS` is unset: EventBridge
/// delivers most CloudTrail events within a minute or two.
pub const RECORD_WAIT_SECONDS: u32 = 90;
/// The longest wait: with the triage's retries, well inside an Express execution's five minutes
/// (tests/statemachine checks it).
pub const MAX_RECORD_WAIT_SECONDS: u32 = 150;

/// `RECORD_WAIT_SECONDS` from the environment, checked.
pub fn record_wait_from_env() -> Result<chrono::Duration, GuardError> {
    let seconds: u32 = model_guard_aws::env_number("RECORD_WAIT_SECONDS", RECORD_WAIT_SECONDS)?;
    if seconds > MAX_RECORD_WAIT_SECONDS {
        return Err(GuardError::new(
            ErrorKind::Configuration,
            format!(
                "RECORD_WAIT_SECONDS={seconds} is longer than an Express triage run allows \
                 ({MAX_RECORD_WAIT_SECONDS} s)"
            ),
        ));
    }
    Ok(chrono::Duration::seconds(i64::from(seconds)))
}

/// ParseEvent's output in; the verdict out, or, while a record the decision needs has not
/// arrived (within `record_wait` of the call), the input back with how long to wait.
pub async fn handle<X, R, P, A, D, S>(
    input: Value,
    ports: &Ports<X, P, A, D, S>,
    now: DateTime<Utc>,
) -> Result<Evaluated, GuardError>
where
    X: Reach<Port = R>,
    R: Resolver + Recovery + PipelineSteps + JobParents,
    P: PolicyStore,
    A: AuditLog,
    D: RoleDirectory,
    S: RecordStore,
{
    let input: EvaluateInput = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not ParseEvent's output: {}: {}", e.path(), e.inner()),
        )
    })?;
    let since = input.wait_for_records.map_or(now, |w| w.since);
    let mut request = match input.outcome {
        // Ignored events are not audited (docs/design.md, "Audit").
        ParseOutcome::Ignored { verdict } => return Ok(Evaluated::Verdict(verdict)),
        // The triage sends records to Record, which hands on the request of a call that is
        // judged too; a record that arrives here is judged only if it carries one.
        ParseOutcome::Record {
            record,
            request: None,
        } => return Ok(Evaluated::Verdict(record.as_verdict())),
        ParseOutcome::Record {
            request: Some(request),
            ..
        } => *request,
        ParseOutcome::Request { request } => request,
    };
    let asked = request.clone();
    // Only for a caller whose role path the event did not give (an empty session issuer).
    let caller = look_up_role_path(request.caller(), request.account.as_deref(), &ports.roles);
    request.set_caller(caller.await?);
    // The guard's own rollback is allowed as such, before anything is waited for or judged: it
    // must never start an enforcement (nor count as a change made during one).
    if matches!(
        request.event_name.as_str(),
        "UpdateEndpoint" | "UpdateInferenceComponent"
    ) && ports.by_enforcer(&request)
    {
        let on_resource = ports
            .audit
            .for_resource(&scoped(
                resource_key(&request.resource.name),
                request.scope.as_deref(),
            ))
            .await?;
        let enforcer = request.principal.clone();
        if let Some(verdict) = own_rollback(&request, &on_resource, &enforcer) {
            return audited(verdict, ports, now).await;
        }
        tracing::warn!(event_id = %request.event_id, event_name = %request.event_name, "an update by the enforce role with no rollback record: judged as any update");
    }
    let policy = ports.policies.policies().await?;
    // SageMaker where the call was made; a member that cannot be reached fails the evaluation
    // naming its account (retried, then kept in the ledger and alerted).
    let resolver = ports
        .resolvers
        .at(request.account.as_deref(), request.region.as_deref())
        .await?;
    // Counted from the call, or from the first try if that came later (a swept event).
    let call = request.call_time().unwrap_or(now);
    let lookups = Lookups {
        resolver: &resolver,
        records: &ports.records,
        now,
        wait_until: call.max(since) + ports.record_wait,
        needs: policy.content_needs(),
    };
    // A violation that a pipeline step or a job may have made is judged again for who started
    // it, once SageMaker bears the link out (`children`). What is not written yet (a record, an
    // AutoML job's generated endpoint name) is waited for, within the wait.
    let decided = async {
        let resolution = resolve_subjects(&request, &lookups).await?;
        let verdict = decide_child(
            &request,
            &resolution,
            &policy,
            &ports.defaults,
            &resolver,
            &ports.roles,
            &ports.records,
        )
        .await?;
        Ok::<_, GuardError>((verdict, resolution.configs))
    };
    let (verdict, configs) = match decided.await {
        Ok(decided) => decided,
        Err(e) if e.kind == ErrorKind::RecordsPending => {
            let seconds = wait_seconds(call.max(since), now, lookups.wait_until);
            tracing::info!(event_id = %request.event_id, seconds, reason = %e.message, "waiting for records");
            return Ok(Evaluated::WaitForRecords(WaitForRecords {
                wait_for_records: RecordWait {
                    seconds,
                    reason: e.message,
                    since,
                },
                input: ParseOutcome::Request { request: asked },
            }));
        }
        Err(e) => return Err(e),
    };
    // A change to a deployed resource while a violation on it awaits enforcement breaks that
    // violation's bindings (`custody::breaks_enforcement`): one query, for updates only. The
    // resource is the verdict's (a promotion's endpoint, not its experiment).
    let changes = covered_call(&request.event_name).is_some_and(|c| c.changes_deployed);
    let mut changed = request.clone();
    if let Some(on) = &verdict.resource {
        changed.resource = on.clone();
    }
    let on_resource = if changes {
        ports
            .audit
            .for_resource(&scoped(
                resource_key(&changed.resource.name),
                changed.scope.as_deref(),
            ))
            .await?
    } else {
        Vec::new()
    };
    let awaiting = awaiting_enforcement(&changed, &on_resource);
    let verdict = match awaiting {
        Some(pending) => {
            tracing::warn!(event_id = %request.event_id, awaiting = %pending.event_id, "a change to a resource awaiting enforcement");
            breaks_enforcement(verdict, pending, now)
        }
        None => verdict,
    };
    let mut verdict = verdict;
    // What an allowed deployment put in place: a later violating update is rolled back to it.
    verdict.restorable = match restorable(&request, &verdict, &configs) {
        Some(kept) => Some(Box::new(kept)),
        None => kept_component(&request, &verdict, &resolver)
            .await
            .map(Box::new),
    };
    // A violating update: the endpoint's last allowed deployment, if it is allowed now. Before
    // observe mode lowers the action, so that its alert says what enforce mode would do.
    // A capacity change during an awaited violation's grace keeps that one's (it deploys
    // nothing to judge); an update is decided on its own (its bindings' `onUpdate`).
    if verdict.decision == Decision::Violation
        && verdict.action == Action::Enforce
        && (verdict.rollback_to.is_none()
            || matches!(
                request.event_name.as_str(),
                "UpdateEndpoint" | "UpdateInferenceComponent"
            ))
    {
        verdict.rollback_to = rollback_to(
            &changed,
            &verdict,
            &on_resource,
            &policy,
            &lookups,
            ports,
            now,
        )
        .await?;
    }
    // The stack-wide setting at the decision: while observing, nothing is enforced.
    let verdict = observing(policy.enforcement(), verdict);
    audited(verdict, ports, now).await
}

/// Writes the verdict's audit item (one per event): the verdict, or the one stored before for a
/// duplicate delivery.
async fn audited<X, P, A, D, S>(
    verdict: Verdict,
    ports: &Ports<X, P, A, D, S>,
    now: DateTime<Utc>,
) -> Result<Evaluated, GuardError>
where
    A: AuditLog,
{
    let Some(item) = AuditItem::for_verdict(&verdict, now) else {
        return Ok(Evaluated::Verdict(verdict));
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
            // Counted once per event: a duplicate delivery finds the item and is not counted.
            model_guard_aws::emit_metrics(&model_guard_core::metrics::decision(&verdict, now));
            Ok(Evaluated::Verdict(verdict))
        }
        Recorded::Existing(existing) => {
            tracing::info!(
                event_id = %existing.event_id,
                state = %existing.state,
                "decided before (a duplicate delivery): returning the stored verdict"
            );
            Ok(Evaluated::Verdict(existing.verdict))
        }
    }
}

/// What an allowed Create/UpdateInferenceComponent deployed, described now
/// (`rollback::restorable_component`). A describe that fails keeps nothing: a later violating
/// update of the component is then deleted, not rolled back, and this allowed call stays allowed.
async fn kept_component<R: Resolver>(
    request: &Request,
    verdict: &Verdict,
    resolver: &R,
) -> Option<Restorable> {
    if verdict.decision != Decision::Allow
        || !matches!(
            request.event_name.as_str(),
            "CreateInferenceComponent" | "UpdateInferenceComponent"
        )
    {
        return None;
    }
    let described = match resolver.component_spec(&request.resource.name).await {
        Ok(described) => described,
        Err(e) => {
            tracing::warn!(event_id = %request.event_id, error = ?e, "the component's specification is not kept");
            None
        }
    };
    restorable_component(request, verdict, described)
}

/// The endpoint's last allowed deployment to roll a violating update back to, judged again now
/// for whoever made it: `None` when there is none, a binding says `onUpdate: delete`, or it is
/// not allowed now (each logged with why).
async fn rollback_to<X, R, P, A, D, S>(
    request: &Request,
    verdict: &Verdict,
    on_resource: &[AuditItem],
    policy: &PolicySet,
    lookups: &Lookups<'_, R, S>,
    ports: &Ports<X, P, A, D, S>,
    now: DateTime<Utc>,
) -> Result<Option<Box<RollbackTo>>, GuardError>
where
    R: Resolver + Recovery,
    S: RecordStore,
{
    let candidate = match rollback_candidate(request, verdict, on_resource, policy) {
        Ok(candidate) => candidate,
        Err(why) => {
            tracing::info!(event_id = %request.event_id, why = %why, "no rollback");
            return Ok(None);
        }
    };
    let again = rejudged(request, &candidate, now);
    // The config as it is now, nothing waited for: what cannot be resolved now (the config
    // gone) is unresolved, and no rollback. The violation itself is decided.
    let now_only = Lookups {
        wait_until: now,
        ..*lookups
    };
    let resolution = match resolve_subjects(&again, &now_only).await {
        Ok(resolution) => resolution,
        Err(e) if e.kind == ErrorKind::RecordsPending => {
            tracing::info!(event_id = %request.event_id, why = %e, "no rollback");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let judged = decide_resolved(&again, &resolution, policy, &ports.defaults);
    if judged.decision != Decision::Allow {
        tracing::info!(
            event_id = %request.event_id,
            allowed_event = %candidate.event_id,
            reasons = ?judged.reasons,
            "no rollback: the last allowed deployment is not allowed now"
        );
        return Ok(None);
    }
    Ok(Some(Box::new(RollbackTo {
        event_id: candidate.event_id,
        config: candidate.config,
        deployed_at: Some(candidate.at),
    })))
}

/// How long the triage waits before asking again: about as long as it has waited since `from`
/// (2 s at first, at most 30 s), and no later than `until`, when the records that have not come
/// are given up on.
fn wait_seconds(from: DateTime<Utc>, now: DateTime<Utc>, until: DateTime<Utc>) -> u32 {
    let waited = now.signed_duration_since(from).num_seconds().max(0);
    let left = until.signed_duration_since(now).num_seconds().max(1);
    u32::try_from(waited.clamp(2, 30).min(left)).unwrap_or(2)
}

/// The stack's defaults from the environment: `DEFAULT_GRACE_SECONDS` (900 when unset),
/// `DEFAULT_APPROVERS` (a JSON array of principal patterns; none when unset) and
/// `UNRESOLVED_ACTION` (what a subject the guard cannot resolve costs: `enforce` when unset, or
/// `notify` or `off`).
pub fn defaults_from_env() -> Result<Defaults, GuardError> {
    defaults_from(|name| std::env::var(name).ok())
}

/// [`defaults_from_env`] over any source of settings.
pub fn defaults_from(setting: impl Fn(&str) -> Option<String>) -> Result<Defaults, GuardError> {
    let config = |m: String| GuardError::new(ErrorKind::Configuration, m);
    let get = |name: &str| setting(name).filter(|v| !v.trim().is_empty());
    let grace = match get("DEFAULT_GRACE_SECONDS") {
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map_err(|e| config(format!("DEFAULT_GRACE_SECONDS={v:?}: {e}")))?,
        None => Defaults::GRACE_SECONDS,
    };
    let approvers: Vec<String> = match get("DEFAULT_APPROVERS") {
        Some(v) => serde_json::from_str(&v).map_err(|e| {
            config(format!(
                "DEFAULT_APPROVERS is not a JSON array of principal patterns: {e}"
            ))
        })?,
        None => Vec::new(),
    };
    let unresolved = match get("UNRESOLVED_ACTION") {
        Some(v) => Mode::from_name(v.trim()).ok_or_else(|| {
            config(format!(
                "UNRESOLVED_ACTION={v:?} is not one of {}",
                Mode::NAMES.join(", ")
            ))
        })?,
        None => Mode::Enforce,
    };
    Ok(Defaults::new(grace, &approvers)
        .map_err(config)?
        .with_unresolved_mode(unresolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Defaults, GuardError> {
        defaults_from(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn settings_and_their_defaults() {
        let d = from(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (d.grace_seconds, d.approvers.len(), d.unresolved_mode),
            (900, 0, Mode::Enforce)
        );
        let d = from(&[
            ("DEFAULT_GRACE_SECONDS", "30"),
            ("DEFAULT_APPROVERS", r#"["arn:aws:iam::1:role/Sec"]"#),
            ("UNRESOLVED_ACTION", "notify"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (d.grace_seconds, d.approvers.len(), d.unresolved_mode),
            (30, 1, Mode::Notify)
        );
        for (key, value, expected) in [
            (
                "UNRESOLVED_ACTION",
                "block",
                "not one of off, notify, enforce",
            ),
            ("DEFAULT_GRACE_SECONDS", "soon", "DEFAULT_GRACE_SECONDS"),
            ("DEFAULT_APPROVERS", "x", "not a JSON array"),
        ] {
            match from(&[(key, value)]) {
                Ok(_) => panic!("{key}={value} accepted"),
                Err(e) => {
                    assert_eq!(e.kind, ErrorKind::Configuration);
                    assert!(e.message.contains(expected), "{e}");
                }
            }
        }
    }
}
