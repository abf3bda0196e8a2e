//! Notifications: what the Notify step publishes for each kind, as text for e-mail and as JSON
//! for everything else, with the message attributes subscription filter policies use.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::ApprovalDecision;
use crate::audit::{ApprovalRecord, AuditItem, AuditState, FailureRecord};
use crate::contract::{Restorable, Verdict, Version1};
use crate::enforcement::{EnforcementResult, Remedy, enforcement_verb, remedy};
use crate::health::{HealthReport, report_text};
use crate::policy_change::PolicyChange;
use crate::scan::ScanAttention;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotificationKind {
    /// A violation that will be enforced when the grace period ends unless approved.
    ViolationPending,
    /// A violation under a notify-only binding: reported, nothing else.
    ViolationNotifyOnly,
    /// An approver kept the resource.
    Approved,
    /// The resource was stopped or deleted.
    Enforced,
    /// Enforcement failed; someone must look.
    EnforcementFailed,
    /// Someone worked around the guard, or tried to: a forged approval, an execution the guard did
    /// not start, an enforcement stopped from outside (`TamperAlert`).
    Tamper,
    /// The resource has stayed busy for an execution's every attempt: enforcement goes on in a
    /// fresh execution (the escalation alert of each hand-over; `DelayedAlert`).
    EnforcementDelayed,
    /// The health check's findings changed: a check started failing, or all pass again
    /// (`HealthAlert`).
    Health,
    /// A policy item was created, changed or removed, field by field (`PolicyChange`).
    PolicyChanged,
    /// The drift scan found a resource that violates the policy now and did not at the drift
    /// scans before (a policy change, a model re-pointed, a call the guard never saw). Sent by
    /// the scan function alone, once per finding.
    DriftFound,
    /// What a drift scan could not judge, on the guard topic: resources nobody can be credited
    /// with (new since the drift scans before), and what it could not do (`ScanAttention`).
    ScanAttention,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::ViolationPending => "violation-pending",
            NotificationKind::ViolationNotifyOnly => "violation-notify-only",
            NotificationKind::Approved => "approved",
            NotificationKind::Enforced => "enforced",
            NotificationKind::EnforcementFailed => "enforcement-failed",
            NotificationKind::Tamper => "tamper",
            NotificationKind::EnforcementDelayed => "enforcement-delayed",
            NotificationKind::Health => "health",
            NotificationKind::PolicyChanged => "policy-changed",
            NotificationKind::DriftFound => "drift-found",
            NotificationKind::ScanAttention => "scan-attention",
        }
    }

    /// The audit state the Notify step moves the item to when this notification goes out:
    /// `None` where it moves nothing (`enforced` and `failed` are moved by Enforce itself, which
    /// has the evidence, so a direct invoke of Notify can end no enforcement; a tamper alert moves
    /// nothing).
    pub fn audit_state(self) -> Option<AuditState> {
        match self {
            NotificationKind::ViolationPending => Some(AuditState::Pending),
            NotificationKind::ViolationNotifyOnly => Some(AuditState::Notified),
            NotificationKind::Approved => Some(AuditState::Approved),
            NotificationKind::Enforced
            | NotificationKind::Tamper
            | NotificationKind::EnforcementDelayed
            | NotificationKind::Health
            | NotificationKind::PolicyChanged
            | NotificationKind::DriftFound
            | NotificationKind::ScanAttention => None,
            NotificationKind::EnforcementFailed => None,
        }
    }

    /// Every kind an item can owe (`owed_in`).
    pub const OWABLE: [NotificationKind; 5] = [
        NotificationKind::ViolationPending,
        NotificationKind::ViolationNotifyOnly,
        NotificationKind::Approved,
        NotificationKind::Enforced,
        NotificationKind::EnforcementFailed,
    ];

    /// The alert an item owes once it has moved to `state`: recorded on the item with the move
    /// (`alertOwed`) and cleared only once it was published, so that an alert path that fails
    /// loses nothing (the sweep sends what is owed). A later move owes the later alert instead.
    pub fn owed_in(state: AuditState) -> Option<NotificationKind> {
        match state {
            AuditState::Pending => Some(NotificationKind::ViolationPending),
            AuditState::Notified => Some(NotificationKind::ViolationNotifyOnly),
            AuditState::Approved => Some(NotificationKind::Approved),
            AuditState::Enforced => Some(NotificationKind::Enforced),
            AuditState::Failed => Some(NotificationKind::EnforcementFailed),
            AuditState::Evaluated | AuditState::Allowed | AuditState::Audited => None,
        }
    }

    /// The topic it goes to: the guard's own alerts (tampering, and with them the alarms) have a
    /// topic and key of their own, so that breaking the violations topic silences neither.
    pub fn channel(self) -> Channel {
        match self {
            NotificationKind::Tamper
            | NotificationKind::Health
            | NotificationKind::PolicyChanged
            | NotificationKind::ScanAttention => Channel::Guard,
            _ => Channel::Violations,
        }
    }
}

