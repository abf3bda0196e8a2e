//! Claim against the testbed: audit items in DynamoDB, alerts through SNS to an SQS inbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use claim::{Ports, handle};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::audit::AuditItem;
use model_guard_core::custody::{BusyRetry, start_input};
use model_guard_core::ports::AuditLog;
use model_guard_core::{ErrorKind, Verdict};
use model_guard_testkit::{Inbox, audit_item, config, decisions_table, inbox, unique, violation};
use serde_json::{Value, json};

struct World {
    config: aws_config::SdkConfig,
    decisions: String,
    alerts: Inbox,
    ports: Ports<DynamoAuditLog, SnsNotifier>,
}

async fn world() -> World {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let alerts = inbox(&config).await;
    let ports = Ports {
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&config), &decisions),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &alerts.topic_arn,
            &alerts.topic_arn,
        ),
        busy: BusyRetry::new(7, 3).unwrap(),
    };
    World {
        config,
        decisions,
        alerts,
        ports,
    }
}

impl World {
    /// An event Evaluate recorded: its verdict.
    async fn decided(&self, verdict: Value) -> String {
        let typed: Verdict = serde_json::from_value(verdict).unwrap();
        let item = AuditItem::for_verdict(&typed, chrono::Utc::now()).unwrap();
        self.ports.audit.record(&item).await.unwrap();
        item.event_id
    }

    async fn claim(
        &self,
        execution: &str,
        input: Value,
    ) -> Result<Value, model_guard_core::GuardError> {
        handle(
            json!({"version": 1, "execution": execution, "input": input}),
            &self.ports,
            chrono::Utc::now(),
        )
        .await
        .map(|o| serde_json::to_value(o).unwrap())
    }

    async fn hand_over(&self, execution: &str) -> Result<Value, model_guard_core::GuardError> {
        let busy = json!({"Error": "ModelGuard.ResourceBusy", "Cause": "endpoint ep is Updating"});
        handle(
            json!({"version": 1, "execution": execution, "handOver": {"error": busy}}),
            &self.ports,
            chrono::Utc::now(),
        )
        .await
        .map(|o| serde_json::to_value(o).unwrap())
    }

