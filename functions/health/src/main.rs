use aws_config::SdkConfig;
use health::{Ports, handle};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::checkpoint::DynamoCheckpoint;
use model_guard_aws::guard_resources::AwsGuardResources;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{diagnostic, env_var, init_logging, sdk_config, serve_init_error};
use model_guard_core::health::HealthTargets;
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

type HealthPorts =
    Ports<AwsGuardResources, DynamoCheckpoint, DynamoAuditLog, SnsNotifier, DynamoGuardStore>;

fn setup(config: &SdkConfig) -> Result<(HealthTargets, HealthPorts), GuardError> {
    let targets = serde_json::from_str(&env_var("HEALTH_TARGETS")?)
        .map_err(|e| GuardError::new(ErrorKind::Configuration, format!("HEALTH_TARGETS: {e}")))?;
    let decisions = env_var("DECISIONS_TABLE")?;
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let ports = Ports {
        resources: AwsGuardResources::new(config),
        checkpoint: DynamoCheckpoint::new(dynamodb.clone(), &decisions),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(config),
            env_var("TOPIC_ARN")?,
            env_var("GUARD_TOPIC_ARN")?,
        ),
        memory: DynamoGuardStore::new(dynamodb, decisions),
    };
    Ok((targets, ports))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let (targets, ports) = match setup(&sdk_config().await) {
        Ok(setup) => setup,
        Err(error) => return serve_init_error(error).await,
    };
    let (targets, ports) = (&targets, &ports);
    // The scheduled event carries nothing the check needs.
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        handle(targets, ports, chrono::Utc::now())
            .await
            .map_err(diagnostic)
    }))
    .await
}
