//! A change to the policy table, field by field, from its DynamoDB stream (old and new images),
//! with what the new item means for the guard where that needs saying. Who made the change is in
//! the table's CloudTrail data event, alerted beside it (`policy-written`): a stream record names
//! no caller.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorKind, GuardError};
use crate::policy::PolicyItem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Modified,
    Removed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Modified => "modified",
            ChangeKind::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyChange {
    pub pk: String,
    pub change: ChangeKind,
    /// When DynamoDB made the change (the stream record's approximate creation time).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::audit::timestamp::option"
    )]
    pub at: Option<DateTime<Utc>>,
    /// The stream record's eventID.
    pub stream_event_id: String,
    /// Every field whose value differs, by name; `pk` only when the item is created or removed.
    pub fields: Vec<FieldChange>,
    /// What the change means for the guard, where that needs saying.
    pub warnings: Vec<String>,
}

/// The change a stream record describes: `old` and `new` are its images as JSON objects (absent
/// on an insert and a remove respectively).
pub fn policy_change(
    stream_event_id: &str,
    at: Option<DateTime<Utc>>,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Result<PolicyChange, GuardError> {
    let pk = new
        .or(old)
        .and_then(|item| item.get("pk"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GuardError::new(
                ErrorKind::InvalidInput,
                format!("stream record {stream_event_id}: neither image has a string pk"),
            )
        })?
        .to_owned();
    let change = match (old, new) {
        (None, Some(_)) => ChangeKind::Created,
        (Some(_), None) => ChangeKind::Removed,
        (Some(_), Some(_)) => ChangeKind::Modified,
        (None, None) => {
            return Err(GuardError::new(
                ErrorKind::InvalidInput,
                format!(
                    "stream record {stream_event_id}: no image (the stream must carry NEW_AND_OLD_IMAGES)"
                ),
            ));
        }
    };
    let field = |item: Option<&Value>, name: &str| item.and_then(|i| i.get(name)).cloned();
    let names: BTreeSet<&str> = [old, new]
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().map(String::as_str))
        .collect();
    // pk first, then the rest by name.
    let mut ordered: Vec<&str> = names.iter().copied().filter(|n| *n == "pk").collect();
    ordered.extend(names.iter().copied().filter(|n| *n != "pk"));
    let fields = ordered
        .into_iter()
        .filter_map(|name| {
            let (before, after) = (field(old, name), field(new, name));
            (before != after).then(|| FieldChange {
                field: name.to_owned(),
                before,
                after,
            })
        })
        .collect();
    Ok(PolicyChange {
        warnings: warnings(&pk, change, old, new),
        pk,
        change,
        at,
        stream_event_id: stream_event_id.to_owned(),
        fields,
    })
}

fn warnings(pk: &str, change: ChangeKind, old: Option<&Value>, new: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    if pk == crate::policy::ENFORCEMENT_PK {
        return enforcement_warnings(new);
    }
    let is_default = pk == "default";
    let Some(new) = new else {
        out.push(if is_default {
            "the default binding is gone: every model and role without a binding of its own now \
             falls to {principals: [], mode: notify}: reported, never stopped"
                .to_owned()
        } else {
            "what it bound now falls to a broader binding, or to default".to_owned()
        });
        return out;
    };
    if let Err(e) = PolicyItem::from_value("", new) {
        out.push(format!(
            "the item does not validate ({e}): every evaluation fails closed \
             (ModelGuard.PolicyInvalid) until it is fixed"
        ));
    }
    let everyone = new
        .get("principals")
        .and_then(Value::as_array)
        .is_some_and(|p| p.iter().any(|x| x.as_str() == Some("*")));
    if everyone {
        out.push(if is_default {
            "anyone may now deploy every model and use every role that has no binding of its own \
             (default principals [\"*\"])"
                .to_owned()
        } else {
            "anyone may now deploy what it binds (principals [\"*\"])".to_owned()
        });
    }
    let mode = |item: Option<&Value>| {
        item.and_then(|i| i.get("mode"))
            .and_then(Value::as_str)
            .unwrap_or("enforce")
            .to_owned()
    };
    let (was, now) = (mode(old), mode(Some(new)));
    if now != was || change == ChangeKind::Created {
        match now.as_str() {
            "off" => out.push(
                "it is audit-only (mode off): its violations are recorded, nobody is told, nothing \
                 is stopped"
                    .to_owned(),
            ),
            "notify" if was == "enforce" && change == ChangeKind::Modified => out.push(
                "it no longer enforces (mode notify): its violations are reported, not stopped"
                    .to_owned(),
            ),
            _ => {}
        }
    }
    out
}

