use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{diagnostic, env_var, init_failed, init_logging, sdk_config};
use notify::{Ports, handle};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let ports = Ports {
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            env_var("TOPIC_ARN").map_err(init_failed)?,
        ),
        audit: DynamoAuditLog::new(
            aws_sdk_dynamodb::Client::new(&config),
            env_var("DECISIONS_TABLE").map_err(init_failed)?,
        ),
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(event.payload, ports, chrono::Utc::now())
            .await
            .map_err(diagnostic)
    }))
    .await
}
