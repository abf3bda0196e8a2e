//! Resolving a request's targets into subjects (DESIGN.md rule 1). What SageMaker would answer is
//! behind [`Resolver`]: the Lambda resolves through SageMaker, the CLI from a catalog file.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use crate::contract::{Request, ResolvedSubject, SubjectKind, Target, Through};
use crate::error::GuardError;
use crate::principal::canonical_arn;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointConfigInfo {
    /// Models of the production and shadow variants alike.
    pub models: Vec<String>,
    pub execution_role_arn: Option<String>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelInfo {
    pub execution_role_arn: Option<String>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InferenceComponentInfo {
    pub model_name: Option<String>,
}

/// Why a describe gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The resource cannot be resolved (not found, access denied, …): the subject is unresolved,
    /// and the guard fails closed. The text is for the verdict's reasons.
    Unresolvable(String),
    /// A failure that may pass (throttling, a 5xx, a timeout): the evaluation fails and is retried,
    /// rather than judging on an answer AWS did not give.
    Failed(GuardError),
}

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
/// once, in the order found. What cannot be resolved is a subject with `unresolved` set; a
/// describe that failed in a way that may pass fails the whole resolution.
pub async fn resolve_subjects<R: Resolver>(
    request: &Request,
    resolver: &R,
) -> Result<Vec<ResolvedSubject>, GuardError> {
    let mut subjects = Subjects {
        list: Vec::new(),
        call_time: request
            .event_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    };
    for target in &request.targets {
        match target {
            Target::EndpointConfig { name } => match resolver.endpoint_config(name).await {
                Ok(config) => {
                    if let Some(why) = subjects.newer_than_call(config.created) {
                        subjects.push(
                            SubjectKind::EndpointConfig,
                            name.clone(),
                            None,
                            Some(why),
                            Through::Request,
                        );
                        continue;
                    }
                    let via = format!("endpoint config {name}");
                    let through = Through::EndpointConfig {
                        name: name.clone(),
                        models: config.models.clone(),
                    };
                    if let Some(role) = &config.execution_role_arn {
                        subjects.role(role, Some(&via), through.clone());
                    }
                    for model in &config.models {
                        subjects
                            .model(resolver, model, Some(&via), through.clone())
                            .await?;
                    }
                }
                Err(ResolveError::Unresolvable(why)) => {
                    subjects.push(
                        SubjectKind::EndpointConfig,
                        name.clone(),
                        None,
                        Some(why),
                        Through::Request,
                    );
                }
                Err(ResolveError::Failed(error)) => return Err(error),
            },
            Target::Model { name } => {
                subjects
                    .model(resolver, name, None, Through::Request)
                    .await?
            }
            Target::Role { arn } => subjects.role(arn, None, Through::Request),
            Target::InferenceComponentModel { name } => {
                match resolver.inference_component(name).await {
                    Ok(InferenceComponentInfo {
                        model_name: Some(model),
                    }) => {
                        let via = format!("inference component {name}");
                        let through = Through::InferenceComponent { name: name.clone() };
                        subjects
                            .model(resolver, &model, Some(&via), through)
                            .await?;
                    }
                    Ok(InferenceComponentInfo { model_name: None }) => subjects.push(
                        SubjectKind::InferenceComponent,
                        name.clone(),
                        None,
                        Some("it names no model".to_owned()),
                        Through::Request,
                    ),
                    Err(ResolveError::Unresolvable(why)) => subjects.push(
                        SubjectKind::InferenceComponent,
                        name.clone(),
                        None,
                        Some(why),
                        Through::Request,
                    ),
                    Err(ResolveError::Failed(error)) => return Err(error),
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
                through: vec![Through::Request],
            }),
        }
    }
    Ok(subjects.list)
}

struct Subjects {
    list: Vec<ResolvedSubject>,
    call_time: Option<DateTime<Utc>>,
}

impl Subjects {
    /// Why a resource created after the call cannot be what the call deployed: it was deleted and
    /// re-created under the same name since, and describing it now would judge the wrong thing.
    /// CloudTrail's `eventTime` has whole seconds, hence the second of slack.
    fn newer_than_call(&self, created: Option<DateTime<Utc>>) -> Option<String> {
        let (created, call) = (created?, self.call_time?);
        (created > call + Duration::seconds(1)).then(|| {
            format!(
                "created at {}, after the call at {}: re-created since, so not what the call used",
                created.to_rfc3339(),
                call.to_rfc3339()
            )
        })
    }

    /// Adds a subject, or, when it is already there (names compare without ASCII case), the new
    /// way to it.
    fn push(
        &mut self,
        kind: SubjectKind,
        name: String,
        via: Option<&str>,
        unresolved: Option<String>,
        through: Through,
    ) {
        let existing = self
            .list
            .iter_mut()
            .find(|s| s.kind == kind && s.name.eq_ignore_ascii_case(&name));
        match existing {
            Some(subject) => {
                if !subject.through.contains(&through) {
                    subject.through.push(through);
                }
            }
            None => {
                self.list.push(ResolvedSubject {
                    kind,
                    name,
                    via: via.map(str::to_owned),
                    unresolved,
                    unnamed: false,
                    through: vec![through],
                });
            }
        }
    }

    fn role(&mut self, arn: &str, via: Option<&str>, through: Through) {
        self.push(SubjectKind::Role, canonical_arn(arn), via, None, through);
    }

    async fn model<R: Resolver>(
        &mut self,
        resolver: &R,
        name: &str,
        via: Option<&str>,
        through: Through,
    ) -> Result<(), GuardError> {
        let seen = self
            .list
            .iter_mut()
            .find(|s| s.kind == SubjectKind::Model && s.name.eq_ignore_ascii_case(name));
        if let Some(model) = seen {
            // Judged once; its role was reached through it already.
            if !model.through.contains(&through) {
                model.through.push(through);
            }
            return Ok(());
        }
        match resolver.model(name).await {
            Ok(model) => {
                if let Some(why) = self.newer_than_call(model.created) {
                    self.push(SubjectKind::Model, name.to_owned(), via, Some(why), through);
                    return Ok(());
                }
                self.push(SubjectKind::Model, name.to_owned(), via, None, through);
                if let Some(role) = &model.execution_role_arn {
                    let through = Through::Model {
                        name: name.to_owned(),
                    };
                    self.role(role, Some(&format!("model {name}")), through);
                }
            }
            Err(ResolveError::Unresolvable(why)) => {
                self.push(SubjectKind::Model, name.to_owned(), via, Some(why), through);
            }
            Err(ResolveError::Failed(error)) => return Err(error),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, CatalogResolver};
    use crate::contract::{ResourceRef, ResourceType, Version1};

    fn subjects(model_created: &str) -> Vec<ResolvedSubject> {
        let catalog = serde_json::json!({"models": {"m": {
            "executionRoleArn": "arn:aws:iam::1:role/p/Exec", "creationTime": model_created}}});
        let resolver =
            CatalogResolver::new(Catalog::from_json(&catalog).unwrap_or_else(|e| panic!("{e}")));
        let request = Request {
            version: Version1,
            event_id: "e".into(),
            event_name: "CreateTransformJob".into(),
            event_time: Some("2026-11-20T10:15:30Z".into()),
            account: None,
            region: None,
            principal: "p".into(),
            principal_path_unknown: false,
            session: None,
            source_identity: None,
            resource: ResourceRef {
                resource_type: ResourceType::TransformJob,
                name: "t".into(),
                arn: None,
            },
            targets: vec![Target::Model { name: "M".into() }],
        };
        pollster::block_on(resolve_subjects(&request, &resolver)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_model_recreated_after_the_call_is_not_resolved() {
        let before = subjects("2026-11-20T10:15:30.900Z");
        assert_eq!(before.len(), 2, "{before:?}");
        assert_eq!(before[1].name, "arn:aws:iam::1:role/p/Exec");
        assert!(before.iter().all(|s| s.unresolved.is_none()));
        let after = subjects("2026-11-20T10:16:00Z");
        assert_eq!(after.len(), 1, "{after:?}");
        assert!(
            after[0]
                .unresolved
                .as_deref()
                .is_some_and(|w| w.contains("re-created since"))
        );
    }
}
