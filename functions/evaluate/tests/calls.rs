//! How many AWS calls Evaluate makes per event, counted by an interceptor on the real SDK clients
//! against the testbed: an allowed deployment of resources that existed before the call costs
//! what it cost before records existed (its describes, the policy Scan, the audit PutItem); only
//! a deployment that needs the records (or a role path) pays for them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use evaluate::{Ports, handle};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::OneClient;
use model_guard_core::ports::RecordStore;
use model_guard_core::{Defaults, parse_event_value};
use model_guard_testkit::{
    SageMakerKit, config, create_endpoint_config_event, create_endpoint_event, create_model_event,
    decisions_table, policy_table, record_of, records_table, role_arn, unique,
};
use serde_json::{Value, json};

/// The operations the clients sent, by their `X-Amz-Target` (`SageMaker.DescribeModel`, …) or,
/// for query-protocol services (IAM), their `Action`.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = match request.headers().get("x-amz-target") {
            Some(target) => target.to_owned(),
            None => {
                let body = request.body().bytes().unwrap_or_default();
                let body = String::from_utf8_lossy(body);
                body.split('&')
                    .find_map(|p| p.strip_prefix("Action="))
                    .unwrap_or("?")
                    .to_owned()
            }
        };
        self.0.lock().unwrap().push(target);
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

type CountedPorts = Ports<OneClient, DynamoPolicyStore, DynamoAuditLog, IamRoles, DynamoRecords>;

async fn counted() -> (CountedPorts, Calls) {
    let config = config().await;
    let calls = Calls::default();
    let sagemaker = aws_sdk_sagemaker::Client::from_conf(
        aws_sdk_sagemaker::config::Builder::from(&config)
            .interceptor(calls.clone())
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(calls.clone())
            .build(),
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .interceptor(calls.clone())
            .build(),
    );
    let policy = json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce"},
        {"pk": "default", "principals": [], "mode": "notify"}
    ]);
    let ports = Ports {
        resolvers: OneClient(sagemaker),
        // No policy cache, as in the testbed: one Scan per event.
        policies: DynamoPolicyStore::new(dynamodb.clone(), policy_table(&config, &policy).await, 0),
        audit: DynamoAuditLog::new(dynamodb.clone(), decisions_table(&config).await),
        roles: IamRoles::new(iam),
        records: DynamoRecords::new(dynamodb, records_table(&config).await),
        record_wait: chrono::Duration::zero(),
        defaults: Defaults::default(),
        enforcer_role: "arn:aws:iam::123456789012:role/ModelGuard-EnforceRole".into(),
        member_enforcer_role: model_guard_aws::members::MEMBER_ENFORCE_ROLE.into(),
    };
    (ports, calls)
}

async fn evaluate(ports: &CountedPorts, event: &Value) -> Value {
    let input = serde_json::to_value(parse_event_value(event)).unwrap();
    serde_json::to_value(handle(input, ports, chrono::Utc::now()).await.unwrap()).unwrap()
}

fn at(event: &mut Value, t: chrono::DateTime<chrono::Utc>) {
    let text = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    event["detail"]["eventTime"] = json!(text);
    event["time"] = json!(text);
}

#[tokio::test]
async fn an_allowed_deployment_of_resources_made_before_the_call_makes_no_more_calls() {
    let (ports, calls) = counted().await;
    let kit = SageMakerKit::new(&config().await);
    let model = unique("fraud-v3");
    kit.model(&model, "Exec").await;
    let cfg = unique("cfg");
    kit.endpoint_config(&cfg, &[&model]).await;
    calls.take();
    // The call comes two seconds after both were made.
    let mut event = create_endpoint_event(&unique("evt"), "MLDeployer", &unique("ep"), &cfg);
    at(
        &mut event,
        chrono::Utc::now() + chrono::Duration::seconds(2),
    );
    let verdict = evaluate(&ports, &event).await;
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    // What it was before this issue: the two describes, the Scan, the PutItem. No records Query,
    // no GetRole.
    assert_eq!(
        calls.take(),
        [
            "DynamoDB_20120810.Scan",
            "SageMaker.DescribeEndpointConfig",
            "SageMaker.DescribeModel",
            "DynamoDB_20120810.PutItem",
        ]
    );
}