    async fn item(&self, event_id: &str) -> Value {
        audit_item(&self.config, &self.decisions, event_id)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_guards_execution_takes_the_item_and_goes_on_with_the_recorded_verdict() {
    let w = world().await;
    let id = w
        .decided(violation(&unique("e"), "endpoint", "ep", "enforce", 600))
        .await;
    let out = w.claim(&id, start_input(&id)).await.unwrap();
    assert_eq!(out["proceed"], true, "{out}");
    assert_eq!(out["verdict"]["action"], "enforce");
    let remaining = out["remainingSeconds"].as_u64().unwrap();
    assert!((599..=601).contains(&remaining), "{out}");
    let item = w.item(&id).await;
    assert_eq!(item["execution"], id.as_str());
    assert!(item["deadline"].is_string());
    // A retried Claim keeps the deadline and the holder.
    let again = w.claim(&id, start_input(&id)).await.unwrap();
    assert_eq!(again["deadline"], out["deadline"]);
    w.alerts.expect(0, Duration::from_secs(1)).await;
}

/// The attack: start the enforcement machine first, under the eventID, with an input of one's own
/// (an allowed verdict, or a notify-only one), so that the guard's own start finds the name taken.
/// The execution acts on the recorded verdict all the same, and the odd input is alerted.
#[tokio::test]
async fn an_execution_started_with_a_forged_input_acts_on_the_recorded_verdict() {
    let w = world().await;
    let id = w
        .decided(violation(&unique("e"), "endpoint", "ep", "enforce", 0))
        .await;
    let mut forged = violation(&id, "endpoint", "ep", "none", 0);
    forged["decision"] = json!("allow");
    let out = w
        .claim(&id, json!({"version": 1, "verdict": forged}))
        .await
        .unwrap();
    assert_eq!(out["proceed"], true);
    assert_eq!(out["verdict"]["decision"], "violation");
    assert_eq!(out["verdict"]["action"], "enforce");
    assert_eq!(out["remainingSeconds"], 0);
    let alert = w.alerts.expect(1, Duration::from_secs(10)).await;
    assert_eq!(
        alert[0].message["tamper"]["what"],
        "execution-not-the-guards"
    );
}

#[tokio::test]
async fn another_execution_for_a_held_event_ends_without_acting_and_is_alerted() {
    let w = world().await;
    let id = w
        .decided(violation(&unique("e"), "endpoint", "ep", "enforce", 600))
        .await;
    w.claim(&id, start_input(&id)).await.unwrap();
    for other in [format!("{id}_3"), format!("{id}_1")] {
        let out = w.claim(&other, start_input(&id)).await.unwrap();
        assert_eq!(out["proceed"], false, "{out}");
        assert!(out["why"].as_str().unwrap().contains("held by"), "{out}");
    }
    assert_eq!(w.item(&id).await["execution"], id.as_str());
    w.alerts.expect(2, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_restart_acts_only_once_handed_the_item() {
    let w = world().await;
    let id = w
        .decided(violation(&unique("e"), "endpoint", "ep", "enforce", 600))
        .await;
    let restart = format!("{id}_1");
    let early = w.claim(&restart, start_input(&id)).await.unwrap();
    assert_eq!(early["proceed"], false, "{early}");
    let now = chrono::Utc::now();
    assert!(
        w.ports
            .audit
            .hand_over(&id, None, &restart, now)
            .await
            .unwrap()
    );
    let handed = w.claim(&restart, start_input(&id)).await.unwrap();
    assert_eq!(handed["proceed"], true, "{handed}");
    w.alerts.expect(1, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn an_event_not_decided_yet_is_retried_and_one_not_in_violation_is_not_enforced() {
    let w = world().await;
    let id = unique("e");
    let error = w.claim(&id, start_input(&id)).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Undecided, "{error}");
    let mut allowed = violation(&unique("e"), "endpoint", "ep", "none", 0);
    allowed["decision"] = json!("allow");
    let allowed = w.decided(allowed).await;
    let out = w.claim(&allowed, start_input(&allowed)).await.unwrap();
    assert_eq!(out["proceed"], false, "{out}");
    w.alerts.expect(1, Duration::from_secs(10)).await;
    let bad = handle(json!({"version": 1}), &w.ports, chrono::Utc::now()).await;
    assert_eq!(bad.unwrap_err().kind, ErrorKind::InvalidInput);
}

/// The busy loop's settings go out with every claim: the machine waits and counts by them.
#[tokio::test]
async fn a_claim_carries_the_busy_retry_settings() {
    let w = world().await;
    let id = w
        .decided(violation(&unique("e"), "endpoint", "ep", "enforce", 0))
        .await;
    let out = w.claim(&id, start_input(&id)).await.unwrap();
    assert_eq!(
        out["busy"],
        json!({"retrySeconds": 7, "attemptsLeft": 3}),
        "{out}"
    );
}

/// The starvation attack's answer: an execution whose busy attempts ran out hands the item to
/// `<eventID>_<n+1>` (which it then starts) and the owners are told; a retried hand-over starts
/// the same continuation; no one but the holder hands an item over, and a settled one stays.
#[tokio::test]
async fn a_busy_enforcement_is_handed_to_its_continuation_and_alerted() {
    let w = world().await;
    let id = w
        .decided(violation(&unique("e"), "endpoint", "ep", "enforce", 0))
        .await;
    w.claim(&id, start_input(&id)).await.unwrap();

    let out = w.hand_over(&id).await.unwrap();
    assert_eq!(
        (&out["proceed"], &out["next"]),
        (&json!(true), &json!(format!("{id}_1"))),
        "{out}"
    );
    assert_eq!(w.item(&id).await["execution"], format!("{id}_1"));
    let received = w.alerts.expect(1, Duration::from_secs(10)).await;
    assert_eq!(received[0].message["kind"], "enforcement-delayed");
    assert_eq!(received[0].message["delayed"]["next"], format!("{id}_1"));
    assert_eq!(
        received[0].message["delayed"]["busy"],
        "endpoint ep is Updating"
    );

    // Retried (the machine did not see the answer): the same continuation, no second alert.
    let again = w.hand_over(&id).await.unwrap();
    assert_eq!(again["next"], format!("{id}_1"), "{again}");
    w.alerts.expect(0, Duration::from_secs(1)).await;

    // The continuation claims it, and hands over in its turn.
    let claimed = w.claim(&format!("{id}_1"), start_input(&id)).await.unwrap();
    assert_eq!(claimed["proceed"], true, "{claimed}");
    let next = w.hand_over(&format!("{id}_1")).await.unwrap();
    assert_eq!(next["next"], format!("{id}_2"));
    w.alerts.expect(1, Duration::from_secs(10)).await;

    // Not the holder (a squatter, or the first execution again): nothing moves.
    for other in [format!("{id}_7"), id.clone()] {
        let out = w.hand_over(&other).await.unwrap();
        assert_eq!(out["proceed"], false, "{other}: {out}");
    }
    assert_eq!(w.item(&id).await["execution"], format!("{id}_2"));
    w.alerts.expect(0, Duration::from_secs(1)).await;
}
