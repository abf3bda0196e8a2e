//! Evaluate against the testbed: subjects resolved through the emulator's SageMaker, policies
//! read from its DynamoDB, audit items written there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_config::SdkConfig;
use evaluate::{Ports, handle};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_aws::sagemaker::SageMakerResolver;
use model_guard_core::ports::PolicyStore;
use model_guard_core::{Defaults, ErrorKind, parse_event_value};
use model_guard_testkit::{
    ACCOUNT, SageMakerKit, audit_item, config, create_endpoint_event, decisions_table,
    policy_table, put_policy, role_arn, unique,
};
use serde_json::{Value, json};

type TestPorts = Ports<SageMakerResolver, DynamoPolicyStore, DynamoAuditLog, IamRoles>;

struct World {
    config: SdkConfig,
    kit: SageMakerKit,
    policy_table: String,
    decisions: String,
    ports: TestPorts,
}

fn policy() -> Value {
    json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce",
         "graceSeconds": 600, "approvers": [role_arn("SecurityOps")]},
        {"pk": "model#scratch-*", "principals": [role_arn("MLDeployer")], "mode": "off"},
        {"pk": "default", "principals": [role_arn("MLDeployer")], "mode": "notify"}
    ])
}

async fn world(policy: Value) -> World {
    let config = config().await;
    let policy_table = policy_table(&config, &policy).await;
    let decisions = decisions_table(&config).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ports = Ports {
        resolver: SageMakerResolver::new(aws_sdk_sagemaker::Client::new(&config)),
        policies: DynamoPolicyStore::new(dynamodb.clone(), &policy_table, 0),
        audit: DynamoAuditLog::new(dynamodb, &decisions),
        roles: IamRoles::new(aws_sdk_iam::Client::new(&config)),
        defaults: Defaults::new(900, &[role_arn("SecurityOps")]).unwrap(),
    };
    World {
        kit: SageMakerKit::new(&config),
        config,
        policy_table,
        decisions,
        ports,
    }
}

impl World {
    /// An endpoint config for `model` (made with execution role `Exec`); returns its name.
    async fn deployable(&self, model: &str) -> String {
        self.kit.model(model, "Exec").await;
        let config = unique("cfg");
        self.kit.endpoint_config(&config, &[model]).await;
        config
    }

    async fn evaluate(&self, event: &Value) -> Result<Value, model_guard_core::GuardError> {
        let parsed = serde_json::to_value(parse_event_value(event)).unwrap();
        handle(parsed, &self.ports, chrono::Utc::now())
            .await
            .map(|v| serde_json::to_value(v).unwrap())
    }
}

/// Redactions for what differs between runs: generated names, ids and times.
macro_rules! snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".eventId" => "[event-id]",
            ".eventTime" => "[time]",
            ".resource.name" => "[endpoint]",
            ".resource.arn" => "[endpoint-arn]",
            ".resourceKey" => "[endpoint]",
            ".decidedAt" => "[time]",
            ".updatedAt" => "[time]",
            ".history[].at" => "[time]",
            ".subjects[].name" => "[name]",
            ".subjects[].via" => "[via]",
            ".reasons" => "[reasons]",
            ".verdict.eventId" => "[event-id]",
            ".verdict.eventTime" => "[time]",
            ".verdict.resource.name" => "[endpoint]",
            ".verdict.resource.arn" => "[endpoint-arn]",
            ".verdict.subjects[].name" => "[name]",
            ".verdict.subjects[].via" => "[via]",
            ".verdict.reasons" => "[reasons]",
        });
    };
}

#[tokio::test]
async fn an_allowed_deployment_is_audited_as_allowed() {
    let w = world(policy()).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "MLDeployer",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "allowed");
    assert_eq!(item["verdict"], verdict);
}

#[tokio::test]
async fn a_violation_is_audited_as_evaluated_for_the_enforcement_machine() {
    let w = world(policy()).await;
    let model = unique("fraud-v3");
    let config = w.deployable(&model).await;
    let event_id = unique("evt");
    let endpoint = unique("ep");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "DataScientist",
            &endpoint,
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "violation");
    assert_eq!(verdict["action"], "enforce");
    assert_eq!(verdict["graceSeconds"], 600);
    // The subjects came from the emulator: the config's model and that model's role.
    assert_eq!(verdict["subjects"][0]["name"], json!(model));
    assert_eq!(verdict["subjects"][1]["name"], json!(role_arn("Exec")));
    let reasons = verdict["reasons"].to_string();
    assert!(reasons.contains("does not allow the caller"), "{reasons}");

    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "evaluated");
    assert_eq!(item["resourceKey"], json!(endpoint));
    assert_eq!(item["principal"], json!(role_arn("DataScientist")));
    snapshot!(item);
}

#[tokio::test]
async fn an_off_binding_violation_is_audited_and_nothing_else() {
    let w = world(policy()).await;
    let config = w.deployable(&unique("scratch-a")).await;
    let event_id = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "DataScientist",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(
        (verdict["decision"].as_str(), verdict["action"].as_str()),
        (Some("violation"), Some("none"))
    );
    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "audited");
}