/// The two alert topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Violations and what became of them (`TOPIC_ARN`).
    Violations,
    /// The guard's own health: tampering, alarms, failed executions (`GUARD_TOPIC_ARN`).
    Guard,
}

/// The Notify step's input, as the enforcement machine builds it: the kind and the event. The
/// verdict, the deadline and Enforce's result come from the audit item, never from the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyInput {
    pub version: Version1,
    pub kind: NotificationKind,
    pub event_id: String,
    /// AwaitApproval's task token (`violation-pending` only): stored, encrypted, on the item.
    #[serde(default)]
    pub task_token: Option<String>,
    /// The caught error (`enforcement-failed`, `tamper`): Step Functions' `{Error, Cause}`.
    #[serde(default)]
    pub error: Option<CaughtError>,
}

/// What someone did around the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TamperKind {
    /// The approval task was answered, but not by the approval function: the approval does not
    /// count, and the violation is enforced.
    ApprovalNotRecorded,
    /// An approval request whose identity proof AWS did not accept, or that was used before.
    ApprovalProofRefused,
    /// An enforcement execution the guard did not start, or that does not hold the event.
    ExecutionNotTheGuards,
    /// An enforcement execution was stopped (or failed, or timed out) before the violation was
    /// settled: the sweep started it again.
    EnforcementRestarted,
    /// One of the guard's own resources was changed (a tamper rule's alert, sent by EventBridge
    /// itself: statemachine/tamper-rules.json).
    GuardChanged,
    /// The sweep could not look in a member account and region (its member role cannot be
    /// assumed, or its CloudTrail refuses): calls there that EventBridge did not deliver go
    /// unseen.
    PlaceUnreachable,
}

impl TamperKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::ApprovalNotRecorded => "approval-not-recorded",
            TamperKind::ApprovalProofRefused => "approval-proof-refused",
            TamperKind::ExecutionNotTheGuards => "execution-not-the-guards",
            TamperKind::EnforcementRestarted => "enforcement-restarted",
            TamperKind::GuardChanged => "guard-changed",
            TamperKind::PlaceUnreachable => "place-unreachable",
        }
    }

    fn headline(self) -> &'static str {
        match self {
            TamperKind::ApprovalNotRecorded => "approval not made by the approval function",
            TamperKind::ApprovalProofRefused => "approval request with a bad identity proof",
            TamperKind::ExecutionNotTheGuards => "enforcement run the guard did not start",
            TamperKind::EnforcementRestarted => "enforcement stopped, restarted",
            TamperKind::GuardChanged => "the guard's own resources changed",
            TamperKind::PlaceUnreachable => "a guarded account cannot be looked in",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            TamperKind::ApprovalNotRecorded => {
                "The approval does not count: Model Guard enforces when the grace period ends. \
                 Whoever called states:SendTaskSuccess with the task token is in CloudTrail."
            }
            TamperKind::ApprovalProofRefused => {
                "The request was refused; nothing was approved. AWS did not vouch for the caller \
                 (a forged, altered, expired or replayed proof). The Function URL's caller is in \
                 CloudTrail (lambda:InvokeFunction)."
            }
            TamperKind::ExecutionNotTheGuards => {
                "That execution ends without acting; the guard's own enforcement is unaffected. \
                 Whoever called states:StartExecution is in CloudTrail."
            }
            TamperKind::EnforcementRestarted => {
                "The violation is not settled, so Model Guard started its enforcement again. \
                 An execution that was stopped: whoever called states:StopExecution is in \
                 CloudTrail. One that failed: its history says why."
            }
            TamperKind::GuardChanged => {
                "If this is not a deployment of Model Guard by its deployers, someone is \
                 switching the guard off around its users. `guardctl status` shows what is \
                 still working."
            }
            TamperKind::PlaceUnreachable => {
                "The member role there is gone, no longer trusts the guard, or is denied \
                 (an SCP, a permissions boundary), or that place's CloudTrail holds more calls \
                 in the window than a lookup pages through in time. Deploy the member stacks \
                 there again (README, \"Deploy for an organization\"); whoever changed the role \
                 is in that account's CloudTrail. The next sweep asks for the same window, and \
                 the next drift scan scans the place again."
            }
        }
    }
}

