//! SageMaker: the resolver (what a deployment uses), the recovery of what an event lost (what a
//! deployed resource says it uses), and the enforcer (stop or delete it). One module per family:
//! [`endpoints`] (endpoints and inference components), [`jobs`] (training, transform, processing
//! and tuning jobs), [`models`] (models, their content, packages and resolved images),
//! [`notebooks`] (notebook instances), [`pipelines`] (pipelines, their executions and steps),
//! [`studio`] (domains, user profiles, spaces and apps), [`monitoring`] (monitoring schedules),
//! [`mlflow`] (MLflow tracking servers), [`clusters`] (HyperPod clusters), [`experiments`]
//! (inference experiments), [`automl`] (AutoML jobs as parents of the endpoints they deploy); this
//! one holds what they share.

mod automl;
mod clusters;
mod component_rollback;
mod endpoints;
mod experiments;
mod inventory;
pub use inventory::{Inventories, OneInventory, SCAN_ATTEMPTS, scanning_client};
mod jobs;
mod mlflow;
mod models;
mod monitoring;
mod notebooks;
mod pipelines;
mod remedy;
mod rollback;
mod studio;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_applicationautoscaling::Client as AutoScaling;
use aws_sdk_sagemaker::Client as SageMaker;
use chrono::{DateTime, Utc};
use model_guard_core::audit::RollbackRecord;
use model_guard_core::contract::{
    ResourceRef, ResourceType, Restorable, RollbackTo, Target, Verdict, Version1,
};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::ports::{Enforcer, RollbackState};
use model_guard_core::records::created_after_the_call;
use model_guard_core::resolve::{
    DeployedImages, EndpointConfigInfo, InferenceComponentInfo, ModelInfo, PackageInfo, Recovered,
    Recovery, ResolveError, Resolver,
};
use model_guard_core::{ErrorKind, GuardError};

use crate::error::{service_code, service_message};
use crate::members::{PerPlace, Places};
use crate::sdk_error;

pub(crate) fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// SageMaker answers "no such resource" with a ValidationException ("Could not find …") or, for
/// some describes, ResourceNotFound.
pub(crate) fn is_not_found<E, R>(
    error: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    match service_code(error) {
        Some("ResourceNotFound") => true,
        Some("ValidationException") => {
            let message = service_message(error).to_ascii_lowercase();
            // DescribeNotebookInstance says "RecordNotFound".
            message.contains("could not find")
                || message.contains("not found")
                || message.contains("recordnotfound")
        }
        _ => false,
    }
}

