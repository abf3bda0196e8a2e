//! The SNS notifier: each notification to its channel's topic (violations, or the guard's own),
//! one message per notification, `MessageStructure=json` (readable text for
//! e-mail, the JSON document for every other protocol), with message attributes for
//! subscription filter policies.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use model_guard_core::notification::{Channel, Notification};
use model_guard_core::ports::Notifier;
use model_guard_core::{ErrorKind, GuardError};

use crate::sdk_error;

pub struct SnsNotifier {
    client: Client,
    /// Violations and what became of them; `None` for a function that raises tamper alerts only.
    violations_topic: Option<String>,
    /// The guard's own alerts (`Channel::Guard`).
    guard_topic: String,
}

impl SnsNotifier {
    /// Publishes each notification to its channel's topic.
    pub fn new(
        client: Client,
        violations_topic: impl Into<String>,
        guard_topic: impl Into<String>,
    ) -> SnsNotifier {
        SnsNotifier {
            client,
            violations_topic: Some(violations_topic.into()),
            guard_topic: guard_topic.into(),
        }
    }

    /// For a function that raises tamper alerts only (claim, approve).
    pub fn guard_only(client: Client, guard_topic: impl Into<String>) -> SnsNotifier {
        SnsNotifier {
            client,
            violations_topic: None,
            guard_topic: guard_topic.into(),
        }
    }

    fn topic(&self, notification: &Notification) -> Result<&str, GuardError> {
        match notification.channel {
            Channel::Guard => Ok(&self.guard_topic),
            Channel::Violations => self.violations_topic.as_deref().ok_or_else(|| {
                GuardError::new(
                    ErrorKind::Configuration,
                    format!(
                        "a {} notification needs the violations topic (TOPIC_ARN)",
                        notification.document.kind.as_str()
                    ),
                )
            }),
        }
    }
}

/// The `Message` of a `MessageStructure=json` publish: each protocol's own form
/// (`model_guard_core::chat::protocol_messages`).
pub fn message_json(notification: &Notification) -> Result<String, GuardError> {
    model_guard_core::chat::protocol_messages(notification)
        .and_then(|messages| serde_json::to_string(&messages))
        .map_err(|e| GuardError::new(ErrorKind::InvalidInput, format!("notification: {e}")))
}

impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, GuardError> {
        let topic = self.topic(notification)?;
        let mut request = self
            .client
            .publish()
            .topic_arn(topic)
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
            .map_err(|e| sdk_error(&format!("Publish {topic}"), &e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
