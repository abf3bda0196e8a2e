use std::sync::Arc;
use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::checkpoint::DynamoCheckpoint;
use model_guard_aws::cloudtrail::Histories;
use model_guard_aws::ledger_store::DynamoLedger;
use model_guard_aws::members::{Places, RoleSetting};
use model_guard_aws::organizations::Organization;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sfn::{EnforcementExecutions, TriageMachine};
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{
    diagnostic, env_number, env_var, init_logging, sdk_config, serve_init_error,
};
use model_guard_core::GuardError;
use serde_json::Value;
use sweep::{Ports, Settings, handle};

type SweepPorts = Ports<
    Histories,
    DynamoAuditLog,
    TriageMachine,
    DynamoCheckpoint,
    DynamoRecords,
    EnforcementExecutions,
    SnsNotifier,
    DynamoLedger,
    Organization,
>;

fn ports(config: &SdkConfig) -> Result<(SweepPorts, Settings), GuardError> {
    let decisions = env_var("DECISIONS_TABLE")?;
    let places = Places::from_env(config.clone(), RoleSetting::Read)?;
    let (guarded, regions) = places.guarded_from_env()?;
    let ports = Ports {
        history: Histories::new(
            Arc::new(places),
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
        organization: Organization::new(aws_sdk_organizations::Client::new(config)),
    };
    let settings = Settings {
        guarded,
        regions,
        overlap: minutes("SWEEP_OVERLAP_MINUTES", 20)?,
        first_lookback: minutes("SWEEP_FIRST_LOOKBACK_MINUTES", 60)?,
        undecided_retry: chrono::Duration::seconds(i64::from(env_number::<u32>(
            "UNDECIDED_RETRY_SECONDS",
            300,
        )?)),
    };
    Ok((ports, settings))
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

/// Paging stops this long before the function's deadline, so the step ends with its own error.
const DEADLINE_MARGIN_SECONDS: i64 = 20;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let (ports, settings) = match ports(&sdk_config().await) {
        Ok(p) => p,
        Err(error) => return serve_init_error(error).await,
    };
    let (ports, settings) = (&ports, &settings);
    // A step of the sweep machine, or an enforcement's end (the EnforcementEnded rule): the chores.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now();
        // A deadline already past as the invocation begins is no deadline (`cargo lambda watch`
        // sends its timeout, not a time): the function's own timeout still ends it.
        let until = chrono::DateTime::from_timestamp_millis(
            i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
        )
        .filter(|deadline| *deadline > now)
        .map(|d| d - chrono::Duration::seconds(DEADLINE_MARGIN_SECONDS));
        handle(&event.payload, ports, settings, now, until)
            .await
            .map_err(diagnostic)
    }))
    .await
}
