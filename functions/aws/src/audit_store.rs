//! The decisions table: one item per decided event, whose state only moves forward through
//! conditional writes (a duplicate delivery or a retried step never moves it back).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use model_guard_core::approval::ApprovalDecision;
use model_guard_core::audit::{
    ApprovalRecord, AuditItem, AuditState, RollbackRecord, Transition, timestamp,
};
use model_guard_core::notification::NotificationKind;
use model_guard_core::ports::{Advance, AuditLog, Recorded};
use model_guard_core::{ErrorKind, GuardError};
use serde::Serialize;

use crate::decisions_table::{
    ALERT_INDEX, ALERT_INDEX_KEY, KEY, RESOURCE_INDEX, RESOURCE_INDEX_KEY, STATE_INDEX,
    STATE_INDEX_KEY,
};
use crate::error::service_code;
use crate::keyed_reads::items_for;
use crate::sdk_error;

pub struct DynamoAuditLog {
    client: Client,
    table: String,
}

const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// The key prefix of a used approval nonce (`#` is in no CloudTrail eventID).
pub const NONCE_PREFIX: &str = "approval-nonce#";

fn value<T: Serialize>(what: &str, v: &T) -> Result<AttributeValue, GuardError> {
    serde_dynamo::to_attribute_value(v)
        .map_err(|e| GuardError::new(ErrorKind::InvalidInput, format!("cannot store {what}: {e}")))
}

fn read_item(table: &str, item: HashMap<String, AttributeValue>) -> Result<AuditItem, GuardError> {
    let id = item
        .get(KEY)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::from_item(item).map_err(|e| {
        GuardError::new(
            ErrorKind::AuditConflict,
            format!("decisions table {table} item {id:?} is not an audit item: {e}"),
        )
    })
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoAuditLog {
        DynamoAuditLog {
            client,
            table: table.into(),
        }
    }

    fn key(event_id: &str) -> (String, AttributeValue) {
        (KEY.to_owned(), AttributeValue::S(event_id.to_owned()))
    }
}

impl DynamoAuditLog {
    /// Every item of an index under one key, all pages, by its sort key (`decidedAt`), read from
    /// the table where the index holds keys only.
    async fn query_index(
        &self,
        index: &str,
        key_name: &str,
        key: AttributeValue,
        oldest_first: bool,
    ) -> Result<Vec<AuditItem>, GuardError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", key_name)
            .expression_attribute_values(":k", key)
            .scan_index_forward(oldest_first)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let entries = pages
            .into_iter()
            .map(|entry| entry.map_err(|e| sdk_error(&format!("Query {}", self.table), &e)))
            .collect::<Result<Vec<_>, _>>()?;
        // `byResource` and `byState` hold keys only; the sparse `byAlertOwed` holds the items.
        let items = if index == ALERT_INDEX {
            entries
        } else {
            items_for(&self.client, &self.table, key_name, entries).await?
        };
        items
            .into_iter()
            .map(|item| read_item(&self.table, item))
            .collect()
    }

    async fn renew_token(
        &self,
        event_id: &str,
        advance: &Advance,
    ) -> Result<AuditItem, GuardError> {
        let (k, v) = Self::key(event_id);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression(if advance.deadline.is_some() {
                "SET taskToken = :token, deadline = :deadline, updatedAt = :at"
            } else {
                "SET taskToken = :token, updatedAt = :at"
            })
            .condition_expression("#state = :pending AND attribute_not_exists(approval)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", value("state", &AuditState::Pending)?)
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(&advance.at)))
            .return_values(ReturnValue::AllNew);
        if let Some(token) = &advance.task_token {
            update = update.expression_attribute_values(":token", AttributeValue::S(token.clone()));
        }
        if let Some(deadline) = &advance.deadline {
            update = update.expression_attribute_values(
                ":deadline",
                AttributeValue::S(timestamp::format(deadline)),
            );
        }
        match update.send().await {
            Ok(out) => read_item(&self.table, out.attributes.unwrap_or_default()),
            // An approver decided in between: that decision stands, on the old token.
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => {
                self.get(event_id).await?.ok_or_else(|| {
                    GuardError::new(
                        ErrorKind::AuditConflict,
                        format!("event {event_id} has no audit item"),
                    )
                })
            }
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }
}

