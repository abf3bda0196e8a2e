//! `guardctl scan`: what exists now and violates the policy, judged with the operator's
//! credentials (read-only); `--enforce` asks the guard's scan function, which judges by itself
//! and starts the enforcement of each violation (docs/design.md, "The scan").

use std::path::PathBuf;
use std::time::Duration;

use aws_config::Region;
use aws_config::retry::RetryConfig;
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::cloudtrail::CloudTrailHistory;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::SageMakerResolver;
use model_guard_core::contract::ResourceType;
use model_guard_core::scan::{
    Finding, Outcome, Progress, Report, ScanMode, ScanPorts, ScanRequest, ScanResponse, run,
    scanned_types,
};
use model_guard_core::{Defaults, Mode};

use crate::aws::Aws;
use crate::failure::Failure;
use crate::table::{Table, Tone, bold, paint};

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Only these resource types (repeatable, or comma-separated): endpoint, training-job, …
    #[arg(long = "resource-type", value_name = "TYPE", value_delimiter = ',')]
    resource_types: Vec<String>,
    /// The region to scan (default: the SDK's).
    #[arg(long)]
    region: Option<String>,
    /// Judge against this policy (a JSON array of items) instead of the policy table: what a
    /// policy change would find.
    #[arg(long, value_name = "POLICY.json", conflicts_with = "enforce")]
    policy: Option<PathBuf>,
    /// Ask the guard's scan function to record each violation and start its enforcement, with
    /// grace, approvals and alerts as for any violation (a second scan starts nothing new).
    #[arg(long)]
    enforce: bool,
    /// With --enforce, for a guard of an organization: the member account and region the scan
    /// function scans, `ACCOUNT/REGION` (default: the guard's own account and region).
    #[arg(long, value_name = "ACCOUNT/REGION", requires = "enforce")]
    place: Option<String>,
    /// Grace period, in seconds, for bindings that set none (the report's verdicts).
    #[arg(long, value_name = "SECONDS", default_value_t = Defaults::GRACE_SECONDS)]
    default_grace: u32,
    /// Pause between CloudTrail lookups, in milliseconds (LookupEvents allows 2 a second).
    #[arg(long, value_name = "MS", default_value_t = 500, hide = true)]
    lookup_pace_ms: u64,
}

/// The scan's output, and its exit code: 0, or 130 when interrupted (what was found is printed).
pub async fn scan(
    aws: &mut Aws,
    args: &ScanArgs,
    json: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, u8), Failure> {
    let types = parse_types(&args.resource_types)?;
    if args.enforce {
        return enforce(aws, args, types, json).await.map(|t| (t, 0));
    }
    let config = aws.config().await.clone();
    let region = args.region.clone().map(Region::new);
    // The SDK's adaptive retry paces requests when SageMaker throttles, beside its retries.
    let sagemaker = aws_sdk_sagemaker::Client::from_conf(
        aws_sdk_sagemaker::config::Builder::from(&config)
            .region(region.clone().or_else(|| config.region().cloned()))
            .retry_config(RetryConfig::adaptive().with_max_attempts(10))
            .build(),
    );
    let cloudtrail = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(&config)
            .region(region.or_else(|| config.region().cloned()))
            .retry_config(RetryConfig::standard().with_max_attempts(8))
            .build(),
    );
    let policy = crate::explain::load_policy(aws, args.policy.as_deref()).await?;
    let defaults = crate::defaults(args.default_grace, &[])?.with_unresolved_mode(Mode::Enforce);
    let resolver = SageMakerResolver::remembering(sagemaker);
    let history = CloudTrailHistory::new(cloudtrail, Duration::from_millis(args.lookup_pace_ms));
    let records = DynamoRecords::new(aws.dynamodb().await, aws.records_table().await?);
    let audit = DynamoAuditLog::new(aws.dynamodb().await, aws.decisions_table().await?);
    let roles = IamRoles::new(aws_sdk_iam::Client::new(&config));
    let ports = ScanPorts {
        inventory: &resolver,
        history: &history,
        resolver: &resolver,
        records: &records,
        roles: &roles,
        audit: &audit,
        // Read-only: a rollback is told by its role's default name (the stack's `EnforceRole`).
        enforcer_role: None,
        // Wherever the operator's credentials are.
        place: None,
    };
    let mut report = Report::new(now);
    let mut progress = |p: Progress| match p {
        Progress::Listed {
            resource_type,
            count,
        } => eprintln!("guardctl: listed {count} {resource_type}(s)"),
        Progress::LookedUp {
            event_name,
            records,
        } => eprintln!("guardctl: CloudTrail: {records} {event_name} call(s) in 90 days"),
        Progress::Judged { done, of } if done % 100 == 0 || done == of => {
            eprintln!("guardctl: judged {done} of {of}");
        }
        Progress::Judged { .. } => {}
    };
    let interrupted = tokio::select! {
        () = run(&ports, &types, &policy, &defaults, now, None, &mut report, &mut progress) => false,
        _ = tokio::signal::ctrl_c() => true,
    };
    if interrupted {
        report.complete = false;
        report.problems.push(model_guard_core::scan::Problem {
            what: format!("the scan ({} judged)", report.findings.len()),
            error: "interrupted".to_owned(),
        });
        report.sort();
    }
    let text = if json {
        serde_json::to_string_pretty(&report).map_err(Failure::cannot_print)?
    } else {
        render(&report)
    };
    Ok((text, if interrupted { 130 } else { 0 }))
}

