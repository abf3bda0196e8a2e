//! The EventBridge rule's pattern (`statemachine/event-pattern.json`) names exactly the calls of
//! the one table, `COVERED_CALLS` and `RECORDED_CALLS`: adding a row without the pattern (or the
//! other way round) fails here. How the pattern matches the fixtures is tested with moto's matcher in
//! `tests/testbed/test_event_pattern.py`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use model_guard_core::covered::rule_event_names;

#[test]
fn the_pattern_names_exactly_the_covered_calls() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine/event-pattern.json"
    );
    let pattern: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let in_pattern: BTreeSet<&str> = pattern["detail"]["eventName"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let covered: BTreeSet<&str> = rule_event_names().collect();
    assert_eq!(in_pattern, covered);
    assert_eq!(pattern["source"], serde_json::json!(["aws.sagemaker"]));
    assert_eq!(
        pattern["detail"]["errorCode"],
        serde_json::json!([{"exists": false}, ""]),
        "failed calls are filtered by the rule: they create nothing (an empty errorCode is no \
         error code, and ParseEvent decides such an event rather than trust it; CloudFormation \
         refuses null in a pattern)"
    );
}
