//! The health check against the testbed with its real adapters: the guard's rule, trail,
//! functions, policy-stream mapping and topics made in moto under names of the test's own, then
//! switched off one by one, as someone working around the guard would, and mended.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector};
use aws_sdk_lambda::primitives::Blob;
use chrono::{Duration, Utc};
use health::{Ports, handle};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::checkpoint::DynamoCheckpoint;
use model_guard_aws::guard_resources::AwsGuardResources;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::Version1;
use model_guard_core::health::{CheckStatus, HealthReport, HealthTargets, RuleTargets};
use model_guard_core::ports::SweepCheckpoint;
use model_guard_testkit::{
    ACCOUNT, Inbox, config, decisions_table, inbox, testbed_request, unique,
};

type HealthPorts =
    Ports<AwsGuardResources, DynamoCheckpoint, DynamoAuditLog, SnsNotifier, DynamoGuardStore>;

/// An empty zip archive: moto keeps a function's code without running it.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

struct Guard {
    config: SdkConfig,
    targets: HealthTargets,
    ports: HealthPorts,
    guard: Inbox,
    violations: Inbox,
    rule: String,
    trail: String,
    functions: Vec<String>,
    mapping: String,
}

async fn function(config: &SdkConfig, name: &str) {
    // Lambda wants a role it can assume: one the test makes (again: any earlier one will do).
    let _ = aws_sdk_iam::Client::new(config)
        .create_role()
        .role_name("health-test")
        .assume_role_policy_document("{}")
        .send()
        .await;
    aws_sdk_lambda::Client::new(config)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .role(format!("arn:aws:iam::{ACCOUNT}:role/health-test"))
        .handler("bootstrap")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The SageMaker rule's target: the triage machine.
fn triage_target(arn: &str) -> aws_sdk_eventbridge::types::Target {
    aws_sdk_eventbridge::types::Target::builder()
        .id("triage")
        .arn(arn)
        .build()
        .unwrap()
}

fn field(name: &str, equals: &[&str]) -> AdvancedFieldSelector {
    let mut f = AdvancedFieldSelector::builder().field(name);
    for v in equals {
        f = f.equals(*v);
    }
    f.build().unwrap()
}

/// A guard that is switched on: everything the stack makes, under this test's names.
async fn guard() -> Guard {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let (guard, violations) = (inbox(&config).await, inbox(&config).await);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let triage = format!(
        "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
        unique("triage")
    );
    let rule = unique("SageMakerCalls");
    events
        .put_rule()
        .name(&rule)
        .event_pattern(r#"{"source": ["aws.sagemaker"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .targets(triage_target(&triage))
        .send()
        .await
        .unwrap();

    // The trail: its bucket (path-style, moto's S3), then the stack's selectors.
    let bucket = unique("trail-bucket").to_lowercase();
    let answer = testbed_request("PUT", &format!("/{bucket}"), "").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "bucket: {answer}");
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&config);
    let trail = unique("Trail");
    let trail_arn = cloudtrail
        .create_trail()
        .name(&trail)
        .s3_bucket_name(&bucket)
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    cloudtrail
        .start_logging()
        .name(&trail)
        .send()
        .await
        .unwrap();
    let policy_table = format!(
        "arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{}",
        unique("policies")
    );
    cloudtrail
        .put_event_selectors()
        .trail_name(&trail)
        .advanced_event_selectors(
            AdvancedEventSelector::builder()
                .field_selectors(field("eventCategory", &["Management"]))
                .field_selectors(field("readOnly", &["false"]))
                .build()
                .unwrap(),
        )
        .advanced_event_selectors(
            AdvancedEventSelector::builder()
                .field_selectors(field("eventCategory", &["Data"]))
                .field_selectors(field("resources.type", &["AWS::DynamoDB::Table"]))
                .field_selectors(field("readOnly", &["false"]))
                .field_selectors(field("resources.ARN", &[&policy_table]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let functions = vec![unique("g-evaluate"), unique("g-enforce")];
    for f in &functions {
        function(&config, f).await;
    }
    // The policy stream's mapping: a table with a stream, mapped to a function.
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streamed = unique("streamed");
    let stream_arn = dynamodb
        .create_table()
        .table_name(&streamed)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
        .latest_stream_arn
        .unwrap();
    let mapping = aws_sdk_lambda::Client::new(&config)
        .create_event_source_mapping()
        .function_name(&functions[0])
        .event_source_arn(stream_arn)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::Latest)
        .send()
        .await
        .unwrap()
        .uuid
        .unwrap();

    let targets = HealthTargets {
        version: Version1,
        region: "us-east-1".into(),
        rules: vec![RuleTargets {
            names: vec![rule.clone()],
            targets: vec![triage],
        }],
        functions: functions.clone(),
        event_source_mappings: vec![mapping.clone()],
        trail: Some(trail_arn),
        policy_table_arn: policy_table,
        topics: vec![guard.topic_arn.clone(), violations.topic_arn.clone()],
        sweep_interval_minutes: 15,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ports = Ports {
        resources: AwsGuardResources::new(&config),
        checkpoint: DynamoCheckpoint::new(dynamodb.clone(), &decisions),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &violations.topic_arn,
            &guard.topic_arn,
        ),
        memory: DynamoGuardStore::new(dynamodb, &decisions),
    };
    // A sweep finished a minute ago.
    ports
        .checkpoint
        .save_end(None, Utc::now() - Duration::minutes(1))
        .await
        .unwrap();
    Guard {
        config,
        targets,
        ports,
        guard,
        violations,
        rule,
        trail,
        functions,
        mapping,
    }
}

impl Guard {
    async fn run(&self) -> HealthReport {
        handle(&self.targets, &self.ports, Utc::now())
            .await
            .unwrap()
    }

    fn status(report: &HealthReport, name: &str) -> (CheckStatus, String) {
        let check = report.checks.iter().find(|c| c.name == name).unwrap();
        (check.status, check.detail.clone())
    }
}

#[tokio::test]
async fn each_part_of_the_guard_switched_off_fails_its_check_and_is_alerted_once() {
    let g = guard().await;
    let report = g.run().await;
    assert!(report.healthy(), "{report:#?}");
    // moto's SNS counts no subscription as confirmed (AWS confirms SQS subscriptions at once):
    // the test's topics are heard by their queues all the same.
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Pass)
        .map(|c| (c.name.as_str(), c.detail.as_str()))
        .collect();
    assert!(failing.is_empty(), "{failing:?}");
    // A healthy first run alerts no one.
    g.guard.expect(0, StdDuration::from_secs(1)).await;

    // The rule disabled: the check fails, the guard topic hears of it once.
    let events = aws_sdk_eventbridge::Client::new(&g.config);
    events.disable_rule().name(&g.rule).send().await.unwrap();
    let report = g.run().await;
    let (status, detail) = Guard::status(&report, "rules");
    assert_eq!(status, CheckStatus::Fail);
    assert!(detail.contains("DISABLED"), "{detail}");
    let alerts = g.guard.expect(1, StdDuration::from_secs(5)).await;
    assert_eq!(alerts[0].message["kind"], "health");
    assert_eq!(
        alerts[0].message["health"]["failing"],
        serde_json::json!(["rules"])
    );
    assert!(
        alerts[0]
            .subject
            .as_deref()
            .unwrap()
            .contains("FAILING: rules"),
        "{alerts:?}"
    );
    // Still disabled at the next run: nothing new to tell.
    g.run().await;
    g.guard.expect(0, StdDuration::from_secs(1)).await;

    // The rule left without its target, the trail stopped, a function throttled to zero, the
    // policy stream disabled: each fails its check, one alert names them all.
    events.enable_rule().name(&g.rule).send().await.unwrap();
    events
        .remove_targets()
        .rule(&g.rule)
        .ids("triage")
        .send()
        .await
        .unwrap();
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&g.config);
    cloudtrail
        .stop_logging()
        .name(&g.trail)
        .send()
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&g.config);
    lambda
        .put_function_concurrency()
        .function_name(&g.functions[1])
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    lambda
        .update_event_source_mapping()
        .uuid(&g.mapping)
        .enabled(false)
        .send()
        .await
        .unwrap();
    let report = g.run().await;
    // A stopped trail also records no policy writers.
    assert_eq!(
        report.failing(),
        [
            "rules",
            "trail",
            "policy-writers",
            "functions",
            "policy-stream"
        ],
        "{report:#?}"
    );
    assert!(
        Guard::status(&report, "rules")
            .1
            .contains("no longer delivers to")
    );
    assert!(Guard::status(&report, "trail").1.contains("is not logging"));
    assert!(
        Guard::status(&report, "functions")
            .1
            .contains("is throttled to zero")
    );
    let alerts = g.guard.expect(1, StdDuration::from_secs(5)).await;
    assert_eq!(
        alerts[0].message["health"]["previouslyFailing"],
        serde_json::json!(["rules"])
    );

    // Mended: one alert that every check passes again.
    events
        .put_targets()
        .rule(&g.rule)
        .targets(triage_target(&g.targets.rules[0].targets[0]))
        .send()
        .await
        .unwrap();
    cloudtrail
        .start_logging()
        .name(&g.trail)
        .send()
        .await
        .unwrap();
    lambda
        .delete_function_concurrency()
        .function_name(&g.functions[1])
        .send()
        .await
        .unwrap();
    lambda
        .update_event_source_mapping()
        .uuid(&g.mapping)
        .enabled(true)
        .send()
        .await
        .unwrap();
    let report = g.run().await;
    assert!(report.healthy(), "{report:#?}");
    let alerts = g.guard.expect(1, StdDuration::from_secs(5)).await;
    assert!(
        alerts[0]
            .subject
            .as_deref()
            .unwrap()
            .contains("every check passes again")
    );
    g.violations.expect(0, StdDuration::from_secs(1)).await;
}