/// A tamper alert: what happened, to which event, in the guard's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TamperAlert {
    pub what: TamperKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub detail: String,
    /// The account and region it is about, where no verdict says (a place that cannot be
    /// looked in): a subscriber filters on its `account` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<crate::sweep::Place>,
}

/// A place a step of the guard could not act in (`place-unreachable`), from the error its
/// machine's Catch handed on: `cannot` says which step and what it could not do ("the sweep
/// cannot look in"), `meanwhile` what stays undone until it can.
pub fn place_unreachable(
    place: &crate::sweep::Place,
    cannot: &str,
    meanwhile: &str,
    error: Option<&str>,
    cause: Option<&str>,
) -> TamperAlert {
    TamperAlert {
        what: TamperKind::PlaceUnreachable,
        event_id: None,
        detail: format!(
            "{cannot} account {} region {}: {}. {meanwhile}",
            place.account,
            place.region,
            crate::sweep::cause_text(error, cause)
        ),
        place: Some(place.clone()),
    }
}

/// An error as a Step Functions Catch hands it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    /// Step Functions may hand on a null Cause.
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// What the notification says beyond the kind and the verdict: facts from the audit item and the
/// machine.
#[derive(Debug, Clone, Default)]
pub struct NotifyContext {
    /// When the grace period ends (`violation-pending`).
    pub deadline: Option<DateTime<Utc>>,
    /// Who decided (`approved`, and `enforced` after an enforce-now).
    pub approval: Option<ApprovalRecord>,
    /// What Enforce did (`enforced`), as it recorded it.
    pub enforcement: Option<EnforcementResult>,
    /// The caught error (`enforcement-failed`).
    pub error: Option<CaughtError>,
}

/// The JSON document sent to every protocol but e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDocument {
    pub version: Version1,
    pub kind: NotificationKind,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::audit::timestamp::option"
    )]
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<EnforcementResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<TamperAlert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed: Option<DelayedAlert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthAlert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_change: Option<PolicyChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanAttention>,
    /// The violation's verdict; absent only from a tamper alert about no known event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl NotificationDocument {
    /// A document of `kind` that says nothing else yet.
    fn of(kind: NotificationKind) -> NotificationDocument {
        NotificationDocument {
            version: Version1,
            kind,
            deadline: None,
            approval: None,
            enforcement: None,
            failure: None,
            tamper: None,
            delayed: None,
            health: None,
            policy_change: None,
            scan: None,
            verdict: None,
        }
    }
}

/// A rendered notification, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// The e-mail subject: at most 100 printable ASCII characters, as SNS requires.
    pub subject: String,
    pub text: String,
    pub document: NotificationDocument,
    /// Message attributes for subscription filter policies.
    pub attributes: BTreeMap<&'static str, String>,
    /// The topic it goes to: its kind's ([`NotificationKind::channel`]), unless moved (the
    /// health alert falls back to the violations topic when the guard topic cannot be reached).
    #[serde(skip)]
    pub channel: Channel,
}

const SNS_SUBJECT_MAX: usize = 100;

