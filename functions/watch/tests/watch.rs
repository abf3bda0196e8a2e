//! The watch function against the testbed with its real adapters: a policy table's stream batch,
//! as Lambda delivers it, alerted field by field on the guard topic; guard-topic deliveries kept
//! once each; anything else refused, not guessed at.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::Utc;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::ErrorKind;
use model_guard_core::ports::GuardAlertLog;
use model_guard_testkit::{config, decisions_table, inbox, unique};
use serde_json::{Value, json};
use watch::{Ports, handle};

fn ports(
    config: &aws_config::SdkConfig,
    guard_topic: &str,
    table: &str,
) -> Ports<SnsNotifier, DynamoGuardStore> {
    Ports {
        notifier: SnsNotifier::guard_only(aws_sdk_sns::Client::new(config), guard_topic),
        log: DynamoGuardStore::new(aws_sdk_dynamodb::Client::new(config), table),
    }
}

/// A DynamoDB stream batch of one record, as Lambda delivers it.
fn stream_batch(name: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1_796_378_401.0,
        "Keys": {"pk": {"S": "default"}},
        "SequenceNumber": "111", "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    json!({"Records": [{
        "eventID": "4b1c8f0e3a2d9c7b6e5f4a3b2c1d0e9f", "eventName": name, "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/G-Policies/stream/2026-12-04T00:00:00.000"
    }]})
}

fn sns_delivery(message_id: &str, subject: &str, message: &Value) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:G-guard:0b1c",
        "Sns": {
            "Type": "Notification", "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:G-guard", "Subject": subject,
            "Message": message.to_string(), "Timestamp": Utc::now().to_rfc3339(),
            "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE", "MessageAttributes": {}
        }
    }]})
}

#[tokio::test]
async fn a_policy_change_is_alerted_field_by_field_on_the_guard_topic() {
    let config = config().await;
    let guard = inbox(&config).await;
    let ports = ports(&config, &guard.topic_arn, &decisions_table(&config).await);
    let old = json!({"pk": {"S": "default"}, "principals": {"L": [{"S": "arn:aws:iam::123456789012:role/MLDeployer"}]},
                     "mode": {"S": "enforce"}, "graceSeconds": {"N": "600"}});
    let new = json!({"pk": {"S": "default"}, "principals": {"L": [{"S": "*"}]}, "mode": {"S": "enforce"}});
    let report = handle(stream_batch("MODIFY", Some(old), Some(new)), &ports)
        .await
        .unwrap();
    assert_eq!(report.policy_changes.len(), 1);
    let alerts = guard.expect(1, Duration::from_secs(5)).await;
    let change = &alerts[0].message["policyChange"];
    assert_eq!(alerts[0].message["kind"], "policy-changed");
    assert_eq!(change["pk"], "default");
    assert_eq!(change["change"], "modified");
    assert_eq!(
        change["fields"],
        json!([
            {"field": "graceSeconds", "before": 600},
            {"field": "principals", "before": ["arn:aws:iam::123456789012:role/MLDeployer"], "after": ["*"]}
        ])
    );
    assert!(
        change["warnings"][0]
            .as_str()
            .unwrap()
            .contains("anyone may now deploy"),
        "{change}"
    );
    assert_eq!(change["at"], "2026-12-04T10:00:01.000Z");

    // The item deleted: every field goes, and what that means is said.
    let gone = json!({"pk": {"S": "default"}, "principals": {"L": []}, "mode": {"S": "notify"}});
    handle(stream_batch("REMOVE", Some(gone), None), &ports)
        .await
        .unwrap();
    let alerts = guard.expect(1, Duration::from_secs(5)).await;
    assert_eq!(alerts[0].message["policyChange"]["change"], "removed");
}

#[tokio::test]
async fn an_unreadable_record_or_a_failed_alert_fails_the_batch_so_lambda_retries_it() {
    let config = config().await;
    let guard = inbox(&config).await;
    let ports = ports(&config, &guard.topic_arn, &decisions_table(&config).await);
    // No pk in either image: refused, not guessed.
    let nameless = json!({"principals": {"L": []}});
    let error = handle(stream_batch("INSERT", None, Some(nameless)), &ports)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    // The topic gone: the batch fails (the stream keeps the record for the retry).
    aws_sdk_sns::Client::new(&config)
        .delete_topic()
        .topic_arn(&guard.topic_arn)
        .send()
        .await
        .unwrap();
    let item = json!({"pk": {"S": "model#x"}, "principals": {"L": []}});
    assert!(
        handle(stream_batch("INSERT", None, Some(item)), &ports)
            .await
            .is_err()
    );
    // Neither a stream batch nor an SNS delivery.
    let error = handle(json!({"detail-type": "Scheduled Event"}), &ports)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
}

#[tokio::test]
async fn each_guard_topic_message_is_kept_once_and_listed_newest_first() {
    let config = config().await;
    let table = decisions_table(&config).await;
    let ports = ports(&config, "arn:aws:sns:us-east-1:123456789012:unused", &table);
    let started = Utc::now() - chrono::Duration::seconds(1);
    let tamper = json!({"version": 1, "kind": "tamper",
                        "summary": "Model Guard TAMPER ALERT: DisableRule (events.amazonaws.com) by mallory",
                        "tamper": {"what": "guard-changed", "eventId": "e-1", "detail": "d"}});
    let first = unique("m");
    let report = handle(sns_delivery(&first, "", &tamper), &ports)
        .await
        .unwrap();
    assert_eq!(report.kept, [format!("guard-alert#{first}")]);
    // SNS may deliver a message twice: kept once.
    let again = handle(sns_delivery(&first, "", &tamper), &ports)
        .await
        .unwrap();
    assert!(again.kept.is_empty());
    let alarm = json!({"AlarmName": "G-HealthCheckFailing", "OldStateValue": "OK",
                       "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed: no datapoints"});
    tokio::time::sleep(Duration::from_millis(5)).await;
    handle(
        sns_delivery(&unique("m"), "ALARM: \"G-HealthCheckFailing\"", &alarm),
        &ports,
    )
    .await
    .unwrap();
    let kept = ports.log.since(started).await.unwrap();
    let kinds: Vec<_> = kept.iter().map(|k| k.kind.as_str()).collect();
    assert_eq!(kinds, ["alarm", "tamper"], "newest first");
    assert_eq!(kept[1].about.as_deref(), Some("e-1"));
    assert!(kept[1].summary.starts_with("Model Guard TAMPER ALERT"));
}
