//! The scan (docs/design.md, "The scan"): what exists now and Model Guard covers, each resource
//! judged as Evaluate would judge the latest call that set its current state. `guardctl scan`
//! runs it with the operator's credentials and reports; the scan function runs it for the drift
//! scan (alerting what newly violates) and for `guardctl scan --enforce` (recording each
//! violation and starting its enforcement). Both use [`run`] over the same ports.
//!
//! "Who" is the principal of the newest successful covered call that set what the resource
//! runs (one with subjects: not a capacity change), as CloudTrail's LookupEvents keeps it for
//! 90 days; a resource whose call is older, or that was created after the newest call
//! CloudTrail shows (re-created under the same name, its own call not visible yet), is
//! `unattributed`: reported with what it runs, never enforced by a scan.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::AuditState;
use crate::contract::{
    Decision, ParseOutcome, Request, ResolvedSubject, ResourceRef, ResourceType, Target, Verdict,
};
use crate::covered::{COVERED_CALLS, WhenNoSubject};
use crate::decide::{Defaults, observing};
use crate::error::{ErrorKind, GuardError};
use crate::event::parse_event_value;
use crate::glob::fold;
use crate::policy::PolicySet;
use crate::ports::{
    AuditLog, CallHistory, LookupKey, RecordStore, RoleDirectory, look_up_role_path,
};
use crate::resolve::{Lookups, Recovery, ResolveError, Resolver, resolve_subjects};
use crate::sweep::{Place, envelope_in, eventbridge_envelope, skip_reason};
use crate::{JobParents, PipelineSteps, decide_child};

/// How far back "who" is looked for: CloudTrail's LookupEvents keeps 90 days.
pub const LOOKBACK_DAYS: i64 = 90;

/// The resource types the scan lists, in the order it reports them. Left out: what runs nothing
/// of its own (model packages, projects, lifecycle configs, job definitions, flow definitions,
/// partner apps, domains, profiles and spaces: what runs under them — apps, jobs, notebooks — is
/// listed), and the jobs the testbed cannot make (edge packaging, labeling, recommendations,
/// optimization: docs/design.md says so).
pub const SCANNED: &[ResourceType] = &[
    ResourceType::Endpoint,
    ResourceType::InferenceComponent,
    ResourceType::InferenceExperiment,
    ResourceType::TrainingJob,
    ResourceType::ProcessingJob,
    ResourceType::TransformJob,
    ResourceType::HyperParameterTuningJob,
    ResourceType::AutoMlJob,
    ResourceType::CompilationJob,
    ResourceType::NotebookInstance,
    ResourceType::App,
    ResourceType::Pipeline,
    ResourceType::PipelineExecution,
    ResourceType::Cluster,
    ResourceType::MonitoringSchedule,
    ResourceType::MlflowTrackingServer,
];

/// A resource the inventory listed: one that exists and runs (a job in progress, an endpoint
/// not being deleted, …), named as the covered calls name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub resource: ResourceRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// What exists now, by resource type (SageMaker's List calls, every page).
pub trait Inventory {
    fn list(
        &self,
        resource_type: ResourceType,
    ) -> impl Future<Output = Result<Vec<Listed>, GuardError>> + Send;
}

/// The covered calls that may set what a resource of these types runs: every covered row of the
/// type but the capacity-only ones (a record of such a call that names no subject is skipped
/// too, by [`Attribution::add`]).
pub fn setting_calls(types: &[ResourceType]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = COVERED_CALLS
        .iter()
        .filter(|c| types.contains(&c.resource_type))
        .filter(|c| !matches!(c.when_no_subject, WhenNoSubject::CapacityOnly))
        .map(|c| c.event_name)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Where a guard's scan looks: one of its places, with that place's scope (`None` at home) and
/// the role the guard's enforce function acts through there (its rollbacks answer for nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlace {
    pub place: Place,
    pub scope: Option<String>,
    /// The member enforce role's ARN in the place's account; `None` at home.
    pub member_enforcer: Option<String>,
}

impl ScanPlace {
    fn text(place: Option<&ScanPlace>) -> Option<String> {
        place.map(|p| p.place.to_string())
    }
}

/// Who set each resource's current state: the newest setting call per resource.
#[derive(Debug, Default)]
pub struct Attribution {
    calls: HashMap<(ResourceType, String), Vec<Request>>,
    /// The enforce function's role, where the scan knows it (`ENFORCE_ROLE_ARN`); otherwise a
    /// role named as the stack's default names it (`ENFORCER_ROLE_PREFIX`).
    enforcer: Option<String>,
    /// The place the records are of (`None`: wherever guardctl's credentials are).
    place: Option<ScanPlace>,
}

impl Attribution {
    /// An attribution that knows the guard's enforce role exactly.
    pub fn with_enforcer(enforcer: Option<&str>) -> Attribution {
        Attribution {
            calls: HashMap::new(),
            enforcer: enforcer.map(str::to_owned),
            place: None,
        }
    }

    /// Of the records of one of the guard's places: each call is that place's (its account,
    /// region and scope, as ParseEvent reads an event EventBridge delivered from there), and the
    /// member enforce role's calls there are the guard's rollbacks.
    pub fn in_place(mut self, place: Option<&ScanPlace>) -> Attribution {
        self.place = place.cloned();
        self
    }

