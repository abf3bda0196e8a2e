//! Model Guard's AWS adapters: the core's ports ([`model_guard_core::ports`] and
//! [`model_guard_core::Resolver`]) implemented over the AWS SDK, one module per service, each
//! behind a feature so a Lambda compiles only the SDKs it uses.
//!
//! Clients come from [`sdk_config`] (`aws_config::load_defaults`), built once per container: the
//! SDK's own credential chain, region, retries (standard mode, which retries throttling) and
//! endpoint configuration (`AWS_ENDPOINT_URL` reaches the local emulator in tests, with no switch
//! in this code).

pub mod error;
pub mod lambda;
pub mod members;

#[cfg(feature = "dynamodb")]
pub mod audit_store;
#[cfg(feature = "dynamodb")]
pub mod checkpoint;
#[cfg(feature = "cloudtrail")]
pub mod cloudtrail;
#[cfg(feature = "health")]
pub mod guard_resources;
#[cfg(feature = "dynamodb")]
pub mod guard_store;
#[cfg(feature = "iam")]
pub mod iam;
#[cfg(feature = "dynamodb")]
pub mod keyed_reads;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(feature = "dynamodb")]
pub mod ledger_store;
#[cfg(feature = "organizations")]
pub mod organizations;
#[cfg(feature = "dynamodb")]
pub mod policy_store;
#[cfg(feature = "dynamodb")]
pub mod records_store;
#[cfg(feature = "sagemaker")]
pub mod sagemaker;
#[cfg(feature = "sfn")]
pub mod sfn;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "sts-proof")]
pub mod sts_proof;

pub use error::sdk_error;
pub use lambda::{
    diagnostic, emit_metrics, env_number, env_var, init_failed, init_logging, sdk_config,
    serve_init_error,
};

/// The decisions table's schema, shared with the CDK stack and the tests.
pub mod decisions_table {
    /// The partition key: the CloudTrail eventID.
    pub const KEY: &str = "eventId";
    /// The index for lookups by resource name, newest first. It and `byState` project keys
    /// only (`keyed_reads`).
    pub const RESOURCE_INDEX: &str = "byResource";
    pub const RESOURCE_INDEX_KEY: &str = "resourceKey";
    pub const RESOURCE_INDEX_SORT: &str = "decidedAt";
    /// The index for lookups by state (`guardctl pending`, `history`), by time.
    pub const STATE_INDEX: &str = "byState";
    pub const STATE_INDEX_KEY: &str = "state";
    /// The sparse index of the items that owe an alert (`alertOwed`, the kind), by decision
    /// time: the sweep sends what a failing alert path left owed.
    pub const ALERT_INDEX: &str = "byAlertOwed";
    pub const ALERT_INDEX_KEY: &str = "alertOwed";
    /// The item where the sweep keeps the end of its last window. It has neither index's key,
    /// so neither index holds it, and no CloudTrail eventID (a UUID) can collide with it.
    pub const SWEEP_CHECKPOINT_KEY: &str = "sweep#checkpoint";
    /// The key prefix of a ledger entry (an event seen and not settled): `undecided#<eventID>`.
    /// `statemachine/triage.asl.json` writes and deletes these keys, and its role may touch no
    /// other (`dynamodb:LeadingKeys`).
    pub const UNDECIDED_PREFIX: &str = "undecided#";
    /// The sparse index of the ledger entries (`undecided`, the eventID): the sweep scans it.
    pub const UNDECIDED_INDEX: &str = "byUndecided";
    pub const UNDECIDED_INDEX_KEY: &str = "undecided";
    /// The item where the health check keeps the failing checks it last alerted.
    pub const HEALTH_KEY: &str = "health#last";
}

/// The records table's schema, shared with the CDK stack and the tests.
pub mod records_table {
    /// The partition key: `model#NAME` or `endpoint-config#NAME`, the name case-folded.
    pub const KEY: &str = "pk";
    /// The sort key: `eventTime#eventId`, so every call is its own item.
    pub const SORT: &str = "sk";
}

/// The policy table's schema.
pub mod policy_table {
    pub const KEY: &str = "pk";
}
