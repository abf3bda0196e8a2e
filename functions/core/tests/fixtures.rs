//! Every event under `tests/events/`, parsed and decided against the example policy and catalog
//! beside them; each outcome pinned by a snapshot. The fixture corpus is described in
//! `tests/events/README.md`.

use std::path::{Path, PathBuf};

use model_guard_core::{
    Catalog, CatalogResolver, Decision, Defaults, ParseOutcome, PolicySet, explain,
    parse_event_slice, parse_event_value,
};
use serde_json::{Value, json};

/// The stack's default approver in these examples (what `--default-approver` sets in the CLI).
pub const DEFAULT_APPROVER: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_SecurityOps_*";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/events")
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn example() -> (PolicySet, CatalogResolver) {
    let dir = events_dir().join("example");
    let policy = PolicySet::from_json(&read_json(&dir.join("policy.json")))
        .unwrap_or_else(|e| panic!("example policy: {e}"));
    let catalog = Catalog::from_json(&read_json(&dir.join("catalog.json")))
        .unwrap_or_else(|e| panic!("example catalog: {e}"));
    (policy, CatalogResolver::new(catalog))
}

#[test]
fn every_fixture_parsed_and_decided() {
    let (policy, resolver) = example();
    let defaults = Defaults::new(Defaults::GRACE_SECONDS, &[DEFAULT_APPROVER.to_owned()])
        .unwrap_or_else(|e| panic!("{e}"));
    insta::glob!("../../../tests/events", "*.json", |path| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parsed =
            parse_event_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The Lambda reads the event as a JSON value; both entry points must agree.
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parse_event_value(&value), parsed, "{}", path.display());

        let verdict = pollster::block_on(explain(
            parsed.clone(),
            &resolver.lookups(),
            &policy,
            &defaults,
        ))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        verdict
            .check_well_formed()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let category = name.split('-').next().unwrap_or_default();
        let expected_ignored = matches!(category, "failed" | "readonly" | "other");
        if expected_ignored {
            assert_eq!(verdict.decision, Decision::Ignored, "{name}");
        }
        if matches!(category, "covered" | "identity") {
            assert!(
                matches!(parsed, ParseOutcome::Request { .. }),
                "{name} was not decided"
            );
        }
        if category == "recorded" {
            assert!(
                matches!(parsed, ParseOutcome::Record { .. }),
                "{name} was not recorded"
            );
        }
        insta::assert_json_snapshot!("outcome", json!({"parsed": parsed, "verdict": verdict}));
    });
}

#[test]
fn corpus_covers_every_category_and_call() {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} fixtures", names.len());
    for category in [
        "covered",
        "identity",
        "failed",
        "readonly",
        "other",
        "malformed",
        "recorded",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(&format!("{category}-"))),
            "no {category} fixture"
        );
    }
    // Every covered and recorded call has at least one fixture that names it.
    for event_name in model_guard_core::covered::rule_event_names() {
        let found = names.iter().any(|n| {
            let event = read_json(&events_dir().join(n));
            event["detail"]["eventName"] == event_name
        });
        assert!(found, "no fixture for {event_name}");
    }
}
