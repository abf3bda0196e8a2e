//! `guardctl`: Model Guard's command-line tool for operators.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use model_guard_core::{Catalog, CatalogResolver, Defaults, PolicySet, parse_event_slice};

/// Model Guard's command-line tool.
///
/// Exit codes: 0 success; 2 bad input (a file missing, not JSON, or of the wrong shape; a policy
/// that fails validation; bad arguments).
#[derive(Parser)]
#[command(name = "guardctl", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the verdict (JSON, contract version 1) that Model Guard gives a CloudTrail event.
    Explain(ExplainArgs),
}

#[derive(clap::Args)]
struct ExplainArgs {
    /// The EventBridge event ("AWS API Call via CloudTrail"), as JSON.
    #[arg(long, value_name = "EVENT.json")]
    event: PathBuf,
    /// The policy: a JSON array of policy items.
    #[arg(long, value_name = "POLICY.json")]
    policy: PathBuf,
    /// What SageMaker would answer about endpoint configs, models and inference components.
    /// Without it nothing resolves, and a request that needs resolving fails closed.
    #[arg(long, value_name = "CATALOG.json")]
    catalog: Option<PathBuf>,
    /// Grace period, in seconds, for bindings that set none.
    #[arg(long, value_name = "SECONDS", default_value_t = Defaults::GRACE_SECONDS)]
    default_grace: u32,
    /// Approver pattern for bindings that name none (repeatable).
    #[arg(long = "default-approver", value_name = "PATTERN")]
    default_approvers: Vec<String>,
}

/// A failure to report: one line on stderr, exit code 2.
struct BadInput(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain(&args),
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(BadInput(message)) => {
            eprintln!("guardctl: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, BadInput> {
    std::fs::read(path).map_err(|e| BadInput(format!("{}: cannot read: {e}", path.display())))
}

fn explain(args: &ExplainArgs) -> Result<String, BadInput> {
    let bad = |path: &Path, what: String| BadInput(format!("{}: {what}", path.display()));

    let event = read(&args.event)?;
    let outcome = parse_event_slice(&event).map_err(|e| bad(&args.event, e.to_string()))?;

    let policy: serde_json::Value = serde_json::from_slice(&read(&args.policy)?)
        .map_err(|e| bad(&args.policy, format!("not JSON: {e}")))?;
    let policy = PolicySet::from_json(&policy).map_err(|e| bad(&args.policy, e.to_string()))?;

    let resolver = match &args.catalog {
        Some(path) => {
            let bytes = read(path)?;
            let catalog: Catalog = read_catalog(&bytes).map_err(|e| bad(path, e))?;
            CatalogResolver::new(catalog)
        }
        None => CatalogResolver::nothing("no catalog given"),
    };
    let defaults = Defaults::new(args.default_grace, &args.default_approvers).map_err(BadInput)?;

    // The catalog answers every describe, so the only error is one a catalog never gives.
    let verdict = pollster::block_on(model_guard_core::explain(
        outcome, &resolver, &policy, &defaults,
    ))
    .map_err(|e| BadInput(e.to_string()))?;
    serde_json::to_string_pretty(&verdict)
        .map_err(|e| BadInput(format!("cannot print the verdict: {e}")))
}

/// Reads a catalog, telling "not JSON" from "JSON of the wrong shape".
fn read_catalog(bytes: &[u8]) -> Result<Catalog, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    Catalog::from_json(&value).map_err(|e| format!("not a catalog: {e}"))
}
