//! Resolving a request's targets into subjects (docs/design.md, rule 1), each model and endpoint
//! config as it was at the call (see [`crate::records`]). What SageMaker would answer is behind
//! [`Resolver`] and [`Recovery`], the records behind [`RecordStore`]: the Lambda asks SageMaker
//! and DynamoDB, the CLI a catalog file.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use std::collections::{BTreeMap, HashMap};

use crate::content::{
    ContainerContent, DataLocation, ImageRef, canonical_data_uri, canonical_image_uri, is_digest,
    resolved_digest,
};
use crate::contract::{
    Request, ResolvedSubject, ResourceRef, ResourceType, SubjectKind, Target, Through,
};
use crate::error::{ErrorKind, GuardError};
use crate::policy::ContentNeeds;
use crate::ports::RecordStore;
use crate::principal::canonical_arn;
use crate::records::{
    AtCall, MAX_HISTORY, Now, RecordContent, RecordKind, Version, versions_at_call, whole_second,
};

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
    /// Its containers' content; `None` when not known (a record without it).
    pub containers: Option<Vec<ContainerContent>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InferenceComponentInfo {
    pub model_name: Option<String>,
    /// A component deployed from a bare container, without a model.
    pub container: Option<ContainerContent>,
}

/// A model package version, as DescribeModelPackage gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageInfo {
    pub group: Option<String>,
    /// `ModelApprovalStatus`: `Approved`, `PendingManualApproval`, `Rejected`.
    pub approval: Option<String>,
    pub containers: Vec<ContainerContent>,
}

/// An image SageMaker resolved for a deployment: `SpecifiedImage` → `ResolvedImage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    pub specified: String,
    pub resolved: String,
}

/// What SageMaker resolved a deployment's image tags to, and where that was read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployedImages {
    pub images: Vec<ResolvedImage>,
    /// For the reasons: e.g. `DescribeEndpoint's PendingDeploymentSummary`.
    pub source: String,
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
    /// A model package version by ARN or name.
    fn model_package(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<PackageInfo, ResolveError>> + Send;
    /// What SageMaker resolved the images of `resource`'s deployment to: an endpoint's
    /// `DeployedImages` for `config` (its pending deployment's while it is creating or updating;
    /// none when the endpoint deploys another config), an inference component's container's
    /// `DeployedImage`. Empty when SageMaker reports none.
    fn deployed_images(
        &self,
        resource: &ResourceRef,
        config: Option<&str>,
    ) -> impl Future<Output = Result<DeployedImages, ResolveError>> + Send;
    /// An inference component's one specification as SageMaker describes it now, with its
    /// model's creation time: what an allowed deployment of it is rolled back to. `None` where
    /// none can be kept (gone, one specification per instance type, a resolver with no live
    /// SageMaker behind it).
    fn component_spec(
        &self,
        _name: &str,
    ) -> impl Future<Output = Result<Option<crate::contract::ComponentSpec>, ResolveError>> + Send
    {
        async { Ok(None) }
    }
}

/// What a deployed resource says it uses, for an event that lost it (CloudTrail leaves out
/// `requestParameters` that are too large).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub targets: Vec<Target>,
    /// Where it came from, for the reasons: e.g. `DescribeTrainingJob's RoleArn`.
    pub source: String,
    /// Where the call's change lands, when that is another resource than the one it names: a
    /// promotion's endpoint (the experiment's describe names it).
    pub acts_on: Option<ResourceRef>,
}

/// Describes the resource a request created or changed: what it uses, as its own describe says.
/// A resource created in a later second than the one after the call's (`call`;
/// `records::created_after_the_call`) is another one under the same name, and says nothing about
/// the call: unresolvable.
pub trait Recovery {
    fn deployed(
        &self,
        resource: &ResourceRef,
        call: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Recovered, ResolveError>> + Send;
}

/// Where resolution looks: SageMaker's describes, the records of what models and configs
/// contained, and how long a missing record is waited for.
pub struct Lookups<'a, R, S> {
    pub resolver: &'a R,
    pub records: &'a S,
    pub now: DateTime<Utc>,
    /// A record a deployment needs and that has not arrived is waited for (the resolution
    /// fails with `RecordsPending`) until then; after it, what the records cannot settle is
    /// unresolvable.
    pub wait_until: DateTime<Utc>,
    /// What the policy needs learnt beyond models and roles (each costs describes).
    pub needs: ContentNeeds,
}

impl<R, S> Clone for Lookups<'_, R, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, S> Copy for Lookups<'_, R, S> {}

