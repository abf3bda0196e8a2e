//! The policy table, read through a container-local cache.
//!
//! Every item is read (a Scan: the table holds one item per binding, hundreds at most) and
//! validated with the same code `guardctl` uses. The result is kept for at most
//! [`MAX_CACHE_SECONDS`]: a policy edit reaches every running container within a minute, and a
//! burst of deployments costs one Scan per container per minute, not one per event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use model_guard_core::ports::PolicyStore;
use model_guard_core::{ErrorKind, GuardError, PolicyItem, PolicySet};
use tokio::sync::Mutex;

use crate::sdk_error;

/// The longest a container keeps the policy before reading the table again.
pub const MAX_CACHE_SECONDS: u64 = 60;

pub struct DynamoPolicyStore {
    client: Client,
    table: String,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<PolicySet>)>>,
}

impl DynamoPolicyStore {
    /// `cache_seconds` is capped at [`MAX_CACHE_SECONDS`]; 0 reads the table on every call.
    pub fn new(client: Client, table: impl Into<String>, cache_seconds: u64) -> DynamoPolicyStore {
        DynamoPolicyStore {
            client,
            table: table.into(),
            ttl: Duration::from_secs(cache_seconds.min(MAX_CACHE_SECONDS)),
            cache: Mutex::new(None),
        }
    }

    /// How long a loaded policy is kept: what `new` was given, capped.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Reads and validates every item; the first invalid one is an error naming it and its field.
    pub async fn load(&self) -> Result<PolicySet, GuardError> {
        let values = scan_items(&self.client, &self.table).await?;
        let mut items = Vec::with_capacity(values.len());
        for (index, value) in values.iter().enumerate() {
            let position = format!("policy table {} item {index}", self.table);
            items.push(
                PolicyItem::from_value(&position, value)
                    .map_err(|e| GuardError::new(ErrorKind::PolicyInvalid, e.to_string()))?,
            );
        }
        PolicySet::new(items).map_err(|e| GuardError::new(ErrorKind::PolicyInvalid, e.to_string()))
    }
}

/// Every item of a policy table as JSON, unvalidated (a consistent Scan, all pages): what
/// [`DynamoPolicyStore::load`] validates, and what `guardctl` shows and edits.
pub async fn scan_items(
    client: &Client,
    table: &str,
) -> Result<Vec<serde_json::Value>, GuardError> {
    let pages = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut values = Vec::with_capacity(pages.len());
    for (index, item) in pages.into_iter().enumerate() {
        let item = item.map_err(|e| sdk_error(&format!("Scan {table}"), &e))?;
        values.push(serde_dynamo::from_item(item).map_err(|e| {
            GuardError::new(
                ErrorKind::PolicyInvalid,
                format!("policy table {table} item {index}: {e}"),
            )
        })?);
    }
    Ok(values)
}

impl PolicyStore for DynamoPolicyStore {
    async fn policies(&self) -> Result<Arc<PolicySet>, GuardError> {
        let mut cache = self.cache.lock().await;
        if let Some((loaded, set)) = cache.as_ref()
            && loaded.elapsed() < self.ttl
        {
            return Ok(set.clone());
        }
        let set = Arc::new(self.load().await?);
        *cache = Some((Instant::now(), set.clone()));
        tracing::info!(items = set.items().len(), table = %self.table, "policy loaded");
        Ok(set)
    }
}
