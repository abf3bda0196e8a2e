//! Any bytes as a policy table's items: validated as the Lambdas validate them, and when they
//! validate, used to judge a few of the repository's events. Nothing panics, and an item that
//! validates is judged by without failing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_guard_core::{PolicySet, parse_event_slice};
use model_guard_fuzz::judge;

const EVENTS: &[&[u8]] = &[
    include_bytes!("../../tests/events/covered-create-endpoint-allowed.json"),
    include_bytes!("../../tests/events/covered-content-package-approved.json"),
];

fuzz_target!(|bytes: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let Ok(policy) = PolicySet::from_json(&document) else {
        return;
    };
    let _ = policy.content_needs();
    for event in EVENTS {
        let outcome = parse_event_slice(event).expect("the fixture is JSON");
        judge(outcome, &policy);
    }
});
