//! Children of a pipeline execution (docs/design.md, "Pipelines and their steps"): SageMaker
//! Pipelines makes each step's job or model with an ordinary call under the pipeline's role. A
//! child is allowed if its own caller is allowed, or if it is allowed for the principal that
//! started its execution. The link is checked, never taken on trust: the request's (or the
//! resource's) `sagemaker:pipeline-execution-arn` tag names an execution, and that execution's
//! own step list, which only SageMaker writes, must name the resource.
//!
//! An AutoML job deploys its best candidate to an endpoint of its own (`ModelDeployConfig`), under
//! its role: that endpoint answers to who created the job. The link is checked the same way: the
//! job's own describe must name the endpoint, the endpoint's caller must be the job's role, and
//! the creator is who the guard recorded at the CreateAutoMLJob call (the records table, which
//! only the guard writes), never what anyone else says.
//!
//! A monitoring schedule starts a processing job under its definition's role on every run; the
//! job's own describe names the schedule (`MonitoringScheduleArn`, which only SageMaker sets),
//! and the job answers to who last created or changed the schedule, as the guard recorded it.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::content::{ContainerContent, canonical_data_uri, canonical_image_uri};
use crate::contract::{
    Decision, Request, ResourceType, StartedBy, SubjectKind, Through, Verdict, parent_kind,
};
use crate::error::{ErrorKind, GuardError};
use crate::ports::RecordStore;
use crate::principal::Caller;
use crate::records::{RecordKind, RecordOp, ResourceRecord, whole_second};
use crate::resolve::{Resolution, ResolveError};

/// What SageMaker says of a pipeline execution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionFacts {
    /// DescribePipelineExecution's `CreatedBy.IamIdentity.Arn`: who started it.
    pub started_by: Option<String>,
    /// `CreatedBy.IamIdentity.SourceIdentity`.
    pub source_identity: Option<String>,
    /// `LastModifiedBy.IamIdentity.Arn`: who last changed it (a retry, for one).
    pub modified_by: Option<String>,
    /// The ARNs of what its steps made (ListPipelineExecutionSteps' metadata).
    pub step_resources: Vec<String>,
}

/// Pipeline executions, as SageMaker describes them.
pub trait PipelineSteps {
    /// The resource's `sagemaker:pipeline-execution-arn` tag, for a request that did not carry
    /// it (ListTags).
    fn execution_tag(
        &self,
        resource_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, ResolveError>> + Send;
    fn execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ExecutionFacts, ResolveError>> + Send;
}

/// What SageMaker says of an AutoML job whose deployment may have made an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoMlFacts {
    pub job_name: String,
    pub job_arn: String,
    /// DescribeAutoMLJobV2's `RoleArn`: what the job, and its deployment, run under.
    pub role_arn: Option<String>,
    /// `ModelDeployResult.EndpointName`: the endpoint it deployed (SageMaker writes it).
    pub deployed_endpoint: Option<String>,
    /// `ModelDeployConfig.EndpointName`: the endpoint it was asked to deploy.
    pub asked_endpoint: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// `BestCandidate`'s inference containers (every processing unit's): what its deployment
    /// serves. Empty until the job has chosen one.
    pub candidate: Vec<ContainerContent>,
    /// `ModelDeployConfig.AutoGenerateEndpointName`, and the job still in progress with no
    /// result: it may be deploying to an endpoint no describe names yet.
    pub naming_pending: bool,
}

