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

async fn enforcement_machine(config: &SdkConfig) -> String {
    aws_sdk_sfn::Client::new(config)
        .create_state_machine()
        .name(unique("enforcement"))
        .role_arn(role_arn("states"))
        .definition(
            json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": true}}})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

async fn executions(config: &SdkConfig, machine: &str) -> Vec<String> {
    aws_sdk_sfn::Client::new(config)
        .list_executions()
        .state_machine_arn(machine)
        .send()
        .await
        .unwrap()
        .executions()
        .iter()
        .map(|e| e.name().to_owned())
        .collect()
}

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
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ports = Ports {
        sagemaker: SageMakerResolver::remembering(aws_sdk_sagemaker::Client::new(&regional)),
        history: CloudTrailHistory::new(
            aws_sdk_cloudtrail::Client::new(&regional),
            StdDuration::ZERO,
        ),
        records: DynamoRecords::new(dynamodb.clone(), records_table(&config).await),
        roles: IamRoles::new(aws_sdk_iam::Client::new(&config)),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        policies: DynamoPolicyStore::new(dynamodb.clone(), &policy_table, 0),
        enforcements: EnforcementExecutions::new(aws_sdk_sfn::Client::new(&config), &machine),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &alerts.topic_arn,
            &alerts.topic_arn,
        ),
        memory: DynamoGuardStore::new(dynamodb.clone(), &decisions),
        defaults: Defaults::new(900, &[role_arn("SecurityOps")]).unwrap(),
    };

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
    let mut started = executions(&config, &machine).await;
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
    assert_eq!(executions(&config, &machine).await.len(), 2);

    // Drift: each violation alerted once; a second scan alerts nothing.
    let drift = scan(&ports, "drift").await;
    assert_eq!(
        named(&drift, &drift.alerted),
        ["bad", "train"],
        "{drift:#?}"
    );
    let sent = alerts.expect(2, StdDuration::from_secs(10)).await;
    for message in &sent {
        assert_eq!(
            message.attributes["kind"]["Value"], "drift-found",
            "{message:#?}"
        );
    }
    let again = scan(&ports, "drift").await;
    assert!(again.alerted.is_empty(), "{again:#?}");
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
    assert!(after.alerted.is_empty(), "{after:#?}");
    alerts.expect(0, StdDuration::from_secs(2)).await;
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