/// What a change to the stack-wide enforcement setting means.
fn enforcement_warnings(new: Option<&Value>) -> Vec<String> {
    let Some(new) = new else {
        return vec![
            "the enforcement setting is gone: Model Guard enforces (without the item, violations \
             are stopped or deleted after their grace)"
                .to_owned(),
        ];
    };
    if let Err(e) = PolicyItem::from_value("", new) {
        return vec![format!(
            "the item does not validate ({e}): every evaluation fails closed \
             (ModelGuard.PolicyInvalid) until it is fixed"
        )];
    }
    match new.get("mode").and_then(Value::as_str) {
        Some("observe") => vec![
            "Model Guard now only observes: every violation is decided, audited and alerted, and \
             nothing is stopped or deleted until the setting is enforce again"
                .to_owned(),
        ],
        _ => vec![
            "Model Guard enforces: violations decided from now on are stopped or deleted after \
             their grace (those decided while observing stay notify-only)"
                .to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_modification_lists_each_changed_field_and_only_those() {
        let old = json!({"pk": "model#fraud-*", "principals": ["arn:aws:iam::1:role/MLDeployer"],
                         "mode": "enforce", "graceSeconds": 600, "description": "d"});
        let new = json!({"pk": "model#fraud-*", "principals": ["arn:aws:iam::1:role/MLDeployer",
                         "arn:aws:iam::1:role/Intern"], "mode": "enforce", "description": "d"});
        let change =
            policy_change("s1", None, Some(&old), Some(&new)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(change.change, ChangeKind::Modified);
        let fields: Vec<_> = change.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["graceSeconds", "principals"]);
        assert_eq!(change.fields[0].after, None);
        assert_eq!(change.fields[0].before, Some(json!(600)));
        assert!(change.warnings.is_empty(), "{:?}", change.warnings);
    }

    #[test]
    fn switching_the_stack_to_observe_and_back_is_said_so() {
        let observe = json!({"pk": "enforcement", "mode": "observe"});
        let enforce = json!({"pk": "enforcement", "mode": "enforce"});
        let said = |old: Option<&Value>, new: Option<&Value>| {
            policy_change("s1", None, old, new)
                .unwrap_or_else(|e| panic!("{e}"))
                .warnings
                .join(" | ")
        };
        assert!(
            said(Some(&enforce), Some(&observe)).contains("only observes"),
            "{}",
            said(Some(&enforce), Some(&observe))
        );
        assert!(said(Some(&observe), Some(&enforce)).contains("Model Guard enforces"));
        assert!(said(Some(&observe), None).contains("setting is gone: Model Guard enforces"));
        let bad = json!({"pk": "enforcement", "mode": "notify"});
        assert!(said(Some(&observe), Some(&bad)).contains("fails closed"));
    }

    #[test]
    fn default_opened_to_everyone_is_said_so() {
        let old = json!({"pk": "default", "principals": [], "mode": "enforce"});
        let new = json!({"pk": "default", "principals": ["*"], "mode": "enforce"});
        let change =
            policy_change("s", None, Some(&old), Some(&new)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(change.warnings.len(), 1);
        assert!(change.warnings[0].contains("anyone may now deploy every model"));
    }

    #[test]
    fn a_removed_default_an_invalid_item_and_a_lowered_mode_are_each_said_so() {
        let old = json!({"pk": "default", "principals": [], "mode": "enforce"});
        let removed = policy_change("s", None, Some(&old), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(removed.change, ChangeKind::Removed);
        assert!(removed.warnings[0].contains("default binding is gone"));
        assert_eq!(removed.fields.len(), 3, "every field goes");

        let invalid = json!({"pk": "model#x", "principals": [], "graceSeconds": 99999999});
        let created =
            policy_change("s", None, None, Some(&invalid)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.change, ChangeKind::Created);
        assert!(
            created
                .warnings
                .iter()
                .any(|w| w.contains("does not validate")),
            "{:?}",
            created.warnings
        );

        let enforcing = json!({"pk": "model#x", "principals": []});
        let notify = json!({"pk": "model#x", "principals": [], "mode": "notify"});
        let lowered = policy_change("s", None, Some(&enforcing), Some(&notify))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            lowered
                .warnings
                .iter()
                .any(|w| w.contains("no longer enforces")),
            "{:?}",
            lowered.warnings
        );
        let off = json!({"pk": "model#x", "principals": [], "mode": "off"});
        let audited =
            policy_change("s", None, Some(&notify), Some(&off)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            audited.warnings.iter().any(|w| w.contains("audit-only")),
            "{:?}",
            audited.warnings
        );
    }

    #[test]
    fn a_record_without_a_pk_or_images_is_refused_not_guessed() {
        let e = policy_change("s", None, Some(&json!({"x": 1})), None).err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::InvalidInput));
        let e = policy_change("s", None, None, None).err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::InvalidInput));
    }
}