/// A describe failure, as the resolver reports it: what cannot be resolved (not found, denied,
/// invalid) makes an unresolved subject; what may pass fails the evaluation.
pub(crate) fn resolve_error<E>(
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
/// (the one the call made is gone; `created_after_the_call` says what "after" is).
pub(crate) fn created_after_call(
    created: Option<DateTime<Utc>>,
    verdict: &Verdict,
) -> Option<String> {
    let call = verdict
        .event_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    let created = created?;
    created_after_the_call(created, call).then(|| {
        format!(
            "re-created after the call: created at {}, the call at {}",
            created.to_rfc3339(),
            call.to_rfc3339()
        )
    })
}

/// A resolver for each place the guard acts in (`members`), its client built once per container.
pub struct Resolvers(PerPlace<SageMaker>);

impl Resolvers {
    pub fn new(places: Arc<Places>) -> Resolvers {
        Resolvers(PerPlace::new(places))
    }
}

impl model_guard_core::ports::Reach for Resolvers {
    type Port = SageMakerResolver;

    async fn at(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<SageMakerResolver, GuardError> {
        let client = self.0.get(account, region, SageMaker::new).await?;
        Ok(SageMakerResolver::new(client))
    }
}

/// One SageMaker client for every place: for a single-account guard's tools and tests that
/// bring a client of their own.
pub struct OneClient(pub SageMaker);

impl model_guard_core::ports::Reach for OneClient {
    type Port = SageMakerResolver;

    async fn at(&self, _: Option<&str>, _: Option<&str>) -> Result<SageMakerResolver, GuardError> {
        Ok(SageMakerResolver::new(self.0.clone()))
    }
}

/// An enforcer for each place the guard acts in (`members`), its clients built once per
/// container.
pub struct Enforcers(PerPlace<(SageMaker, AutoScaling)>);

impl Enforcers {
    pub fn new(places: Arc<Places>) -> Enforcers {
        Enforcers(PerPlace::new(places))
    }
}

impl model_guard_core::ports::Reach for Enforcers {
    type Port = SageMakerEnforcer;

    async fn at(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<SageMakerEnforcer, GuardError> {
        let (sagemaker, autoscaling) = self
            .0
            .get(account, region, |config| {
                (SageMaker::new(config), AutoScaling::new(config))
            })
            .await?;
        Ok(SageMakerEnforcer::new(sagemaker, autoscaling))
    }
}

/// Resolves subjects through SageMaker's describe calls.
pub struct SageMakerResolver {
    client: SageMaker,
    /// A scan's memory of the endpoint configs and models it described (`remembering`).
    memo: Option<Memo>,
}

/// Endpoint configs and models by folded name: SageMaker cannot change either once made, so
/// within one scan a second describe would say the same (one re-made meanwhile under the name is
/// judged as the one the first describe saw). Failures that may pass are not kept.
#[derive(Default)]
struct Memo {
    configs: Remembered<EndpointConfigInfo>,
    models: Remembered<ModelInfo>,
}

type Remembered<T> = std::sync::Mutex<std::collections::HashMap<String, Result<T, ResolveError>>>;

fn recall<T: Clone>(memo: Option<&Remembered<T>>, name: &str) -> Option<Result<T, ResolveError>> {
    let memo = memo?.lock().ok()?;
    memo.get(&model_guard_core::glob::fold(name)).cloned()
}

fn keep<T: Clone>(memo: Option<&Remembered<T>>, name: &str, answer: &Result<T, ResolveError>) {
    if matches!(answer, Err(ResolveError::Failed(_))) {
        return;
    }
    if let Some(Ok(mut memo)) = memo.map(std::sync::Mutex::lock) {
        memo.insert(model_guard_core::glob::fold(name), answer.clone());
    }
}

impl SageMakerResolver {
    pub fn new(client: SageMaker) -> SageMakerResolver {
        SageMakerResolver { client, memo: None }
    }

    /// For a scan: each endpoint config and model is described once (a thousand endpoints that
    /// serve five models make five DescribeModel calls, not a thousand).
    pub fn remembering(client: SageMaker) -> SageMakerResolver {
        SageMakerResolver {
            client,
            memo: Some(Memo::default()),
        }
    }
}

/// The execution roles a describe names, canonical and each once.
fn role_targets<'a>(arns: impl IntoIterator<Item = Option<&'a str>>) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    for arn in arns.into_iter().flatten() {
        let target = Target::Role {
            arn: model_guard_core::principal::canonical_arn(arn),
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    targets
}

/// What a deployed resource says it uses, and when it was created.
struct Uses {
    targets: Vec<model_guard_core::contract::Target>,
    source: String,
    created: Option<DateTime<Utc>>,
}

impl Recovery for SageMakerResolver {
    async fn deployed(
        &self,
        resource: &ResourceRef,
        call: Option<DateTime<Utc>>,
    ) -> Result<Recovered, ResolveError> {
        let name = resource.name.as_str();
        let mut acts_on = None;
        let Uses {
            targets,
            source,
            created,
        } = match resource.resource_type {
            ResourceType::Endpoint => endpoints::endpoint_uses(&self.client, name).await?,
            ResourceType::InferenceComponent => {
                endpoints::inference_component_uses(&self.client, name).await?
            }
            // A CreateModel's model is its own subject (resolve's recovery names it).
            ResourceType::Model => Uses {
                targets: vec![model_guard_core::contract::Target::Model {
                    name: name.to_owned(),
                }],
                source: format!("model {name} itself"),
                created: None,
            },
            ResourceType::NotebookInstance => {
                notebooks::notebook_instance_uses(&self.client, name).await?
            }
            ResourceType::Pipeline => pipelines::pipeline_uses(&self.client, name).await?,
            ResourceType::PipelineExecution => {
                pipelines::execution_uses(&self.client, resource).await?
            }
            ResourceType::NotebookLifecycleConfig => {
                notebooks::lifecycle_config_uses(&self.client, name).await?
            }
            ResourceType::MonitoringSchedule => {
                monitoring::schedule_uses(&self.client, name).await?
            }
            ResourceType::MlflowTrackingServer => {
                mlflow::tracking_server_uses(&self.client, name).await?
            }
            ResourceType::Cluster => clusters::cluster_uses(&self.client, name).await?,
            ResourceType::Project => pipelines::project_uses(&self.client, name).await?,
            // An approval's subject is the version it approves (named by its ARN).
            ResourceType::ModelPackage => Uses {
                targets: vec![Target::Package {
                    name: name.to_owned(),
                }],
                source: format!("model package {name} itself"),
                created: None,
            },
            ResourceType::InferenceExperiment => {
                experiments::experiment_uses(&self.client, name).await?
            }
            ResourceType::PromotedEndpoint => {
                let (uses, endpoint) = experiments::promotion_uses(&self.client, name).await?;
                acts_on = endpoint;
                uses
            }
            ResourceType::Domain => studio::domain_uses(&self.client, name).await?,
            ResourceType::UserProfile => studio::user_profile_uses(&self.client, name).await?,
            ResourceType::Space => studio::space_uses(&self.client, name).await?,
            ResourceType::App => studio::app_uses(&self.client, name).await?,
            kind => jobs::job_uses(&self.client, kind, name).await?,
        };
        if let (Some(created), Some(call)) = (created, call)
            && created_after_the_call(created, call)
        {
            return Err(ResolveError::Unresolvable(format!(
                "{} {name} was created at {}, after the call: another one under the same name",
                resource.resource_type,
                created.to_rfc3339()
            )));
        }
        Ok(Recovered {
            targets,
            source,
            acts_on,
        })
    }
}

impl SageMakerResolver {
    async fn describe_endpoint_config(
        &self,
        name: &str,
    ) -> Result<EndpointConfigInfo, ResolveError> {
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

    async fn describe_model(&self, name: &str) -> Result<ModelInfo, ResolveError> {
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
            containers: Some(
                out.primary_container()
                    .into_iter()
                    .chain(out.containers())
                    .map(models::container)
                    .collect(),
            ),
        })
    }
}

impl Resolver for SageMakerResolver {
    async fn endpoint_config(&self, name: &str) -> Result<EndpointConfigInfo, ResolveError> {
        let memo = self.memo.as_ref().map(|m| &m.configs);
        if let Some(known) = recall(memo, name) {
            return known;
        }
        let answer = self.describe_endpoint_config(name).await;
        keep(memo, name, &answer);
        answer
    }

    async fn model(&self, name: &str) -> Result<ModelInfo, ResolveError> {
        let memo = self.memo.as_ref().map(|m| &m.models);
        if let Some(known) = recall(memo, name) {
            return known;
        }
        let answer = self.describe_model(name).await;
        keep(memo, name, &answer);
        answer
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
        // One `Specification`, or one per instance type that all deploy the same: a base that
        // deploys different content per instance type is not one model, and names none here
        // (unresolved: the adapter on it fails closed).
        let specs: Vec<_> = models::component_specs(&out).collect();
        let one = |spec: &aws_sdk_sagemaker::types::InferenceComponentSpecificationSummary| {
            InferenceComponentInfo {
                model_name: spec.model_name().map(str::to_owned),
                container: spec.container().map(models::component_container),
            }
        };
        Ok(match specs.split_first() {
            Some((first, rest)) if rest.iter().all(|s| one(s) == one(first)) => one(first),
            _ => InferenceComponentInfo {
                model_name: None,
                container: None,
            },
        })
    }

    async fn model_package(&self, name: &str) -> Result<PackageInfo, ResolveError> {
        self.package(name).await
    }

    async fn deployed_images(
        &self,
        resource: &ResourceRef,
        config: Option<&str>,
    ) -> Result<DeployedImages, ResolveError> {
        self.images(resource, config).await
    }

    async fn component_spec(
        &self,
        name: &str,
    ) -> Result<Option<model_guard_core::contract::ComponentSpec>, ResolveError> {
        self.described_component_spec(name).await
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
            confirmed: None,
            restored: None,
            not_rolled_back: None,
        }
    }
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
            ResourceType::Model => self.model(resource, verdict).await,
            ResourceType::NotebookInstance => self.notebook_instance(resource).await,
            ResourceType::PipelineExecution => self.pipeline_execution(resource, verdict).await,
            ResourceType::App => self.app(resource).await,
            ResourceType::MonitoringSchedule => self.monitoring_schedule(resource).await,
            ResourceType::MlflowTrackingServer => self.tracking_server(resource).await,
            ResourceType::Cluster => self.cluster(resource, verdict).await,
            ResourceType::InferenceExperiment => self.inference_experiment(resource).await,
            ResourceType::PromotedEndpoint => self.promoted_endpoint(resource, verdict).await,
            // Notify-only by nature: the decision never asks for them.
            ResourceType::Pipeline
            | ResourceType::NotebookLifecycleConfig
            | ResourceType::MonitoringJobDefinition
            | ResourceType::PartnerApp
            | ResourceType::FlowDefinition
            | ResourceType::ModelPackage
            | ResourceType::Project
            | ResourceType::Domain
            | ResourceType::UserProfile
            | ResourceType::Space => Err(GuardError::new(
                ErrorKind::InvalidInput,
                format!(
                    "a {} ({}) is never enforced on",
                    resource.resource_type, resource.name
                ),
            )),
            _ => self.job(resource).await,
        }
    }

    async fn rollback_state(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
        attempt: Option<&RollbackRecord>,
    ) -> Result<RollbackState, GuardError> {
        match &to.config {
            Restorable::EndpointConfig { .. } => {
                self.endpoint_rollback_state(verdict, to, attempt).await
            }
            Restorable::InferenceComponentSpec(spec) => {
                self.component_rollback_state(verdict, to, spec, attempt)
                    .await
            }
        }
    }

    async fn roll_back(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
    ) -> Result<EnforcementResult, GuardError> {
        match &to.config {
            Restorable::EndpointConfig { .. } => self.endpoint_roll_back(verdict, to).await,
            Restorable::InferenceComponentSpec(spec) => {
                self.component_roll_back(verdict, to, spec).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_created_in_the_second_after_the_recorded_call_is_the_calls() {
        let verdict = Verdict {
            event_time: Some("2026-12-04T10:20:41Z".into()),
            ..serde_json::from_value(serde_json::json!({
                "version": 1, "decision": "allow", "action": "none", "graceSeconds": 0,
                "subjects": [], "approvers": [], "reasons": ["r"]
            }))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let at = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        // Seen in CI: a call at 41.99 s is recorded as 41, its endpoint created at 42.001 s.
        assert_eq!(
            created_after_call(at("2026-12-04T10:20:42.001Z"), &verdict),
            None
        );
        assert_eq!(
            created_after_call(at("2026-12-04T10:20:42.999Z"), &verdict),
            None
        );
        assert!(created_after_call(at("2026-12-04T10:20:43.000Z"), &verdict).is_some());
    }
}