#[tokio::test]
async fn only_what_needs_the_records_or_a_role_path_pays_for_them() {
    let (ports, calls) = counted().await;
    let kit = SageMakerKit::new(&config().await);
    let model = unique("fraud-v3");
    kit.model(&model, "Exec").await;
    ports
        .records
        .put(&record_of(&model_guard_testkit::stamped(
            create_model_event(&unique("evt"), "MLDeployer", &model, "Exec"),
            kit.model_created(&model).await,
        )))
        .await
        .unwrap();
    let cfg = unique("cfg");
    kit.endpoint_config(&cfg, &[&model]).await;
    ports
        .records
        .put(&record_of(&model_guard_testkit::stamped(
            create_endpoint_config_event(&unique("evt"), "MLDeployer", &cfg, &[&model]),
            kit.endpoint_config_created(&cfg).await,
        )))
        .await
        .unwrap();
    calls.take();
    // Within the second of their creation: both are looked up in the records.
    let mut event = create_endpoint_event(&unique("evt"), "MLDeployer", &unique("ep"), &cfg);
    at(&mut event, chrono::Utc::now());
    // And the caller's role path is not in the event.
    event["detail"]["userIdentity"]["sessionContext"] = json!({"sessionIssuer": {}});
    let verdict = evaluate(&ports, &event).await;
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    assert_eq!(
        calls.take(),
        [
            "GetRole",
            "DynamoDB_20120810.Scan",
            "SageMaker.DescribeEndpointConfig",
            "DynamoDB_20120810.Query",
            "SageMaker.DescribeModel",
            "DynamoDB_20120810.Query",
            "DynamoDB_20120810.PutItem",
        ]
    );
}

