//! The sweep against the testbed with its real adapters: LookupEvents (the launcher answers from
//! records registered here), the decisions table, a triage machine in moto. Each test sweeps an
//! hour of its own in the future, so records other tests registered never fall in its window.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use chrono::{DateTime, Duration, Utc};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::checkpoint::DynamoCheckpoint;
use model_guard_aws::cloudtrail::CloudTrailHistory;
use model_guard_aws::ledger_store::DynamoLedger;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sfn::{EnforcementExecutions, TriageMachine};
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::Verdict;
use model_guard_core::audit::AuditItem;
use model_guard_core::audit::AuditState;
use model_guard_core::ports::{Advance, AuditLog, SweepCheckpoint};
use model_guard_core::sweep::time_text;
use model_guard_testkit::{
    ACCOUNT, Inbox, audit_item, config, decisions_table, enforcement_machine, inbox, records_table,
    role_arn, unique, violation,
};
use serde_json::{Value, json};
use sweep::{Ports, Reach, handle};

type SweepPorts = Ports<
    CloudTrailHistory,
    DynamoAuditLog,
    TriageMachine,
    DynamoCheckpoint,
    DynamoRecords,
    EnforcementExecutions,
    SnsNotifier,
    DynamoLedger,
>;

const REACH: Reach = Reach {
    overlap: Duration::minutes(20),
    first_lookback: Duration::minutes(60),
    undecided_retry: Duration::minutes(5),
};

/// A moment no other test sweeps: an hour between 2031 and 2048, picked from the clock.
fn an_hour_of_its_own() -> DateTime<Utc> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let base = DateTime::parse_from_rfc3339("2031-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    base + Duration::hours(i64::try_from((nanos / 1000) % 150_000).unwrap())
}