/// The jobs that make resources of their own, as SageMaker describes them.
pub trait JobParents {
    /// Every AutoML job whose deployment names `endpoint` (its result, else its
    /// configuration), among the jobs active since `since`, newest first: a job anyone can
    /// create naming the endpoint must not hide the one that deployed it. Also every job whose
    /// generated endpoint name is not written yet ([`AutoMlFacts::naming_pending`]).
    fn deployers_of(
        &self,
        endpoint: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<AutoMlFacts>, ResolveError>> + Send;

    /// The monitoring schedule a processing job is a run of: its describe's
    /// `MonitoringScheduleArn`.
    fn schedule_of(
        &self,
        processing_job: &str,
    ) -> impl Future<Output = Result<Option<String>, ResolveError>> + Send;
}

/// How far back a deployed endpoint's AutoML job is looked for: the deployment is the job's
/// last stage, so the job was still running (or had just ended) then.
pub const AUTOML_LOOKBACK_HOURS: i64 = 6;

/// Who created the AutoML job that deployed the endpoint, if SageMaker's describe and the
/// guard's record of the job's creation bear the link out; otherwise why the endpoint is judged
/// as its own caller.
pub fn automl_starter(
    request: &Request,
    serves: &Resolution,
    facts: &AutoMlFacts,
    created: &[ResourceRecord],
) -> Result<Caller, String> {
    let job = &facts.job_arn;
    let endpoint = request.resource.name.as_str();
    // AutoML's deployment creates its endpoint; a later change to it is not the job's.
    if request.event_name != "CreateEndpoint" {
        return Err(format!(
            "{} is not how AutoML job {job} deploys (it creates its endpoint): judged as its own \
             caller",
            request.event_name
        ));
    }
    let names = |n: &Option<String>| {
        n.as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(endpoint))
    };
    let named = match &facts.deployed_endpoint {
        Some(_) => names(&facts.deployed_endpoint),
        None => names(&facts.asked_endpoint),
    };
    if !named {
        return Err(format!(
            "AutoML job {job} does not name this endpoint as its deployment: judged as its own \
             caller"
        ));
    }
    // AutoML deploys under the job's role; anyone else calling is not the job.
    let caller = request.caller();
    let role = facts.role_arn.as_deref().map(Caller::from_arn);
    let same_role = role.as_ref().is_some_and(|r| {
        r.role_name() == caller.role_name()
            && r.role_name().is_some()
            && r.role_account() == caller.role_account()
    });
    if !same_role {
        return Err(format!(
            "AutoML job {job} names this endpoint, but it was created by {}, not by the job's \
             role ({}): judged as its own caller",
            request.principal,
            facts.role_arn.as_deref().unwrap_or("none described")
        ));
    }
    // Anyone who can act as the job's role could create the endpoint the job was asked to
    // deploy, before it does: only the job's own best candidate is the job's deployment.
    serves_the_candidate(serves, facts)?;
    let call = request.call_time();
    let record = created
        .iter()
        .filter(|r| r.kind == RecordKind::AutoMlJob && r.op == RecordOp::Create)
        .filter(|r| call.is_none_or(|c| r.event_time <= c))
        .max_by_key(|r| r.event_time);
    let Some(record) = record else {
        return Err(format!(
            "the guard holds no record of AutoML job {job}'s creation: judged as its own caller"
        ));
    };
    // A job created later than the call the guard recorded is another job under the name.
    if let Some(created) = facts.created
        && whole_second(created) > whole_second(record.event_time) + chrono::Duration::seconds(1)
    {
        return Err(format!(
            "AutoML job {job} was created at {}, after the CreateAutoMLJob the guard recorded \
             (event {}): judged as its own caller",
            created.to_rfc3339(),
            record.event_id
        ));
    }
    let mut starter = Caller::from_arn(&record.principal);
    // The record keeps the caller as the event gave it; Evaluate looks up a role's path.
    starter.path_unknown = starter.role_name().is_some();
    Ok(starter)
}

/// Whether the endpoint serves the job's best candidate and nothing else: every model it
/// deploys is resolved and serves model data, and every image, data location and package
/// reached is among the candidate's containers.
fn serves_the_candidate(serves: &Resolution, facts: &AutoMlFacts) -> Result<(), String> {
    let job = &facts.job_arn;
    if facts.candidate.is_empty() {
        return Err(format!(
            "AutoML job {job} has chosen no best candidate, so nothing it deploys can be this \
             endpoint's: judged as its own caller"
        ));
    }
    let images: Vec<String> = facts
        .candidate
        .iter()
        .filter_map(|c| c.image.as_deref().map(canonical_image_uri))
        .collect();
    let data: Vec<String> = facts
        .candidate
        .iter()
        .flat_map(|c| c.data.iter().map(|d| canonical_data_uri(&d.uri)))
        .collect();
    let foreign = |why: String| {
        Err(format!(
            "AutoML job {job} names this endpoint, but {why}, not the job's best candidate: \
             judged as its own caller"
        ))
    };
    let mut models = 0;
    for subject in &serves.subjects {
        let name = &subject.name;
        match subject.kind {
            SubjectKind::Model => {
                models += 1;
                if let Some(why) = &subject.unresolved {
                    return foreign(format!("what model {name} serves is not known ({why})"));
                }
                let model = Through::Model { name: name.clone() };
                let serves_data = serves
                    .subjects
                    .iter()
                    .any(|s| s.kind == SubjectKind::Data && s.through.contains(&model));
                if !serves_data {
                    return foreign(format!("model {name} serves no model data the guard knows"));
                }
            }
            SubjectKind::Image if !images.contains(name) => {
                return foreign(format!("it runs image {name}"));
            }
            SubjectKind::Data if !data.contains(name) => {
                return foreign(format!("it serves {name}"));
            }
            SubjectKind::Package | SubjectKind::InferenceComponent => {
                return foreign(format!("it serves {name}"));
            }
            _ => {}
        }
    }
    if models == 0 {
        return foreign("it deploys no model the guard could describe".to_owned());
    }
    Ok(())
}