    /// A CloudTrail record (LookupEvents' `CloudTrailEvent`), read exactly as the sweep submits
    /// one and ParseEvent parses it. Kept when it is a successful covered call that names what a
    /// resource runs, and newer than what is kept for that resource; `false` otherwise.
    pub fn add(&mut self, record: &serde_json::Value) -> bool {
        if skip_reason(record).is_some() {
            return false;
        }
        let envelope = match &self.place {
            Some(p) => envelope_in(record, &p.place),
            None => eventbridge_envelope(record),
        };
        let mut request = match parse_event_value(&envelope) {
            ParseOutcome::Request { request } => request,
            ParseOutcome::Record {
                request: Some(request),
                ..
            } => *request,
            _ => return false,
        };
        let member_enforcer = self
            .place
            .as_ref()
            .and_then(|p| p.member_enforcer.as_deref());
        if request.targets.is_empty()
            || is_guards_rollback(&request, self.enforcer.as_deref(), member_enforcer)
        {
            return false;
        }
        request.scope = self.place.as_ref().and_then(|p| p.scope.clone());
        let key = (request.resource.resource_type, fold(&request.resource.name));
        let calls = self.calls.entry(key).or_default();
        if calls.iter().any(|c| c.event_id == request.event_id) {
            return false;
        }
        calls.push(request);
        // Newest first, whatever order CloudTrail answered in.
        calls.sort_by(|a, b| (b.call_time(), &b.event_id).cmp(&(a.call_time(), &a.event_id)));
        true
    }

    /// The calls CloudTrail still keeps that named what `resource` runs, newest first.
    pub fn of(&self, resource: &ResourceRef) -> Vec<&Request> {
        self.calls
            .get(&(resource.resource_type, fold(&resource.name)))
            .map(|calls| calls.iter().collect())
            .unwrap_or_default()
    }
}

/// The role name the stack's enforce function runs as begins with this (CDK names it after the
/// stack, `ModelGuard`, and the construct, `EnforceRole`; the SCP keeps others from making roles
/// named `ModelGuard-*`).
pub const ENFORCER_ROLE_PREFIX: &str = "ModelGuard-EnforceRole";

/// An UpdateEndpoint or UpdateInferenceComponent by the guard's enforce function: a rollback,
/// which restores what an earlier
/// allowed call deployed. That call, still in the history, answers for what runs; the rollback
/// answers for nothing (credited to the guard's role, an allowed endpoint would be judged a
/// violation, and a scan `--enforce` would delete it). Leaving out a call can only hand what runs
/// to an older call that named the same content, or leave it unattributed (never enforced): so a
/// role that merely borrows the name gains nothing. In a member account the guard rolls back
/// through its member enforce role there (`member_enforcer`), which only the enforce function
/// may assume.
fn is_guards_rollback(
    call: &Request,
    enforcer: Option<&str>,
    member_enforcer: Option<&str>,
) -> bool {
    if !matches!(
        call.event_name.as_str(),
        "UpdateEndpoint" | "UpdateInferenceComponent"
    ) {
        return false;
    }
    if member_enforcer.is_some_and(|m| call.principal == m) {
        return true;
    }
    if let Some(enforcer) = enforcer {
        return call.principal == enforcer;
    }
    call.principal
        .split_once(":role/")
        .is_some_and(|(_, path)| {
            path.rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(ENFORCER_ROLE_PREFIX))
        })
}

/// Whether `call` set what runs now: every target it names is among the resource's current
/// ones. A newer call that names other content did not (an UpdateEndpoint that SageMaker accepted
/// and then rolled back), and must not answer for what runs: neither to blame its caller for
/// someone else's deployment nor to let an allowed caller's failed update vouch for it. A call
/// whose targets the event lost cannot be checked, and answers for nothing.
fn sets_what_runs(call: &Request, current: &[Target]) -> bool {
    let same = |a: &Target, b: &Target| fold(&format!("{a:?}")) == fold(&format!("{b:?}"));
    let named: Vec<&Target> = call
        .targets
        .iter()
        .filter(|t| !matches!(t, Target::Unreadable { .. } | Target::ResourceRole))
        .collect();
    let lost = call
        .targets
        .iter()
        .any(|t| matches!(t, Target::Unreadable { .. }));
    if lost {
        return false;
    }
    named.iter().all(|t| current.iter().any(|c| same(t, c)))
}

/// How a resource stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Its latest call would be a violation under the policy now.
    Violation,
    /// Nobody to judge: the call that set it is older than CloudTrail keeps, or not visible yet.
    Unattributed,
    /// A violation an approver kept (the guard's own audit item for its call says so).
    Approved,
    Allowed,
    /// Nothing to judge (e.g. what it runs is decided by nothing the policy binds).
    Ignored,
    /// Gone since it was listed.
    Gone,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Violation => "violation",
            Outcome::Unattributed => "unattributed",
            Outcome::Approved => "approved",
            Outcome::Allowed => "allowed",
            Outcome::Ignored => "ignored",
            Outcome::Gone => "gone",
        }
    }
}

/// One resource, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable while the resource, the call that set it, what it runs and the verdict stay the
    /// same: `scan-<hash>`. It keys the audit item `--enforce` writes (and names its
    /// enforcement execution), and the drift scan's memory of what it alerted.
    pub key: String,
    pub outcome: Outcome,
    pub resource: ResourceRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The principal of the call that set its state; `None`: unknown.
    pub who: Option<String>,
    /// That call: its eventName, eventID and time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallRef>,
    /// One line: why it stands so.
    pub why: String,
    /// What it runs: `model fraud-v3`, `role arn:…` (unresolved ones say why).
    pub subjects: Vec<String>,
    /// The verdict of its call as Evaluate would give it now (observe mode applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The guard's own decision on that call, when it has one that settles or holds the
    /// violation (approved, or its enforcement under way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_before: Option<String>,
    /// Unattributed because a CloudTrail lookup failed, and a violation of the newest call
    /// found: told of at every scan until a complete one credits it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRef {
    pub event_name: String,
    pub event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
}

