//! The records table: every CreateModel and CreateEndpointConfig with its content as given, and
//! every delete of them; one partition per name (`model#NAME`, `endpoint-config#NAME`, case
//! folded), one item per call (`eventTime#eventId`), so a name created again is another record.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use model_guard_core::ports::RecordStore;
use model_guard_core::records::{History, MAX_HISTORY, RecordKind, ResourceRecord};
use model_guard_core::{ErrorKind, GuardError};

use crate::error::service_code;
use crate::records_table::{KEY, SORT};
use crate::sdk_error;

pub struct DynamoRecords {
    client: Client,
    table: String,
}

impl DynamoRecords {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoRecords {
        DynamoRecords {
            client,
            table: table.into(),
        }
    }

    fn key(record: &ResourceRecord) -> [(String, AttributeValue); 2] {
        [
            (KEY.to_owned(), AttributeValue::S(record.key())),
            (SORT.to_owned(), AttributeValue::S(record.sort_key())),
        ]
    }
}

impl RecordStore for DynamoRecords {
    async fn put(&self, record: &ResourceRecord) -> Result<(), GuardError> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record)
            .map_err(|e| GuardError::new(ErrorKind::InvalidInput, format!("record: {e}")))?;
        item.extend(Self::key(record));
        // The first write of a call's record stands: a duplicate delivery would write the same
        // item, and nothing else may replace what was recorded (a later write under the same
        // key is not the call's).
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", KEY)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if service_code(&e) == Some("ConditionalCheckFailedException") => {
                tracing::info!(
                    event_id = %record.event_id,
                    "already recorded: the first record of a call stands"
                );
                Ok(())
            }
            Err(e) => Err(sdk_error(&format!("PutItem {}", self.table), &e)),
        }
    }

    async fn history(
        &self,
        kind: RecordKind,
        name: &str,
        scope: Option<&str>,
    ) -> Result<History, GuardError> {
        // Newest first, and without the bulk of what was given: a decision reads the role, the
        // models and the containers (the name field marks a record that has content).
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#key = :key")
            .expression_attribute_names("#key", KEY)
            .expression_attribute_names("#sk", SORT)
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#scope", "scope")
            .projection_expression(
                "#key, #sk, #version, #scope, kind, #name, op, eventId, eventTime, principal, \
                 content.executionRoleArn, content.models, content.containers, \
                 content.given.modelName, content.given.endpointConfigName",
            )
            .expression_attribute_values(
                ":key",
                AttributeValue::S(ResourceRecord::partition_key(kind, name, scope)),
            )
            .scan_index_forward(false)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut history = History::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(&format!("Query {}", self.table), &e))?;
            for item in page.items() {
                if history.records.len() == MAX_HISTORY {
                    history.truncated = true;
                    return Ok(history);
                }
                let record: ResourceRecord =
                    serde_dynamo::from_item(item.clone()).map_err(|e| {
                        GuardError::new(
                            ErrorKind::InvalidInput,
                            format!(
                                "records table {} holds an item that is not a record: {e}",
                                self.table
                            ),
                        )
                    })?;
                history.records.push(record);
            }
        }
        Ok(history)
    }

    async fn contains(&self, record: &ResourceRecord) -> Result<bool, GuardError> {
        let [(k, kv), (s, sv)] = Self::key(record);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(k, kv)
            .key(s, sv)
            .projection_expression("#key")
            .expression_attribute_names("#key", KEY)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetItem {}", self.table), &e))?;
        Ok(out.item.is_some())
    }
}
