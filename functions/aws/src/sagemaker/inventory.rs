//! What exists now, for the scan: one List call per resource type (every page), keeping what
//! runs — an endpoint not being deleted, a job in progress, a notebook instance in service — and
//! naming each as the covered calls name it (an app `DOMAIN/user-profile/PROFILE/TYPE/NAME`, a
//! pipeline execution `PIPELINE/ID`, a cluster by its ARN).

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_sdk_sagemaker::Client;
use model_guard_core::contract::{ResourceRef, ResourceType};
use model_guard_core::ports::Reach;
use model_guard_core::scan::{Inventory, Listed};
use model_guard_core::studio::{AppId, Owner};
use model_guard_core::{ErrorKind, GuardError};

use super::SageMakerResolver;
use crate::members::{PerPlace, Places};
use crate::sdk_error;

/// What exists in each place the scan looks in (through the member role there): a resolver
/// that remembers what it described, for one scan.
pub struct Inventories {
    clients: PerPlace<Client>,
    attempts: u32,
}

impl Inventories {
    /// `attempts`: how many times a SageMaker call is tried ([`SCAN_ATTEMPTS`] in the stack).
    pub fn new(places: Arc<Places>, attempts: u32) -> Inventories {
        Inventories {
            clients: PerPlace::new(places),
            attempts,
        }
    }
}

/// How many times the scan tries a SageMaker call: List and Describe calls are rate-limited per
/// account and region, and the SDK's adaptive retry paces a scan that is throttled.
pub const SCAN_ATTEMPTS: u32 = 10;

/// A client for the scan, with the SDK's adaptive retry.
pub fn scanning_client(config: &aws_config::SdkConfig, attempts: u32) -> Client {
    Client::from_conf(
        aws_sdk_sagemaker::config::Builder::from(config)
            .retry_config(RetryConfig::adaptive().with_max_attempts(attempts))
            .build(),
    )
}

impl Reach for Inventories {
    type Port = SageMakerResolver;

    async fn at(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<SageMakerResolver, GuardError> {
        let client = self
            .clients
            .get(account, region, |c| scanning_client(c, self.attempts))
            .await?;
        Ok(SageMakerResolver::remembering(client))
    }
}

/// One SageMaker client wherever the scan is asked to look (tests that bring their own).
pub struct OneInventory(pub Client);

impl Reach for OneInventory {
    type Port = SageMakerResolver;

