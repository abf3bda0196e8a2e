//! The ledger of unsettled events, as items of the decisions table under `undecided#<eventID>`,
//! in the sparse `byUndecided` index. The triage machine writes and deletes them too (see
//! `statemachine/triage.asl.json`); this is the sweep's side.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use chrono::{DateTime, Utc};
use model_guard_core::audit::{FailureRecord, timestamp};
use model_guard_core::ledger::LedgerEntry;
use model_guard_core::ports::EventLedger;
use model_guard_core::{ErrorKind, GuardError};

use crate::decisions_table::{KEY, UNDECIDED_INDEX, UNDECIDED_PREFIX};
use crate::error::service_code;
use crate::sdk_error;

const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoLedger {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }

    fn key(event_id: &str) -> AttributeValue {
        AttributeValue::S(format!("{UNDECIDED_PREFIX}{event_id}"))
    }
}

/// A conditional write's outcome: `false` when its condition did not hold.
fn applied<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    doing: &str,
) -> Result<bool, GuardError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(false),
        Err(e) => Err(sdk_error(doing, &e)),
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> GuardError {
    GuardError::new(ErrorKind::InvalidInput, format!("{what}: {e}"))
}

impl EventLedger for DynamoLedger {
    async fn note(&self, entry: &LedgerEntry) -> Result<bool, GuardError> {
        let mut item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(entry).map_err(|e| invalid("cannot store a ledger entry", e))?;
        item.insert(KEY.to_owned(), Self::key(&entry.event_id));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", KEY)
            .send()
            .await;
        applied(put, &format!("PutItem {}", self.table))
    }

    async fn submitted(&self, event_id: &str, at: DateTime<Utc>) -> Result<bool, GuardError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, Self::key(event_id))
            .update_expression(
                "SET attempts = if_not_exists(attempts, :zero) + :one, lastSubmittedAt = :at",
            )
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#key", KEY)
            .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(&at)))
            .send()
            .await;
        applied(update, &format!("UpdateItem {}", self.table))
    }

    async fn failed(
        &self,
        event_id: &str,
        failure: &FailureRecord,
        at: DateTime<Utc>,
    ) -> Result<(), GuardError> {
        let failure = serde_dynamo::to_attribute_value(failure)
            .map_err(|e| invalid("cannot store a failure", e))?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, Self::key(event_id))
            .update_expression("SET failure = :failure, failedAt = :at")
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#key", KEY)
            .expression_attribute_values(":failure", failure)
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(&at)))
            .send()
            .await;
        // Settled meanwhile (the condition failed): nothing to say.
        applied(update, &format!("UpdateItem {}", self.table)).map(|_| ())
    }

    async fn settle(&self, event_id: &str, envelope: &str) -> Result<bool, GuardError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, Self::key(event_id))
            .condition_expression("envelope = :envelope")
            .expression_attribute_values(":envelope", AttributeValue::S(envelope.to_owned()))
            .send()
            .await;
        applied(delete, &format!("DeleteItem {}", self.table))
    }

    async fn entries(&self) -> Result<Vec<Result<LedgerEntry, GuardError>>, GuardError> {
        // A scan of the sparse index reads the ledger entries only.
        let pages = self
            .client
            .scan()
            .table_name(&self.table)
            .index_name(UNDECIDED_INDEX)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut entries = Vec::with_capacity(pages.len());
        for item in pages {
            let item = item.map_err(|e| sdk_error(&format!("Scan {}", self.table), &e))?;
            let id = item
                .get(KEY)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            entries.push(
                serde_dynamo::from_item::<_, LedgerEntry>(item).map_err(|e| {
                    GuardError::new(
                        ErrorKind::AuditConflict,
                        format!(
                            "decisions table {} item {id:?} is not a ledger entry: {e}",
                            self.table
                        ),
                    )
                }),
            );
        }
        // Oldest first; the unreadable ones first of all (they are reported, not retried).
        entries.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => (a.first_seen_at, &a.event_id).cmp(&(b.first_seen_at, &b.event_id)),
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Err(_)) => std::cmp::Ordering::Equal,
        });
        Ok(entries)
    }
}
