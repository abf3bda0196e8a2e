//! The one table of covered SageMaker calls (DESIGN.md, "Events covered"). Adding a call is a row
//! here and a fixture under `tests/events/`.

use crate::contract::{ResourceType, SubjectKind};
use crate::records::{RecordKind, RecordOp};

/// Where, in `requestParameters`, a call names a subject. Paths are dotted; a segment ending in
/// `[]` walks every element of an array; a last segment ending in `!` must be there whenever the
/// object holding it is (a required field: one missing is unreadable, not absent).
#[derive(Debug, Clone, Copy)]
pub struct SubjectPath {
    pub leads_to: Leads,
    pub path: &'static str,
}

/// What the value at a [`SubjectPath`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leads {
    /// An endpoint config name: its variants' models and its own execution role.
    EndpointConfig,
    /// A model name: the model and its execution role.
    Model,
    /// An execution role ARN.
    Role,
    /// An inference component name: the model it serves.
    InferenceComponentModel,
    /// A container image URI named by the request itself (a bare container).
    Image,
    /// An S3 object of model data named by the request itself.
    Data,
    /// A model package version named by the request itself.
    Package,
}

impl Leads {
    pub fn subject_kind(self) -> SubjectKind {
        match self {
            Leads::EndpointConfig => SubjectKind::EndpointConfig,
            Leads::Model => SubjectKind::Model,
            Leads::Role => SubjectKind::Role,
            Leads::InferenceComponentModel => SubjectKind::InferenceComponent,
            Leads::Image => SubjectKind::Image,
            Leads::Data => SubjectKind::Data,
            Leads::Package => SubjectKind::Package,
        }
    }
}

/// What a call with none of its subject paths present means.
#[derive(Debug, Clone, Copy)]
pub enum WhenNoSubject {
    /// The API requires one of them: the event is incomplete, and the guard fails closed.
    FailClosed,
    /// The call legitimately names none (e.g. an inference component from a container image):
    /// the request has no subjects and the `default` item decides.
    DefaultDecides,
    /// Look the subject up through another field (an update that keeps its model).
    LookUp(SubjectPath),
    /// The call names no role, and runs code under the resource's own (StartNotebookInstance):
    /// that role, as the resource's describe says.
    ResourceRole,
    /// The call changes only capacity (weights, instance or copy counts), never what the
    /// resource serves or as whom: by itself it decides nothing (ignored), but while a violation
    /// on the resource awaits enforcement it breaks that violation's bindings
    /// (`custody::breaks_enforcement`).
    CapacityOnly,
    /// Like [`WhenNoSubject::CapacityOnly`] when the call names no subject (an UpdateCluster
    /// that only deletes instance groups or changes node recovery starts nothing under any
    /// role); judged by its subjects when it names some.
    StartsNothing,
}

#[derive(Debug, Clone, Copy)]
pub struct CoveredCall {
    pub event_name: &'static str,
    pub resource_type: ResourceType,
    /// The resource's name in `requestParameters`.
    pub name_field: &'static str,
    /// The resource's ARN in `responseElements` (also the name's fallback when
    /// `requestParameters` were left out of the event).
    pub arn_field: &'static str,
    pub subjects: &'static [SubjectPath],
    pub when_no_subject: WhenNoSubject,
    /// The call changes a resource that already exists (an update): made while a violation on
    /// that resource awaits enforcement, it is a violation of that one's bindings.
    pub changes_deployed: bool,
}

const fn at(leads_to: Leads, path: &'static str) -> SubjectPath {
    SubjectPath { leads_to, path }
}

/// What an inference component's specification deploys: a model, a base component's model, or a
/// bare container (whose image is required wherever the container is given). `specifications`
/// holds one such specification per instance type, instead of `specification`: each is judged
/// (left out, a forbidden model on a second instance type went unjudged).
const IC_SUBJECTS: &[SubjectPath] = &[
    at(Leads::Model, "specification.modelName"),
    at(
        Leads::InferenceComponentModel,
        "specification.baseInferenceComponentName",
    ),
    at(Leads::Image, "specification.container.image!"),
    at(Leads::Data, "specification.container.artifactUrl"),
    at(Leads::Model, "specifications[].modelName"),
    at(
        Leads::InferenceComponentModel,
        "specifications[].baseInferenceComponentName",
    ),
    at(Leads::Image, "specifications[].container.image!"),
    at(Leads::Data, "specifications[].container.artifactUrl"),
    // Each instance type's specification deploys something: one whose content field is lost
    // fails closed, rather than leave the others to answer for the component.
    at(
        Leads::Model,
        "specifications[].modelName|baseInferenceComponentName|container!",
    ),
];