impl AuditLog for DynamoAuditLog {
    async fn record(&self, item: &AuditItem) -> Result<Recorded, GuardError> {
        let attributes: HashMap<String, AttributeValue> = serde_dynamo::to_item(item)
            .map_err(|e| GuardError::new(ErrorKind::InvalidInput, format!("audit item: {e}")))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attributes))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", KEY)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Recorded::Created),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => {
                match self.get(&item.event_id).await? {
                    Some(existing) => Ok(Recorded::Existing(Box::new(existing))),
                    None => Err(GuardError::new(
                        ErrorKind::AuditConflict,
                        format!("event {} exists and then does not", item.event_id),
                    )),
                }
            }
            Err(e) => Err(sdk_error(&format!("PutItem {}", self.table), &e)),
        }
    }

    async fn get(&self, event_id: &str) -> Result<Option<AuditItem>, GuardError> {
        let (k, v) = Self::key(event_id);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(k, v)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetItem {}", self.table), &e))?;
        out.item.map(|i| read_item(&self.table, i)).transpose()
    }

    async fn for_resource(&self, resource_key: &str) -> Result<Vec<AuditItem>, GuardError> {
        let key = AttributeValue::S(resource_key.to_owned());
        self.query_index(RESOURCE_INDEX, RESOURCE_INDEX_KEY, key, false)
            .await
    }

    async fn advance(&self, event_id: &str, advance: &Advance) -> Result<AuditItem, GuardError> {
        let mut set = vec![
            "#state = :to",
            "updatedAt = :at",
            "history = list_append(history, :moved)",
        ];
        let mut remove = Vec::new();
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        values.insert(":to".into(), value("state", &advance.to)?);
        values.insert(
            ":at".into(),
            AttributeValue::S(timestamp::format(&advance.at)),
        );
        values.insert(
            ":moved".into(),
            value(
                "history",
                &[Transition {
                    state: advance.to,
                    at: advance.at,
                }],
            )?,
        );
        if let Some(deadline) = &advance.deadline {
            set.push("deadline = :deadline");
            values.insert(
                ":deadline".into(),
                AttributeValue::S(timestamp::format(deadline)),
            );
        }
        match &advance.task_token {
            Some(token) => {
                set.push("taskToken = :token");
                values.insert(":token".into(), AttributeValue::S(token.clone()));
            }
            // The token is only good while the item is pending.
            None => remove.push("taskToken"),
        }
        if let Some(enforcement) = &advance.enforcement {
            set.push("enforcement = :enforcement");
            values.insert(":enforcement".into(), value("enforcement", enforcement)?);
        }
        if let Some(failure) = &advance.failure {
            set.push("failure = :failure");
            values.insert(":failure".into(), value("failure", failure)?);
        }
        // In the same write as the move: an alert is owed from the moment the state is.
        if let Some(owed) = NotificationKind::owed_in(advance.to) {
            set.push("alertOwed = :owed");
            values.insert(":owed".into(), value("alertOwed", &owed)?);
        }
        let predecessors = advance.to.predecessors();
        let mut condition = Vec::new();
        for (i, state) in predecessors.iter().enumerate() {
            let name = format!(":from{i}");
            condition.push(name.clone());
            values.insert(name, value("state", state)?);
        }
        if condition.is_empty() {
            return Err(GuardError::new(
                ErrorKind::AuditConflict,
                format!("no item moves to {}", advance.to),
            ));
        }
        let mut condition = format!("#state IN ({})", condition.join(", "));
        // An item is approved only with the approval function's record on it: a task success
        // from anyone else holding the token does not approve.
        if advance.to == AuditState::Approved {
            condition.push_str(" AND approval.decision = :approve");
            values.insert(
                ":approve".into(),
                value("decision", &ApprovalDecision::Approve)?,
            );
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let (k, v) = Self::key(event_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => read_item(&self.table, out.attributes.unwrap_or_default()),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => {
                match self.get(event_id).await? {
                    // A retried step: the move was made before.
                    // A retried AwaitApproval has a new token (and its timer restarted): the
                    // approval function must answer that one.
                    Some(item)
                        if item.state == AuditState::Pending
                            && advance.to == AuditState::Pending
                            && advance.task_token.is_some()
                            && item.task_token != advance.task_token =>
                    {
                        self.renew_token(event_id, advance).await
                    }
                    Some(item) if item.state == advance.to => Ok(item),
                    Some(item)
                        if advance.to == AuditState::Approved
                            && item.state == AuditState::Pending =>
                    {
                        Err(GuardError::new(
                            ErrorKind::ApprovalNotRecorded,
                            format!(
                                "event {event_id}: the approval task was answered, but the \
                                 approval function recorded no approval"
                            ),
                        ))
                    }
                    Some(item) => Err(GuardError::new(
                        ErrorKind::AuditConflict,
                        format!(
                            "event {event_id} is {}; it cannot move to {}",
                            item.state, advance.to
                        ),
                    )),
                    None => Err(GuardError::new(
                        ErrorKind::AuditConflict,
                        format!("event {event_id} has no audit item"),
                    )),
                }
            }
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn record_approval(
        &self,
        event_id: &str,
        approval: &ApprovalRecord,
    ) -> Result<bool, GuardError> {
        let (k, v) = Self::key(event_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("SET approval = :approval, updatedAt = :at")
            .condition_expression("#state = :pending AND attribute_not_exists(approval)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":approval", value("approval", approval)?)
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(&approval.at)))
            .expression_attribute_values(":pending", value("state", &AuditState::Pending)?)
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn note_rollback(
        &self,
        event_id: &str,
        execution: &str,
        record: &RollbackRecord,
    ) -> Result<RollbackRecord, GuardError> {
        let (k, v) = Self::key(event_id);
        // The first attempt's record stays: the calls of every attempt are the guard's.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("SET #rollback = if_not_exists(#rollback, :rollback)")
            .condition_expression("#execution = :execution")
            .expression_attribute_names("#rollback", "rollback")
            .expression_attribute_names("#execution", "execution")
            .expression_attribute_values(":rollback", value("rollback", record)?)
            .expression_attribute_values(":execution", AttributeValue::S(execution.to_owned()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => {
                let item = read_item(&self.table, out.attributes.unwrap_or_default())?;
                item.rollback.ok_or_else(|| {
                    GuardError::new(
                        ErrorKind::AuditConflict,
                        format!("event {event_id}: the rollback record was not kept"),
                    )
                })
            }
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Err(GuardError::new(
                ErrorKind::AuditConflict,
                format!("event {event_id} is not held by {execution}: no rollback is begun"),
            )),
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn withdraw_approval(
        &self,
        event_id: &str,
        approval: &ApprovalRecord,
    ) -> Result<(), GuardError> {
        let (k, v) = Self::key(event_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("REMOVE approval")
            .condition_expression("approval = :approval")
            .expression_attribute_values(":approval", value("approval", approval)?)
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            // Someone else's decision now: leave it.
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(()),
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn claim(
        &self,
        event_id: &str,
        execution: &str,
        deadline: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<AuditItem>, GuardError> {
        let (k, v) = Self::key(event_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression(
                "SET execution = :me, deadline = if_not_exists(deadline, :deadline), updatedAt = :at",
            )
            .condition_expression(
                "#state IN (:evaluated, :pending) AND (attribute_not_exists(execution) OR execution = :me)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":me", AttributeValue::S(execution.to_owned()))
            .expression_attribute_values(
                ":deadline",
                AttributeValue::S(timestamp::format(&deadline)),
            )
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(&at)))
            .expression_attribute_values(":evaluated", value("state", &AuditState::Evaluated)?)
            .expression_attribute_values(":pending", value("state", &AuditState::Pending)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => read_item(&self.table, out.attributes.unwrap_or_default()).map(Some),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(None),
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn hand_over(
        &self,
        event_id: &str,
        from: Option<&str>,
        to: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        let (k, v) = Self::key(event_id);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("SET execution = :to, updatedAt = :at")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":to", AttributeValue::S(to.to_owned()))
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(&at)))
            .expression_attribute_values(":evaluated", value("state", &AuditState::Evaluated)?)
            .expression_attribute_values(":pending", value("state", &AuditState::Pending)?);
        update = match from {
            Some(from) => update
                .condition_expression("#state IN (:evaluated, :pending) AND execution = :from")
                .expression_attribute_values(":from", AttributeValue::S(from.to_owned())),
            None => update.condition_expression(
                "#state IN (:evaluated, :pending) AND attribute_not_exists(execution)",
            ),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn in_state(&self, state: AuditState) -> Result<Vec<AuditItem>, GuardError> {
        self.query_index(STATE_INDEX, STATE_INDEX_KEY, value("state", &state)?, true)
            .await
    }

    async fn alert_sent(&self, event_id: &str, kind: NotificationKind) -> Result<bool, GuardError> {
        let (k, v) = Self::key(event_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("REMOVE alertOwed")
            .condition_expression("alertOwed = :kind")
            .expression_attribute_values(":kind", value("alertOwed", &kind)?)
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(sdk_error(&format!("UpdateItem {}", self.table), &e)),
        }
    }

    async fn owing_alerts(&self) -> Result<Vec<AuditItem>, GuardError> {
        let mut owing = Vec::new();
        for kind in NotificationKind::OWABLE {
            let key = value("alertOwed", &kind)?;
            owing.extend(
                self.query_index(ALERT_INDEX, ALERT_INDEX_KEY, key, true)
                    .await?,
            );
        }
        owing.sort_by_key(|item| item.decided_at);
        Ok(owing)
    }

    async fn use_nonce(
        &self,
        nonce: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        // Beside the audit items, under a key no eventID can take, in neither index.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(format!("{NONCE_PREFIX}{nonce}")))
            .item("usedBy", AttributeValue::S(by.to_owned()))
            .item("usedAt", AttributeValue::S(timestamp::format(&at)))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", KEY)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if service_code(&e) == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(sdk_error(&format!("PutItem {}", self.table), &e)),
        }
    }
}
