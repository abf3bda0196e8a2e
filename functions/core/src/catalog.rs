//! A catalog file standing in for what SageMaker and the records table would answer (`guardctl
//! explain --catalog`):
//! `{"endpointConfigs": {"CONFIG": {"models": [..], "executionRoleArn": "..", "creationTime": ".."}},
//!   "models": {"MODEL": {"executionRoleArn": "..", "creationTime": "..", "primaryContainer": {..}}},
//!   "inferenceComponents": {"IC": {"modelName": ".."}},
//!   "modelPackages": {"ARN": {DescribeModelPackage's output}},
//!   "endpoints": {"ENDPOINT": {DescribeEndpoint's output}},
//!   "deployed": {"training-job/NAME": [{"kind": "role", "arn": ".."}]},
//!   "pipelineExecutions": {"ARN": {"startedBy": "..", "modifiedBy": "..", "steps": [ARN, ..]}},
//!   "automlJobs": {"NAME": {"arn": "..", "roleArn": "..", "deployedEndpoint": "..",
//!                           "askedEndpoint": "..", "creationTime": "..",
//!                           "bestCandidate": [{"Image": "..", "ModelDataUrl": ".."}],
//!                           "namingPending": false}},
//!   "monitoringRuns": {"PROCESSING-JOB": "MONITORING-SCHEDULE-ARN"},
//!   "experimentEndpoints": {"INFERENCE-EXPERIMENT": "ENDPOINT"},
//!   "tags": {"RESOURCE-ARN": {"KEY": "VALUE"}},
//!   "records": [{"version": 1, "kind": "endpoint-config", "name": .., "op": "create", ..}]}`
//! (every section optional). Endpoint configs, models and inference components may also be given
//! as SageMaker's Describe* output as the AWS CLI prints it (PascalCase keys, pasted as is). `deployed` is what a resource's own describe says it uses (targets,
//! as ParseEvent writes them); `records` are records as the records table keeps them.

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, ready};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::children::{AutoMlFacts, ExecutionFacts, JobParents, PipelineSteps};
use crate::content::{
    EndpointDeployment, container, endpoint_deployments, endpoint_images, field_any_case,
    model_containers, package_containers,
};
use crate::contract::{ResourceRef, ResourceType, Target};
use crate::error::{ErrorKind, GuardError};
use crate::event::PIPELINE_EXECUTION_TAG;
use crate::policy::ContentNeeds;
use crate::ports::RecordStore;
use crate::records::{History, RecordKind, ResourceRecord};
use crate::resolve::{
    DeployedImages, EndpointConfigInfo, InferenceComponentInfo, Lookups, ModelInfo, PackageInfo,
    Recovered, Recovery, ResolveError, ResolvedImage, Resolver,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Catalog {
    /// By name: the short form, or DescribeEndpointConfig's output as the AWS CLI prints it.
    #[serde(default)]
    pub endpoint_configs: BTreeMap<String, Value>,
    /// By name: the short form, or DescribeModel's output.
    #[serde(default)]
    pub models: BTreeMap<String, Value>,
    /// By name: the short form, or DescribeInferenceComponent's output.
    #[serde(default)]
    pub inference_components: BTreeMap<String, Value>,
    /// By ARN (or name): DescribeModelPackage's output.
    #[serde(default)]
    pub model_packages: BTreeMap<String, Value>,
    /// By name: DescribeEndpoint's output (what SageMaker resolved image tags to).
    #[serde(default)]
    pub endpoints: BTreeMap<String, Value>,
    /// `TYPE/NAME` (as verdicts name resource types) to what its describe says it uses.
    #[serde(default)]
    pub deployed: BTreeMap<String, Vec<Target>>,
    /// By ARN: what SageMaker says of a pipeline execution (who started it, what its steps made).
    #[serde(default)]
    pub pipeline_executions: BTreeMap<String, CatalogExecution>,
    /// By name: what DescribeAutoMLJobV2 says of an AutoML job's deployment.
    #[serde(default)]
    pub automl_jobs: BTreeMap<String, CatalogAutoMlJob>,
    /// By processing job name: DescribeProcessingJob's `MonitoringScheduleArn`.
    #[serde(default)]
    pub monitoring_runs: BTreeMap<String, String>,
    /// By inference experiment name: DescribeInferenceExperiment's
    /// `EndpointMetadata.EndpointName`.
    #[serde(default)]
    pub experiment_endpoints: BTreeMap<String, String>,
    /// By resource ARN: its tags, as ListTags gives them (key to value).
    #[serde(default)]
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub records: Vec<ResourceRecord>,
}

/// An AutoML job: DescribeAutoMLJobV2's `AutoMLJobArn`, `RoleArn`, `ModelDeployResult` and
/// `ModelDeployConfig` endpoint names, and `CreationTime`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogAutoMlJob {
    pub arn: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub deployed_endpoint: Option<String>,
    #[serde(default)]
    pub asked_endpoint: Option<String>,
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
    /// `BestCandidate.InferenceContainers`, as container definitions.
    #[serde(default)]
    pub best_candidate: Vec<Value>,
    /// In progress, deploying to a name SageMaker generates, and none written yet.
    #[serde(default)]
    pub naming_pending: bool,
}