pub fn render(kind: NotificationKind, verdict: &Verdict, context: &NotifyContext) -> Notification {
    let event_id = verdict.event_id.as_deref().unwrap_or("(no event id)");
    let (resource_type, name) = verdict
        .resource
        .as_ref()
        .map(|r| (r.resource_type.as_str(), r.name.as_str()))
        .unwrap_or(("resource", "(unnamed)"));
    let principal = verdict.principal.as_deref().unwrap_or("(unknown caller)");
    let verb = if verdict.rollback_to.is_some() {
        "roll back"
    } else {
        verdict
            .resource
            .as_ref()
            .map(|r| enforcement_verb(r.resource_type))
            .unwrap_or("stop")
    };
    let when = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);

    let headline = match kind {
        NotificationKind::ViolationPending => format!(
            "{resource_type} {name} violates policy: {verb} at {}",
            context
                .deadline
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "once approval times out".to_owned())
        ),
        NotificationKind::ViolationNotifyOnly if verdict.observed => {
            format!("{resource_type} {name} violates policy (observe mode: would {verb})")
        }
        NotificationKind::ViolationNotifyOnly => {
            format!("{resource_type} {name} violates policy (notify only)")
        }
        NotificationKind::Approved => format!("{resource_type} {name}: violation approved, kept"),
        NotificationKind::Enforced => {
            let outcome = context
                .enforcement
                .as_ref()
                .map(|e| e.outcome.as_str())
                .unwrap_or("enforced");
            format!("{resource_type} {name}: {outcome}")
        }
        NotificationKind::EnforcementFailed => {
            format!("{resource_type} {name}: enforcement FAILED")
        }
        NotificationKind::Tamper => format!("{resource_type} {name}: TAMPERING"),
        NotificationKind::Health => format!("{resource_type} {name}: health"),
        NotificationKind::PolicyChanged => format!("{resource_type} {name}: policy changed"),
        NotificationKind::ScanAttention => format!("{resource_type} {name}: scan attention"),
        NotificationKind::DriftFound => {
            format!("{resource_type} {name} violates policy now (found by the drift scan)")
        }
        NotificationKind::EnforcementDelayed => {
            format!("{resource_type} {name}: still busy, enforcement goes on")
        }
    };

    let mut text = String::new();
    let _ = writeln!(text, "{headline}\n");
    let _ = writeln!(text, "Caller:    {principal}");
    if let Some(person) = &verdict.person {
        let _ = writeln!(text, "Person:    {person}");
    }
    // A Studio domain with ExecutionRoleIdentityConfig=USER_PROFILE_NAME sets the source
    // identity of its profiles' role sessions to the profile's name: who acted, under a shared
    // role. Shown, not trusted for decisions (whoever may set it on AssumeRole can choose it).
    if let Some(source) = &verdict.source_identity {
        let _ = writeln!(text, "Source:    {source} (the session's source identity)");
    }
    if let Some(started) = &verdict.started_by {
        let session = started
            .session
            .as_deref()
            .map(|s| format!(" (session {s})"))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "Started:   by {}{session}, through {}",
            started.principal,
            started.through()
        );
    }
    let _ = writeln!(
        text,
        "Call:      {} ({}, account {}, {})",
        verdict.event_name.as_deref().unwrap_or("?"),
        verdict.event_time.as_deref().unwrap_or("time unknown"),
        verdict.account.as_deref().unwrap_or("?"),
        verdict.region.as_deref().unwrap_or("?"),
    );
    let _ = writeln!(text, "Event:     {event_id}");
    let observed = if verdict.observed {
        " (observe mode: the policy says enforce)"
    } else {
        ""
    };
    let _ = writeln!(text, "Action:    {}{observed}", action_name(verdict));
    let _ = writeln!(text, "\nWhy:");
    for reason in &verdict.reasons {
        let _ = writeln!(text, "  - {reason}");
    }

    match kind {
        NotificationKind::ViolationPending => {
            if let Some(to) = &verdict.rollback_to {
                let unless = match &to.config {
                    Restorable::EndpointConfig { .. } => {
                        "that config or one of its models is gone or was made again"
                    }
                    Restorable::InferenceComponentSpec(_) => {
                        "its model is gone or was made again, or the component's environment was \
                         changed"
                    }
                };
                let _ = writeln!(
                    text,
                    "\nRolling back updates the {resource_type} to {}, which the allowed deployment \
                     {} deployed; if {unless} by then, Model Guard deletes the {resource_type} \
                     instead.",
                    to.describe(),
                    to.event_id
                );
            }
            if let Some(deadline) = &context.deadline {
                let _ = writeln!(
                    text,
                    "\nModel Guard will {verb} the {resource_type} at {} ({} s grace) unless an \
                     approver keeps it:",
                    when(deadline),
                    verdict.grace_seconds
                );
            } else {
                let _ = writeln!(
                    text,
                    "\nModel Guard will {verb} the {resource_type} when the grace period ends \
                     unless an approver keeps it:"
                );
            }
            let _ = writeln!(
                text,
                "  guardctl approve {event_id} --reason \"<why it may stay>\""
            );
            if verdict.rollback_to.is_some() {
                let _ = writeln!(text, "To roll it back now:");
            } else {
                let _ = writeln!(text, "To {verb} it now:");
            }
            let _ = writeln!(text, "  guardctl enforce-now {event_id} --reason \"<why>\"");
            let _ = writeln!(text, "Who may decide (a pattern on every line must match):");
            for set in &verdict.approvers {
                let patterns = if set.any_of.is_empty() {
                    "(none configured)".to_owned()
                } else {
                    set.any_of.join(", ")
                };
                let _ = writeln!(text, "  {}: {patterns}", set.binding);
            }
        }
        NotificationKind::ViolationNotifyOnly if verdict.observed => {
            let _ = writeln!(
                text,
                "\nObserve mode: nothing was stopped. In enforce mode Model Guard would {verb} \
                 the {resource_type} after {} s unless an approver kept it. The stack observes \
                 while the policy table's `enforcement` item says so; to enforce:\n  guardctl \
                 enforcement enforce",
                verdict.grace_seconds
            );
        }
        NotificationKind::ViolationNotifyOnly => {
            match verdict.resource.as_ref().map(|r| remedy(r.resource_type)) {
                Some(Remedy::NotifyOnly { by_hand }) => {
                    let _ = writeln!(
                        text,
                        "\nA {resource_type} is notify-only by nature: Model Guard stops nothing. \
                     By hand: {by_hand}."
                    );
                }
                _ => {
                    let _ = writeln!(
                        text,
                        "\nThe binding is notify-only: nothing will be stopped. Change its mode to \
                     `enforce` to have Model Guard act."
                    );
                }
            }
        }
        NotificationKind::Approved => {
            if let Some(approval) = &context.approval {
                let _ = writeln!(
                    text,
                    "\nApproved by {}{} at {}: {}",
                    approval.by,
                    by_person(approval),
                    when(&approval.at),
                    approval.reason
                );
            }
        }
        NotificationKind::Enforced => {
            if let Some(approval) = context
                .approval
                .as_ref()
                .filter(|a| a.decision == ApprovalDecision::EnforceNow)
            {
                let _ = writeln!(
                    text,
                    "\nEnforced early by {}{} at {}: {}",
                    approval.by,
                    by_person(approval),
                    when(&approval.at),
                    approval.reason
                );
            }
            if let Some(result) = &context.enforcement {
                let _ = writeln!(text, "\nOutcome:   {}", result.outcome.as_str());
                if let Some(to) = &result.restored {
                    let _ = writeln!(
                        text,
                        "Restored:  {}, deployed by the allowed call {}",
                        to.describe(),
                        to.event_id
                    );
                }
                if let Some(why) = &result.not_rolled_back {
                    let _ = writeln!(text, "Not rolled back, deleted instead: {why}");
                }
                if let Some(status) = &result.status {
                    let _ = writeln!(text, "Status when acted on: {status}");
                }
                if let Some(confirmed) = &result.confirmed {
                    let _ = writeln!(text, "Confirmed by a describe: {confirmed}");
                }
                for target in &result.deregistered_scalable_targets {
                    let _ = writeln!(text, "Deregistered autoscaling target: {target}");
                }
                for component in &result.deleted_inference_components {
                    let _ = writeln!(text, "Deleted inference component: {component}");
                }
            }
        }
        NotificationKind::DriftFound => {
            let _ = writeln!(
                text,
                "\nThe drift scan stops nothing and alerts each finding once. To have Model Guard \
                 enforce it (after its grace, unless an approver keeps it):\n  guardctl scan \
                 --enforce\nTo end it: change what the {resource_type} runs, or the policy. \
                 Every finding:\n  guardctl scan"
            );
        }
        NotificationKind::Tamper
        | NotificationKind::EnforcementDelayed
        | NotificationKind::Health
        | NotificationKind::PolicyChanged
        | NotificationKind::ScanAttention => {}
        NotificationKind::EnforcementFailed => {
            if let Some(error) = &context.error {
                let _ = writeln!(text, "\nError:     {}", error.error);
                let _ = writeln!(
                    text,
                    "Cause:     {}",
                    error.cause.as_deref().unwrap_or("(none given)")
                );
            }
            let _ = writeln!(
                text,
                "\nThe {resource_type} is still there. Look at the enforcement execution \
                 ({event_id}) and {verb} it by hand if it must go."
            );
        }
    }

    let mut attributes = BTreeMap::new();
    attributes.insert("kind", kind.as_str().to_owned());
    attributes.insert("resourceType", resource_type.to_owned());
    attributes.insert(
        "account",
        verdict
            .account
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
    );
    attributes.insert("action", action_name(verdict).to_owned());

    Notification {
        subject: sns_subject(&format!("Model Guard: {headline}")),
        text,
        document: NotificationDocument {
            version: Version1,
            kind,
            deadline: context.deadline,
            approval: context.approval.clone(),
            enforcement: context.enforcement.clone(),
            failure: context.error.as_ref().map(|e| FailureRecord {
                error: e.error.clone(),
                cause: e.cause.clone().unwrap_or_default(),
            }),
            tamper: None,
            delayed: None,
            health: None,
            policy_change: None,
            scan: None,
            verdict: Some(verdict.clone()),
        },
        attributes,
        channel: kind.channel(),
    }
}