/// The AutoML job a violating endpoint may have been deployed by, and who created it or why
/// that does not count. `None`: no job names it. Of several jobs naming it, the first whose
/// link holds; else the newest's reason.
pub async fn automl_parent_of<A: JobParents, S: RecordStore>(
    request: &Request,
    serves: &Resolution,
    jobs: &A,
    records: &S,
) -> Result<Option<(String, Result<Caller, String>)>, GuardError> {
    if request.resource.resource_type != ResourceType::Endpoint {
        return Ok(None);
    }
    let call = request.call_time().unwrap_or_else(Utc::now);
    let since = call - chrono::Duration::hours(AUTOML_LOOKBACK_HOURS);
    let candidates = match jobs.deployers_of(&request.resource.name, since).await {
        Ok(jobs) => jobs,
        Err(ResolveError::Unresolvable(_)) => return Ok(None),
        Err(ResolveError::Failed(e)) => return Err(e),
    };
    // The reason given is the deploying job's (SageMaker wrote that its result is this
    // endpoint), else the newest's.
    let mut refused: Option<(bool, String, String)> = None;
    let names = |n: &Option<String>| {
        n.as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(&request.resource.name))
    };
    // A job deploying under the caller's role to a name SageMaker generates, not yet written to
    // its describe: this endpoint may be it. Waited for (as a record is), not judged without.
    let caller = request.caller();
    let pending = candidates
        .iter()
        .find(|j| {
            j.naming_pending
                && request.event_name == "CreateEndpoint"
                && j.role_arn
                    .as_deref()
                    .map(Caller::from_arn)
                    .is_some_and(|r| {
                        r.role_name().is_some()
                            && r.role_name() == caller.role_name()
                            && r.role_account() == caller.role_account()
                    })
        })
        .cloned();
    if let (Some(job), true) = (&pending, serves.may_wait) {
        return Err(GuardError::new(
            ErrorKind::RecordsPending,
            format!(
                "AutoML job {} is deploying under the caller's role to an endpoint whose name \
                 SageMaker generates, and its describe does not name one yet",
                job.job_arn
            ),
        ));
    }
    for facts in candidates
        .into_iter()
        .filter(|j| names(&j.deployed_endpoint) || names(&j.asked_endpoint))
    {
        let history = records
            .history(
                RecordKind::AutoMlJob,
                &facts.job_name,
                request.scope.as_deref(),
            )
            .await?;
        match automl_starter(request, serves, &facts, &history.records) {
            Ok(starter) => return Ok(Some((facts.job_arn, Ok(starter)))),
            Err(why) => {
                let deployed = facts
                    .deployed_endpoint
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&request.resource.name));
                if refused.as_ref().is_none_or(|(d, _, _)| deployed && !d) {
                    refused = Some((deployed, facts.job_arn, why));
                }
            }
        }
    }
    if let (None, Some(job)) = (&refused, pending) {
        return Ok(Some((
            job.job_arn.clone(),
            Err(format!(
                "AutoML job {} was still deploying under the caller's role to a generated \
                 endpoint name when the wait ran out, and named none: judged as its own caller",
                job.job_arn
            )),
        )));
    }
    Ok(refused.map(|(_, job, why)| (job, Err(why))))
}

