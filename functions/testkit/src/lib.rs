//! Helpers for tests against the local AWS testbed (`scripts/testbed up`): SDK clients pointed at
//! the emulator, uniquely named tables, topics with an SQS inbox, and SageMaker resources.
//!
//! Every test makes its own resources under unique names, so tests run in parallel on one
//! emulator without seeing each other.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use model_guard_aws::decisions_table;
use serde_json::Value;

pub const ACCOUNT: &str = "123456789012";

/// The SDK configuration for the testbed. Refuses to run anywhere but a loopback endpoint, so a
/// test can never touch a real account.
pub async fn config() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "these tests need the local testbed: run `scripts/testbed up && source .testbed/env` \
         (AWS_ENDPOINT_URL is {endpoint:?})"
    );
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The places the guard acts in, on the testbed: its home is moto's default account ([`ACCOUNT`]),
/// any other account is reached through `role` there (moto gives credentials that act in the
/// assumed role's account).
pub fn places(config: &SdkConfig, role: &str) -> std::sync::Arc<model_guard_aws::members::Places> {
    std::sync::Arc::new(model_guard_aws::members::Places::new(
        config.clone(),
        ACCOUNT,
        role,
        "model-guard-test",
    ))
}

/// A member account on the testbed, set up as the member stack sets one up: its two member roles,
/// made through the role AWS Organizations makes in every account it creates (the testbed lets no
/// other role be assumed unless it exists). Returns the configuration of that administrator.
pub async fn member_account(config: &SdkConfig, account: &str) -> SdkConfig {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let admin = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    ))
    .session_name("testbed-setup")
    .configure(config)
    .build()
    .await;
    let admin = config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(admin))
        .build();
    let iam = aws_sdk_iam::Client::new(&admin);
    for role in [
        model_guard_aws::members::MEMBER_ROLE,
        model_guard_aws::members::MEMBER_ENFORCE_ROLE,
    ] {
        let made = iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document("{}")
            .send()
            .await;
        if let Err(e) = made {
            let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e).unwrap_or_default();
            assert_eq!(code, "EntityAlreadyExists", "{e:?}");
        }
    }
    admin
}

/// What a member account's administrators may do to the guard: delete one of its roles.
pub async fn delete_role(admin: &SdkConfig, role: &str) {
    aws_sdk_iam::Client::new(admin)
        .delete_role()
        .role_name(role)
        .send()
        .await
        .unwrap();
}

/// The same configuration in another region.
pub fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

/// A name no other test uses: `prefix-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

/// A policy table holding `items` (a JSON array, as in POLICY.json).
pub async fn policy_table(config: &SdkConfig, items: &Value) -> String {
    policy_table_named(config, &unique("policies"), items).await
}

/// A policy table under a name of the test's choosing (e.g. a `fault-*` one).
pub async fn policy_table_named(config: &SdkConfig, name: &str, items: &Value) -> String {
    let client = aws_sdk_dynamodb::Client::new(config);
    let name = name.to_owned();
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(model_guard_aws::policy_table::KEY, KeyType::Hash))
        .attribute_definitions(string_attribute(model_guard_aws::policy_table::KEY))
        .send()
        .await
        .unwrap();
    for item in items.as_array().expect("a JSON array of items") {
        put_policy(config, &name, item).await;
    }
    name
}

pub async fn put_policy(config: &SdkConfig, table: &str, item: &Value) {
    aws_sdk_dynamodb::Client::new(config)
        .put_item()
        .table_name(table)
        .set_item(Some(serde_dynamo::to_item(item).unwrap()))
        .send()
        .await
        .unwrap();
}

/// A records table with the schema the stack creates.
pub async fn records_table(config: &SdkConfig) -> String {
    let name = unique("records");
    create_records_table(config, &name).await;
    name
}

/// The records table the functions under `cargo lambda watch` use (`RECORDS_TABLE` in
/// `.testbed/env`), created if it is not there yet.
pub async fn shared_records_table(config: &SdkConfig) -> String {
    let name = std::env::var("RECORDS_TABLE").expect("RECORDS_TABLE: source .testbed/env");
    let client = aws_sdk_dynamodb::Client::new(config);
    let tables = client.list_tables().send().await.unwrap();
    if !tables.table_names().contains(&name) {
        create_records_table(config, &name).await;
    }
    name
}

async fn create_records_table(config: &SdkConfig, name: &str) {
    use model_guard_aws::records_table::{KEY, SORT};
    aws_sdk_dynamodb::Client::new(config)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(KEY, KeyType::Hash))
        .key_schema(key(SORT, KeyType::Range))
        .attribute_definitions(string_attribute(KEY))
        .attribute_definitions(string_attribute(SORT))
        .send()
        .await
        .unwrap();
}

