use std::sync::Arc;

use aws_config::SdkConfig;
use evaluate::{Ports, defaults_from_env, handle, record_wait_from_env};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::members::{MEMBER_ENFORCE_ROLE, Places, RoleSetting};
use model_guard_aws::policy_store::{DynamoPolicyStore, MAX_CACHE_SECONDS};
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::Resolvers;
use model_guard_aws::{
    diagnostic, env_number, env_var, init_logging, sdk_config, serve_init_error,
};
use model_guard_core::GuardError;
use serde_json::Value;

type LivePorts = Ports<Resolvers, DynamoPolicyStore, DynamoAuditLog, IamRoles, DynamoRecords>;

fn ports(config: &SdkConfig) -> Result<LivePorts, GuardError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    // The guard's own account and region, and the member role everywhere else.
    let places = Arc::new(Places::from_env(config.clone(), RoleSetting::Read)?);
    Ok(Ports {
        resolvers: Resolvers::new(places.clone()),
        policies: DynamoPolicyStore::new(
            dynamodb.clone(),
            env_var("POLICY_TABLE")?,
            env_number("POLICY_CACHE_SECONDS", MAX_CACHE_SECONDS)?,
        ),
        audit: DynamoAuditLog::new(dynamodb.clone(), env_var("DECISIONS_TABLE")?),
        roles: IamRoles::with_members(aws_sdk_iam::Client::new(config), places),
        records: DynamoRecords::new(dynamodb, env_var("RECORDS_TABLE")?),
        record_wait: record_wait_from_env()?,
        defaults: defaults_from_env()?,
        enforcer_role: env_var("ENFORCE_ROLE_ARN")?,
        member_enforcer_role: env_var("MEMBER_ENFORCE_ROLE_NAME")
            .unwrap_or_else(|_| MEMBER_ENFORCE_ROLE.to_owned()),
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
