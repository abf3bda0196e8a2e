//! Pipelines and projects: the role a pipeline, or one of its executions, runs under; who
//! started an execution and what its steps made (for the children rule); stopping an execution;
//! the role a project's templates run under.

use aws_sdk_sagemaker::types::{PipelineExecutionStatus, PipelineExecutionStepMetadata};
use model_guard_core::children::{ExecutionFacts, PipelineSteps};
use model_guard_core::contract::{ResourceRef, Verdict};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::event::PIPELINE_EXECUTION_TAG;
use model_guard_core::records::whole_second;
use model_guard_core::resolve::ResolveError;
use model_guard_core::{ErrorKind, GuardError};

use super::remedy::{Before, Statuses, call_failed};
use super::{
    SageMakerEnforcer, SageMakerResolver, Uses, is_not_found, resolve_error, role_targets, time,
};
use crate::sdk_error;

/// DescribePipeline's `RoleArn`: what a pipeline's executions run under.
pub(super) async fn pipeline_uses(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let out = client
        .describe_pipeline()
        .pipeline_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("pipeline {name}"), &e))?;
    Ok(Uses {
        targets: role_targets([out.role_arn()]),
        source: format!("DescribePipeline {name}'s RoleArn"),
        created: time(out.creation_time()),
    })
}

/// DescribeProject's template providers' `RoleArn`: what an update of its templates re-runs
/// their stacks under.
pub(super) async fn project_uses(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let out = client
        .describe_project()
        .project_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("project {name}"), &e))?;
    let roles = out
        .template_provider_details()
        .iter()
        .map(|p| p.cfn_template_provider_detail().and_then(|c| c.role_arn()));
    Ok(Uses {
        targets: role_targets(roles),
        source: format!("DescribeProject {name}'s template providers' RoleArn"),
        created: time(out.creation_time()),
    })
}

/// The role an execution runs under: its pipeline's, at the version it runs. Without a version,
/// the pipeline's current role counts only if the pipeline was not changed since the execution
/// started (an UpdatePipeline in between could have set another).
pub(super) async fn execution_uses(
    client: &aws_sdk_sagemaker::Client,
    resource: &ResourceRef,
) -> Result<Uses, ResolveError> {
    let Some(arn) = resource.arn.as_deref() else {
        return Err(ResolveError::Unresolvable(format!(
            "pipeline execution {} has no ARN to describe",
            resource.name
        )));
    };
    let execution = client
        .describe_pipeline_execution()
        .pipeline_execution_arn(arn)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("pipeline execution {arn}"), &e))?;
    let Some(pipeline) = execution.pipeline_arn() else {
        return Err(ResolveError::Unresolvable(format!(
            "DescribePipelineExecution {arn} names no pipeline"
        )));
    };
    let started = time(execution.creation_time());
    let version = execution.pipeline_version_id();
    // DescribePipeline takes a name or an ARN; the name is what every implementation takes.
    let name = pipeline
        .split_once(":pipeline/")
        .map_or(pipeline, |(_, name)| name);
    let out = client
        .describe_pipeline()
        .pipeline_name(name)
        .set_pipeline_version_id(version)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("pipeline {pipeline}"), &e))?;
    if version.is_none()
        && let (Some(changed), Some(started)) = (time(out.last_modified_time()), started)
        && whole_second(changed) > whole_second(started)
    {
        return Err(ResolveError::Unresolvable(format!(
            "pipeline {pipeline} was changed at {}, after the execution started at {}, and the \
             execution names no version: the role it runs under is not known",
            changed.to_rfc3339(),
            started.to_rfc3339()
        )));
    }
    Ok(Uses {
        targets: role_targets([out.role_arn()]),
        source: match version {
            Some(v) => format!("DescribePipeline {pipeline} (version {v})'s RoleArn"),
            None => format!("DescribePipeline {pipeline}'s RoleArn"),
        },
        created: started,
    })
}

/// The ARNs a step's metadata names (what the step made or ran).
fn step_arns(m: &PipelineExecutionStepMetadata) -> impl Iterator<Item = &str> {
    [
        m.training_job().and_then(|x| x.arn()),
        m.processing_job().and_then(|x| x.arn()),
        m.transform_job().and_then(|x| x.arn()),
        m.tuning_job().and_then(|x| x.arn()),
        m.model().and_then(|x| x.arn()),
        m.register_model().and_then(|x| x.arn()),
        m.auto_ml_job().and_then(|x| x.arn()),
        m.endpoint().and_then(|x| x.arn()),
        m.endpoint_config().and_then(|x| x.arn()),
        m.inference_component().and_then(|x| x.arn()),
        m.quality_check().and_then(|x| x.check_job_arn()),
        m.clarify_check().and_then(|x| x.check_job_arn()),
    ]
    .into_iter()
    .flatten()
}