/// A pipeline execution: DescribePipelineExecution's `CreatedBy.IamIdentity` and the ARNs that
/// ListPipelineExecutionSteps' metadata names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogExecution {
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub source_identity: Option<String>,
    /// `LastModifiedBy.IamIdentity.Arn`; when absent, the starter.
    #[serde(default)]
    pub modified_by: Option<String>,
    #[serde(default)]
    pub steps: Vec<String>,
}

/// The short forms: camelCase, only these fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ShortEndpointConfig {
    models: Vec<String>,
    #[serde(default)]
    execution_role_arn: Option<String>,
    /// When it was created (RFC 3339), as DescribeEndpointConfig's `CreationTime`; when absent,
    /// long before any call.
    #[serde(default)]
    creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ShortModel {
    #[serde(default)]
    execution_role_arn: Option<String>,
    #[serde(default)]
    creation_time: Option<DateTime<Utc>>,
    #[serde(default)]
    primary_container: Option<Value>,
    #[serde(default)]
    containers: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ShortInferenceComponent {
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default)]
    container: Option<Value>,
}

/// Whether a catalog entry is a Describe* output (PascalCase keys) rather than the short form.
fn described(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.keys()
            .any(|k| k.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

fn short<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            // A path within the entry: `at endpointConfigs.NAME.models: …`.
            format!(".{path}: {}", e.into_inner())
        }
    })
}

fn text(value: &Value, key: &str) -> Option<String> {
    field_any_case(value, key)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `CreationTime` as the AWS CLI prints it (ISO 8601) or as epoch seconds; when absent, long
/// before any call.
fn creation_time(value: &Value) -> Result<DateTime<Utc>, String> {
    match field_any_case(value, "creationTime") {
        None => Ok(DateTime::UNIX_EPOCH),
        Some(Value::String(t)) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("CreationTime {t:?}: {e}")),
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64))
            .ok_or_else(|| format!("CreationTime {n} is out of range")),
        Some(other) => Err(format!("CreationTime {other} is not a time")),
    }
}

fn endpoint_config_info(value: &Value) -> Result<EndpointConfigInfo, String> {
    if !described(value) {
        let c: ShortEndpointConfig = short(value)?;
        return Ok(EndpointConfigInfo {
            models: c.models,
            execution_role_arn: c.execution_role_arn,
            created: Some(c.creation_time.unwrap_or(DateTime::UNIX_EPOCH)),
        });
    }
    let mut models = Vec::new();
    for section in ["ProductionVariants", "ShadowProductionVariants"] {
        if let Some(Value::Array(variants)) = value.get(section) {
            models.extend(variants.iter().filter_map(|v| text(v, "ModelName")));
        }
    }
    Ok(EndpointConfigInfo {
        models,
        execution_role_arn: text(value, "ExecutionRoleArn"),
        created: Some(creation_time(value)?),
    })
}

fn model_info(value: &Value) -> Result<ModelInfo, String> {
    if !described(value) {
        let m: ShortModel = short(value)?;
        let containers = model_containers(&serde_json::json!({
            "primaryContainer": m.primary_container, "containers": m.containers}))
        .map_err(|e| e.to_string())?;
        return Ok(ModelInfo {
            execution_role_arn: m.execution_role_arn,
            created: Some(m.creation_time.unwrap_or(DateTime::UNIX_EPOCH)),
            containers: Some(containers),
        });
    }
    Ok(ModelInfo {
        execution_role_arn: text(value, "ExecutionRoleArn"),
        created: Some(creation_time(value)?),
        containers: Some(model_containers(value).map_err(|e| e.to_string())?),
    })
}

