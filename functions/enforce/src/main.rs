use std::sync::Arc;

use aws_config::SdkConfig;
use enforce::{Ports, handle};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::members::{Places, RoleSetting};
use model_guard_aws::sagemaker::Enforcers;
use model_guard_aws::{diagnostic, env_var, init_logging, sdk_config, serve_init_error};
use model_guard_core::GuardError;
use serde_json::Value;

fn ports(config: &SdkConfig) -> Result<Ports<DynamoAuditLog, Enforcers>, GuardError> {
    Ok(Ports {
        audit: DynamoAuditLog::new(
            aws_sdk_dynamodb::Client::new(config),
            env_var("DECISIONS_TABLE")?,
        ),
        // In a member account, through the member role only this function may assume.
        enforcers: Enforcers::new(Arc::new(Places::from_env(
            config.clone(),
            RoleSetting::Enforce,
        )?)),
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
