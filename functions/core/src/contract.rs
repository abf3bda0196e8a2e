//! The contracts between steps (DESIGN.md, "Contracts between steps"): every step's input and
//! output is one of these serde types, carrying `"version": 1`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::principal::{Caller, CallerRecord};
use crate::records::ResourceRecord;

/// The contract version, serialised as `1`; any other number is refused on input, so a step never
/// silently reads a contract it does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Version1;

impl Serialize for Version1 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(1)
    }
}

impl<'de> Deserialize<'de> for Version1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u64::deserialize(deserializer)? {
            1 => Ok(Version1),
            other => Err(serde::de::Error::custom(format!(
                "contract version {other} is not supported (this build reads version 1)"
            ))),
        }
    }
}

/// Resource types, as named in verdicts, notifications and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceType {
    Endpoint,
    InferenceComponent,
    TransformJob,
    TrainingJob,
    ProcessingJob,
    HyperParameterTuningJob,
    /// An AutoML job (CreateAutoMLJob and CreateAutoMLJobV2 alike).
    AutoMlJob,
    CompilationJob,
    EdgePackagingJob,
    LabelingJob,
    InferenceRecommendationsJob,
    OptimizationJob,
    /// A model monitoring schedule: it starts a monitoring job under its definition's role on
    /// every run.
    MonitoringSchedule,
    /// A data-quality, model-quality, bias or explainability job definition: a schedule runs it.
    MonitoringJobDefinition,
    /// A managed MLflow tracking server: it runs under its role while started.
    MlflowTrackingServer,
    /// A partner AI app (Comet, Deepchecks, Fiddler, Lakera): it acts with its execution role.
    PartnerApp,
    /// An Augmented AI flow definition: the human loops started against it act with its role.
    FlowDefinition,
    /// A SageMaker HyperPod cluster: each instance group's nodes run its lifecycle scripts and
    /// workloads under the group's execution role.
    Cluster,
    /// An inference experiment: shadow models beside a live endpoint's production variant, under
    /// the experiment's role.
    InferenceExperiment,
    /// The endpoint on which a stopped inference experiment promoted a shadow variant, named by
    /// the experiment (the stop names no endpoint; the experiment's describe does).
    PromotedEndpoint,
    /// A model, judged when it is created (CreateModel: an early warning, notify-only unless a
    /// binding opts in).
    Model,
    NotebookInstance,
    /// A pipeline: its role runs nothing until an execution starts (notify-only by nature).
    Pipeline,
    /// One run of a pipeline; named `PIPELINE/EXECUTION-ID` from its ARN.
    PipelineExecution,
    /// A notebook instance lifecycle configuration: scripts run as root, under the role of every
    /// instance that uses it, at their next start.
    NotebookLifecycleConfig,
    /// A Studio domain, named by its ID (`d-…`).
    Domain,
    /// A Studio user profile, named `DOMAIN/PROFILE`.
    UserProfile,
    /// A Studio space, named `DOMAIN/SPACE`.
    Space,
    /// A SageMaker project: a CloudFormation template provider's stack is made under the role
    /// the call names.
    Project,
    /// A model package version, named by its ARN: its approval is judged (notify-only by nature).
    ModelPackage,
    /// A Studio app, named `DOMAIN/user-profile/PROFILE/TYPE/APP` or `DOMAIN/space/SPACE/TYPE/APP`.
    App,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::NotebookInstance => "notebook-instance",
            ResourceType::Pipeline => "pipeline",
            ResourceType::PipelineExecution => "pipeline-execution",
            ResourceType::NotebookLifecycleConfig => "notebook-lifecycle-config",
            ResourceType::Domain => "domain",
            ResourceType::UserProfile => "user-profile",
            ResourceType::Space => "space",
            ResourceType::App => "app",
            ResourceType::Endpoint => "endpoint",
            ResourceType::InferenceComponent => "inference-component",
            ResourceType::TransformJob => "transform-job",
            ResourceType::TrainingJob => "training-job",
            ResourceType::ProcessingJob => "processing-job",
            ResourceType::HyperParameterTuningJob => "hyper-parameter-tuning-job",
            ResourceType::AutoMlJob => "automl-job",
            ResourceType::CompilationJob => "compilation-job",
            ResourceType::EdgePackagingJob => "edge-packaging-job",
            ResourceType::LabelingJob => "labeling-job",
            ResourceType::InferenceRecommendationsJob => "inference-recommendations-job",
            ResourceType::OptimizationJob => "optimization-job",
            ResourceType::MonitoringSchedule => "monitoring-schedule",
            ResourceType::MonitoringJobDefinition => "monitoring-job-definition",
            ResourceType::MlflowTrackingServer => "mlflow-tracking-server",
            ResourceType::PartnerApp => "partner-app",
            ResourceType::FlowDefinition => "flow-definition",
            ResourceType::Cluster => "cluster",
            ResourceType::InferenceExperiment => "inference-experiment",
            ResourceType::PromotedEndpoint => "promoted-endpoint",
            ResourceType::ModelPackage => "model-package",
            ResourceType::Project => "project",
        }
    }
}