/// What the scan could not do: a family it could not list, a CloudTrail lookup, a resource it
/// could not describe. The report is then incomplete, and says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub what: String,
    pub error: String,
}

/// A scan's result. `complete` is false when something could not be listed, looked up or
/// judged, or the scan was cut short (interrupted, out of time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(with = "crate::audit::timestamp")]
    pub scanned_at: DateTime<Utc>,
    /// The guard's place scanned (`<account>/<region>`); absent for guardctl's own scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    pub complete: bool,
    pub listed: usize,
    pub counts: BTreeMap<Outcome, usize>,
    pub findings: Vec<Finding>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn new(now: DateTime<Utc>) -> Report {
        Report {
            scanned_at: now,
            place: None,
            complete: false,
            listed: 0,
            counts: BTreeMap::new(),
            findings: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn push(&mut self, finding: Finding) {
        *self.counts.entry(finding.outcome).or_default() += 1;
        self.findings.push(finding);
    }

    /// Findings grouped by outcome (violations first), each group by type and name.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                a.outcome,
                a.resource.resource_type.as_str(),
                &a.resource.name,
            )
                .cmp(&(
                    b.outcome,
                    b.resource.resource_type.as_str(),
                    &b.resource.name,
                ))
        });
    }
}

/// What the scan reports as it goes (guardctl prints it on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Listed {
        resource_type: ResourceType,
        count: usize,
    },
    LookedUp {
        event_name: &'static str,
        records: usize,
    },
    Judged {
        done: usize,
        of: usize,
    },
}

/// Everything [`run`] reads.
pub struct ScanPorts<'a, I, H, R, S, D, A> {
    pub inventory: &'a I,
    pub history: &'a H,
    pub resolver: &'a R,
    pub records: &'a S,
    pub roles: &'a D,
    pub audit: &'a A,
    /// The enforce function's role, where known: its UpdateEndpoint calls are rollbacks.
    pub enforcer_role: Option<&'a str>,
    /// The guard's place the scan looks in (the scan function); `None`: wherever the clients
    /// are (guardctl, with an operator's credentials).
    pub place: Option<&'a ScanPlace>,
}

/// Lists `types`, finds who set each resource, and judges each against `policy`, filling
/// `report` as it goes (so that a scan cut short keeps what it found). Stops judging at
/// `deadline`, if given. A failure that concerns one family, one lookup or one resource is a
/// [`Problem`] and the scan goes on.
#[allow(clippy::too_many_arguments)]
pub async fn run<I, H, R, S, D, A>(
    ports: &ScanPorts<'_, I, H, R, S, D, A>,
    types: &[ResourceType],
    policy: &PolicySet,
    defaults: &Defaults,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    report: &mut Report,
    progress: &mut (dyn FnMut(Progress) + Send),
) where
    I: Inventory,
    H: CallHistory,
    R: Resolver + Recovery + PipelineSteps + JobParents + Sync,
    S: RecordStore + Sync,
    D: RoleDirectory + Sync,
    A: AuditLog,
{
    let mut complete = true;
    let mut listed = Vec::new();
    for &resource_type in types {
        match ports.inventory.list(resource_type).await {
            Ok(found) => {
                progress(Progress::Listed {
                    resource_type,
                    count: found.len(),
                });
                listed.extend(found);
            }
            Err(e) => {
                complete = false;
                report.problems.push(Problem {
                    what: format!("listing {resource_type}s"),
                    error: e.message,
                });
            }
        }
    }
    report.listed = listed.len();
    let present: Vec<ResourceType> = types
        .iter()
        .copied()
        .filter(|t| listed.iter().any(|l| l.resource.resource_type == *t))
        .collect();
    report.place = ScanPlace::text(ports.place);
    let mut attribution = Attribution::with_enforcer(ports.enforcer_role).in_place(ports.place);
    // The types a failed lookup leaves unsure of who set them: a newer call it would have shown
    // may be who set what runs, so none of them is a violation of whom the kept calls name.
    let mut unsure: Vec<ResourceType> = Vec::new();
    let out_of_time = |deadline: Option<DateTime<Utc>>| deadline.is_some_and(|d| Utc::now() >= d);
    for event_name in setting_calls(&present) {
        if out_of_time(deadline) {
            report.problems.push(Problem {
                what: format!("CloudTrail LookupEvents {event_name} and the calls after it"),
                error: "out of time: nothing was judged".to_owned(),
            });
            report.complete = false;
            report.sort();
            return;
        }
        let failed = |unsure: &mut Vec<ResourceType>| {
            unsure.extend(
                COVERED_CALLS
                    .iter()
                    .filter(|c| c.event_name == event_name)
                    .map(|c| c.resource_type),
            );
        };
        match ports
            .history
            .lookup(
                LookupKey::EventName(event_name),
                now - Duration::days(LOOKBACK_DAYS),
                now,
                deadline,
            )
            .await
        {
            Ok(records) => {
                progress(Progress::LookedUp {
                    event_name,
                    records: records.len(),
                });
                for record in &records {
                    attribution.add(record);
                }
            }
            Err(e) => {
                complete = false;
                failed(&mut unsure);
                report.problems.push(Problem {
                    what: format!(
                        "CloudTrail LookupEvents {event_name} (who set a resource it may have \
                         set is unsure, and none of them is judged a violation)"
                    ),
                    error: e.message,
                });
            }
        }
    }
    let judge = Judge {
        place: ports.place,
        resolver: ports.resolver,
        records: ports.records,
        roles: ports.roles,
        audit: ports.audit,
        policy,
        defaults,
        now,
    };
    let total = listed.len();
    for (done, item) in listed.iter().enumerate() {
        if out_of_time(deadline) {
            complete = false;
            report.problems.push(Problem {
                what: format!("judging ({} of {total} not judged)", total - done),
                error: "out of time".to_owned(),
            });
            break;
        }
        let calls = attribution.of(&item.resource);
        match judge.judge(item, &calls).await {
            Ok(finding)
                if finding.outcome == Outcome::Violation
                    && unsure.contains(&item.resource.resource_type) =>
            {
                report.push(unsure_who(finding));
            }
            Ok(finding) => report.push(finding),
            Err(e) => {
                complete = false;
                report.problems.push(Problem {
                    what: format!("{} {}", item.resource.resource_type, item.resource.name),
                    error: e.message,
                });
            }
        }
        progress(Progress::Judged {
            done: done + 1,
            of: total,
        });
    }
    report.complete = complete;
    report.sort();
}

