use aws_config::SdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::kms::KmsTokenVault;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{diagnostic, env_var, init_logging, sdk_config, serve_init_error};
use model_guard_core::GuardError;
use notify::{Ports, handle};
use serde_json::Value;

fn ports(
    config: &SdkConfig,
) -> Result<Ports<SnsNotifier, DynamoAuditLog, KmsTokenVault>, GuardError> {
    Ok(Ports {
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(config),
            env_var("TOPIC_ARN")?,
            env_var("GUARD_TOPIC_ARN")?,
        ),
        audit: DynamoAuditLog::new(
            aws_sdk_dynamodb::Client::new(config),
            env_var("DECISIONS_TABLE")?,
        ),
        vault: KmsTokenVault::new(aws_sdk_kms::Client::new(config), env_var("TOKEN_KEY_ID")?),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let ports = match ports(&sdk_config().await) {
        Ok(ports) => ports,
        Err(error) => return serve_init_error(error).await,
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(event.payload, ports, chrono::Utc::now())
            .await
            .map_err(diagnostic)
    }))
    .await
}