impl ResourceType {
    /// Whether a resource of this type may legitimately run under no role: a lifecycle
    /// configuration no instance uses, a domain that sets no defaults. For the others (whose
    /// describe always names a role) a describe naming none could not say, and the guard fails
    /// closed.
    pub fn may_run_under_no_role(self) -> bool {
        matches!(
            self,
            ResourceType::NotebookLifecycleConfig | ResourceType::Domain
        )
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resource a request created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    pub name: String,
    pub arn: Option<String>,
}

/// What a subject is. `endpoint-config` and `inference-component` only appear for a subject that
/// could not be resolved into the models behind it. `image`, `data` and `package` are what a
/// model or container runs: its content, whatever its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    Model,
    Role,
    EndpointConfig,
    InferenceComponent,
    /// A container image URI.
    Image,
    /// An S3 location of model data.
    Data,
    /// A model package (a version in SageMaker's model registry).
    Package,
}

impl SubjectKind {
    /// The content kinds: judged by `image#`, `data#` and `package#` keys, and by `default` only
    /// when the policy has a key of the kind.
    pub fn is_content(self) -> bool {
        matches!(
            self,
            SubjectKind::Image | SubjectKind::Data | SubjectKind::Package
        )
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectKind::Model => "model",
            SubjectKind::Role => "role",
            SubjectKind::EndpointConfig => "endpoint config",
            SubjectKind::InferenceComponent => "inference component",
            SubjectKind::Image => "image",
            SubjectKind::Data => "data",
            SubjectKind::Package => "package",
        })
    }
}

/// Something the parser found in the request that names, or leads to, the subjects to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// Resolved into its production and shadow variants' models and its own execution role.
    EndpointConfig { name: String },
    /// A model subject; resolved into its execution role.
    Model { name: String },
    /// An execution role subject, canonical (no path).
    Role { arn: String },
    /// Resolved into the model it serves (an update that does not name one, or an adapter's base).
    InferenceComponentModel { name: String },
    /// A container image the request names itself (an inference component's bare container).
    Image { uri: String },
    /// Model data the request names itself; `prefix`: everything under it is served.
    Data {
        uri: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        prefix: bool,
    },
    /// A model package version the request names itself (an approval).
    Package { name: String },
    /// The resource's own execution role, as its describe says (a call that names none, such as
    /// StartNotebookInstance, runs code under it).
    ResourceRole,
    /// A field that should name a subject is missing or unusable: the guard fails closed.
    Unreadable {
        expected: SubjectKind,
        field: String,
        problem: String,
    },
}

