//! Resolving a request's targets into subjects (DESIGN.md rule 1). What SageMaker would answer is
//! behind [`Resolver`]: the Lambda resolves through SageMaker, the CLI from a catalog file.

use std::future::Future;

use crate::contract::{Request, ResolvedSubject, SubjectKind, Target};
use crate::principal::canonical_arn;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointConfigInfo {
    /// Models of the production and shadow variants alike.
    pub models: Vec<String>,
    pub execution_role_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelInfo {
    pub execution_role_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InferenceComponentInfo {
    pub model_name: Option<String>,
}

/// Why something could not be resolved (not found, access denied, …), for the verdict's reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError(pub String);

/// Describes SageMaker resources by name.
pub trait Resolver {
    fn endpoint_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<EndpointConfigInfo, ResolveError>> + Send;
    fn model(&self, name: &str) -> impl Future<Output = Result<ModelInfo, ResolveError>> + Send;
    fn inference_component(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<InferenceComponentInfo, ResolveError>> + Send;
}

/// The subjects of a request: every model it deploys and every execution role involved, each
/// once, in the order found. What cannot be resolved is a subject with `unresolved` set.
pub async fn resolve_subjects<R: Resolver>(
    request: &Request,
    resolver: &R,
) -> Vec<ResolvedSubject> {
    let mut subjects = Subjects::default();
    for target in &request.targets {
        match target {
            Target::EndpointConfig { name } => match resolver.endpoint_config(name).await {
                Ok(config) => {
                    let via = format!("endpoint config {name}");
                    if let Some(role) = &config.execution_role_arn {
                        subjects.role(role, Some(&via));
                    }
                    for model in &config.models {
                        subjects.model(resolver, model, Some(&via)).await;
                    }
                }
                Err(ResolveError(why)) => {
                    subjects.push(SubjectKind::EndpointConfig, name.clone(), None, Some(why));
                }
            },
            Target::Model { name } => subjects.model(resolver, name, None).await,
            Target::Role { arn } => subjects.role(arn, None),
            Target::InferenceComponentModel { name } => {
                match resolver.inference_component(name).await {
                    Ok(InferenceComponentInfo {
                        model_name: Some(model),
                    }) => {
                        let via = format!("inference component {name}");
                        subjects.model(resolver, &model, Some(&via)).await;
                    }
                    Ok(InferenceComponentInfo { model_name: None }) => subjects.push(
                        SubjectKind::InferenceComponent,
                        name.clone(),
                        None,
                        Some("it names no model".to_owned()),
                    ),
                    Err(ResolveError(why)) => subjects.push(
                        SubjectKind::InferenceComponent,
                        name.clone(),
                        None,
                        Some(why),
                    ),
                }
            }
            Target::Unreadable {
                expected,
                field,
                problem,
            } => subjects.list.push(ResolvedSubject {
                kind: *expected,
                name: field.clone(),
                via: None,
                unresolved: Some(format!("{field} {problem}")),
                unnamed: true,
            }),
        }
    }
    subjects.list
}

#[derive(Default)]
struct Subjects {
    list: Vec<ResolvedSubject>,
}

impl Subjects {
    /// Adds a subject unless it is already there (names compare without ASCII case).
    fn push(
        &mut self,
        kind: SubjectKind,
        name: String,
        via: Option<&str>,
        unresolved: Option<String>,
    ) {
        let duplicate = self
            .list
            .iter()
            .any(|s| s.kind == kind && s.name.eq_ignore_ascii_case(&name));
        if !duplicate {
            self.list.push(ResolvedSubject {
                kind,
                name,
                via: via.map(str::to_owned),
                unresolved,
                unnamed: false,
            });
        }
    }

    fn role(&mut self, arn: &str, via: Option<&str>) {
        self.push(SubjectKind::Role, canonical_arn(arn), via, None);
    }

    async fn model<R: Resolver>(&mut self, resolver: &R, name: &str, via: Option<&str>) {
        let seen = self
            .list
            .iter()
            .any(|s| s.kind == SubjectKind::Model && s.name.eq_ignore_ascii_case(name));
        if seen {
            return;
        }
        match resolver.model(name).await {
            Ok(model) => {
                self.push(SubjectKind::Model, name.to_owned(), via, None);
                if let Some(role) = &model.execution_role_arn {
                    self.role(role, Some(&format!("model {name}")));
                }
            }
            Err(ResolveError(why)) => {
                self.push(SubjectKind::Model, name.to_owned(), via, Some(why))
            }
        }
    }
}
