use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::cloudtrail::CloudTrailHistory;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::policy_store::{DynamoPolicyStore, MAX_CACHE_SECONDS};
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::SageMakerResolver;
use model_guard_aws::sfn::EnforcementExecutions;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{
    diagnostic, env_number, env_var, init_logging, sdk_config, serve_init_error,
};
use model_guard_core::GuardError;
use scan::{Ports, handle};
use serde_json::Value;

type LivePorts = Ports<
    SageMakerResolver,
    CloudTrailHistory,
    DynamoRecords,
    IamRoles,
    DynamoAuditLog,
    DynamoPolicyStore,
    EnforcementExecutions,
    SnsNotifier,
    DynamoGuardStore,
>;

fn ports(config: &SdkConfig) -> Result<LivePorts, GuardError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let decisions = env_var("DECISIONS_TABLE")?;
    // SageMaker's List and Describe calls are rate-limited per account: the SDK's adaptive
    // retry paces the scan when it is throttled.
    let sagemaker = aws_sdk_sagemaker::Client::from_conf(
        aws_sdk_sagemaker::config::Builder::from(config)
            .retry_config(RetryConfig::adaptive().with_max_attempts(10))
            .build(),
    );
    // LookupEvents allows 2 requests a second.
    let cloudtrail = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .retry_config(RetryConfig::standard().with_max_attempts(8))
            .build(),
    );
    Ok(Ports {
        sagemaker: SageMakerResolver::remembering(sagemaker),
        history: CloudTrailHistory::new(
            cloudtrail,
            StdDuration::from_millis(env_number("LOOKUP_PACE_MS", 500)?),
        ),
        records: DynamoRecords::new(dynamodb.clone(), env_var("RECORDS_TABLE")?),
        roles: IamRoles::new(aws_sdk_iam::Client::new(config)),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        policies: DynamoPolicyStore::new(
            dynamodb.clone(),
            env_var("POLICY_TABLE")?,
            env_number("POLICY_CACHE_SECONDS", MAX_CACHE_SECONDS)?,
        ),
        enforcements: EnforcementExecutions::new(
            aws_sdk_sfn::Client::new(config),
            env_var("ENFORCEMENT_STATE_MACHINE_ARN")?,
        ),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(config),
            env_var("TOPIC_ARN")?,
            env_var("GUARD_TOPIC_ARN")?,
        ),
        memory: DynamoGuardStore::new(dynamodb, decisions),
        defaults: evaluate::defaults_from_env()?,
        enforcer_role: std::env::var("ENFORCE_ROLE_ARN")
            .ok()
            .filter(|v| !v.is_empty()),
    })
}

/// Judging stops this long before the invocation's deadline, to answer with what was found.
const MARGIN_SECONDS: i64 = 30;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    if let Err(error) = ports(&config) {
        return serve_init_error(error).await;
    }
    let config = &config;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = chrono::DateTime::from_timestamp_millis(
            i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
        )
        .map(|d| d - chrono::Duration::seconds(MARGIN_SECONDS));
        // Fresh ports for each scan (the clients are cheap handles on the shared config): what one
        // scan remembered of models and configs, and the policy it read, are not the next one's.
        let ports = ports(config).map_err(diagnostic)?;
        handle(event.payload, &ports, chrono::Utc::now(), deadline)
            .await
            .map_err(diagnostic)
    }))
    .await
}