/// The output of ParseEvent for a covered, successful call: what Evaluate decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub version: Version1,
    pub event_id: String,
    pub event_name: String,
    pub event_time: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub principal: String,
    /// The principal is a role whose path the event did not give (an STS session ARN alone):
    /// Evaluate looks it up in IAM.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub principal_path_unknown: bool,
    /// An assumed role's session name (who it is for only where IAM Identity Center set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The session's source identity, where it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    pub resource: ResourceRef,
    pub targets: Vec<Target>,
    /// The pipeline execution the created resource says it is a step of (its
    /// `sagemaker:pipeline-execution-arn` tag): a claim, checked against the execution's own
    /// step list before it counts (`children`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_execution: Option<String>,
    /// Where the call was made, as the guard keys what it keeps: absent in the guard's own
    /// account and region, else `<account>/<region>` (`organization::Guarded::scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Request {
    /// The caller, as the principal rules see it.
    pub fn caller(&self) -> Caller {
        Caller {
            principal: self.principal.clone(),
            path_unknown: self.principal_path_unknown,
            session: self.session.clone(),
            source_identity: self.source_identity.clone(),
        }
    }

    /// When the call was made; `None` when the event gave no readable time.
    pub fn call_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.event_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    }

    /// The request with the caller as found (e.g. with its role's path looked up).
    pub fn set_caller(&mut self, caller: Caller) {
        self.principal = caller.principal;
        self.principal_path_unknown = caller.path_unknown;
        self.session = caller.session;
        self.source_identity = caller.source_identity;
    }
}

/// ParseEvent's output: a request to evaluate, or an event ignored with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum ParseOutcome {
    Request {
        request: Request,
    },
    /// A recorded call (CreateModel, CreateEndpointConfig, and their deletes): kept for judging
    /// later deployments, not judged itself.
    Record {
        record: ResourceRecord,
        /// A recorded call that is judged too (CreateModel): the request Record hands on to
        /// Evaluate once the record is kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<Box<Request>>,
    },
    Ignored {
        verdict: Verdict,
    },
}

/// A subject after resolution: a model or role by name, or what could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedSubject {
    pub kind: SubjectKind,
    pub name: String,
    /// How the subject was reached, e.g. `model fraud-v3` for that model's execution role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Why it could not be resolved; `None` when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    /// The field that should have named the subject was unusable: `name` is that field's path,
    /// and no binding is looked up for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unnamed: bool,
    /// Every way the request reached this subject. A role without a binding of its own is
    /// answered for by the bindings of the models every way to it passes through, when each has
    /// one; otherwise `default` judges it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through: Vec<Through>,
    /// An image's digest (`sha256:…`), where known: written in its URI, or what SageMaker
    /// resolved its tag to (the reasons say which).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Data: a prefix, everything under which is served (a multi-model endpoint's, or
    /// `S3Prefix` data).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix: bool,
    /// A package's model package group, from DescribeModelPackage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A package's `ModelApprovalStatus`, from DescribeModelPackage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

impl ResolvedSubject {
    /// A subject reached one way, with nothing learnt about it yet.
    pub fn new(kind: SubjectKind, name: String, through: Through) -> ResolvedSubject {
        ResolvedSubject {
            kind,
            name,
            via: None,
            unresolved: None,
            unnamed: false,
            through: vec![through],
            digest: None,
            prefix: false,
            group: None,
            approval: None,
        }
    }
}

/// How the request reached a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Through {
    /// The request names it itself (a job's `roleArn`, an endpoint's config, a transform's model).
    Request,
    /// It is this model's execution role.
    Model { name: String },
    /// It is this endpoint config's own execution role; the config deploys `models`.
    EndpointConfig { name: String, models: Vec<String> },
    /// It is the model this inference component serves.
    InferenceComponent { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Violation,
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    None,
    Notify,
    Enforce,
}

