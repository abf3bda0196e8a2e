//! Rolling a violating UpdateInferenceComponent back: the component is given again the
//! specification its last allowed deployment deployed, once its model is shown to be the very one
//! that was allowed and its environment the allowed one (docs/design.md, "Rolling back a
//! violating update"). SageMaker describes no earlier specification once it is replaced, so what
//! is restored comes from the allowed deployment's verdict (`ComponentSpec`).

use std::time::Duration;

use aws_sdk_sagemaker::operation::describe_inference_component::DescribeInferenceComponentOutput;
use aws_sdk_sagemaker::types::{
    InferenceComponentComputeResourceRequirements, InferenceComponentContainerSpecification,
    InferenceComponentSpecification, InferenceComponentSpecificationSummary,
    InferenceComponentStartupParameters, InferenceComponentStatus,
};
use model_guard_core::audit::RollbackRecord;
use model_guard_core::contract::{ComponentSpec, ResourceRef, ResourceType, RollbackTo, Verdict};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::ports::RollbackState;
use model_guard_core::resolve::ResolveError;
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, created_after_call, is_not_found, resolve_error, time};
use crate::sdk_error;

/// How long one attempt waits for the update to finish before the machine's busy retry takes
/// over.
const UPDATE_WAIT: Duration = Duration::from_secs(30);

/// What DescribeInferenceComponent says now, as a `ComponentSpec` (its model's creation time not
/// looked up): `None` for a component with one specification per instance type, which is not
/// kept.
pub(super) fn described_spec(out: &DescribeInferenceComponentOutput) -> Option<ComponentSpec> {
    if !out.specifications().is_empty() {
        return None;
    }
    Some(spec_of(out.specification()?))
}