/// A request's subjects, and what was learnt on the way (records used, what was recovered from
/// where), for the verdict's reasons.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution {
    pub subjects: Vec<ResolvedSubject>,
    pub notes: Vec<String>,
    /// The resource the verdict is about, when it is not the one the request names
    /// ([`Recovered::acts_on`]).
    pub acts_on: Option<ResourceRef>,
    /// The evaluation may still wait for SageMaker to catch up (within the records' wait): what
    /// is not written yet may be waited for rather than judged without.
    pub may_wait: bool,
    /// Each endpoint config the request deploys, as it was known at the call: what an allowed
    /// deployment is rolled back to (`Restorable`).
    pub configs: Vec<ConfigAtTheCall>,
}

/// An endpoint config as the resolution knew it at the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigAtTheCall {
    pub name: String,
    /// The models of its variants.
    pub models: Vec<String>,
    /// Its creation time, where its describe gave it (a config known from its record was made
    /// in the second of the call, or deleted or re-created since).
    pub created: Option<DateTime<Utc>>,
}

/// The subjects of a request: every model it deploys and every execution role involved, each
/// once, in the order found, with each model and endpoint config judged as it was at the call.
/// What cannot be resolved is a subject with `unresolved` set; a describe that failed in a way
/// that may pass, or a record not yet arrived (within the wait), fails the whole resolution.
pub async fn resolve_subjects<R: Resolver + Recovery, S: RecordStore>(
    request: &Request,
    lookups: &Lookups<'_, R, S>,
) -> Result<Resolution, GuardError> {
    let call_time = request.call_time();
    let mut subjects = Subjects {
        list: Vec::new(),
        notes: Vec::new(),
        call_time,
        scope: request.scope.as_deref(),
        lookups,
        resolved: BTreeMap::new(),
        packages: HashMap::new(),
        acts_on: None,
        configs: Vec::new(),
    };
    let targets = subjects.recover(request).await?;
    if lookups.needs.resolved_images {
        subjects.deployed_images(request, &targets).await?;
    }
    for target in &targets {
        match target {
            Target::EndpointConfig { name } => subjects.endpoint_config(name).await?,
            Target::Model { name } => subjects.model(name, None, Through::Request).await?,
            Target::Role { arn } => subjects.role(arn, None, Through::Request),
            Target::Image { uri } => subjects.image(uri, None, Through::Request),
            Target::Data { uri, prefix } => {
                let data = DataLocation {
                    uri: uri.clone(),
                    prefix: *prefix,
                };
                subjects.data(&data, None, Through::Request);
            }
            Target::Package { name } => {
                subjects.package(name, None, Through::Request).await?;
            }
            Target::InferenceComponentModel { name } => {
                match lookups.resolver.inference_component(name).await {
                    Ok(InferenceComponentInfo {
                        model_name: Some(model),
                        ..
                    }) => {
                        let via = format!("inference component {name}");
                        let through = Through::InferenceComponent { name: name.clone() };
                        subjects.model(&model, Some(&via), through).await?;
                    }
                    Ok(InferenceComponentInfo {
                        model_name: None,
                        container: Some(container),
                    }) => {
                        let via = format!("inference component {name}'s container");
                        let through = Through::InferenceComponent { name: name.clone() };
                        subjects.container(&container, &via, through).await?;
                    }
                    Ok(InferenceComponentInfo {
                        model_name: None,
                        container: None,
                    }) => {
                        subjects.push(
                            SubjectKind::InferenceComponent,
                            name.clone(),
                            None,
                            Some(
                                "it names no model (or deploys different content per instance \
                                 type)"
                                    .to_owned(),
                            ),
                            Through::Request,
                        );
                    }
                    Err(ResolveError::Unresolvable(why)) => {
                        subjects.push(
                            SubjectKind::InferenceComponent,
                            name.clone(),
                            None,
                            Some(why),
                            Through::Request,
                        );
                    }
                    Err(ResolveError::Failed(error)) => return Err(error),
                }
            }
            // Its describe could not say (the notes say why): the role is not known.
            Target::ResourceRole => subjects.list.push(ResolvedSubject {
                unresolved: Some(format!(
                    "{} names no role, and the {} {} could not say which it runs under",
                    request.event_name, request.resource.resource_type, request.resource.name
                )),
                unnamed: true,
                ..ResolvedSubject::new(
                    SubjectKind::Role,
                    format!("the {}'s own role", request.resource.resource_type),
                    Through::Request,
                )
            }),
            Target::Unreadable {
                expected,
                field,
                problem,
            } => subjects.list.push(ResolvedSubject {
                unresolved: Some(format!("{field} {problem}")),
                unnamed: true,
                ..ResolvedSubject::new(*expected, field.clone(), Through::Request)
            }),
        }
    }
    Ok(Resolution {
        subjects: subjects.list,
        notes: subjects.notes,
        acts_on: subjects.acts_on,
        may_wait: lookups.now < lookups.wait_until,
        configs: subjects.configs,
    })
}

