//! The SNS notifier: one message per notification, `MessageStructure=json` (readable text for
//! e-mail, the JSON document for every other protocol), with message attributes for
//! subscription filter policies.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use model_guard_core::notification::Notification;
use model_guard_core::ports::Notifier;
use model_guard_core::{ErrorKind, GuardError};

use crate::sdk_error;

pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> SnsNotifier {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

/// The `Message` of a `MessageStructure=json` publish.
pub fn message_json(notification: &Notification) -> Result<String, GuardError> {
    let document = serde_json::to_string(&notification.document).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("notification document: {e}"),
        )
    })?;
    serde_json::to_string(&serde_json::json!({
        "default": document,
        "email": notification.text,
    }))
    .map_err(|e| GuardError::new(ErrorKind::InvalidInput, format!("notification: {e}")))
}

impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, GuardError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .subject(&notification.subject)
            .message(message_json(notification)?);
        for (name, value) in &notification.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| {
                    GuardError::new(ErrorKind::InvalidInput, format!("attribute {name}: {e}"))
                })?;
            request = request.message_attributes(*name, attribute);
        }
        let out = request
            .send()
            .await
            .map_err(|e| sdk_error(&format!("Publish {}", self.topic_arn), &e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