/// One subject of a verdict and the binding that judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectVerdict {
    pub kind: SubjectKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The `pk` of the binding that judged this subject: its own, `default`, or `unresolved` (the
    /// guard's own rule for what it cannot see); `null` when a role without a binding of its own
    /// is answered for by the bindings in `vouchedBy`.
    pub binding: Option<String>,
    /// For a role without a binding of its own, reached only through models with bindings of
    /// their own: those bindings, which answer for it (it is allowed when all of them allow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vouched_by: Vec<String>,
    /// Content that stands for more than one thing (a multi-model prefix serves anything under
    /// it; an image by a tag SageMaker did not resolve may be any digest of its repository):
    /// every other binding that could match one of those things, each of which must allow too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_bound_by: Vec<String>,
    pub allowed: bool,
    pub resolved: bool,
}

/// The approver patterns of one violated binding: an override needs a caller who matches at
/// least one pattern of every set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApproverSet {
    pub binding: String,
    pub any_of: Vec<String>,
}

/// The verdict Evaluate returns and `guardctl explain` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub version: Version1,
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub event_time: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub decision: Decision,
    pub action: Action,
    pub grace_seconds: u32,
    pub principal: Option<String>,
    /// The person behind the principal, where AWS establishes one: `identity-center-user:<name>`
    /// or an IAM user's ARN (docs/design.md, "The caller"). Approvals compare it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The caller's source identity, where its session carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    pub resource: Option<ResourceRef>,
    pub subjects: Vec<SubjectVerdict>,
    pub approvers: Vec<ApproverSet>,
    pub reasons: Vec<String>,
    /// A pipeline step's resource: the execution whose step made it, checked, and who started
    /// that execution (`children`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
    /// Decided while the stack observes (`decide::observing`): the policy asked for
    /// enforcement, and the action was lowered to `notify`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed: bool,
    /// On an allowed deployment: what it put in place, which a later violating update is rolled
    /// back to. SageMaker keeps an endpoint's previous config only while an update is under way,
    /// so the guard's own record is the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restorable: Option<Box<Restorable>>,
    /// On a violating UpdateEndpoint: the endpoint's last allowed deployment (its event), and
    /// what it deployed, judged allowed again at the decision. Enforce updates the endpoint back
    /// to it rather than delete it, when its config is still the one allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<Box<RollbackTo>>,
    /// Where the call was made, as the guard keys what it keeps: absent in the guard's own
    /// account and region, else `<account>/<region>` (`organization::Guarded::scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a violating update would be rolled back to (`Verdict::rollback_to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackTo {
    /// The allowed deployment's event.
    pub event_id: String,
    pub config: Restorable,
    /// When the allowed deployment was made (its call's time): a config or model made after it
    /// is not what was allowed, and is never restored.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::audit::timestamp::option"
    )]
    pub deployed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Restorable {
    /// What it restores, as alerts name it.
    pub fn describe(&self) -> String {
        match self {
            Restorable::EndpointConfig { name, .. } => format!("endpoint config {name}"),
            Restorable::InferenceComponentSpec(spec) => {
                format!("the specification that deployed {}", spec.content())
            }
        }
    }

    /// The judged content it deploys, as a request names it: an endpoint config, or a
    /// component's model, base component, image and artifact.
    pub fn targets(&self) -> Vec<Target> {
        match self {
            Restorable::EndpointConfig { name, .. } => {
                vec![Target::EndpointConfig { name: name.clone() }]
            }
            Restorable::InferenceComponentSpec(spec) => spec.targets(),
        }
    }

    /// What a rollback record names as restored: the config's name, or the component's judged
    /// content ([`content_label`]).
    pub fn label(&self) -> String {
        match self {
            Restorable::EndpointConfig { name, .. } => name.clone(),
            Restorable::InferenceComponentSpec(spec) => content_label(&spec.targets()),
        }
    }
}

