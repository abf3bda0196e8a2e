//! A catalog file standing in for what SageMaker and the records table would answer (`guardctl
//! explain --catalog`):
//! `{"endpointConfigs": {"CONFIG": {"models": [..], "executionRoleArn": "..", "creationTime": ".."}},
//!   "models": {"MODEL": {"executionRoleArn": "..", "creationTime": ".."}},
//!   "inferenceComponents": {"IC": {"modelName": ".."}},
//!   "deployed": {"training-job/NAME": [{"kind": "role", "arn": ".."}]},
//!   "records": [{"version": 1, "kind": "endpoint-config", "name": .., "op": "create", ..}]}`
//! (every section optional). `deployed` is what a resource's own describe says it uses (targets,
//! as ParseEvent writes them); `records` are records as the records table keeps them.

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, ready};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::contract::{ResourceRef, Target};
use crate::error::{ErrorKind, GuardError};
use crate::ports::RecordStore;
use crate::records::{History, RecordKind, ResourceRecord};
use crate::resolve::{
    EndpointConfigInfo, InferenceComponentInfo, Lookups, ModelInfo, Recovered, Recovery,
    ResolveError, Resolver,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Catalog {
    #[serde(default)]
    pub endpoint_configs: BTreeMap<String, CatalogEndpointConfig>,
    #[serde(default)]
    pub models: BTreeMap<String, CatalogModel>,
    #[serde(default)]
    pub inference_components: BTreeMap<String, CatalogInferenceComponent>,
    /// `TYPE/NAME` (as verdicts name resource types) to what its describe says it uses.
    #[serde(default)]
    pub deployed: BTreeMap<String, Vec<Target>>,
    #[serde(default)]
    pub records: Vec<ResourceRecord>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogEndpointConfig {
    pub models: Vec<String>,
    #[serde(default)]
    pub execution_role_arn: Option<String>,
    /// When it was created (RFC 3339), as DescribeEndpointConfig's `CreationTime`; when absent,
    /// long before any call.
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogModel {
    #[serde(default)]
    pub execution_role_arn: Option<String>,
    /// When it was created (RFC 3339), as DescribeModel's `CreationTime`; when absent, long
    /// before any call.
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogInferenceComponent {
    #[serde(default)]
    pub model_name: Option<String>,
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
        Ok(catalog)
    }
}

/// Resolves from a [`Catalog`]; names compare without ASCII case, as SageMaker's do.
#[derive(Debug, Default)]
pub struct CatalogResolver {
    endpoint_configs: HashMap<String, EndpointConfigInfo>,
    models: HashMap<String, ModelInfo>,
    inference_components: HashMap<String, InferenceComponentInfo>,
    deployed: HashMap<String, Vec<Target>>,
    records: Vec<ResourceRecord>,
    /// What a lookup of an absent name says.
    absent: String,
}

impl CatalogResolver {
    pub fn new(catalog: Catalog) -> CatalogResolver {
        let fold = |name: String| name.to_ascii_lowercase();
        CatalogResolver {
            endpoint_configs: catalog
                .endpoint_configs
                .into_iter()
                .map(|(name, c)| {
                    let info = EndpointConfigInfo {
                        models: c.models,
                        execution_role_arn: c.execution_role_arn,
                        created: Some(c.creation_time.unwrap_or(DateTime::UNIX_EPOCH)),
                    };
                    (fold(name), info)
                })
                .collect(),
            models: catalog
                .models
                .into_iter()
                .map(|(name, m)| {
                    (
                        fold(name),
                        ModelInfo {
                            execution_role_arn: m.execution_role_arn,
                            created: Some(m.creation_time.unwrap_or(DateTime::UNIX_EPOCH)),
                        },
                    )
                })
                .collect(),
            inference_components: catalog
                .inference_components
                .into_iter()
                .map(|(name, c)| {
                    (
                        fold(name),
                        InferenceComponentInfo {
                            model_name: c.model_name,
                        },
                    )
                })
                .collect(),
            deployed: catalog
                .deployed
                .into_iter()
                .map(|(key, targets)| (fold(key), targets))
                .collect(),
            records: catalog.records,
            absent: "not found in the catalog".to_owned(),
        }
    }

    /// Lookups over this catalog alone: its describes and its records, waiting for no record
    /// (a catalog is all there is).
    pub fn lookups(&self) -> Lookups<'_, CatalogResolver, CatalogResolver> {
        Lookups {
            resolver: self,
            records: self,
            now: chrono::Utc::now(),
            wait_until: chrono::DateTime::UNIX_EPOCH,
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
}

impl Recovery for CatalogResolver {
    fn deployed(
        &self,
        resource: &ResourceRef,
        _call: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Recovered, ResolveError>> + Send {
        let key = format!("{}/{}", resource.resource_type, resource.name).to_ascii_lowercase();
        ready(self.find(&self.deployed, &key).map(|targets| Recovered {
            targets,
            source: format!("the catalog's {key}"),
        }))
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
    ) -> impl Future<Output = Result<History, GuardError>> + Send {
        ready(Ok(History {
            records: self
                .records
                .iter()
                .filter(|r| r.kind == kind && r.name.eq_ignore_ascii_case(name))
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
