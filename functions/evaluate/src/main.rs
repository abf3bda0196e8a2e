use evaluate::{Ports, defaults_from_env, handle};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::policy_store::{DynamoPolicyStore, MAX_CACHE_SECONDS};
use model_guard_aws::sagemaker::SageMakerResolver;
use model_guard_aws::{diagnostic, env_var, init_failed, init_logging, sdk_config};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let cache_seconds = std::env::var("POLICY_CACHE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MAX_CACHE_SECONDS);
    let ports = Ports {
        resolver: SageMakerResolver::new(aws_sdk_sagemaker::Client::new(&config)),
        policies: DynamoPolicyStore::new(
            dynamodb.clone(),
            env_var("POLICY_TABLE").map_err(init_failed)?,
            cache_seconds,
        ),
        audit: DynamoAuditLog::new(dynamodb, env_var("DECISIONS_TABLE").map_err(init_failed)?),
        defaults: defaults_from_env().map_err(init_failed)?,
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(event.payload, ports, chrono::Utc::now())
            .await
            .map_err(diagnostic)
    }))
    .await
}