/// The judged content that `targets` deploy, in one canonical line (sorted): how a rollback
/// record names an inference component's specification, and how the guard's own update is
/// recognised by it.
pub fn content_label(targets: &[Target]) -> String {
    let mut parts: Vec<String> = targets
        .iter()
        .filter_map(|t| match t {
            Target::EndpointConfig { name } => Some(format!("endpoint config {name}")),
            Target::Model { name } => Some(format!("model {name}")),
            Target::InferenceComponentModel { name } => Some(format!("base component {name}")),
            Target::Image { uri } => Some(format!("image {uri}")),
            Target::Data { uri, .. } => Some(format!("artifact {uri}")),
            _ => None,
        })
        .collect();
    parts.sort();
    parts.dedup();
    parts.join(", ")
}

/// An inference component's specification as an allowed Create/UpdateInferenceComponent
/// deployed it, from DescribeInferenceComponent (SageMaker describes no earlier specification
/// once it is replaced, so this is the source of a rollback). The container's environment is
/// kept only as a hash: it may hold secrets, and the verdict travels in alerts and in the
/// enforcement's input; a rollback keeps the component's environment only while it is still the
/// allowed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_component: Option<String>,
    /// The container's image as specified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_url: Option<String>,
    /// SHA-256 (hex) of the container's environment as sorted JSON; none without a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_data_download_timeout_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_startup_health_check_timeout_seconds: Option<i32>,
    /// `ComputeResourceRequirements`, numbers as SageMaker gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_devices: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_memory_mb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_mb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_partition_type: Option<String>,
    /// When its model was made, as at the allowed deployment: a model of that name made at
    /// another time is another model (deleted and made again), and is never restored.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::audit::timestamp::option"
    )]
    pub model_created: Option<chrono::DateTime<chrono::Utc>>,
}

impl ComponentSpec {
    /// The judged content, as a request's targets.
    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        if let Some(name) = &self.model {
            targets.push(Target::Model { name: name.clone() });
        }
        if let Some(name) = &self.base_component {
            targets.push(Target::InferenceComponentModel { name: name.clone() });
        }
        if let Some(uri) = &self.image {
            targets.push(Target::Image { uri: uri.clone() });
        }
        if let Some(uri) = &self.artifact_url {
            targets.push(Target::Data {
                uri: uri.clone(),
                prefix: false,
            });
        }
        targets
    }

    /// Its judged content in one line.
    pub fn content(&self) -> String {
        content_label(&self.targets())
    }

    /// The hash kept of a container's environment: SHA-256 (hex) of its variables as a JSON
    /// object with sorted keys.
    pub fn environment_hash<'a>(variables: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        use sha2::{Digest, Sha256};
        let sorted: std::collections::BTreeMap<&str, &str> = variables.into_iter().collect();
        let text = serde_json::to_string(&sorted).unwrap_or_default();
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl RollbackTo {
    /// What it restores, as alerts name it.
    pub fn describe(&self) -> String {
        self.config.describe()
    }
}

/// What an allowed deployment put in place (`Verdict::restorable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Restorable {
    /// The endpoint config an allowed CreateEndpoint or UpdateEndpoint deployed: its name, its
    /// models, and when it was created where its describe said. Configs cannot change, so one of
    /// that name created at another time, or after the allowed call, is another config (deleted
    /// and re-created), and is never restored.
    #[serde(rename_all = "camelCase")]
    EndpointConfig {
        name: String,
        models: Vec<String>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::audit::timestamp::option"
        )]
        created: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The specification an allowed CreateInferenceComponent or UpdateInferenceComponent
    /// deployed.
    InferenceComponentSpec(ComponentSpec),
}

/// Who is behind a pipeline step's call: the execution that ran the step and the principal that
/// started it, as SageMaker records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedBy {
    /// The parent's ARN: a pipeline execution, or an AutoML job (`…:automl-job/NAME`).
    #[serde(alias = "pipelineExecution")]
    pub parent: String,
    pub principal: String,
    /// The starter's session name, where it was an assumed role's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// Whether the step's subjects are allowed for that principal.
    pub allowed: bool,
}

impl StartedBy {
    /// How alerts name the parent.
    pub fn through(&self) -> String {
        format!("{} {}", parent_kind(&self.parent), self.parent)
    }
}