/// A tamper alert, with the verdict of the event it is about where there is one.
/// The notification of `kind` about a recorded item, every fact from the item (the failure as
/// Enforce recorded it): what the Notify step sends, and what the sweep sends again when it is
/// still owed.
pub fn for_item(kind: NotificationKind, item: &AuditItem) -> Notification {
    let error = item.failure.as_ref().map(|f| CaughtError {
        error: f.error.clone(),
        cause: Some(f.cause.clone()).filter(|c| !c.is_empty()),
    });
    let context = NotifyContext {
        // The stored deadline (a retry repeats the first message's time); a notify-only
        // violation has none to tell.
        deadline: item
            .deadline
            .filter(|_| kind != NotificationKind::ViolationNotifyOnly),
        approval: item.approval.clone().filter(|a| match kind {
            NotificationKind::Approved => a.decision == ApprovalDecision::Approve,
            NotificationKind::Enforced => a.decision == ApprovalDecision::EnforceNow,
            _ => false,
        }),
        enforcement: item.enforcement.clone(),
        error: error.filter(|_| kind == NotificationKind::EnforcementFailed),
    };
    render(kind, &item.verdict, &context)
}

/// An enforcement that a busy resource has held up for an execution's every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayedAlert {
    /// The execution that made the attempts, and the one that goes on.
    pub execution: String,
    pub next: String,
    /// The last ResourceBusy's cause: what the resource is doing.
    pub busy: String,
    pub retry_seconds: u32,
}

