//! CloudTrail's LookupEvents, for the sweep and the scan: the records of successful calls.
//! LookupEvents allows 2 requests per second per account and region: requests are paced, and the
//! SDK's retry (configured by each function's main) absorbs the throttling that remains.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::primitives::DateTime as AwsTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Utc};
use model_guard_core::ports::{CallHistory, LookupKey, Reach};
use model_guard_core::{ErrorKind, GuardError};
use serde_json::Value;

use crate::members::{PerPlace, Places};
use crate::sdk_error;

#[derive(Clone)]
pub struct CloudTrailHistory {
    client: Client,
    pace: Duration,
}

impl CloudTrailHistory {
    /// `pace`: the pause before each request (500 ms keeps one sweep under 2 per second).
    pub fn new(client: Client, pace: Duration) -> CloudTrailHistory {
        CloudTrailHistory { client, pace }
    }
}

/// CloudTrail in each place the guard acts in (`members`), its clients built once per container.
pub struct Histories {
    clients: PerPlace<Client>,
    pace: Duration,
}

impl Histories {
    pub fn new(places: Arc<Places>, pace: Duration) -> Histories {
        Histories {
            clients: PerPlace::new(places),
            pace,
        }
    }
}

/// One client wherever it is asked to look (`guardctl`, tests that bring their own).
impl Reach for CloudTrailHistory {
    type Port = CloudTrailHistory;

    async fn at(&self, _: Option<&str>, _: Option<&str>) -> Result<CloudTrailHistory, GuardError> {
        Ok(self.clone())
    }
}

impl Reach for Histories {
    type Port = CloudTrailHistory;

    async fn at(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<CloudTrailHistory, GuardError> {
        let client = self.clients.get(account, region, patient_client).await?;
        Ok(CloudTrailHistory::new(client, self.pace))
    }
}

impl CallHistory for CloudTrailHistory {
    async fn lookup(
        &self,
        key: LookupKey<'_>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<Value>, GuardError> {
        let (attribute_key, value) = match key {
            LookupKey::EventName(name) => (LookupAttributeKey::EventName, name),
            LookupKey::EventSource(source) => (LookupAttributeKey::EventSource, source),
        };
        let attribute = LookupAttribute::builder()
            .attribute_key(attribute_key)
            .attribute_value(value)
            .build()
            .map_err(|e| GuardError::new(ErrorKind::InvalidInput, e.to_string()))?;
        let mut records = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0usize;
        loop {
            if let Some(until) = until.filter(|u| Utc::now() >= *u) {
                return Err(GuardError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "LookupEvents {key}: out of time (until {until}) after {pages} pages ({} \
                         records of successful calls)",
                        records.len()
                    ),
                ));
            }
            pages += 1;
            tokio::time::sleep(self.pace).await;
            let page = self
                .client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(AwsTime::from_millis(start.timestamp_millis()))
                .end_time(AwsTime::from_millis(end.timestamp_millis()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(&format!("LookupEvents {key}"), &e))?;
            for event in page.events() {
                let Some(text) = event.cloud_trail_event() else {
                    continue;
                };
                match serde_json::from_str::<Value>(text) {
                    // A failed call changed nothing and the rule never matches one: only
                    // successful calls are kept, so a flood of failing calls costs no memory.
                    Ok(record) if failed(&record) => {}
                    Ok(record) => records.push(record),
                    // One unreadable record must not hide the others: log it and go on.
                    Err(e) => tracing::warn!(
                        event_id = event.event_id().unwrap_or_default(),
                        error = %e,
                        "a CloudTrailEvent is not JSON; skipped"
                    ),
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(records)
    }
}

/// A client with more patience than the default 3 attempts: LookupEvents allows 2 requests a
/// second.
pub fn patient_client(config: &aws_config::SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(8))
            .build(),
    )
}

/// CloudTrail records a failed call with its `errorCode`.
fn failed(record: &Value) -> bool {
    record
        .get("errorCode")
        .and_then(Value::as_str)
        .is_some_and(|code| !code.is_empty())
}