/// What kind of parent an ARN names: an AutoML job (`…:automl-job/NAME`), a monitoring schedule
/// (`…:monitoring-schedule/NAME`), else a pipeline execution.
pub fn parent_kind(arn: &str) -> &'static str {
    if arn.contains(":automl-job/") {
        "AutoML job"
    } else if arn.contains(":monitoring-schedule/") {
        "monitoring schedule"
    } else {
        "pipeline execution"
    }
}

impl Verdict {
    /// A verdict on a request that judged no subject: the call itself is allowed or ignored for
    /// `reason` (the guard's own rollback, a capacity change, a call from an account the guard
    /// does not answer for). Nothing to act on.
    pub fn without_subjects(request: &Request, decision: Decision, reason: String) -> Verdict {
        Verdict {
            version: Version1,
            event_id: Some(request.event_id.clone()),
            event_name: Some(request.event_name.clone()),
            event_time: request.event_time.clone(),
            account: request.account.clone(),
            region: request.region.clone(),
            decision,
            action: Action::None,
            grace_seconds: 0,
            principal: Some(request.principal.clone()),
            person: None,
            source_identity: request.source_identity.clone(),
            resource: Some(request.resource.clone()),
            subjects: Vec::new(),
            approvers: Vec::new(),
            reasons: vec![reason],
            started_by: None,
            observed: false,
            restorable: None,
            rollback_to: None,
            scope: request.scope.clone(),
        }
    }

    /// What the verdict keeps of the deployer, for the self-approval rule.
    pub fn deployer(&self) -> Option<CallerRecord> {
        Some(CallerRecord {
            principal: self.principal.clone()?,
            person: self.person.clone(),
            source_identity: self.source_identity.clone(),
        })
    }

    /// The invariants every verdict keeps; `Err` names the first one broken.
    pub fn check_well_formed(&self) -> Result<(), String> {
        if self.reasons.is_empty() {
            return Err("a verdict gives at least one reason".into());
        }
        match self.decision {
            Decision::Ignored => {
                if self.action != Action::None || !self.subjects.is_empty() {
                    return Err("an ignored verdict has action none and no subjects".into());
                }
            }
            Decision::Allow => {
                if self.action != Action::None || self.subjects.iter().any(|s| !s.allowed) {
                    return Err("an allow has action none and only allowed subjects".into());
                }
            }
            Decision::Violation => {
                if self.approvers.is_empty() {
                    return Err(
                        "a violation names the approver set of each violated binding".into(),
                    );
                }
            }
        }
        if self.decision != Decision::Violation
            && (self.grace_seconds != 0 || !self.approvers.is_empty())
        {
            return Err("grace and approvers are only set on a violation".into());
        }
        if self.decision != Decision::Ignored
            && (self.principal.is_none() || self.resource.is_none())
        {
            return Err("a decided verdict names its principal and resource".into());
        }
        Ok(())
    }
}

/// Evaluate's output: the verdict, or, while a record the decision needs has not arrived, its
/// input back with how long the triage waits before asking again (docs/design.md, "Records").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Evaluated {
    WaitForRecords(WaitForRecords),
    Verdict(Verdict),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitForRecords {
    pub wait_for_records: RecordWait,
    /// Evaluate's input, as it was: what the triage gives Evaluate again after the wait.
    #[serde(flatten)]
    pub input: ParseOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordWait {
    pub seconds: u32,
    pub reason: String,
    /// When Evaluate first asked: the wait is counted from the call, or from here for an event
    /// that arrives late (the sweep's), whose records may be arriving with it.
    #[serde(with = "crate::audit::timestamp")]
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Evaluate's input: ParseEvent's output, and after a wait for records, that wait.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateInput {
    #[serde(flatten)]
    pub outcome: ParseOutcome,
    #[serde(default)]
    pub wait_for_records: Option<RecordWait>,
}
