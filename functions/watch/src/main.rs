use aws_config::SdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{diagnostic, env_var, init_logging, sdk_config, serve_init_error};
use model_guard_core::GuardError;
use serde_json::Value;
use watch::{Ports, handle};

fn ports(config: &SdkConfig) -> Result<Ports<SnsNotifier, DynamoGuardStore>, GuardError> {
    Ok(Ports {
        // Its alerts go to the guard topic only.
        notifier: SnsNotifier::guard_only(
            aws_sdk_sns::Client::new(config),
            env_var("GUARD_TOPIC_ARN")?,
        ),
        log: DynamoGuardStore::new(
            aws_sdk_dynamodb::Client::new(config),
            env_var("DECISIONS_TABLE")?,
        ),
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
        handle(event.payload, ports).await.map_err(diagnostic)
    }))
    .await
}