struct Subjects<'a, 'b, R, S> {
    list: Vec<ResolvedSubject>,
    notes: Vec<String>,
    call_time: Option<DateTime<Utc>>,
    /// Where the call was made (`organization`): records are kept per account and region.
    scope: Option<&'a str>,
    lookups: &'a Lookups<'b, R, S>,
    /// Image URIs as specified → the digests SageMaker resolved them to for this deployment.
    resolved: BTreeMap<String, Vec<String>>,
    /// Each model package described once per event (folded name → what it is).
    packages: HashMap<String, Result<PackageInfo, String>>,
    acts_on: Option<ResourceRef>,
    configs: Vec<ConfigAtTheCall>,
}

/// What a name was at the call.
enum AtTheCall<T> {
    /// Every version that may have been current, each with how it was known (`None`: the
    /// describe, as usual) or why its content is unknown.
    Versions(Vec<Result<(T, Option<String>), String>>),
    Unresolvable(String),
}

/// A model's or config's content as a describe gives it, or as its record kept it.
trait Content: Sized {
    const KIND: RecordKind;
    fn created(&self) -> Option<DateTime<Utc>>;
    fn from_record(content: &RecordContent) -> Self;
}

impl Content for EndpointConfigInfo {
    const KIND: RecordKind = RecordKind::EndpointConfig;
    fn created(&self) -> Option<DateTime<Utc>> {
        self.created
    }
    fn from_record(content: &RecordContent) -> Self {
        EndpointConfigInfo {
            models: content.models.clone(),
            execution_role_arn: content.execution_role_arn.clone(),
            created: None,
        }
    }
}

impl Content for ModelInfo {
    const KIND: RecordKind = RecordKind::Model;
    fn created(&self) -> Option<DateTime<Utc>> {
        self.created
    }
    fn from_record(content: &RecordContent) -> Self {
        ModelInfo {
            execution_role_arn: content.execution_role_arn.clone(),
            created: None,
            containers: content.containers.clone(),
        }
    }
}

