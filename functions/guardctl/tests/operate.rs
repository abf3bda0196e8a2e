//! The operators' subcommands as an operator runs them: the real binary against the testbed's
//! DynamoDB (and, for approve/enforce-now, the approval function behind the testbed's Function URL
//! stand-in, which checks the SigV4 signature). Human output is pinned with insta snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_core::Verdict;
use model_guard_core::audit::{ApprovalRecord, AuditItem, AuditState, FailureRecord};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::ports::{Advance, AuditLog};
use model_guard_testkit::{
    ACCOUNT, config, decisions_table, finished, policy_table, policy_table_named,
    shared_decisions_table, unique, violation, waiting_task,
};
use serde_json::{Value, json};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_with(env: &[(&str, &str)], args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_guardctl"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("guardctl runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn file(content: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guardctl-operate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.json", unique("f")));
    std::fs::write(&path, content.to_string()).unwrap();
    path
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const FRAUD: &str = "model#fraud-*";

fn fraud_item() -> Value {
    json!({"pk": FRAUD, "principals": [format!("arn:aws:iam::{ACCOUNT}:role/MLDeployer")],
           "mode": "notify", "description": "fraud models"})
}

struct Policies {
    table: String,
}

impl Policies {
    async fn new(config: &SdkConfig, items: Value) -> Policies {
        Policies {
            table: policy_table(config, &items).await,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        // The table's unique name is replaced in messages, so snapshots do not depend on it.
        let mut r = run_with(&[("MODEL_GUARD_POLICY_TABLE", self.table.as_str())], args);
        r.stdout = r.stdout.replace(&self.table, "POLICIES");
        r.stderr = r.stderr.replace(&self.table, "POLICIES");
        r
    }

    fn export(&self) -> Value {
        let r = self.run(&["policy", "export"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    }
}

#[tokio::test]
async fn put_shows_the_change_writes_only_valid_items_and_dry_run_writes_nothing() {
    let config = config().await;
    let p = Policies::new(
        &config,
        json!([{"pk": "default", "principals": [], "mode": "notify"}]),
    )
    .await;
    let item = file(&fraud_item());

    let dry = p.run(&["policy", "put", item.to_str().unwrap(), "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    insta::assert_snapshot!("put_new_dry_run", dry.stdout);
    assert_eq!(p.export().as_array().unwrap().len(), 1, "a dry run wrote");

    let put = p.run(&["policy", "put", item.to_str().unwrap()]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    insta::assert_snapshot!("put_new", put.stdout);

    let mut changed = fraud_item();
    changed["mode"] = json!("enforce");
    changed["graceSeconds"] = json!(600);
    let put = p.run(&["policy", "put", file(&changed).to_str().unwrap()]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    insta::assert_snapshot!("put_changed", put.stdout);
    let get = p.run(&["policy", "get", FRAUD]);
    assert_eq!(serde_json::from_str::<Value>(&get.stdout).unwrap(), changed);

    let again = p.run(&["policy", "put", file(&changed).to_str().unwrap(), "--json"]);
    let again: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        again["written"], false,
        "an unchanged item is not written again"
    );

    // Invalid: nothing written, and the message names the item and the field.
    let mut bad = changed.clone();
    bad["mode"] = json!("sometimes");
    let refused = p.run(&["policy", "put", file(&bad).to_str().unwrap()]);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("(pk \"model#fraud-*\"), field mode: unknown variant `sometimes`"),
        "{}",
        refused.stderr
    );
    assert_eq!(p.export().as_array().unwrap()[1], changed);

    // The same binding under another spelling of its key (case) would be a duplicate the Lambdas
    // refuse. (With a path, `role/team/Exec`, it is another binding: only that path.)
    let role = json!({"pk": format!("role#arn:aws:iam::{ACCOUNT}:role/Exec"), "principals": []});
    assert_eq!(
        p.run(&["policy", "put", file(&role).to_str().unwrap()])
            .code,
        0
    );
    let twin = json!({"pk": format!("role#arn:aws:iam::{ACCOUNT}:role/EXEC"), "principals": []});
    let refused = p.run(&["policy", "put", file(&twin).to_str().unwrap()]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("duplicate pk"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn list_get_rm_and_export_round_trip() {
    let config = config().await;
    let items = json!([
        {"pk": "default", "principals": [], "mode": "notify", "description": "seeded"},
        fraud_item(),
        {"pk": format!("role#arn:aws:iam::{ACCOUNT}:role/Exec"), "principals": ["*"], "graceSeconds": 0,
         "approvers": [format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps*")]},
    ]);
    let p = Policies::new(&config, items.clone()).await;
    let list = p.run(&["policy", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    insta::assert_snapshot!("list", list.stdout);

    let missing = p.run(&["policy", "get", "model#nope"]);
    assert_eq!(
        (missing.code, missing.stderr.trim()),
        (
            3,
            "guardctl: no policy item with pk \"model#nope\" in table POLICIES\n\
             hint: `guardctl policy list` shows the pks there (a pk is matched exactly)"
        )
    );

    // export | import into an empty table gives the same table.
    let exported = p.export();
    let copy = Policies::new(&config, json!([])).await;
    let imported = copy.run(&["policy", "import", file(&exported).to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(copy.export(), exported);

    let dry = p.run(&["policy", "rm", FRAUD, "--dry-run"]);
    insta::assert_snapshot!("rm_dry_run", dry.stdout);
    assert_eq!(p.export().as_array().unwrap().len(), 3);
    let rm = p.run(&["policy", "rm", FRAUD]);
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    assert_eq!(p.export().as_array().unwrap().len(), 2);
    assert_eq!(p.run(&["policy", "rm", FRAUD]).code, 3);
}

#[tokio::test]
async fn import_checks_every_item_first_then_writes_in_transactions_of_100() {
    let config = config().await;
    let many: Vec<Value> = (0..150)
        .map(|i| json!({"pk": format!("model#m-{i:03}"), "principals": ["*"]}))
        .collect();

    // One bad item among 150: nothing is written, and the message names it.
    let mut bad = many.clone();
    bad[120]["graceSeconds"] = json!(-1);
    let p = Policies::new(&config, json!([])).await;
    let refused = p.run(&[
        "policy",
        "import",
        file(&Value::Array(bad)).to_str().unwrap(),
    ]);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("policy item .[120] (pk \"model#m-120\"), field graceSeconds:"),
        "{}",
        refused.stderr
    );
    assert_eq!(p.export(), json!([]));

    // An item DynamoDB would refuse for its size is refused before anything is written too.
    let mut big = many.clone();
    big[130]["description"] = json!("x".repeat(410 * 1024));
    let refused = p.run(&[
        "policy",
        "import",
        file(&Value::Array(big)).to_str().unwrap(),
    ]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains(".[130] (pk \"model#m-130\")"),
        "{}",
        refused.stderr
    );
    assert_eq!(p.export(), json!([]));

    let ok = p.run(&[
        "policy",
        "import",
        file(&Value::Array(many.clone())).to_str().unwrap(),
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout
            .ends_with("150 item(s) written in 2 transaction(s)\n"),
        "{}",
        ok.stdout
    );
    assert_eq!(p.export().as_array().unwrap().len(), 150);
}

#[tokio::test]
async fn an_import_whose_second_transaction_fails_says_exactly_what_was_written() {
    let config = config().await;
    let many: Vec<Value> = (0..150)
        .map(|i| json!({"pk": format!("model#m-{i:03}"), "principals": ["*"]}))
        .collect();
    // The testbed fails every TransactWriteItems after the first on a `fault-txn-*` table.
    let p = Policies {
        table: policy_table_named(&config, &unique("fault-txn-policies"), &json!([])).await,
    };
    let failed = p.run(&[
        "policy",
        "import",
        file(&Value::Array(many)).to_str().unwrap(),
    ]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("(transaction 2 of 2): ProvisionedThroughputExceededException"),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("written: 100 item(s) (model#m-000, model#m-001,"),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("not written: 50 item(s), from .[100] (model#m-100) on"),
        "{}",
        failed.stderr
    );
    let stored = p.export();
    let pks: Vec<&str> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pk"].as_str().unwrap())
        .collect();
    assert_eq!(pks.len(), 100);
    assert_eq!((pks[0], pks[99]), ("model#m-000", "model#m-099"));
}

/// A decisions table holding one event in each interesting state, decided at fixed times.
async fn audit_trail(config: &SdkConfig) -> String {
    let table = decisions_table(config).await;
    let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(config), &table);
    let t0 = at("2026-11-28T09:00:00Z");
    let record = |id: &str, resource: &str, minutes: i64, verdict: Value| {
        let mut verdict = verdict;
        verdict["eventId"] = json!(id);
        verdict["resource"]["name"] = json!(resource);
        let typed: Verdict = serde_json::from_value(verdict).unwrap();
        AuditItem::for_verdict(&typed, t0 + chrono::Duration::minutes(minutes)).unwrap()
    };
    let mut allowed = violation("x", "endpoint", "x", "none", 0);
    allowed["decision"] = json!("allow");
    allowed["reasons"] = json!([]);
    allowed["approvers"] = json!([]);
    log.record(&record("evt-1-allowed", "churn-endpoint", 0, allowed))
        .await
        .unwrap();

    for (id, resource, minutes) in [
        ("evt-2-pending", "fraud-endpoint", 1),
        ("evt-3-approved", "fraud-endpoint", 2),
        ("evt-4-enforced", "scoring-endpoint", 3),
        ("evt-5-failed", "fault-denied-endpoint", 4),
        ("evt-6-pending", "ranking-endpoint", 5),
    ] {
        let at = t0 + chrono::Duration::minutes(minutes);
        log.record(&record(
            id,
            resource,
            minutes,
            violation(id, "endpoint", resource, "enforce", 900),
        ))
        .await
        .unwrap();
        let mut advance = Advance::to(AuditState::Pending, at);
        advance.deadline = Some(at + chrono::Duration::seconds(900));
        advance.task_token = Some(format!("token-{id}"));
        if id == "evt-6-pending" {
            advance.deadline = Some(at + chrono::Duration::seconds(60));
        }
        log.advance(id, &advance).await.unwrap();
    }
    let later = t0 + chrono::Duration::minutes(10);
    log.record_approval(
        "evt-3-approved",
        &ApprovalRecord {
            decision: model_guard_core::approval::ApprovalDecision::Approve,
            by: format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps"),
            person: None,
            caller_arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/carol"),
            at: later,
            reason: "CAB-1234 approved change".to_owned(),
        },
    )
    .await
    .unwrap();
    log.advance("evt-3-approved", &Advance::to(AuditState::Approved, later))
        .await
        .unwrap();
    let mut enforced = Advance::to(AuditState::Enforced, later);
    enforced.enforcement = Some(EnforcementResult {
        version: Default::default(),
        outcome: EnforcementOutcome::Deleted,
        resource: serde_json::from_value(
            json!({"type": "endpoint", "name": "scoring-endpoint", "arn": null}),
        )
        .unwrap(),
        deregistered_scalable_targets: vec![],
        deleted_inference_components: vec![],
        status: Some("InService".to_owned()),
        confirmed: None,
        restored: None,
        not_rolled_back: None,
    });
    log.advance("evt-4-enforced", &enforced).await.unwrap();
    let mut failed = Advance::to(AuditState::Failed, later);
    failed.failure = Some(FailureRecord {
        error: "ModelGuard.AccessDenied".to_owned(),
        cause: "DeleteEndpoint fault-denied-endpoint: AccessDeniedException".to_owned(),
    });
    log.advance("evt-5-failed", &failed).await.unwrap();
    table
}

fn audit_run(table: &str, args: &[&str]) -> Run {
    let mut all = vec!["--now", "2026-11-28T09:12:00Z"];
    all.extend_from_slice(args);
    run_with(&[("MODEL_GUARD_DECISIONS_TABLE", table)], &all)
}

#[tokio::test]
async fn pending_lists_what_waits_soonest_deadline_first_with_the_time_left() {
    let config = config().await;
    let table = audit_trail(&config).await;
    let pending = audit_run(&table, &["pending"]);
    assert_eq!(pending.code, 0, "{}", pending.stderr);
    insta::assert_snapshot!("pending", pending.stdout);

    let json: Value =
        serde_json::from_str(&audit_run(&table, &["pending", "--json"]).stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["eventId"].as_str(), rows[0]["secondsLeft"].as_i64()),
        (Some("evt-6-pending"), Some(-360))
    );
    assert!(
        rows.iter().all(|r| r.get("taskToken").is_none()),
        "task tokens are not printed"
    );

    let empty = decisions_table(&config).await;
    assert_eq!(
        audit_run(&empty, &["pending"]).stdout.trim(),
        "no violations are waiting for approval"
    );
}

#[tokio::test]
async fn history_is_newest_first_by_resource_or_since_a_time() {
    let config = config().await;
    let table = audit_trail(&config).await;
    let all = audit_run(&table, &["history"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    insta::assert_snapshot!("history", all.stdout);
    assert!(!all.stdout.contains('\u{1b}'), "no colour into a pipe");
    // Where colour is wanted (CLICOLOR_FORCE stands in for a terminal here), the header is bold
    // and each state has the colour of what it means; NO_COLOR wins over everything.
    let forced = |no_color: bool| {
        let mut env = vec![
            ("MODEL_GUARD_DECISIONS_TABLE", table.as_str()),
            ("CLICOLOR_FORCE", "1"),
        ];
        if no_color {
            env.push(("NO_COLOR", "1"));
        }
        run_with(&env, &["--now", "2026-11-28T09:12:00Z", "history"]).stdout
    };
    let coloured = forced(false);
    assert!(
        coloured.starts_with("\u{1b}[1mDECIDED\u{1b}[0m"),
        "{coloured:?}"
    );
    for (state, colour) in [
        ("failed", 31),
        ("enforced", 31),
        ("pending", 33),
        ("allowed", 32),
    ] {
        assert!(
            coloured.contains(&format!("\u{1b}[{colour}m{state}\u{1b}[0m")),
            "{state}: {coloured:?}"
        );
    }
    assert_eq!(
        anstream::adapter::strip_str(&coloured).to_string(),
        all.stdout,
        "the same table, colour aside"
    );
    assert_eq!(forced(true), all.stdout);

    let fraud = audit_run(
        &table,
        &[
            "history",
            "--resource",
            &format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/FRAUD-endpoint"),
        ],
    );
    insta::assert_snapshot!("history_resource", fraud.stdout);

    let recent = audit_run(
        &table,
        &["history", "--since", "2026-11-28T09:03:00Z", "--json"],
    );
    let ids: Vec<String> = serde_json::from_str::<Value>(&recent.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["eventId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["evt-6-pending", "evt-5-failed", "evt-4-enforced"]);
    let limited: Value =
        serde_json::from_str(&audit_run(&table, &["history", "--limit", "2", "--json"]).stdout)
            .unwrap();
    assert_eq!(limited.as_array().map(Vec::len), Some(2));

    let bad = audit_run(&table, &["history", "--since", "yesterday"]);
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr.trim_end(),
        "guardctl: --since \"yesterday\" is neither a time nor an age\n\
         hint: give an RFC 3339 time (2026-11-28T09:00:00Z) or an age (30m, 24h, 7d)"
    );
}

#[tokio::test]
async fn names_come_from_flags_or_the_environment_and_their_absence_is_explained() {
    let none = run_with(
        &[("MODEL_GUARD_POLICY_TABLE", ""), ("MODEL_GUARD_STACK", "")],
        &["policy", "list"],
    );
    assert_eq!(none.code, 2);
    assert_eq!(
        none.stderr.trim(),
        "guardctl: no PolicyTableName to use\n\
         hint: name the stack with --stack (MODEL_GUARD_STACK), or give --policy-table (or set MODEL_GUARD_POLICY_TABLE)"
    );
    let gone = run_with(&[], &["--policy-table", "no-such-table", "policy", "list"]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr
            .contains("Scan no-such-table: ResourceNotFoundException"),
        "{}",
        gone.stderr
    );
    // The fix its code calls for.
    assert!(
        gone.stderr.trim_end().lines().last().is_some_and(|l| l
            .starts_with("hint: nothing by that name in this account and region")),
        "{}",
        gone.stderr
    );
}

/// A pending violation in the table the approval function uses, with a real waiting execution.
async fn shared_pending(config: &SdkConfig, resource: &str) -> (String, String) {
    let table = shared_decisions_table(config).await;
    let log = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(config), &table);
    let event_id = unique("evt");
    let verdict: Verdict =
        serde_json::from_value(violation(&event_id, "endpoint", resource, "enforce", 300)).unwrap();
    let now = Utc::now();
    log.record(&AuditItem::for_verdict(&verdict, now).unwrap())
        .await
        .unwrap();
    let (execution, token) = waiting_task(config, 300).await;
    let vault = model_guard_aws::kms::KmsTokenVault::new(
        aws_sdk_kms::Client::new(config),
        model_guard_testkit::token_key(config).await,
    );
    let mut advance = Advance::to(AuditState::Pending, now);
    advance.task_token = Some(
        model_guard_core::ports::TokenVault::seal(&vault, &event_id, &token)
            .await
            .unwrap(),
    );
    advance.deadline = Some(now + chrono::Duration::seconds(300));
    log.advance(&event_id, &advance).await.unwrap();
    (event_id, execution)
}

/// Registers a signing key with the testbed's Function URL stand-in, for `arn`.
fn caller(arn: &str) -> [(String, String); 2] {
    let key = format!("AKIA{}", unique("K").replace('-', "").to_uppercase());
    let body =
        json!({"accessKeyId": key, "secretAccessKey": "guardctl-secret", "arn": arn}).to_string();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let out = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-d",
            &body,
            &format!("{endpoint}/testbed/iam/keys"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "registering the key failed");
    [
        ("AWS_ACCESS_KEY_ID".to_owned(), key),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            "guardctl-secret".to_owned(),
        ),
    ]
}

fn decide(caller: &[(String, String); 2], args: &[&str]) -> Run {
    let env: Vec<(&str, &str)> = caller
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    run_with(&env, args)
}

#[tokio::test]
async fn approve_and_enforce_now_are_signed_calls_whose_refusals_are_shown_as_they_are() {
    let config = config().await;
    let security_ops = caller(&format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/carol"
    ));
    let data_scientist = caller(&format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/dave"
    ));

    // Approve: the execution's wait ends in success, the answer names the event.
    let resource = unique("approve-ep");
    let (event_id, execution) = shared_pending(&config, &resource).await;
    let approved = decide(
        &security_ops,
        &["approve", &resource, "--reason", "CAB-1234"],
    );
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let shown = approved
        .stdout
        .replace(&event_id, "EVENT")
        .replace(&resource, "RESOURCE");
    insta::assert_snapshot!("approve", shown);
    assert_eq!(
        finished(&config, &execution, std::time::Duration::from_secs(20))
            .await
            .0,
        "SUCCEEDED"
    );

    // The deployer themself: the function's 403 and its reason, exit 3; the wait goes on.
    let resource = unique("refuse-ep");
    let (event_id, execution) = shared_pending(&config, &resource).await;
    let refused = decide(
        &data_scientist,
        &["enforce-now", &event_id, "--reason", "mine"],
    );
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let shown = refused.stderr.replace(&event_id, "EVENT");
    insta::assert_snapshot!("refused", shown);

    // Enforce now: the wait fails with ModelGuard.EnforceNow.
    let now = decide(
        &security_ops,
        &[
            "enforce-now",
            &event_id,
            "--reason",
            "leaked data",
            "--json",
        ],
    );
    assert_eq!(now.code, 0, "{}", now.stderr);
    let answer: Value = serde_json::from_str(&now.stdout).unwrap();
    assert_eq!(
        (answer["outcome"].as_str(), answer["eventId"].as_str()),
        (Some("enforce-now"), Some(event_id.as_str()))
    );
    let (status, _) = finished(&config, &execution, std::time::Duration::from_secs(20)).await;
    assert_eq!(status, "FAILED");

    // Unknown target: 404, exit 3. A wrong secret: Lambda's own 403, before the function runs.
    let unknown = decide(&security_ops, &["approve", "evt-nobody", "--reason", "x"]);
    assert_eq!(unknown.code, 3, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("answered 404 not-found"),
        "{}",
        unknown.stderr
    );
    // --event and --resource say which kind the target is, and the function looks only there.
    let as_event = decide(
        &security_ops,
        &["approve", "evt-nobody", "--event", "--reason", "x"],
    );
    assert!(
        as_event.stderr.contains("no event \"evt-nobody\""),
        "{}",
        as_event.stderr
    );
    let as_resource = decide(
        &security_ops,
        &["approve", "evt-nobody", "--resource", "--reason", "x"],
    );
    assert!(
        as_resource.stderr.contains("no resource \"evt-nobody\""),
        "{}",
        as_resource.stderr
    );
    let both = decide(
        &security_ops,
        &["approve", "x", "--event", "--resource", "--reason", "x"],
    );
    assert_eq!(both.code, 2, "{}", both.stderr);
    let [(k, key), _] = security_ops.clone();
    let forged = [
        (k, key),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            "not-the-secret".to_owned(),
        ),
    ];
    let forged = decide(&forged, &["approve", "evt-nobody", "--reason", "x"]);
    assert_eq!(forged.code, 3, "{}", forged.stderr);
    assert!(
        forged.stderr.contains("answered 403 lambda: Forbidden."),
        "{}",
        forged.stderr
    );
}

#[tokio::test]
async fn names_come_from_the_stack_outputs_when_neither_flag_nor_environment_gives_them() {
    let config = config().await;
    let p = Policies::new(&config, json!([fraud_item()])).await;
    let stack = unique("ModelGuard");
    // A stack with the outputs the CDK app gives (PolicyTableName, …); one resource, as
    // CloudFormation needs at least one.
    let template = json!({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "PolicyTableName": {"Value": p.table},
            "DecisionsTableName": {"Value": "decisions-from-the-stack"},
        }
    });
    aws_sdk_cloudformation::Client::new(&config)
        .create_stack()
        .stack_name(&stack)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    let listed = run_with(
        &[
            ("MODEL_GUARD_POLICY_TABLE", ""),
            ("MODEL_GUARD_STACK", stack.as_str()),
        ],
        &["policy", "list", "--json"],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&listed.stdout).unwrap(),
        json!([fraud_item()])
    );
    // A flag still wins over the stack.
    let flagged = run_with(
        &[("MODEL_GUARD_STACK", stack.as_str())],
        &["--policy-table", "no-such-table", "policy", "list"],
    );
    assert!(
        flagged.stderr.contains("Scan no-such-table"),
        "{}",
        flagged.stderr
    );
    // An output the stack does not have is named.
    let missing = run_with(
        &[
            ("MODEL_GUARD_APPROVAL_URL", ""),
            ("MODEL_GUARD_STACK", stack.as_str()),
        ],
        &["approve", "x", "--reason", "y"],
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains(&format!("stack {stack} has no output ApprovalUrl")),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn explain_live_resolves_through_sagemaker_and_reads_the_policy_table() {
    let config = config().await;
    let kit = model_guard_testkit::SageMakerKit::new(&config);
    let model = unique("fraud-v3");
    let endpoint_config = unique("cfg");
    kit.model(&model, "Exec").await;
    kit.endpoint_config(&endpoint_config, &[&model]).await;
    // Made within the call's second: judged by their records, as the Record function keeps them.
    let records = model_guard_testkit::records_table(&config).await;
    let store = model_guard_aws::records_store::DynamoRecords::new(
        aws_sdk_dynamodb::Client::new(&config),
        &records,
    );
    use model_guard_core::ports::RecordStore;
    // Each call stamped with the second SageMaker made its resource: a test straddling a second
    // boundary would otherwise record a create in the wrong second.
    let model_at = kit.model_created(&model).await;
    let config_at = kit.endpoint_config_created(&endpoint_config).await;
    for event in [
        model_guard_testkit::stamped(
            model_guard_testkit::create_model_event(&unique("evt"), "MLDeployer", &model, "Exec"),
            model_at,
        ),
        model_guard_testkit::stamped(
            model_guard_testkit::create_endpoint_config_event(
                &unique("evt"),
                "MLDeployer",
                &endpoint_config,
                &[&model],
            ),
            config_at,
        ),
    ] {
        store
            .put(&model_guard_testkit::record_of(&event))
            .await
            .unwrap();
    }
    let p = Policies::new(&config, json!([fraud_item()])).await;
    let event = file(&model_guard_testkit::stamped(
        model_guard_testkit::create_endpoint_event(
            "evt-live",
            "DataScientist",
            "fraud-endpoint",
            &endpoint_config,
        ),
        config_at,
    ));
    let live = run_with(
        &[
            ("MODEL_GUARD_POLICY_TABLE", p.table.as_str()),
            ("MODEL_GUARD_RECORDS_TABLE", records.as_str()),
        ],
        &[
            "explain",
            "--live",
            "--event",
            event.to_str().unwrap(),
            "--default-grace",
            "60",
        ],
    );
    assert_eq!(live.code, 0, "{}", live.stderr);
    let verdict: Value = serde_json::from_str(&live.stdout).unwrap();
    // The model came from SageMaker (the event names only the config), the binding from the table.
    assert_eq!(
        (verdict["decision"].as_str(), verdict["action"].as_str()),
        (Some("violation"), Some("notify")),
        "{verdict:#}"
    );
    assert_eq!(verdict["graceSeconds"], 60);
    let model_subject = verdict["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "model")
        .unwrap();
    assert_eq!(
        (
            model_subject["name"].as_str(),
            model_subject["binding"].as_str()
        ),
        (Some(model.as_str()), Some(FRAUD))
    );

    // Without --live the same event, with no catalog, resolves nothing and fails closed.
    let offline = p.run(&[
        "explain",
        "--event",
        event.to_str().unwrap(),
        "--policy",
        file(&json!([fraud_item()])).to_str().unwrap(),
    ]);
    let verdict: Value = serde_json::from_str(&offline.stdout).unwrap();
    assert!(
        verdict["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"] != "model"),
        "{verdict}"
    );
}

#[tokio::test]
async fn import_shows_what_each_item_does_to_the_table() {
    let config = config().await;
    let p = Policies::new(
        &config,
        json!([fraud_item(), {"pk": "default", "principals": [], "mode": "notify"}]),
    )
    .await;
    let mut changed = fraud_item();
    changed["mode"] = json!("enforce");
    let document = json!([changed, {"pk": "default", "principals": [], "mode": "notify"},
                          {"pk": "model#churn-*", "principals": ["*"]}]);
    let dry = p.run(&[
        "policy",
        "import",
        file(&document).to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    insta::assert_snapshot!("import_dry_run", dry.stdout);
    assert_eq!(p.export().as_array().unwrap().len(), 2, "a dry run wrote");
}

/// The two indexes that hold every item project keys only: a reader takes the items from the
/// table, a hundred keys a read. A resource with more than that is listed whole, newest first.
#[tokio::test]
async fn a_resource_with_more_items_than_one_batch_read_holds_is_listed_whole_in_order() {
    let config = config().await;
    let log = DynamoAuditLog::new(
        aws_sdk_dynamodb::Client::new(&config),
        decisions_table(&config).await,
    );
    let t0 = at("2026-11-28T09:00:00Z");
    let resource = unique("busy-endpoint");
    for i in 0..150 {
        let mut verdict = violation("x", "endpoint", "x", "none", 0);
        verdict["eventId"] = json!(format!("evt-busy-{i:03}"));
        verdict["resource"]["name"] = json!(resource);
        let typed: Verdict = serde_json::from_value(verdict).unwrap();
        let item = AuditItem::for_verdict(&typed, t0 + chrono::Duration::seconds(i)).unwrap();
        log.record(&item).await.unwrap();
    }
    let listed = log
        .for_resource(&model_guard_core::audit::resource_key(&resource))
        .await
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|i| i.event_id.as_str()).collect();
    let expected: Vec<String> = (0..150).rev().map(|i| format!("evt-busy-{i:03}")).collect();
    assert_eq!(ids, expected);
    // And by state: every one of them is `audited`, read whole.
    let audited = log.in_state(AuditState::Audited).await.unwrap();
    let ours = audited.iter().filter(|i| {
        i.verdict
            .resource
            .as_ref()
            .is_some_and(|r| r.name == resource)
    });
    assert_eq!(ours.count(), 150);
}