/// Judges one resource, as Evaluate judges a call.
pub struct Judge<'a, R, S, D, A> {
    /// The guard's place judged in (`None`: guardctl's).
    pub place: Option<&'a ScanPlace>,
    pub resolver: &'a R,
    pub records: &'a S,
    pub roles: &'a D,
    /// The guard's own decisions: what it decided on the call that set the resource.
    pub audit: &'a A,
    pub policy: &'a PolicySet,
    pub defaults: &'a Defaults,
    pub now: DateTime<Utc>,
}

impl<R, S, D, A> Judge<'_, R, S, D, A>
where
    R: Resolver + Recovery + PipelineSteps + JobParents + Sync,
    S: RecordStore + Sync,
    D: RoleDirectory + Sync,
    A: AuditLog,
{
    fn scope(&self) -> Option<&str> {
        self.place.and_then(|p| p.scope.as_deref())
    }

    /// `calls`: the calls CloudTrail keeps that named what it runs, newest first.
    pub async fn judge(&self, listed: &Listed, calls: &[&Request]) -> Result<Finding, GuardError> {
        let resource = &listed.resource;
        let attributed = calls.first().copied();
        // The call's own time: `deployed` allows the second after it (`created_after_the_call`).
        let after = |c: &Request| c.call_time();
        let call = attributed.and_then(after);
        let mut unattributed_why = attributed
            .is_none()
            .then(|| format!("no call that set it in CloudTrail's last {LOOKBACK_DAYS} days"));
        let recovered = match self.resolver.deployed(resource, call).await {
            Ok(recovered) => recovered,
            Err(ResolveError::Failed(e)) => return Err(e),
            Err(ResolveError::Unresolvable(why)) if attributed.is_some() => {
                // Created after the newest call CloudTrail shows: re-created under the same
                // name, its own call not visible yet. Who made this one is not known.
                match self.resolver.deployed(resource, None).await {
                    Ok(recovered) => {
                        unattributed_why = Some(why);
                        recovered
                    }
                    Err(ResolveError::Failed(e)) => return Err(e),
                    Err(ResolveError::Unresolvable(why)) => {
                        return Ok(gone(listed, self.scope(), why));
                    }
                }
            }
            Err(ResolveError::Unresolvable(why)) => return Ok(gone(listed, self.scope(), why)),
        };
        // The newest call that set what runs now; an older one must also be older than the
        // resource, or it made an earlier one of the name.
        let mut chosen = None;
        if unattributed_why.is_none() {
            chosen = calls
                .iter()
                .copied()
                .find(|c| sets_what_runs(c, &recovered.targets));
            match chosen {
                None => {
                    unattributed_why = Some(
                        "no call CloudTrail keeps names what it runs now (a newer call that named \
                         other content was accepted and did not last)"
                            .to_owned(),
                    );
                }
                Some(c) if !std::ptr::eq(c, calls[0]) => {
                    match self.resolver.deployed(resource, after(c)).await {
                        Ok(_) => {}
                        Err(ResolveError::Failed(e)) => return Err(e),
                        Err(ResolveError::Unresolvable(why)) => {
                            unattributed_why = Some(why);
                            chosen = None;
                        }
                    }
                }
                Some(_) => {}
            }
        }
        let mut request = match (chosen, &unattributed_why) {
            (Some(call), None) => {
                let mut call = call.clone();
                // As Evaluate: the caller's role path where the event did not give it.
                let caller = look_up_role_path(call.caller(), call.account.as_deref(), self.roles);
                call.set_caller(caller.await?);
                call
            }
            _ => unknown_request(resource, self.now, self.place),
        };
        let prior = match chosen.filter(|_| unattributed_why.is_none()) {
            Some(c) => self.audit.get(&c.event_id).await?,
            None => None,
        };
        let prior = prior.as_ref();
        request.targets = recovered.targets;
        let lookups = Lookups {
            resolver: self.resolver,
            records: self.records,
            now: self.now,
            // Nothing is waited for: what exists now is judged as it is.
            wait_until: self.now,
            needs: self.policy.content_needs(),
        };
        let resolution = resolve_subjects(&request, &lookups).await?;
        let subjects: Vec<String> = resolution
            .subjects
            .iter()
            .map(|s| match &s.unresolved {
                Some(why) => format!("{} {} (unresolved: {why})", s.kind, s.name),
                None => format!("{} {}", s.kind, s.name),
            })
            .collect();
        if let Some(why) = unattributed_why {
            let key = finding_key(resource, self.scope(), None, &resolution.subjects, None);
            return Ok(Finding {
                key,
                outcome: Outcome::Unattributed,
                resource: resource.clone(),
                status: listed.status.clone(),
                who: None,
                call: None,
                why: format!("who set it is unknown: {why}"),
                subjects,
                verdict: None,
                decided_before: None,
                unsure: false,
            });
        }
        let verdict = decide_child(
            &request,
            &resolution,
            self.policy,
            self.defaults,
            self.resolver,
            self.roles,
            self.records,
        )
        .await?;
        let mut verdict = observing(self.policy.enforcement(), verdict);
        let call_ref = CallRef {
            event_name: request.event_name.clone(),
            event_id: request.event_id.clone(),
            event_time: request.event_time.clone(),
        };
        let key = finding_key(
            resource,
            self.scope(),
            Some(&call_ref.event_id),
            &resolution.subjects,
            Some(&verdict),
        );
        verdict.event_id = Some(key.clone());
        verdict.reasons.push(format!(
            "found by a scan at {}: {} exists now, set by {} ({}, event {})",
            crate::sweep::time_text(self.now),
            resource_text(resource),
            request.event_name,
            request.event_time.as_deref().unwrap_or("time unknown"),
            request.event_id
        ));
        // An approver may have kept the call's own violation, or an earlier scan's finding. The
        // call's item settles it when it was approved or is still under way; one that ended
        // otherwise (notified under observe mode, audited, enforced before a re-creation) must
        // not hide an approval of the scan's finding.
        let prior = match prior {
            Some(item) if item.state == AuditState::Approved || !item.state.is_terminal() => {
                Some(item.clone())
            }
            _ if verdict.decision == Decision::Violation => self
                .audit
                .get(&key)
                .await?
                .filter(|item| item.state == AuditState::Approved),
            _ => None,
        };
        let (outcome, decided_before) = match verdict.decision {
            Decision::Allow => (Outcome::Allowed, None),
            Decision::Ignored => (Outcome::Ignored, None),
            Decision::Violation => match &prior {
                Some(item) if item.state == AuditState::Approved => (
                    Outcome::Approved,
                    Some(format!(
                        "event {} was approved{}",
                        item.event_id,
                        item.approval
                            .as_ref()
                            .map(|a| format!(" by {}: {}", a.by, a.reason))
                            .unwrap_or_default()
                    )),
                ),
                Some(item) if !item.state.is_terminal() => (
                    Outcome::Violation,
                    Some(format!(
                        "event {} is {}: its enforcement is under way",
                        item.event_id, item.state
                    )),
                ),
                _ => (Outcome::Violation, None),
            },
        };
        let why = verdict
            .reasons
            .first()
            .cloned()
            .unwrap_or_else(|| outcome.as_str().to_owned());
        Ok(Finding {
            key,
            outcome,
            resource: resource.clone(),
            status: listed.status.clone(),
            who: Some(request.principal.clone()),
            call: Some(call_ref),
            why,
            subjects,
            verdict: Some(verdict),
            decided_before,
            unsure: false,
        })
    }
}

