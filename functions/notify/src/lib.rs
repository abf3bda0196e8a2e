//! Notify: moves the audit item to the notification's state, then publishes the notification.
//! For `violation-pending` it stores AwaitApproval's task token on the item (the approval
//! function answers it) and the deadline. The write comes first, so that a retried invocation
//! finds the item moved and publishes again rather than never (at least once, never lost).

use chrono::{DateTime, Duration, Utc};
use model_guard_core::approval::ApprovalDecision;
use model_guard_core::audit::FailureRecord;
use model_guard_core::contract::{Action, Decision};
use model_guard_core::notification::{NotificationKind, NotifyContext, NotifyInput, render};
use model_guard_core::ports::{Advance, AuditLog, Notifier};
use model_guard_core::{ErrorKind, GuardError};
use serde::Serialize;
use serde_json::Value;

pub struct Ports<N, A> {
    pub notifier: N,
    pub audit: A,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    pub version: model_guard_core::Version1,
    pub kind: NotificationKind,
    pub event_id: String,
    pub state: model_guard_core::audit::AuditState,
    pub message_id: String,
}

fn invalid(message: String) -> GuardError {
    GuardError::new(ErrorKind::InvalidInput, message)
}

/// Checks that the kind fits the verdict, so a wiring mistake says so instead of sending a
/// misleading message.
fn check(input: &NotifyInput) -> Result<String, GuardError> {
    let verdict = &input.verdict;
    let event_id = verdict
        .event_id
        .clone()
        .ok_or_else(|| invalid("the verdict has no eventId".to_owned()))?;
    if verdict.decision != Decision::Violation {
        return Err(invalid(format!(
            "event {event_id}: only violations are notified (this is {:?})",
            verdict.decision
        )));
    }
    let expected = match input.kind {
        NotificationKind::ViolationNotifyOnly => Action::Notify,
        _ => Action::Enforce,
    };
    if verdict.action != expected {
        return Err(invalid(format!(
            "event {event_id}: a {} notification is for action {expected:?}, not {:?}",
            input.kind.as_str(),
            verdict.action
        )));
    }
    if input.kind == NotificationKind::ViolationPending && input.task_token.is_none() {
        return Err(invalid(format!(
            "event {event_id}: violation-pending needs the AwaitApproval task token"
        )));
    }
    if input.kind == NotificationKind::Enforced && input.enforcement.is_none() {
        return Err(invalid(format!(
            "event {event_id}: enforced needs Enforce's output"
        )));
    }
    Ok(event_id)
}

pub async fn handle<N: Notifier, A: AuditLog>(
    input: Value,
    ports: &Ports<N, A>,
    now: DateTime<Utc>,
) -> Result<NotifyOutput, GuardError> {
    let input: NotifyInput = serde_path_to_error::deserialize(input)
        .map_err(|e| invalid(format!("not a notify input: {}: {}", e.path(), e.inner())))?;
    let event_id = check(&input)?;

    let mut advance = Advance::to(input.kind.audit_state(), now);
    if input.kind == NotificationKind::ViolationPending {
        advance.deadline = Some(now + Duration::seconds(i64::from(input.verdict.grace_seconds)));
        advance.task_token = input.task_token.clone();
    }
    advance.enforcement = input.enforcement.clone();
    advance.failure = input.error.as_ref().map(|e| FailureRecord {
        error: e.error.clone(),
        cause: e.cause.clone().unwrap_or_default(),
    });
    let item = ports.audit.advance(&event_id, &advance).await?;

    let context = NotifyContext {
        // The stored deadline: a retry repeats the first message's time.
        deadline: item.deadline,
        approval: item.approval.clone().filter(|a| match input.kind {
            NotificationKind::Approved => a.decision == ApprovalDecision::Approve,
            NotificationKind::Enforced => a.decision == ApprovalDecision::EnforceNow,
            _ => false,
        }),
    };
    let notification = render(&input, &context);
    let message_id = ports.notifier.publish(&notification).await?;
    tracing::info!(
        event_id = %event_id,
        kind = input.kind.as_str(),
        state = %item.state,
        message_id = %message_id,
        "notified"
    );
    Ok(NotifyOutput {
        version: model_guard_core::Version1,
        kind: input.kind,
        event_id,
        state: item.state,
        message_id,
    })
}