fn inference_component_info(
    value: &Value,
) -> Result<(InferenceComponentInfo, Vec<ResolvedImage>), String> {
    let (model_name, given) = if described(value) {
        let spec = value.get("Specification").cloned().unwrap_or(Value::Null);
        (
            text(&spec, "ModelName"),
            field_any_case(&spec, "container").cloned(),
        )
    } else {
        let c: ShortInferenceComponent = short(value)?;
        (c.model_name, c.container)
    };
    let mut resolved = Vec::new();
    let container = match given {
        Some(c) => {
            if let Some(deployed) = field_any_case(&c, "deployedImage")
                && let (Some(specified), Some(image)) = (
                    text(deployed, "specifiedImage"),
                    text(deployed, "resolvedImage"),
                )
            {
                resolved.push(ResolvedImage {
                    specified,
                    resolved: image,
                });
            }
            Some(container(&c, "Specification.Container").map_err(|e| e.to_string())?)
        }
        None => None,
    };
    Ok((
        InferenceComponentInfo {
            model_name,
            container,
        },
        resolved,
    ))
}

fn package_info(value: &Value) -> Result<PackageInfo, String> {
    Ok(PackageInfo {
        group: text(value, "ModelPackageGroupName"),
        approval: text(value, "ModelApprovalStatus"),
        containers: package_containers(value).map_err(|e| e.to_string())?,
    })
}

impl Catalog {
    /// Reads a catalog document; the error names where its shape is wrong.
    pub fn from_json(value: &serde_json::Value) -> Result<Catalog, String> {
        let catalog: Catalog = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.into_inner().to_string()
            } else {
                format!("at {path}: {}", e.into_inner())
            }
        })?;
        // SageMaker names ignore case: two keys that differ only in case are one resource.
        fn unique<'a>(
            section: &str,
            names: impl Iterator<Item = &'a String>,
        ) -> Result<(), String> {
            let mut seen = std::collections::HashSet::new();
            for name in names {
                if !seen.insert(name.to_ascii_lowercase()) {
                    return Err(format!(
                        "at {section}: {name:?} is listed twice (names ignore case)"
                    ));
                }
            }
            Ok(())
        }
        unique("endpointConfigs", catalog.endpoint_configs.keys())?;
        unique("models", catalog.models.keys())?;
        unique("inferenceComponents", catalog.inference_components.keys())?;
        unique("modelPackages", catalog.model_packages.keys())?;
        unique("endpoints", catalog.endpoints.keys())?;
        Ok(catalog)
    }
}

/// Resolves from a [`Catalog`]; names compare without ASCII case, as SageMaker's do.
#[derive(Debug, Default)]
pub struct CatalogResolver {
    endpoint_configs: HashMap<String, EndpointConfigInfo>,
    models: HashMap<String, ModelInfo>,
    inference_components: HashMap<String, InferenceComponentInfo>,
    component_images: HashMap<String, Vec<ResolvedImage>>,
    packages: HashMap<String, PackageInfo>,
    endpoints: HashMap<String, (EndpointDeployment, Option<EndpointDeployment>)>,
    deployed: HashMap<String, Vec<Target>>,
    executions: HashMap<String, ExecutionFacts>,
    automl_jobs: Vec<AutoMlFacts>,
    monitoring_runs: HashMap<String, String>,
    experiment_endpoints: HashMap<String, String>,
    tags: HashMap<String, BTreeMap<String, String>>,
    records: Vec<ResourceRecord>,
    /// What a lookup of an absent name says.
    absent: String,
}

