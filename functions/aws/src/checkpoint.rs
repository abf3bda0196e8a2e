//! The sweep's checkpoints: one item in the decisions table for each place, holding the end of
//! the last window the sweep finished there (`sweep#checkpoint` at home, `sweep#checkpoint@<scope>`
//! elsewhere).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use model_guard_core::organization::scoped;
use model_guard_core::ports::SweepCheckpoint;
use model_guard_core::sweep::time_text;
use model_guard_core::{ErrorKind, GuardError};

use crate::decisions_table::{KEY, SWEEP_CHECKPOINT_KEY};

fn key(scope: Option<&str>) -> String {
    scoped(SWEEP_CHECKPOINT_KEY.to_owned(), scope)
}
use crate::sdk_error;

const END: &str = "sweptUntil";

pub struct DynamoCheckpoint {
    client: Client,
    table: String,
}

impl DynamoCheckpoint {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoCheckpoint {
        DynamoCheckpoint {
            client,
            table: table.into(),
        }
    }
}

impl SweepCheckpoint for DynamoCheckpoint {
    async fn last_end(&self, scope: Option<&str>) -> Result<Option<DateTime<Utc>>, GuardError> {
        let key = key(scope);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetItem {} {key}", self.table), &e))?;
        let Some(text) = out
            .item
            .as_ref()
            .and_then(|i| i.get(END))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| {
                GuardError::new(
                    ErrorKind::InvalidInput,
                    format!("{key}.{END} {text:?} is not a time: {e}"),
                )
            })
    }

    async fn save_end(&self, scope: Option<&str>, end: DateTime<Utc>) -> Result<(), GuardError> {
        let key = key(scope);
        // Only forward: two sweeps overlapping (a slow one and the next) never move it back.
        let text = time_text(end);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(key.clone()))
            .item(END, AttributeValue::S(text.clone()))
            .condition_expression("attribute_not_exists(#end) OR #end < :end")
            .expression_attribute_names("#end", END)
            .expression_attribute_values(":end", AttributeValue::S(text))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if crate::error::service_code(&e) == Some("ConditionalCheckFailedException") => {
                Ok(())
            }
            Err(e) => Err(sdk_error(&format!("PutItem {} {key}", self.table), &e)),
        }
    }
}