fn record(event_name: &str, at: DateTime<Utc>, patch: Value) -> Value {
    let mut r = json!({
        "eventVersion": "1.09", "eventSource": "sagemaker.amazonaws.com", "eventName": event_name,
        "eventID": unique("evt"), "eventTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "awsRegion": "us-east-1", "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/Dev/s"),
                         "accountId": ACCOUNT},
        "requestParameters": {"endpointName": unique("ep"), "endpointConfigName": "cfg"},
        "responseElements": {"endpointArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/x")},
    });
    for (k, v) in patch.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn register(records: &[Value]) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let body = json!({"records": records}).to_string();
    let out = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "--data-binary",
            "@-",
            &format!("{endpoint}/testbed/cloudtrail/records"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(body.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(out.success(), "registering CloudTrail records failed");
}

async fn triage_machine(config: &SdkConfig) -> String {
    aws_sdk_sfn::Client::new(config)
        .create_state_machine()
        .name(unique("triage"))
        .role_arn(role_arn("states"))
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(
            json!({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

async fn ports(config: &SdkConfig, decisions: &str, triage_arn: &str) -> SweepPorts {
    ports_alerting(config, decisions, triage_arn, &inbox(config).await).await
}

async fn ports_alerting(
    config: &SdkConfig,
    decisions: &str,
    triage_arn: &str,
    alerts: &Inbox,
) -> SweepPorts {
    let records = records_table(config).await;
    Ports {
        history: CloudTrailHistory::new(aws_sdk_cloudtrail::Client::new(config), StdDuration::ZERO),
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(config), decisions),
        triage: TriageMachine::new(aws_sdk_sfn::Client::new(config), triage_arn),
        checkpoint: DynamoCheckpoint::new(aws_sdk_dynamodb::Client::new(config), decisions),
        records: DynamoRecords::new(aws_sdk_dynamodb::Client::new(config), records),
        enforcements: EnforcementExecutions::new(
            aws_sdk_sfn::Client::new(config),
            enforcement_machine(config).await,
        ),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(config),
            &alerts.topic_arn,
            &alerts.topic_arn,
        ),
        ledger: DynamoLedger::new(aws_sdk_dynamodb::Client::new(config), decisions),
    }
}

async fn submitted_inputs(config: &SdkConfig, triage_arn: &str) -> Vec<Value> {
    let sfn = aws_sdk_sfn::Client::new(config);
    let listed = sfn
        .list_executions()
        .state_machine_arn(triage_arn)
        .send()
        .await
        .unwrap();
    let mut inputs = Vec::new();
    for e in listed.executions() {
        let described = sfn
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .unwrap();
        inputs.push(serde_json::from_str(described.input().unwrap()).unwrap());
    }
    inputs
}

#[tokio::test]
async fn missed_events_are_submitted_as_eventbridge_delivers_them_and_audited_ones_are_not() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let now = an_hour_of_its_own();

    // 60 CreateEndpoint records (two pages of LookupEvents), one of them already audited; a
    // failed call; a training job; one from before the first window.
    let mut records: Vec<Value> = (0..60)
        .map(|i| {
            record(
                "CreateEndpoint",
                now - Duration::seconds(30 * i + 1),
                json!({}),
            )
        })
        .collect();
    records.push(record(
        "CreateEndpoint",
        now - Duration::minutes(5),
        json!({"errorCode": "ValidationException"}),
    ));
    records.push(record(
        "CreateTrainingJob",
        now - Duration::minutes(7),
        json!({"requestParameters": {"trainingJobName": "t", "roleArn": "r"}}),
    ));
    records.push(record(
        "CreateEndpoint",
        now - Duration::minutes(90),
        json!({}),
    ));
    register(&records);
    let audited = records[3]["eventID"].as_str().unwrap().to_owned();
    let mut verdict = violation(&audited, "endpoint", "x", "enforce", 0);
    verdict["decision"] = json!("allow");
    verdict["approvers"] = json!([]);
    let verdict: Verdict = serde_json::from_value(verdict).unwrap();
    p.audit
        .record(&AuditItem::for_verdict(&verdict, now).unwrap())
        .await
        .unwrap();

    let report = handle(&p, REACH, now).await.unwrap();
    assert_eq!(
        (report.start.as_str(), report.end.as_str()),
        (
            time_text(now - Duration::minutes(60)).as_str(),
            time_text(now).as_str()
        )
    );
    // The failed call is not among the records found: the history keeps successful calls only.
    assert_eq!(report.found, 61, "{report:?}");
    assert_eq!(
        (report.skipped, report.already_audited),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(report.submitted.len(), 60, "{report:?}");
    assert!(!report.submitted.contains(&audited));

    let inputs = submitted_inputs(&config, &triage).await;
    assert_eq!(inputs.len(), 60);
    let envelope = inputs
        .iter()
        .find(|i| i["detail"]["eventID"] == records[0]["eventID"])
        .unwrap();
    assert_eq!(
        envelope["detail"], records[0],
        "the record is the detail, as EventBridge delivers it"
    );
    assert_eq!(envelope["source"], "aws.sagemaker");
    assert_eq!(envelope["detail-type"], "AWS API Call via CloudTrail");

    // The checkpoint moved to the window's end; it never moves back.
    assert_eq!(p.checkpoint.last_end().await.unwrap(), Some(now));
    p.checkpoint
        .save_end(now - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(p.checkpoint.last_end().await.unwrap(), Some(now));
}

#[tokio::test]
async fn a_failed_submission_leaves_the_checkpoint_so_the_window_is_swept_again() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let now = an_hour_of_its_own();
    register(&[record(
        "CreateEndpoint",
        now - Duration::minutes(2),
        json!({}),
    )]);
    let gone = format!(
        "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
        unique("missing")
    );
    let p = ports(&config, &decisions, &gone).await;
    let error = handle(&p, REACH, now).await.unwrap_err();
    assert!(error.message.contains("StartExecution"), "{error}");
    assert_eq!(p.checkpoint.last_end().await.unwrap(), None);

    // The event was put in the ledger before the submission failed. With the triage back, the
    // next sweep submits it from there, and its window finds it in the ledger already.
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let report = handle(&p, REACH, now + Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(report.retried.len(), 1, "{report:?}");
    assert_eq!(
        (report.submitted.len(), report.already_undecided),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(submitted_inputs(&config, &triage).await.len(), 1);
}

#[tokio::test]
async fn an_item_left_evaluated_is_submitted_again_after_ten_minutes() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let now = an_hour_of_its_own();
    let stale = record("CreateEndpoint", now - Duration::minutes(30), json!({}));
    let fresh = record("CreateEndpoint", now - Duration::minutes(3), json!({}));
    register(&[stale.clone(), fresh.clone()]);
    for (r, decided) in [
        (&stale, now - Duration::minutes(29)),
        (&fresh, now - Duration::minutes(2)),
    ] {
        let id = r["eventID"].as_str().unwrap();
        let verdict: Verdict =
            serde_json::from_value(violation(id, "endpoint", "x", "enforce", 60)).unwrap();
        // A violation's item starts `evaluated`; the enforcement's first Notify moves it on.
        p.audit
            .record(&AuditItem::for_verdict(&verdict, decided).unwrap())
            .await
            .unwrap();
    }
    let report = handle(&p, REACH, now).await.unwrap();
    assert_eq!(
        report.submitted,
        [stale["eventID"].as_str().unwrap()],
        "{report:?}"
    );
    assert_eq!(
        (report.resubmitted, report.already_audited),
        (1, 1),
        "{report:?}"
    );
}

#[tokio::test]
async fn missed_records_are_submitted_and_kept_ones_are_not() {
    use model_guard_core::ports::RecordStore;
    use model_guard_core::{ParseOutcome, parse_event_value};

    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let now = an_hour_of_its_own();
    let model = |minutes: i64| {
        let name = unique("m");
        record(
            "CreateModel",
            now - Duration::minutes(minutes),
            json!({"requestParameters": {"modelName": name, "executionRoleArn": role_arn("Exec")},
                   "responseElements": {"modelArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{name}")}}),
        )
    };
    let (unjudged, missed) = (model(4), model(6));
    let config_name = unique("cfg");
    let kept = record(
        "CreateEndpointConfig",
        now - Duration::minutes(5),
        json!({"requestParameters": {"endpointConfigName": config_name,
                                     "productionVariants": [{"variantName": "a", "modelName": "m"}]},
               "responseElements": {"endpointConfigArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{config_name}")}}),
    );
    let deleted = record(
        "DeleteEndpointConfig",
        now - Duration::minutes(8),
        json!({"requestParameters": {"endpointConfigName": unique("cfg")}, "responseElements": null}),
    );
    register(&[
        kept.clone(),
        unjudged.clone(),
        missed.clone(),
        deleted.clone(),
    ]);
    // Two of them already reached the records table through EventBridge: the config is done;
    // the CreateModel is judged too, and no audit item says it was.
    for event in [&kept, &unjudged] {
        let envelope = model_guard_core::sweep::eventbridge_envelope(event);
        let ParseOutcome::Record { record, .. } = parse_event_value(&envelope) else {
            panic!("not a record")
        };
        p.records.put(&record).await.unwrap();
    }

    let report = handle(&p, REACH, now).await.unwrap();
    assert_eq!(report.already_recorded, 1, "{report:?}");
    let mut submitted = report.submitted.clone();
    submitted.sort();
    let mut expected = vec![
        unjudged["eventID"].as_str().unwrap().to_owned(),
        missed["eventID"].as_str().unwrap().to_owned(),
        deleted["eventID"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(submitted, expected, "{report:?}");
}

async fn execution(config: &SdkConfig, machine: &str, name: &str) -> String {
    aws_sdk_sfn::Client::new(config)
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input("{}")
        .send()
        .await
        .unwrap()
        .execution_arn
}

async fn stop(config: &SdkConfig, execution_arn: &str) {
    aws_sdk_sfn::Client::new(config)
        .stop_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap();
}

async fn status(config: &SdkConfig, machine: &str, name: &str) -> Option<String> {
    let arn = format!(
        "{}:{name}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    );
    aws_sdk_sfn::Client::new(config)
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .ok()
        .map(|d| d.status().as_str().to_owned())
}

/// The attack: someone with `states:StopExecution` stops the enforcement of a violation during
/// its grace period (or starts an execution under its eventID first and stops that), and the
/// violation is never enforced. The sweep finds the unsettled item without a running execution,
/// hands it to a restart, `<eventID>_<n>`, starts it, and alerts. Before the fix nothing did.
#[tokio::test]
async fn a_stopped_or_squatted_enforcement_is_restarted_and_alerted() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let alerts = inbox(&config).await;
    let p = ports_alerting(&config, &decisions, &triage, &alerts).await;
    let machine = p.enforcements.machine_arn().to_owned();
    // An hour of its own: the window's CloudTrail records are none but this test's (none).
    let now = an_hour_of_its_own();
    let item = |id: &str| {
        let verdict: Verdict =
            serde_json::from_value(violation(id, "endpoint", "x", "enforce", 600)).unwrap();
        AuditItem::for_verdict(&verdict, now).unwrap()
    };

    // Stopped: held by its execution, which was stopped.
    let stopped = unique("evt");
    p.audit.record(&item(&stopped)).await.unwrap();
    p.audit
        .claim(&stopped, &stopped, now + Duration::seconds(600), now)
        .await
        .unwrap();
    let arn = execution(&config, &machine, &stopped).await;
    stop(&config, &arn).await;
    // Squatted: someone started an execution under the eventID before the guard, and stopped it;
    // the guard's own start then found the name taken. Its first restart name is taken too.
    let squatted = unique("evt");
    p.audit.record(&item(&squatted)).await.unwrap();
    let arn = execution(&config, &machine, &squatted).await;
    stop(&config, &arn).await;
    let arn = execution(&config, &machine, &format!("{squatted}_1")).await;
    stop(&config, &arn).await;
    // Running: left alone.
    let running = unique("evt");
    p.audit.record(&item(&running)).await.unwrap();
    p.audit
        .claim(&running, &running, now + Duration::seconds(600), now)
        .await
        .unwrap();
    execution(&config, &machine, &running).await;

    let report = handle(&p, REACH, now).await.unwrap();
    let mut restarted = report.restarted.clone();
    restarted.sort();
    let mut expected = vec![format!("{stopped}_1"), format!("{squatted}_2")];
    expected.sort();
    assert_eq!(restarted, expected, "{report:?}");
    for (event, holder) in [
        (&stopped, format!("{stopped}_1")),
        (&squatted, format!("{squatted}_2")),
    ] {
        let stored = audit_item(&config, &decisions, event).await.unwrap();
        assert_eq!(stored["execution"], holder.as_str());
        assert_eq!(
            status(&config, &machine, &holder).await.as_deref(),
            Some("RUNNING")
        );
    }
    let received = alerts.expect(2, StdDuration::from_secs(10)).await;
    for alert in &received {
        assert_eq!(alert.message["tamper"]["what"], "enforcement-restarted");
    }
    assert_eq!(
        audit_item(&config, &decisions, &running).await.unwrap()["execution"],
        running.as_str()
    );

    // The next sweep finds every unsettled violation with a running execution: nothing to do.
    let again = handle(&p, REACH, now).await.unwrap();
    assert!(again.restarted.is_empty(), "{again:?}");
    alerts.expect(0, StdDuration::from_secs(1)).await;
}

/// The attack: break the violations topic (delete it, change its policy, disable its key) so
/// that no one hears of an enforcement. The enforcement goes on regardless; its alert is left
/// owed on the item. The sweep sends an owed alert once the execution holding the item gave up
/// on it (or after ALERT_RETRY_MINUTES), reports an error while it still cannot, and never sends
/// one while the execution is still retrying its own Notify.
#[tokio::test]
async fn owed_alerts_are_sent_once_their_execution_gave_up_and_reported_while_they_cannot_be() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let alerts = inbox(&config).await;
    let p = ports_alerting(&config, &decisions, &triage, &alerts).await;
    let machine = p.enforcements.machine_arn().to_owned();
    let now = an_hour_of_its_own();
    let enforced = |id: &str| {
        let verdict: Verdict =
            serde_json::from_value(violation(id, "endpoint", "x", "enforce", 0)).unwrap();
        AuditItem::for_verdict(&verdict, now).unwrap()
    };
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = unique("evt");
        p.audit.record(&enforced(&id)).await.unwrap();
        p.audit.claim(&id, &id, now, now).await.unwrap();
        let mut advance = Advance::to(AuditState::Enforced, now);
        advance.enforcement = Some(
            serde_json::from_value(json!({"version": 1, "outcome": "deleted",
                "resource": {"type": "endpoint", "name": "x", "arn": null}}))
            .unwrap(),
        );
        p.audit.advance(&id, &advance).await.unwrap();
        ids.push(id);
    }
    let (gave_up, retrying) = (&ids[0], &ids[1]);
    let arn = execution(&config, &machine, gave_up).await;
    stop(&config, &arn).await;
    execution(&config, &machine, retrying).await;

    // The violations topic is broken: nothing goes out, the sweep says so, the alert stays owed.
    let mut broken = ports_alerting(&config, &decisions, &triage, &alerts).await;
    broken.enforcements = model_guard_aws::sfn::EnforcementExecutions::new(
        aws_sdk_sfn::Client::new(&config),
        machine.clone(),
    );
    broken.notifier = SnsNotifier::new(
        aws_sdk_sns::Client::new(&config),
        "arn:aws:sns:us-east-1:123456789012:deleted-by-someone",
        &alerts.topic_arn,
    );
    let error = handle(&broken, REACH, now).await.unwrap_err();
    assert!(error.message.contains(gave_up.as_str()), "{error}");
    assert!(!error.message.contains(retrying.as_str()), "{error}");
    let stored = audit_item(&config, &decisions, gave_up).await.unwrap();
    assert_eq!(stored["alertOwed"], "enforced");

    // Mended: the alert of the execution that gave up goes out, once; the other is left to its
    // execution until ALERT_RETRY_MINUTES have passed.
    let report = handle(&p, REACH, now).await.unwrap();
    assert_eq!(report.alerts_sent, vec![gave_up.clone()], "{report:?}");
    let received = alerts.expect(1, StdDuration::from_secs(10)).await;
    assert_eq!(received[0].message["kind"], "enforced");
    assert_eq!(received[0].message["verdict"]["eventId"], gave_up.as_str());
    assert_eq!(
        audit_item(&config, &decisions, gave_up)
            .await
            .unwrap()
            .get("alertOwed"),
        None
    );
    let later = now + Duration::minutes(model_guard_core::sweep::ALERT_RETRY_MINUTES + 1);
    let report = handle(&p, REACH, later).await.unwrap();
    assert_eq!(report.alerts_sent, vec![retrying.clone()], "{report:?}");
    alerts.expect(1, StdDuration::from_secs(10)).await;
    let report = handle(&p, REACH, later).await.unwrap();
    assert!(report.alerts_sent.is_empty(), "{report:?}");
}

/// A ledger entry as the triage machine's NoteUndecided step writes it (see
/// statemachine/triage.asl.json): the event it was given, and why a step failed.
async fn note_failed_triage(config: &SdkConfig, table: &str, envelope: &Value, at: &str) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let id = envelope["detail"]["eventID"].as_str().unwrap();
    let failure = A::M(
        [
            ("error", A::S("ModelGuard.PolicyInvalid".into())),
            (
                "cause",
                A::S(json!({"Error": "ModelGuard.PolicyInvalid",
                    "Cause": "{\"errorType\":\"ModelGuard.PolicyInvalid\",\"errorMessage\":\"policy item model#x: bad\"}"})
                .to_string()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    );
    aws_sdk_dynamodb::Client::new(config)
        .update_item()
        .table_name(table)
        .key("eventId", A::S(format!("undecided#{id}")))
        .update_expression(
            "SET undecided = :id, envelope = if_not_exists(envelope, :envelope), \
             firstSeenAt = if_not_exists(firstSeenAt, :at), failedAt = :at, failure = :failure",
        )
        .expression_attribute_values(":id", A::S(id.to_owned()))
        .expression_attribute_values(":envelope", A::S(envelope.to_string()))
        .expression_attribute_values(":at", A::S(at.to_owned()))
        .expression_attribute_values(":failure", failure)
        .send()
        .await
        .unwrap();
}

/// What the triage machine's Settle step does when a run ends well.
async fn settle(config: &SdkConfig, table: &str, event_id: &str) {
    aws_sdk_dynamodb::Client::new(config)
        .delete_item()
        .table_name(table)
        .key(
            "eventId",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("undecided#{event_id}")),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_undecided_event_is_submitted_from_the_ledger_long_after_its_window_until_settled() {
    use model_guard_core::ports::EventLedger;
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let now = an_hour_of_its_own();

    // One call EventBridge never delivered (the sweep finds it); one it delivered, whose triage
    // failed and wrote the ledger entry itself.
    let missed = record("CreateEndpoint", now - Duration::minutes(10), json!({}));
    let delivered = record("CreateEndpoint", now - Duration::minutes(8), json!({}));
    register(&[missed.clone(), delivered.clone()]);
    let missed_id = missed["eventID"].as_str().unwrap().to_owned();
    let delivered_id = delivered["eventID"].as_str().unwrap().to_owned();
    let delivered_envelope = json!({"version": "0", "id": "eb-1", "source": "aws.sagemaker",
        "detail-type": "AWS API Call via CloudTrail", "detail": delivered});
    note_failed_triage(
        &config,
        &decisions,
        &delivered_envelope,
        &time_text(now - Duration::minutes(7)),
    )
    .await;

    let first = handle(&p, REACH, now).await.unwrap();
    assert_eq!(first.submitted, [missed_id.as_str()], "{first:?}");
    assert_eq!(first.retried, [delivered_id.as_str()], "{first:?}");
    assert_eq!(
        first.already_undecided, 1,
        "the delivered one is the ledger's: {first:?}"
    );
    assert_eq!(
        first.undecided,
        [delivered_id.as_str()],
        "it failed: {first:?}"
    );

    // An hour on, the window still reaches back to them (from the last end, less the overlap):
    // it finds both in the ledger, which submits them.
    let second = handle(&p, REACH, now + Duration::hours(1)).await.unwrap();
    assert_eq!(
        (second.found, second.already_undecided, second.retried.len()),
        (2, 2, 2),
        "{second:?}"
    );

    // Three hours on, the window has left them behind, and no run settled either: the ledger
    // submits both again (with backoff), and both are reported undecided.
    let later = now + Duration::hours(3);
    let third = handle(&p, REACH, later).await.unwrap();
    assert_eq!(third.found, 0, "the window has moved on: {third:?}");
    let mut retried = third.retried.clone();
    retried.sort();
    let mut both = vec![missed_id.clone(), delivered_id.clone()];
    both.sort();
    assert_eq!(retried, both, "{third:?}");
    assert_eq!(third.undecided.len(), 2, "{third:?}");
    // Each submission is the event as it was first taken: the EventBridge envelope for the
    // delivered one, the sweep's own for the missed one.
    let inputs = submitted_inputs(&config, &triage).await;
    assert_eq!(inputs.len(), 6);
    let delivered_inputs: Vec<_> = inputs
        .iter()
        .filter(|i| i["detail"]["eventID"] == delivered_id.as_str())
        .collect();
    assert_eq!(delivered_inputs.len(), 3);
    assert!(delivered_inputs.iter().all(|i| i["id"] == "eb-1"));
    let entries: Vec<_> = p.ledger.entries().await.unwrap();
    let attempts: Vec<u32> = entries
        .iter()
        .map(|e| e.as_ref().unwrap().attempts)
        .collect();
    assert_eq!(attempts, [3, 3], "{entries:?}");

    // Backoff: a sweep a minute later submits nothing.
    let soon = handle(&p, REACH, later + Duration::minutes(1))
        .await
        .unwrap();
    assert!(soon.retried.is_empty(), "{soon:?}");

    // A run that ends well deletes the entry (the delivered one); one whose delete did not go
    // through is settled by the sweep from the audit item Evaluate wrote (the missed one). Then
    // nothing is submitted or reported again.
    settle(&config, &decisions, &delivered_id).await;
    let verdict: Verdict =
        serde_json::from_value(violation(&missed_id, "endpoint", "x", "enforce", 60)).unwrap();
    p.audit
        .record(&AuditItem::for_verdict(&verdict, later).unwrap())
        .await
        .unwrap();
    let settled = handle(&p, REACH, later + Duration::hours(3)).await.unwrap();
    assert_eq!(settled.settled, [missed_id.as_str()], "{settled:?}");
    assert!(
        settled.retried.is_empty() && settled.undecided.is_empty(),
        "{settled:?}"
    );
    assert!(p.ledger.entries().await.unwrap().is_empty());
}