fn parse_types(given: &[String]) -> Result<Vec<ResourceType>, Failure> {
    let named: Vec<ResourceType> = given
        .iter()
        .map(|t| {
            serde_json::from_value(serde_json::Value::String(t.trim().to_owned())).map_err(|_| {
                Failure::bad_input(
                    format!("--resource-type {t:?}: no such resource type"),
                    scanned_types_hint(),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let types = (!named.is_empty()).then_some(named.as_slice());
    scanned_types(types).map_err(|e| Failure::bad_input(e.message, scanned_types_hint()))
}

fn scanned_types_hint() -> String {
    let names: Vec<&str> = model_guard_core::scan::SCANNED
        .iter()
        .map(|t| t.as_str())
        .collect();
    format!("give one or more of: {}", names.join(", "))
}

/// `--enforce`: the scan function does the work with the guard's own role and policy.
async fn enforce(
    aws: &mut Aws,
    args: &ScanArgs,
    types: Vec<ResourceType>,
    json: bool,
) -> Result<String, Failure> {
    let function = aws.scan_function().await?;
    let config = aws.config().await.clone();
    let client = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .region(
                args.region
                    .clone()
                    .map(Region::new)
                    .or_else(|| config.region().cloned()),
            )
            // A scan of a large account takes minutes.
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(900))
                    .read_timeout(Duration::from_secs(900))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build(),
    );
    let place = match args.place.as_deref() {
        None => None,
        Some(text) => Some(parse_place(text)?),
    };
    let request = ScanRequest {
        mode: ScanMode::Enforce,
        types: (types.len() < model_guard_core::scan::SCANNED.len()).then_some(types),
        place,
    };
    let payload = serde_json::to_vec(&request).map_err(Failure::cannot_print)?;
    eprintln!("guardctl: asking {function} to scan and enforce (this takes a while)");
    let out = client
        .invoke()
        .function_name(&function)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            // Its concurrency is reserved and bounded: the drift scan's places, or other
            // operators' scans, may be using all of it.
            if e.as_service_error()
                .is_some_and(|s| s.is_too_many_requests_exception())
            {
                return Failure::aws(
                    format!(
                        "{function} is busy: it runs a few scans at a time, and the drift scan or \
                         other operators' scans are running"
                    ),
                    "try again in a few minutes",
                );
            }
            crate::failure::sdk(&format!("Invoke {function}"), &e)
        })?;
    let body = out
        .payload()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    if let Some(error) = out.function_error() {
        return Err(Failure::aws(
            format!(
                "the scan function failed ({error}): {}",
                String::from_utf8_lossy(&body)
            ),
            format!(
                "its log says why; `aws lambda get-function-configuration --function-name \
                 {function} --query LoggingConfig.LogGroup` names its log group"
            ),
        ));
    }
    let response: ScanResponse = serde_json::from_slice(&body).map_err(|e| {
        Failure::aws(
            format!("the scan function answered what is not a scan response: {e}"),
            "guardctl and the stack are of different versions: update guardctl or redeploy the \
             stack",
        )
    })?;
    if json {
        return serde_json::to_string_pretty(&response).map_err(Failure::cannot_print);
    }
    let mut text = render(&response.report);
    text.push_str(&format!(
        "\n\nEnforcement: {} started now, {} started or alerted by an earlier scan, {} left alone",
        response.started.len(),
        response.known.len(),
        response.skipped.len()
    ));
    for key in &response.started {
        text.push_str(&format!(
            "\n  started {key}  (guardctl pending; guardctl approve {key} --reason …)"
        ));
    }
    for why in &response.skipped {
        text.push_str(&format!("\n  left alone: {why}"));
    }
    Ok(text)
}

/// The table, grouped by outcome (violations first), and a summary.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut outcome: Option<Outcome> = None;
    let mut table: Option<Table> = None;
    let flush = |out: &mut String, table: &mut Option<Table>| {
        if let Some(t) = table.take() {
            out.push_str(&t.render());
            out.push_str("\n\n");
        }
    };
    for finding in &report.findings {
        if outcome != Some(finding.outcome) {
            flush(&mut out, &mut table);
            outcome = Some(finding.outcome);
            let count = report.counts.get(&finding.outcome).copied().unwrap_or(0);
            let heading = format!("{} ({count})", finding.outcome.as_str().to_uppercase());
            out.push_str(&paint(Tone::of(&heading), &bold(&heading)));
            out.push('\n');
            table = Some(Table::new(&[
                "TYPE", "NAME", "STATUS", "WHO", "CALL", "WHY", "KEY",
            ]));
        }
        if let Some(t) = table.as_mut() {
            t.row(row(finding));
        }
    }
    flush(&mut out, &mut table);
    let counts: Vec<String> = report
        .counts
        .iter()
        .map(|(o, n)| format!("{n} {}", o.as_str()))
        .collect();
    out.push_str(&format!(
        "Scanned {} resource(s) at {}: {}.",
        report.listed,
        model_guard_core::sweep::time_text(report.scanned_at),
        if counts.is_empty() {
            "nothing found".to_owned()
        } else {
            counts.join(", ")
        }
    ));
    if report.complete {
        out.push_str(" Complete.");
    } else {
        out.push_str(" INCOMPLETE:");
        for p in &report.problems {
            out.push_str(&format!("\n  {}: {}", p.what, p.error));
        }
    }
    out
}

