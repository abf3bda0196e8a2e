//! The Enforce step's contract: what it was asked to stop or delete, and what it did.

use serde::{Deserialize, Serialize};

use crate::contract::{ResourceRef, ResourceType, Version1};

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
}

impl EnforcementOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementOutcome::Deleted => "deleted",
            EnforcementOutcome::Stopped => "stopped",
            EnforcementOutcome::AlreadyGone => "already-gone",
            EnforcementOutcome::AlreadyStopped => "already-stopped",
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
}

/// What [`EnforcementResult::confirmed`] says of a resource a describe no longer finds.
pub const CONFIRMED_GONE: &str = "gone";

/// What a resource type's enforcement is: every type DESIGN.md covers is deleted or stopped.
pub fn enforcement_verb(resource_type: ResourceType) -> &'static str {
    match resource_type {
        ResourceType::Endpoint | ResourceType::InferenceComponent | ResourceType::Model => "delete",
        ResourceType::TransformJob
        | ResourceType::TrainingJob
        | ResourceType::ProcessingJob
        | ResourceType::HyperParameterTuningJob
        | ResourceType::NotebookInstance => "stop",
    }
}