/// The roles a domain gives its profiles and shared spaces by default.
const STUDIO_DEFAULT_ROLES: &[SubjectPath] = &[
    at(Leads::Role, "defaultUserSettings.executionRole"),
    at(Leads::Role, "defaultSpaceSettings.executionRole"),
];

/// The roles a HyperPod cluster's instance groups run under.
const CLUSTER_ROLES: &[SubjectPath] = &[
    at(Leads::Role, "instanceGroups[].executionRole!"),
    at(Leads::Role, "restrictedInstanceGroups[].executionRole!"),
    // The role HyperPod assumes to scale an EKS-orchestrated cluster's nodes (Karpenter): a
    // role handed to SageMaker like any execution role.
    at(Leads::Role, "clusterRole"),
];

pub const COVERED_CALLS: &[CoveredCall] = &[
    CoveredCall {
        event_name: "CreateEndpoint",
        resource_type: ResourceType::Endpoint,
        name_field: "endpointName",
        arn_field: "endpointArn",
        subjects: &[at(Leads::EndpointConfig, "endpointConfigName")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateEndpoint",
        resource_type: ResourceType::Endpoint,
        name_field: "endpointName",
        arn_field: "endpointArn",
        subjects: &[at(Leads::EndpointConfig, "endpointConfigName")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "UpdateEndpointWeightsAndCapacities",
        resource_type: ResourceType::Endpoint,
        name_field: "endpointName",
        arn_field: "endpointArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::CapacityOnly,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "CreateInferenceComponent",
        resource_type: ResourceType::InferenceComponent,
        name_field: "inferenceComponentName",
        arn_field: "inferenceComponentArn",
        subjects: IC_SUBJECTS,
        when_no_subject: WhenNoSubject::DefaultDecides,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateInferenceComponent",
        resource_type: ResourceType::InferenceComponent,
        name_field: "inferenceComponentName",
        arn_field: "inferenceComponentArn",
        subjects: IC_SUBJECTS,
        when_no_subject: WhenNoSubject::LookUp(at(
            Leads::InferenceComponentModel,
            "inferenceComponentName",
        )),
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "UpdateInferenceComponentRuntimeConfig",
        resource_type: ResourceType::InferenceComponent,
        name_field: "inferenceComponentName",
        arn_field: "inferenceComponentArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::CapacityOnly,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "CreateTransformJob",
        resource_type: ResourceType::TransformJob,
        name_field: "transformJobName",
        arn_field: "transformJobArn",
        subjects: &[at(Leads::Model, "modelName")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateTrainingJob",
        resource_type: ResourceType::TrainingJob,
        name_field: "trainingJobName",
        arn_field: "trainingJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateProcessingJob",
        resource_type: ResourceType::ProcessingJob,
        name_field: "processingJobName",
        arn_field: "processingJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateHyperParameterTuningJob",
        resource_type: ResourceType::HyperParameterTuningJob,
        name_field: "hyperParameterTuningJobName",
        arn_field: "hyperParameterTuningJobArn",
        subjects: &[
            // RoleArn is required in every definition: one without is unreadable, not absent.
            at(Leads::Role, "trainingJobDefinition.roleArn!"),
            at(Leads::Role, "trainingJobDefinitions[].roleArn!"),
        ],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // The other jobs that run code under an execution role (issue 20): each is judged by its
    // `roleArn` (required), and by the model it deploys or optimizes where it names one.
    CoveredCall {
        event_name: "CreateAutoMLJob",
        resource_type: ResourceType::AutoMlJob,
        name_field: "autoMLJobName",
        arn_field: "autoMLJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateAutoMLJobV2",
        resource_type: ResourceType::AutoMlJob,
        name_field: "autoMLJobName",
        arn_field: "autoMLJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateCompilationJob",
        resource_type: ResourceType::CompilationJob,
        name_field: "compilationJobName",
        arn_field: "compilationJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateEdgePackagingJob",
        resource_type: ResourceType::EdgePackagingJob,
        name_field: "edgePackagingJobName",
        arn_field: "edgePackagingJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateLabelingJob",
        resource_type: ResourceType::LabelingJob,
        name_field: "labelingJobName",
        arn_field: "labelingJobArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // An inference recommendations job deploys the model it benchmarks to endpoints of its own.
    CoveredCall {
        event_name: "CreateInferenceRecommendationsJob",
        resource_type: ResourceType::InferenceRecommendationsJob,
        name_field: "jobName",
        arn_field: "jobArn",
        subjects: &[
            at(Leads::Role, "roleArn!"),
            at(Leads::Model, "inputConfig.modelName"),
        ],
        // Or a model package version (`inputConfig.modelPackageVersionArn`; ONE_OF).
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // An optimization job runs the model data it optimizes.
    CoveredCall {
        event_name: "CreateOptimizationJob",
        resource_type: ResourceType::OptimizationJob,
        name_field: "optimizationJobName",
        arn_field: "optimizationJobArn",
        subjects: &[
            at(Leads::Role, "roleArn!"),
            at(Leads::Data, "modelSource.s3.s3Uri!"),
            at(Leads::Model, "modelSource.sageMakerModel.modelName!"),
        ],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // Model monitoring: a schedule starts a job under its definition's role on every run; the
    // definition is inline or named (its describe says its role). Definitions run nothing by
    // themselves (notify-only by nature).
    CoveredCall {
        event_name: "CreateMonitoringSchedule",
        resource_type: ResourceType::MonitoringSchedule,
        name_field: "monitoringScheduleName",
        arn_field: "monitoringScheduleArn",
        subjects: &[at(
            Leads::Role,
            "monitoringScheduleConfig.monitoringJobDefinition.roleArn!",
        )],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateMonitoringSchedule",
        resource_type: ResourceType::MonitoringSchedule,
        name_field: "monitoringScheduleName",
        arn_field: "monitoringScheduleArn",
        subjects: &[at(
            Leads::Role,
            "monitoringScheduleConfig.monitoringJobDefinition.roleArn!",
        )],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "CreateDataQualityJobDefinition",
        resource_type: ResourceType::MonitoringJobDefinition,
        name_field: "jobDefinitionName",
        arn_field: "jobDefinitionArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateModelQualityJobDefinition",
        resource_type: ResourceType::MonitoringJobDefinition,
        name_field: "jobDefinitionName",
        arn_field: "jobDefinitionArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateModelBiasJobDefinition",
        resource_type: ResourceType::MonitoringJobDefinition,
        name_field: "jobDefinitionName",
        arn_field: "jobDefinitionArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateModelExplainabilityJobDefinition",
        resource_type: ResourceType::MonitoringJobDefinition,
        name_field: "jobDefinitionName",
        arn_field: "jobDefinitionArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // An MLflow tracking server runs under its role while started; a start names none.
    CoveredCall {
        event_name: "CreateMlflowTrackingServer",
        resource_type: ResourceType::MlflowTrackingServer,
        name_field: "trackingServerName",
        arn_field: "trackingServerArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "StartMlflowTrackingServer",
        resource_type: ResourceType::MlflowTrackingServer,
        name_field: "trackingServerName",
        arn_field: "trackingServerArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "CreatePartnerApp",
        resource_type: ResourceType::PartnerApp,
        name_field: "name",
        arn_field: "arn",
        subjects: &[at(Leads::Role, "executionRoleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateFlowDefinition",
        resource_type: ResourceType::FlowDefinition,
        name_field: "flowDefinitionName",
        arn_field: "flowDefinitionArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // SageMaker HyperPod: each instance group's nodes run its lifecycle scripts and workloads
    // under the group's `executionRole` (required in every group, restricted ones too). An
    // update names only the groups it adds or changes; one that names none (it deletes groups,
    // or changes node recovery) starts nothing under any role.
    CoveredCall {
        event_name: "CreateCluster",
        resource_type: ResourceType::Cluster,
        name_field: "clusterName",
        arn_field: "clusterArn",
        subjects: CLUSTER_ROLES,
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateCluster",
        resource_type: ResourceType::Cluster,
        name_field: "clusterName",
        arn_field: "clusterArn",
        subjects: CLUSTER_ROLES,
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: true,
    },
    // New node software (an AMI) on the groups' nodes, under the roles already judged: nothing
    // new runs under a role, but the cluster is SystemUpdating meanwhile, which a delete waits
    // out: a violation while one on the cluster awaits enforcement.
    CoveredCall {
        event_name: "UpdateClusterSoftware",
        resource_type: ResourceType::Cluster,
        name_field: "clusterName",
        arn_field: "clusterArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: true,
    },
    // Inference experiments: shadow models on a live endpoint, deployed by SageMaker under the
    // experiment's role (the endpoint is updated to a config holding every variant named). A
    // stop that promotes a shadow variant deploys it as production: judged by the models it
    // deploys (`desiredModelVariants` and the experiment's shadow variants, described), on the
    // experiment's endpoint (the verdict is about it); a stop
    // that promotes nothing deploys nothing (GATES).
    CoveredCall {
        event_name: "CreateInferenceExperiment",
        resource_type: ResourceType::InferenceExperiment,
        name_field: "name",
        arn_field: "inferenceExperimentArn",
        subjects: &[
            at(Leads::Role, "roleArn!"),
            at(Leads::Model, "modelVariants[].modelName!"),
        ],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    // An update replaces the variants' models (deployed as the create's are); one that names
    // none changes the schedule or the data capture, and deploys nothing. It also keeps the
    // experiment Updating, which a stop waits out: a violation while one awaits enforcement.
    CoveredCall {
        event_name: "UpdateInferenceExperiment",
        resource_type: ResourceType::InferenceExperiment,
        name_field: "name",
        arn_field: "inferenceExperimentArn",
        subjects: &[at(Leads::Model, "modelVariants[].modelName!")],
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "StopInferenceExperiment",
        resource_type: ResourceType::PromotedEndpoint,
        name_field: "name",
        arn_field: "inferenceExperimentArn",
        subjects: &[at(Leads::Model, "desiredModelVariants[].modelName!")],
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: true,
    },
    // A project's CloudFormation template provider makes its stack under the role it names; a
    // Service Catalog project names none (the portfolio's launch constraint, set by its admin,
    // decides), and the default item decides.
    CoveredCall {
        event_name: "CreateProject",
        resource_type: ResourceType::Project,
        name_field: "projectName",
        arn_field: "projectArn",
        subjects: &[at(
            Leads::Role,
            "templateProviders[].cfnTemplateProvider.roleARN",
        )],
        when_no_subject: WhenNoSubject::DefaultDecides,
        changes_deployed: false,
    },
    // An update of a template provider re-runs its stack under the role the project was
    // created with (DescribeProject's TemplateProviderDetails): judged by it (GATES); any other
    // update (its description, tags, a Service Catalog product, whose launch constraint its
    // admin set) is not judged.
    CoveredCall {
        event_name: "UpdateProject",
        resource_type: ResourceType::Project,
        name_field: "projectName",
        arn_field: "projectArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: true,
    },
    // The model registry's gate: a `package#` binding with `requireApproved` lets a version be
    // deployed once it is Approved. Who approves is judged by the version's bindings (the
    // package's, and its content's); an update that approves nothing is not judged (GATES).
    // A version created already Approved opens the gate as an approval does.
    CoveredCall {
        event_name: "CreateModelPackage",
        resource_type: ResourceType::ModelPackage,
        name_field: "modelPackageArn",
        arn_field: "modelPackageArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateModelPackage",
        resource_type: ResourceType::ModelPackage,
        name_field: "modelPackageArn",
        arn_field: "modelPackageArn",
        subjects: &[at(Leads::Package, "modelPackageArn!")],
        when_no_subject: WhenNoSubject::StartsNothing,
        changes_deployed: false,
    },
    // Notebook instances: code runs under the instance's role from the moment it is in service.
    CoveredCall {
        event_name: "CreateNotebookInstance",
        resource_type: ResourceType::NotebookInstance,
        name_field: "notebookInstanceName",
        arn_field: "notebookInstanceArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateNotebookInstance",
        resource_type: ResourceType::NotebookInstance,
        name_field: "notebookInstanceName",
        arn_field: "notebookInstanceArn",
        subjects: &[at(Leads::Role, "roleArn")],
        // Without a new role: the instance's own (a new lifecycle configuration or instance type
        // runs under it).
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "StartNotebookInstance",
        resource_type: ResourceType::NotebookInstance,
        name_field: "notebookInstanceName",
        arn_field: "notebookInstanceArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    // A lifecycle configuration's scripts run as root on every instance that uses it, under
    // that instance's role: changing one is judged by those roles (none: nothing runs it).
    // Creating one runs nothing until an instance is created or updated to use it (judged then).
    CoveredCall {
        event_name: "UpdateNotebookInstanceLifecycleConfig",
        resource_type: ResourceType::NotebookLifecycleConfig,
        name_field: "notebookInstanceLifecycleConfigName",
        arn_field: "notebookInstanceLifecycleConfigArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    // Pipelines: a pipeline's role runs each execution's steps. Creating or updating one runs
    // nothing (notify-only by nature); each start or retry is judged by the role it runs under.
    CoveredCall {
        event_name: "CreatePipeline",
        resource_type: ResourceType::Pipeline,
        name_field: "pipelineName",
        arn_field: "pipelineArn",
        subjects: &[at(Leads::Role, "roleArn")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdatePipeline",
        resource_type: ResourceType::Pipeline,
        name_field: "pipelineName",
        arn_field: "pipelineArn",
        subjects: &[at(Leads::Role, "roleArn")],
        // A new definition without a new role runs under the pipeline's own.
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    // An execution is named from its ARN (`pipeline/NAME/execution/ID`): the request names only
    // the pipeline, or the execution by ARN.
    CoveredCall {
        event_name: "StartPipelineExecution",
        resource_type: ResourceType::PipelineExecution,
        name_field: "pipelineName",
        arn_field: "pipelineExecutionArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "RetryPipelineExecution",
        resource_type: ResourceType::PipelineExecution,
        name_field: "pipelineExecutionArn",
        arn_field: "pipelineExecutionArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    // Studio: a domain's defaults, a profile's role, a space's owner decide the role an app runs
    // under. Domains, profiles and spaces are notify-only by nature (deleting one deletes users'
    // files); an app is judged by the role of its profile or space, and deleted. Studio
    // resources are named from the request's IDs (`event::studio_name`).
    CoveredCall {
        event_name: "CreateDomain",
        resource_type: ResourceType::Domain,
        name_field: "domainName",
        arn_field: "domainArn",
        subjects: STUDIO_DEFAULT_ROLES,
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateDomain",
        resource_type: ResourceType::Domain,
        name_field: "domainId",
        arn_field: "domainArn",
        subjects: STUDIO_DEFAULT_ROLES,
        // Other settings (lifecycle configurations, images) change what runs under its roles.
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "CreateUserProfile",
        resource_type: ResourceType::UserProfile,
        name_field: "userProfileName",
        arn_field: "userProfileArn",
        subjects: &[at(Leads::Role, "userSettings.executionRole")],
        // Without one of its own, a profile runs under the domain's default.
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "UpdateUserProfile",
        resource_type: ResourceType::UserProfile,
        name_field: "userProfileName",
        arn_field: "userProfileArn",
        subjects: &[at(Leads::Role, "userSettings.executionRole")],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: true,
    },
    CoveredCall {
        event_name: "CreateSpace",
        resource_type: ResourceType::Space,
        name_field: "spaceName",
        arn_field: "spaceArn",
        subjects: &[],
        // A private space's apps run under its owner's role, a shared one's under the domain's
        // default space role.
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreateApp",
        resource_type: ResourceType::App,
        name_field: "appName",
        arn_field: "appArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    // Presigned access: the caller gets a session in the instance or the profile's apps, acting
    // with its role. The response carries only the URL.
    CoveredCall {
        event_name: "CreatePresignedDomainUrl",
        resource_type: ResourceType::UserProfile,
        name_field: "userProfileName",
        arn_field: "userProfileArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    CoveredCall {
        event_name: "CreatePresignedNotebookInstanceUrl",
        resource_type: ResourceType::NotebookInstance,
        name_field: "notebookInstanceName",
        arn_field: "notebookInstanceArn",
        subjects: &[],
        when_no_subject: WhenNoSubject::ResourceRole,
        changes_deployed: false,
    },
    // Recorded as well (RECORDED_CALLS): the request is judged once the record is kept, so the
    // model resolves to the version the call made, content and role.
    CoveredCall {
        event_name: "CreateModel",
        resource_type: ResourceType::Model,
        name_field: "modelName",
        arn_field: "modelArn",
        subjects: &[at(Leads::Model, "modelName")],
        when_no_subject: WhenNoSubject::FailClosed,
        changes_deployed: false,
    },
];

/// An object the API requires, which must name its subject through one of its members: one
/// that is missing, or holds none of them, is unreadable (the guard fails closed), not a call
/// without that subject.
#[derive(Debug, Clone, Copy)]
pub struct OneOf {
    pub event_name: &'static str,
    /// Dotted, from `requestParameters`; empty: `requestParameters` itself (a required member).
    pub object: &'static str,
    pub members: &'static [&'static str],
    pub leads_to: Leads,
}

pub const ONE_OF: &[OneOf] = &[
    // Its variants are required (one or two): without them the models are unknown, not absent.
    OneOf {
        event_name: "CreateInferenceExperiment",
        object: "",
        members: &["modelVariants"],
        leads_to: Leads::Model,
    },
    OneOf {
        event_name: "CreateInferenceRecommendationsJob",
        object: "inputConfig",
        members: &["modelName", "modelPackageVersionArn"],
        leads_to: Leads::Model,
    },
    OneOf {
        event_name: "CreateOptimizationJob",
        object: "modelSource",
        members: &["s3", "sageMakerModel"],
        leads_to: Leads::Data,
    },
];

/// A call that deploys or approves only when a field of its request holds a value (a string, or
/// a map one of whose values is it; [`ANY_VALUE`]: anything but empty): without it the call is
/// not judged; with it and no subject named, what the resource says is the subject
/// (`Target::ResourceRole`, described).
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    pub event_name: &'static str,
    /// Dotted, from `requestParameters`.
    pub path: &'static str,
    /// Compared without case.
    pub value: &'static str,
    /// The API requires the field: one missing or unusable is unreadable (fail closed), not a
    /// call without the value.
    pub required: bool,
}

/// A gate's value that any present, non-empty field holds.
pub const ANY_VALUE: &str = "*";

pub const GATES: &[Gate] = &[
    // A project's template re-run: under the role its provider was created with.
    Gate {
        event_name: "UpdateProject",
        path: "templateProvidersToUpdate",
        value: ANY_VALUE,
        required: false,
    },
    // A stop that promotes a shadow variant deploys it as production.
    Gate {
        event_name: "StopInferenceExperiment",
        path: "modelVariantActions",
        value: "Promote",
        required: true,
    },
    // Approving a version opens the `requireApproved` gate (who set ModelApprovalStatus), and
    // so does creating one already approved.
    Gate {
        event_name: "UpdateModelPackage",
        path: "modelApprovalStatus",
        value: "Approved",
        required: false,
    },
    Gate {
        event_name: "CreateModelPackage",
        path: "modelApprovalStatus",
        value: "Approved",
        required: false,
    },
];

/// A call whose content is recorded (docs/design.md, "Records"): what a model or an endpoint
/// config contained when it was created, and when it was deleted, so that a deployment is
/// judged by the version current at its call.
#[derive(Debug, Clone, Copy)]
pub struct RecordedCall {
    pub event_name: &'static str,
    pub kind: RecordKind,
    pub op: RecordOp,
    /// The name in `requestParameters`.
    pub name_field: &'static str,
    /// The ARN in `responseElements` (a create's; also the name's fallback).
    pub arn_field: Option<&'static str>,
    /// For a create: where, in `requestParameters`, the content names its models (a config's
    /// production and shadow variants).
    pub models: &'static [&'static str],
}

pub const RECORDED_CALLS: &[RecordedCall] = &[
    // Who last set what a monitoring schedule runs: the processing jobs it starts answer to
    // them (`children`). A create and an update alike are a version. Judged too.
    RecordedCall {
        event_name: "CreateMonitoringSchedule",
        kind: RecordKind::MonitoringSchedule,
        op: RecordOp::Create,
        name_field: "monitoringScheduleName",
        arn_field: Some("monitoringScheduleArn"),
        models: &[],
    },
    RecordedCall {
        event_name: "UpdateMonitoringSchedule",
        kind: RecordKind::MonitoringSchedule,
        op: RecordOp::Create,
        name_field: "monitoringScheduleName",
        arn_field: Some("monitoringScheduleArn"),
        models: &[],
    },
    // Who created an AutoML job, as the guard saw it: the endpoint the job deploys answers to
    // them (`children`). Judged too (COVERED_CALLS).
    RecordedCall {
        event_name: "CreateAutoMLJob",
        kind: RecordKind::AutoMlJob,
        op: RecordOp::Create,
        name_field: "autoMLJobName",
        arn_field: Some("autoMLJobArn"),
        models: &[],
    },
    RecordedCall {
        event_name: "CreateAutoMLJobV2",
        kind: RecordKind::AutoMlJob,
        op: RecordOp::Create,
        name_field: "autoMLJobName",
        arn_field: Some("autoMLJobArn"),
        models: &[],
    },
    RecordedCall {
        event_name: "CreateModel",
        kind: RecordKind::Model,
        op: RecordOp::Create,
        name_field: "modelName",
        arn_field: Some("modelArn"),
        models: &[],
    },
    RecordedCall {
        event_name: "DeleteModel",
        kind: RecordKind::Model,
        op: RecordOp::Delete,
        name_field: "modelName",
        arn_field: None,
        models: &[],
    },
    RecordedCall {
        event_name: "CreateEndpointConfig",
        kind: RecordKind::EndpointConfig,
        op: RecordOp::Create,
        name_field: "endpointConfigName",
        arn_field: Some("endpointConfigArn"),
        models: &[
            "productionVariants[].modelName",
            "shadowProductionVariants[].modelName",
        ],
    },
    RecordedCall {
        event_name: "DeleteEndpointConfig",
        kind: RecordKind::EndpointConfig,
        op: RecordOp::Delete,
        name_field: "endpointConfigName",
        arn_field: None,
        models: &[],
    },
];

/// The recorded call of an eventName, if it is one.
pub fn recorded_call(event_name: &str) -> Option<&'static RecordedCall> {
    RECORDED_CALLS.iter().find(|c| c.event_name == event_name)
}

/// Every eventName the EventBridge rule takes, once: the recorded calls first (the sweep submits
/// them before the deployments that need them), then the covered ones.
pub fn rule_event_names() -> impl Iterator<Item = &'static str> {
    RECORDED_CALLS.iter().map(|c| c.event_name).chain(
        COVERED_CALLS
            .iter()
            .map(|c| c.event_name)
            .filter(|n| recorded_call(n).is_none()),
    )
}

/// The covered call of an eventName, if it is one.
pub fn covered_call(event_name: &str) -> Option<&'static CoveredCall> {
    COVERED_CALLS.iter().find(|c| c.event_name == event_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_event_name() {
        for (i, a) in COVERED_CALLS.iter().enumerate() {
            for b in &COVERED_CALLS[i + 1..] {
                assert_ne!(a.event_name, b.event_name);
            }
        }
        assert_eq!(COVERED_CALLS.len(), 54);
        let names: Vec<&str> = rule_event_names().collect();
        for (i, a) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(a), "{a} twice");
        }
        assert_eq!(names.len(), 57);
        // The sweep submits records before the deployments that need them.
        assert!(
            names[..RECORDED_CALLS.len()]
                .iter()
                .all(|n| recorded_call(n).is_some())
        );
    }
}