impl CatalogResolver {
    /// The resolver over a catalog; an entry that cannot be read is an error naming it.
    pub fn try_new(catalog: Catalog) -> Result<CatalogResolver, String> {
        fn each<T>(
            section: &str,
            map: BTreeMap<String, Value>,
            read: impl Fn(&Value) -> Result<T, String>,
        ) -> Result<HashMap<String, T>, String> {
            map.into_iter()
                .map(|(name, v)| {
                    read(&v)
                        .map(|info| (name.to_ascii_lowercase(), info))
                        .map_err(|e| match e.strip_prefix('.') {
                            Some(within) => format!("at {section}.{name}.{within}"),
                            None => format!("at {section}.{name}: {e}"),
                        })
                })
                .collect()
        }
        let components = each(
            "inferenceComponents",
            catalog.inference_components,
            inference_component_info,
        )?;
        let mut component_images = HashMap::new();
        let mut inference_components = HashMap::new();
        for (name, (info, images)) in components {
            component_images.insert(name.clone(), images);
            inference_components.insert(name, info);
        }
        Ok(CatalogResolver {
            endpoint_configs: each(
                "endpointConfigs",
                catalog.endpoint_configs,
                endpoint_config_info,
            )?,
            models: each("models", catalog.models, model_info)?,
            inference_components,
            component_images,
            packages: each("modelPackages", catalog.model_packages, package_info)?,
            endpoints: each("endpoints", catalog.endpoints, |v| {
                Ok(endpoint_deployments(v))
            })?,
            deployed: catalog
                .deployed
                .into_iter()
                .map(|(key, targets)| (key.to_ascii_lowercase(), targets))
                .collect(),
            executions: catalog
                .pipeline_executions
                .into_iter()
                .map(|(arn, e)| {
                    let facts = ExecutionFacts {
                        modified_by: e.modified_by.or_else(|| e.started_by.clone()),
                        started_by: e.started_by,
                        source_identity: e.source_identity,
                        step_resources: e.steps,
                    };
                    (arn.to_ascii_lowercase(), facts)
                })
                .collect(),
            automl_jobs: catalog
                .automl_jobs
                .into_iter()
                .map(|(name, j)| {
                    let candidate = j
                        .best_candidate
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            container(c, &format!("automlJobs.{name}.bestCandidate[{i}]"))
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())?;
                    Ok(AutoMlFacts {
                        job_name: name,
                        job_arn: j.arn,
                        role_arn: j.role_arn,
                        deployed_endpoint: j.deployed_endpoint,
                        asked_endpoint: j.asked_endpoint,
                        created: j.creation_time,
                        candidate,
                        naming_pending: j.naming_pending,
                    })
                })
                .collect::<Result<_, String>>()?,
            monitoring_runs: catalog
                .monitoring_runs
                .into_iter()
                .map(|(job, schedule)| (job.to_ascii_lowercase(), schedule))
                .collect(),
            experiment_endpoints: catalog
                .experiment_endpoints
                .into_iter()
                .map(|(experiment, endpoint)| (experiment.to_ascii_lowercase(), endpoint))
                .collect(),
            tags: catalog
                .tags
                .into_iter()
                .map(|(arn, tags)| (arn.to_ascii_lowercase(), tags))
                .collect(),
            records: catalog.records,
            absent: "not found in the catalog".to_owned(),
        })
    }

    /// The resolver over a catalog whose entries are known to be readable (tests, examples).
    pub fn new(catalog: Catalog) -> CatalogResolver {
        match CatalogResolver::try_new(catalog) {
            Ok(resolver) => resolver,
            Err(why) => CatalogResolver::nothing(&why),
        }
    }

    /// Lookups over this catalog alone: its describes and its records, waiting for no record
    /// (a catalog is all there is), learning everything the policy could need.
    pub fn lookups(&self) -> Lookups<'_, CatalogResolver, CatalogResolver> {
        Lookups {
            resolver: self,
            records: self,
            now: chrono::Utc::now(),
            wait_until: chrono::DateTime::UNIX_EPOCH,
            needs: ContentNeeds {
                packages: true,
                resolved_images: true,
            },
        }
    }

    /// A resolver that resolves nothing, saying why.
    pub fn nothing(why: &str) -> CatalogResolver {
        CatalogResolver {
            absent: why.to_owned(),
            ..CatalogResolver::default()
        }
    }

    fn find<T: Clone>(&self, map: &HashMap<String, T>, name: &str) -> Result<T, ResolveError> {
        map.get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| ResolveError::Unresolvable(self.absent.clone()))
    }
}

impl Resolver for CatalogResolver {
    fn endpoint_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<EndpointConfigInfo, ResolveError>> + Send {
        ready(self.find(&self.endpoint_configs, name))
    }

