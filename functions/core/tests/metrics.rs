//! The EMF records the functions write: the dashboard and alarms (cdk/lib/dashboard.ts) read
//! these names, dimensions and units, so they are pinned.

use chrono::{DateTime, Utc};
use model_guard_core::Verdict;
use model_guard_core::metrics::{decision, enforcement, pending, recovered};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timezone(&Utc)
}

fn verdict(event_time: &str) -> Verdict {
    serde_json::from_value(serde_json::json!({
        "version": 1, "eventId": "00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f",
        "eventName": "CreateEndpoint", "eventTime": event_time,
        "account": "111122223333", "region": "eu-west-1", "decision": "violation",
        "action": "enforce", "graceSeconds": 600, "principal": "arn:aws:iam::111122223333:role/DataScientist",
        "resource": {"type": "endpoint", "name": "fraud-scratch", "arn": null},
        "subjects": [], "approvers": [], "reasons": []
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_emf_records_are_pinned() {
    let now = at("2026-11-20T10:15:38.600Z");
    insta::assert_json_snapshot!(
        "emf-decision",
        decision(&verdict("2026-11-20T10:15:30Z"), now)
    );
    insta::assert_json_snapshot!(
        "emf-enforcement",
        enforcement(
            &verdict("2026-11-20T10:15:30Z"),
            "deleted",
            at("2026-11-20T10:25:41Z")
        )
    );
    insta::assert_json_snapshot!("emf-recovered", recovered(2, now));
    insta::assert_json_snapshot!("emf-pending", pending(4, now));
    // A call time in the future, or unreadable, is counted and not timed.
    for time in ["2026-11-20T11:00:00Z", "yesterday"] {
        let line = decision(&verdict(time), now);
        assert_eq!(line["Decisions"], serde_json::json!(1.0));
        assert!(line.get("TimeToVerdict").is_none(), "{line}");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }
}
