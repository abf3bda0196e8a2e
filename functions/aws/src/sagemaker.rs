//! SageMaker: the resolver (what a deployment uses) and the enforcer (stop or delete it).

use std::time::Duration;

use aws_sdk_applicationautoscaling::Client as AutoScaling;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::types::{EndpointStatus, InferenceComponentStatus};
use chrono::{DateTime, Utc};
use model_guard_core::contract::{ResourceRef, ResourceType, Verdict, Version1};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::ports::Enforcer;
use model_guard_core::resolve::{
    EndpointConfigInfo, InferenceComponentInfo, ModelInfo, ResolveError, Resolver,
};
use model_guard_core::{ErrorKind, GuardError};

use crate::error::{service_code, service_message};
use crate::sdk_error;

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// SageMaker answers "no such resource" with a ValidationException ("Could not find …") or, for
/// some describes, ResourceNotFound.
fn is_not_found<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    match service_code(error) {
        Some("ResourceNotFound") => true,
        Some("ValidationException") => {
            let message = service_message(error).to_ascii_lowercase();
            message.contains("could not find") || message.contains("not found")
        }
        _ => false,
    }
}

/// A describe failure, as the resolver reports it: what cannot be resolved (not found, denied,
/// invalid) makes an unresolved subject; what may pass fails the evaluation.
fn resolve_error<E>(
    what: &str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> ResolveError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    if is_not_found(error) {
        return ResolveError::Unresolvable(format!("{what} was not found"));
    }
    let guard = sdk_error(&format!("describing {what}"), error);
    match guard.kind {
        // Worth another try: the evaluation fails and is retried.
        ErrorKind::Throttled | ErrorKind::Unavailable => ResolveError::Failed(guard),
        // Anything else (denied, invalid, an expired token, a code we do not know) is an answer
        // that will not change: the subject is unresolved and the guard fails closed.
        _ => ResolveError::Unresolvable(guard.message),
    }
}

/// A resource created after the call cannot be what the call made: the name was reused since
/// (the one the call made is gone). CloudTrail's `eventTime` has whole seconds, hence the slack.
fn created_after_call(created: Option<DateTime<Utc>>, verdict: &Verdict) -> bool {
    let call = verdict
        .event_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match (created, call) {
        (Some(created), Some(call)) => {
            created > call.with_timezone(&Utc) + chrono::Duration::seconds(1)
        }
        _ => false,
    }
}

/// Resolves subjects through SageMaker's describe calls.
pub struct SageMakerResolver {
    client: SageMaker,
}

impl SageMakerResolver {
    pub fn new(client: SageMaker) -> SageMakerResolver {
        SageMakerResolver { client }
    }
}

impl Resolver for SageMakerResolver {
    async fn endpoint_config(&self, name: &str) -> Result<EndpointConfigInfo, ResolveError> {
        let out = self
            .client
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .map_err(|e| resolve_error(&format!("endpoint config {name}"), &e))?;
        Ok(EndpointConfigInfo {
            models: out
                .production_variants()
                .iter()
                .filter_map(|v| v.model_name())
                .chain(
                    out.shadow_production_variants()
                        .iter()
                        .filter_map(|v| v.model_name()),
                )
                .map(str::to_owned)
                .collect(),
            execution_role_arn: out.execution_role_arn().map(str::to_owned),
            created: time(out.creation_time()),
        })
    }

    async fn model(&self, name: &str) -> Result<ModelInfo, ResolveError> {
        let out = self
            .client
            .describe_model()
            .model_name(name)
            .send()
            .await
            .map_err(|e| resolve_error(&format!("model {name}"), &e))?;
        Ok(ModelInfo {
            execution_role_arn: out.execution_role_arn().map(str::to_owned),
            created: time(out.creation_time()),
        })
    }

    async fn inference_component(
        &self,
        name: &str,
    ) -> Result<InferenceComponentInfo, ResolveError> {
        let out = self
            .client
            .describe_inference_component()
            .inference_component_name(name)
            .send()
            .await
            .map_err(|e| resolve_error(&format!("inference component {name}"), &e))?;
        Ok(InferenceComponentInfo {
            model_name: out
                .specification()
                .and_then(|s| s.model_name())
                .map(str::to_owned),
        })
    }
}

/// How long Enforce waits, within one invocation, for an endpoint's inference components to go
/// before it reports the endpoint busy (the state machine then retries).
const COMPONENTS_GONE_WAIT: Duration = Duration::from_secs(30);

/// Stops or deletes through SageMaker, clearing what blocks an endpoint's deletion first.
pub struct SageMakerEnforcer {
    sagemaker: SageMaker,
    autoscaling: AutoScaling,
    poll_interval: Duration,
}

impl SageMakerEnforcer {
    pub fn new(sagemaker: SageMaker, autoscaling: AutoScaling) -> SageMakerEnforcer {
        SageMakerEnforcer {
            sagemaker,
            autoscaling,
            poll_interval: Duration::from_secs(2),
        }
    }