/// Who last created or changed the monitoring schedule a processing job is a run of, as the
/// guard recorded it, or why the job is judged as its own caller.
pub fn schedule_starter(
    request: &Request,
    schedule: &str,
    recorded: &[ResourceRecord],
) -> Result<Caller, String> {
    let call = request.call_time();
    let record = recorded
        .iter()
        .filter(|r| r.kind == RecordKind::MonitoringSchedule && r.op == RecordOp::Create)
        .filter(|r| call.is_none_or(|c| r.event_time <= c))
        .max_by_key(|r| r.event_time);
    let Some(record) = record else {
        return Err(format!(
            "it is a run of monitoring schedule {schedule}, of whose creation the guard holds no \
             record: judged as its own caller"
        ));
    };
    let mut starter = Caller::from_arn(&record.principal);
    starter.path_unknown = starter.role_name().is_some();
    Ok(starter)
}

/// The monitoring schedule a violating processing job is a run of, and who last set it or why
/// that does not count. `None`: it is no schedule's run.
pub async fn schedule_parent_of<J: JobParents, S: RecordStore>(
    request: &Request,
    jobs: &J,
    records: &S,
) -> Result<Option<(String, Result<Caller, String>)>, GuardError> {
    if request.resource.resource_type != ResourceType::ProcessingJob {
        return Ok(None);
    }
    let schedule = match jobs.schedule_of(&request.resource.name).await {
        Ok(Some(schedule)) => schedule,
        Ok(None) | Err(ResolveError::Unresolvable(_)) => return Ok(None),
        Err(ResolveError::Failed(e)) => return Err(e),
    };
    let Some(name) = schedule
        .rsplit_once('/')
        .map(|(_, n)| n)
        .filter(|n| !n.is_empty())
    else {
        return Ok(Some((
            schedule.clone(),
            Err(format!(
                "its describe names monitoring schedule {schedule:?}, not a schedule's ARN: \
                 judged as its own caller"
            )),
        )));
    };
    let history = records
        .history(
            RecordKind::MonitoringSchedule,
            name,
            request.scope.as_deref(),
        )
        .await?;
    let starter = schedule_starter(request, &schedule, &history.records);
    Ok(Some((schedule, starter)))
}

/// Whether a pipeline step can make a resource of this type (SageMaker Pipelines' step types:
/// training, processing, transform, tuning, AutoML, model, endpoint and inference component
/// steps).
pub fn made_by_steps(resource_type: ResourceType) -> bool {
    matches!(
        resource_type,
        ResourceType::TrainingJob
            | ResourceType::ProcessingJob
            | ResourceType::TransformJob
            | ResourceType::HyperParameterTuningJob
            | ResourceType::AutoMlJob
            | ResourceType::Model
            | ResourceType::Endpoint
            | ResourceType::InferenceComponent
    )
}

/// Whether a verdict is worth asking a parent about: a violation of something a step could have
/// made.
pub fn may_be_a_step(request: &Request, verdict: &Verdict) -> bool {
    verdict.decision == Decision::Violation
        && request.resource.arn.is_some()
        && made_by_steps(request.resource.resource_type)
}

/// The principal that started `execution`, if the execution's facts bear out that the resource
/// is one of its steps; otherwise why the child is judged as its own caller.
pub fn starter(
    request: &Request,
    execution: &str,
    facts: Result<ExecutionFacts, String>,
) -> Result<Caller, String> {
    let facts = facts.map_err(|why| {
        format!(
            "it says it is a step of pipeline execution {execution}, which could not be \
             found ({why}): judged as its own caller"
        )
    })?;
    let arn = request.resource.arn.as_deref().unwrap_or_default();
    if !facts.step_resources.iter().any(|r| r == arn) {
        return Err(format!(
            "it says it is a step of pipeline execution {execution}, whose steps do not name \
             it: judged as its own caller"
        ));
    }
    let Some(started_by) = facts.started_by else {
        return Err(format!(
            "pipeline execution {execution}, whose step it is, does not say who started it: \
             judged as its own caller"
        ));
    };
    // A retry re-runs steps for whoever retried: the starter alone does not answer for them.
    if let Some(modified_by) = facts.modified_by.filter(|m| *m != started_by) {
        return Err(format!(
            "pipeline execution {execution}, whose step it is, was started by {started_by} but \
             last changed (retried) by {modified_by}: judged as its own caller"
        ));
    }
    let mut caller = Caller::from_arn(&started_by);
    caller.source_identity = facts.source_identity;
    Ok(caller)
}