    fn model(&self, name: &str) -> impl Future<Output = Result<ModelInfo, ResolveError>> + Send {
        ready(self.find(&self.models, name))
    }

    fn inference_component(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<InferenceComponentInfo, ResolveError>> + Send {
        ready(self.find(&self.inference_components, name))
    }

    fn model_package(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<PackageInfo, ResolveError>> + Send {
        ready(self.find(&self.packages, name))
    }

    fn deployed_images(
        &self,
        resource: &ResourceRef,
        config: Option<&str>,
    ) -> impl Future<Output = Result<DeployedImages, ResolveError>> + Send {
        let name = resource.name.to_ascii_lowercase();
        ready(Ok(match resource.resource_type {
            ResourceType::Endpoint => match self.endpoints.get(&name) {
                Some((current, pending)) => endpoint_images(current, pending.as_ref(), config),
                None => DeployedImages::default(),
            },
            ResourceType::InferenceComponent => DeployedImages {
                images: self
                    .component_images
                    .get(&name)
                    .cloned()
                    .unwrap_or_default(),
                source: "DescribeInferenceComponent's DeployedImage".to_owned(),
            },
            _ => DeployedImages::default(),
        }))
    }
}

impl Recovery for CatalogResolver {
    fn deployed(
        &self,
        resource: &ResourceRef,
        _call: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Recovered, ResolveError>> + Send {
        let key = format!("{}/{}", resource.resource_type, resource.name).to_ascii_lowercase();
        let acts_on = (resource.resource_type == ResourceType::PromotedEndpoint)
            .then(|| {
                self.experiment_endpoints
                    .get(&resource.name.to_ascii_lowercase())
            })
            .flatten()
            .map(|endpoint| ResourceRef {
                resource_type: ResourceType::Endpoint,
                name: endpoint.clone(),
                arn: None,
            });
        ready(self.find(&self.deployed, &key).map(|targets| Recovered {
            targets,
            source: format!("the catalog's {key}"),
            acts_on,
        }))
    }
}

impl PipelineSteps for CatalogResolver {
    fn execution_tag(
        &self,
        resource_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, ResolveError>> + Send {
        ready(Ok(self
            .tags
            .get(&resource_arn.to_ascii_lowercase())
            .and_then(|tags| tags.get(PIPELINE_EXECUTION_TAG))
            .cloned()))
    }

    fn execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ExecutionFacts, ResolveError>> + Send {
        ready(self.find(&self.executions, &execution_arn.to_ascii_lowercase()))
    }
}

impl JobParents for CatalogResolver {
    fn deployers_of(
        &self,
        endpoint: &str,
        _since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<AutoMlFacts>, ResolveError>> + Send {
        let names = |n: &Option<String>| {
            n.as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(endpoint))
        };
        let mut jobs: Vec<AutoMlFacts> = self
            .automl_jobs
            .iter()
            .filter(|j| j.naming_pending || names(&j.deployed_endpoint) || names(&j.asked_endpoint))
            .cloned()
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.created));
        ready(Ok(jobs))
    }

    fn schedule_of(
        &self,
        processing_job: &str,
    ) -> impl Future<Output = Result<Option<String>, ResolveError>> + Send {
        ready(Ok(self
            .monitoring_runs
            .get(&processing_job.to_ascii_lowercase())
            .cloned()))
    }
}

impl RecordStore for CatalogResolver {
    fn put(&self, _record: &ResourceRecord) -> impl Future<Output = Result<(), GuardError>> + Send {
        ready(Err(GuardError::new(
            ErrorKind::InvalidInput,
            "a catalog is read-only".to_owned(),
        )))
    }

    fn history(
        &self,
        kind: RecordKind,
        name: &str,
        scope: Option<&str>,
    ) -> impl Future<Output = Result<History, GuardError>> + Send {
        let key = ResourceRecord::partition_key(kind, name, scope);
        ready(Ok(History {
            records: self
                .records
                .iter()
                .filter(|r| r.key() == key)
                .cloned()
                .collect(),
            truncated: false,
        }))
    }

    fn contains(
        &self,
        record: &ResourceRecord,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send {
        ready(Ok(self.records.contains(record)))
    }
}