#[tokio::test]
async fn a_deleted_function_rule_or_topic_and_an_old_sweep_fail() {
    let g = guard().await;
    g.run().await;
    aws_sdk_lambda::Client::new(&g.config)
        .delete_function()
        .function_name(&g.functions[0])
        .send()
        .await
        .unwrap();
    aws_sdk_eventbridge::Client::new(&g.config)
        .remove_targets()
        .rule(&g.rule)
        .ids("triage")
        .send()
        .await
        .unwrap();
    aws_sdk_eventbridge::Client::new(&g.config)
        .delete_rule()
        .name(&g.rule)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudtrail::Client::new(&g.config)
        .delete_trail()
        .name(&g.trail)
        .send()
        .await
        .unwrap();
    g.ports
        .checkpoint
        .save_end(None, Utc::now() - Duration::minutes(1))
        .await
        .unwrap();
    let report = handle(&g.targets, &g.ports, Utc::now() + Duration::minutes(45))
        .await
        .unwrap();
    assert_eq!(
        report.failing(),
        ["rules", "trail", "policy-writers", "functions", "sweep"],
        "{report:#?}"
    );
    assert!(Guard::status(&report, "rules").1.contains("is gone"));
    assert!(Guard::status(&report, "functions").1.contains("is gone"));
    assert!(Guard::status(&report, "sweep").1.contains("min ago"));
}

#[tokio::test]
async fn with_the_guard_topic_gone_the_health_alert_takes_the_violations_topic() {
    let g = guard().await;
    g.run().await;
    aws_sdk_sns::Client::new(&g.config)
        .delete_topic()
        .topic_arn(&g.guard.topic_arn)
        .send()
        .await
        .unwrap();
    let report = g.run().await;
    let (status, detail) = Guard::status(&report, "alert-subscribers");
    assert_eq!(status, CheckStatus::Fail);
    assert!(detail.contains("is gone"), "{detail}");
    let alerts = g.violations.expect(1, StdDuration::from_secs(5)).await;
    assert_eq!(alerts[0].message["kind"], "health");
    assert!(
        alerts[0].message["health"]["failing"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("alert-subscribers"))
    );
}
