//! Notify against the testbed: audit items really moved in DynamoDB, messages really published
//! to SNS and read back through an SQS subscription.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_config::SdkConfig;
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::kms::KmsTokenVault;
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::approval::ApprovalDecision;
use model_guard_core::audit::{ApprovalRecord, AuditItem, AuditState};
use model_guard_core::enforcement::EnforcementResult;
use model_guard_core::ports::{Advance, AuditLog, TokenVault};
use model_guard_core::{ErrorKind, Verdict};
use model_guard_testkit::{
    Inbox, audit_item, config, decisions_table, inbox, token_key, unique, violation,
};
use notify::{Ports, handle};
use serde_json::{Value, json};

struct World {
    config: SdkConfig,
    decisions: String,
    inbox: Inbox,
    /// The guard's own topic: tamper alerts.
    guard: Inbox,
    ports: Ports<SnsNotifier, DynamoAuditLog, KmsTokenVault>,
}

async fn world() -> World {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let inbox = inbox(&config).await;
    let guard = model_guard_testkit::inbox(&config).await;
    let ports = Ports {
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &inbox.topic_arn,
            &guard.topic_arn,
        ),
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&config), &decisions),
        vault: KmsTokenVault::new(aws_sdk_kms::Client::new(&config), token_key(&config).await),
    };
    World {
        config,
        decisions,
        inbox,
        guard,
        ports,
    }
}

impl World {
    /// An audit item as Evaluate leaves it and Claim takes it (deadline now + 30 s); returns
    /// the verdict.
    async fn evaluated(&self, action: &str) -> Value {
        let event_id = unique("evt");
        let verdict = violation(&event_id, "endpoint", "fraud-scratch", action, 30);
        let typed: Verdict = serde_json::from_value(verdict.clone()).unwrap();
        let now = chrono::Utc::now();
        let item = AuditItem::for_verdict(&typed, now).unwrap();
        self.ports.audit.record(&item).await.unwrap();
        let deadline = now + chrono::Duration::seconds(30);
        let claimed = self
            .ports
            .audit
            .claim(&event_id, &event_id, deadline, now)
            .await;
        assert!(claimed.unwrap().is_some());
        verdict
    }

    /// What Enforce does when it acts: the item moves to enforced with its result.
    async fn enforced(&self, verdict: &Value, outcome: Value) {
        let mut advance = Advance::to(AuditState::Enforced, chrono::Utc::now());
        let result: EnforcementResult = serde_json::from_value(outcome).unwrap();
        advance.enforcement = Some(result);
        let event_id = verdict["eventId"].as_str().unwrap();
        self.ports.audit.advance(event_id, &advance).await.unwrap();
    }

    async fn notify(&self, input: Value) -> Result<Value, model_guard_core::GuardError> {
        handle(input, &self.ports, chrono::Utc::now())
            .await
            .map(|o| serde_json::to_value(o).unwrap())
    }

    async fn item(&self, verdict: &Value) -> Value {
        audit_item(
            &self.config,
            &self.decisions,
            verdict["eventId"].as_str().unwrap(),
        )
        .await
        .unwrap()
    }
}

fn input(kind: &str, verdict: &Value) -> Value {
    json!({"version": 1, "kind": kind, "eventId": verdict["eventId"]})
}

/// The audit item, with what differs between runs redacted.
macro_rules! snapshot_item {
    ($name:expr, $item:expr) => {
        insta::assert_json_snapshot!($name, $item, {
            ".eventId" => "[event-id]",
            ".eventTime" => "[time]",
            ".verdict.eventId" => "[event-id]",
            ".verdict.eventTime" => "[time]",
            ".decidedAt" => "[time]",
            ".updatedAt" => "[time]",
            ".deadline" => "[time]",
            ".history[].at" => "[time]",
            ".approval.at" => "[time]",
            ".execution" => "[event-id]",
            ".taskToken" => "[sealed]",
        });
    };
}

/// A received message, with what differs between runs redacted.
macro_rules! snapshot_message {
    ($name:expr, $message:expr) => {
        insta::assert_json_snapshot!($name, $message, {
            ".message.verdict.eventId" => "[event-id]",
            ".message.verdict.eventTime" => "[time]",
            ".message.deadline" => "[time]",
            ".message.approval.at" => "[time]",
            ".subject" => insta::dynamic_redaction(|v, _| {
                let text = v.as_str().unwrap().to_owned();
                // The deadline in a pending subject is now + grace.
                match text.split_once(" at 20") {
                    Some((head, _)) => format!("{head} at [time]"),
                    None => text,
                }
            }),
        });
    };
}