/// The escalation alert of a hand-over (`EnforcementDelayed`), on the violations topic.
pub fn render_delayed(alert: &DelayedAlert, verdict: &Verdict) -> Notification {
    let mut notification = render(
        NotificationKind::EnforcementDelayed,
        verdict,
        &NotifyContext::default(),
    );
    let text = &mut notification.text;
    let _ = writeln!(text, "\nBusy:      {}", alert.busy);
    let _ = writeln!(
        text,
        "\nModel Guard never gives up while the resource is there: it tries every {} s. \
         Execution {} made its attempts; {} goes on. A resource that stays busy this long \
         (repeated updates, long health checks) is kept so by someone: their calls are in \
         CloudTrail.",
        alert.retry_seconds, alert.execution, alert.next
    );
    notification.document.delayed = Some(alert.clone());
    notification
}

pub fn render_tamper(alert: &TamperAlert, verdict: Option<&Verdict>) -> Notification {
    let what = alert.what;
    let resource = verdict.and_then(|v| v.resource.as_ref());
    let headline = match resource {
        Some(r) => format!(
            "TAMPERING: {}: {} {}",
            what.headline(),
            r.resource_type.as_str(),
            r.name
        ),
        None => format!("TAMPERING: {}", what.headline()),
    };
    let mut text = String::new();
    let _ = writeln!(text, "{headline}\n");
    let _ = writeln!(text, "What:      {}", alert.detail);
    if let Some(event_id) = &alert.event_id {
        let _ = writeln!(text, "Event:     {event_id}");
    }
    if let Some(verdict) = verdict {
        let _ = writeln!(
            text,
            "Deployer:  {}",
            verdict.principal.as_deref().unwrap_or("(unknown caller)")
        );
        let observed = if verdict.observed {
            " (observe mode: the policy says enforce)"
        } else {
            ""
        };
        let _ = writeln!(text, "Action:    {}{observed}", action_name(verdict));
    }
    let _ = writeln!(text, "\n{}", what.consequence());

    let mut attributes = BTreeMap::new();
    attributes.insert("kind", NotificationKind::Tamper.as_str().to_owned());
    attributes.insert("tamper", what.as_str().to_owned());
    attributes.insert(
        "resourceType",
        resource
            .map_or("none", |r| r.resource_type.as_str())
            .to_owned(),
    );
    attributes.insert(
        "account",
        verdict
            .and_then(|v| v.account.clone())
            .or_else(|| alert.place.as_ref().map(|p| p.account.clone()))
            .unwrap_or_else(|| "unknown".to_owned()),
    );
    if let Some(place) = &alert.place {
        attributes.insert("region", place.region.clone());
    }
    Notification {
        subject: sns_subject(&format!("Model Guard: {headline}")),
        text,
        document: NotificationDocument {
            tamper: Some(alert.clone()),
            verdict: verdict.cloned(),
            ..NotificationDocument::of(NotificationKind::Tamper)
        },
        attributes,
        channel: Channel::Guard,
    }
}

/// What the health check found, and what it found the run before: its alert goes out when the
/// failing checks change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthAlert {
    pub report: HealthReport,
    pub failing: Vec<String>,
    pub previously_failing: Vec<String>,
}

