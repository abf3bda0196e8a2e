//! Jobs — training, transform, processing, tuning, AutoML, compilation, edge packaging, labeling,
//! inference recommendations and optimization: stopping them, and what a job says it uses. Their
//! calls differ only in names, so each is a line of the macros below.

use model_guard_core::contract::{ResourceRef, ResourceType};
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::{ErrorKind, GuardError};

use model_guard_core::contract::Target;
use model_guard_core::principal::canonical_arn;
use model_guard_core::resolve::ResolveError;

use super::remedy::is_refusal;
use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error};
use crate::sdk_error;

impl SageMakerEnforcer {
    /// Stops a job; a stop refused because the job is not running is confirmed with a describe.
    pub(super) async fn job(
        &self,
        resource: &ResourceRef,
    ) -> Result<EnforcementResult, GuardError> {
        let name = resource.name.as_str();
        let kind = resource.resource_type;
        // The four Stop*Job calls differ only in names: (refused by SageMaker?, error).
        macro_rules! stop {
            ($call:ident, $field:ident, $op:literal) => {
                self.sagemaker
                    .$call()
                    .$field(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            is_refusal(&e),
                            sdk_error(&format!(concat!($op, " {}"), name), &e),
                        )
                    })
            };
        }
        let stop = match kind {
            ResourceType::TrainingJob => {
                stop!(stop_training_job, training_job_name, "StopTrainingJob")
            }
            ResourceType::TransformJob => {
                stop!(stop_transform_job, transform_job_name, "StopTransformJob")
            }
            ResourceType::ProcessingJob => {
                stop!(
                    stop_processing_job,
                    processing_job_name,
                    "StopProcessingJob"
                )
            }
            ResourceType::HyperParameterTuningJob => stop!(
                stop_hyper_parameter_tuning_job,
                hyper_parameter_tuning_job_name,
                "StopHyperParameterTuningJob"
            ),
            ResourceType::AutoMlJob => stop!(stop_auto_ml_job, auto_ml_job_name, "StopAutoMLJob"),
            ResourceType::CompilationJob => stop!(
                stop_compilation_job,
                compilation_job_name,
                "StopCompilationJob"
            ),
            ResourceType::EdgePackagingJob => stop!(
                stop_edge_packaging_job,
                edge_packaging_job_name,
                "StopEdgePackagingJob"
            ),
            ResourceType::LabelingJob => {
                stop!(stop_labeling_job, labeling_job_name, "StopLabelingJob")
            }
            ResourceType::InferenceRecommendationsJob => stop!(
                stop_inference_recommendations_job,
                job_name,
                "StopInferenceRecommendationsJob"
            ),
            ResourceType::OptimizationJob => stop!(
                stop_optimization_job,
                optimization_job_name,
                "StopOptimizationJob"
            ),
            // Not a job: each other family has its own module.
            _ => {
                return Err(GuardError::new(
                    ErrorKind::InvalidInput,
                    format!("{kind} is not a job"),
                ));
            }
        };
        match stop {
            // The end state confirmed by a describe: stopping or ended. A job still running
            // (the stop overtaken) is tried again.
            Ok(()) => match self.job_status(kind, name).await? {
                None => {
                    let mut result = Self::result(resource, EnforcementOutcome::Stopped, None);
                    result.confirmed = Some(CONFIRMED_GONE.to_owned());
                    Ok(result)
                }
                Some(status) if ended_or_stopping(&status) => {
                    let mut result = Self::result(resource, EnforcementOutcome::Stopped, None);
                    result.confirmed = Some(status);
                    Ok(result)
                }
                Some(status) => Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!("{kind} {name}: the stop was accepted, but it is {status}"),
                )),
            },
            Err((true, refused)) => match self.job_status(kind, name).await? {
                None => Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                )),
                Some(status) if ended_or_stopping(&status) => Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyStopped,
                    Some(status),
                )),
                Some(_) => Err(refused),
            },
            Err((false, error)) => Err(error),
        }
    }

    /// The job's status, or `None` when it does not exist.
    async fn job_status(
        &self,
        kind: ResourceType,
        name: &str,
    ) -> Result<Option<String>, GuardError> {
        macro_rules! describe {
            ($call:ident, $field:ident, $status:ident, $op:literal) => {
                match self.sagemaker.$call().$field(name).send().await {
                    Ok(out) => Ok(out.$status().map(|s| s.as_str().to_owned())),
                    Err(e) if is_not_found(&e) => Ok(None),
                    Err(e) => Err(sdk_error(&format!(concat!($op, " {}"), name), &e)),
                }
            };
        }
        match kind {
            ResourceType::TrainingJob => describe!(
                describe_training_job,
                training_job_name,
                training_job_status,
                "DescribeTrainingJob"
            ),
            ResourceType::TransformJob => describe!(
                describe_transform_job,
                transform_job_name,
                transform_job_status,
                "DescribeTransformJob"
            ),
            ResourceType::ProcessingJob => describe!(
                describe_processing_job,
                processing_job_name,
                processing_job_status,
                "DescribeProcessingJob"
            ),
            ResourceType::HyperParameterTuningJob => describe!(
                describe_hyper_parameter_tuning_job,
                hyper_parameter_tuning_job_name,
                hyper_parameter_tuning_job_status,
                "DescribeHyperParameterTuningJob"
            ),
            // DescribeAutoMLJobV2 answers for jobs made by either call.
            ResourceType::AutoMlJob => describe!(
                describe_auto_ml_job_v2,
                auto_ml_job_name,
                auto_ml_job_status,
                "DescribeAutoMLJobV2"
            ),
            ResourceType::CompilationJob => describe!(
                describe_compilation_job,
                compilation_job_name,
                compilation_job_status,
                "DescribeCompilationJob"
            ),
            ResourceType::EdgePackagingJob => describe!(
                describe_edge_packaging_job,
                edge_packaging_job_name,
                edge_packaging_job_status,
                "DescribeEdgePackagingJob"
            ),
            ResourceType::LabelingJob => describe!(
                describe_labeling_job,
                labeling_job_name,
                labeling_job_status,
                "DescribeLabelingJob"
            ),
            ResourceType::InferenceRecommendationsJob => describe!(
                describe_inference_recommendations_job,
                job_name,
                status,
                "DescribeInferenceRecommendationsJob"
            ),
            ResourceType::OptimizationJob => describe!(
                describe_optimization_job,
                optimization_job_name,
                optimization_job_status,
                "DescribeOptimizationJob"
            ),
            // Not a job: each other family has its own module.
            _ => Ok(None),
        }
    }
}

