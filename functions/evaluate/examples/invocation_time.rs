//! Times Evaluate's handler against the testbed: the first invocation in a fresh process (the
//! SDK's first connection included) and then repeated ones, each a new event that resolves an
//! endpoint config and a model, reads the policy (cached after the first) and writes an audit item.
//!
//!     scripts/testbed up && source .testbed/env
//!     cargo run --release -p evaluate --example invocation_time [-- RUNS]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use evaluate::{Ports, handle};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_core::{Defaults, parse_event_value};
use model_guard_testkit::{
    SageMakerKit, config, create_endpoint_event, decisions_table, policy_table, role_arn, unique,
};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let config = config().await;
    let policy = json!([{"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")]},
                        {"pk": "default", "principals": [], "mode": "notify"}]);
    let policy_table = policy_table(&config, &policy).await;
    let decisions = decisions_table(&config).await;
    let kit = SageMakerKit::new(&config);
    let model = unique("fraud-v3");
    kit.model(&model, "Exec").await;
    let endpoint_config = unique("cfg");
    kit.endpoint_config(&endpoint_config, &[&model]).await;

    // Clients as a Lambda container builds them: once, from a fresh SDK configuration.
    let fresh = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&fresh);
    let ports = Ports {
        resolvers: model_guard_aws::sagemaker::OneClient(aws_sdk_sagemaker::Client::new(&fresh)),
        policies: DynamoPolicyStore::new(dynamodb.clone(), &policy_table, 60),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        roles: model_guard_aws::iam::IamRoles::new(aws_sdk_iam::Client::new(&fresh)),
        records: model_guard_aws::records_store::DynamoRecords::new(
            dynamodb,
            model_guard_testkit::records_table(&config).await,
        ),
        record_wait: chrono::Duration::zero(),
        defaults: Defaults::default(),
        enforcer_role: "arn:aws:iam::111122223333:role/ModelGuard-EnforceRole".into(),
        member_enforcer_role: model_guard_aws::members::MEMBER_ENFORCE_ROLE.into(),
    };
    let mut times = Vec::with_capacity(runs + 1);
    for _ in 0..=runs {
        let event = create_endpoint_event(
            &unique("evt"),
            "DataScientist",
            &unique("ep"),
            &endpoint_config,
        );
        let input = serde_json::to_value(parse_event_value(&event)).unwrap();
        let started = Instant::now();
        let verdict = handle(input, &ports, chrono::Utc::now()).await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let model_guard_core::Evaluated::Verdict(verdict) = verdict else {
            panic!("waiting for records: {verdict:?}")
        };
        assert_eq!(verdict.decision, model_guard_core::Decision::Violation);
    }
    let first = times.remove(0);
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "evaluate handler against the testbed: first {first:.1} ms; then {} runs: median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms",
        times.len(),
        at(0.5),
        at(0.9),
        times[0],
        times[times.len() - 1]
    );
}