/// The execution a violating child claims as its parent (its request's tag, else its
/// resource's), and who started it or why that does not count. `None`: it claims none.
pub async fn parent_of<P: PipelineSteps>(
    request: &Request,
    steps: &P,
) -> Result<Option<(String, Result<Caller, String>)>, GuardError> {
    let Some(arn) = request.resource.arn.as_deref() else {
        return Ok(None);
    };
    let claimed = match &request.pipeline_execution {
        Some(execution) => Some(execution.clone()),
        None => match steps.execution_tag(arn).await {
            Ok(tag) => tag,
            Err(ResolveError::Failed(e)) => return Err(e),
            // The resource's tags cannot be read (gone, denied): no claim to check.
            Err(ResolveError::Unresolvable(_)) => None,
        },
    };
    let Some(execution) = claimed else {
        return Ok(None);
    };
    let facts = match steps.execution(&execution).await {
        Ok(facts) => Ok(facts),
        Err(ResolveError::Unresolvable(why)) => Err(why),
        Err(ResolveError::Failed(e)) => return Err(e),
    };
    let starter = starter(request, &execution, facts);
    Ok(Some((execution, starter)))
}

/// The request as if `starter` had made it.
pub fn as_started_by(request: &Request, starter: Caller) -> Request {
    let mut request = request.clone();
    request.set_caller(starter);
    request
}

/// The child's verdict: `own` (its caller's) unless `for_starter` (the same request judged for
/// the starter) allows it; either way it names the execution and who started it.
pub fn attribute(own: Verdict, for_starter: Verdict, parent: &str, starter: &Caller) -> Verdict {
    let allowed = for_starter.decision == Decision::Allow;
    let started_by = StartedBy {
        parent: parent.to_owned(),
        principal: starter.principal.clone(),
        session: starter.session.clone(),
        source_identity: starter.source_identity.clone(),
        allowed,
    };
    let session = starter
        .session
        .as_deref()
        .map(|s| format!(" (session {s})"))
        .unwrap_or_default();
    let said = match parent_kind(parent) {
        "AutoML job" => format!(
            "deployed by AutoML job {parent}, which {}{session} created",
            starter.principal
        ),
        "monitoring schedule" => format!(
            "a run of monitoring schedule {parent}, which {}{session} last created or changed",
            starter.principal
        ),
        _ => format!(
            "a step of pipeline execution {parent}, which {}{session} started",
            starter.principal
        ),
    };
    if allowed {
        let mut verdict = for_starter;
        // The call is still the child's caller's; the starter is who answers for it.
        verdict.principal = own.principal;
        verdict.person = own.person;
        verdict.source_identity = own.source_identity;
        verdict
            .reasons
            .insert(0, format!("{said}: allowed for {}", starter.principal));
        verdict.started_by = Some(started_by);
        verdict
    } else {
        let mut verdict = own;
        verdict.reasons.push(format!(
            "{said}: {} is not allowed either",
            starter.principal
        ));
        verdict.started_by = Some(started_by);
        verdict
    }
}

