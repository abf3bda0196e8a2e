//! An alert as a chat card: the custom notification of Amazon Q Developer in chat applications
//! (formerly AWS Chatbot), which shows it in Slack or Microsoft Teams as a card with a title, a
//! description and next steps ("Custom notifications using Amazon Q Developer in chat
//! applications", <https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>:
//! `version` "1.0", `source` "custom", `content.textType` "client-markdown").
//!
//! The card is made from the rendered notification, so it says what the e-mail says: its
//! headline is the title, its body the description, and each `guardctl` command it gives (approve,
//! enforce now, switch to enforce, scan) a next step, as code. Alerts about one event share a
//! thread (its eventID), so a violation's pending, approved and enforced alerts read as one story.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::notification::Notification;

/// Slack shows at most 3,000 characters of a section's text; the card's description is kept
/// under it, and says where the rest is.
pub const DESCRIPTION_MAX: usize = 2_900;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatCard {
    pub version: &'static str,
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub content: ChatContent,
    pub metadata: ChatMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContent {
    pub text_type: &'static str,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    pub summary: String,
    pub event_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_resources: Vec<String>,
    pub additional_context: BTreeMap<&'static str, String>,
}

/// The card for `notification`.
pub fn chat_card(notification: &Notification) -> ChatCard {
    let lines: Vec<&str> = notification.text.lines().collect();
    let title = lines.first().copied().unwrap_or_default().trim().to_owned();
    let command = |line: &str| {
        line.trim_start()
            .strip_prefix("guardctl ")
            .map(str::to_owned)
    };
    let mut body = Vec::new();
    let mut next_steps = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(1) {
        match command(line) {
            Some(rest) => next_steps.push(format!("`guardctl {rest}`")),
            // The line that introduces a command points at the card's next steps instead.
            None => match line.strip_suffix(':') {
                Some(intro) if lines.get(i + 1).is_some_and(|next| command(next).is_some()) => {
                    body.push(format!("{intro}: see the next steps."));
                }
                _ => body.push((*line).to_owned()),
            },
        }
    }
    let description = bounded(body.join("\n").trim());
    let document = &notification.document;
    let verdict = document.verdict.as_ref();
    let event_id = verdict
        .and_then(|v| v.event_id.clone())
        .or_else(|| document.tamper.as_ref().and_then(|t| t.event_id.clone()));
    let kind = document.kind.as_str().to_owned();
    let mut keywords = vec![kind.clone()];
    let mut related_resources = Vec::new();
    let mut context = BTreeMap::new();
    if let Some(verdict) = verdict {
        if let Some(resource) = &verdict.resource {
            keywords.push(resource.resource_type.as_str().to_owned());
            related_resources.push(
                resource
                    .arn
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", resource.resource_type, resource.name)),
            );
        }
        for (key, value) in [
            ("account", &verdict.account),
            ("region", &verdict.region),
            ("principal", &verdict.principal),
        ] {
            if let Some(value) = value {
                context.insert(key, value.clone());
            }
        }
    }
    for key in ["account", "tamper", "complete"] {
        if let Some(value) = notification.attributes.get(key) {
            context.entry(key).or_insert_with(|| value.clone());
        }
    }
    if let Some(id) = &event_id {
        context.insert("eventId", id.clone());
    }
    ChatCard {
        version: "1.0",
        source: "custom",
        id: None,
        content: ChatContent {
            text_type: "client-markdown",
            title: title.clone(),
            description,
            next_steps,
            keywords,
        },
        metadata: ChatMetadata {
            thread_id: event_id,
            summary: notification.subject.clone(),
            event_type: kind,
            related_resources,
            additional_context: context,
        },
    }
}

/// Each protocol's message for SNS's `MessageStructure=json` publish: e-mail gets the text; HTTPS
/// gets the chat card (Amazon Q Developer's chat channels subscribe to a topic over HTTPS, so every
/// HTTPS subscriber gets the card); every other protocol (SQS, Lambda, `email-json`, HTTP, SMS) the
/// JSON document, under `default`.
pub fn protocol_messages(
    notification: &Notification,
) -> Result<BTreeMap<&'static str, String>, serde_json::Error> {
    Ok(BTreeMap::from([
        ("default", serde_json::to_string(&notification.document)?),
        ("email", notification.text.clone()),
        ("https", serde_json::to_string(&chat_card(notification))?),
    ]))
}

/// At most [`DESCRIPTION_MAX`] characters, cut at a line where it can be, saying so.
fn bounded(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(DESCRIPTION_MAX).collect();
    let cut = match cut.rfind('\n') {
        Some(at) if at > DESCRIPTION_MAX / 2 => cut[..at].to_owned(),
        _ => cut,
    };
    format!("{cut}\n… (cut: the e-mail and the JSON document have it all)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_description_is_cut_at_a_line_and_says_so() {
        let long: String = (0..400)
            .map(|i| format!("line {i} of the body\n"))
            .collect();
        let cut = bounded(&long);
        assert!(cut.chars().count() < DESCRIPTION_MAX + 80, "{}", cut.len());
        assert!(cut.ends_with("have it all)"), "{cut}");
        assert!(
            cut.lines()
                .rev()
                .nth(1)
                .is_some_and(|l| l.ends_with("body")),
            "cut at a line: {cut}"
        );
        // Multi-byte text is cut at a character.
        let wide = "é".repeat(DESCRIPTION_MAX * 2);
        assert!(bounded(&wide).starts_with('é'));
        assert_eq!(bounded("short"), "short");
    }
}
