//! Notifications: what the Notify step publishes for each kind, as text for e-mail and as JSON
//! for everything else, with the message attributes subscription filter policies use.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::ApprovalDecision;
use crate::audit::{ApprovalRecord, AuditState, FailureRecord};
use crate::contract::{Verdict, Version1};
use crate::enforcement::{EnforcementResult, enforcement_verb};

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
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::ViolationPending => "violation-pending",
            NotificationKind::ViolationNotifyOnly => "violation-notify-only",
            NotificationKind::Approved => "approved",
            NotificationKind::Enforced => "enforced",
            NotificationKind::EnforcementFailed => "enforcement-failed",
        }
    }

    /// The audit state the item moves to when this notification goes out.
    pub fn audit_state(self) -> AuditState {
        match self {
            NotificationKind::ViolationPending => AuditState::Pending,
            NotificationKind::ViolationNotifyOnly => AuditState::Notified,
            NotificationKind::Approved => AuditState::Approved,
            NotificationKind::Enforced => AuditState::Enforced,
            NotificationKind::EnforcementFailed => AuditState::Failed,
        }
    }
}

/// The Notify step's input, as the enforcement machine builds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyInput {
    pub version: Version1,
    pub kind: NotificationKind,
    pub verdict: Verdict,
    /// AwaitApproval's task token (`violation-pending` only): stored on the audit item.
    #[serde(default)]
    pub task_token: Option<String>,
    /// Enforce's output (`enforced`).
    #[serde(default)]
    pub enforcement: Option<EnforcementResult>,
    /// The caught error (`enforcement-failed`): Step Functions' `{Error, Cause}`.
    #[serde(default)]
    pub error: Option<CaughtError>,
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

/// What the notification says beyond the input: facts the Notify step looked up or computed.
#[derive(Debug, Clone, Default)]
pub struct NotifyContext {
    /// When the grace period ends (`violation-pending`).
    pub deadline: Option<DateTime<Utc>>,
    /// Who decided (`approved`, and `enforced` after an enforce-now).
    pub approval: Option<ApprovalRecord>,
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
    pub verdict: Verdict,
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
}

const SNS_SUBJECT_MAX: usize = 100;

pub fn render(input: &NotifyInput, context: &NotifyContext) -> Notification {
    let verdict = &input.verdict;
    let event_id = verdict.event_id.as_deref().unwrap_or("(no event id)");
    let (resource_type, name) = verdict
        .resource
        .as_ref()
        .map(|r| (r.resource_type.as_str(), r.name.as_str()))
        .unwrap_or(("resource", "(unnamed)"));
    let principal = verdict.principal.as_deref().unwrap_or("(unknown caller)");
    let verb = verdict
        .resource
        .as_ref()
        .map(|r| enforcement_verb(r.resource_type))
        .unwrap_or("stop");
    let when = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);

    let headline = match input.kind {
        NotificationKind::ViolationPending => format!(
            "{resource_type} {name} violates policy: {verb} at {}",
            context
                .deadline
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "once approval times out".to_owned())
        ),
        NotificationKind::ViolationNotifyOnly => {
            format!("{resource_type} {name} violates policy (notify only)")
        }
        NotificationKind::Approved => format!("{resource_type} {name}: violation approved, kept"),
        NotificationKind::Enforced => {
            let outcome = input
                .enforcement
                .as_ref()
                .map(|e| e.outcome.as_str())
                .unwrap_or("enforced");
            format!("{resource_type} {name}: {outcome}")
        }
        NotificationKind::EnforcementFailed => {
            format!("{resource_type} {name}: enforcement FAILED")
        }
    };

    let mut text = String::new();
    let _ = writeln!(text, "{headline}\n");
    let _ = writeln!(text, "Caller:    {principal}");
    if let Some(person) = &verdict.person {
        let _ = writeln!(text, "Person:    {person}");
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
    let _ = writeln!(text, "Action:    {}", action_name(verdict));
    let _ = writeln!(text, "\nWhy:");
    for reason in &verdict.reasons {
        let _ = writeln!(text, "  - {reason}");
    }

    match input.kind {
        NotificationKind::ViolationPending => {
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
            let _ = writeln!(text, "To {verb} it now:");
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
        NotificationKind::ViolationNotifyOnly => {
            let _ = writeln!(
                text,
                "\nThe binding is notify-only: nothing will be stopped. Change its mode to \
                 `enforce` to have Model Guard act."
            );
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
            if let Some(result) = &input.enforcement {
                let _ = writeln!(text, "\nOutcome:   {}", result.outcome.as_str());
                if let Some(status) = &result.status {
                    let _ = writeln!(text, "Status when acted on: {status}");
                }
                for target in &result.deregistered_scalable_targets {
                    let _ = writeln!(text, "Deregistered autoscaling target: {target}");
                }
                for component in &result.deleted_inference_components {
                    let _ = writeln!(text, "Deleted inference component: {component}");
                }
            }
        }
        NotificationKind::EnforcementFailed => {
            if let Some(error) = &input.error {
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
    attributes.insert("kind", input.kind.as_str().to_owned());
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
            kind: input.kind,
            deadline: context.deadline,
            approval: context.approval.clone(),
            enforcement: input.enforcement.clone(),
            failure: input.error.as_ref().map(|e| FailureRecord {
                error: e.error.clone(),
                cause: e.cause.clone().unwrap_or_default(),
            }),
            verdict: verdict.clone(),
        },
        attributes,
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
    fn subjects_are_what_sns_accepts() {
        assert_eq!(sns_subject("a\nb é"), "a?b ?");
        let long = sns_subject(&"x".repeat(300));
        assert_eq!(long.len(), 100);
        assert!(long.ends_with("..."));
    }
}