fn row(f: &Finding) -> Vec<String> {
    let call = f
        .call
        .as_ref()
        .map(|c| format!("{} {}", c.event_name, c.event_time.as_deref().unwrap_or("")))
        .unwrap_or_else(|| "-".to_owned());
    let why = match &f.decided_before {
        Some(before) => format!("{}; {before}", f.why),
        None => f.why.clone(),
    };
    vec![
        f.resource.resource_type.as_str().to_owned(),
        f.resource.name.clone(),
        f.status.clone().unwrap_or_default(),
        f.who.clone().unwrap_or_else(|| "unknown".to_owned()),
        call,
        why,
        f.key.clone(),
    ]
}

/// `ACCOUNT/REGION`, as `guardctl scan --place` takes it.
fn parse_place(text: &str) -> Result<model_guard_core::sweep::Place, Failure> {
    match text.split_once('/') {
        Some((account, region))
            if model_guard_core::organization::is_account_id(account)
                && !region.is_empty()
                && !region.contains('/') =>
        {
            Ok(model_guard_core::sweep::Place {
                account: account.to_owned(),
                region: region.to_owned(),
            })
        }
        _ => Err(Failure::bad_input(
            format!("--place {text:?} is not ACCOUNT/REGION"),
            "give a 12-digit account and a region, e.g. --place 444455556666/eu-west-1",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_place;

    #[test]
    fn a_place_is_an_account_and_a_region() {
        let place = parse_place("444455556666/eu-west-1").map_err(|e| e.to_string());
        assert_eq!(
            place.map(|p| p.to_string()),
            Ok("444455556666/eu-west-1".to_owned())
        );
        for bad in [
            "eu-west-1",
            "4444/eu-west-1",
            "444455556666/",
            "444455556666/a/b",
        ] {
            assert!(parse_place(bad).is_err(), "{bad}");
        }
    }
}
