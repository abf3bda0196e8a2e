//! Reads through the decisions table's keys-only indexes (`byResource`, `byState`).
//!
//! Those two indexes hold every audit item, so each of their writes is paid on every decided
//! event: projecting the keys only makes an index write one unit whatever the item's size
//! (bench/REPORT.md, "Cost"). A reader queries the index for the keys, then takes the items
//! from the table with consistent reads, in the index's order.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use model_guard_core::{ErrorKind, GuardError};

use crate::decisions_table::KEY;
use crate::sdk_error;

pub type Item = HashMap<String, AttributeValue>;

/// BatchGetItem's limit of keys per request.
const BATCH: usize = 100;
/// Rounds of unprocessed keys retried before the read fails (DynamoDB hands back what it could
/// not read under throttling; the SDK's own retries cover the request itself).
const ROUNDS: u32 = 6;

/// The `eventId` of an index entry (every projection carries the table's key).
fn event_id(entry: &Item) -> Option<&str> {
    entry
        .get(KEY)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The table's items for the entries `entries` of an index keyed by `index_key`, in their order.
/// The index lags the table a little, and the items are read fresh: an item whose `index_key` is
/// no longer the entry's (an item that left the `pending` state since) is not under that key any
/// more and is left out, as is one gone by the time it is read (the decisions table deletes only
/// ledger entries and nonces, which these indexes do not hold), and a key listed twice is read
/// once.
pub async fn items_for(
    client: &Client,
    table: &str,
    index_key: &str,
    entries: Vec<Item>,
) -> Result<Vec<Item>, GuardError> {
    let ids: Vec<String> = entries
        .iter()
        .map(|entry| {
            event_id(entry).map(str::to_owned).ok_or_else(|| {
                GuardError::new(
                    ErrorKind::AuditConflict,
                    format!("an index entry of {table} has no {KEY}"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut unique = ids;
    unique.sort();
    unique.dedup();
    let mut found: HashMap<String, Item> = HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(BATCH) {
        let mut keys: Vec<Item> = chunk
            .iter()
            .map(|id| HashMap::from([(KEY.to_owned(), AttributeValue::S(id.clone()))]))
            .collect();
        let mut round = 0;
        while !keys.is_empty() {
            if round == ROUNDS {
                return Err(GuardError::new(
                    ErrorKind::Throttled,
                    format!(
                        "BatchGetItem {table}: {} items still unprocessed after {ROUNDS} rounds (throttled, or more than a response holds)",
                        keys.len()
                    ),
                ));
            }
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(50 << round)).await;
            }
            round += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| {
                    GuardError::new(ErrorKind::AwsError, format!("BatchGetItem {table}: {e}"))
                })?;
            let out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("BatchGetItem {table}"), &e))?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(table))
                .unwrap_or_default()
            {
                if let Some(id) = event_id(&item).map(str::to_owned) {
                    found.insert(id, item);
                }
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
    }
    Ok(in_index_order(&entries, found, index_key))
}

/// `found` (by eventId) in the order of `entries`, each once, and only where it is still under
/// the entry's `index_key`.
fn in_index_order(
    entries: &[Item],
    mut found: HashMap<String, Item>,
    index_key: &str,
) -> Vec<Item> {
    entries
        .iter()
        .filter_map(|entry| {
            let item = found.remove(event_id(entry)?)?;
            (item.get(index_key) == entry.get(index_key)).then_some(item)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, state: &str) -> Item {
        HashMap::from([
            (KEY.to_owned(), AttributeValue::S(id.to_owned())),
            ("state".to_owned(), AttributeValue::S(state.to_owned())),
        ])
    }

    fn ids(items: &[Item]) -> Vec<&str> {
        items.iter().filter_map(event_id).collect()
    }

    #[test]
    fn items_come_in_the_index_order_once_each_and_only_while_still_under_its_key() {
        let entries = vec![
            item("c", "pending"),
            item("a", "pending"),
            item("gone", "pending"),
            item("moved", "pending"),
            item("a", "pending"),
            item("b", "pending"),
        ];
        let found = HashMap::from([
            ("a".to_owned(), item("a", "pending")),
            ("b".to_owned(), item("b", "pending")),
            ("c".to_owned(), item("c", "pending")),
            // Enforced since the index listed it: no longer pending.
            ("moved".to_owned(), item("moved", "enforced")),
        ]);
        let out = in_index_order(&entries, found, "state");
        assert_eq!(ids(&out), ["c", "a", "b"]);
    }
}