/// A violation of a type whose CloudTrail lookup failed: a call the lookup would have shown may
/// be who set what runs (an allowed update of the same content), so it is not judged the
/// caller's. Told of as unattributed, never enforced.
fn unsure_who(finding: Finding) -> Finding {
    let why = format!(
        "who set it is unsure: a CloudTrail lookup of its calls failed (the newest call found, \
         {} by {}, would make it a violation)",
        finding
            .call
            .as_ref()
            .map_or("unknown", |c| c.event_name.as_str()),
        finding.who.as_deref().unwrap_or("unknown")
    );
    Finding {
        key: hash_key(&["unsure".to_owned(), finding.key.clone()]),
        outcome: Outcome::Unattributed,
        why,
        who: None,
        call: None,
        verdict: None,
        decided_before: None,
        unsure: true,
        ..finding
    }
}

fn resource_text(resource: &ResourceRef) -> String {
    format!("{} {}", resource.resource_type.as_str(), resource.name)
}

fn gone(listed: &Listed, scope: Option<&str>, why: String) -> Finding {
    Finding {
        key: finding_key(&listed.resource, scope, None, &[], None),
        outcome: Outcome::Gone,
        resource: listed.resource.clone(),
        status: listed.status.clone(),
        who: None,
        call: None,
        why: format!("could not be described after it was listed: {why}"),
        subjects: Vec::new(),
        verdict: None,
        decided_before: None,
        unsure: false,
    }
}

/// A request for a resource whose call is not known: its type's first covered call, by nobody,
/// placed at the scan, in the scan's place (what it runs is judged as it is now).
fn unknown_request(
    resource: &ResourceRef,
    now: DateTime<Utc>,
    place: Option<&ScanPlace>,
) -> Request {
    let event_name = COVERED_CALLS
        .iter()
        .find(|c| c.resource_type == resource.resource_type)
        .map_or("", |c| c.event_name);
    Request {
        version: crate::contract::Version1,
        event_id: String::new(),
        event_name: event_name.to_owned(),
        event_time: Some(crate::sweep::time_text(now)),
        account: place.map(|p| p.place.account.clone()),
        region: place.map(|p| p.place.region.clone()),
        principal: "unknown".to_owned(),
        principal_path_unknown: true,
        session: None,
        source_identity: None,
        resource: resource.clone(),
        targets: Vec::new(),
        pipeline_execution: None,
        scope: place.and_then(|p| p.scope.clone()),
    }
}

