//! The Enforce step's contract: what it was asked to stop or delete, and what it did.

use serde::{Deserialize, Serialize};

use crate::contract::{ResourceRef, ResourceType, RollbackTo, Version1};

/// What the enforcement machine asks Enforce: an event and the execution asking. Enforce acts on
/// the verdict recorded for that event, never on one it is handed (`custody`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnforceInput {
    pub version: Version1,
    pub event_id: String,
    pub execution: String,
}

/// What became of the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnforcementOutcome {
    /// DeleteEndpoint or DeleteInferenceComponent was accepted.
    Deleted,
    /// A Stop*Job call was accepted.
    Stopped,
    /// A describe confirmed the resource no longer exists.
    AlreadyGone,
    /// A describe confirmed the job had already finished (completed, failed or stopped).
    AlreadyStopped,
    /// The endpoint was updated back to its last allowed config, and a describe confirmed it
    /// serves that config (`EnforcementResult::restored`).
    RolledBack,
}

impl EnforcementOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementOutcome::Deleted => "deleted",
            EnforcementOutcome::Stopped => "stopped",
            EnforcementOutcome::AlreadyGone => "already-gone",
            EnforcementOutcome::AlreadyStopped => "already-stopped",
            EnforcementOutcome::RolledBack => "rolled-back",
        }
    }
}

/// Enforce's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnforcementResult {
    pub version: Version1,
    pub outcome: EnforcementOutcome,
    pub resource: ResourceRef,
    /// Application Auto Scaling targets deregistered before DeleteEndpoint
    /// (`endpoint/NAME/variant/VARIANT`).
    #[serde(default)]
    pub deregistered_scalable_targets: Vec<String>,
    /// Inference components deleted before DeleteEndpoint.
    #[serde(default)]
    pub deleted_inference_components: Vec<String>,
    /// The resource's status when it was found already gone or stopped, or when it was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What a describe after the delete or stop saw (`Deleting`, `Stopping`, `Stopped`, …, or
    /// `gone`): the end state confirmed, not assumed from an accepted call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<String>,
    /// Rolled back: the allowed deployment whose config the endpoint serves again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<RollbackTo>,
    /// The verdict asked for a rollback, and the endpoint was deleted instead: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_rolled_back: Option<String>,
}

/// What [`EnforcementResult::confirmed`] says of a resource a describe no longer finds.
pub const CONFIRMED_GONE: &str = "gone";

/// What Model Guard does to a resource of a type that violates policy (one descriptor per
/// resource type: facts the decision, the alerts and the tests reason about).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    Delete,
    Stop,
    /// Notify-only by nature: nothing can be stopped without destroying what users keep, or
    /// nothing runs until a later call that is judged on its own. `by_hand` tells people what to
    /// do instead.
    NotifyOnly {
        by_hand: &'static str,
    },
}

