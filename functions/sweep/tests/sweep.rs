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
use model_guard_aws::cloudtrail::Histories;
use model_guard_aws::ledger_store::DynamoLedger;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sfn::{EnforcementExecutions, TriageMachine};
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::Verdict;
use model_guard_core::audit::AuditItem;
use model_guard_core::audit::AuditState;
use model_guard_core::organization::Guarded;
use model_guard_core::ports::{Advance, AuditLog, SweepCheckpoint};
use model_guard_core::sweep::{Place, SweepReport, time_text};
use model_guard_core::{GuardError, ports::OrganizationAccounts};
use model_guard_testkit::{
    ACCOUNT, Inbox, audit_item, config, decisions_table, enforcement_machine, inbox, records_table,
    role_arn, unique, violation,
};
use serde_json::{Value, json};
use sweep::{Ports, Settings, chores, look_in};

type SweepPorts = Ports<
    Histories,
    DynamoAuditLog,
    TriageMachine,
    DynamoCheckpoint,
    DynamoRecords,
    EnforcementExecutions,
    SnsNotifier,
    DynamoLedger,
    Unlisted,
>;

/// A guard whose members are listed in its settings: Organizations is never asked.
struct Unlisted;

impl OrganizationAccounts for Unlisted {
    async fn active_accounts(&self) -> Result<Vec<String>, GuardError> {
        panic!("the members are listed; Organizations is not asked")
    }
}

fn settings() -> Settings {
    Settings {
        guarded: Guarded::new(ACCOUNT, "us-east-1", None).unwrap(),
        regions: Vec::new(),
        overlap: Duration::minutes(20),
        first_lookback: Duration::minutes(60),
        undecided_retry: Duration::minutes(5),
    }
}

fn home() -> Place {
    Place {
        account: ACCOUNT.to_owned(),
        region: "us-east-1".to_owned(),
    }
}

/// One run of the sweep machine for a guard of one place: look in it, then the chores; one
/// report of both.
async fn sweep(p: &SweepPorts, now: DateTime<Utc>) -> Result<SweepReport, GuardError> {
    let looked = look_in(p, &settings(), &home(), now, None).await?;
    let chores = chores(p, &settings(), now).await?;
    Ok(SweepReport {
        retried: chores.retried,
        settled: chores.settled,
        undecided: chores.undecided,
        restarted: chores.restarted,
        alerts_sent: chores.alerts_sent,
        alerts_still_owed: chores.alerts_still_owed,
        unprocessable: looked.unprocessable + chores.unprocessable,
        ..looked
    })
}

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
        history: Histories::new(
            model_guard_testkit::places(config, "ModelGuardMember"),
            StdDuration::ZERO,
        ),
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
        organization: Unlisted,
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

    let report = sweep(&p, now).await.unwrap();
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
    assert_eq!(p.checkpoint.last_end(None).await.unwrap(), Some(now));
    p.checkpoint
        .save_end(None, now - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(p.checkpoint.last_end(None).await.unwrap(), Some(now));
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
    let error = sweep(&p, now).await.unwrap_err();
    assert!(error.message.contains("StartExecution"), "{error}");
    assert_eq!(p.checkpoint.last_end(None).await.unwrap(), None);

    // The event was put in the ledger before the submission failed. With the triage back, the
    // next sweep submits it from there, and its window finds it in the ledger already.
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let report = sweep(&p, now + Duration::minutes(15)).await.unwrap();
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
    let report = sweep(&p, now).await.unwrap();
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

    let report = sweep(&p, now).await.unwrap();
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

    let report = sweep(&p, now).await.unwrap();
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
    let again = sweep(&p, now).await.unwrap();
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
    let error = sweep(&broken, now).await.unwrap_err();
    assert!(error.message.contains(gave_up.as_str()), "{error}");
    assert!(!error.message.contains(retrying.as_str()), "{error}");
    let stored = audit_item(&config, &decisions, gave_up).await.unwrap();
    assert_eq!(stored["alertOwed"], "enforced");

    // Mended: the alert of the execution that gave up goes out, once; the other is left to its
    // execution until ALERT_RETRY_MINUTES have passed.
    let report = sweep(&p, now).await.unwrap();
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
    let report = sweep(&p, later).await.unwrap();
    assert_eq!(report.alerts_sent, vec![retrying.clone()], "{report:?}");
    alerts.expect(1, StdDuration::from_secs(10)).await;
    let report = sweep(&p, later).await.unwrap();
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

    let first = sweep(&p, now).await.unwrap();
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
    let second = sweep(&p, now + Duration::hours(1)).await.unwrap();
    assert_eq!(
        (second.found, second.already_undecided, second.retried.len()),
        (2, 2, 2),
        "{second:?}"
    );

    // Three hours on, the window has left them behind, and no run settled either: the ledger
    // submits both again (with backoff), and both are reported undecided.
    let later = now + Duration::hours(3);
    let third = sweep(&p, later).await.unwrap();
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
    let soon = sweep(&p, later + Duration::minutes(1)).await.unwrap();
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
    let settled = sweep(&p, later + Duration::hours(3)).await.unwrap();
    assert_eq!(settled.settled, [missed_id.as_str()], "{settled:?}");
    assert!(
        settled.retried.is_empty() && settled.undecided.is_empty(),
        "{settled:?}"
    );
    assert!(p.ledger.entries().await.unwrap().is_empty());
}