/// The child's verdict when its parent could not be confirmed: its own, saying why.
pub fn unattributed(mut own: Verdict, why: String) -> Verdict {
    own.reasons.push(why);
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::DataLocation;
    use crate::contract::{ResolvedSubject, ResourceRef, Version1};

    fn request() -> Request {
        Request {
            version: Version1,
            event_id: "e".into(),
            event_name: "CreateTrainingJob".into(),
            event_time: None,
            account: Some("111122223333".into()),
            region: None,
            principal: "arn:aws:iam::111122223333:role/PipelineRunner".into(),
            principal_path_unknown: false,
            session: None,
            source_identity: None,
            resource: ResourceRef {
                resource_type: ResourceType::TrainingJob,
                name: "pipelines-x-train".into(),
                arn: Some(
                    "arn:aws:sagemaker:eu-west-1:111122223333:training-job/pipelines-x-train"
                        .into(),
                ),
            },
            targets: Vec::new(),
            pipeline_execution: None,
            scope: None,
        }
    }

    const EXECUTION: &str = "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/p/execution/x";

    #[test]
    fn the_execution_must_name_the_step_and_its_starter() {
        let r = request();
        let arn = r.resource.arn.clone().unwrap_or_default();
        let facts = |steps: Vec<String>, by: Option<&str>| ExecutionFacts {
            started_by: by.map(str::to_owned),
            source_identity: Some("alice".into()),
            modified_by: by.map(str::to_owned),
            step_resources: steps,
        };
        let alice = "arn:aws:sts::111122223333:assumed-role/MLDeployer/alice";
        match starter(&r, EXECUTION, Ok(facts(vec![arn.clone()], Some(alice)))) {
            Ok(c) => {
                assert_eq!(c.principal, "arn:aws:iam::111122223333:role/MLDeployer");
                assert!(c.path_unknown, "looked up by Evaluate, as any session's");
                assert_eq!(c.source_identity.as_deref(), Some("alice"));
            }
            Err(why) => panic!("{why}"),
        }
        let retried = ExecutionFacts {
            modified_by: Some("arn:aws:sts::111122223333:assumed-role/Contractor/m".into()),
            ..facts(vec![arn.clone()], Some(alice))
        };
        let refused = [
            starter(&r, EXECUTION, Ok(retried)),
            starter(
                &r,
                EXECUTION,
                Ok(facts(vec!["arn:other".into()], Some(alice))),
            ),
            starter(&r, EXECUTION, Ok(facts(vec![arn], None))),
            starter(&r, EXECUTION, Err("not found".into())),
        ];
        let whys: Vec<String> = refused.into_iter().filter_map(Result::err).collect();
        assert_eq!(whys.len(), 4);
        assert!(whys[0].contains("last changed (retried) by"), "{}", whys[0]);
        let whys = &whys[1..];
        assert!(
            whys[0].contains("whose steps do not name it"),
            "{}",
            whys[0]
        );
        assert!(
            whys[1].contains("does not say who started it"),
            "{}",
            whys[1]
        );
        assert!(
            whys[2].contains("could not be found (not found)"),
            "{}",
            whys[2]
        );
        assert!(whys.iter().all(|w| w.ends_with("judged as its own caller")));
    }

    fn endpoint_request(caller: &str) -> Request {
        let mut r = request();
        r.event_name = "CreateEndpoint".into();
        r.event_time = Some("2026-11-20T12:40:05Z".into());
        r.resource = ResourceRef {
            resource_type: ResourceType::Endpoint,
            name: "churn-ep".into(),
            arn: Some("arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn-ep".into()),
        };
        r.set_caller(Caller::from_arn(caller));
        r
    }

    const JOB_ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AutopilotExec";

    fn job(deployed: Option<&str>, asked: Option<&str>, created: &str) -> AutoMlFacts {
        AutoMlFacts {
            job_name: "autopilot-churn".into(),
            job_arn: "arn:aws:sagemaker:eu-west-1:111122223333:automl-job/autopilot-churn".into(),
            role_arn: Some(JOB_ROLE.into()),
            deployed_endpoint: deployed.map(str::to_owned),
            asked_endpoint: asked.map(str::to_owned),
            created: DateTime::parse_from_rfc3339(created)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            naming_pending: false,
            candidate: vec![ContainerContent {
                image: Some(CANDIDATE_IMAGE.into()),
                data: vec![DataLocation {
                    uri: CANDIDATE_DATA.into(),
                    prefix: false,
                }],
                package: None,
            }],
        }
    }

    const CANDIDATE_IMAGE: &str =
        "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1";
    const CANDIDATE_DATA: &str = "s3://automl-111122223333/autopilot-churn/best/model.tar.gz";

    /// What an endpoint serving one model with this image and data resolves to.
    fn serving(model: &str, image: &str, data: &str) -> Resolution {
        let own = Through::Model { name: model.into() };
        Resolution {
            subjects: vec![
                ResolvedSubject::new(SubjectKind::Model, model.into(), Through::Request),
                ResolvedSubject::new(SubjectKind::Image, canonical_image_uri(image), own.clone()),
                ResolvedSubject::new(SubjectKind::Data, canonical_data_uri(data), own),
            ],
            ..Resolution::default()
        }
    }

    fn created_by(principal: &str, at: &str) -> ResourceRecord {
        ResourceRecord {
            version: Version1,
            kind: RecordKind::AutoMlJob,
            name: "autopilot-churn".into(),
            op: RecordOp::Create,
            event_id: "create-event".into(),
            event_time: DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            principal: principal.into(),
            content: None,
            scope: None,
        }
    }

    #[test]
    fn an_automl_endpoint_answers_to_the_recorded_creator_only_when_the_job_bears_it_out() {
        let by_job =
            endpoint_request("arn:aws:sts::111122223333:assumed-role/AutopilotExec/SageMaker");
        let alice = "arn:aws:iam::111122223333:role/DataScientist";
        let record = [created_by(alice, "2026-11-20T10:02:10Z")];
        let best = serving("churn-best", CANDIDATE_IMAGE, CANDIDATE_DATA);
        let ok = |facts: &AutoMlFacts, records: &[ResourceRecord]| {
            automl_starter(&by_job, &best, facts, records)
        };
        // Named by its result, or (not yet deployed) by its configuration, any case.
        for facts in [
            job(Some("churn-ep"), Some("churn-ep"), "2026-11-20T10:02:11Z"),
            job(None, Some("CHURN-EP"), "2026-11-20T10:02:11Z"),
        ] {
            match ok(&facts, &record) {
                Ok(starter) => assert_eq!(starter.principal, alice),
                Err(why) => panic!("{why}"),
            }
        }
        let refused = [
            // The result names another endpoint: the configuration no longer counts.
            ok(
                &job(Some("other-ep"), Some("churn-ep"), "2026-11-20T10:02:11Z"),
                &record,
            ),
            // Someone calling as themselves, not as the job's role.
            automl_starter(
                &endpoint_request("arn:aws:sts::111122223333:assumed-role/Contractor/mallory"),
                &best,
                &job(Some("churn-ep"), None, "2026-11-20T10:02:11Z"),
                &record,
            ),
            // No record of the job's creation.
            ok(&job(Some("churn-ep"), None, "2026-11-20T10:02:11Z"), &[]),
            // A job created under the name after the creation the guard recorded.
            ok(
                &job(Some("churn-ep"), None, "2026-11-20T11:00:00Z"),
                &record,
            ),
            // A record made after the endpoint's call is not its job's.
            ok(
                &job(Some("churn-ep"), None, "2026-11-20T10:02:11Z"),
                &[created_by(alice, "2026-11-20T13:00:00Z")],
            ),
        ];
        let whys: Vec<String> = refused.into_iter().filter_map(Result::err).collect();
        assert_eq!(whys.len(), 5, "{whys:?}");
        assert_candidate_refusals(&by_job, &record);
        assert!(
            whys[0].contains("does not name this endpoint"),
            "{}",
            whys[0]
        );
        assert!(whys[1].contains("not by the job's role"), "{}", whys[1]);
        assert!(whys[2].contains("no record"), "{}", whys[2]);
        assert!(whys[3].contains("after the CreateAutoMLJob"), "{}", whys[3]);
        assert!(whys[4].contains("no record"), "{}", whys[4]);
        assert!(whys.iter().all(|w| w.ends_with("judged as its own caller")));
    }

    /// Someone who can act as the job's role creates the endpoint the job was asked to deploy,
    /// before it does, serving what they like: only the job's best candidate is its deployment.
    fn assert_candidate_refusals(by_job: &Request, record: &[ResourceRecord]) {
        let asked = job(None, Some("churn-ep"), "2026-11-20T10:02:11Z");
        let mut unchosen = asked.clone();
        unchosen.candidate.clear();
        let mut unresolved = serving("churn-best", CANDIDATE_IMAGE, CANDIDATE_DATA);
        unresolved.subjects[0].unresolved = Some("not found".into());
        let mut no_data = serving("churn-best", CANDIDATE_IMAGE, CANDIDATE_DATA);
        no_data.subjects.truncate(2);
        let fraud = "s3://ml-artifacts-111122223333/fraud-v3/model.tar.gz";
        let mut updated = by_job.clone();
        updated.event_name = "UpdateEndpoint".into();
        let best = serving("churn-best", CANDIDATE_IMAGE, CANDIDATE_DATA);
        let cases = [
            (
                by_job,
                serving("fraud-v3", CANDIDATE_IMAGE, fraud),
                &asked,
                "it serves s3://",
            ),
            (
                by_job,
                serving(
                    "churn-best",
                    "111122223333.dkr.ecr.eu-west-1.amazonaws.com/x:1",
                    CANDIDATE_DATA,
                ),
                &asked,
                "it runs image",
            ),
            (
                by_job,
                best.clone(),
                &unchosen,
                "has chosen no best candidate",
            ),
            (by_job, unresolved, &asked, "is not known (not found)"),
            (by_job, no_data, &asked, "serves no model data"),
            (by_job, Resolution::default(), &asked, "deploys no model"),
            (&updated, best.clone(), &asked, "UpdateEndpoint is not how"),
        ];
        for (request, serves, facts, expected) in cases {
            match automl_starter(request, &serves, facts, record) {
                Err(why) => {
                    assert!(why.contains(expected), "{expected:?} not in {why}");
                    assert!(why.ends_with("judged as its own caller"), "{why}");
                }
                Ok(starter) => panic!("{expected}: attributed to {starter:?}"),
            }
        }
        // The same candidate, with the data written another way, is the candidate.
        let https = "https://automl-111122223333.s3.eu-west-1.amazonaws.com/autopilot-churn/best/model.tar.gz";
        assert!(
            automl_starter(
                by_job,
                &serving("churn-best", CANDIDATE_IMAGE, https),
                &asked,
                record
            )
            .is_ok()
        );
    }

    /// AutoML deploying to a name SageMaker generates writes the name to its describe only when
    /// done: the endpoint its role creates meanwhile is waited for, not judged as the role's
    /// (which would stop a legitimate deployment), and judged as its own caller once the wait
    /// is over.
    #[test]
    fn an_endpoint_a_job_may_be_deploying_to_a_generated_name_is_waited_for() {
        use crate::catalog::{Catalog, CatalogResolver};
        let catalog = |role: &str| {
            let json = serde_json::json!({"automlJobs": {"autopilot-auto": {
                "arn": "arn:aws:sagemaker:eu-west-1:111122223333:automl-job/autopilot-auto",
                "roleArn": role, "namingPending": true,
                "creationTime": "2026-11-20T10:02:11Z"}}});
            CatalogResolver::new(Catalog::from_json(&json).unwrap_or_else(|e| panic!("{e}")))
        };
        let by_job =
            endpoint_request("arn:aws:sts::111122223333:assumed-role/AutopilotExec/SageMaker");
        let serves = |may_wait| Resolution {
            may_wait,
            ..serving("churn-best", CANDIDATE_IMAGE, CANDIDATE_DATA)
        };
        let jobs = catalog(JOB_ROLE);
        let parent = |request: &Request, serves: Resolution, jobs: &CatalogResolver| {
            pollster::block_on(automl_parent_of(request, &serves, jobs, jobs))
        };
        match parent(&by_job, serves(true), &jobs) {
            Err(e) => assert_eq!(e.kind, ErrorKind::RecordsPending, "{e:?}"),
            Ok(found) => panic!("not waited for: {found:?}"),
        }
        match parent(&by_job, serves(false), &jobs) {
            Ok(Some((_, Err(why)))) => assert!(why.contains("when the wait ran out"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Another role's endpoint, or a job under another role: nothing to wait for.
        let mallory = endpoint_request("arn:aws:sts::111122223333:assumed-role/Contractor/mallory");
        let other = catalog("arn:aws:iam::111122223333:role/OtherExec");
        for (request, jobs) in [(&mallory, &jobs), (&by_job, &other)] {
            match parent(request, serves(true), jobs) {
                Ok(None) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_monitoring_run_answers_to_who_last_set_its_schedule_as_recorded() {
        let mut run = request();
        run.event_name = "CreateProcessingJob".into();
        run.event_time = Some("2026-11-20T13:00:04Z".into());
        let schedule = "arn:aws:sagemaker:eu-west-1:111122223333:monitoring-schedule/churn-dq";
        let set = |principal: &str, at: &str| ResourceRecord {
            kind: RecordKind::MonitoringSchedule,
            name: "churn-dq".into(),
            ..created_by(principal, at)
        };
        let alice = "arn:aws:iam::111122223333:role/DataScientist";
        let bob = "arn:aws:iam::111122223333:role/Contractor";
        // The newest version before the run: bob's change made before it, not alice's creation.
        let records = [
            set(alice, "2026-11-20T09:30:00Z"),
            set(bob, "2026-11-20T12:00:00Z"),
            set(alice, "2026-11-20T14:00:00Z"),
        ];
        match schedule_starter(&run, schedule, &records) {
            Ok(starter) => assert_eq!(starter.principal, bob),
            Err(why) => panic!("{why}"),
        }
        // Only an AutoML job's record, or none: judged as its own caller.
        for records in [vec![created_by(alice, "2026-11-20T09:30:00Z")], Vec::new()] {
            match schedule_starter(&run, schedule, &records) {
                Err(why) => assert!(why.ends_with("judged as its own caller"), "{why}"),
                Ok(starter) => panic!("{starter:?}"),
            }
        }
    }
}
