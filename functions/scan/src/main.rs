use std::sync::Arc;
use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::cloudtrail::Histories;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::members::{MEMBER_ENFORCE_ROLE, Places, RoleSetting};
use model_guard_aws::organizations::Organization;
use model_guard_aws::policy_store::{DynamoPolicyStore, MAX_CACHE_SECONDS};
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::{Inventories, SCAN_ATTEMPTS};
use model_guard_aws::sfn::EnforcementExecutions;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::{
    diagnostic, env_number, env_var, init_logging, sdk_config, serve_init_error,
};
use model_guard_core::GuardError;
use model_guard_core::organization::Guarded;
use scan::{Ports, handle};
use serde_json::Value;

type LivePorts = Ports<
    Inventories,
    Histories,
    DynamoRecords,
    IamRoles,
    DynamoAuditLog,
    DynamoPolicyStore,
    EnforcementExecutions,
    SnsNotifier,
    DynamoGuardStore,
    Organization,
>;

/// What the container keeps between scans: the places (the guard's own account and region with
/// its own role, the member role everywhere else, its credentials cached), and what the guard
/// answers for.
struct Setup {
    places: Arc<Places>,
    guarded: Guarded,
    regions: Vec<String>,
}

fn setup(config: &SdkConfig) -> Result<Setup, GuardError> {
    let places = Places::from_env(config.clone(), RoleSetting::Read)?;
    let (guarded, regions) = places.guarded_from_env()?;
    Ok(Setup {
        places: Arc::new(places),
        guarded,
        regions,
    })
}

fn ports(config: &SdkConfig, setup: &Setup) -> Result<LivePorts, GuardError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let decisions = env_var("DECISIONS_TABLE")?;
    let places = &setup.places;
    Ok(Ports {
        // SageMaker's calls are tried `SAGEMAKER_MAX_ATTEMPTS` times (a family that keeps failing
        // costs the scan that many backoffs before it is reported).
        sagemaker: Inventories::new(
            places.clone(),
            env_number("SAGEMAKER_MAX_ATTEMPTS", SCAN_ATTEMPTS)?,
        ),
        // LookupEvents allows 2 requests a second in each place.
        history: Histories::new(
            places.clone(),
            StdDuration::from_millis(env_number("LOOKUP_PACE_MS", 500)?),
        ),
        records: DynamoRecords::new(dynamodb.clone(), env_var("RECORDS_TABLE")?),
        roles: IamRoles::with_members(aws_sdk_iam::Client::new(config), places.clone()),
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
        member_enforcer_role: env_var("MEMBER_ENFORCE_ROLE_NAME")
            .unwrap_or_else(|_| MEMBER_ENFORCE_ROLE.to_owned()),
        organization: Organization::new(aws_sdk_organizations::Client::new(config)),
        guarded: setup.guarded.clone(),
        regions: setup.regions.clone(),
    })
}

/// Judging stops this long before the invocation's deadline, to answer with what was found.
const MARGIN_SECONDS: i64 = 30;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let setup = match setup(&config) {
        Ok(setup) => setup,
        Err(error) => return serve_init_error(error).await,
    };
    if let Err(error) = ports(&config, &setup) {
        return serve_init_error(error).await;
    }
    let (config, setup) = (&config, &setup);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now();
        // A deadline already past as the invocation begins is no deadline (`cargo lambda watch`
        // sends its timeout, not a time): the function's own timeout still ends it.
        let deadline = chrono::DateTime::from_timestamp_millis(
            i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
        )
        .filter(|deadline| *deadline > now)
        .map(|d| d - chrono::Duration::seconds(MARGIN_SECONDS));
        // Fresh ports for each scan (the clients are cheap handles on the shared config): what one
        // scan remembered of models and configs, and the policy it read, are not the next one's.
        let ports = ports(config, setup).map_err(diagnostic)?;
        handle(event.payload, &ports, now, deadline)
            .await
            .map_err(diagnostic)
    }))
    .await
}