#[tokio::test]
async fn a_pending_violation_stores_the_token_sealed_keeps_the_deadline_then_alerts() {
    let w = world().await;
    let verdict = w.evaluated("enforce").await;
    let event_id = verdict["eventId"].as_str().unwrap();
    let claimed = w.item(&verdict).await;
    let mut request = input("violation-pending", &verdict);
    request["taskToken"] = json!("token-1");
    let output = w.notify(request.clone()).await.unwrap();
    assert_eq!(output["state"], "pending");

    let item = w.item(&verdict).await;
    // No readable copy of the token: what is stored opens, with the key, for this event only.
    let sealed = item["taskToken"].as_str().unwrap();
    assert!(!sealed.contains("token-1"), "{sealed}");
    assert_eq!(
        w.ports.vault.open(event_id, sealed).await.unwrap(),
        "token-1"
    );
    assert!(w.ports.vault.open("another-event", sealed).await.is_err());
    assert_eq!(
        item["deadline"], claimed["deadline"],
        "Claim's deadline stands"
    );
    snapshot_item!("audit-pending", item);

    let received = w.inbox.expect(1, Duration::from_secs(10)).await;
    assert_eq!(received[0].message["deadline"], item["deadline"]);
    assert!(!received[0].message.to_string().contains("token-1"));
    // A queue gets the JSON document (`default`), not the e-mail text nor the chat card (`https`).
    assert_eq!(received[0].message["kind"], "violation-pending");
    assert!(
        received[0].message.get("source").is_none() && received[0].message.get("content").is_none(),
        "{:#}",
        received[0].message
    );
    snapshot_message!("message-violation-pending", &received[0]);

    // A retried invocation: the item stays as it was (one history entry), the alert goes again.
    w.notify(request.clone()).await.unwrap();
    let again = w.item(&verdict).await;
    assert_eq!(again["history"], item["history"]);
    assert_eq!(again["deadline"], item["deadline"]);
    w.inbox.expect(1, Duration::from_secs(10)).await;

    // A retried AwaitApproval (or a restarted execution) brings a new token: the item keeps
    // that one, so an approval reaches the task that is waiting; the deadline stays.
    request["taskToken"] = json!("token-2");
    w.notify(request).await.unwrap();
    let renewed = w.item(&verdict).await;
    let sealed = renewed["taskToken"].as_str().unwrap();
    assert_eq!(
        w.ports.vault.open(event_id, sealed).await.unwrap(),
        "token-2"
    );
    assert_eq!(renewed["deadline"], item["deadline"]);
    assert_eq!(renewed["history"], item["history"]);
    w.inbox.expect(1, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_notify_only_violation_is_notified() {
    let w = world().await;
    let verdict = w.evaluated("notify").await;
    w.notify(input("violation-notify-only", &verdict))
        .await
        .unwrap();
    snapshot_item!("audit-notified", w.item(&verdict).await);
    let received = w.inbox.expect(1, Duration::from_secs(10)).await;
    snapshot_message!("message-violation-notify-only", &received[0]);
}

async fn pending(w: &World) -> Value {
    let verdict = w.evaluated("enforce").await;
    let mut request = input("violation-pending", &verdict);
    request["taskToken"] = json!("token-1");
    w.notify(request).await.unwrap();
    w.inbox.expect(1, Duration::from_secs(10)).await;
    verdict
}

#[tokio::test]
async fn an_approved_violation_names_the_approver() {
    let w = world().await;
    let verdict = pending(&w).await;
    let approval = ApprovalRecord {
        decision: ApprovalDecision::Approve,
        by: "arn:aws:iam::123456789012:role/SecurityOps".into(),
        person: None,
        caller_arn: "arn:aws:sts::123456789012:assumed-role/SecurityOps/carol".into(),
        at: chrono::Utc::now(),
        reason: "agreed with the risk team".into(),
    };
    let event_id = verdict["eventId"].as_str().unwrap();
    assert!(
        w.ports
            .audit
            .record_approval(event_id, &approval)
            .await
            .unwrap()
    );
    w.notify(input("approved", &verdict)).await.unwrap();
    let item = w.item(&verdict).await;
    assert!(
        item.get("taskToken").is_none(),
        "the token goes with the pending state"
    );
    snapshot_item!("audit-approved", item);
    let received = w.inbox.expect(1, Duration::from_secs(10)).await;
    snapshot_message!("message-approved", &received[0]);
}

/// The attack: whoever reads the token (or is handed it) answers the approval task with
/// `states:SendTaskSuccess`. The machine's NotifyApproved then finds no approval the approval
/// function recorded: the item stays pending, nothing is announced, and the machine enforces.
#[tokio::test]
async fn an_approval_the_approval_function_did_not_record_does_not_approve() {
    let w = world().await;
    let verdict = pending(&w).await;
    let error = w.notify(input("approved", &verdict)).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::ApprovalNotRecorded, "{error}");
    assert_eq!(w.item(&verdict).await["state"], "pending");
    w.inbox.expect(0, Duration::from_secs(2)).await;
    // The machine's tamper alert for it: the item is unchanged.
    let mut alert = input("tamper", &verdict);
    alert["error"] = json!({"Error": "ModelGuard.ApprovalNotRecorded", "Cause": error.message});
    w.notify(alert).await.unwrap();
    assert_eq!(w.item(&verdict).await["state"], "pending");
    // On the guard's own topic, not the violations topic.
    w.inbox.expect(0, Duration::from_secs(2)).await;
    let received = w.guard.expect(1, Duration::from_secs(10)).await;
    assert_eq!(received[0].message["kind"], "tamper");
    assert_eq!(
        received[0].message["tamper"]["what"],
        "approval-not-recorded"
    );
}

#[tokio::test]
async fn an_enforced_violation_carries_the_outcome_enforce_recorded() {
    let w = world().await;
    let verdict = pending(&w).await;
    w.enforced(&verdict, json!({"version": 1, "outcome": "deleted", "resource": verdict["resource"],
        "deregisteredScalableTargets": [], "deletedInferenceComponents": ["ic-1"], "status": "InService"}))
        .await;
    w.notify(input("enforced", &verdict)).await.unwrap();
    snapshot_item!("audit-enforced", w.item(&verdict).await);
    let received = w.inbox.expect(1, Duration::from_secs(10)).await;
    snapshot_message!("message-enforced", &received[0]);
}

/// A direct invoke of Notify cannot end an enforcement by announcing one: `enforced` moves no
/// item, Enforce does when it acts.
#[tokio::test]
async fn enforced_is_announced_only_once_enforce_recorded_it() {
    let w = world().await;
    let verdict = pending(&w).await;
    let error = w.notify(input("enforced", &verdict)).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AuditConflict, "{error}");
    assert_eq!(w.item(&verdict).await["state"], "pending");
    w.inbox.expect(0, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn grace_zero_goes_from_evaluated_straight_to_enforced() {
    let w = world().await;
    let verdict = w.evaluated("enforce").await;
    w.enforced(
        &verdict,
        json!({"version": 1, "outcome": "already-gone", "resource": verdict["resource"]}),
    )
    .await;
    w.notify(input("enforced", &verdict)).await.unwrap();
    assert_eq!(w.item(&verdict).await["state"], "enforced");
    w.inbox.expect(1, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_failed_enforcement_announces_the_error_enforce_recorded() {
    let w = world().await;
    let verdict = pending(&w).await;
    // What Enforce records when the delete is refused for good.
    let mut advance = Advance::to(AuditState::Failed, chrono::Utc::now());
    advance.failure = Some(model_guard_core::audit::FailureRecord {
        error: "ModelGuard.AccessDenied".into(),
        cause: "DeleteEndpoint fraud-scratch: AccessDeniedException: no".into(),
    });
    let event_id = verdict["eventId"].as_str().unwrap();
    w.ports.audit.advance(event_id, &advance).await.unwrap();
    let mut request = input("enforcement-failed", &verdict);
    request["error"] = json!({"Error": "ModelGuard.AccessDenied", "Cause": "DeleteEndpoint fraud-scratch: AccessDeniedException: no"});
    w.notify(request).await.unwrap();
    snapshot_item!("audit-failed", w.item(&verdict).await);
    let received = w.inbox.expect(1, Duration::from_secs(10)).await;
    snapshot_message!("message-enforcement-failed", &received[0]);
}

#[tokio::test]
async fn a_move_out_of_order_is_refused_and_nothing_is_sent() {
    let w = world().await;
    let verdict = w.evaluated("enforce").await;
    // Approved needs pending first; a terminal state never moves again.
    let error = w.notify(input("approved", &verdict)).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AuditConflict, "{error}");
    assert!(error.message.contains("is evaluated"), "{error}");
    w.enforced(
        &verdict,
        json!({"version": 1, "outcome": "deleted", "resource": verdict["resource"]}),
    )
    .await;
    let mut pending = input("violation-pending", &verdict);
    pending["taskToken"] = json!("t");
    let error = w.notify(pending).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AuditConflict, "{error}");
    assert_eq!(w.item(&verdict).await["state"], "enforced");
    w.inbox.expect(0, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_kind_that_does_not_fit_the_verdict_is_refused() {
    let w = world().await;
    let verdict = w.evaluated("notify").await;
    let enforce = w.evaluated("enforce").await;
    let cases = [
        input("violation-pending", &verdict), // notify-only verdict, and no token
        input("violation-notify-only", &enforce), // the recorded verdict is enforce
        input("violation-pending", &enforce), // no token
        json!({"version": 1, "kind": "party", "eventId": verdict["eventId"]}),
        json!({"kind": "approved"}),
        json!({"version": 1, "kind": "approved", "verdict": verdict}), // the old contract
    ];
    for bad in cases {
        let error = w.notify(bad.clone()).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput, "{bad}: {error}");
    }
    assert_eq!(w.item(&verdict).await["state"], "evaluated");
    w.inbox.expect(0, Duration::from_secs(2)).await;
}

/// The attack: break the violations topic (delete it, or its policy or key) so that the alert
/// path fails. The move is recorded with the alert owed; the failed publish leaves it owed (the
/// sweep sends it), and only a published alert clears it.
#[tokio::test]
async fn an_alert_that_cannot_be_published_stays_owed_until_one_is() {
    let w = world().await;
    let verdict = w.evaluated("enforce").await;
    w.enforced(
        &verdict,
        json!({"version": 1, "outcome": "deleted", "resource": verdict["resource"]}),
    )
    .await;
    assert_eq!(w.item(&verdict).await["alertOwed"], "enforced");
    let broken = Ports {
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&w.config),
            "arn:aws:sns:us-east-1:123456789012:deleted-by-someone",
            &w.guard.topic_arn,
        ),
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&w.config), &w.decisions),
        vault: KmsTokenVault::new(
            aws_sdk_kms::Client::new(&w.config),
            token_key(&w.config).await,
        ),
    };
    let error = handle(input("enforced", &verdict), &broken, chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(error.message.contains("Publish"), "{error}");
    let item = w.item(&verdict).await;
    assert_eq!(
        (&item["state"], &item["alertOwed"]),
        (&json!("enforced"), &json!("enforced"))
    );

    w.notify(input("enforced", &verdict)).await.unwrap();
    w.inbox.expect(1, Duration::from_secs(10)).await;
    assert_eq!(w.item(&verdict).await.get("alertOwed"), None);
}

