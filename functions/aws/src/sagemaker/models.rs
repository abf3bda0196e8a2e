//! Models and what they run: a model's containers as content, model packages, the images
//! SageMaker resolved for a deployment, and deleting a model (CreateModel's enforcement).

use aws_sdk_sagemaker::operation::describe_inference_component::DescribeInferenceComponentOutput;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, ContainerMode, DeployedImage,
    InferenceComponentContainerSpecificationSummary, InferenceComponentSpecificationSummary,
    ModelDataSource, S3ModelDataType,
};
use model_guard_core::content::{
    ContainerContent, DataLocation, EndpointDeployment, endpoint_images,
};
use model_guard_core::contract::{ResourceRef, ResourceType, Verdict};
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::{DeployedImages, PackageInfo, ResolveError, ResolvedImage};
use model_guard_core::{ErrorKind, GuardError};

use super::{
    SageMakerEnforcer, SageMakerResolver, created_after_call, is_not_found, resolve_error, time,
};
use crate::sdk_error;

fn s3_source(source: Option<&ModelDataSource>, multi_model: bool) -> Option<DataLocation> {
    let s3 = source?.s3_data_source()?;
    Some(DataLocation {
        uri: s3.s3_uri()?.to_owned(),
        prefix: multi_model || s3.s3_data_type() == Some(&S3ModelDataType::S3Prefix),
    })
}

/// A model's container, as DescribeModel gives it.
pub(super) fn container(c: &ContainerDefinition) -> ContainerContent {
    let multi_model = c.mode() == Some(&ContainerMode::MultiModel);
    let mut data: Vec<DataLocation> = match c.model_data_url() {
        Some(uri) => vec![DataLocation {
            uri: uri.to_owned(),
            prefix: multi_model,
        }],
        None => s3_source(c.model_data_source(), multi_model)
            .into_iter()
            .collect(),
    };
    data.extend(c.additional_model_data_sources().iter().filter_map(|a| {
        let s3 = a.s3_data_source()?;
        Some(DataLocation {
            uri: s3.s3_uri()?.to_owned(),
            prefix: s3.s3_data_type() == Some(&S3ModelDataType::S3Prefix),
        })
    }));
    ContainerContent {
        image: c.image().map(str::to_owned),
        data,
        package: c.model_package_name().map(str::to_owned),
    }
}

/// What an inference component deploys, as DescribeInferenceComponent gives it: its
/// `Specification`, or its `Specifications`, one per instance type (each deploys).
pub(super) fn component_specs(
    out: &DescribeInferenceComponentOutput,
) -> impl Iterator<Item = &InferenceComponentSpecificationSummary> {
    out.specification().into_iter().chain(out.specifications())
}

/// An inference component's bare container, as DescribeInferenceComponent gives it (the image
/// as specified is under its `DeployedImage`).
pub(super) fn component_container(
    c: &InferenceComponentContainerSpecificationSummary,
) -> ContainerContent {
    ContainerContent {
        image: c
            .deployed_image()
            .and_then(|d| d.specified_image())
            .map(str::to_owned),
        data: c
            .artifact_url()
            .map(|uri| DataLocation {
                uri: uri.to_owned(),
                prefix: false,
            })
            .into_iter()
            .collect(),
        package: None,
    }
}

fn resolved(images: &[DeployedImage]) -> impl Iterator<Item = ResolvedImage> + '_ {
    images.iter().filter_map(|i| {
        Some(ResolvedImage {
            specified: i.specified_image()?.to_owned(),
            resolved: i.resolved_image()?.to_owned(),
        })
    })
}