impl PipelineSteps for SageMakerResolver {
    async fn execution_tag(&self, resource_arn: &str) -> Result<Option<String>, ResolveError> {
        let mut pages = self
            .client
            .list_tags()
            .resource_arn(resource_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| resolve_error(&format!("the tags of {resource_arn}"), &e))?;
            if let Some(tag) = page
                .tags()
                .iter()
                .find(|t| t.key() == Some(PIPELINE_EXECUTION_TAG))
            {
                return Ok(tag.value().map(str::to_owned));
            }
        }
        Ok(None)
    }

    async fn execution(&self, execution_arn: &str) -> Result<ExecutionFacts, ResolveError> {
        let what = format!("pipeline execution {execution_arn}");
        let out = self
            .client
            .describe_pipeline_execution()
            .pipeline_execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| resolve_error(&what, &e))?;
        let identity = out.created_by().and_then(|c| c.iam_identity());
        let mut facts = ExecutionFacts {
            started_by: identity.and_then(|i| i.arn()).map(str::to_owned),
            source_identity: identity
                .and_then(|i| i.source_identity())
                .map(str::to_owned),
            modified_by: out
                .last_modified_by()
                .and_then(|c| c.iam_identity())
                .and_then(|i| i.arn())
                .map(str::to_owned),
            step_resources: Vec::new(),
        };
        let mut pages = self
            .client
            .list_pipeline_execution_steps()
            .pipeline_execution_arn(execution_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| resolve_error(&format!("the steps of {what}"), &e))?;
            for step in page.pipeline_execution_steps() {
                if let Some(metadata) = step.metadata() {
                    facts
                        .step_resources
                        .extend(step_arns(metadata).map(str::to_owned));
                }
            }
        }
        Ok(facts)
    }
}

/// StopPipelineExecution's idempotency token (32 to 128 characters): one per event, so a retried
/// stop is the same request.
fn stop_token(event_id: Option<&str>) -> String {
    let id: String = event_id
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(100)
        .collect();
    format!("{:0<32}", format!("modelguard{id}"))
}

impl SageMakerEnforcer {
    /// Stops a pipeline execution: executing, it is stopped (and the stop confirmed by a
    /// describe); stopping, stopped or finished, it is already stopped.
    pub(super) async fn pipeline_execution(
        &self,
        resource: &ResourceRef,
        verdict: &Verdict,
    ) -> Result<EnforcementResult, GuardError> {
        use PipelineExecutionStatus as S;
        let Some(arn) = resource.arn.as_deref() else {
            return Err(GuardError::new(
                ErrorKind::InvalidInput,
                format!("pipeline execution {} has no ARN to stop", resource.name),
            ));
        };
        let call = "StopPipelineExecution";
        let stop = async {
            let stopped = self
                .sagemaker
                .stop_pipeline_execution()
                .pipeline_execution_arn(arn)
                .client_request_token(stop_token(verdict.event_id.as_deref()));
            stopped
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_failed(&format!("{call} {arn}"), &e))
        };
        let statuses = Statuses {
            label: S::as_str,
            before: |s| match s {
                S::Executing => Before::Ready,
                S::Stopping | S::Stopped | S::Failed | S::Succeeded | S::CompletedWithFailures => {
                    Before::Ended
                }
                // A status this SDK does not know is not taken for ended (fail closed).
                _ => Before::Busy("it is executing or has ended"),
            },
            confirms: |s| matches!(s, S::Stopping | S::Stopped),
        };
        let status = || self.execution_status(arn);
        self.apply(
            resource,
            (call, EnforcementOutcome::Stopped),
            statuses,
            status,
            stop,
        )
        .await
    }

    async fn execution_status(
        &self,
        arn: &str,
    ) -> Result<Option<PipelineExecutionStatus>, GuardError> {
        match self
            .sagemaker
            .describe_pipeline_execution()
            .pipeline_execution_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.pipeline_execution_status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribePipelineExecution {arn}"), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stop_token;

    #[test]
    fn the_stop_token_is_one_per_event_and_of_a_length_sagemaker_takes() {
        let a = stop_token(Some("000000b1-00e1-4c1d-9e2f-5a6b7c8d9e0f"));
        assert_eq!(a, stop_token(Some("000000b1-00e1-4c1d-9e2f-5a6b7c8d9e0f")));
        assert_ne!(a, stop_token(Some("000000b2-00e1-4c1d-9e2f-5a6b7c8d9e0f")));
        for token in [a, stop_token(None), stop_token(Some(&"x".repeat(500)))] {
            assert!((32..=128).contains(&token.len()), "{token}");
            assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
        }
    }
}