/// How a subject was reached, and how it was written where that differs from the form it is
/// judged in.
fn given_as(via: Option<&str>, given: &str, canonical: &str) -> Option<String> {
    match (via, given == canonical) {
        (via, true) => via.map(str::to_owned),
        (Some(via), false) => Some(format!("{via}, given as {given}")),
        (None, false) => Some(format!("given as {given}")),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl<R: Resolver + Recovery, S: RecordStore> Subjects<'_, '_, R, S> {
    /// The request's targets, with what the event lost recovered from the resource itself.
    async fn recover(&mut self, request: &Request) -> Result<Vec<Target>, GuardError> {
        let unreadable = |t: &Target| matches!(t, Target::Unreadable { .. } | Target::ResourceRole);
        if request.resource.resource_type == ResourceType::PromotedEndpoint {
            return self.promotion(request).await;
        }
        if !request.targets.iter().any(unreadable) {
            return Ok(request.targets.clone());
        }
        // A CreateModel's subject is the model it made, which the event names in its ARN: judged
        // by what SageMaker and the records say it was at the call.
        if request.resource.resource_type == ResourceType::Model {
            self.notes.push(format!(
                "the event lost the call's parameters: model {} is judged by what SageMaker and \
                 the records say it was at the call",
                request.resource.name
            ));
            return Ok(vec![Target::Model {
                name: request.resource.name.clone(),
            }]);
        }
        let deployed = self
            .lookups
            .resolver
            .deployed(&request.resource, self.call_time);
        match deployed.await {
            Ok(recovered) if !recovered.targets.is_empty() => {
                let lost: Vec<String> = request
                    .targets
                    .iter()
                    .filter_map(|t| match t {
                        Target::Unreadable { field, problem, .. } => {
                            Some(format!("{field} {problem}"))
                        }
                        _ => None,
                    })
                    .collect();
                self.notes.push(if lost.is_empty() {
                    if request.resource.resource_type == ResourceType::ModelPackage {
                        format!(
                            "{} names the version it approves in its response only: judged as \
                             {} says",
                            request.event_name, recovered.source
                        )
                    } else {
                        format!(
                            "{} names no role: it runs under the {}'s own, as {} says",
                            request.event_name, request.resource.resource_type, recovered.source
                        )
                    }
                } else {
                    format!(
                        "the event lost what the call used ({}): recovered from {}",
                        lost.join("; "),
                        recovered.source
                    )
                });
                let mut targets: Vec<Target> = request
                    .targets
                    .iter()
                    .filter(|t| !unreadable(t))
                    .cloned()
                    .collect();
                for target in recovered.targets {
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
                Ok(targets)
            }
            // A resource that may run under no role says it does (a lifecycle configuration no
            // instance uses): a call that named none has no subject; the default item decides.
            // Elsewhere a describe without a role is a describe that could not say (fail closed).
            Ok(recovered)
                if request.resource.resource_type.may_run_under_no_role()
                    && request
                        .targets
                        .iter()
                        .all(|t| matches!(t, Target::ResourceRole)) =>
            {
                self.notes.push(format!(
                    "{} names no role, and nothing runs under one: {}",
                    request.event_name, recovered.source
                ));
                Ok(Vec::new())
            }
            Ok(_) => Ok(request.targets.clone()),
            Err(ResolveError::Unresolvable(why)) => {
                let lost = request
                    .targets
                    .iter()
                    .any(|t| matches!(t, Target::Unreadable { .. }));
                self.notes.push(if lost {
                    format!(
                        "the event lost what the call used, and the {} itself could not say: {why}",
                        request.resource.resource_type
                    )
                } else {
                    format!(
                        "{} names no role, and the {} itself could not say which: {why}",
                        request.event_name, request.resource.resource_type
                    )
                });
                Ok(request.targets.clone())
            }
            Err(ResolveError::Failed(e)) => Err(e),
        }
    }

    /// A promotion deploys the models it names, and, whatever it names, the experiment's
    /// shadows may be among them: both are judged. The experiment's describe says which
    /// endpoint it lands on, and the verdict is about that endpoint: deleting the experiment
    /// during the grace then hides nothing, and the endpoint's custody covers it.
    async fn promotion(&mut self, request: &Request) -> Result<Vec<Target>, GuardError> {
        // No target: the gate (a Promote action) is shut, and nothing is deployed.
        if request.targets.is_empty() {
            return Ok(Vec::new());
        }
        let lost: Vec<String> = request
            .targets
            .iter()
            .filter_map(|t| match t {
                Target::Unreadable { field, problem, .. } => Some(format!("{field} {problem}")),
                _ => None,
            })
            .collect();
        let mut targets: Vec<Target> = request
            .targets
            .iter()
            .filter(|t| !matches!(t, Target::ResourceRole | Target::Unreadable { .. }))
            .cloned()
            .collect();
        let named = !targets.is_empty();
        let described = self
            .lookups
            .resolver
            .deployed(&request.resource, self.call_time);
        let recovered = match described.await {
            Ok(recovered) => recovered,
            Err(ResolveError::Unresolvable(why)) => {
                self.notes.push(format!(
                    "the inference experiment could not say what it promotes, or onto which \
                     endpoint: {why}"
                ));
                return Ok(request.targets.clone());
            }
            Err(ResolveError::Failed(e)) => return Err(e),
        };
        // The endpoint lives where its experiment does: its ARN is the experiment's, retyped.
        self.acts_on = recovered.acts_on.clone().map(|mut on| {
            on.arn = on.arn.or_else(|| {
                let arn = request.resource.arn.as_deref()?;
                let (prefix, _) = arn.split_once(":inference-experiment/")?;
                Some(format!("{prefix}:endpoint/{}", on.name))
            });
            on
        });
        for target in recovered.targets {
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        // It promotes, yet nothing says what: judged as what could not be resolved (fail closed),
        // never as a call that deploys nothing.
        if targets.is_empty() {
            self.notes.push(format!(
                "{} promotes, but neither it nor {} names a model",
                request.event_name, recovered.source
            ));
            return Ok(request.targets.clone());
        }
        if !lost.is_empty() {
            self.notes.push(format!(
                "the event lost what the call used ({}): recovered from {}",
                lost.join("; "),
                recovered.source
            ));
        }
        let onto = match &recovered.acts_on {
            Some(on) => format!("onto {} {}", on.resource_type, on.name),
            None => "onto no endpoint the experiment names (the guard acts on the experiment)"
                .to_owned(),
        };
        self.notes.push(if named {
            format!(
                "{} promotes {onto}, judged with the shadows {} says",
                request.event_name, recovered.source
            )
        } else {
            format!(
                "{} names no model: it promotes {onto} what {} says",
                request.event_name, recovered.source
            )
        });
        Ok(targets)
    }

    /// What `name` was at the call: as described now when it existed before the call's second
    /// (and exists still, so it was current at the call), else by its records.
    async fn at_the_call<T: Content>(
        &mut self,
        name: &str,
        described: Result<T, ResolveError>,
    ) -> Result<AtTheCall<T>, GuardError> {
        let (described, problem) = match described {
            Ok(info) => {
                let problem = match (info.created(), self.call_time) {
                    // It was there a whole second before the call's second began, and is there
                    // still: what the call used, whatever the skew between CloudTrail's clock
                    // and SageMaker's.
                    (Some(created), Some(call))
                        if created < whole_second(call) - Duration::seconds(1) =>
                    {
                        return Ok(AtTheCall::Versions(vec![Ok((info, None))]));
                    }
                    (Some(created), None) => format!("it was created at {}", rfc3339(created)),
                    (Some(created), Some(_)) => format!(
                        "it was created at {}, too close to the call (or after it) to be sure it \
                         is what the call used",
                        rfc3339(created)
                    ),
                    (None, _) => "SageMaker gives no creation time".to_owned(),
                };
                (Some(info), problem)
            }
            Err(ResolveError::Unresolvable(why)) => (None, why),
            Err(ResolveError::Failed(e)) => return Err(e),
        };
        let Some(call) = self.call_time else {
            // CloudTrail always gives the call's time; without it nothing shows that what is
            // there now (if anything) is what the call used.
            return Ok(AtTheCall::Unresolvable(format!(
                "{problem}; the event has no usable eventTime to place the call by"
            )));
        };
        let history = self
            .lookups
            .records
            .history(T::KIND, name, self.scope)
            .await?;
        if history.truncated {
            return Ok(AtTheCall::Unresolvable(format!(
                "{problem}; it has more than {MAX_HISTORY} records, too many to place the call in"
            )));
        }
        let history = history.records;
        let now = match described.as_ref().map(Content::created) {
            Some(Some(created)) => Now::CreatedAt(created),
            Some(None) => Now::Exists,
            None => Now::Gone,
        };
        match versions_at_call(&history, call, now) {
            AtCall::Versions(versions) => {
                let how = versions
                    .iter()
                    .map(|v| match v {
                        Version::Recorded(r) | Version::Described(r) => r.describe(),
                    })
                    .collect::<Vec<_>>();
                self.notes.push(if how.len() == 1 {
                    format!(
                        "{} {name}: {problem}; judged by what it was at the call, the record of {}",
                        T::KIND,
                        how[0]
                    )
                } else {
                    format!(
                        "{} {name}: {problem}, and it was created again within the second of the \
                         call; judged by every version that may have been current: {}",
                        T::KIND,
                        how.join("; ")
                    )
                });
                let mut out = Vec::with_capacity(versions.len());
                let mut described = described;
                for version in versions {
                    out.push(match version {
                        Version::Recorded(r) => match &r.content {
                            Some(content) => Ok((T::from_record(content), Some(r.describe()))),
                            None => Err(format!(
                                "the record of {} has no content (the event's requestParameters \
                                 were left out) and it is not the version SageMaker describes",
                                r.describe()
                            )),
                        },
                        Version::Described(r) => match described.take() {
                            Some(info) => {
                                Ok((info, Some(format!("{}, as described", r.describe()))))
                            }
                            None => Err(format!("the record of {} has no content", r.describe())),
                        },
                    });
                }
                Ok(AtTheCall::Versions(out))
            }
            AtCall::Incomplete(why) => {
                if self.lookups.now < self.lookups.wait_until {
                    Err(GuardError::new(
                        ErrorKind::RecordsPending,
                        format!("{} {name}: {why}; waiting for its records", T::KIND),
                    ))
                } else {
                    Ok(AtTheCall::Unresolvable(format!(
                        "{problem}; the records cannot say what it was at the call: {why}"
                    )))
                }
            }
        }
    }

    async fn endpoint_config(&mut self, name: &str) -> Result<(), GuardError> {
        let described = self.lookups.resolver.endpoint_config(name).await;
        match self.at_the_call(name, described).await? {
            AtTheCall::Versions(versions) => {
                for version in versions {
                    let (config, recorded) = match version {
                        Ok(v) => v,
                        Err(why) => {
                            self.push(
                                SubjectKind::EndpointConfig,
                                name.to_owned(),
                                None,
                                Some(why),
                                Through::Request,
                            );
                            continue;
                        }
                    };
                    self.configs.push(ConfigAtTheCall {
                        name: name.to_owned(),
                        models: config.models.clone(),
                        created: config.created.filter(|_| recorded.is_none()),
                    });
                    let via = match &recorded {
                        Some(record) => format!("endpoint config {name}, {record}"),
                        None => format!("endpoint config {name}"),
                    };
                    let through = Through::EndpointConfig {
                        name: name.to_owned(),
                        models: config.models.clone(),
                    };
                    if let Some(role) = &config.execution_role_arn {
                        self.role(role, Some(&via), through.clone());
                    }
                    for model in &config.models {
                        self.model(model, Some(&via), through.clone()).await?;
                    }
                }
            }
            AtTheCall::Unresolvable(why) => {
                self.push(
                    SubjectKind::EndpointConfig,
                    name.to_owned(),
                    None,
                    Some(why),
                    Through::Request,
                );
            }
        }
        Ok(())
    }

    /// Adds a subject, or, when it is already there (names compare without ASCII case, content
    /// as written), the new way to it; either way, the subject.
    fn push(
        &mut self,
        kind: SubjectKind,
        name: String,
        via: Option<&str>,
        unresolved: Option<String>,
        through: Through,
    ) -> &mut ResolvedSubject {
        let existing = self.list.iter().position(|s| {
            s.kind == kind
                && if kind.is_content() {
                    s.name == name
                } else {
                    s.name.eq_ignore_ascii_case(&name)
                }
        });
        let at = match existing {
            Some(at) => {
                let subject = &mut self.list[at];
                if !subject.through.contains(&through) {
                    subject.through.push(through);
                }
                // What could not be resolved one way is unresolved, whatever another way found.
                if subject.unresolved.is_none() {
                    subject.unresolved = unresolved;
                }
                at
            }
            None => {
                self.list.push(ResolvedSubject {
                    via: via.map(str::to_owned),
                    unresolved,
                    ..ResolvedSubject::new(kind, name, through)
                });
                self.list.len() - 1
            }
        };
        &mut self.list[at]
    }

    /// What SageMaker resolved the deployment's image tags to (endpoints and inference
    /// components; transform jobs and CreateModel never resolve).
    async fn deployed_images(
        &mut self,
        request: &Request,
        targets: &[Target],
    ) -> Result<(), GuardError> {
        let config = match request.resource.resource_type {
            ResourceType::Endpoint => targets.iter().find_map(|t| match t {
                Target::EndpointConfig { name } => Some(name.as_str()),
                _ => None,
            }),
            ResourceType::InferenceComponent => None,
            _ => return Ok(()),
        };
        let found = self
            .lookups
            .resolver
            .deployed_images(&request.resource, config);
        match found.await {
            Ok(deployed) => {
                for image in deployed.images {
                    let Some(digest) = resolved_digest(&image.resolved) else {
                        continue;
                    };
                    let digests = self.resolved.entry(image.specified.clone()).or_default();
                    if !digests.contains(&digest) {
                        digests.push(digest);
                    }
                }
                if !self.resolved.is_empty() {
                    self.notes.push(format!(
                        "image tags as SageMaker resolved them ({}): {}",
                        deployed.source,
                        self.resolved
                            .iter()
                            .map(|(specified, digests)| format!(
                                "{specified} → {}",
                                digests.join(" and ")
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
            }
            Err(ResolveError::Unresolvable(why)) => self.notes.push(format!(
                "what SageMaker resolved image tags to could not be read ({why}): a tag meets no \
                 digest pin"
            )),
            Err(ResolveError::Failed(e)) => return Err(e),
        }
        Ok(())
    }

    /// An image: its digest where known (written in its URI, or the one SageMaker resolved its
    /// tag to for this deployment; a tag resolved to two digests knows none).
    fn image(&mut self, uri: &str, via: Option<&str>, through: Through) {
        let written = ImageRef::parse(uri).digest.filter(|d| is_digest(d));
        // SageMaker reports the image as specified.
        let digest = match (written, self.resolved.get(uri).map(Vec::as_slice)) {
            (Some(d), _) => Some(d.to_owned()),
            (None, Some([one])) => Some(one.clone()),
            _ => None,
        };
        let name = canonical_image_uri(uri);
        let via = given_as(via, uri, &name);
        let subject = self.push(SubjectKind::Image, name, via.as_deref(), None, through);
        subject.digest = subject.digest.take().or(digest);
    }

    fn data(&mut self, data: &DataLocation, via: Option<&str>, through: Through) {
        let name = canonical_data_uri(&data.uri);
        let via = given_as(via, &data.uri, &name);
        let subject = self.push(SubjectKind::Data, name, via.as_deref(), None, through);
        // Served as a prefix any one way: it serves anything under it.
        subject.prefix |= data.prefix;
    }

    /// A container's image, data and package (and the package's own containers).
    async fn container(
        &mut self,
        container: &ContainerContent,
        via: &str,
        through: Through,
    ) -> Result<(), GuardError> {
        if let Some(image) = &container.image {
            self.image(image, Some(via), through.clone());
        }
        for data in &container.data {
            self.data(data, Some(via), through.clone());
        }
        if let Some(package) = &container.package {
            self.package(package, Some(via), through).await?;
        }
        Ok(())
    }

    /// A model package: described once per event, when the policy needs it (its group, its
    /// approval, the content it carries).
    async fn package(
        &mut self,
        name: &str,
        via: Option<&str>,
        through: Through,
    ) -> Result<(), GuardError> {
        if !self.lookups.needs.packages {
            self.push(SubjectKind::Package, name.to_owned(), via, None, through);
            return Ok(());
        }
        let key = name.to_ascii_lowercase();
        let described = match self.packages.get(&key) {
            Some(known) => known.clone(),
            None => {
                let known = match self.lookups.resolver.model_package(name).await {
                    Ok(info) => Ok(info),
                    Err(ResolveError::Unresolvable(why)) => Err(why),
                    Err(ResolveError::Failed(e)) => return Err(e),
                };
                self.packages.insert(key, known.clone());
                known
            }
        };
        match described {
            Ok(info) => {
                let package = self.push(
                    SubjectKind::Package,
                    name.to_owned(),
                    via,
                    None,
                    through.clone(),
                );
                package.group.clone_from(&info.group);
                package.approval.clone_from(&info.approval);
                let via = match via {
                    Some(via) => format!("{via}, package {name}"),
                    None => format!("package {name}"),
                };
                for container in &info.containers {
                    // A package's containers name no package of their own.
                    if let Some(image) = &container.image {
                        self.image(image, Some(&via), through.clone());
                    }
                    for data in &container.data {
                        self.data(data, Some(&via), through.clone());
                    }
                }
            }
            Err(why) => {
                self.push(
                    SubjectKind::Package,
                    name.to_owned(),
                    via,
                    Some(why),
                    through,
                );
            }
        }
        Ok(())
    }

    fn role(&mut self, arn: &str, via: Option<&str>, through: Through) {
        self.push(SubjectKind::Role, canonical_arn(arn), via, None, through);
    }

    async fn model(
        &mut self,
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
        let described = self.lookups.resolver.model(name).await;
        match self.at_the_call(name, described).await? {
            AtTheCall::Versions(versions) => {
                for version in versions {
                    match version {
                        Ok((model, recorded)) => {
                            let content_needed = self.lookups.needs.packages;
                            let unknown =
                                (model.containers.is_none() && content_needed).then(|| {
                                    "its containers are not known (its record keeps none)"
                                        .to_owned()
                                });
                            self.push(
                                SubjectKind::Model,
                                name.to_owned(),
                                via,
                                unknown,
                                through.clone(),
                            );
                            let own_via = match &recorded {
                                Some(record) => format!("model {name}, {record}"),
                                None => format!("model {name}"),
                            };
                            let own = Through::Model {
                                name: name.to_owned(),
                            };
                            if let Some(role) = &model.execution_role_arn {
                                self.role(role, Some(&own_via), own.clone());
                            }
                            for container in model.containers.iter().flatten() {
                                self.container(container, &own_via, own.clone()).await?;
                            }
                        }
                        Err(why) => {
                            self.push(
                                SubjectKind::Model,
                                name.to_owned(),
                                via,
                                Some(why),
                                through.clone(),
                            );
                        }
                    }
                }
            }
            AtTheCall::Unresolvable(why) => {
                self.push(SubjectKind::Model, name.to_owned(), via, Some(why), through);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, CatalogResolver};
    use crate::contract::{ResourceType, Version1};

    fn resolve(
        catalog: serde_json::Value,
        targets: Vec<Target>,
        wait: i64,
    ) -> Result<Resolution, GuardError> {
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
            targets,
            pipeline_execution: None,
            scope: None,
        };
        let lookups = Lookups {
            resolver: &resolver,
            records: &resolver,
            now: DateTime::parse_from_rfc3339("2026-11-20T10:15:35Z")
                .unwrap_or_else(|e| panic!("{e}"))
                .with_timezone(&Utc),
            wait_until: DateTime::parse_from_rfc3339("2026-11-20T10:15:30Z")
                .unwrap_or_else(|e| panic!("{e}"))
                .with_timezone(&Utc)
                + Duration::seconds(wait),
            needs: ContentNeeds::default(),
        };
        pollster::block_on(resolve_subjects(&request, &lookups))
    }

    fn model_created(created: &str) -> Vec<ResolvedSubject> {
        let catalog = serde_json::json!({"models": {"m": {
            "executionRoleArn": "arn:aws:iam::1:role/p/Exec", "creationTime": created}}});
        resolve(catalog, vec![Target::Model { name: "M".into() }], 0)
            .unwrap_or_else(|e| panic!("{e}"))
            .subjects
    }

    #[test]
    fn a_resource_that_says_it_uses_nothing_leaves_what_the_event_lost_unresolved() {
        // Recovery that finds nothing must not drop the unreadable subject (that would judge
        // the call by what was left, and could allow it).
        let catalog = serde_json::json!({"deployed": {"transform-job/t": []}});
        let lost = Target::Unreadable {
            expected: SubjectKind::Model,
            field: "requestParameters".into(),
            problem: "is missing".into(),
        };
        let resolution = resolve(catalog, vec![lost], 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resolution.subjects.len(), 1, "{resolution:?}");
        assert!(
            resolution.subjects[0].unresolved.is_some(),
            "{resolution:?}"
        );
    }

    #[test]
    fn exactly_one_second_before_the_calls_second_is_too_close() {
        // The margin is strict: a create stamped at 10:15:29.000 for a call at 10:15:30 could be
        // a second late on SageMaker's clock.
        let at_the_margin = model_created("2026-11-20T10:15:29.000Z");
        assert!(at_the_margin[0].unresolved.is_some(), "{at_the_margin:?}");
        let just_before = model_created("2026-11-20T10:15:28.999Z");
        assert!(just_before[0].unresolved.is_none(), "{just_before:?}");
    }

    #[test]
    fn a_model_reached_twice_is_judged_once_with_both_ways() {
        let catalog = serde_json::json!({
            "models": {"m": {"executionRoleArn": "arn:aws:iam::1:role/Exec",
                             "creationTime": "2026-11-20T10:00:00Z"}},
            "inferenceComponents": {"ic": {"modelName": "m"}}});
        let subjects = resolve(
            catalog,
            vec![
                Target::Model { name: "M".into() },
                Target::InferenceComponentModel { name: "ic".into() },
                Target::Model { name: "m".into() },
            ],
            0,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .subjects;
        let models: Vec<&ResolvedSubject> = subjects
            .iter()
            .filter(|s| s.kind == SubjectKind::Model)
            .collect();
        assert_eq!(models.len(), 1, "{subjects:?}");
        assert_eq!(
            models[0].through,
            [
                Through::Request,
                Through::InferenceComponent { name: "ic".into() }
            ]
        );
    }

    #[test]
    fn a_model_that_existed_a_second_before_the_calls_second_is_what_the_call_used() {
        let before = model_created("2026-11-20T10:15:28.900Z");
        assert_eq!(before.len(), 2, "{before:?}");
        assert_eq!(before[1].name, "arn:aws:iam::1:role/p/Exec");
        assert!(before.iter().all(|s| s.unresolved.is_none()));
    }

    #[test]
    fn a_model_created_close_to_within_or_after_the_calls_second_without_records_is_unresolved() {
        // Within a second before the call: the clocks of CloudTrail and SageMaker may differ
        // by that much, so only the records can say.
        for created in [
            "2026-11-20T10:15:29.900Z",
            "2026-11-20T10:15:30.900Z",
            "2026-11-20T10:16:00Z",
        ] {
            let after = model_created(created);
            assert_eq!(after.len(), 1, "{after:?}");
            assert!(
                after[0]
                    .unresolved
                    .as_deref()
                    .is_some_and(|w| w.contains("the records cannot say")),
                "{after:?}"
            );
        }
    }

    #[test]
    fn a_missing_record_is_waited_for_within_the_wait_only() {
        let catalog =
            serde_json::json!({"models": {"m": {"creationTime": "2026-11-20T10:15:30.5Z"}}});
        let waiting = resolve(
            catalog.clone(),
            vec![Target::Model { name: "m".into() }],
            60,
        );
        assert!(
            waiting
                .as_ref()
                .is_err_and(|e| e.kind == ErrorKind::RecordsPending),
            "{waiting:?}"
        );
        let given_up = resolve(catalog, vec![Target::Model { name: "m".into() }], 5);
        assert!(given_up.is_ok_and(|r| r.subjects[0].unresolved.is_some()));
    }

    #[test]
    fn what_the_event_lost_is_recovered_from_the_resource() {
        let catalog = serde_json::json!({
            "models": {"m": {"executionRoleArn": "arn:aws:iam::1:role/Exec",
                             "creationTime": "2026-11-01T00:00:00Z"}},
            "deployed": {"transform-job/t": [{"kind": "model", "name": "m"}]}});
        let lost = Target::Unreadable {
            expected: SubjectKind::Model,
            field: "requestParameters".into(),
            problem: "is missing".into(),
        };
        let r = resolve(catalog, vec![lost.clone()], 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.subjects.len(), 2, "{r:?}");
        assert!(r.subjects.iter().all(|s| s.unresolved.is_none()));
        assert!(
            r.notes[0].contains("recovered from the catalog's transform-job/t"),
            "{r:?}"
        );
        // Nothing to recover from: the lost field stays unresolved, and the notes say why.
        let r = resolve(serde_json::json!({}), vec![lost], 0).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.subjects[0].unresolved.is_some() && r.subjects[0].unnamed);
        assert!(r.notes[0].contains("could not say"), "{r:?}");
    }
}
