//! `guardctl scan` as an operator runs it: the real binary against the testbed's SageMaker (a
//! region of this test's own), CloudTrail and DynamoDB. A mix of violating, allowed and
//! unattributable resources, the table and the JSON pinned by snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use model_guard_testkit::{
    clean_region, config, decisions_table, policy_table, records_table, scan_policy, scan_world,
};

/// The only test that scans this region.
const REGION: &str = "eu-north-1";

/// Fixed-width stand-ins for what changes from run to run (names keep their width, so the
/// table's columns stay where they were): the test's token, finding keys, times, event IDs.
fn redact(text: &str, token: &str) -> String {
    let text = text.replace(token, &"t".repeat(token.len()));
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let digit = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("scan-")
            && rest.len() >= 37
            && rest.as_bytes()[5..37].iter().all(u8::is_ascii_hexdigit)
        {
            out.push_str(&format!("scan-{}", "x".repeat(32)));
            i += 37;
            continue;
        }
        // 2026-12-04T17:33:23Z or 2026-12-04T17:33:23.020Z
        if (0..4).all(|k| digit(i + k))
            && bytes.get(i + 4) == Some(&b'-')
            && bytes.get(i + 10) == Some(&b'T')
        {
            let mut end = i + 19;
            out.push_str(&"T".repeat(19));
            // A fraction of any length (chrono writes 3, 6 or 9 digits) as one of fixed width.
            if bytes.get(end) == Some(&b'.') {
                end += 1;
                while digit(end) {
                    end += 1;
                }
                out.push_str(".fff");
            }
            i = end;
            continue;
        }
        if rest.starts_with("evt-") {
            let mut end = i + 4;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'-') {
                end += 1;
            }
            out.push_str("evt-[id]");
            i = end;
            continue;
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[tokio::test]
async fn a_scan_reports_violations_unattributed_and_allowed_as_pinned() {
    let config = config().await;
    let regional = clean_region(&config, REGION).await;
    // Eight characters every run, so the table's columns do not move.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let token = format!("{nanos:08x}");
    scan_world(&regional, REGION, &token).await;
    let policy = policy_table(&config, &scan_policy()).await;
    let decisions = decisions_table(&config).await;
    let records = records_table(&config).await;
    let scan = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_guardctl"))
            .args([
                "scan",
                "--region",
                REGION,
                "--resource-type",
                "endpoint,training-job",
            ])
            .args(["--lookup-pace-ms", "0"])
            .args(extra)
            .env("MODEL_GUARD_POLICY_TABLE", &policy)
            .env("MODEL_GUARD_DECISIONS_TABLE", &decisions)
            .env("MODEL_GUARD_RECORDS_TABLE", &records)
            .output()
            .expect("guardctl runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        (stdout, stderr)
    };
    let (table, progress) = scan(&[]);
    // Progress goes to stderr, the report to stdout.
    assert!(progress.contains("listed 6 endpoint(s)"), "{progress}");
    assert!(progress.contains("judged 8 of 8"), "{progress}");
    insta::assert_snapshot!("scan_table", redact(&table, &token));

    let (json, _) = scan(&["--json"]);
    let report: serde_json::Value = serde_json::from_str(&redact(&json, &token)).unwrap();
    assert_eq!(report["complete"], true);
    insta::assert_json_snapshot!("scan_json", report);

    // What a policy change would find, before it is made: with fraud models allowed to no one,
    // the endpoints MLDeployer made or last updated violate too.
    let stricter = std::env::temp_dir().join(format!("stricter-{token}.json"));
    let mut items = scan_policy();
    items[0]["principals"] = serde_json::json!([]);
    std::fs::write(&stricter, items.to_string()).unwrap();
    let (what_if, _) = scan(&["--json", "--policy", stricter.to_str().unwrap()]);
    let what_if: serde_json::Value = serde_json::from_str(&what_if).unwrap();
    let violating: Vec<&str> = what_if["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "violation")
        .map(|f| f["resource"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        violating,
        [
            format!("bad-{token}"),
            format!("kept-{token}"),
            format!("promoted-{token}"),
            format!("train-{token}")
        ]
    );
}
