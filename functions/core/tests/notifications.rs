//! Every notification kind, rendered from one violation: subject, e-mail text, JSON document and
//! message attributes, pinned by snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use model_guard_core::approval::ApprovalDecision;
use model_guard_core::audit::ApprovalRecord;
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::notification::{
    CaughtError, NotificationKind, NotifyContext, NotifyInput, render,
};
use model_guard_core::{Verdict, Version1};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn verdict(action: &str) -> Verdict {
    serde_json::from_value(serde_json::json!({
        "version": 1,
        "eventId": "00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f",
        "eventName": "CreateEndpoint",
        "eventTime": "2026-11-20T10:15:30Z",
        "account": "111122223333",
        "region": "eu-west-1",
        "decision": "violation",
        "action": action,
        "graceSeconds": 600,
        "principal": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DataScience_9f8e",
        "person": "identity-center-user:dan@example.com",
        "resource": {"type": "endpoint", "name": "fraud-scratch",
                     "arn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/fraud-scratch"},
        "subjects": [{"kind": "model", "name": "fraud-v3", "via": "endpoint config fraud-v3-config",
                      "binding": "model#fraud-v3", "allowed": false, "resolved": true}],
        "approvers": [{"binding": "model#fraud-v3",
                       "anyOf": ["arn:aws:iam::111122223333:role/AWSReservedSSO_MLPlatformAdmin_*"]}],
        "reasons": ["violation of model#fraud-v3: enforced after 600 s unless approved",
                    "model fraud-v3 (via endpoint config fraud-v3-config): bound by model#fraud-v3, which does not allow the caller"]
    }))
    .unwrap()
}

fn approval(decision: ApprovalDecision) -> ApprovalRecord {
    ApprovalRecord {
        decision,
        by: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_MLPlatformAdmin_0123".into(),
        person: Some("identity-center-user:alice@example.com".into()),
        caller_arn:
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_MLPlatformAdmin_0123/alice"
                .into(),
        at: at("2026-11-20T10:18:00Z"),
        reason: "shadow test agreed with the risk team (TICKET-42)".into(),
    }
}

fn input(kind: NotificationKind, action: &str) -> NotifyInput {
    NotifyInput {
        version: Version1,
        kind,
        verdict: verdict(action),
        task_token: None,
        enforcement: None,
        error: None,
    }
}

#[test]
fn every_kind_renders_as_pinned() {
    let deadline = at("2026-11-20T10:25:31Z");
    let resource = verdict("enforce").resource.unwrap();
    let cases = [
        (
            "violation-pending",
            NotifyInput {
                task_token: Some("token".into()),
                ..input(NotificationKind::ViolationPending, "enforce")
            },
            NotifyContext {
                deadline: Some(deadline),
                approval: None,
            },
        ),
        (
            "violation-notify-only",
            input(NotificationKind::ViolationNotifyOnly, "notify"),
            NotifyContext::default(),
        ),
        (
            "approved",
            input(NotificationKind::Approved, "enforce"),
            NotifyContext {
                deadline: Some(deadline),
                approval: Some(approval(ApprovalDecision::Approve)),
            },
        ),
        (
            "enforced",
            NotifyInput {
                enforcement: Some(EnforcementResult {
                    version: Version1,
                    outcome: EnforcementOutcome::Deleted,
                    resource: resource.clone(),
                    deregistered_scalable_targets: vec![
                        "endpoint/fraud-scratch/variant/AllTraffic".into(),
                    ],
                    deleted_inference_components: vec![],
                    status: Some("InService".into()),
                }),
                ..input(NotificationKind::Enforced, "enforce")
            },
            NotifyContext {
                deadline: Some(deadline),
                approval: None,
            },
        ),
        (
            "enforced-now",
            NotifyInput {
                enforcement: Some(EnforcementResult {
                    version: Version1,
                    outcome: EnforcementOutcome::AlreadyGone,
                    resource: resource.clone(),
                    deregistered_scalable_targets: vec![],
                    deleted_inference_components: vec![],
                    status: None,
                }),
                ..input(NotificationKind::Enforced, "enforce")
            },
            NotifyContext {
                deadline: Some(deadline),
                approval: Some(approval(ApprovalDecision::EnforceNow)),
            },
        ),
        (
            "enforcement-failed",
            NotifyInput {
                error: Some(CaughtError {
                    error: "ModelGuard.AccessDenied".into(),
                    cause: Some(
                        "DeleteEndpoint fraud-scratch: AccessDeniedException: not authorized"
                            .into(),
                    ),
                }),
                ..input(NotificationKind::EnforcementFailed, "enforce")
            },
            NotifyContext {
                deadline: Some(deadline),
                approval: None,
            },
        ),
    ];
    for (name, input, context) in cases {
        let notification = render(&input, &context);
        assert!(notification.subject.len() <= 100, "{name}");
        assert_eq!(notification.attributes["kind"], input.kind.as_str());
        insta::assert_snapshot!(
            format!("{name}-text"),
            format!("Subject: {}\n\n{}", notification.subject, notification.text)
        );
        insta::assert_json_snapshot!(
            format!("{name}-json"),
            serde_json::json!({
                "attributes": notification.attributes,
                "document": notification.document,
            })
        );
    }
}

#[test]
fn the_pending_text_carries_the_exact_commands() {
    let input = NotifyInput {
        task_token: Some("t".into()),
        ..input(NotificationKind::ViolationPending, "enforce")
    };
    let text = render(
        &input,
        &NotifyContext {
            deadline: Some(at("2026-11-20T10:25:31Z")),
            approval: None,
        },
    )
    .text;
    assert!(
        text.contains("guardctl approve 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --reason"),
        "{text}"
    );
    assert!(
        text.contains("guardctl enforce-now 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --reason"),
        "{text}"
    );
    assert!(text.contains("2026-11-20T10:25:31Z"), "{text}");
}
