//! The scan function against the testbed: `--enforce` records and starts each violation once,
//! and the drift scan alerts each new violation once — a policy change that makes one is alerted,
//! and nothing is alerted twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::cloudtrail::CloudTrailHistory;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::SageMakerResolver;
use model_guard_aws::sfn::EnforcementExecutions;
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::Defaults;
use model_guard_core::ports::{CallHistory, LookupKey};
use model_guard_core::scan::ScanResponse;
use model_guard_testkit::*;
use scan::{Ports, handle};
use serde_json::{Value, json};

type TestPorts = Ports<
    SageMakerResolver,
    CloudTrailHistory,
    DynamoRecords,
    IamRoles,
    DynamoAuditLog,
    DynamoPolicyStore,
    EnforcementExecutions,
    SnsNotifier,
    DynamoGuardStore,
>;

/// The only test that scans this region.
const REGION: &str = "eu-west-3";

async fn scan(ports: &TestPorts, mode: &str) -> ScanResponse {
    handle(
        json!({"mode": mode, "types": ["endpoint", "training-job"]}),
        ports,
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

fn named(response: &ScanResponse, keys: &[String]) -> Vec<String> {
    let mut names: Vec<String> = keys
        .iter()
        .map(|k| {
            let f = response
                .report
                .findings
                .iter()
                .find(|f| &f.key == k)
                .unwrap();
            f.resource
                .name
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned()
                + if f.resource.name.starts_with("train-ok") {
                    "-ok"
                } else {
                    ""
                }
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn enforce_starts_each_violation_once_and_drift_alerts_each_new_one_once() {
    let config = config().await;
    let regional = clean_region(&config, REGION).await;
    let token = unique("s");
    scan_world(&regional, REGION, &token).await;
    let policy_table = policy_table(&config, &scan_policy()).await;
    let decisions = decisions_table(&config).await;
    let machine = enforcement_machine(&config).await;
    let alerts = inbox(&config).await;
    let ports = scan_ports(
        &config,
        aws_sdk_sagemaker::Client::new(&regional),
        aws_sdk_cloudtrail::Client::new(&regional),
        &policy_table,
        &decisions,
        &machine,
        &alerts.topic_arn,
    )
    .await;

    // --enforce: the two violations are recorded and their enforcement started.
    let first = scan(&ports, "enforce").await;
    assert!(first.report.complete, "{:#?}", first.report.problems);
    assert_eq!(
        named(&first, &first.started),
        ["bad", "train"],
        "{first:#?}"
    );
    assert!(
        first.known.is_empty() && first.skipped.is_empty(),
        "{first:#?}"
    );
    let mut started = execution_names(&config, &machine).await;
    started.sort();
    let mut keys = first.started.clone();
    keys.sort();
    assert_eq!(started, keys);
    for key in &first.started {
        let item = audit_item(&config, &decisions, key).await.unwrap();
        assert_eq!(
            (item["state"].as_str(), item["verdict"]["decision"].as_str()),
            (Some("evaluated"), Some("violation")),
            "{item:#}"
        );
        assert!(
            item["verdict"]["reasons"]
                .to_string()
                .contains("found by a scan"),
            "{item:#}"
        );
    }
    // A second --enforce starts nothing new.
    let second = scan(&ports, "enforce").await;
    assert!(second.started.is_empty(), "{second:#?}");
    assert_eq!(named(&second, &second.known), ["bad", "train"]);
    assert_eq!(execution_names(&config, &machine).await.len(), 2);

    // Drift: each violation alerted once, and the two endpoints nobody can be credited with
    // told of once, on the guard topic; a second scan alerts nothing.
    let drift = scan(&ports, "drift").await;
    assert_eq!(
        named(&drift, &drift.alerted),
        ["bad", "legacy", "reborn", "train"],
        "{drift:#?}"
    );
    assert!(drift.attention && drift.report.complete, "{drift:#?}");
    let sent = alerts.expect(3, StdDuration::from_secs(10)).await;
    let mut kinds: Vec<String> = sent
        .iter()
        .map(|m| m.attributes["kind"]["Value"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["drift-found", "drift-found", "scan-attention"]);
    let attention = sent
        .iter()
        .find(|m| m.attributes["kind"]["Value"] == "scan-attention")
        .unwrap();
    for name in ["legacy", "reborn"] {
        assert!(
            attention
                .message
                .to_string()
                .contains(&format!("{name}-{token}")),
            "{attention:#?}"
        );
    }
    let again = scan(&ports, "drift").await;
    assert!(again.alerted.is_empty() && !again.attention, "{again:#?}");
    alerts.expect(0, StdDuration::from_secs(2)).await;

    // A policy change makes the endpoints MLDeployer made or updated violations: alerted, once.
    put_policy(
        &config,
        &policy_table,
        &json!({"pk": "model#fraud-*", "principals": [], "graceSeconds": 600}),
    )
    .await;
    let changed = scan(&ports, "drift").await;
    assert_eq!(
        named(&changed, &changed.alerted),
        ["kept", "promoted"],
        "{changed:#?}"
    );
    let sent = alerts.expect(2, StdDuration::from_secs(10)).await;
    let text: Value = json!(sent.iter().map(|m| m.message.clone()).collect::<Vec<_>>());
    assert!(
        text.to_string().contains(&format!("promoted-{token}")),
        "{text:#}"
    );
    let after = scan(&ports, "drift").await;
    assert!(after.alerted.is_empty() && !after.attention, "{after:#?}");
    alerts.expect(0, StdDuration::from_secs(2)).await;

    // An approver keeps `bad` (its scan item approved). A policy edit that judges it under
    // another binding, still a violation, must not raise it again: the approval was for that
    // resource, call and content, whatever binding judged it.
    let bad = first
        .started
        .iter()
        .find(|k| named(&first, std::slice::from_ref(k)) == ["bad"])
        .unwrap()
        .clone();
    approve(&config, &decisions, &bad).await;
    // The call's own audit item ended otherwise (notified, as under observe mode): it must not
    // hide the approval of the scan's finding.
    let call_id = first
        .report
        .findings
        .iter()
        .find(|f| f.key == bad)
        .and_then(|f| f.call.clone())
        .unwrap()
        .event_id;
    let mut call_item = audit_item(&config, &decisions, &bad).await.unwrap();
    call_item[model_guard_aws::decisions_table::KEY] = json!(call_id);
    call_item["state"] = json!("notified");
    aws_sdk_dynamodb::Client::new(&config)
        .put_item()
        .table_name(&decisions)
        .set_item(Some(serde_dynamo::to_item(call_item).unwrap()))
        .send()
        .await
        .unwrap();
    put_policy(
        &config,
        &policy_table,
        &json!({"pk": "model#fraud-v3-*", "principals": []}),
    )
    .await;
    let edited = scan(&ports, "enforce").await;
    assert_eq!(
        named(&edited, &edited.started),
        ["kept", "promoted"],
        "{edited:#?}"
    );
    let kept = edited.report.findings.iter().find(|f| f.key == bad);
    assert_eq!(
        kept.map(|f| f.outcome),
        Some(model_guard_core::scan::Outcome::Approved),
        "{edited:#?}"
    );
    assert_eq!(execution_names(&config, &machine).await.len(), 4);

    // A lookup of UpdateEndpoint fails: who set each endpoint is unsure (a newer call it would
    // show may be an allowed one), so no endpoint is judged a violation or enforced; the
    // training job, whose calls were all looked up, still is.
    let scan_ports = scan_ports(
        &config,
        aws_sdk_sagemaker::Client::new(&regional),
        aws_sdk_cloudtrail::Client::new(&regional),
        &policy_table,
        &decisions,
        &machine,
        &alerts.topic_arn,
    )
    .await;
    let blind = Ports {
        history: FailingLookup {
            inner: scan_ports.history,
            failing: "UpdateEndpoint",
        },
        sagemaker: scan_ports.sagemaker,
        records: scan_ports.records,
        roles: scan_ports.roles,
        audit: scan_ports.audit,
        policies: scan_ports.policies,
        enforcements: scan_ports.enforcements,
        notifier: scan_ports.notifier,
        memory: scan_ports.memory,
        defaults: scan_ports.defaults,
        enforcer_role: None,
    };
    let unsure = handle(
        json!({"mode": "enforce", "types": ["endpoint", "training-job"]}),
        &blind,
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert!(!unsure.report.complete, "{unsure:#?}");
    let violations: Vec<&str> = unsure
        .report
        .findings
        .iter()
        .filter(|f| f.outcome == model_guard_core::scan::Outcome::Violation)
        .map(|f| f.resource.resource_type.as_str())
        .collect();
    assert_eq!(violations, ["training-job"], "{unsure:#?}");
    let kept_now = unsure
        .report
        .findings
        .iter()
        .find(|f| f.resource.name.starts_with("kept-"))
        .unwrap();
    assert!(kept_now.why.contains("unsure"), "{kept_now:#?}");
    // The drift scan names them on the guard topic at every scan while the lookup fails: a
    // lookup kept failing on purpose must not make a violation quiet.
    alerts.expect(0, StdDuration::from_secs(1)).await;
    for _ in 0..2 {
        let drift = handle(
            json!({"mode": "drift", "types": ["endpoint", "training-job"]}),
            &blind,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap();
        assert!(drift.attention, "{drift:#?}");
        let sent = alerts.expect(1, StdDuration::from_secs(10)).await;
        assert_eq!(sent[0].attributes["kind"]["Value"], "scan-attention");
        assert_ne!(sent[0].attributes["unsure"]["Value"], "0", "{:#?}", sent[0]);
        assert!(
            sent[0]
                .message
                .to_string()
                .contains(&format!("kept-{token}")),
            "{:#?}",
            sent[0]
        );
    }
    assert_eq!(execution_names(&config, &machine).await.len(), 4);
}

/// A drift scan that cannot list what it scans tells the guard topic, every time: a family it
/// cannot see must not look like a family with nothing wrong.
#[tokio::test]
async fn an_incomplete_drift_scan_tells_the_guard_topic_each_time() {
    let config = config().await;
    let policy_table = policy_table(&config, &scan_policy()).await;
    let decisions = decisions_table(&config).await;
    let machine = enforcement_machine(&config).await;
    let alerts = inbox(&config).await;
    // SageMaker out of reach (nothing listens on port 9).
    let unreachable = aws_sdk_sagemaker::config::Builder::from(&config)
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let ports = scan_ports(
        &config,
        aws_sdk_sagemaker::Client::from_conf(unreachable),
        aws_sdk_cloudtrail::Client::new(&config),
        &policy_table,
        &decisions,
        &machine,
        &alerts.topic_arn,
    )
    .await;
    for _ in 0..2 {
        let drift = scan(&ports, "drift").await;
        assert!(
            !drift.report.complete && drift.attention && drift.report.problems.len() == 2,
            "{drift:#?}"
        );
        let sent = alerts.expect(1, StdDuration::from_secs(10)).await;
        assert_eq!(sent[0].attributes["kind"]["Value"], "scan-attention");
        assert_eq!(sent[0].attributes["complete"]["Value"], "false");
        assert!(
            sent[0].message.to_string().contains("listing endpoints"),
            "{:#?}",
            sent[0]
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn scan_ports(
    config: &SdkConfig,
    sagemaker: aws_sdk_sagemaker::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    policy_table: &str,
    decisions: &str,
    machine: &str,
    topic: &str,
) -> TestPorts {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    Ports {
        sagemaker: SageMakerResolver::remembering(sagemaker),
        history: CloudTrailHistory::new(cloudtrail, StdDuration::ZERO),
        records: DynamoRecords::new(dynamodb.clone(), records_table(config).await),
        roles: IamRoles::new(aws_sdk_iam::Client::new(config)),
        audit: DynamoAuditLog::new(dynamodb.clone(), decisions),
        policies: DynamoPolicyStore::new(dynamodb.clone(), policy_table, 0),
        enforcements: EnforcementExecutions::new(aws_sdk_sfn::Client::new(config), machine),
        notifier: SnsNotifier::new(aws_sdk_sns::Client::new(config), topic, topic),
        memory: DynamoGuardStore::new(dynamodb, decisions),
        defaults: Defaults::new(900, &[role_arn("SecurityOps")]).unwrap(),
        enforcer_role: None,
    }
}

/// The history keeps successful calls only, and a lookup still paging at its deadline fails
/// rather than run on (a flood of calls must not make the scan overrun its time unawares).
#[tokio::test]
async fn the_history_keeps_successful_calls_and_stops_at_its_deadline() {
    const REGION: &str = "sa-east-1";
    let config = config().await;
    let regional = clean_region(&config, REGION).await;
    let now = chrono::Utc::now();
    // The testbed keeps the records of earlier runs: this run's carry its token.
    let token = unique("h");
    let mut records: Vec<Value> = (0..60)
        .map(|i| {
            cloudtrail_record(
                "DeleteEndpointConfig",
                "DataScientist",
                REGION,
                now - chrono::Duration::seconds(i + 1),
                json!({"endpointConfigName": format!("{token}-{i}")}),
                json!(null),
            )
        })
        .collect();
    records[7]["errorCode"] = json!("ValidationException");
    register_records(&records).await;
    let history = CloudTrailHistory::new(
        aws_sdk_cloudtrail::Client::new(&regional),
        StdDuration::ZERO,
    );
    let start = now - chrono::Duration::hours(1);
    let found = history
        .lookup(
            LookupKey::EventName("DeleteEndpointConfig"),
            start,
            now,
            None,
        )
        .await
        .unwrap();
    let ours: Vec<&Value> = found
        .iter()
        .filter(|r| r.to_string().contains(&token))
        .collect();
    assert_eq!(ours.len(), 59);
    assert!(found.iter().all(|r| r.get("errorCode").is_none()));
    let late = history
        .lookup(
            LookupKey::EventName("DeleteEndpointConfig"),
            start,
            now,
            Some(now - chrono::Duration::seconds(1)),
        )
        .await
        .unwrap_err();
    assert!(late.message.contains("out of time"), "{late}");
}

/// The real CloudTrail adapter, but one event name's lookup fails (a throttled or refused page).
struct FailingLookup {
    inner: CloudTrailHistory,
    failing: &'static str,
}

impl CallHistory for FailingLookup {
    async fn lookup(
        &self,
        key: LookupKey<'_>,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Value>, model_guard_core::GuardError> {
        if key == LookupKey::EventName(self.failing) {
            return Err(model_guard_core::GuardError::new(
                model_guard_core::ErrorKind::Throttled,
                "LookupEvents: ThrottlingException",
            ));
        }
        self.inner.lookup(key, start, end, until).await
    }
}

/// What the approval function leaves on an item an approver kept.
async fn approve(config: &SdkConfig, table: &str, key: &str) {
    aws_sdk_dynamodb::Client::new(config)
        .update_item()
        .table_name(table)
        .key(
            model_guard_aws::decisions_table::KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(key.to_owned()),
        )
        .update_expression("SET #state = :approved")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(
            ":approved",
            aws_sdk_dynamodb::types::AttributeValue::S("approved".to_owned()),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn what_is_not_a_scan_request_is_refused() {
    let config = config().await;
    let _ = config;
    for bad in [
        json!({"mode": "delete-everything"}),
        json!({"mode": "drift", "types": ["domain"]}),
        json!({"mode": "enforce", "findings": ["scan-x"]}),
    ] {
        let parsed: Result<model_guard_core::scan::ScanRequest, _> =
            serde_json::from_value(bad.clone());
        let refused = match parsed {
            Err(_) => true,
            Ok(r) => model_guard_core::scan::scanned_types(r.types.as_deref()).is_err(),
        };
        assert!(refused, "{bad}");
    }
}