/// A guard of an organization: its home, two listed member accounts, and one member region.
fn organization_settings() -> Settings {
    Settings {
        guarded: Guarded::new(ACCOUNT, "us-east-1", Some(&format!("{MEMBER},{GONE}"))).unwrap(),
        regions: vec!["eu-west-1".to_owned()],
        ..settings()
    }
}

const MEMBER: &str = "210987654321";
/// A member whose administrators deleted the guard's member role.
const GONE: &str = "333344445555";

/// The sweep of an organization looks in each member account and region through the member role
/// there: a call EventBridge never delivered from member B in eu-west-1 is found and submitted as
/// EventBridge would have delivered it (B's account and region), its checkpoint is B's own, and
/// B's recorded calls are looked for under B's keys (where ParseEvent keeps them). A place
/// whose role is gone fails naming the account; a place the guard does not answer for is refused.
#[tokio::test]
async fn the_sweep_looks_in_each_member_place_through_its_role_and_keeps_places_apart() {
    use model_guard_core::ParseOutcome;
    use model_guard_core::event::parse_guarded_event;
    use model_guard_core::ports::RecordStore;
    use model_guard_core::sweep::envelope_in;

    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let org = organization_settings();
    model_guard_testkit::member_account(&config, MEMBER).await;
    let gone = model_guard_testkit::member_account(&config, GONE).await;
    model_guard_testkit::delete_role(&gone, "ModelGuardMember").await;
    let now = an_hour_of_its_own();
    let there = Place {
        account: MEMBER.to_owned(),
        region: "eu-west-1".to_owned(),
    };
    let in_member = json!({"recipientAccountId": MEMBER, "awsRegion": "eu-west-1",
        "userIdentity": {"type": "AssumedRole", "accountId": MEMBER,
                         "arn": format!("arn:aws:sts::{MEMBER}:assumed-role/Dev/s")}});
    let missed = record(
        "CreateEndpoint",
        now - Duration::minutes(5),
        in_member.clone(),
    );
    // A model of the same name in both places: only B's record is kept.
    let name = unique("m");
    let model = |account: &str, region: &str| {
        let mut patch = json!({"recipientAccountId": account, "awsRegion": region,
            "requestParameters": {"modelName": name, "executionRoleArn": role_arn("Exec")},
            "responseElements": {"modelArn": format!("arn:aws:sagemaker:{region}:{account}:model/{name}")}});
        patch["userIdentity"] = in_member["userIdentity"].clone();
        record("CreateModel", now - Duration::minutes(7), patch)
    };
    let home_model = model(ACCOUNT, "us-east-1");
    let member_model = model(MEMBER, "eu-west-1");
    // A read: looked up with the rest (by the source) and left alone.
    let read = record(
        "DescribeEndpoint",
        now - Duration::minutes(6),
        in_member.clone(),
    );
    register(&[
        missed.clone(),
        home_model.clone(),
        member_model.clone(),
        read,
    ]);
    let home_place = home();
    let ParseOutcome::Record { record: kept, .. } =
        parse_guarded_event(&envelope_in(&member_model, &there), &org.guarded)
    else {
        panic!("not a record")
    };
    p.records.put(&kept).await.unwrap();
    // Both CreateModel calls were judged (a model is judged as well as recorded): what decides
    // is whether each one's record is kept, in its own place.
    for judged in [&home_model, &member_model] {
        let id = judged["eventID"].as_str().unwrap();
        let verdict: Verdict =
            serde_json::from_value(violation(id, "model", &name, "enforce", 60)).unwrap();
        p.audit
            .record(&AuditItem::for_verdict(&verdict, now).unwrap())
            .await
            .unwrap();
    }

    let report = look_in(&p, &org, &there, now, None).await.unwrap();
    assert_eq!(report.place.as_deref(), Some("210987654321/eu-west-1"));
    let mut submitted = report.submitted.clone();
    submitted.sort();
    assert_eq!(
        submitted,
        [missed["eventID"].as_str().unwrap()],
        "{report:?}"
    );
    assert_eq!(
        (report.found, report.skipped, report.already_recorded),
        (2, 1, 1),
        "{report:?}"
    );
    let inputs = submitted_inputs(&config, &triage).await;
    let sent = inputs
        .iter()
        .find(|i| i["detail"]["eventID"] == missed["eventID"])
        .unwrap();
    assert_eq!(
        (sent["account"].as_str(), sent["region"].as_str()),
        (Some(MEMBER), Some("eu-west-1"))
    );
    assert_eq!(
        p.checkpoint
            .last_end(Some("210987654321/eu-west-1"))
            .await
            .unwrap(),
        Some(now)
    );
    assert_eq!(
        p.checkpoint.last_end(None).await.unwrap(),
        None,
        "the home place is not swept by it"
    );

    // The home place: B's calls are not its own, and B's record is not its record.
    let at_home = look_in(&p, &org, &home_place, now, None).await.unwrap();
    assert_eq!(
        (at_home.found, at_home.already_recorded),
        (1, 0),
        "{at_home:?}"
    );
    assert_eq!(
        at_home.submitted,
        [home_model["eventID"].as_str().unwrap()],
        "{at_home:?}"
    );

    // The member whose role is gone: an error naming it, and its checkpoint does not move.
    let unreachable = Place {
        account: GONE.to_owned(),
        region: "us-east-1".to_owned(),
    };
    let error = look_in(&p, &org, &unreachable, now, None)
        .await
        .unwrap_err();
    assert!(error.message.contains(GONE), "{error}");
    assert_eq!(
        p.checkpoint
            .last_end(Some("333344445555/us-east-1"))
            .await
            .unwrap(),
        None
    );
    // An account the guard does not answer for is not looked in.
    let outsider = Place {
        account: "999988887777".to_owned(),
        region: "us-east-1".to_owned(),
    };
    let refused = look_in(&p, &org, &outsider, now, None).await.unwrap_err();
    assert!(refused.message.contains("not guarded here"), "{refused}");
}