/// A later move owes the later alert: a pending alert that never went out is superseded by the
/// enforced one, and marking the earlier one sent does not clear the later.
#[tokio::test]
async fn a_later_move_owes_the_later_alert() {
    let w = world().await;
    let verdict = w.evaluated("enforce").await;
    let event_id = verdict["eventId"].as_str().unwrap();
    let mut advance = Advance::to(AuditState::Pending, chrono::Utc::now());
    advance.task_token = Some("sealed".into());
    w.ports.audit.advance(event_id, &advance).await.unwrap();
    assert_eq!(w.item(&verdict).await["alertOwed"], "violation-pending");
    w.enforced(
        &verdict,
        json!({"version": 1, "outcome": "deleted", "resource": verdict["resource"]}),
    )
    .await;
    let sent = w
        .ports
        .audit
        .alert_sent(
            event_id,
            model_guard_core::notification::NotificationKind::ViolationPending,
        )
        .await
        .unwrap();
    assert!(!sent, "the pending alert is no longer the one owed");
    assert_eq!(w.item(&verdict).await["alertOwed"], "enforced");
    let owing = w.ports.audit.owing_alerts().await.unwrap();
    assert!(
        owing.iter().any(|i| i.event_id == event_id),
        "in the byAlertOwed index"
    );
}

/// The attack: invoke Notify directly (lambda:InvokeFunction is in PowerUserAccess) with
/// `enforcement-failed` and a made-up error, to settle a pending violation as failed so that it
/// is never enforced. Only Enforce records a failure: Notify refuses, the item stays pending.
#[tokio::test]
async fn a_direct_invoke_of_notify_cannot_mark_a_violation_failed() {
    let w = world().await;
    let verdict = pending(&w).await;
    let mut forged = input("enforcement-failed", &verdict);
    forged["error"] = json!({"Error": "ModelGuard.AccessDenied", "Cause": "made up"});
    let error = w.notify(forged).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AuditConflict, "{error}");
    let item = w.item(&verdict).await;
    assert_eq!(item["state"], "pending");
    assert_eq!(item.get("failure"), None);
    w.inbox.expect(0, Duration::from_secs(2)).await;
}