/// The health alert: which checks fail now (or that all pass again), the whole report, and where
/// to look.
pub fn render_health(report: &HealthReport, previously_failing: &[String]) -> Notification {
    let failing = report.failing();
    let headline = if failing.is_empty() {
        "Model Guard health: every check passes again".to_owned()
    } else {
        format!(
            "Model Guard health: {} FAILING: {}",
            if failing.len() == 1 {
                "1 check".to_owned()
            } else {
                format!("{} checks", failing.len())
            },
            failing.join(", ")
        )
    };
    let mut text = String::new();
    let _ = writeln!(text, "{headline}\n");
    let _ = writeln!(
        text,
        "Checked at {}:\n",
        report.at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    text.push_str(&report_text(report));
    if !previously_failing.is_empty() {
        let _ = writeln!(
            text,
            "\nFailing at the last check: {}",
            previously_failing.join(", ")
        );
    }
    if !failing.is_empty() {
        let _ = writeln!(
            text,
            "\nWhile a check fails, Model Guard may not see or stop deployments. A change to the \
             guard's resources that nobody deployed is tampering: the tamper alerts and CloudTrail \
             say who made it. `guardctl status` shows these checks live."
        );
    }
    let mut attributes = BTreeMap::new();
    attributes.insert("kind", NotificationKind::Health.as_str().to_owned());
    attributes.insert("failing", failing.len().to_string());
    Notification {
        subject: sns_subject(&headline),
        text,
        document: NotificationDocument {
            health: Some(HealthAlert {
                report: report.clone(),
                failing,
                previously_failing: previously_failing.to_vec(),
            }),
            ..NotificationDocument::of(NotificationKind::Health)
        },
        attributes,
        channel: Channel::Guard,
    }
}

/// A policy item created, changed or removed: each field's old and new value, and what it means.
pub fn render_policy_change(change: &PolicyChange) -> Notification {
    let headline = format!(
        "Model Guard policy {} {}",
        change.pk,
        change.change.as_str()
    );
    let mut text = String::new();
    let _ = writeln!(text, "{headline}\n");
    let _ = writeln!(text, "Item:      {}", change.pk);
    let _ = writeln!(
        text,
        "Change:    {}{}",
        change.change.as_str(),
        change
            .at
            .map(|at| format!(" at {}", at.to_rfc3339_opts(SecondsFormat::Secs, true)))
            .unwrap_or_default()
    );
    let _ = writeln!(text, "\nField by field:");
    let shown = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map_or_else(|| "(none)".to_owned(), |v| v.to_string())
    };
    for field in &change.fields {
        let _ = writeln!(
            text,
            "  {}: {} -> {}",
            field.field,
            shown(&field.before),
            shown(&field.after)
        );
    }
    if !change.warnings.is_empty() {
        let _ = writeln!(text, "\nWhat it means:");
        for warning in &change.warnings {
            let _ = writeln!(text, "  - {warning}");
        }
    }
    let _ = writeln!(
        text,
        "\nWho made it: the policy-written alert for the same item and time (the table's CloudTrail \
         data event). The functions re-read the table within a minute. Stream record {}.",
        change.stream_event_id
    );
    let mut attributes = BTreeMap::new();
    attributes.insert("kind", NotificationKind::PolicyChanged.as_str().to_owned());
    attributes.insert("change", change.change.as_str().to_owned());
    Notification {
        subject: sns_subject(&headline),
        text,
        document: NotificationDocument {
            policy_change: Some(change.clone()),
            ..NotificationDocument::of(NotificationKind::PolicyChanged)
        },
        attributes,
        channel: Channel::Guard,
    }
}