/// What a job runs with: its execution role (a tuning job's, every training definition's), or a
/// transform job's model. A job's name is never used twice, so this is what its call made.
pub(super) async fn job_uses(
    client: &aws_sdk_sagemaker::Client,
    kind: ResourceType,
    name: &str,
) -> Result<Uses, ResolveError> {
    let role = |arn: &str| Target::Role {
        arn: canonical_arn(arn),
    };
    let what = format!("{kind} {name}");
    // A job whose describe names its execution role, and nothing else the guard judges.
    macro_rules! role_of {
        ($call:ident, $field:ident, $op:literal) => {{
            let out = client
                .$call()
                .$field(name)
                .send()
                .await
                .map_err(|e| resolve_error(&what, &e))?;
            let targets = out.role_arn().map(role).into_iter().collect();
            (
                targets,
                concat!($op, "'s RoleArn"),
                out.creation_time().cloned(),
            )
        }};
    }
    let (targets, source, created) = match kind {
        ResourceType::AutoMlJob => {
            role_of!(
                describe_auto_ml_job_v2,
                auto_ml_job_name,
                "DescribeAutoMLJobV2"
            )
        }
        ResourceType::CompilationJob => role_of!(
            describe_compilation_job,
            compilation_job_name,
            "DescribeCompilationJob"
        ),
        ResourceType::EdgePackagingJob => role_of!(
            describe_edge_packaging_job,
            edge_packaging_job_name,
            "DescribeEdgePackagingJob"
        ),
        ResourceType::LabelingJob => {
            role_of!(
                describe_labeling_job,
                labeling_job_name,
                "DescribeLabelingJob"
            )
        }
        ResourceType::InferenceRecommendationsJob => role_of!(
            describe_inference_recommendations_job,
            job_name,
            "DescribeInferenceRecommendationsJob"
        ),
        ResourceType::OptimizationJob => role_of!(
            describe_optimization_job,
            optimization_job_name,
            "DescribeOptimizationJob"
        ),
        ResourceType::TrainingJob => {
            let out = client
                .describe_training_job()
                .training_job_name(name)
                .send()
                .await
                .map_err(|e| resolve_error(&what, &e))?;
            let targets = out.role_arn().map(role).into_iter().collect();
            (
                targets,
                "DescribeTrainingJob's RoleArn",
                out.creation_time().cloned(),
            )
        }
        ResourceType::ProcessingJob => {
            let out = client
                .describe_processing_job()
                .processing_job_name(name)
                .send()
                .await
                .map_err(|e| resolve_error(&what, &e))?;
            let targets = out.role_arn().map(role).into_iter().collect();
            (
                targets,
                "DescribeProcessingJob's RoleArn",
                out.creation_time().cloned(),
            )
        }
        ResourceType::TransformJob => {
            let out = client
                .describe_transform_job()
                .transform_job_name(name)
                .send()
                .await
                .map_err(|e| resolve_error(&what, &e))?;
            let targets = out
                .model_name()
                .map(|m| Target::Model { name: m.to_owned() })
                .into_iter()
                .collect();
            (
                targets,
                "DescribeTransformJob's ModelName",
                out.creation_time().cloned(),
            )
        }
        ResourceType::HyperParameterTuningJob => {
            let out = client
                .describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .map_err(|e| resolve_error(&what, &e))?;
            let mut targets: Vec<Target> = Vec::new();
            let roles = out
                .training_job_definition()
                .and_then(|d| d.role_arn())
                .into_iter()
                .chain(
                    out.training_job_definitions()
                        .iter()
                        .filter_map(|d| d.role_arn()),
                );
            for arn in roles {
                let target = role(arn);
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
            (
                targets,
                "DescribeHyperParameterTuningJob's TrainingJobDefinition(s) RoleArn",
                out.creation_time().cloned(),
            )
        }
        // Not a job: each other family has its own module.
        _ => {
            return Err(ResolveError::Unresolvable(format!("{kind} is not a job")));
        }
    };
    Ok(Uses {
        targets,
        source: format!("{source} of {what}"),
        created: super::time(created.as_ref()),
    })
}

/// A job status from which it will not run on. Job types spell them differently (`Completed`,
/// `COMPLETED`; inference recommendations also `DELETING`, `DELETED`): compared without case.
fn ended_or_stopping(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "completed" | "failed" | "stopped" | "stopping" | "deleting" | "deleted"
    )
}

#[cfg(test)]
mod tests {
    use super::ended_or_stopping;

    #[test]
    fn every_job_types_spelling_of_an_end_is_an_end() {
        for ended in [
            "Completed",
            "Failed",
            "Stopped",
            "Stopping",
            "COMPLETED",
            "STOPPED",
            "DELETED",
        ] {
            assert!(ended_or_stopping(ended), "{ended}");
        }
        for running in [
            "InProgress",
            "INPROGRESS",
            "IN_PROGRESS",
            "Starting",
            "PENDING",
        ] {
            assert!(!ended_or_stopping(running), "{running}");
        }
    }
}