fn spec_of(spec: &InferenceComponentSpecificationSummary) -> ComponentSpec {
    let container = spec.container();
    let startup = spec.startup_parameters();
    let compute = spec.compute_resource_requirements();
    let number = |n: Option<f32>| n.and_then(|n| serde_json::Number::from_f64(f64::from(n)));
    ComponentSpec {
        model: spec.model_name().map(str::to_owned),
        base_component: spec.base_inference_component_name().map(str::to_owned),
        image: container
            .and_then(|c| c.deployed_image())
            .and_then(|d| d.specified_image())
            .map(str::to_owned),
        artifact_url: container.and_then(|c| c.artifact_url()).map(str::to_owned),
        environment_sha256: container.map(|c| {
            ComponentSpec::environment_hash(
                c.environment()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
        }),
        model_data_download_timeout_seconds: startup
            .and_then(|s| s.model_data_download_timeout_in_seconds()),
        container_startup_health_check_timeout_seconds: startup
            .and_then(|s| s.container_startup_health_check_timeout_in_seconds()),
        cpu_cores: number(compute.and_then(|c| c.number_of_cpu_cores_required())),
        accelerator_devices: number(
            compute.and_then(|c| c.number_of_accelerator_devices_required()),
        ),
        min_memory_mb: compute.and_then(|c| c.min_memory_required_in_mb()),
        max_memory_mb: compute.and_then(|c| c.max_memory_required_in_mb()),
        accelerator_partition_type: compute
            .and_then(|c| c.accelerator_partition_type())
            .map(str::to_owned),
        model_created: None,
    }
}

/// The specification that re-applies `spec`, with the component's current environment (checked
/// to be the allowed one before).
fn specification(
    spec: &ComponentSpec,
    environment: Option<&std::collections::HashMap<String, String>>,
) -> InferenceComponentSpecification {
    let number =
        |n: &Option<serde_json::Number>| n.as_ref().and_then(|n| n.as_f64()).map(|n| n as f32);
    let container = (spec.image.is_some() || spec.artifact_url.is_some()).then(|| {
        InferenceComponentContainerSpecification::builder()
            .set_image(spec.image.clone())
            .set_artifact_url(spec.artifact_url.clone())
            .set_environment(environment.cloned())
            .build()
    });
    let startup = (spec.model_data_download_timeout_seconds.is_some()
        || spec
            .container_startup_health_check_timeout_seconds
            .is_some())
    .then(|| {
        InferenceComponentStartupParameters::builder()
            .set_model_data_download_timeout_in_seconds(spec.model_data_download_timeout_seconds)
            .set_container_startup_health_check_timeout_in_seconds(
                spec.container_startup_health_check_timeout_seconds,
            )
            .build()
    });
    let compute = (spec.min_memory_mb.is_some()
        || spec.cpu_cores.is_some()
        || spec.accelerator_devices.is_some())
    .then(|| {
        InferenceComponentComputeResourceRequirements::builder()
            .set_number_of_cpu_cores_required(number(&spec.cpu_cores))
            .set_number_of_accelerator_devices_required(number(&spec.accelerator_devices))
            .set_min_memory_required_in_mb(spec.min_memory_mb)
            .set_max_memory_required_in_mb(spec.max_memory_mb)
            .set_accelerator_partition_type(spec.accelerator_partition_type.clone())
            .build()
    });
    InferenceComponentSpecification::builder()
        .set_model_name(spec.model.clone())
        .set_base_inference_component_name(spec.base_component.clone())
        .set_container(container)
        .set_startup_parameters(startup)
        .set_compute_resource_requirements(compute)
        .build()
}

impl super::SageMakerResolver {
    /// [`model_guard_core::Resolver::component_spec`]: the component's one specification now,
    /// with its model's creation time.
    pub(super) async fn described_component_spec(
        &self,
        name: &str,
    ) -> Result<Option<ComponentSpec>, ResolveError> {
        let out = match self
            .client
            .describe_inference_component()
            .inference_component_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(resolve_error(&format!("inference component {name}"), &e)),
        };
        let Some(mut spec) = described_spec(&out) else {
            return Ok(None);
        };
        if let Some(model) = spec.model.clone() {
            match self.client.describe_model().model_name(&model).send().await {
                Ok(described) => spec.model_created = time(described.creation_time()),
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(resolve_error(&format!("model {model}"), &e)),
            }
        }
        Ok(Some(spec))
    }
}

/// What DescribeInferenceComponent says that a rollback needs.
struct Seen {
    status: Option<InferenceComponentStatus>,
    spec: Option<ComponentSpec>,
    environment: Option<std::collections::HashMap<String, String>>,
    created: Option<chrono::DateTime<chrono::Utc>>,
    modified: Option<chrono::DateTime<chrono::Utc>>,
}

impl Seen {
    fn status_text(&self) -> Option<String> {
        self.status.as_ref().map(|s| s.as_str().to_owned())
    }

    /// Whether it deploys the judged content `spec` deploys.
    fn deploys(&self, spec: &ComponentSpec) -> bool {
        self.spec
            .as_ref()
            .is_some_and(|now| now.content() == spec.content())
    }

    fn busy(&self, name: &str) -> GuardError {
        GuardError::new(
            ErrorKind::ResourceBusy,
            format!(
                "inference component {name} is {}; it can be rolled back once that ends",
                self.status_text().as_deref().unwrap_or("busy")
            ),
        )
    }
}

impl SageMakerEnforcer {
    async fn seen_component(&self, name: &str) -> Result<Option<Seen>, GuardError> {
        match self
            .sagemaker
            .describe_inference_component()
            .inference_component_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Seen {
                status: out.inference_component_status().cloned(),
                spec: described_spec(&out),
                environment: out
                    .specification()
                    .and_then(|s| s.container())
                    .and_then(|c| c.environment())
                    .cloned(),
                created: time(out.creation_time()),
                modified: time(out.last_modified_time()),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeInferenceComponent {name}"), &e)),
        }
    }