/// A decisions table with the schema the stack creates.
pub async fn decisions_table(config: &SdkConfig) -> String {
    let name = unique("decisions");
    create_decisions_table(config, &name).await;
    name
}

/// The decisions table the functions under `cargo lambda watch` use (`DECISIONS_TABLE` in
/// `.testbed/env`), created if it is not there yet.
pub async fn shared_decisions_table(config: &SdkConfig) -> String {
    let name = std::env::var("DECISIONS_TABLE").expect("DECISIONS_TABLE: source .testbed/env");
    let client = aws_sdk_dynamodb::Client::new(config);
    let tables = client.list_tables().send().await.unwrap();
    if !tables.table_names().contains(&name) {
        create_decisions_table(config, &name).await;
    }
    name
}

async fn create_decisions_table(config: &SdkConfig, name: &str) {
    // As the stack makes them: byResource and byState keys only (`keyed_reads`).
    let index = |name: &str, key_attribute: &str| {
        let projection = if name == decisions_table::ALERT_INDEX {
            ProjectionType::All
        } else {
            ProjectionType::KeysOnly
        };
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(key_attribute, KeyType::Hash))
            .key_schema(key(decisions_table::RESOURCE_INDEX_SORT, KeyType::Range))
            .projection(Projection::builder().projection_type(projection).build())
            .build()
            .unwrap()
    };
    let created = aws_sdk_dynamodb::Client::new(config)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(decisions_table::KEY, KeyType::Hash))
        .attribute_definitions(string_attribute(decisions_table::KEY))
        .attribute_definitions(string_attribute(decisions_table::RESOURCE_INDEX_KEY))
        .attribute_definitions(string_attribute(decisions_table::RESOURCE_INDEX_SORT))
        .attribute_definitions(string_attribute(decisions_table::STATE_INDEX_KEY))
        .attribute_definitions(string_attribute(decisions_table::ALERT_INDEX_KEY))
        .attribute_definitions(string_attribute(decisions_table::UNDECIDED_INDEX_KEY))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(decisions_table::UNDECIDED_INDEX)
                .key_schema(key(decisions_table::UNDECIDED_INDEX_KEY, KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(index(
            decisions_table::ALERT_INDEX,
            decisions_table::ALERT_INDEX_KEY,
        ))
        .global_secondary_indexes(index(
            decisions_table::RESOURCE_INDEX,
            decisions_table::RESOURCE_INDEX_KEY,
        ))
        .global_secondary_indexes(index(
            decisions_table::STATE_INDEX,
            decisions_table::STATE_INDEX_KEY,
        ))
        .send()
        .await;
    // Another test may have made the shared table a moment ago.
    if let Err(e) = created {
        let text = format!("{e:?}");
        assert!(text.contains("ResourceInUse"), "CreateTable {name}: {text}");
    }
}

/// The key that seals task tokens (`TOKEN_KEY_ID` in `.testbed/env`, an alias), created if it
/// is not there yet. Returns the alias.
pub async fn token_key(config: &SdkConfig) -> String {
    let alias = std::env::var("TOKEN_KEY_ID").expect("TOKEN_KEY_ID: source .testbed/env");
    let kms = aws_sdk_kms::Client::new(config);
    let aliases = kms.list_aliases().send().await.unwrap();
    if aliases
        .aliases()
        .iter()
        .any(|a| a.alias_name() == Some(alias.as_str()))
    {
        return alias;
    }
    let key = kms
        .create_key()
        .description("task tokens")
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let created = kms
        .create_alias()
        .alias_name(&alias)
        .target_key_id(key_id)
        .send()
        .await;
    // Another test may have made it a moment ago.
    if let Err(e) = created {
        let text = format!("{e:?}");
        assert!(
            text.contains("AlreadyExists"),
            "CreateAlias {alias}: {text}"
        );
    }
    alias
}

/// An audit item for `verdict` (a JSON verdict), held by the execution named by its eventID,
/// with its deadline `deadline_in` from now (negative: passed), written to `table`: what Claim
/// leaves for Enforce. Returns Enforce's input for it.
pub async fn held_item(
    config: &SdkConfig,
    table: &str,
    verdict: &Value,
    deadline_in: chrono::Duration,
) -> Value {
    use model_guard_core::ports::AuditLog;
    let typed: model_guard_core::Verdict = serde_json::from_value(verdict.clone()).unwrap();
    let now = chrono::Utc::now();
    let mut item = model_guard_core::audit::AuditItem::for_verdict(&typed, now).unwrap();
    item.execution = Some(item.event_id.clone());
    item.deadline = Some(now + deadline_in);
    let audit = model_guard_aws::audit_store::DynamoAuditLog::new(
        aws_sdk_dynamodb::Client::new(config),
        table,
    );
    audit.record(&item).await.unwrap();
    serde_json::json!({"version": 1, "eventId": item.event_id, "execution": item.event_id})
}

/// Registers access keys for `arn` with the testbed (`POST /testbed/iam/keys`): SigV4 signatures
/// made with them are the caller's, for the Function URL stand-in and STS GetCallerIdentity.
/// Returns (access key id, secret).
pub async fn register_key(arn: &str) -> (String, String) {
    let n = unique("k").replace('-', "");
    let key_id = format!("ASIA{}", n.to_uppercase());
    let secret = format!("secret-{n}-{}", std::process::id());
    let body = serde_json::json!({"accessKeyId": key_id, "secretAccessKey": secret, "arn": arn})
        .to_string();
    let answer = testbed_request("POST", "/testbed/iam/keys", &body).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "registering a key: {answer}"
    );
    (key_id, secret)
}

