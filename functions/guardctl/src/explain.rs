//! `guardctl explain`: the verdict Model Guard gives an event, from files, or (`--live`) with the
//! policy from the table and the subjects resolved through SageMaker, as Evaluate does (with the
//! defaults given here, which should be the stack's).

use std::path::{Path, PathBuf};

use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::SageMakerResolver;
use model_guard_core::{
    Catalog, CatalogResolver, Defaults, Lookups, Mode, PolicySet, Verdict, parse_event_slice,
};

use crate::aws::Aws;
use crate::failure::Failure;

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The EventBridge event ("AWS API Call via CloudTrail"), as JSON.
    #[arg(long, value_name = "EVENT.json")]
    event: PathBuf,
    /// The policy: a JSON array of policy items. With --live, the policy table instead.
    #[arg(long, value_name = "POLICY.json", required_unless_present = "live")]
    policy: Option<PathBuf>,
    /// What SageMaker and the records table would answer about endpoint configs, models,
    /// inference components and deployed resources (tests/events/example/catalog.json shows the
    /// shape). Without it nothing resolves, and a request that needs resolving fails closed.
    #[arg(long, value_name = "CATALOG.json", conflicts_with = "live")]
    catalog: Option<PathBuf>,
    /// Resolve subjects through SageMaker and the records table and read the policy table
    /// (unless --policy is given), with the configured AWS credentials; read-only.
    #[arg(long)]
    live: bool,
    /// Grace period, in seconds, for bindings that set none.
    #[arg(long, value_name = "SECONDS", default_value_t = Defaults::GRACE_SECONDS)]
    default_grace: u32,
    /// Approver pattern for bindings that name none (repeatable).
    #[arg(long = "default-approver", value_name = "PATTERN")]
    default_approvers: Vec<String>,
    /// What a subject that cannot be resolved costs (the stack's modelGuard:unresolvedAction).
    #[arg(long, value_name = "MODE", default_value = "enforce",
          value_parser = clap::builder::PossibleValuesParser::new(Mode::NAMES))]
    unresolved_action: String,
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::bad_input(
            format!("{}: cannot read: {e}", path.display()),
            "check the path and that you may read the file",
        )
    })
}

/// A file that is not what its flag takes.
fn bad(path: &Path, what: impl std::fmt::Display, hint: &str) -> Failure {
    Failure::bad_input(format!("{}: {what}", path.display()), hint)
}

const POLICY_FILE: &str = "fix the item and field named; a policy file is a JSON array of policy \
     items as `guardctl policy export` writes them (docs/cookbook/ has ten)";
const EVENT_FILE: &str = "give the EventBridge event as delivered (\"AWS API Call via \
     CloudTrail\", with its detail); tests/events/ has examples";
const CATALOG_FILE: &str = "fix the catalog as the message says; \
     tests/events/example/catalog.json shows its form";

/// The policy from a POLICY.json file, or else from the policy table (validated as the Lambdas
/// validate it): what `explain` and `scan` judge against.
pub async fn load_policy(aws: &mut Aws, file: Option<&Path>) -> Result<PolicySet, Failure> {
    match file {
        Some(path) => {
            let value: serde_json::Value = serde_json::from_slice(&read(path)?)
                .map_err(|e| bad(path, format!("not JSON: {e}"), POLICY_FILE))?;
            PolicySet::from_json(&value).map_err(|e| bad(path, e, POLICY_FILE))
        }
        None => {
            let table = aws.policy_table().await?;
            DynamoPolicyStore::new(aws.dynamodb().await, &table, 0)
                .load()
                .await
                .map_err(Failure::guard)
        }
    }
}

pub async fn run(aws: &mut Aws, args: &ExplainArgs) -> Result<String, Failure> {
    let event = read(&args.event)?;
    let outcome = parse_event_slice(&event).map_err(|e| bad(&args.event, e, EVENT_FILE))?;
    let defaults = crate::defaults(args.default_grace, &args.default_approvers)?
        .with_unresolved_mode(Mode::from_name(&args.unresolved_action).unwrap_or_default());

    let policy = load_policy(aws, args.policy.as_deref()).await?;

    let verdict: Verdict = if args.live {
        let resolver = SageMakerResolver::new(aws_sdk_sagemaker::Client::new(aws.config().await));
        let records = DynamoRecords::new(aws.dynamodb().await, aws.records_table().await?);
        // After the fact: what the records cannot settle now, they never will.
        let lookups = Lookups {
            resolver: &resolver,
            records: &records,
            now: chrono::Utc::now(),
            wait_until: chrono::DateTime::UNIX_EPOCH,
            needs: policy.content_needs(),
        };
        model_guard_core::explain(outcome, &lookups, &policy, &defaults)
            .await
            .map_err(Failure::guard)?
    } else {
        let resolver = match &args.catalog {
            Some(path) => {
                let bytes = read(path)?;
                let catalog = read_catalog(&bytes).map_err(|e| bad(path, e, CATALOG_FILE))?;
                CatalogResolver::try_new(catalog)
                    .map_err(|e| bad(path, format!("not a catalog: {e}"), CATALOG_FILE))?
            }
            None => CatalogResolver::nothing("no catalog given"),
        };
        // The catalog answers every describe, so the only error is one a catalog never gives.
        model_guard_core::explain(outcome, &resolver.lookups(), &policy, &defaults)
            .await
            .map_err(|e| {
                Failure::bad_input(
                    e.to_string(),
                    "give a --catalog with what the event names, or ask SageMaker with --live",
                )
            })?
    };
    serde_json::to_string_pretty(&verdict).map_err(Failure::cannot_print)
}

/// Reads a catalog, telling "not JSON" from "JSON of the wrong shape".
fn read_catalog(bytes: &[u8]) -> Result<Catalog, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    Catalog::from_json(&value).map_err(|e| format!("not a catalog: {e}"))
}
