use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::{diagnostic, env_var, init_logging, sdk_config, serve_init_error};
use record::{Ports, handle};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let table = match env_var("RECORDS_TABLE") {
        Ok(table) => table,
        Err(error) => return serve_init_error(error).await,
    };
    let ports = Ports {
        records: DynamoRecords::new(aws_sdk_dynamodb::Client::new(&config), table),
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(event.payload, ports).await.map_err(diagnostic)
    }))
    .await
}