/// A plain HTTP request to the testbed's own endpoint (a launcher route, or an S3 path-style
/// call the SDKs here have no client for); returns the whole answer, status line first.
pub async fn testbed_request(method: &str, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: source .testbed/env");
    let address = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// The raw audit item, as stored.
pub async fn audit_item(config: &SdkConfig, table: &str, event_id: &str) -> Option<Value> {
    let out = aws_sdk_dynamodb::Client::new(config)
        .get_item()
        .table_name(table)
        .key(
            decisions_table::KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(event_id.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item.map(|i| serde_dynamo::from_item(i).unwrap())
}

/// An SNS topic with an SQS queue subscribed: what is published can be read back.
pub struct Inbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

/// A message as the SQS subscription delivered it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Received {
    pub subject: Option<String>,
    pub attributes: Value,
    /// The message for every protocol but e-mail (the `default` of a `MessageStructure=json`).
    pub message: Value,
}

pub async fn inbox(config: &SdkConfig) -> Inbox {
    let sns = aws_sdk_sns::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let name = unique("alerts");
    let topic_arn = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}");
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    Inbox {
        topic_arn,
        queue_url,
        sqs,
    }
}

impl Inbox {
    /// Waits up to `wait` for messages; returns what arrived (possibly none).
    pub async fn receive(&self, wait: Duration) -> Vec<Received> {
        let deadline = Instant::now() + wait;
        let mut found = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in out.messages() {
                let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                found.push(Received {
                    subject: envelope["Subject"].as_str().map(str::to_owned),
                    attributes: envelope["MessageAttributes"].clone(),
                    message: serde_json::from_str(envelope["Message"].as_str().unwrap())
                        .unwrap_or_else(|_| envelope["Message"].clone()),
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            if Instant::now() >= deadline {
                return found;
            }
        }
    }

    /// Waits for exactly `n` messages: fails if fewer arrive in `wait`, or more by then.
    pub async fn expect(&self, n: usize, wait: Duration) -> Vec<Received> {
        let deadline = Instant::now() + wait;
        let mut found = Vec::new();
        while found.len() < n && Instant::now() < deadline {
            found.extend(self.receive(Duration::from_millis(500)).await);
        }
        // A short look for extras: a duplicate would show up here.
        found.extend(self.receive(Duration::from_millis(1500)).await);
        assert_eq!(found.len(), n, "messages: {found:#?}");
        found
    }
}

/// SageMaker resources for tests.
pub struct SageMakerKit {
    pub client: aws_sdk_sagemaker::Client,
}

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

impl SageMakerKit {
    pub fn new(config: &SdkConfig) -> SageMakerKit {
        SageMakerKit {
            client: aws_sdk_sagemaker::Client::new(config),
        }
    }

    pub async fn model(&self, name: &str, role: &str) {
        use aws_sdk_sagemaker::types::ContainerDefinition;
        self.client
            .create_model()
            .model_name(name)
            .execution_role_arn(role_arn(role))
            .primary_container(ContainerDefinition::builder().image("img:1").build())
            .send()
            .await
            .unwrap();
    }

    /// When SageMaker says the model was created: the time its CreateModel event carries (a
    /// CloudTrail event built with the current time instead may fall in the next second).
    pub async fn model_created(&self, name: &str) -> chrono::DateTime<chrono::Utc> {
        let out = self
            .client
            .describe_model()
            .model_name(name)
            .send()
            .await
            .unwrap();
        creation_time(out.creation_time())
    }

    /// When SageMaker says the endpoint config was created (see [`Self::model_created`]).
    pub async fn endpoint_config_created(&self, name: &str) -> chrono::DateTime<chrono::Utc> {
        let out = self
            .client
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .unwrap();
        creation_time(out.creation_time())
    }

    pub async fn endpoint_config(&self, name: &str, models: &[&str]) {
        use aws_sdk_sagemaker::types::ProductionVariant;
        let mut request = self
            .client
            .create_endpoint_config()
            .endpoint_config_name(name);
        for (i, model) in models.iter().enumerate() {
            request = request.production_variants(
                ProductionVariant::builder()
                    .variant_name(format!("v{i}"))
                    .model_name(*model)
                    .initial_instance_count(1)
                    .instance_type(
                        aws_sdk_sagemaker::types::ProductionVariantInstanceType::MlM5Large,
                    )
                    .build(),
            );
        }
        request.send().await.unwrap();
    }

    pub async fn endpoint(&self, name: &str, config: &str) {
        self.client
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .send()
            .await
            .unwrap();
    }

    /// UpdateEndpoint to `config` (the testbed's takes a second).
    pub async fn update_endpoint(&self, name: &str, config: &str) {
        self.client
            .update_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .send()
            .await
            .unwrap();
    }

    /// The endpoint's status and the config it serves, once it is no longer Updating (at most
    /// 10 s).
    pub async fn settled_endpoint(&self, name: &str) -> (String, String) {
        for _ in 0..50 {
            let out = self
                .client
                .describe_endpoint()
                .endpoint_name(name)
                .send()
                .await
                .unwrap();
            let status = out.endpoint_status().map(|s| s.as_str().to_owned());
            if status.as_deref() != Some("Updating") {
                return (
                    status.unwrap_or_default(),
                    out.endpoint_config_name().unwrap_or_default().to_owned(),
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("endpoint {name} is still Updating");
    }

    pub async fn delete_endpoint_config(&self, name: &str) {
        self.client
            .delete_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .unwrap();
    }

    pub async fn delete_model(&self, name: &str) {
        self.client
            .delete_model()
            .model_name(name)
            .send()
            .await
            .unwrap();
    }

    /// The endpoint's status; `None` only when SageMaker says it does not exist (any other
    /// failure fails the test: a throttled describe is no proof of a deletion).
    pub async fn endpoint_status(&self, name: &str) -> Option<String> {
        match self
            .client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(out) => Some(
                out.endpoint_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| panic!("endpoint {name} has no status")),
            ),
            Err(e) if not_found(&e) => None,
            Err(e) => panic!("DescribeEndpoint {name} failed: {e:?}"),
        }
    }

    pub async fn inference_component(&self, name: &str, endpoint: &str, model: &str) {
        let spec = aws_sdk_sagemaker::types::InferenceComponentSpecification::builder()
            .model_name(model)
            .build();
        self.inference_component_with(name, endpoint, spec).await;
    }

    /// An inference component on `endpoint`'s variant `v0`, one copy, deploying `specification`.
    pub async fn inference_component_with(
        &self,
        name: &str,
        endpoint: &str,
        specification: aws_sdk_sagemaker::types::InferenceComponentSpecification,
    ) {
        use aws_sdk_sagemaker::types::InferenceComponentRuntimeConfig;
        self.client
            .create_inference_component()
            .inference_component_name(name)
            .endpoint_name(endpoint)
            .variant_name("v0")
            .specification(specification)
            .runtime_config(
                InferenceComponentRuntimeConfig::builder()
                    .copy_count(1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// UpdateInferenceComponent to `specification` (the testbed's takes a second).
    pub async fn update_inference_component(
        &self,
        name: &str,
        specification: aws_sdk_sagemaker::types::InferenceComponentSpecification,
    ) {
        self.client
            .update_inference_component()
            .inference_component_name(name)
            .specification(specification)
            .send()
            .await
            .unwrap();
    }

    /// The inference component's status and what it describes, once it is no longer Updating
    /// (at most 10 s).
    pub async fn settled_component(
        &self,
        name: &str,
    ) -> aws_sdk_sagemaker::operation::describe_inference_component::DescribeInferenceComponentOutput
    {
        for _ in 0..50 {
            let out = self
                .client
                .describe_inference_component()
                .inference_component_name(name)
                .send()
                .await
                .unwrap();
            if out.inference_component_status().map(|s| s.as_str()) != Some("Updating") {
                return out;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("inference component {name} is still Updating");
    }

    /// Whether the inference component exists; only SageMaker's "not found" says it does not.
    pub async fn inference_component_exists(&self, name: &str) -> bool {
        match self
            .client
            .describe_inference_component()
            .inference_component_name(name)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if not_found(&e) => false,
            Err(e) => panic!("DescribeInferenceComponent {name} failed: {e:?}"),
        }
    }

    pub async fn training_job(&self, name: &str, role: &str) {
        use aws_sdk_sagemaker::types::*;
        self.client
            .create_training_job()
            .training_job_name(name)
            .role_arn(role_arn(role))
            .algorithm_specification(
                AlgorithmSpecification::builder()
                    .training_image("img:1")
                    .training_input_mode(TrainingInputMode::File)
                    .build(),
            )
            .output_data_config(
                OutputDataConfig::builder()
                    .s3_output_path("s3://b/o")
                    .build(),
            )
            .resource_config(
                ResourceConfig::builder()
                    .instance_type(TrainingInstanceType::MlM5Large)
                    .instance_count(1)
                    .volume_size_in_gb(1)
                    .build(),
            )
            .stopping_condition(
                StoppingCondition::builder()
                    .max_runtime_in_seconds(60)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn transform_job(&self, name: &str, model: &str) {
        use aws_sdk_sagemaker::types::*;
        self.client
            .create_transform_job()
            .transform_job_name(name)
            .model_name(model)
            .transform_input(
                TransformInput::builder()
                    .data_source(
                        TransformDataSource::builder()
                            .s3_data_source(
                                TransformS3DataSource::builder()
                                    .s3_data_type(S3DataType::S3Prefix)
                                    .s3_uri("s3://b/in")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .transform_output(
                TransformOutput::builder()
                    .s3_output_path("s3://b/out")
                    .build(),
            )
            .transform_resources(
                TransformResources::builder()
                    .instance_type(TransformInstanceType::MlM5Large)
                    .instance_count(1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn processing_job(&self, name: &str, role: &str) {
        use aws_sdk_sagemaker::types::*;
        self.client
            .create_processing_job()
            .processing_job_name(name)
            .role_arn(role_arn(role))
            .app_specification(AppSpecification::builder().image_uri("img:1").build())
            .processing_resources(
                ProcessingResources::builder()
                    .cluster_config(
                        ProcessingClusterConfig::builder()
                            .instance_type(ProcessingInstanceType::MlM5Large)
                            .instance_count(1)
                            .volume_size_in_gb(1)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn tuning_job(&self, name: &str, role: &str) {
        use aws_sdk_sagemaker::types::*;
        self.client
            .create_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(name)
            .hyper_parameter_tuning_job_config(
                HyperParameterTuningJobConfig::builder()
                    .strategy(HyperParameterTuningJobStrategyType::Bayesian)
                    .resource_limits(
                        ResourceLimits::builder()
                            .max_number_of_training_jobs(2)
                            .max_parallel_training_jobs(1)
                            .build(),
                    )
                    .build(),
            )
            .training_job_definition(
                HyperParameterTrainingJobDefinition::builder()
                    .role_arn(role_arn(role))
                    .algorithm_specification(
                        HyperParameterAlgorithmSpecification::builder()
                            .training_image("img:1")
                            .training_input_mode(TrainingInputMode::File)
                            .build(),
                    )
                    .output_data_config(
                        OutputDataConfig::builder()
                            .s3_output_path("s3://b/o")
                            .build(),
                    )
                    .resource_config(
                        ResourceConfig::builder()
                            .instance_type(TrainingInstanceType::MlM5Large)
                            .instance_count(1)
                            .volume_size_in_gb(1)
                            .build(),
                    )
                    .stopping_condition(
                        StoppingCondition::builder()
                            .max_runtime_in_seconds(60)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// A job's status by kind (`training`, `transform`, `processing`, `tuning`).
    pub async fn job_status(&self, kind: &str, name: &str) -> String {
        let c = &self.client;
        match kind {
            "training" => c
                .describe_training_job()
                .training_job_name(name)
                .send()
                .await
                .unwrap()
                .training_job_status()
                .unwrap()
                .as_str()
                .to_owned(),
            "transform" => c
                .describe_transform_job()
                .transform_job_name(name)
                .send()
                .await
                .unwrap()
                .transform_job_status()
                .unwrap()
                .as_str()
                .to_owned(),
            "processing" => c
                .describe_processing_job()
                .processing_job_name(name)
                .send()
                .await
                .unwrap()
                .processing_job_status()
                .unwrap()
                .as_str()
                .to_owned(),
            "tuning" => c
                .describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .unwrap()
                .hyper_parameter_tuning_job_status()
                .unwrap()
                .as_str()
                .to_owned(),
            other => panic!("unknown job kind {other}"),
        }
    }
}

/// SageMaker's answer for a resource that does not exist: a ValidationException saying it
/// could not be found (or ResourceNotFound), nothing else.
fn not_found<E, R>(error: &aws_sdk_sagemaker::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_sagemaker::error::ProvideErrorMetadata,
{
    let aws_sdk_sagemaker::error::SdkError::ServiceError(service) = error else {
        return false;
    };
    let err = service.err();
    match err.code() {
        Some("ResourceNotFound") => true,
        Some("ValidationException") => err
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("could not find")),
        _ => false,
    }
}

/// A violation verdict on a resource, as Evaluate returns it, for a call made now (after the
/// test made the resource, as a real call would be).
pub fn violation(
    event_id: &str,
    resource_type: &str,
    name: &str,
    action: &str,
    grace: u32,
) -> Value {
    serde_json::json!({
        "version": 1,
        "eventId": event_id,
        "eventName": "CreateEndpoint",
        "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "account": ACCOUNT,
        "region": "us-east-1",
        "decision": "violation",
        "action": action,
        "graceSeconds": grace,
        "principal": format!("arn:aws:iam::{ACCOUNT}:role/DataScientist"),
        "resource": {"type": resource_type, "name": name,
                     "arn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:{resource_type}/{name}")},
        "subjects": [{"kind": "model", "name": "fraud-v3", "binding": "model#fraud-*",
                      "allowed": false, "resolved": true}],
        "approvers": [{"binding": "model#fraud-*",
                       "anyOf": [format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps*")]}],
        "reasons": [format!("arn:aws:iam::{ACCOUNT}:role/DataScientist is not among the principals of model#fraud-*")]
    })
}

/// A describe's creation time, which SageMaker always gives on the testbed.
fn creation_time(
    t: Option<&aws_sdk_sagemaker::primitives::DateTime>,
) -> chrono::DateTime<chrono::Utc> {
    let t = t.unwrap();
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap()
}

/// An EventBridge "AWS API Call via CloudTrail" event for a SageMaker call by `caller_role`, at
/// the current time (after the test made its resources, as a real call would be).
pub fn cloudtrail_event(
    event_id: &str,
    event_name: &str,
    caller_role: &str,
    request_parameters: Value,
    response_elements: Value,
) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "version": "0",
        "id": format!("envelope-{event_id}"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": now,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": format!("AROAEXAMPLE:{caller_role}-session"),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{caller_role}/session"),
                "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {
                    "type": "Role", "principalId": "AROAEXAMPLE",
                    "arn": role_arn(caller_role), "accountId": ACCOUNT, "userName": caller_role}}
            },
            "eventTime": now,
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "requestParameters": request_parameters,
            "responseElements": response_elements,
            "eventID": event_id,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT
        }
    })
}

/// `event` as made at `at` (whole seconds, as CloudTrail writes `eventTime`): a call stamped with
/// the second its resource was really made, so that a test never straddles a second boundary.
pub fn stamped(mut event: Value, at: chrono::DateTime<chrono::Utc>) -> Value {
    let time = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    event["detail"]["eventTime"] = serde_json::json!(time);
    event["time"] = serde_json::json!(time);
    event
}

/// A CreateEndpoint event.
pub fn create_endpoint_event(
    event_id: &str,
    caller_role: &str,
    endpoint: &str,
    config: &str,
) -> Value {
    cloudtrail_event(
        event_id,
        "CreateEndpoint",
        caller_role,
        serde_json::json!({"endpointName": endpoint, "endpointConfigName": config}),
        serde_json::json!({"endpointArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{}", endpoint.to_lowercase())}),
    )
}

/// The CreateModel event for a model made by [`SageMakerKit::model`] (execution role `role`).
pub fn create_model_event(event_id: &str, caller_role: &str, name: &str, role: &str) -> Value {
    cloudtrail_event(
        event_id,
        "CreateModel",
        caller_role,
        serde_json::json!({"modelName": name, "executionRoleArn": role_arn(role),
                           "primaryContainer": {"image": "img:1"}}),
        serde_json::json!({"modelArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{}", name.to_lowercase())}),
    )
}

/// The CreateEndpointConfig event for a config made by [`SageMakerKit::endpoint_config`].
pub fn create_endpoint_config_event(
    event_id: &str,
    caller_role: &str,
    name: &str,
    models: &[&str],
) -> Value {
    let variants: Vec<Value> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!({"variantName": format!("v{i}"), "modelName": m,
                                          "initialInstanceCount": 1, "instanceType": "ml.m5.large"})
        })
        .collect();
    cloudtrail_event(
        event_id,
        "CreateEndpointConfig",
        caller_role,
        serde_json::json!({"endpointConfigName": name, "productionVariants": variants}),
        serde_json::json!({"endpointConfigArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{}", name.to_lowercase())}),
    )
}

/// The record ParseEvent makes of a recorded call's event.
pub fn record_of(event: &Value) -> model_guard_core::records::ResourceRecord {
    match model_guard_core::parse_event_value(event) {
        model_guard_core::ParseOutcome::Record { record, .. } => record,
        other => panic!("not a recorded call: {other:?}"),
    }
}

/// A Step Functions execution waiting on a `.waitForTaskToken` task, as AwaitApproval does: its
/// token is published to a topic and read back. Returns (execution ARN, token).
pub async fn waiting_task(config: &SdkConfig, timeout_seconds: u32) -> (String, String) {
    let sfn = aws_sdk_sfn::Client::new(config);
    let inbox = inbox(config).await;
    let definition = serde_json::json!({
        "StartAt": "AwaitApproval",
        "States": {"AwaitApproval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn": inbox.topic_arn, "Message.$": "$$.Task.Token"},
            "TimeoutSeconds": timeout_seconds,
            "End": true
        }}
    });
    let machine = sfn
        .create_state_machine()
        .name(unique("await"))
        .role_arn(role_arn("states"))
        .definition(definition.to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let execution = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(unique("run"))
        .input("{}")
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = inbox.expect(1, Duration::from_secs(20)).await[0]
        .message
        .as_str()
        .expect("the token as the message")
        .to_owned();
    (execution, token)
}

/// An execution's status, output and error once it has stopped running (waits up to `wait`).
pub async fn finished(config: &SdkConfig, execution: &str, wait: Duration) -> (String, Value) {
    let sfn = aws_sdk_sfn::Client::new(config);
    let deadline = Instant::now() + wait;
    loop {
        let out = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .unwrap();
        let status = out.status().as_str().to_owned();
        if status != "RUNNING" || Instant::now() >= deadline {
            let detail = serde_json::json!({
                "output": out.output().and_then(|o| serde_json::from_str::<Value>(o).ok()),
                "error": out.error(),
                "cause": out.cause(),
            });
            return (status, detail);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A region of the testbed's own, for a scan: every endpoint there is deleted and every
/// training job stopped first, so that the scan sees only what the test makes. Each test that
/// scans uses a region no other test uses.
pub async fn clean_region(config: &SdkConfig, region: &str) -> SdkConfig {
    let regional = config
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    let client = aws_sdk_sagemaker::Client::new(&regional);
    let endpoints = client
        .list_endpoints()
        .max_results(100)
        .send()
        .await
        .unwrap();
    for e in endpoints.endpoints() {
        if let Some(name) = e.endpoint_name() {
            let _ = client.delete_endpoint().endpoint_name(name).send().await;
        }
    }
    let jobs = client
        .list_training_jobs()
        .max_results(100)
        .send()
        .await
        .unwrap();
    for j in jobs.training_job_summaries() {
        if let Some(name) = j.training_job_name() {
            let _ = client
                .stop_training_job()
                .training_job_name(name)
                .send()
                .await;
        }
    }
    regional
}

/// Registers CloudTrail records for LookupEvents (the testbed's `/testbed/cloudtrail/records`).
pub async fn register_records(records: &[Value]) {
    let body = serde_json::json!({"records": records}).to_string();
    let answer = testbed_request("POST", "/testbed/cloudtrail/records", &body).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The CloudTrail record (LookupEvents' `CloudTrailEvent`) of a call in `region` at `at`.
pub fn cloudtrail_record(
    event_name: &str,
    caller_role: &str,
    region: &str,
    at: chrono::DateTime<chrono::Utc>,
    request_parameters: Value,
    response_elements: Value,
) -> Value {
    let mut event = stamped(
        cloudtrail_event(
            &unique("evt"),
            event_name,
            caller_role,
            request_parameters,
            response_elements,
        ),
        at,
    );
    event["detail"]["awsRegion"] = serde_json::json!(region);
    event["detail"].take()
}

/// What a scan test finds, and the records that say who made it. `token` makes the names the
/// test's own: `bad-<token>` (an endpoint serving `fraud-v3-<token>`, made by DataScientist),
/// `ok-<token>` (a research model, by DataScientist), `promoted-<token>` (the fraud model, made
/// by DataScientist and last updated by MLDeployer), `legacy-<token>` (the fraud model, no call
/// in CloudTrail), `reborn-<token>` (the fraud model; CloudTrail shows only MLDeployer's call
/// that made an earlier endpoint of that name, an hour before this one was made), `kept-<token>`
/// (the fraud model, made by MLDeployer; DataScientist's newer UpdateEndpoint to the research
/// config was accepted and rolled back, so the endpoint still serves MLDeployer's), `train-<token>` (a job under the Prod role, by DataScientist) and
/// `train-ok-<token>` (the same, by MLDeployer).
pub async fn scan_world(regional: &SdkConfig, region: &str, token: &str) {
    let kit = SageMakerKit::new(regional);
    let fraud = format!("fraud-v3-{token}");
    let research = format!("research-{token}");
    kit.model(&fraud, "Exec").await;
    kit.model(&research, "Exec").await;
    let fraud_config = format!("fraud-cfg-{token}");
    let research_config = format!("research-cfg-{token}");
    kit.endpoint_config(&fraud_config, &[&fraud]).await;
    kit.endpoint_config(&research_config, &[&research]).await;
    let endpoint = |name: &str| format!("{name}-{token}");
    for (name, config) in [
        ("bad", &fraud_config),
        ("ok", &research_config),
        ("promoted", &fraud_config),
        ("legacy", &fraud_config),
        ("reborn", &fraud_config),
        ("kept", &fraud_config),
    ] {
        kit.endpoint(&endpoint(name), config).await;
    }
    kit.training_job(&format!("train-{token}"), "Prod").await;
    kit.training_job(&format!("train-ok-{token}"), "Prod").await;
    // Called after the resources were made, as real calls are: a config made in the second of
    // the call could be another one than the call used.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let now = chrono::Utc::now();
    let arn = |kind: &str, name: &str| {
        format!(
            "arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{}",
            name.to_lowercase()
        )
    };
    let create = |who: &str, name: &str, config: &str, at| {
        cloudtrail_record(
            "CreateEndpoint",
            who,
            region,
            at,
            serde_json::json!({"endpointName": endpoint(name), "endpointConfigName": config}),
            serde_json::json!({"endpointArn": arn("endpoint", &endpoint(name))}),
        )
    };
    let train = |who: &str, name: &str| {
        cloudtrail_record(
            "CreateTrainingJob",
            who,
            region,
            now,
            serde_json::json!({"trainingJobName": name, "roleArn": role_arn("Prod")}),
            serde_json::json!({"trainingJobArn": arn("training-job", name)}),
        )
    };
    let mut update = create("MLDeployer", "promoted", &fraud_config, now);
    update["eventName"] = serde_json::json!("UpdateEndpoint");
    let mut rolled_back = create("DataScientist", "kept", &research_config, now);
    rolled_back["eventName"] = serde_json::json!("UpdateEndpoint");
    register_records(&[
        create("DataScientist", "bad", &fraud_config, now),
        create("DataScientist", "ok", &research_config, now),
        create(
            "DataScientist",
            "promoted",
            &fraud_config,
            now - chrono::Duration::hours(1),
        ),
        update,
        // Deleted and re-made since, its own call not visible yet: not MLDeployer's.
        create(
            "MLDeployer",
            "reborn",
            &fraud_config,
            now - chrono::Duration::hours(1),
        ),
        create(
            "MLDeployer",
            "kept",
            &fraud_config,
            now - chrono::Duration::seconds(1),
        ),
        rolled_back,
        train("DataScientist", &format!("train-{token}")),
        train("MLDeployer", &format!("train-ok-{token}")),
    ])
    .await;
}

/// The scan tests' policy: fraud models and the Prod role are MLDeployer's; anything else
/// DataScientist may deploy too.
pub fn scan_policy() -> Value {
    serde_json::json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "graceSeconds": 600},
        {"pk": "role#arn:aws:iam::123456789012:role/Prod", "principals": [role_arn("MLDeployer")]},
        {"pk": "default", "principals": [role_arn("MLDeployer"), role_arn("DataScientist")]}
    ])
}

/// A stand-in for the enforcement machine: an execution runs (waits) until it is stopped, so a
/// test sees what was started and under which name.
pub async fn enforcement_machine(config: &SdkConfig) -> String {
    aws_sdk_sfn::Client::new(config)
        .create_state_machine()
        .name(unique("enforcement"))
        .role_arn(role_arn("states"))
        .definition(
            serde_json::json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": true}}})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

/// The names of a machine's executions.
pub async fn execution_names(config: &SdkConfig, machine: &str) -> Vec<String> {
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