/// `scan-<hash>`: of the resource, the call that set it, what it runs (each subject, and whether
/// it was resolved), and the decision, the action and the subjects not allowed. The same finding,
/// scan after scan, has the same key. A model re-pointed, a new call, a policy change that makes
/// it a violation or makes another subject offend, or a switch out of observe mode (the action
/// becomes `enforce`) makes a new one. A policy edit that judges the same subjects under other
/// bindings does not: an approval is of a resource, a call and what it runs, and must outlive a
/// rename of the binding that judged it. Outside the guard's home place the key also holds the
/// place's scope: the same name in two accounts is two resources (at home it is left out, so
/// that keys kept before there were members stay the same).
pub fn finding_key(
    resource: &ResourceRef,
    scope: Option<&str>,
    call: Option<&str>,
    subjects: &[ResolvedSubject],
    verdict: Option<&Verdict>,
) -> String {
    let mut parts = vec![
        resource.resource_type.as_str().to_owned(),
        fold(&resource.name),
        call.unwrap_or("unknown").to_owned(),
    ];
    if let Some(scope) = scope {
        parts.push(format!("in {scope}"));
    }
    for subject in subjects {
        // Whether it was resolved, not why not: the why may carry an error's text (a request
        // ID), which must not make every scan a new finding.
        parts.push(format!(
            "{} {} {} {}",
            subject.kind,
            subject.name,
            subject.digest.as_deref().unwrap_or("-"),
            if subject.unresolved.is_some() {
                "unresolved"
            } else {
                "resolved"
            }
        ));
    }
    if let Some(verdict) = verdict {
        parts.push(format!("{:?}/{:?}", verdict.decision, verdict.action));
        let mut offending: Vec<String> = verdict
            .subjects
            .iter()
            .filter(|s| !s.allowed)
            .map(|s| format!("not allowed: {} {}", s.kind, s.name))
            .collect();
        offending.sort();
        offending.dedup();
        parts.extend(offending);
    }
    hash_key(&parts)
}

/// `scan-` and 32 hex digits of the SHA-256 of `parts`, each length-prefixed (no two lists of
/// parts hash alike by moving a boundary).
fn hash_key(parts: &[String]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.len().to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("scan-{hex}")
}

/// How many resources of each list, and problems, one [`ScanAttention`] lists (SNS takes
/// 256 KB, and the alert carries each twice: as text and in its document).
pub const ATTENTION_LISTED: usize = 20;

/// What a drift scan could not judge, for the guard topic (`scan-attention`): the resources
/// nobody can be credited with that no drift scan told of before; and, when the scan was
/// incomplete, why, with every violation it is unsure of (told of at every such scan: a lookup
/// that keeps failing must not make a violation quiet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanAttention {
    #[serde(with = "crate::audit::timestamp")]
    pub scanned_at: DateTime<Utc>,
    /// The place scanned (`<account>/<region>`), where the scan was of one of the guard's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    pub complete: bool,
    /// At most [`ATTENTION_LISTED`]; `more_unattributed` counts the others.
    pub unattributed: Vec<Finding>,
    pub more_unattributed: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<Finding>,
    #[serde(default)]
    pub more_unsure: usize,
    pub problems: Vec<Problem>,
    pub more_problems: usize,
}

impl ScanAttention {
    /// What a drift scan owes the guard topic, if anything: `new_unattributed` are the
    /// unattributed findings not told of before (unsure ones are the report's, every time).
    pub fn of(report: &Report, new_unattributed: &[&Finding]) -> Option<ScanAttention> {
        if report.complete && new_unattributed.is_empty() {
            return None;
        }
        let unsure: Vec<&Finding> = report.findings.iter().filter(|f| f.unsure).collect();
        let first = |list: &[&Finding]| -> Vec<Finding> {
            list.iter()
                .take(ATTENTION_LISTED)
                .map(|f| (*f).clone())
                .collect()
        };
        let more = |n: usize| n.saturating_sub(ATTENTION_LISTED);
        Some(ScanAttention {
            scanned_at: report.scanned_at,
            place: report.place.clone(),
            complete: report.complete,
            unattributed: first(new_unattributed),
            more_unattributed: more(new_unattributed.len()),
            unsure: first(&unsure),
            more_unsure: more(unsure.len()),
            problems: report
                .problems
                .iter()
                .take(ATTENTION_LISTED)
                .cloned()
                .collect(),
            more_problems: more(report.problems.len()),
        })
    }
}

/// What the scan function is asked to do. Nothing in it is trusted beyond choosing the work: the
/// function lists, looks up and judges by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanRequest {
    pub mode: ScanMode,
    /// The resource types to scan; all of [`SCANNED`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<ResourceType>>,
    /// The guard's place to scan; its home account and region when absent. One the guard does
    /// not answer for is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanMode {
    /// Alert each violation not alerted by a drift scan before (the schedule's).
    Drift,
    /// Record each violation and start its enforcement (`guardctl scan --enforce`).
    Enforce,
}

/// The scan function's answer: the report (for size: verdicts left out, allowed and ignored
/// resources counted but not listed) and what it did with each violation, by finding key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanResponse {
    pub mode: ScanMode,
    pub report: Report,
    /// Drift: alerted now (new since the drift scans before).
    #[serde(default)]
    pub alerted: Vec<String>,
    /// Enforce: recorded now, and their enforcement started.
    #[serde(default)]
    pub started: Vec<String>,
    /// Already recorded or alerted by an earlier scan: nothing new was started or sent.
    #[serde(default)]
    pub known: Vec<String>,
    /// Violations not acted on, and why (approved, its call's enforcement under way).
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Drift: the guard topic was told of what the scan could not judge (resources nobody can be
    /// credited with, new since the drift scans before, whose keys are among `alerted`; or an
    /// incomplete scan).
    #[serde(default)]
    pub attention: bool,
}