/// A place the Map could not look in is alerted on the guard topic, naming it.
#[tokio::test]
async fn a_place_that_cannot_be_looked_in_is_alerted_naming_it() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let alerts = inbox(&config).await;
    let p = ports_alerting(&config, &decisions, &triage, &alerts).await;
    let step = json!({"step": "unreachable", "place": {"account": GONE, "region": "eu-west-1"},
        "error": "Unavailable",
        "cause": "{\"errorType\":\"AccessDenied\",\"errorMessage\":\"cannot reach member account 333344445555: assuming arn:aws:iam::333344445555:role/ModelGuardMember failed\"}"});
    sweep::handle(
        &step,
        &p,
        &organization_settings(),
        an_hour_of_its_own(),
        None,
    )
    .await
    .unwrap();
    let received = alerts.receive(StdDuration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        received[0].attributes["tamper"]["Value"],
        "place-unreachable"
    );
    let text = received[0].message.to_string();
    assert!(
        text.contains("account 333344445555 region eu-west-1")
            && text.contains("assuming arn:aws:iam::333344445555:role/ModelGuardMember failed"),
        "{text}"
    );
}

/// The places: from the settings, each account in each region, home first; from the
/// organization, its active accounts (Organizations' ListAccounts on the testbed).
#[tokio::test]
async fn the_places_come_from_the_settings_or_from_the_organization() {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let answer = sweep::handle(
        &json!({"step": "places"}),
        &p,
        &organization_settings(),
        an_hour_of_its_own(),
        None,
    )
    .await
    .unwrap();
    let listed = serde_json::to_value(&answer).unwrap();
    assert_eq!(listed["membership"], "settings");
    let places: Vec<String> = listed["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["account"].as_str().unwrap(),
                p["region"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            "123456789012/us-east-1",
            "123456789012/eu-west-1",
            "210987654321/eu-west-1",
            "210987654321/us-east-1",
            "333344445555/eu-west-1",
            "333344445555/us-east-1",
        ]
    );

    // The whole organization: its accounts as Organizations lists them.
    let organizations = aws_sdk_organizations::Client::new(&config);
    let _ = organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await;
    let made = organizations
        .create_account()
        .account_name(unique("member"))
        .email(format!("{}@example.com", unique("m")))
        .send()
        .await
        .unwrap();
    let status = made.create_account_status().unwrap();
    let new_account = status.account_id().unwrap().to_owned();
    let b = ports(&config, &decisions, &triage).await;
    let whole = Ports {
        history: b.history,
        audit: b.audit,
        triage: b.triage,
        checkpoint: b.checkpoint,
        records: b.records,
        enforcements: b.enforcements,
        notifier: b.notifier,
        ledger: b.ledger,
        organization: model_guard_aws::organizations::Organization::new(organizations),
    };
    let settings = Settings {
        guarded: Guarded::new(ACCOUNT, "us-east-1", Some("organization")).unwrap(),
        ..settings()
    };
    let answer = sweep::handle(
        &json!({"step": "places"}),
        &whole,
        &settings,
        an_hour_of_its_own(),
        None,
    )
    .await
    .unwrap();
    let listed = serde_json::to_value(&answer).unwrap();
    assert_eq!(listed["membership"], "organization");
    let accounts: Vec<&str> = listed["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts[0], ACCOUNT);
    assert!(accounts.contains(&new_account.as_str()), "{accounts:?}");

    // A step it does not know is refused, not taken for the chores.
    let error = sweep::handle(
        &json!({"step": "lookEverywhere"}),
        &p,
        &settings,
        an_hour_of_its_own(),
        None,
    )
    .await
    .unwrap_err();
    assert!(error.message.contains("not a sweep step"), "{error}");
}

/// The chores settle a member's ledger entry from the guard's own records, as ParseEvent keeps
/// them: under the member's place. (Looked for under the home key, B's record would not be found,
/// and the entry submitted again and again.)
#[tokio::test]
async fn the_chores_settle_a_member_entry_from_its_record_in_its_place() {
    use model_guard_core::ParseOutcome;
    use model_guard_core::event::parse_guarded_event;
    use model_guard_core::ports::RecordStore;
    use model_guard_core::sweep::eventbridge_envelope;

    let config = config().await;
    let decisions = decisions_table(&config).await;
    let triage = triage_machine(&config).await;
    let p = ports(&config, &decisions, &triage).await;
    let org = organization_settings();
    let now = an_hour_of_its_own();
    let name = unique("cfg");
    let kept = record(
        "CreateEndpointConfig",
        now - Duration::minutes(5),
        json!({"recipientAccountId": MEMBER, "awsRegion": "eu-west-1",
               "requestParameters": {"endpointConfigName": name,
                                     "productionVariants": [{"variantName": "a", "modelName": "m"}]},
               "responseElements": {"endpointConfigArn": format!("arn:aws:sagemaker:eu-west-1:{MEMBER}:endpoint-config/{name}")}}),
    );
    let envelope = eventbridge_envelope(&kept);
    let ParseOutcome::Record {
        record: recorded, ..
    } = parse_guarded_event(&envelope, &org.guarded)
    else {
        panic!("not a record")
    };
    assert!(
        recorded.scope.is_some(),
        "a member's record carries its place"
    );
    p.records.put(&recorded).await.unwrap();
    note_failed_triage(
        &config,
        &decisions,
        &envelope,
        &time_text(now - Duration::minutes(4)),
    )
    .await;

    let report = chores(&p, &org, now).await.unwrap();
    let id = kept["eventID"].as_str().unwrap();
    assert_eq!(report.settled, [id], "{report:?}");
    assert!(report.retried.is_empty(), "{report:?}");
}
