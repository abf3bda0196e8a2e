//! A catalog file standing in for what SageMaker would answer (`guardctl explain --catalog`):
//! `{"endpointConfigs": {"CONFIG": {"models": [..], "executionRoleArn": ".."}},
//!   "models": {"MODEL": {"executionRoleArn": ".."}},
//!   "inferenceComponents": {"IC": {"modelName": ".."}}}` (every section optional).

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, ready};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::resolve::{
    EndpointConfigInfo, InferenceComponentInfo, ModelInfo, ResolveError, Resolver,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogEndpointConfig {
    pub models: Vec<String>,
    #[serde(default)]
    pub execution_role_arn: Option<String>,
    /// When it was created (RFC 3339), as DescribeEndpointConfig's `CreationTime`.
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogModel {
    #[serde(default)]
    pub execution_role_arn: Option<String>,
    /// When it was created (RFC 3339), as DescribeModel's `CreationTime`.
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
                        created: c.creation_time,
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
                            created: m.creation_time,
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
            absent: "not found in the catalog".to_owned(),
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
