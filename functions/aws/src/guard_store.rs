//! Two things the guard keeps about itself beside the audit items in the decisions table: what
//! the health check last alerted (`health#last`), and the guard topic's messages
//! (`guard-alert#<MessageId>`, in the `byState` index under the state `guard-alert`); and what
//! the drift scan alerted (`drift#<finding key>`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use model_guard_core::audit::timestamp;
use model_guard_core::guard_log::{GUARD_ALERT_STATE, GuardAlertRecord};
use model_guard_core::ports::{DriftMemory, GuardAlertLog, HealthMemory};
use model_guard_core::{ErrorKind, GuardError};

use crate::decisions_table::{HEALTH_KEY, KEY, RESOURCE_INDEX_SORT, STATE_INDEX, STATE_INDEX_KEY};
use crate::error::service_code;
use crate::sdk_error;

const FAILING: &str = "failing";
const AT: &str = "at";

pub struct DynamoGuardStore {
    client: Client,
    table: String,
}

impl DynamoGuardStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoGuardStore {
        DynamoGuardStore {
            client,
            table: table.into(),
        }
    }
}

impl HealthMemory for DynamoGuardStore {
    async fn last_failing(&self) -> Result<Option<Vec<String>>, GuardError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(HEALTH_KEY.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetItem {} {HEALTH_KEY}", self.table), &e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let failing = match item.get(FAILING) {
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| v.as_s().cloned().unwrap_or_default())
                .collect(),
            // Stored as an empty set of nothing: DynamoDB keeps an empty list as `L: []`.
            _ => Vec::new(),
        };
        Ok(Some(failing))
    }

    async fn save_failing(&self, failing: &[String], at: DateTime<Utc>) -> Result<(), GuardError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(HEALTH_KEY.to_owned()))
            .item(
                FAILING,
                AttributeValue::L(failing.iter().cloned().map(AttributeValue::S).collect()),
            )
            .item(AT, AttributeValue::S(timestamp::format(&at)))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("PutItem {} {HEALTH_KEY}", self.table), &e))?;
        Ok(())
    }
}

impl GuardAlertLog for DynamoGuardStore {
    async fn keep(&self, record: &GuardAlertRecord) -> Result<bool, GuardError> {
        let item = serde_dynamo::to_item(record).map_err(|e| {
            GuardError::new(
                ErrorKind::InvalidInput,
                format!("guard alert {}: {e}", record.event_id),
            )
        })?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if service_code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk_error(
                &format!("PutItem {} {}", self.table, record.event_id),
                &e,
            )),
        }
    }

    async fn since(&self, since: DateTime<Utc>) -> Result<Vec<GuardAlertRecord>, GuardError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STATE_INDEX)
            .key_condition_expression("#s = :s AND #at >= :since")
            .expression_attribute_names("#s", STATE_INDEX_KEY)
            // Both indexes sort by decidedAt.
            .expression_attribute_names("#at", RESOURCE_INDEX_SORT)
            .expression_attribute_values(":s", AttributeValue::S(GUARD_ALERT_STATE.to_owned()))
            .expression_attribute_values(":since", AttributeValue::S(timestamp::format(&since)))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let entries = items
            .into_iter()
            .map(|entry| entry.map_err(|e| sdk_error(&format!("Query {}", self.table), &e)))
            .collect::<Result<Vec<_>, _>>()?;
        // `byState` holds keys only (`keyed_reads`).
        crate::keyed_reads::items_for(&self.client, &self.table, STATE_INDEX_KEY, entries)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| {
                    GuardError::new(
                        ErrorKind::AuditConflict,
                        format!("an unreadable guard alert in {}: {e}", self.table),
                    )
                })
            })
            .collect()
    }
}

/// The drift scan's memory item of a finding.
fn drift_key(key: &str) -> String {
    format!("drift#{key}")
}

impl DriftMemory for DynamoGuardStore {
    async fn alerted(&self, key: &str) -> Result<bool, GuardError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(drift_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetItem {} {}", self.table, drift_key(key)), &e))?;
        Ok(out.item.is_some())
    }

    async fn remember(
        &self,
        key: &str,
        resource: &str,
        at: DateTime<Utc>,
    ) -> Result<(), GuardError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(drift_key(key)))
            .item("resource", AttributeValue::S(resource.to_owned()))
            .item(AT, AttributeValue::S(timestamp::format(&at)))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("PutItem {} {}", self.table, drift_key(key)), &e))?;
        Ok(())
    }
}
