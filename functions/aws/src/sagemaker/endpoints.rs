//! Endpoints and inference components: deleting them (with what blocks an endpoint's deletion),
//! and what a deployed one says it uses.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_sagemaker::types::{EndpointStatus, InferenceComponentStatus};
use model_guard_core::contract::{ResourceRef, Verdict};
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::{ErrorKind, GuardError};

use model_guard_core::contract::Target;
use model_guard_core::resolve::ResolveError;

use super::{
    COMPONENTS_GONE_WAIT, SageMakerEnforcer, Uses, created_after_call, is_not_found, resolve_error,
    time,
};
use crate::error::service_code;
use crate::sdk_error;

impl SageMakerEnforcer {
    pub(super) async fn endpoint(
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
        if let Some(why) = created_after_call(time(described.creation_time()), verdict) {
            // Deleted and re-created under the same name during the grace: not ours to touch.
            tracing::warn!(endpoint = name, reason = %why, "not the call's endpoint");
            return Ok(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                Some(why),
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
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                result.outcome = EnforcementOutcome::AlreadyGone;
                return Ok(result);
            }
            Err(e) => return Err(sdk_error(&format!("DeleteEndpoint {name}"), &e)),
        }
        // The end state confirmed by a describe: Deleting, or gone. Anything else (the delete
        // accepted, then overtaken) is tried again.
        result.confirmed = Some(self.endpoint_after_delete(name).await?);
        Ok(result)
    }

    async fn endpoint_after_delete(&self, name: &str) -> Result<String, GuardError> {
        match self
            .sagemaker
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Err(e) if is_not_found(&e) => Ok(CONFIRMED_GONE.to_owned()),
            Err(e) => Err(sdk_error(&format!("DescribeEndpoint {name}"), &e)),
            Ok(out) if out.endpoint_status() == Some(&EndpointStatus::Deleting) => {
                Ok(EndpointStatus::Deleting.as_str().to_owned())
            }
            Ok(out) => Err(GuardError::new(
                ErrorKind::ResourceBusy,
                format!(
                    "endpoint {name}: DeleteEndpoint was accepted, but it is {}",
                    out.endpoint_status().map_or("of no status", |s| s.as_str())
                ),
            )),
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

    pub(super) async fn inference_component(
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
            Ok(out) if created_after_call(time(out.creation_time()), verdict).is_some() => {
                let why = created_after_call(time(out.creation_time()), verdict);
                tracing::warn!(inference_component = name, reason = ?why, "not the call's component");
                return Ok(Self::result(resource, EnforcementOutcome::AlreadyGone, why));
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
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                result.outcome = EnforcementOutcome::AlreadyGone;
                return Ok(result);
            }
            Err(e) => return Err(sdk_error(&format!("DeleteInferenceComponent {name}"), &e)),
        }
        // Confirmed by a describe, as an endpoint's deletion is.
        result.confirmed = Some(
            match self
                .sagemaker
                .describe_inference_component()
                .inference_component_name(name)
                .send()
                .await
            {
                Err(e) if is_not_found(&e) => CONFIRMED_GONE.to_owned(),
                Err(e) => {
                    return Err(sdk_error(&format!("DescribeInferenceComponent {name}"), &e));
                }
                Ok(out)
                    if out.inference_component_status()
                        == Some(&InferenceComponentStatus::Deleting) =>
                {
                    InferenceComponentStatus::Deleting.as_str().to_owned()
                }
                Ok(out) => {
                    return Err(GuardError::new(
                        ErrorKind::ResourceBusy,
                        format!(
                            "inference component {name}: the delete was accepted, but it is {}",
                            out.inference_component_status()
                                .map_or("of no status", |s| s.as_str())
                        ),
                    ));
                }
            },
        );
        Ok(result)
    }
}

/// What an endpoint serves: its config, and the one an update is deploying (while Updating,
/// `EndpointConfigName` still names the old config; the new one is in
/// `PendingDeploymentSummary`). Both, since either may be what the call deployed.
pub(super) async fn endpoint_uses(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let out = client
        .describe_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("endpoint {name}"), &e))?;
    let mut targets = Vec::new();
    let mut fields = Vec::new();
    if let Some(config) = out.endpoint_config_name() {
        targets.push(Target::EndpointConfig {
            name: config.to_owned(),
        });
        fields.push("EndpointConfigName");
    }
    if let Some(pending) = out
        .pending_deployment_summary()
        .and_then(|p| p.endpoint_config_name())
        .filter(|p| !p.is_empty())
    {
        let pending = Target::EndpointConfig {
            name: pending.to_owned(),
        };
        if !targets.contains(&pending) {
            targets.push(pending);
        }
        fields.push("PendingDeploymentSummary.EndpointConfigName");
    }
    Ok(Uses {
        targets,
        source: format!("DescribeEndpoint {name}'s {}", fields.join(" and ")),
        created: time(out.creation_time()),
    })
}

/// What an inference component serves: its model, or its base component's.
pub(super) async fn inference_component_uses(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let out = client
        .describe_inference_component()
        .inference_component_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("inference component {name}"), &e))?;
    let mut targets = Vec::new();
    let mut fields = Vec::new();
    // `Specification`, or one `Specifications` entry per instance type: each deploys.
    let spec_field = if out.specification().is_some() {
        "Specification"
    } else {
        "Specifications[]"
    };
    let mut field = |name: &str| {
        let field = format!("{spec_field}.{name}");
        if !fields.contains(&field) {
            fields.push(field);
        }
    };
    for spec in super::models::component_specs(&out) {
        if let Some(model) = spec.model_name() {
            targets.push(Target::Model {
                name: model.to_owned(),
            });
            field("ModelName");
        }
        if let Some(base) = spec.base_inference_component_name() {
            targets.push(Target::InferenceComponentModel {
                name: base.to_owned(),
            });
            field("BaseInferenceComponentName");
        }
        if let Some(container) = spec.container() {
            let content = super::models::component_container(container);
            if let Some(uri) = content.image {
                targets.push(Target::Image { uri });
                field("Container.DeployedImage.SpecifiedImage");
            }
            for data in content.data {
                targets.push(Target::Data {
                    uri: data.uri,
                    prefix: data.prefix,
                });
                field("Container.ArtifactUrl");
            }
        }
    }
    Ok(Uses {
        targets,
        source: format!(
            "DescribeInferenceComponent {name}'s {}",
            fields.join(" and ")
        ),
        created: time(out.creation_time()),
    })
}
