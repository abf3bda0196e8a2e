use approve::{Ports, handle};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::sfn::StepFunctionsTasks;
use model_guard_aws::{env_var, init_logging, sdk_config, serve_init_error};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let table = match env_var("DECISIONS_TABLE") {
        Ok(table) => table,
        Err(error) => return serve_init_error(error).await,
    };
    let ports = Ports {
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&config), table),
        tasks: StepFunctionsTasks::new(aws_sdk_sfn::Client::new(&config)),
        roles: IamRoles::new(aws_sdk_iam::Client::new(&config)),
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, std::convert::Infallible>(
            handle(event.payload, ports, chrono::Utc::now())
                .await
                .into_response(),
        )
    }))
    .await
}
