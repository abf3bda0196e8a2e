//! `guardctl`: Model Guard's command-line tool for operators.

mod approval;
mod audit;
mod aws;
mod explain;
mod failure;
mod policy;
mod scan;
mod status;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory, Parser, Subcommand};
use model_guard_core::Defaults;
use model_guard_core::policy::StackEnforcement;

use crate::failure::Failure;

/// Model Guard's command-line tool.
///
/// The deployed stack's names come from flags, else environment variables, else the outputs of
/// the CloudFormation stack named by --stack (MODEL_GUARD_STACK). AWS credentials and region are
/// the SDK's usual ones (AWS_PROFILE, AWS_REGION, SSO, …).
///
/// Exit codes: 0 success; 1 an AWS call or the network failed; 2 bad input (a file missing, not
/// JSON or of the wrong shape, a policy item that fails validation, bad arguments); 3 refused or
/// not found (the approval function said no, no such policy item or event); 4 `status` found a
/// failing check.
#[derive(Parser)]
#[command(name = "guardctl", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
pub struct Global {
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The CloudFormation stack whose outputs name the tables and the approval URL.
    #[arg(long, global = true, env = "MODEL_GUARD_STACK", value_name = "NAME")]
    pub stack: Option<String>,
    /// The policy table.
    #[arg(
        long,
        global = true,
        env = "MODEL_GUARD_POLICY_TABLE",
        value_name = "TABLE"
    )]
    pub policy_table: Option<String>,
    /// The decisions (audit) table.
    #[arg(
        long,
        global = true,
        env = "MODEL_GUARD_DECISIONS_TABLE",
        value_name = "TABLE"
    )]
    pub decisions_table: Option<String>,
    /// The records table (what models and endpoint configs contained when created).
    #[arg(
        long,
        global = true,
        env = "MODEL_GUARD_RECORDS_TABLE",
        value_name = "TABLE"
    )]
    pub records_table: Option<String>,
    /// The approval function's URL.
    #[arg(
        long,
        global = true,
        env = "MODEL_GUARD_APPROVAL_URL",
        value_name = "URL"
    )]
    pub approval_url: Option<String>,
    /// The scan function (`scan --enforce`).
    #[arg(
        long,
        global = true,
        env = "MODEL_GUARD_SCAN_FUNCTION",
        value_name = "NAME"
    )]
    pub scan_function: Option<String>,
    /// What `status` checks: the guard's rules, functions, trail and topics, as the stack's
    /// HealthTargets output gives them (JSON).
    #[arg(
        long,
        global = true,
        env = "MODEL_GUARD_HEALTH_TARGETS",
        value_name = "JSON",
        hide_env_values = true
    )]
    pub health_targets: Option<String>,
    /// The time to compute "time left" from (RFC 3339); for reproducible output.
    #[arg(long, global = true, hide = true, value_name = "TIME")]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the verdict (JSON, contract version 1) that Model Guard gives a CloudTrail event.
    #[command(
        after_help = "Examples:\n  guardctl explain --event call.json --policy policy.json --catalog catalog.json\n  guardctl explain --event call.json --live"
    )]
    Explain(explain::ExplainArgs),
    /// Read, check and change the policy table.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  guardctl policy list\n  guardctl policy put item.json --dry-run\n  guardctl policy export > policy.json"
    )]
    Policy(PolicyCommand),
    /// Violations waiting for approval, soonest deadline first, with the time left.
    #[command(after_help = "Examples:\n  guardctl pending\n  guardctl pending --json")]
    Pending,
    /// Approve a pending violation: the resource is kept (you must match its approvers).
    #[command(
        after_help = "Examples:\n  guardctl approve fraud-scratch --reason \"demo until Friday, ticket ML-42\"\n  guardctl approve 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --event --reason \"…\""
    )]
    Approve(DecideArgs),
    /// Enforce a pending violation now instead of at the end of its grace period.
    #[command(
        after_help = "Examples:\n  guardctl enforce-now fraud-scratch --reason \"not ours; no need to wait\""
    )]
    EnforceNow(DecideArgs),
    /// The audit trail, newest first.
    #[command(
        after_help = "Examples:\n  guardctl history --resource fraud-scratch\n  guardctl history --since 2026-12-01T00:00:00Z --limit 200 --json"
    )]
    History(audit::HistoryArgs),
    /// Events seen and not decided yet (a triage failed on them): oldest first, with why. The
    /// sweep submits each again until it is decided; fix the cause (a bad policy item, say) and
    /// they are.
    #[command(after_help = "Examples:\n  guardctl undecided")]
    Undecided,
    /// What exists now (endpoints, inference components, running jobs, notebook instances,
    /// Studio apps, pipelines and their running executions, clusters, …), each judged against
    /// the policy as the guard would judge the latest call that set it (who made that call:
    /// CloudTrail, 90 days). Grouped by outcome: violation, unattributed, approved, allowed.
    /// Read-only, unless --enforce. Exit code 130 when interrupted (what was judged is printed).
    #[command(
        after_help = "Examples:\n  guardctl scan\n  guardctl scan --resource-type endpoint,training-job --policy new-policy.json\n  guardctl scan --enforce --place 444455556666/eu-west-1"
    )]
    Scan(scan::ScanArgs),
    /// The stack-wide enforcement setting: without an argument, what it is; `observe` (every
    /// violation decided, audited and alerted, nothing stopped or deleted) or `enforce` to switch
    /// it (the policy table's `enforcement` item; it applies to decisions from then on, within a
    /// minute, and the change is alerted like any policy change).
    #[command(after_help = "Examples:\n  guardctl enforcement\n  guardctl enforcement enforce")]
    Enforcement {
        #[arg(value_parser = ["observe", "enforce"])]
        set: Option<String>,
    },
    /// Is the guard switched on: every health check (rules, trail, functions, policy stream,
    /// subscribers, sweep, enforcements), run with your credentials, with the violations waiting
    /// for approval, failures, undecided events and the guard topic's alerts (tampering among
    /// them) of the last 24 hours. Exit code 4 when a check fails.
    #[command(
        after_help = "Examples:\n  guardctl status\n  guardctl --stack ModelGuard status --json"
    )]
    Status,
    /// Print a completion script for your shell, e.g.
    /// `guardctl completions bash > ~/.local/share/bash-completion/completions/guardctl`.
    #[command(
        after_help = "Examples:\n  guardctl completions bash > ~/.local/share/bash-completion/completions/guardctl\n  guardctl completions zsh > ~/.zfunc/_guardctl"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print guardctl's manual page (roff), e.g. `guardctl man > guardctl.1; man ./guardctl.1`.
    #[command(after_help = "Examples:\n  guardctl man > guardctl.1 && man ./guardctl.1")]
    Man,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Every item, by pk.
    #[command(after_help = "Examples:\n  guardctl policy list --json")]
    List,
    /// One item, as JSON.
    #[command(after_help = "Examples:\n  guardctl policy get \"model#fraud-*\"")]
    Get {
        /// e.g. `model#fraud-*`, `role#arn:aws:iam::123456789012:role/Exec`, `default`.
        pk: String,
    },
    /// Write one item (a JSON object) after validating it; shows the change.
    #[command(
        after_help = "Examples:\n  guardctl policy put item.json --dry-run\n  guardctl policy put item.json"
    )]
    Put {
        #[arg(value_name = "ITEM.json")]
        file: PathBuf,
        /// Validate and show the change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete one item; shows what is removed.
    #[command(after_help = "Examples:\n  guardctl policy rm \"model#fraud-*\" --dry-run")]
    Rm {
        pk: String,
        /// Show what would be removed; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write every item of a POLICY.json array: all are validated before any is written, then
    /// written in transactions of at most 100 items.
    #[command(after_help = "Examples:\n  guardctl policy import policy.json --dry-run")]
    Import {
        #[arg(value_name = "POLICY.json")]
        file: PathBuf,
        /// Validate and list what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every item as a POLICY.json array (what `import` reads).
    #[command(after_help = "Examples:\n  guardctl policy export > policy.json")]
    Export,
}

#[derive(Args)]
pub struct DecideArgs {
    /// The event ID, or the resource's name or ARN when it has exactly one pending violation.
    pub target: String,
    /// Why; recorded in the audit trail.
    #[arg(long)]
    pub reason: String,
    /// TARGET is an event ID (needed when a resource has the same name).
    #[arg(long, conflicts_with = "resource")]
    pub event: bool,
    /// TARGET is a resource name or ARN (needed when an event has the same ID).
    #[arg(long)]
    pub resource: bool,
}

impl DecideArgs {
    /// What the request says the target is: `null` lets the function refuse a target that
    /// could mean two things.
    pub fn target_kind(&self) -> Option<&'static str> {
        match (self.event, self.resource) {
            (true, _) => Some("event"),
            (_, true) => Some("resource"),
            _ => None,
        }
    }
}

fn main() -> ExitCode {
    use anstream::{AutoStream, ColorChoice};
    use std::io::Write;
    // Colour only for a person: by anstream's rule, a terminal and no NO_COLOR (CLICOLOR_FORCE
    // forces it). Decided up front, so nothing written is ever filtered.
    table::set_colour(AutoStream::choice(&std::io::stdout()) != ColorChoice::Never);
    let cli = Cli::parse();
    let result = run(cli.command, &cli.global);
    match result {
        Ok((output, code)) => {
            if !output.is_empty() {
                // A reader that stopped early (`guardctl man | head`)
                // is no error, and no panic.
                let written = writeln!(std::io::stdout().lock(), "{}", output.trim_end());
                if let Err(e) = written
                    && e.kind() != std::io::ErrorKind::BrokenPipe
                {
                    eprintln!(
                        "guardctl: cannot print: {e}\nhint: check where the output goes (a full disk, a closed file)"
                    );
                    return ExitCode::from(1);
                }
            }
            ExitCode::from(code)
        }
        Err(failure) => {
            // The message, then the fix on a line of its own, in bold on a terminal.
            let mut hint = format!("hint: {}", failure.hint());
            if AutoStream::choice(&std::io::stderr()) != ColorChoice::Never {
                let bold = anstyle::Style::new().bold();
                hint = format!("{bold}{hint}{bold:#}");
            }
            let _ = writeln!(
                std::io::stderr().lock(),
                "guardctl: {}\n{hint}",
                failure.message()
            );
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The command's output, and its exit code when it succeeded (0, or `status`'s 4).
fn run(command: Command, global: &Global) -> Result<(String, u8), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::aws(
                format!("cannot start the async runtime: {e}"),
                "the system refused a thread or a timer: free some resources, then run again",
            )
        })?;
    runtime.block_on(async {
        let mut aws = aws::Aws::new(global.clone());
        let now = global.now.unwrap_or_else(Utc::now);
        let output = match command {
            Command::Completions { shell } => {
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "guardctl", &mut script);
                Ok(String::from_utf8_lossy(&script).into_owned())
            }
            Command::Man => {
                let mut page = Vec::new();
                clap_mangen::Man::new(Cli::command())
                    .render(&mut page)
                    .map_err(|e| {
                        Failure::bad_input(format!("cannot render the man page: {e}"), failure::BUG)
                    })?;
                Ok(String::from_utf8_lossy(&page).into_owned())
            }
            Command::Status => return status::status(&mut aws, global.json, now).await,
            Command::Scan(args) => return scan::scan(&mut aws, &args, global.json, now).await,
            Command::Explain(args) => explain::run(&mut aws, &args).await,
            Command::Policy(command) => policy::run(&mut aws, command, global.json).await,
            Command::Pending => audit::pending(&mut aws, global.json, now).await,
            Command::History(args) => audit::history(&mut aws, &args, global.json, now).await,
            Command::Undecided => audit::undecided(&mut aws, global.json, now).await,
            Command::Enforcement { set } => {
                let set = set.as_deref().and_then(StackEnforcement::from_name);
                policy::enforcement(&mut aws, set, global.json).await
            }
            Command::Approve(args) => {
                approval::decide(&mut aws, "approve", &args, global.json).await
            }
            Command::EnforceNow(args) => {
                approval::decide(&mut aws, "enforce-now", &args, global.json).await
            }
        };
        output.map(|text| (text, 0))
    })
}

