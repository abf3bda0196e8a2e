//! Children of a pipeline execution (docs/design.md, "Pipelines and their steps"): SageMaker
//! Pipelines makes each step's job or model with an ordinary call under the pipeline's role. A
//! child is allowed if its own caller is allowed, or if it is allowed for the principal that
//! started its execution. The link is checked, never taken on trust: the request's (or the
//! resource's) `sagemaker:pipeline-execution-arn` tag names an execution, and that execution's
//! own step list, which only SageMaker writes, must name the resource.

use std::future::Future;

use crate::contract::{Decision, Request, ResourceType, StartedBy, Verdict};
use crate::error::GuardError;
use crate::principal::Caller;
use crate::resolve::ResolveError;

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
pub fn attribute(own: Verdict, for_starter: Verdict, execution: &str, starter: &Caller) -> Verdict {
    let allowed = for_starter.decision == Decision::Allow;
    let started_by = StartedBy {
        pipeline_execution: execution.to_owned(),
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
    let said = format!(
        "a step of pipeline execution {execution}, which {}{session} started",
        starter.principal
    );
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
    use crate::contract::{ResourceRef, Version1};

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
}