    fn result(
        resource: &ResourceRef,
        outcome: EnforcementOutcome,
        status: Option<String>,
    ) -> EnforcementResult {
        EnforcementResult {
            version: Version1,
            outcome,
            resource: resource.clone(),
            deregistered_scalable_targets: Vec::new(),
            deleted_inference_components: Vec::new(),
            status,
        }
    }

    async fn endpoint(
        &self,
        resource: &ResourceRef,
        verdict: &Verdict,
    ) -> Result<EnforcementResult, GuardError> {
        let name = resource.name.as_str();
        let described = match self
            .sagemaker
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            Err(e) => return Err(sdk_error(&format!("DescribeEndpoint {name}"), &e)),
        };
        let status = described.endpoint_status().cloned();
        let status_text = status.as_ref().map(|s| s.as_str().to_owned());
        if created_after_call(time(described.creation_time()), verdict) {
            // Deleted and re-created under the same name during the grace: not ours to touch.
            return Ok(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                Some("re-created after the call".to_owned()),
            ));
        }
        if status == Some(EndpointStatus::Deleting) {
            // A deletion is already under way (ours on an earlier attempt, or someone's).
            return Ok(Self::result(
                resource,
                EnforcementOutcome::Deleted,
                status_text,
            ));
        }
        if let Some(
            EndpointStatus::Creating
            | EndpointStatus::Updating
            | EndpointStatus::SystemUpdating
            | EndpointStatus::RollingBack,
        ) = status
        {
            return Err(GuardError::new(
                ErrorKind::ResourceBusy,
                format!(
                    "endpoint {name} is {}; it can be deleted once that ends",
                    status_text.as_deref().unwrap_or("busy")
                ),
            ));
        }

        let mut result = Self::result(resource, EnforcementOutcome::Deleted, status_text);
        // Autoscaling on a variant re-creates capacity and blocks nothing, but a registered
        // target outliving its endpoint is litter (and keeps alarms firing): deregister first.
        let variant_targets: Vec<String> = described
            .production_variants()
            .iter()
            .filter_map(|v| v.variant_name())
            .map(|v| format!("endpoint/{name}/variant/{v}"))
            .collect();
        result.deregistered_scalable_targets = self
            .deregister(
                variant_targets,
                ScalableDimension::SageMakerVariantDesiredInstanceCount,
            )
            .await?;

        // Inference components block DeleteEndpoint: delete them, and wait for them to go.
        let components = self.inference_components(name).await?;
        for (component, status) in &components {
            if matches!(
                status,
                Some(InferenceComponentStatus::Creating | InferenceComponentStatus::Updating)
            ) {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!("inference component {component} on endpoint {name} is busy"),
                ));
            }
        }
        // Components already Deleting (an earlier attempt's) are only waited for.
        let waiting = !components.is_empty();
        let names: Vec<String> = components
            .into_iter()
            .filter(|(_, status)| *status != Some(InferenceComponentStatus::Deleting))
            .map(|(c, _)| c)
            .collect();
        let component_targets = names
            .iter()
            .map(|c| format!("inference-component/{c}"))
            .collect();
        result.deregistered_scalable_targets.extend(
            self.deregister(
                component_targets,
                ScalableDimension::SageMakerInferenceComponentDesiredCopyCount,
            )
            .await?,
        );
        for component in &names {
            match self
                .sagemaker
                .delete_inference_component()
                .inference_component_name(component)
                .send()
                .await
            {
                Ok(_) => result.deleted_inference_components.push(component.clone()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    return Err(sdk_error(
                        &format!("DeleteInferenceComponent {component}"),
                        &e,
                    ));
                }
            }
        }
        if waiting {
            let waited = std::time::Instant::now();
            loop {
                let left = self.inference_components(name).await?;
                if left.is_empty() {
                    break;
                }
                if waited.elapsed() >= COMPONENTS_GONE_WAIT {
                    return Err(GuardError::new(
                        ErrorKind::ResourceBusy,
                        format!(
                            "endpoint {name}: inference components still being deleted: {}",
                            left.into_iter()
                                .map(|(c, _)| c)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                tokio::time::sleep(self.poll_interval).await;
            }
        }

        match self
            .sagemaker
            .delete_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(result),
            Err(e) if is_not_found(&e) => {
                result.outcome = EnforcementOutcome::AlreadyGone;
                Ok(result)
            }
            Err(e) => Err(sdk_error(&format!("DeleteEndpoint {name}"), &e)),
        }
    }

    async fn inference_components(
        &self,
        endpoint: &str,
    ) -> Result<Vec<(String, Option<InferenceComponentStatus>)>, GuardError> {
        let mut found = Vec::new();
        let mut pages = self
            .sagemaker
            .list_inference_components()
            .endpoint_name_equals(endpoint)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| sdk_error(&format!("ListInferenceComponents {endpoint}"), &e))?;
            for component in page.inference_components() {
                if let Some(name) = component.inference_component_name() {
                    found.push((
                        name.to_owned(),
                        component.inference_component_status().cloned(),
                    ));
                }
            }
        }
        Ok(found)
    }

    async fn deregister(
        &self,
        resource_ids: Vec<String>,
        dimension: ScalableDimension,
    ) -> Result<Vec<String>, GuardError> {
        if resource_ids.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .set_resource_ids(Some(resource_ids))
            .scalable_dimension(dimension.clone())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeScalableTargets", &e))?;
        let mut done = Vec::new();
        for target in out.scalable_targets() {
            let id = target.resource_id();
            match self
                .autoscaling
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(id)
                .scalable_dimension(dimension.clone())
                .send()
                .await
            {
                Ok(_) => done.push(id.to_owned()),
                Err(e) if service_code(&e) == Some("ObjectNotFoundException") => {}
                Err(e) => return Err(sdk_error(&format!("DeregisterScalableTarget {id}"), &e)),
            }
        }
        Ok(done)
    }

    async fn inference_component(
        &self,
        resource: &ResourceRef,
        verdict: &Verdict,
    ) -> Result<EnforcementResult, GuardError> {
        let name = resource.name.as_str();
        let status = match self
            .sagemaker
            .describe_inference_component()
            .inference_component_name(name)
            .send()
            .await
        {
            Ok(out) if created_after_call(time(out.creation_time()), verdict) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    Some("re-created after the call".to_owned()),
                ));
            }
            Ok(out) => out.inference_component_status().cloned(),
            Err(e) if is_not_found(&e) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            Err(e) => return Err(sdk_error(&format!("DescribeInferenceComponent {name}"), &e)),
        };
        if status == Some(InferenceComponentStatus::Deleting) {
            return Ok(Self::result(
                resource,
                EnforcementOutcome::Deleted,
                Some("Deleting".to_owned()),
            ));
        }
        if matches!(
            status,
            Some(InferenceComponentStatus::Creating | InferenceComponentStatus::Updating)
        ) {
            return Err(GuardError::new(
                ErrorKind::ResourceBusy,
                format!(
                    "inference component {name} is {}",
                    status.as_ref().map(|s| s.as_str()).unwrap_or("busy")
                ),
            ));
        }
        let mut result = Self::result(
            resource,
            EnforcementOutcome::Deleted,
            status.map(|s| s.as_str().to_owned()),
        );
        result.deregistered_scalable_targets = self
            .deregister(
                vec![format!("inference-component/{name}")],
                ScalableDimension::SageMakerInferenceComponentDesiredCopyCount,
            )
            .await?;
        match self
            .sagemaker
            .delete_inference_component()
            .inference_component_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(result),
            Err(e) if is_not_found(&e) => {
                result.outcome = EnforcementOutcome::AlreadyGone;
                Ok(result)
            }
            Err(e) => Err(sdk_error(&format!("DeleteInferenceComponent {name}"), &e)),
        }
    }

    /// Stops a job; a stop refused because the job is not running is confirmed with a describe.
    async fn job(&self, resource: &ResourceRef) -> Result<EnforcementResult, GuardError> {
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
            ResourceType::Endpoint | ResourceType::InferenceComponent => {
                return Err(GuardError::new(
                    ErrorKind::InvalidInput,
                    format!("{kind} is not a job"),
                ));
            }
        };
        match stop {
            Ok(()) => Ok(Self::result(
                resource,
                EnforcementOutcome::Stopped,
                Some("Stopping".to_owned()),
            )),
            Err((true, refused)) => match self.job_status(kind, name).await? {
                None => Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                )),
                Some(status)
                    if matches!(
                        status.as_str(),
                        "Completed" | "Failed" | "Stopped" | "Stopping"
                    ) =>
                {
                    Ok(Self::result(
                        resource,
                        EnforcementOutcome::AlreadyStopped,
                        Some(status),
                    ))
                }
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
            ResourceType::Endpoint | ResourceType::InferenceComponent => Ok(None),
        }
    }
}

/// A stop SageMaker refused because of the job's state or existence (ValidationException,
/// ResourceNotFound), to be confirmed with a describe.
fn is_refusal<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    matches!(
        service_code(error),
        Some("ValidationException" | "ResourceNotFound")
    )
}

impl Enforcer for SageMakerEnforcer {
    async fn enforce(&self, verdict: &Verdict) -> Result<EnforcementResult, GuardError> {
        let Some(resource) = &verdict.resource else {
            return Err(GuardError::new(
                ErrorKind::InvalidInput,
                "the verdict names no resource to enforce on",
            ));
        };
        match resource.resource_type {
            ResourceType::Endpoint => self.endpoint(resource, verdict).await,
            ResourceType::InferenceComponent => self.inference_component(resource, verdict).await,
            _ => self.job(resource).await,
        }
    }
}
