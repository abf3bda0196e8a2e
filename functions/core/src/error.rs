//! The errors a step reports. Each has an `errorType` from a small documented set, which the
//! state machines match on in their Retry and Catch rules; never a Rust type name.

use std::fmt;

/// The `errorType` of every error a Model Guard Lambda returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input is not the contract the step reads (not JSON, wrong shape, another version).
    InvalidInput,
    /// The resource is Creating or Updating; retry later (the enforcement machine backs off).
    ResourceBusy,
    /// AWS kept throttling after the SDK's own retries; retry later.
    Throttled,
    /// AWS or the network failed in a way that may pass (5xx, timeout); retry later.
    Unavailable,
    /// A record a deployment is judged by has not arrived yet (EventBridge does not order
    /// events); the triage retries a bounded number of times.
    RecordsPending,
    /// The function's role may not do what it must: fix the stack's IAM.
    AccessDenied,
    /// The policy table holds an item that does not validate; it names the item and field.
    PolicyInvalid,
    /// The audit item is missing or in a state that does not allow the move.
    AuditConflict,
    /// The function's configuration (environment) is missing or wrong.
    Configuration,
    /// Any other failure reported by AWS; the message carries AWS's error code.
    AwsError,
    /// No decision is recorded yet for the event an enforcement execution is named by (Evaluate
    /// has not written it): the enforcement machine's Claim retries.
    Undecided,
    /// Enforce was asked before the grace period ended, with no enforce-now on record: the
    /// machine waits for the deadline.
    NotDue,
    /// The approval task succeeded but the approval function recorded no approval: someone else
    /// answered the task token. The machine alerts and enforces.
    ApprovalNotRecorded,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidInput,
        ErrorKind::ResourceBusy,
        ErrorKind::Throttled,
        ErrorKind::Unavailable,
        ErrorKind::RecordsPending,
        ErrorKind::AccessDenied,
        ErrorKind::PolicyInvalid,
        ErrorKind::AuditConflict,
        ErrorKind::Configuration,
        ErrorKind::AwsError,
        ErrorKind::Undecided,
        ErrorKind::NotDue,
        ErrorKind::ApprovalNotRecorded,
    ];

    /// What the enforcement machine retries (or waits out): not a failure of the enforcement.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::ResourceBusy
                | ErrorKind::Throttled
                | ErrorKind::Unavailable
                | ErrorKind::NotDue
                | ErrorKind::Undecided
        )
    }

    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "ModelGuard.InvalidInput",
            ErrorKind::ResourceBusy => "ModelGuard.ResourceBusy",
            ErrorKind::Throttled => "ModelGuard.Throttled",
            ErrorKind::Unavailable => "ModelGuard.Unavailable",
            ErrorKind::RecordsPending => "ModelGuard.RecordsPending",
            ErrorKind::AccessDenied => "ModelGuard.AccessDenied",
            ErrorKind::PolicyInvalid => "ModelGuard.PolicyInvalid",
            ErrorKind::AuditConflict => "ModelGuard.AuditConflict",
            ErrorKind::Configuration => "ModelGuard.Configuration",
            ErrorKind::AwsError => "ModelGuard.AwsError",
            ErrorKind::Undecided => "ModelGuard.Undecided",
            ErrorKind::NotDue => "ModelGuard.NotDue",
            ErrorKind::ApprovalNotRecorded => "ModelGuard.ApprovalNotRecorded",
        }
    }
}

/// The task failure the approval function sends for `enforce-now`: the enforcement machine's
/// AwaitApproval catches it and enforces at once. Not a Lambda error.
pub const ENFORCE_NOW_ERROR: &str = "ModelGuard.EnforceNow";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardError {
    pub kind: ErrorKind,
    pub message: String,
}

impl GuardError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> GuardError {
        GuardError {
            kind,
            message: message.into(),
        }
    }

    pub fn error_type(&self) -> &'static str {
        self.kind.error_type()
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.error_type(), self.message)
    }
}

impl std::error::Error for GuardError {}