#[tokio::test]
async fn a_duplicate_delivery_returns_the_stored_verdict_and_changes_nothing() {
    let w = world(policy()).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let event = create_endpoint_event(&event_id, "DataScientist", &unique("ep"), &config);
    let first = w.evaluate(&event).await.unwrap();
    let stored = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();

    // The policy changes between deliveries: the event keeps its first decision.
    put_policy(
        &w.config,
        &w.policy_table,
        &json!({"pk": "model#fraud-*", "principals": ["*"], "mode": "enforce"}),
    )
    .await;
    let second = w.evaluate(&event).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(
        audit_item(&w.config, &w.decisions, &event_id)
            .await
            .unwrap(),
        stored
    );
}

#[tokio::test]
async fn an_endpoint_config_that_is_gone_is_enforced_whatever_the_default_says() {
    let w = world(policy()).await;
    let event_id = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "MLDeployer",
            &unique("ep"),
            "no-such-config",
        ))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "violation", "{verdict:#}");
    // The default item allows MLDeployer and is notify-only: neither matters for what the guard
    // cannot see.
    assert_eq!(verdict["action"], "enforce", "{verdict:#}");
    assert_eq!(verdict["subjects"][0]["binding"], "unresolved");
    assert_eq!(verdict["subjects"][0]["resolved"], false);
    let reasons = verdict["reasons"].to_string();
    assert!(
        reasons.contains("endpoint config no-such-config was not found"),
        "{reasons}"
    );
}

#[tokio::test]
async fn an_invalid_policy_item_fails_the_evaluation_naming_the_item_and_writes_nothing() {
    let w = world(json!([{"pk": "model#x", "principals": ["*"], "mode": "sometimes"}])).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let error = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "MLDeployer",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::PolicyInvalid);
    assert!(
        error.message.contains("model#x") && error.message.contains("mode"),
        "{error}"
    );
    assert_eq!(audit_item(&w.config, &w.decisions, &event_id).await, None);
}

#[tokio::test]
async fn ignored_events_are_returned_and_not_audited() {
    let w = world(policy()).await;
    let mut event = create_endpoint_event(&unique("evt"), "MLDeployer", "ep", "cfg");
    event["detail"]["errorCode"] = json!("AccessDenied");
    event["detail"]["errorMessage"] = json!("no");
    let verdict = w.evaluate(&event).await.unwrap();
    assert_eq!(verdict["decision"], "ignored");
    let event_id = event["detail"]["eventID"].as_str().unwrap();
    assert_eq!(audit_item(&w.config, &w.decisions, event_id).await, None);
}

#[tokio::test]
async fn input_that_is_not_parse_events_output_is_refused() {
    let w = world(policy()).await;
    for bad in [
        json!({"outcome": "maybe"}),
        json!([]),
        json!({"outcome": "request"}),
    ] {
        let error = handle(bad.clone(), &w.ports, chrono::Utc::now())
            .await
            .unwrap_err();
        assert_eq!(
            error.error_type(),
            "ModelGuard.InvalidInput",
            "{bad}: {error}"
        );
    }
}

#[tokio::test]
async fn the_policy_cache_keeps_a_set_for_its_lifetime_and_no_longer() {
    let config = config().await;
    let table = policy_table(&config, &json!([{"pk": "default", "principals": ["*"]}])).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let cached = DynamoPolicyStore::new(client.clone(), &table, 60);
    let uncached = DynamoPolicyStore::new(client, &table, 0);
    let first = cached.policies().await.unwrap();
    assert_eq!(first.items().len(), 1);

    put_policy(
        &config,
        &table,
        &json!({"pk": "model#m", "principals": ["*"]}),
    )
    .await;
    let again = cached.policies().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "within 60 s the cached set is used"
    );
    assert_eq!(uncached.policies().await.unwrap().items().len(), 2);
    // A longer cache than 60 s is not possible.
    assert_eq!(model_guard_aws::policy_store::MAX_CACHE_SECONDS, 60);
    let _ = ACCOUNT;
}

#[tokio::test]
async fn a_callers_role_path_the_event_left_out_is_looked_up_in_iam() {
    // A console event with an empty session issuer names the role only by its session ARN. The
    // binding allows the role at its path only: without IAM's answer, this would be a violation.
    let runner = unique("Runner");
    let arn = aws_sdk_iam::Client::new(&config().await)
        .create_role()
        .role_name(&runner)
        .path("/teams/ml/")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let w = world(json!([
        {"pk": "model#fraud-*", "principals": [format!("arn:aws:iam::{ACCOUNT}:role/teams/ml/*")]},
        {"pk": "default", "principals": [], "mode": "enforce"}
    ]))
    .await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let mut event = create_endpoint_event(&unique("evt"), &runner, &unique("ep"), &config);
    event["detail"]["userIdentity"]["sessionContext"] = json!({"sessionIssuer": {}});
    let verdict = w.evaluate(&event).await.unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    assert_eq!(verdict["principal"], arn.as_str());

    // A role IAM does not know keeps an unknown path, and the path-only binding does not match.
    let mut ghost = create_endpoint_event(&unique("evt"), &unique("Ghost"), &unique("ep"), &config);
    ghost["detail"]["userIdentity"]["sessionContext"] = json!({"sessionIssuer": {}});
    let verdict = w.evaluate(&ghost).await.unwrap();
    assert_eq!(verdict["decision"], "violation", "{verdict:#}");
    assert!(
        verdict["reasons"]
            .to_string()
            .contains("role path is not known"),
        "{verdict:#}"
    );
}
