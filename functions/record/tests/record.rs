//! Record against the testbed: records written to a real DynamoDB table and read back as
//! Evaluate reads them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use model_guard_aws::records_store::DynamoRecords;
use model_guard_core::ports::RecordStore;
use model_guard_core::records::{RecordKind, RecordOp};
use model_guard_core::{ErrorKind, parse_event_value};
use model_guard_testkit::{cloudtrail_event, config, records_table, unique};
use record::{Ports, handle};
use serde_json::json;

async fn ports() -> Ports<DynamoRecords> {
    let config = config().await;
    let table = records_table(&config).await;
    Ports {
        records: DynamoRecords::new(aws_sdk_dynamodb::Client::new(&config), table),
    }
}

fn parsed(event: serde_json::Value) -> serde_json::Value {
    serde_json::to_value(parse_event_value(&event)).unwrap()
}

#[tokio::test]
async fn creates_and_deletes_are_kept_per_call_and_read_back_by_name() {
    let ports = ports().await;
    let name = unique("Fraud-Config");
    let create = |id: &str| {
        cloudtrail_event(
            id,
            "CreateEndpointConfig",
            "MLDeployer",
            json!({"endpointConfigName": name, "tags": [{"key": "k", "value": "v"}],
                   "productionVariants": [{"variantName": "a", "modelName": "fraud-v3"}],
                   "shadowProductionVariants": [{"variantName": "s", "modelName": "fraud-v4"}]}),
            json!({"endpointConfigArn": format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{name}")}),
        )
    };
    let first = unique("evt");
    let out = handle(parsed(create(&first)), &ports).await.unwrap();
    assert_eq!(out["recorded"]["op"], "create");
    // A duplicate delivery changes nothing; nor does another content under the call's key (the
    // first record of a call stands).
    handle(parsed(create(&first)), &ports).await.unwrap();
    let mut forged = parsed(create(&first));
    forged["record"]["content"]["models"] = json!(["harmless"]);
    handle(forged, &ports).await.unwrap();
    let deleted = cloudtrail_event(
        &unique("evt"),
        "DeleteEndpointConfig",
        "MLDeployer",
        json!({"endpointConfigName": name}),
        json!(null),
    );
    handle(parsed(deleted), &ports).await.unwrap();
    // Created again under the same name: another record.
    handle(parsed(create(&unique("evt"))), &ports)
        .await
        .unwrap();

    // Names ignore case.
    let history = ports
        .records
        .history(RecordKind::EndpointConfig, &name.to_uppercase())
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "{history:#?}");
    let ops: Vec<RecordOp> = history.iter().map(|r| r.op).collect();
    assert_eq!(
        ops.iter().filter(|o| **o == RecordOp::Create).count(),
        2,
        "{ops:?}"
    );
    let kept = history.iter().find(|r| r.event_id == first).unwrap();
    let content = kept.content.as_ref().unwrap();
    assert_eq!(content.models, ["fraud-v3", "fraud-v4"]);
    assert!(content.given.get("tags").is_none(), "tags are not content");
    assert_eq!(content.given["productionVariants"][0]["variantName"], "a");
    assert!(ports.records.contains(kept).await.unwrap());
}

#[tokio::test]
async fn anything_but_a_record_is_refused() {
    let ports = ports().await;
    let deployment = cloudtrail_event(
        &unique("evt"),
        "CreateEndpoint",
        "MLDeployer",
        json!({"endpointName": "e", "endpointConfigName": "c"}),
        json!({"endpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"}),
    );
    for input in [parsed(deployment), json!({"outcome": "record"}), json!("x")] {
        let error = handle(input.clone(), &ports).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput, "{input}: {error}");
    }
}
