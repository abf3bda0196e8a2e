//! ParseEvent's handler on every fixture: the core's parse, unchanged (every fixture is a call in
//! the guard's own account and region), and never a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use model_guard_core::organization::Guarded;
use model_guard_core::{ParseOutcome, parse_event_slice};

#[test]
fn every_fixture_gives_the_cores_outcome() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/events");
    let home = Guarded::new("111122223333", "eu-west-1", Some("444455556666")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue; // Lambda hands the handler JSON; non-JSON fixtures are the core's concern.
        };
        let outcome = parse_event::handle(&value, &home);
        assert_eq!(
            Ok(outcome.clone()),
            parse_event_slice(&bytes).map_err(|_| ()),
            "{}",
            path.display()
        );
        // The output is ParseEvent's contract: it reads back as itself.
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            serde_json::from_value::<ParseOutcome>(json).unwrap(),
            outcome
        );
        seen += 1;
    }
    assert!(seen >= 70, "only {seen} fixtures");
}