    fn component_rolled_back(
        resource: &ResourceRef,
        to: &RollbackTo,
        seen: &Seen,
    ) -> EnforcementResult {
        let mut result = Self::result(resource, EnforcementOutcome::RolledBack, seen.status_text());
        result.confirmed = seen.status_text();
        result.restored = Some(to.clone());
        result
    }

    pub(super) async fn component_rollback_state(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
        spec: &ComponentSpec,
        attempt: Option<&RollbackRecord>,
    ) -> Result<RollbackState, GuardError> {
        let resource = rolled_back_component(verdict)?;
        let name = resource.name.as_str();
        let Some(seen) = self.seen_component(name).await? else {
            return Ok(RollbackState::Done(Box::new(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                None,
            ))));
        };
        if let Some(why) = created_after_call(seen.created, verdict) {
            tracing::warn!(inference_component = name, reason = %why, "not the call's component");
            return Ok(RollbackState::Done(Box::new(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                Some(why),
            ))));
        }
        match seen.status {
            Some(InferenceComponentStatus::Deleting) => {
                return Ok(RollbackState::Done(Box::new(Self::result(
                    resource,
                    EnforcementOutcome::Deleted,
                    seen.status_text(),
                ))));
            }
            Some(InferenceComponentStatus::InService) => {}
            // An update under way (the violating one, or ours): the machine tries again, never
            // giving up while it lasts.
            Some(InferenceComponentStatus::Creating | InferenceComponentStatus::Updating) => {
                return Err(seen.busy(name));
            }
            // Failed, or a status this build does not know: only deleting it is sure to end
            // what it serves.
            _ => {
                return Ok(RollbackState::Refused(format!(
                    "inference component {name} is {}, which an update cannot take",
                    seen.status_text().as_deref().unwrap_or("of no status")
                )));
            }
        }
        if let Err(why) = self.still_the_allowed_model(spec, to).await? {
            return Ok(RollbackState::Refused(why));
        }
        // The environment is re-applied from the component as it is: only the allowed one is,
        // and one that is not cannot be restored.
        if let Err(why) = allowed_environment(&seen, spec) {
            return Ok(RollbackState::Refused(why));
        }
        if seen.deploys(spec) {
            // Our update done, or SageMaker undid the violating update by itself.
            return Ok(RollbackState::Done(Box::new(Self::component_rolled_back(
                resource, to, &seen,
            ))));
        }
        if let Some(attempt) = attempt
            && seen.modified.is_some_and(|m| m > attempt.at)
        {
            return Ok(RollbackState::Refused(format!(
                "the rollback to {} begun at {} did not take: inference component {name} deploys \
                 {}",
                spec.content(),
                attempt.at.to_rfc3339(),
                seen.spec.as_ref().map_or_else(
                    || "what it cannot be rolled back from".to_owned(),
                    ComponentSpec::content
                )
            )));
        }
        Ok(RollbackState::Ready)
    }

    /// Whether the model `spec` deploys is still the allowed one: it exists and was made when
    /// it was at the allowed deployment (a model deleted and made again under its name has
    /// content nobody judged). `Ok(Err(why))` when not.
    async fn still_the_allowed_model(
        &self,
        spec: &ComponentSpec,
        to: &RollbackTo,
    ) -> Result<Result<(), String>, GuardError> {
        let Some(model) = &spec.model else {
            return Ok(Ok(()));
        };
        let made = match self
            .sagemaker
            .describe_model()
            .model_name(model)
            .send()
            .await
        {
            Ok(out) => time(out.creation_time()),
            Err(e) if is_not_found(&e) => return Ok(Err(format!("model {model} is gone"))),
            Err(e) => return Err(sdk_error(&format!("DescribeModel {model}"), &e)),
        };
        if let Some(why) = super::rollback::made_after(made, to.deployed_at) {
            return Ok(Err(format!("model {model} {why}")));
        }
        match (spec.model_created, made) {
            (Some(kept), Some(made)) if kept.timestamp_millis() == made.timestamp_millis() => {
                Ok(Ok(()))
            }
            (Some(kept), Some(made)) => Ok(Err(format!(
                "model {model} was made at {}, not at {} as the allowed one was",
                made.to_rfc3339(),
                kept.to_rfc3339()
            ))),
            _ => Ok(Err(format!(
                "model {model} cannot be shown to be the allowed one: a creation time is not known"
            ))),
        }
    }

    pub(super) async fn component_roll_back(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
        spec: &ComponentSpec,
    ) -> Result<EnforcementResult, GuardError> {
        let resource = rolled_back_component(verdict)?;
        let name = resource.name.as_str();
        let Some(seen) = self.seen_component(name).await? else {
            return Ok(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                None,
            ));
        };
        if let Err(e) = self
            .sagemaker
            .update_inference_component()
            .inference_component_name(name)
            .specification(specification(spec, seen.environment.as_ref()))
            .send()
            .await
        {
            let error = sdk_error(&format!("UpdateInferenceComponent {name}"), &e);
            if error.kind.is_transient() {
                return Err(error);
            }
            let Some(seen) = self.seen_component(name).await? else {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            };
            // Another update under way: busy, tried again.
            if seen.status != Some(InferenceComponentStatus::InService) {
                return Err(seen.busy(name));
            }
            // Refused for good: the violation is ended the old way, never left serving while
            // the rollback is retried forever.
            tracing::warn!(inference_component = name, error = %error, "rollback refused: deleting");
            let mut result = self.inference_component(resource, verdict).await?;
            result.not_rolled_back = Some(format!("SageMaker refused the rollback: {error}"));
            return Ok(result);
        }
        let waited = std::time::Instant::now();
        loop {
            let Some(seen) = self.seen_component(name).await? else {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            };
            if seen.status == Some(InferenceComponentStatus::InService) && seen.deploys(spec) {
                // Checked again now that SageMaker has read it: a model deleted and made again
                // between the first check and the update would be served, unjudged.
                let again = match self.still_the_allowed_model(spec, to).await? {
                    Ok(()) => allowed_environment(&seen, spec),
                    Err(why) => Err(why),
                };
                if let Err(why) = again {
                    let mut result = self.inference_component(resource, verdict).await?;
                    result.not_rolled_back = Some(format!("after the rollback: {why}"));
                    return Ok(result);
                }
                return Ok(Self::component_rolled_back(resource, to, &seen));
            }
            if seen.status != Some(InferenceComponentStatus::Updating)
                || waited.elapsed() >= UPDATE_WAIT
            {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "inference component {name}: rolling back to {}; it is {}",
                        spec.content(),
                        seen.status_text().as_deref().unwrap_or("of no status")
                    ),
                ));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

/// Whether the component's container environment is the allowed one (the verdict keeps only its
/// hash, so only an unchanged environment can be re-applied).
fn allowed_environment(seen: &Seen, spec: &ComponentSpec) -> Result<(), String> {
    let now = seen
        .spec
        .as_ref()
        .and_then(|s| s.environment_sha256.as_ref());
    match (&spec.environment_sha256, now) {
        (None, _) => Ok(()),
        (Some(kept), Some(now)) if kept == now => Ok(()),
        _ => Err(
            "the container's environment is not the allowed one, and Model Guard keeps only its \
             hash (it may hold secrets), so it cannot be restored"
                .to_owned(),
        ),
    }
}

/// The inference component a rollback is of.
fn rolled_back_component(verdict: &Verdict) -> Result<&ResourceRef, GuardError> {
    verdict
        .resource
        .as_ref()
        .filter(|r| r.resource_type == ResourceType::InferenceComponent)
        .ok_or_else(|| {
            GuardError::new(
                ErrorKind::InvalidInput,
                "only an inference component's violation is rolled back to a specification",
            )
        })
}
