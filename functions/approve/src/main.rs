use approve::{Ports, handle};
use aws_config::SdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::kms::KmsTokenVault;
use model_guard_aws::sfn::StepFunctionsTasks;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::sts_proof::{StsCallerVerifier, sts_endpoint};
use model_guard_aws::{env_var, init_logging, sdk_config, serve_init_error};
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

type ApprovePorts = Ports<
    DynamoAuditLog,
    StepFunctionsTasks,
    IamRoles,
    StsCallerVerifier,
    KmsTokenVault,
    SnsNotifier,
>;

async fn ports(config: &SdkConfig) -> Result<ApprovePorts, GuardError> {
    // STS in this function's own region, at the endpoint STS's rules give (or the configured
    // override): never a host from a request.
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| GuardError::new(ErrorKind::Configuration, "no AWS region"))?;
    let endpoint = sts_endpoint(&region, config.endpoint_url()).await?;
    Ok(Ports {
        audit: DynamoAuditLog::new(
            aws_sdk_dynamodb::Client::new(config),
            env_var("DECISIONS_TABLE")?,
        ),
        tasks: StepFunctionsTasks::new(aws_sdk_sfn::Client::new(config)),
        roles: IamRoles::new(aws_sdk_iam::Client::new(config)),
        sts: StsCallerVerifier::new(region, endpoint)?,
        vault: KmsTokenVault::new(aws_sdk_kms::Client::new(config), env_var("TOKEN_KEY_ID")?),
        notifier: SnsNotifier::guard_only(
            aws_sdk_sns::Client::new(config),
            env_var("GUARD_TOPIC_ARN")?,
        ),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let ports = match ports(&sdk_config().await).await {
        Ok(ports) => ports,
        Err(error) => return serve_init_error(error).await,
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The account is the one in this function's own ARN.
        let own_account = event
            .context
            .invoked_function_arn
            .split(':')
            .nth(4)
            .map(str::to_owned);
        Ok::<_, std::convert::Infallible>(
            handle(
                event.payload,
                ports,
                own_account.as_deref(),
                chrono::Utc::now(),
            )
            .await
            .into_response(),
        )
    }))
    .await
}
