use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::checkpoint::DynamoCheckpoint;
use model_guard_aws::cloudtrail::CloudTrailHistory;
use model_guard_aws::ledger_store::DynamoLedger;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sfn::{EnforcementExecutions, TriageMachine};
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{
    diagnostic, env_number, env_var, init_logging, sdk_config, serve_init_error,
};
use model_guard_core::GuardError;
use serde_json::Value;
use sweep::{Ports, Reach, handle};

type SweepPorts = Ports<
    CloudTrailHistory,
    DynamoAuditLog,
    TriageMachine,
    DynamoCheckpoint,
    DynamoRecords,
    EnforcementExecutions,
    SnsNotifier,
    DynamoLedger,
>;

fn ports(config: &SdkConfig) -> Result<(SweepPorts, Reach), GuardError> {
    let decisions = env_var("DECISIONS_TABLE")?;
    // LookupEvents allows 2 requests a second: more patience than the default 3 attempts.
    let cloudtrail = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .retry_config(RetryConfig::standard().with_max_attempts(8))
            .build(),
    );
    let ports = Ports {
        history: CloudTrailHistory::new(
            cloudtrail,
            StdDuration::from_millis(env_number("LOOKUP_PACE_MS", 500)?),
        ),
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(config), &decisions),
        triage: TriageMachine::new(
            aws_sdk_sfn::Client::new(config),
            env_var("TRIAGE_STATE_MACHINE_ARN")?,
        ),
        checkpoint: DynamoCheckpoint::new(aws_sdk_dynamodb::Client::new(config), &decisions),
        ledger: DynamoLedger::new(aws_sdk_dynamodb::Client::new(config), decisions),
        records: DynamoRecords::new(
            aws_sdk_dynamodb::Client::new(config),
            env_var("RECORDS_TABLE")?,
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
    };
    let reach = Reach {
        overlap: minutes("SWEEP_OVERLAP_MINUTES", 20)?,
        first_lookback: minutes("SWEEP_FIRST_LOOKBACK_MINUTES", 60)?,
        undecided_retry: chrono::Duration::seconds(i64::from(env_number::<u32>(
            "UNDECIDED_RETRY_SECONDS",
            300,
        )?)),
    };
    Ok((ports, reach))
}

/// A setting in minutes, at most LookupEvents' 90 days.
fn minutes(name: &str, default: i64) -> Result<chrono::Duration, GuardError> {
    let value: i64 = env_number(name, default)?;
    if !(0..=90 * 24 * 60).contains(&value) {
        return Err(GuardError::new(
            model_guard_core::ErrorKind::Configuration,
            format!("{name}={value}: give 0 to 129600 minutes"),
        ));
    }
    Ok(chrono::Duration::minutes(value))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let (ports, reach) = match ports(&sdk_config().await) {
        Ok(p) => p,
        Err(error) => return serve_init_error(error).await,
    };
    let ports = &ports;
    // The scheduled event (or an enforcement execution's end, from the EnforcementEnded rule)
    // carries nothing the sweep needs: the window comes from the checkpoint.
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        handle(ports, reach, chrono::Utc::now())
            .await
            .map_err(diagnostic)
    }))
    .await
}
