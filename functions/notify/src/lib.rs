//! Notify: moves the audit item to the notification's state (which records the alert as owed),
//! publishes the notification, and records it sent.
//! It trusts nothing but the kind and the eventID in its input: the verdict, the deadline and
//! Enforce's result come from the audit item. For `violation-pending` it stores AwaitApproval's
//! task token on the item, sealed (`TokenVault`), for the approval function to answer. The write
//! comes first, so that a retried invocation finds the item moved and publishes again rather than
//! never (at least once, never lost).

use chrono::{DateTime, Utc};
use model_guard_core::audit::{AuditItem, AuditState};
use model_guard_core::contract::{Action, Decision};
use model_guard_core::notification::{
    NotificationKind, NotifyInput, TamperAlert, TamperKind, for_item, render_tamper,
};
use model_guard_core::ports::{Advance, AuditLog, Notifier, TokenVault};
use model_guard_core::{ErrorKind, GuardError};
use serde::Serialize;
use serde_json::Value;

pub struct Ports<N, A, V> {
    pub notifier: N,
    pub audit: A,
    pub vault: V,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    pub version: model_guard_core::Version1,
    pub kind: NotificationKind,
    pub event_id: String,
    pub state: AuditState,
    pub message_id: String,
}

fn invalid(message: String) -> GuardError {
    GuardError::new(ErrorKind::InvalidInput, message)
}

/// Checks that the kind fits the recorded verdict, so a wiring mistake (or a direct invoke) says
/// so instead of sending a misleading message.
fn check(input: &NotifyInput, item: &AuditItem) -> Result<(), GuardError> {
    let verdict = &item.verdict;
    let event_id = &item.event_id;
    if verdict.decision != Decision::Violation {
        return Err(invalid(format!(
            "event {event_id}: only violations are notified (this is {:?})",
            verdict.decision
        )));
    }
    if input.kind == NotificationKind::EnforcementDelayed {
        return Err(invalid(format!(
            "event {event_id}: enforcement-delayed is Claim's hand-over alert, not Notify's"
        )));
    }
    if matches!(
        input.kind,
        NotificationKind::DriftFound | NotificationKind::ScanAttention
    ) {
        return Err(invalid(format!(
            "event {event_id}: {} is the scan function's alert, not Notify's",
            input.kind.as_str()
        )));
    }
    let expected = match input.kind {
        NotificationKind::ViolationNotifyOnly => Some(Action::Notify),
        NotificationKind::Tamper => None,
        _ => Some(Action::Enforce),
    };
    if let Some(expected) = expected
        && verdict.action != expected
    {
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
    Ok(())
}

pub async fn handle<N: Notifier, A: AuditLog, V: TokenVault>(
    input: Value,
    ports: &Ports<N, A, V>,
    now: DateTime<Utc>,
) -> Result<NotifyOutput, GuardError> {
    let input: NotifyInput = serde_path_to_error::deserialize(input)
        .map_err(|e| invalid(format!("not a notify input: {}: {}", e.path(), e.inner())))?;
    let event_id = input.event_id.clone();
    let recorded = ports.audit.get(&event_id).await?.ok_or_else(|| {
        GuardError::new(
            ErrorKind::AuditConflict,
            format!("event {event_id} has no audit item"),
        )
    })?;
    check(&input, &recorded)?;

    let item = match input.kind.audit_state() {
        Some(state) => {
            let mut advance = Advance::to(state, now);
            if let Some(token) = &input.task_token
                && input.kind == NotificationKind::ViolationPending
            {
                advance.task_token = Some(ports.vault.seal(&event_id, token).await?);
            }
            ports.audit.advance(&event_id, &advance).await?
        }
        // Enforce moves the item when it acts, or fails to for good: say what it recorded, or
        // nothing. An enforcement that failed without a record (a Lambda or transient error the
        // machine gave up on) stays unsettled: the execution fails, and the sweep starts it again.
        None if matches!(
            input.kind,
            NotificationKind::Enforced | NotificationKind::EnforcementFailed
        ) =>
        {
            let (state, evidence) = if input.kind == NotificationKind::Enforced {
                (AuditState::Enforced, recorded.enforcement.is_some())
            } else {
                (AuditState::Failed, recorded.failure.is_some())
            };
            if recorded.state != state || !evidence {
                return Err(GuardError::new(
                    ErrorKind::AuditConflict,
                    format!(
                        "event {event_id} is {}: Enforce recorded no {state} outcome to report",
                        recorded.state
                    ),
                ));
            }
            recorded
        }
        None => recorded,
    };

    let notification = if input.kind == NotificationKind::Tamper {
        let alert = TamperAlert {
            what: TamperKind::ApprovalNotRecorded,
            event_id: Some(event_id.clone()),
            detail: input
                .error
                .as_ref()
                .and_then(|e| e.cause.clone())
                .unwrap_or_else(|| {
                    "the approval task succeeded with no approval on record".to_owned()
                }),
            place: None,
        };
        render_tamper(&alert, Some(&item.verdict))
    } else {
        // Every fact from the item (a failure as Enforce recorded it).
        for_item(input.kind, &item)
    };
    let message_id = ports.notifier.publish(&notification).await?;
    // Published: no longer owed (a failure here repeats the alert on the retry, never loses it).
    if NotificationKind::OWABLE.contains(&input.kind) {
        ports.audit.alert_sent(&event_id, input.kind).await?;
    }
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
