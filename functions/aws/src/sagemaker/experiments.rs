//! Inference experiments: what one runs (its role and variants' models) or would promote (its
//! shadow variants' models), stopping one (its shadow variants removed, the production variant
//! kept), and the endpoint a promotion deployed on.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::describe_inference_experiment::DescribeInferenceExperimentOutput;
use aws_sdk_sagemaker::types::{InferenceExperimentStatus, ModelVariantAction};
use model_guard_core::contract::{ResourceRef, ResourceType, Target, Verdict};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::ResolveError;
use model_guard_core::{ErrorKind, GuardError};

use super::remedy::{Before, Statuses, call_failed};
use super::{
    SageMakerEnforcer, Uses, created_after_call, is_not_found, resolve_error, role_targets, time,
};
use crate::sdk_error;

/// The names of an experiment's shadow variants' models.
fn shadow_models(out: &DescribeInferenceExperimentOutput) -> Vec<String> {
    let shadows: Vec<&str> = out
        .shadow_mode_config()
        .map(|c| {
            c.shadow_model_variants()
                .iter()
                .filter_map(|v| v.shadow_model_variant_name())
                .collect()
        })
        .unwrap_or_default();
    out.model_variants()
        .iter()
        .filter(|v| v.variant_name().is_some_and(|n| shadows.contains(&n)))
        .filter_map(|v| v.model_name().map(str::to_owned))
        .collect()
}

async fn describe(
    client: &Client,
    name: &str,
) -> Result<DescribeInferenceExperimentOutput, ResolveError> {
    client
        .describe_inference_experiment()
        .name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("inference experiment {name}"), &e))
}

fn models(names: impl IntoIterator<Item = String>) -> Vec<Target> {
    names
        .into_iter()
        .map(|name| Target::Model { name })
        .collect()
}

/// DescribeInferenceExperiment: the experiment's role and every variant's model.
pub(super) async fn experiment_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let out = describe(client, name).await?;
    let mut targets = role_targets([out.role_arn()]);
    targets.extend(models(
        out.model_variants()
            .iter()
            .filter_map(|v| v.model_name().map(str::to_owned)),
    ));
    Ok(Uses {
        targets,
        source: format!("DescribeInferenceExperiment {name}'s RoleArn and variants"),
        created: time(out.creation_time()),
    })
}

/// DescribeInferenceExperiment, for a promotion: the shadow variants' models (what a promotion
/// deploys), and the endpoint it deploys them on (`EndpointMetadata.EndpointName`).
pub(super) async fn promotion_uses(
    client: &Client,
    name: &str,
) -> Result<(Uses, Option<ResourceRef>), ResolveError> {
    let out = describe(client, name).await?;
    let endpoint = out
        .endpoint_metadata()
        .and_then(|m| m.endpoint_name())
        .filter(|e| !e.is_empty())
        .map(|e| ResourceRef {
            resource_type: ResourceType::Endpoint,
            name: e.to_owned(),
            arn: None,
        });
    let uses = Uses {
        targets: models(shadow_models(&out)),
        source: format!("DescribeInferenceExperiment {name}'s shadow variants"),
        created: time(out.creation_time()),
    };
    Ok((uses, endpoint))
}

impl SageMakerEnforcer {
    /// Stops an experiment, removing its shadow variants and keeping the production one:
    /// created or running, it is stopped (cancelled; confirmed by a describe); creating,
    /// starting or updating, it is busy; stopping, completed or cancelled, already stopped.
    pub(super) async fn inference_experiment(
        &self,
        resource: &ResourceRef,
    ) -> Result<EnforcementResult, GuardError> {
        use InferenceExperimentStatus as S;
        let name = resource.name.as_str();
        let call = "StopInferenceExperiment";
        let stop = async {
            let out = match self
                .sagemaker
                .describe_inference_experiment()
                .name(name)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    return Err(call_failed(
                        &format!("DescribeInferenceExperiment {name}"),
                        &e,
                    ));
                }
            };
            let source = out
                .shadow_mode_config()
                .and_then(|c| c.source_model_variant_name());
            let mut stop = self
                .sagemaker
                .stop_inference_experiment()
                .name(name)
                .desired_state(
                    aws_sdk_sagemaker::types::InferenceExperimentStopDesiredState::Cancelled,
                )
                .reason("Model Guard: a violation of policy");
            for variant in out.model_variants().iter().filter_map(|v| v.variant_name()) {
                let action = if Some(variant) == source {
                    ModelVariantAction::Retain
                } else {
                    ModelVariantAction::Remove
                };
                stop = stop.model_variant_actions(variant, action);
            }
            stop.send()
                .await
                .map(|_| ())
                .map_err(|e| call_failed(&format!("{call} {name}"), &e))
        };
        let statuses = Statuses {
            label: S::as_str,
            before: |s| match s {
                S::Stopping | S::Completed | S::Cancelled => Before::Ended,
                S::Creating | S::Starting | S::Updating => Before::Busy("that ends"),
                _ => Before::Ready,
            },
            confirms: |s| matches!(s, S::Stopping | S::Cancelled),
        };
        let status = || self.experiment_status(name);
        self.apply(
            resource,
            (call, EnforcementOutcome::Stopped),
            statuses,
            status,
            stop,
        )
        .await
    }

    /// Deletes the endpoint a promotion deployed on, as a violating UpdateEndpoint's is: the
    /// experiment's describe names it.
    pub(super) async fn promoted_endpoint(
        &self,
        resource: &ResourceRef,
        verdict: &Verdict,
    ) -> Result<EnforcementResult, GuardError> {
        let name = resource.name.as_str();
        let out = match self
            .sagemaker
            .describe_inference_experiment()
            .name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => {
                // The experiment is gone, and with it what names the endpoint: fail, loudly.
                return Err(GuardError::new(
                    ErrorKind::AwsError,
                    format!(
                        "inference experiment {name} is gone: the endpoint its promotion \
                         deployed on cannot be found to delete"
                    ),
                ));
            }
            Err(e) => {
                return Err(sdk_error(
                    &format!("DescribeInferenceExperiment {name}"),
                    &e,
                ));
            }
        };
        // Re-created under the name after the call: another experiment, whose endpoint says
        // nothing of where the promotion landed (and may be anyone's).
        if let Some(why) = created_after_call(time(out.creation_time()), verdict) {
            return Err(GuardError::new(
                ErrorKind::AwsError,
                format!(
                    "inference experiment {name} is not the call's ({why}): the endpoint its \
                     promotion deployed on cannot be found to delete"
                ),
            ));
        }
        let Some(endpoint) = out.endpoint_metadata().and_then(|m| m.endpoint_name()) else {
            return Err(GuardError::new(
                ErrorKind::AwsError,
                format!("inference experiment {name} names no endpoint"),
            ));
        };
        let on = ResourceRef {
            resource_type: ResourceType::Endpoint,
            name: endpoint.to_owned(),
            arn: None,
        };
        let mut result = self.endpoint(&on, verdict).await?;
        result.resource = resource.clone();
        result.status = Some(match result.status {
            Some(status) => format!("endpoint {endpoint}: {status}"),
            None => format!("endpoint {endpoint}"),
        });
        Ok(result)
    }

    async fn experiment_status(
        &self,
        name: &str,
    ) -> Result<Option<InferenceExperimentStatus>, GuardError> {
        match self
            .sagemaker
            .describe_inference_experiment()
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(
                &format!("DescribeInferenceExperiment {name}"),
                &e,
            )),
        }
    }
}