/// The types a request names, each one the scan lists; all of them when it names none.
pub fn scanned_types(types: Option<&[ResourceType]>) -> Result<Vec<ResourceType>, GuardError> {
    let Some(types) = types else {
        return Ok(SCANNED.to_vec());
    };
    if let Some(other) = types.iter().find(|t| !SCANNED.contains(t)) {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            format!(
                "the scan does not list {other}s; it lists {}",
                SCANNED
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(SCANNED
        .iter()
        .copied()
        .filter(|t| types.contains(t))
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn record(id: &str, name: &str, at: &str, who: &str, params: Value) -> Value {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole",
                "arn": format!("arn:aws:sts::111122223333:assumed-role/{who}/s"),
                "accountId": "111122223333",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": format!("arn:aws:iam::111122223333:role/{who}"),
                    "accountId": "111122223333", "userName": who}}},
            "eventTime": at, "eventSource": "sagemaker.amazonaws.com", "eventName": name,
            "awsRegion": "eu-west-1", "requestParameters": params,
            "responseElements": {"endpointArn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/sentiment"},
            "eventID": id, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
        })
    }

    fn endpoint(name: &str) -> ResourceRef {
        ResourceRef {
            resource_type: ResourceType::Endpoint,
            name: name.to_owned(),
            arn: None,
        }
    }

    #[test]
    fn who_set_a_resource_is_the_newest_call_that_named_what_it_runs() {
        let mut who = Attribution::default();
        let create = json!({"endpointName": "sentiment", "endpointConfigName": "c1"});
        let update = json!({"endpointName": "Sentiment", "endpointConfigName": "c2"});
        assert!(who.add(&record(
            "e2",
            "UpdateEndpoint",
            "2026-11-20T10:00:00Z",
            "Bob",
            update
        )));
        // Older: kept behind the newer call, whatever order CloudTrail answers in; the same
        // record twice is kept once.
        let older = record(
            "e1",
            "CreateEndpoint",
            "2026-11-19T10:00:00Z",
            "Alice",
            create,
        );
        assert!(who.add(&older));
        assert!(!who.add(&older));
        // A capacity change sets nothing, and a failed call made nothing.
        let capacity = json!({"endpointName": "sentiment",
                              "desiredWeightsAndCapacities": [{"variantName": "v", "desiredWeight": 1}]});
        assert!(!who.add(&record(
            "e3",
            "UpdateEndpointWeightsAndCapacities",
            "2026-11-21T10:00:00Z",
            "Carol",
            capacity
        )));
        let mut failed = record(
            "e4",
            "UpdateEndpoint",
            "2026-11-22T10:00:00Z",
            "Mallory",
            json!({"endpointName": "sentiment", "endpointConfigName": "c3"}),
        );
        failed["errorCode"] = json!("ValidationException");
        assert!(!who.add(&failed));
        // Another service's call is not SageMaker's.
        let mut other = record(
            "e5",
            "UpdateEndpoint",
            "2026-11-23T10:00:00Z",
            "Mallory",
            json!({"endpointName": "sentiment", "endpointConfigName": "c4"}),
        );
        other["eventSource"] = json!("s3.amazonaws.com");
        assert!(!who.add(&other));
        // The guard's own rollback answers for nothing: the call whose config it restored does.
        assert!(!who.add(&record(
            "e6",
            "UpdateEndpoint",
            "2026-11-24T10:00:00Z",
            "ModelGuard-EnforceRole1A2B3C-XYZ",
            json!({"endpointName": "sentiment", "endpointConfigName": "c2"}),
        )));
        let found: Vec<_> = who
            .of(&endpoint("SENTIMENT"))
            .iter()
            .map(|r| (r.event_id.as_str(), r.principal.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("e2", "arn:aws:iam::111122223333:role/Bob"),
                ("e1", "arn:aws:iam::111122223333:role/Alice")
            ]
        );
        assert!(who.of(&endpoint("other")).is_empty());
        // Where the scan knows the enforce role exactly, only that role's rollbacks are left
        // out, whatever another role is named.
        let mut exact =
            Attribution::with_enforcer(Some("arn:aws:iam::111122223333:role/Guard-Enforce"));
        let update = json!({"endpointName": "sentiment", "endpointConfigName": "c2"});
        assert!(!exact.add(&record(
            "e7",
            "UpdateEndpoint",
            "2026-11-24T10:00:00Z",
            "Guard-Enforce",
            update.clone()
        )));
        assert!(exact.add(&record(
            "e8",
            "UpdateEndpoint",
            "2026-11-25T10:00:00Z",
            "ModelGuard-EnforceRoleLookalike",
            update
        )));
        // Its rollback of an inference component answers for nothing either.
        assert!(!exact.add(&record(
            "e9",
            "UpdateInferenceComponent",
            "2026-11-25T10:00:00Z",
            "Guard-Enforce",
            json!({"inferenceComponentName": "llama-ic", "specification": {"modelName": "llama-3"}})
        )));
    }

    #[test]
    fn the_setting_calls_leave_out_capacity_changes() {
        let calls = setting_calls(&[ResourceType::Endpoint]);
        assert!(
            calls.contains(&"CreateEndpoint") && calls.contains(&"UpdateEndpoint"),
            "{calls:?}"
        );
        assert!(
            !calls.contains(&"UpdateEndpointWeightsAndCapacities"),
            "{calls:?}"
        );
        assert!(setting_calls(&[]).is_empty());
    }

    /// In one of the guard's places, a call is that place's (its account, region and scope, as
    /// ParseEvent reads it from EventBridge), whatever the record claims; and the guard's rollback
    /// there, made through its member enforce role, answers for nothing.
    #[test]
    fn in_a_member_place_a_call_is_that_places_and_the_member_enforcer_rolls_back() {
        let place = ScanPlace {
            place: Place {
                account: "444455556666".into(),
                region: "eu-west-1".into(),
            },
            scope: Some("444455556666/eu-west-1".into()),
            member_enforcer: Some("arn:aws:iam::444455556666:role/ModelGuardMemberEnforce".into()),
        };
        let mut who = Attribution::with_enforcer(Some("arn:aws:iam::123456789012:role/Enforce"))
            .in_place(Some(&place));
        let mut call = record(
            "m1",
            "CreateEndpoint",
            "2026-11-19T10:00:00Z",
            "Alice",
            json!({"endpointName": "sentiment", "endpointConfigName": "c1"}),
        );
        // The record says another account: the place asked is where it was found.
        call["recipientAccountId"] = json!("999999999999");
        assert!(who.add(&call));
        let mut rollback = record(
            "m2",
            "UpdateEndpoint",
            "2026-11-24T10:00:00Z",
            "ModelGuardMemberEnforce",
            json!({"endpointName": "sentiment", "endpointConfigName": "c1"}),
        );
        rollback["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
            json!("arn:aws:iam::444455556666:role/ModelGuardMemberEnforce");
        rollback["userIdentity"]["arn"] =
            json!("arn:aws:sts::444455556666:assumed-role/ModelGuardMemberEnforce/s");
        assert!(
            !who.add(&rollback),
            "the guard's rollback there answers for nothing"
        );
        let found = who.of(&endpoint("sentiment"));
        assert_eq!(found.len(), 1);
        assert_eq!(
            (
                found[0].account.as_deref(),
                found[0].region.as_deref(),
                found[0].scope.as_deref()
            ),
            (
                Some("444455556666"),
                Some("eu-west-1"),
                Some("444455556666/eu-west-1")
            )
        );
        // Nobody's call, in that place: judged under its account's bindings and records.
        let unknown = unknown_request(&endpoint("x"), chrono::Utc::now(), Some(&place));
        assert_eq!(
            (unknown.account, unknown.scope),
            (
                Some("444455556666".into()),
                Some("444455556666/eu-west-1".into())
            )
        );
    }

    #[test]
    fn a_finding_key_is_stable_and_changes_with_what_it_is_about() {
        let subject = |kind: &str, name: &str, unresolved: Option<&str>| -> ResolvedSubject {
            serde_json::from_value(json!({"kind": kind, "name": name, "unresolved": unresolved}))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let subjects = vec![subject("model", "fraud-v3", None)];
        let key = finding_key(&endpoint("a"), None, Some("e1"), &subjects, None);
        assert_eq!(
            key,
            finding_key(&endpoint("A"), None, Some("e1"), &subjects, None)
        );
        assert!(key.len() == 37 && key.starts_with("scan-"), "{key}");
        for other in [
            finding_key(&endpoint("b"), None, Some("e1"), &subjects, None),
            // The same name in a member's place is another resource.
            finding_key(
                &endpoint("a"),
                Some("444455556666/eu-west-1"),
                Some("e1"),
                &subjects,
                None,
            ),
            finding_key(&endpoint("a"), None, Some("e2"), &subjects, None),
            finding_key(&endpoint("a"), None, None, &subjects, None),
            finding_key(
                &endpoint("a"),
                None,
                Some("e1"),
                &[subject("model", "fraud-v4", None)],
                None,
            ),
            finding_key(
                &endpoint("a"),
                None,
                Some("e1"),
                &[subject("model", "fraud-v3", Some("gone"))],
                None,
            ),
        ] {
            assert_ne!(key, other);
        }
        // Why a subject is unresolved (an error's text) leaves the key; that it is does not.
        let unresolved = |why: &str| vec![subject("model", "fraud-v3", Some(why))];
        assert_eq!(
            finding_key(
                &endpoint("a"),
                None,
                Some("e1"),
                &unresolved("AccessDenied, request 1"),
                None
            ),
            finding_key(
                &endpoint("a"),
                None,
                Some("e1"),
                &unresolved("Throttled, request 2"),
                None
            )
        );
        // A policy edit that judges the same subjects under another binding leaves the key; a
        // change of action (observe mode left), or another subject not allowed, does not.
        let two = vec![
            subject("model", "fraud-v3", None),
            subject("role", "arn:aws:iam::111122223333:role/Exec", None),
        ];
        let verdict = |binding: &str, action: &str, role_allowed: bool| -> Verdict {
            serde_json::from_value(json!({
                "version": 1, "eventId": null, "eventName": "CreateEndpoint", "eventTime": null,
                "account": null, "region": null, "decision": "violation", "action": action,
                "graceSeconds": 900, "principal": "arn:aws:iam::111122223333:role/DataScientist",
                "resource": null, "approvers": [], "reasons": [binding],
                "subjects": [
                    {"kind": "model", "name": "fraud-v3", "binding": binding, "resolved": true,
                     "allowed": false},
                    {"kind": "role", "name": "arn:aws:iam::111122223333:role/Exec",
                     "binding": "default", "resolved": true, "allowed": role_allowed}
                ]
            }))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let judged = |v: &Verdict| finding_key(&endpoint("a"), None, Some("e1"), &two, Some(v));
        let enforced = judged(&verdict("model#fraud-*", "enforce", true));
        assert_eq!(
            enforced,
            judged(&verdict("model#fraud-v3", "enforce", true))
        );
        assert_ne!(enforced, judged(&verdict("model#fraud-*", "notify", true)));
        assert_ne!(
            enforced,
            judged(&verdict("model#fraud-*", "enforce", false))
        );
        assert_ne!(
            enforced,
            finding_key(&endpoint("a"), None, Some("e1"), &two, None)
        );
    }
}