/// Judging content pays only for what the policy asks: the model packages (each described once
/// per event, however many models name it) and, for a digest pin, the endpoint's resolved images.
#[tokio::test]
async fn content_costs_one_describe_per_package_and_one_for_resolved_images() {
    use aws_sdk_sagemaker::types::{
        ContainerDefinition, InferenceSpecification, ModelApprovalStatus,
        ModelPackageContainerDefinition, ProductionVariant,
    };
    let (mut ports, calls) = counted().await;
    let config = config().await;
    let sm = aws_sdk_sagemaker::Client::new(&config);
    let ecr = "111122223333.dkr.ecr.us-east-1.amazonaws.com";
    let group = unique("fraud-models");
    sm.create_model_package_group()
        .model_package_group_name(&group)
        .send()
        .await
        .unwrap();
    let package = sm
        .create_model_package()
        .model_package_group_name(&group)
        .model_approval_status(ModelApprovalStatus::PendingManualApproval)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image(format!("{ecr}/fraud:v7"))
                        .model_data_url("s3://artifacts/fraud-v7/model.tar.gz")
                        .build(),
                )
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .model_package_arn
        .unwrap();
    // Two models from the one package, and one with an image by tag.
    let (a, b, tagged) = (unique("fraud-a"), unique("fraud-b"), unique("fraud-c"));
    for model in [&a, &b] {
        sm.create_model()
            .model_name(model)
            .execution_role_arn(role_arn("Exec"))
            .primary_container(
                ContainerDefinition::builder()
                    .model_package_name(&package)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    sm.create_model()
        .model_name(&tagged)
        .execution_role_arn(role_arn("Exec"))
        .primary_container(
            ContainerDefinition::builder()
                .image(format!("{ecr}/scoring:v3"))
                .model_data_url("s3://artifacts/scoring/v3/model.tar.gz")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cfg = unique("cfg");
    let mut request = sm.create_endpoint_config().endpoint_config_name(&cfg);
    for (i, model) in [&a, &b, &tagged].into_iter().enumerate() {
        request = request.production_variants(
            ProductionVariant::builder()
                .variant_name(format!("v{i}"))
                .model_name(model)
                .initial_instance_count(1)
                .instance_type(aws_sdk_sagemaker::types::ProductionVariantInstanceType::MlM5Large)
                .build(),
        );
    }
    request.send().await.unwrap();
    let endpoint = unique("ep");
    sm.create_endpoint()
        .endpoint_name(&endpoint)
        .endpoint_config_name(&cfg)
        .send()
        .await
        .unwrap();
    // The testbed resolves a tag to the digest of its URI (tests/testbed/launcher.py).
    let digest = {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(format!("{ecr}/scoring:v3").as_bytes());
        format!(
            "sha256:{}",
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    };
    let policy = json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")],
         "images": [format!("{ecr}/fraud:*"), format!("{ecr}/scoring@{digest}")]},
        {"pk": format!("package#{group}"), "principals": [role_arn("MLDeployer")]},
        {"pk": "data#s3://artifacts/fraud-*", "principals": [role_arn("MLDeployer")]},
        {"pk": "default", "principals": [role_arn("MLDeployer")], "mode": "notify"}
    ]);
    ports.policies = DynamoPolicyStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        policy_table(&config, &policy).await,
        0,
    );
    calls.take();
    let mut event = create_endpoint_event(&unique("evt"), "MLDeployer", &endpoint, &cfg);
    at(
        &mut event,
        chrono::Utc::now() + chrono::Duration::seconds(2),
    );
    let verdict = evaluate(&ports, &event).await;
    // The package is not approved: a violation of its binding, whoever deploys it. The tag
    // resolved to the pinned digest: the pin is met.
    assert_eq!(verdict["decision"], "violation", "{verdict:#}");
    let violated: Vec<&str> = verdict["approvers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["binding"].as_str().unwrap())
        .collect();
    assert_eq!(violated, [format!("package#{group}")], "{verdict:#}");
    let subject = |kind: &str| -> Vec<&Value> {
        verdict["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == kind)
            .collect()
    };
    assert_eq!(subject("package").len(), 1, "{verdict:#}");
    assert!(
        subject("data")
            .iter()
            .any(|s| s["name"] == "s3://artifacts/fraud-v7/model.tar.gz" && s["allowed"] == true),
        "{verdict:#}"
    );
    let a_reason_says = |text: &str| {
        verdict["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains(text))
    };
    assert!(a_reason_says("PendingManualApproval"), "{verdict:#}");
    assert!(a_reason_says(&digest), "{verdict:#}");
    // (This policy's store is not counted: its Scan is one, as ever.)
    let mut taken = calls.take();
    // A violating endpoint that no pipeline claims: one ListAutoMLJobs asks whether an AutoML
    // job deployed it, and each recent job (the testbed's, at most 25) is described.
    let described = taken
        .iter()
        .filter(|c| *c == "SageMaker.DescribeAutoMLJobV2")
        .count();
    assert!(described <= 25, "{taken:?}");
    taken.retain(|c| c != "SageMaker.DescribeAutoMLJobV2");
    assert_eq!(
        taken,
        [
            "SageMaker.DescribeEndpoint",
            "SageMaker.DescribeEndpointConfig",
            "SageMaker.DescribeModel",
            "SageMaker.DescribeModelPackage",
            "SageMaker.DescribeModel",
            "SageMaker.DescribeModel",
            // A violation of something a pipeline step can make, whose event carries no
            // execution tag: one ListTags asks whether a step made it (`children`).
            "SageMaker.ListTags",
            "SageMaker.ListAutoMLJobs",
            "DynamoDB_20120810.PutItem",
        ]
    );
}
