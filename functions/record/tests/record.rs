//! Record against the testbed: records written to a real DynamoDB table and read back as
//! Evaluate reads them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use model_guard_aws::records_store::DynamoRecords;
use model_guard_core::organization::Guarded;
use model_guard_core::ports::RecordStore;
use model_guard_core::records::{MAX_HISTORY, RecordKind, RecordOp, ResourceRecord};
use model_guard_core::{ErrorKind, parse_event_value, parse_guarded_event};
use model_guard_testkit::{cloudtrail_event, config, record_of, records_table, unique};
use record::{Ports, handle};
use serde_json::json;

async fn ports() -> (Ports<DynamoRecords>, String) {
    let config = config().await;
    let table = records_table(&config).await;
    let ports = Ports {
        records: DynamoRecords::new(aws_sdk_dynamodb::Client::new(&config), &table),
    };
    (ports, table)
}

fn parsed(event: serde_json::Value) -> serde_json::Value {
    serde_json::to_value(parse_event_value(&event)).unwrap()
}

#[tokio::test]
async fn creates_and_deletes_are_kept_per_call_and_read_back_by_name() {
    let (ports, ports_table) = ports().await;
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
    // Built once: a redelivered call is the same event, time included (building it again could
    // cross a second and make another call of it).
    let first_call = create(&first);
    let out = handle(parsed(first_call.clone()), &ports).await.unwrap();
    assert_eq!(out["recorded"]["op"], "create");
    // A duplicate delivery changes nothing; nor does another content under the call's key (the
    // first record of a call stands).
    handle(parsed(first_call.clone()), &ports).await.unwrap();
    let mut forged = parsed(first_call);
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
        .history(RecordKind::EndpointConfig, &name.to_uppercase(), None)
        .await
        .unwrap();
    assert!(!history.truncated);
    let history = history.records;
    assert_eq!(history.len(), 3, "{history:#?}");
    let ops: Vec<RecordOp> = history.iter().map(|r| r.op).collect();
    assert_eq!(
        ops.iter().filter(|o| **o == RecordOp::Create).count(),
        2,
        "{ops:?}"
    );
    let kept = history.iter().find(|r| r.event_id == first).unwrap();
    // What a decision reads: the models (the first write's, not the forged one's) and the role.
    let content = kept.content.as_ref().unwrap();
    assert_eq!(content.models, ["fraud-v3", "fraud-v4"]);
    assert!(ports.records.contains(kept).await.unwrap());
    // The table keeps what was given, less the tags.
    let item = aws_sdk_dynamodb::Client::new(&config().await)
        .get_item()
        .table_name(&ports_table)
        .key(
            "pk",
            AttributeValue::S(format!("endpoint-config#{}", name.to_lowercase())),
        )
        .key("sk", AttributeValue::S(kept.sort_key()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let stored: ResourceRecord = serde_dynamo::from_item(item).unwrap();
    let given = stored.content.unwrap().given;
    assert!(given.get("tags").is_none(), "tags are not content");
    assert_eq!(given["productionVariants"][0]["variantName"], "a");
}

/// One name in the guard's own account and in a member's (or another region): two resources,
/// whose records are kept and read apart.
#[tokio::test]
async fn the_same_name_elsewhere_is_another_resource_with_records_of_its_own() {
    let (ports, _) = ports().await;
    let guarded = Guarded::new("123456789012", "us-east-1", Some("444455556666")).unwrap();
    let name = unique("shared-name");
    let create = |account: &str, region: &str, model: &str| {
        let mut event = cloudtrail_event(
            &unique("evt"),
            "CreateEndpointConfig",
            "MLDeployer",
            json!({"endpointConfigName": name,
                   "productionVariants": [{"variantName": "a", "modelName": model}]}),
            json!(null),
        );
        event["account"] = json!(account);
        event["region"] = json!(region);
        serde_json::to_value(parse_guarded_event(&event, &guarded)).unwrap()
    };
    handle(create("123456789012", "us-east-1", "home-model"), &ports)
        .await
        .unwrap();
    handle(create("444455556666", "eu-west-1", "member-model"), &ports)
        .await
        .unwrap();
    handle(
        create("123456789012", "eu-west-1", "other-region-model"),
        &ports,
    )
    .await
    .unwrap();
    let models = |scope: Option<&'static str>| {
        let records = &ports.records;
        let name = name.clone();
        async move {
            let history = records
                .history(RecordKind::EndpointConfig, &name, scope)
                .await
                .unwrap();
            for r in &history.records {
                assert!(records.contains(r).await.unwrap(), "{r:?}");
            }
            history
                .records
                .iter()
                .flat_map(|r| r.content.as_ref().unwrap().models.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(models(None).await, ["home-model"]);
    assert_eq!(
        models(Some("444455556666/eu-west-1")).await,
        ["member-model"]
    );
    assert_eq!(
        models(Some("123456789012/eu-west-1")).await,
        ["other-region-model"]
    );
}

#[tokio::test]
async fn a_name_recorded_more_often_than_a_decision_reads_says_so() {
    // Someone creating and deleting one name over and over must not make every decision about
    // it read them all: the newest MAX_HISTORY, and the word that there are more.
    let config = config().await;
    let table = records_table(&config).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = unique("churned");
    let records: Vec<ResourceRecord> = (0..=MAX_HISTORY)
        .map(|i| {
            let event = cloudtrail_event(
                &format!("evt-{i:05}"),
                "DeleteEndpointConfig",
                "DataScientist",
                json!({"endpointConfigName": name}),
                json!(null),
            );
            record_of(&event)
        })
        .collect();
    for chunk in records.chunks(25) {
        let writes = chunk
            .iter()
            .map(|r| {
                let mut item: std::collections::HashMap<String, AttributeValue> =
                    serde_dynamo::to_item(r).unwrap();
                item.insert("pk".into(), AttributeValue::S(r.key()));
                item.insert("sk".into(), AttributeValue::S(r.sort_key()));
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items(&table, writes)
            .send()
            .await
            .unwrap();
    }
    let store = DynamoRecords::new(client, &table);
    let history = store
        .history(RecordKind::EndpointConfig, &name, None)
        .await
        .unwrap();
    assert!(history.truncated);
    assert_eq!(history.records.len(), MAX_HISTORY);
}

#[tokio::test]
async fn anything_but_a_record_is_refused() {
    let (ports, _) = ports().await;
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