/// The drift scan's alert on what it could not judge: resources nobody can be credited with, each
/// listed once, and what the scan could not do (every incomplete scan says so).
pub fn render_scan_attention(attention: &ScanAttention) -> Notification {
    let unattributed = attention.unattributed.len() + attention.more_unattributed;
    let mut parts = Vec::new();
    if unattributed > 0 {
        parts.push(format!(
            "{unattributed} {} nobody can be credited with",
            if unattributed == 1 {
                "resource"
            } else {
                "resources"
            }
        ));
    }
    let unsure = attention.unsure.len() + attention.more_unsure;
    if unsure > 0 {
        parts.push(format!(
            "{unsure} {} of unsure cause",
            if unsure == 1 {
                "violation"
            } else {
                "violations"
            }
        ));
    }
    if !attention.complete {
        parts.push("the scan was INCOMPLETE".to_owned());
    }
    let of = attention
        .place
        .as_deref()
        .map(|p| format!(" of {p}"))
        .unwrap_or_default();
    let headline = format!("Model Guard drift scan{of}: {}", parts.join("; "));
    let mut text = String::new();
    let _ = writeln!(text, "{headline}\n");
    let _ = writeln!(
        text,
        "Scanned{} at {}.",
        attention
            .place
            .as_deref()
            .map(|p| format!(" account/region {p}"))
            .unwrap_or_default(),
        attention
            .scanned_at
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    if unattributed > 0 {
        let _ = writeln!(
            text,
            "\nWho set these is unknown (the call that set what each runs is older than \
             CloudTrail's 90 days, or not among its records), so the guard cannot judge them \
             against the policy, nor stop them. Each is listed once. Find out who owns each, \
             and re-deploy or delete what nobody owns:"
        );
        for finding in &attention.unattributed {
            let _ = writeln!(
                text,
                "  {} {}: {}\n    {}",
                finding.resource.resource_type,
                finding.resource.name,
                if finding.subjects.is_empty() {
                    "runs nothing the guard resolved".to_owned()
                } else {
                    finding.subjects.join(", ")
                },
                finding.why
            );
        }
        if attention.more_unattributed > 0 {
            let _ = writeln!(
                text,
                "  … and {} more: `guardctl scan` lists every one.",
                attention.more_unattributed
            );
        }
    }
    if unsure > 0 {
        let _ = writeln!(
            text,
            "\nViolations of unsure cause: the newest call found makes each a violation, but a \
             CloudTrail lookup of its calls failed, and a call it would have shown may be who \
             set what runs. Not enforced; told of at every scan until one completes:"
        );
        for finding in &attention.unsure {
            let _ = writeln!(
                text,
                "  {} {}: {}\n    {}",
                finding.resource.resource_type,
                finding.resource.name,
                finding.subjects.join(", "),
                finding.why
            );
        }
        if attention.more_unsure > 0 {
            let _ = writeln!(text, "  … and {} more.", attention.more_unsure);
        }
    }
    if !attention.complete {
        let _ = writeln!(
            text,
            "\nThe scan could not finish. What it could not list, look up or judge was not \
             checked, and no alert says whether it violates:"
        );
        for problem in &attention.problems {
            let _ = writeln!(text, "  {}: {}", problem.what, problem.error);
        }
        if attention.more_problems > 0 {
            let _ = writeln!(text, "  … and {} more.", attention.more_problems);
        }
        let _ = writeln!(
            text,
            "The next scheduled scan tries again, and says so again while it cannot finish. \
             `guardctl scan` runs the same scan with your own rights."
        );
    }
    let mut attributes = BTreeMap::new();
    attributes.insert("kind", NotificationKind::ScanAttention.as_str().to_owned());
    attributes.insert("unattributed", unattributed.to_string());
    attributes.insert("unsure", unsure.to_string());
    attributes.insert("complete", attention.complete.to_string());
    if let Some((account, region)) = attention.place.as_deref().and_then(|p| p.split_once('/')) {
        attributes.insert("account", account.to_owned());
        attributes.insert("region", region.to_owned());
    }
    Notification {
        subject: sns_subject(&headline),
        text,
        document: NotificationDocument {
            scan: Some(attention.clone()),
            ..NotificationDocument::of(NotificationKind::ScanAttention)
        },
        attributes,
        channel: Channel::Guard,
    }
}

fn action_name(verdict: &Verdict) -> &'static str {
    match verdict.action {
        crate::contract::Action::None => "none",
        crate::contract::Action::Notify => "notify",
        crate::contract::Action::Enforce => "enforce",
    }
}

/// SNS subjects are ASCII, without control characters, at most 100 characters: anything else in a
/// resource name becomes `?`, and a long subject ends in `...`.
pub fn sns_subject(text: &str) -> String {
    let mut subject: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if subject.len() > SNS_SUBJECT_MAX {
        subject.truncate(SNS_SUBJECT_MAX - 3);
        subject.push_str("...");
    }
    subject
}

/// ` (person …)` after an approver's principal, where the person is known.
fn by_person(approval: &crate::audit::ApprovalRecord) -> String {
    approval
        .person
        .as_ref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_with_an_alert_owes_exactly_its_alert() {
        use AuditState::*;
        let mut owed = Vec::new();
        for state in [
            Evaluated, Allowed, Audited, Notified, Pending, Approved, Enforced, Failed,
        ] {
            if let Some(kind) = NotificationKind::owed_in(state) {
                assert!(NotificationKind::OWABLE.contains(&kind), "{state}");
                // The kind that moves an item moves it to the state that owes it.
                if let Some(moved) = kind.audit_state() {
                    assert_eq!(moved, state, "{kind:?}");
                }
                owed.push(kind);
            }
        }
        let mut owable = NotificationKind::OWABLE.to_vec();
        owed.sort_by_key(|k| k.as_str());
        owable.sort_by_key(|k| k.as_str());
        assert_eq!(owed, owable);
        assert_eq!(
            NotificationKind::owed_in(Allowed),
            None,
            "an allow alerts no one"
        );
    }

    #[test]
    fn subjects_are_what_sns_accepts() {
        assert_eq!(sns_subject("a\nb é"), "a?b ?");
        let long = sns_subject(&"x".repeat(300));
        assert_eq!(long.len(), 100);
        assert!(long.ends_with("..."));
    }
}