impl SageMakerResolver {
    pub(super) async fn package(&self, name: &str) -> Result<PackageInfo, ResolveError> {
        let out = self
            .client
            .describe_model_package()
            .model_package_name(name)
            .send()
            .await
            .map_err(|e| resolve_error(&format!("model package {name}"), &e))?;
        let containers = out
            .inference_specification()
            .map(|s| s.containers())
            .unwrap_or_default()
            .iter()
            .map(|c| ContainerContent {
                image: c.image().map(str::to_owned),
                data: match c.model_data_url() {
                    Some(uri) => vec![DataLocation {
                        uri: uri.to_owned(),
                        prefix: false,
                    }],
                    None => s3_source(c.model_data_source(), false)
                        .into_iter()
                        .collect(),
                },
                package: None,
            })
            .collect();
        Ok(PackageInfo {
            group: out.model_package_group_name().map(str::to_owned),
            approval: out.model_approval_status().map(|s| s.as_str().to_owned()),
            containers,
        })
    }

    pub(super) async fn images(
        &self,
        resource: &ResourceRef,
        config: Option<&str>,
    ) -> Result<DeployedImages, ResolveError> {
        let name = resource.name.as_str();
        match resource.resource_type {
            ResourceType::Endpoint => {
                let out = self
                    .client
                    .describe_endpoint()
                    .endpoint_name(name)
                    .send()
                    .await
                    .map_err(|e| resolve_error(&format!("endpoint {name}"), &e))?;
                let current = EndpointDeployment {
                    config: out.endpoint_config_name().map(str::to_owned),
                    images: out
                        .production_variants()
                        .iter()
                        .flat_map(|v| resolved(v.deployed_images()))
                        .chain(
                            out.shadow_production_variants()
                                .iter()
                                .flat_map(|v| resolved(v.deployed_images())),
                        )
                        .collect(),
                };
                let pending = out
                    .pending_deployment_summary()
                    .map(|p| EndpointDeployment {
                        config: p.endpoint_config_name().map(str::to_owned),
                        images: p
                            .production_variants()
                            .iter()
                            .flat_map(|v| resolved(v.deployed_images()))
                            .chain(
                                p.shadow_production_variants()
                                    .iter()
                                    .flat_map(|v| resolved(v.deployed_images())),
                            )
                            .collect(),
                    });
                Ok(endpoint_images(&current, pending.as_ref(), config))
            }
            ResourceType::InferenceComponent => {
                let out = self
                    .client
                    .describe_inference_component()
                    .inference_component_name(name)
                    .send()
                    .await
                    .map_err(|e| resolve_error(&format!("inference component {name}"), &e))?;
                let images = component_specs(&out)
                    .filter_map(|s| s.container()?.deployed_image())
                    .flat_map(|d| resolved(std::slice::from_ref(d)))
                    .collect();
                Ok(DeployedImages {
                    images,
                    source: "DescribeInferenceComponent's DeployedImage".to_owned(),
                })
            }
            _ => Ok(DeployedImages::default()),
        }
    }
}

impl SageMakerEnforcer {
    /// Deletes a model (a CreateModel violation whose binding opted into enforcement).
    pub(super) async fn model(
        &self,
        resource: &ResourceRef,
        verdict: &Verdict,
    ) -> Result<EnforcementResult, GuardError> {
        let name = resource.name.as_str();
        let described = match self
            .sagemaker
            .describe_model()
            .model_name(name)
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
            Err(e) => return Err(sdk_error(&format!("DescribeModel {name}"), &e)),
        };
        if let Some(why) = created_after_call(time(described.creation_time()), verdict) {
            tracing::warn!(model = name, reason = %why, "not the call's model");
            return Ok(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                Some(why),
            ));
        }
        match self.sagemaker.delete_model().model_name(name).send().await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            Err(e) => return Err(sdk_error(&format!("DeleteModel {name}"), &e)),
        }
        let mut result = Self::result(resource, EnforcementOutcome::Deleted, None);
        // Confirmed by a describe: a model is deleted at once.
        result.confirmed = match self
            .sagemaker
            .describe_model()
            .model_name(name)
            .send()
            .await
        {
            Err(e) if is_not_found(&e) => Some(CONFIRMED_GONE.to_owned()),
            Err(e) => return Err(sdk_error(&format!("DescribeModel {name}"), &e)),
            Ok(_) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!("model {name} is still there after DeleteModel"),
                ));
            }
        };
        Ok(result)
    }
}