/// The stack defaults `explain` applies when a binding sets none.
pub fn defaults(grace: u32, approvers: &[String]) -> Result<Defaults, Failure> {
    Defaults::new(grace, approvers).map_err(|e| {
        Failure::bad_input(
            e,
            "--default-grace is in seconds and each --default-approver a principal ARN pattern, \
             as the stack's own defaults",
        )
    })
}

#[cfg(test)]
mod help_examples {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// A command line as a shell splits it: words, and '…' or "…" quoted ones; what follows a
    /// redirection or `&&` is the shell's, not guardctl's.
    fn words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote = None;
        let mut started = false;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    started = true;
                }
                (None, ' ') => {
                    if started || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                        started = false;
                    }
                }
                (None, c) => word.push(c),
            }
        }
        if started || !word.is_empty() {
            words.push(word);
        }
        let end = words
            .iter()
            .position(|w| w == ">" || w == "&&")
            .unwrap_or(words.len());
        words.truncate(end);
        words
    }

    /// Every subcommand's `--help` ends with examples, and every example is a command line
    /// guardctl accepts: an example that stops being true fails here.
    #[test]
    fn every_subcommand_shows_examples_that_guardctl_accepts() {
        let mut checked = 0;
        let mut stack: Vec<clap::Command> = Cli::command().get_subcommands().cloned().collect();
        while let Some(command) = stack.pop() {
            stack.extend(command.get_subcommands().cloned());
            let help = command
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                help.starts_with("Examples:"),
                "`guardctl {} --help` shows no examples",
                command.get_name()
            );
            for line in help.lines().skip(1) {
                let args = words(line.trim());
                assert_eq!(args.first().map(String::as_str), Some("guardctl"), "{line}");
                if let Err(e) = Cli::try_parse_from(&args) {
                    panic!("the example `{}` is refused: {e}", line.trim());
                }
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked} examples");
    }
}
