use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::sagemaker::SageMakerEnforcer;
use model_guard_aws::{diagnostic, init_logging, sdk_config};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let enforcer = SageMakerEnforcer::new(
        aws_sdk_sagemaker::Client::new(&config),
        aws_sdk_applicationautoscaling::Client::new(&config),
    );
    let enforcer = &enforcer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        enforce::handle(event.payload, enforcer)
            .await
            .map_err(diagnostic)
    }))
    .await
}