    async fn at(&self, _: Option<&str>, _: Option<&str>) -> Result<SageMakerResolver, GuardError> {
        Ok(SageMakerResolver::remembering(self.0.clone()))
    }
}

/// The statuses a resource type runs in; anything else (deleting, failed, stopped, completed)
/// runs nothing the scan could judge.
fn runs(resource_type: ResourceType, status: &str) -> bool {
    match resource_type {
        ResourceType::Endpoint => !matches!(status, "Deleting" | "Failed"),
        ResourceType::InferenceComponent => !matches!(status, "Deleting" | "Failed"),
        ResourceType::InferenceExperiment => {
            matches!(
                status,
                "Creating" | "Created" | "Starting" | "Running" | "Updating"
            )
        }
        ResourceType::CompilationJob => matches!(status, "INPROGRESS" | "STARTING"),
        ResourceType::NotebookInstance => matches!(status, "Pending" | "InService" | "Updating"),
        ResourceType::App => matches!(status, "Pending" | "InService"),
        ResourceType::Pipeline => true,
        ResourceType::PipelineExecution => status == "Executing",
        ResourceType::Cluster => !matches!(status, "Deleting" | "Failed"),
        ResourceType::MonitoringSchedule => matches!(status, "Pending" | "Scheduled"),
        ResourceType::MlflowTrackingServer => !matches!(
            status,
            "Stopped" | "Stopping" | "Deleting" | "CreateFailed" | "DeleteFailed" | "StopFailed"
        ),
        _ => status == "InProgress",
    }
}

fn listed(
    resource_type: ResourceType,
    name: Option<&str>,
    arn: Option<&str>,
    status: Option<&str>,
) -> Option<Listed> {
    let status = status.unwrap_or_default();
    if !runs(resource_type, status) {
        return None;
    }
    let name = name.filter(|n| !n.is_empty())?;
    Some(Listed {
        resource: ResourceRef {
            resource_type,
            name: name.to_owned(),
            arn: arn.map(str::to_owned),
        },
        status: Some(status.to_owned()).filter(|s| !s.is_empty()),
    })
}

/// Every item of a paginated List call, or the first error, named.
macro_rules! every {
    ($call:expr, $what:expr) => {{
        let pages: Vec<_> = $call.into_paginator().items().send().collect().await;
        let mut items = Vec::with_capacity(pages.len());
        for item in pages {
            items.push(item.map_err(|e| sdk_error($what, &e))?);
        }
        items
    }};
}

impl Inventory for SageMakerResolver {
    async fn list(&self, resource_type: ResourceType) -> Result<Vec<Listed>, GuardError> {
        list(&self.client, resource_type).await
    }
}

async fn list(client: &Client, resource_type: ResourceType) -> Result<Vec<Listed>, GuardError> {
    let t = resource_type;
    let found: Vec<Option<Listed>> = match t {
        ResourceType::Endpoint => every!(client.list_endpoints(), "ListEndpoints")
            .iter()
            .map(|e| {
                let status = e.endpoint_status().map(|s| s.as_str());
                listed(t, e.endpoint_name(), e.endpoint_arn(), status)
            })
            .collect(),
        ResourceType::InferenceComponent => every!(
            client.list_inference_components(),
            "ListInferenceComponents"
        )
        .iter()
        .map(|c| {
            let status = c.inference_component_status().map(|s| s.as_str());
            let arn = c.inference_component_arn();
            listed(t, c.inference_component_name(), arn, status)
        })
        .collect(),
        ResourceType::InferenceExperiment => every!(
            client.list_inference_experiments(),
            "ListInferenceExperiments"
        )
        .iter()
        .map(|x| listed(t, x.name(), None, x.status().map(|s| s.as_str())))
        .collect(),
        ResourceType::TrainingJob => every!(client.list_training_jobs(), "ListTrainingJobs")
            .iter()
            .map(|j| {
                let status = j.training_job_status().map(|s| s.as_str());
                listed(t, j.training_job_name(), j.training_job_arn(), status)
            })
            .collect(),
        ResourceType::ProcessingJob => every!(client.list_processing_jobs(), "ListProcessingJobs")
            .iter()
            .map(|j| {
                let status = j.processing_job_status().map(|s| s.as_str());
                listed(t, j.processing_job_name(), j.processing_job_arn(), status)
            })
            .collect(),
        ResourceType::TransformJob => every!(client.list_transform_jobs(), "ListTransformJobs")
            .iter()
            .map(|j| {
                let status = j.transform_job_status().map(|s| s.as_str());
                listed(t, j.transform_job_name(), j.transform_job_arn(), status)
            })
            .collect(),
        ResourceType::HyperParameterTuningJob => every!(
            client.list_hyper_parameter_tuning_jobs(),
            "ListHyperParameterTuningJobs"
        )
        .iter()
        .map(|j| {
            let status = j.hyper_parameter_tuning_job_status().map(|s| s.as_str());
            let arn = j.hyper_parameter_tuning_job_arn();
            listed(t, j.hyper_parameter_tuning_job_name(), arn, status)
        })
        .collect(),
        ResourceType::AutoMlJob => every!(client.list_auto_ml_jobs(), "ListAutoMLJobs")
            .iter()
            .map(|j| {
                let status = j.auto_ml_job_status().map(|s| s.as_str());
                listed(t, j.auto_ml_job_name(), j.auto_ml_job_arn(), status)
            })
            .collect(),
        ResourceType::CompilationJob => {
            every!(client.list_compilation_jobs(), "ListCompilationJobs")
                .iter()
                .map(|j| {
                    let status = j.compilation_job_status().map(|s| s.as_str());
                    listed(t, j.compilation_job_name(), j.compilation_job_arn(), status)
                })
                .collect()
        }
        ResourceType::NotebookInstance => {
            every!(client.list_notebook_instances(), "ListNotebookInstances")
                .iter()
                .map(|n| {
                    let status = n.notebook_instance_status().map(|s| s.as_str());
                    let arn = n.notebook_instance_arn();
                    listed(t, n.notebook_instance_name(), arn, status)
                })
                .collect()
        }
        ResourceType::App => every!(client.list_apps(), "ListApps")
            .iter()
            .map(|a| {
                let owner = match (a.user_profile_name(), a.space_name()) {
                    (Some(p), _) if !p.is_empty() => Owner::UserProfile(p.to_owned()),
                    (_, Some(s)) if !s.is_empty() => Owner::Space(s.to_owned()),
                    _ => return None,
                };
                let id = AppId {
                    domain: a.domain_id()?.to_owned(),
                    owner,
                    app_type: a.app_type()?.as_str().to_owned(),
                    app_name: a.app_name()?.to_owned(),
                };
                listed(t, Some(&id.name()), None, a.status().map(|s| s.as_str()))
            })
            .collect(),
        ResourceType::Pipeline => every!(client.list_pipelines(), "ListPipelines")
            .iter()
            .map(|p| listed(t, p.pipeline_name(), p.pipeline_arn(), Some("Active")))
            .collect(),
        ResourceType::PipelineExecution => {
            let pipelines = every!(client.list_pipelines(), "ListPipelines");
            let mut found = Vec::new();
            for pipeline in pipelines.iter().filter_map(|p| p.pipeline_name()) {
                let executions = every!(
                    client.list_pipeline_executions().pipeline_name(pipeline),
                    "ListPipelineExecutions"
                );
                for x in &executions {
                    let arn = x.pipeline_execution_arn();
                    let name = arn
                        .and_then(|a| a.rsplit_once("/execution/"))
                        .map(|(_, id)| format!("{pipeline}/{id}"));
                    let status = x.pipeline_execution_status().map(|s| s.as_str());
                    found.push(listed(t, name.as_deref(), arn, status));
                }
            }
            found
        }
        ResourceType::Cluster => every!(client.list_clusters(), "ListClusters")
            .iter()
            .map(|c| {
                let arn = c.cluster_arn();
                listed(t, arn, arn, c.cluster_status().map(|s| s.as_str()))
            })
            .collect(),
        ResourceType::MonitoringSchedule => every!(
            client.list_monitoring_schedules(),
            "ListMonitoringSchedules"
        )
        .iter()
        .map(|m| {
            let status = m.monitoring_schedule_status().map(|s| s.as_str());
            let arn = m.monitoring_schedule_arn();
            listed(t, m.monitoring_schedule_name(), arn, status)
        })
        .collect(),
        ResourceType::MlflowTrackingServer => every!(
            client.list_mlflow_tracking_servers(),
            "ListMlflowTrackingServers"
        )
        .iter()
        .map(|s| {
            let status = s.tracking_server_status().map(|s| s.as_str());
            let arn = s.tracking_server_arn();
            listed(t, s.tracking_server_name(), arn, status)
        })
        .collect(),
        other => {
            return Err(GuardError::new(
                ErrorKind::InvalidInput,
                format!("the scan does not list {other}s"),
            ));
        }
    };
    Ok(found.into_iter().flatten().collect())
}