pub fn remedy(resource_type: ResourceType) -> Remedy {
    match resource_type {
        // An app holds no user data (the profile's or space's storage outlives it).
        ResourceType::Endpoint
        | ResourceType::InferenceComponent
        | ResourceType::Model
        | ResourceType::App
        // Not scaling the group to zero: the group (its role and lifecycle scripts) would stay,
        // and HyperPod's own autoscaling or node recovery can bring its nodes back without a
        // call anyone makes; the update that would scale it is itself a covered call.
        | ResourceType::Cluster
        // As a violating UpdateEndpoint: the endpoint now serves what the promotion deployed.
        | ResourceType::PromotedEndpoint => Remedy::Delete,
        ResourceType::TransformJob
        | ResourceType::TrainingJob
        | ResourceType::ProcessingJob
        | ResourceType::HyperParameterTuningJob
        | ResourceType::AutoMlJob
        | ResourceType::CompilationJob
        | ResourceType::EdgePackagingJob
        | ResourceType::LabelingJob
        | ResourceType::InferenceRecommendationsJob
        | ResourceType::OptimizationJob
        | ResourceType::MonitoringSchedule
        | ResourceType::MlflowTrackingServer
        // Its shadow variants are removed; the production variant keeps serving.
        | ResourceType::InferenceExperiment
        | ResourceType::NotebookInstance
        | ResourceType::PipelineExecution => Remedy::Stop,
        // Deleting a pipeline loses its definition and its executions' history; its role runs
        // nothing until StartPipelineExecution, which is judged (and stopped) by itself.
        ResourceType::Pipeline => Remedy::NotifyOnly {
            by_hand: "nothing runs until an execution starts, and each start is judged on its \
                      own; to close the route, set the pipeline's role back \
                      (aws sagemaker update-pipeline --role-arn ...) or delete the pipeline",
        },
        // Deleting a domain, a profile or a space deletes its users' files (EFS home
        // directories, a space's volume); their apps are judged (and deleted) when created.
        ResourceType::Domain => Remedy::NotifyOnly {
            by_hand: "deleting a domain deletes its users' home directories; set its default \
                      execution roles back (aws sagemaker update-domain --domain-id ... \
                      --default-user-settings ExecutionRole=...); each app a profile then \
                      creates is judged on its own",
        },
        ResourceType::UserProfile => Remedy::NotifyOnly {
            by_hand: "deleting a user profile deletes its home directory; set its execution \
                      role back (aws sagemaker update-user-profile ... --user-settings \
                      ExecutionRole=...) and delete the apps it runs (aws sagemaker delete-app)",
        },
        // Its scripts run at the next start of each instance that uses it, started by whoever
        // may; nothing runs them now, and deleting the configuration would not undo the change.
        ResourceType::NotebookLifecycleConfig => Remedy::NotifyOnly {
            by_hand: "its scripts run, under each instance's role, the next time an instance that \
                      uses it starts; put the scripts back (aws sagemaker \
                      update-notebook-instance-lifecycle-config) before anyone starts those \
                      instances",
        },
        // A definition runs nothing until a schedule uses it (the schedule is judged then, by
        // the definition's role); deleting it would not stop a schedule already using it.
        ResourceType::MonitoringJobDefinition => Remedy::NotifyOnly {
            by_hand: "a job definition runs nothing until a monitoring schedule uses it, and each \
                      schedule that does is judged (and stopped) on its own; delete the \
                      definition by hand if it should not exist",
        },
        ResourceType::PartnerApp => Remedy::NotifyOnly {
            by_hand: "deleting a partner app deletes what its users keep in it; change its \
                      execution role (aws sagemaker update-partner-app) or delete it by hand",
        },
        // Human loops run in Augmented AI (sagemaker-a2i-runtime), which no rule here watches.
        ResourceType::FlowDefinition => Remedy::NotifyOnly {
            by_hand: "a flow definition runs nothing itself; the human loops started against it \
                      act with its role: delete it (aws sagemaker delete-flow-definition) if it \
                      should not exist",
        },
        // The stack has acted with the role by the time anyone is told; deleting the project
        // deletes its stack and all it made (the team's pipelines, registry, repositories). What
        // the stack makes in SageMaker is judged call by call, as its role's.
        ResourceType::Project => Remedy::NotifyOnly {
            by_hand: "CloudFormation made the project's stack with that role; review what it made \
                      (aws cloudformation describe-stack-resources) and delete the project \
                      (aws sagemaker delete-project) if it should not exist; each SageMaker \
                      resource the stack made was judged on its own, as its role's",
        },
        // An approval deploys nothing; each deployment of the version is judged on its own.
        ResourceType::ModelPackage => Remedy::NotifyOnly {
            by_hand: "an approval deploys nothing, and each deployment of the version is judged \
                      on its own; if it should not be approved, set it back (aws sagemaker \
                      update-model-package --model-package-arn ... --model-approval-status \
                      PendingManualApproval)",
        },
        ResourceType::Space => Remedy::NotifyOnly {
            by_hand: "deleting a space deletes its storage; each app created in it is judged \
                      (and deleted) on its own; delete the space by hand if it should not exist",
        },
    }
}

/// The verb of a resource type's remedy, as alerts say it.
pub fn enforcement_verb(resource_type: ResourceType) -> &'static str {
    match remedy(resource_type) {
        Remedy::Delete => "delete",
        Remedy::Stop => "stop",
        Remedy::NotifyOnly { .. } => "leave",
    }
}
