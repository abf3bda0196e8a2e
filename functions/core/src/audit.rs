//! The audit trail (DESIGN.md, "Audit"): one item per decided event in the decisions table, keyed
//! by `eventId`, whose state only moves forward.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contract::{Decision, ResourceType, Verdict, Version1};
use crate::enforcement::EnforcementResult;
use crate::glob::fold;

/// Where an event is in its life. `Evaluated` and `Pending` are the only non-terminal states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditState {
    Evaluated,
    Allowed,
    Audited,
    Notified,
    Pending,
    Approved,
    Enforced,
    Failed,
}

impl AuditState {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditState::Evaluated => "evaluated",
            AuditState::Allowed => "allowed",
            AuditState::Audited => "audited",
            AuditState::Notified => "notified",
            AuditState::Pending => "pending",
            AuditState::Approved => "approved",
            AuditState::Enforced => "enforced",
            AuditState::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, AuditState::Evaluated | AuditState::Pending)
    }

    /// The states an item may be in for a move to `self`: the conditional write's condition.
    /// `Enforced` and `Failed` follow `Evaluated` directly when the grace is 0 (no wait).
    pub fn predecessors(self) -> &'static [AuditState] {
        use AuditState::*;
        match self {
            Evaluated => &[],
            Allowed | Audited | Notified | Pending => &[Evaluated],
            Approved => &[Pending],
            Enforced | Failed => &[Evaluated, Pending],
        }
    }

    /// The state Evaluate writes for a verdict: terminal for an allow or an audit-only violation,
    /// `evaluated` when the enforcement machine takes over. `None` for an ignored event.
    pub fn after_evaluation(verdict: &Verdict) -> Option<AuditState> {
        match (verdict.decision, verdict.action) {
            (Decision::Ignored, _) => None,
            (Decision::Allow, _) => Some(AuditState::Allowed),
            (Decision::Violation, crate::contract::Action::None) => Some(AuditState::Audited),
            (Decision::Violation, _) => Some(AuditState::Evaluated),
        }
    }
}

impl std::fmt::Display for AuditState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Timestamps in audit items: RFC 3339, UTC, always milliseconds, so that they sort as strings
/// (the `byResource` index sorts on `decidedAt`).
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time: {e}")))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&format(t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
        }
    }
}

/// Who overrode the grace period, when and why, as the approval function recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    pub decision: crate::approval::ApprovalDecision,
    /// The caller's canonical principal (a role with its path, as IAM gives it).
    pub by: String,
    /// The person behind the caller, where AWS establishes one (see `Verdict::person`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The caller's ARN as the Function URL saw it (the session, for an assumed role).
    pub caller_arn: String,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Why enforcement failed, as the state machine caught it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub error: String,
    pub cause: String,
}

/// What Enforce writes on a violation's item before it updates the endpoint or inference
/// component back to its last allowed deployment: Evaluate allows the UpdateEndpoint or
/// UpdateInferenceComponent that follows only when the enforce function's role made it *and*
/// such a record names the resource and what it restores, written no later than the call
/// (docs/design.md, "Rolling back a violating update"). Kept from the first attempt: a retried
/// rollback's call is the guard's too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRecord {
    /// The endpoint or inference component rolled back.
    pub resource: String,
    /// What it is rolled back to (`Restorable::label`): the endpoint config's name, or the
    /// component's judged content.
    pub to: String,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
}

/// One move of the state, for the item's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub state: AuditState,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
}

/// An item of the decisions table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditItem {
    pub version: Version1,
    /// The table's key: the CloudTrail eventID.
    pub event_id: String,
    pub state: AuditState,
    pub resource_type: ResourceType,
    /// The resource name, case-folded (endpoint names are case-insensitive): the `byResource`
    /// index's key, for lookups by name.
    pub resource_key: String,
    pub principal: String,
    /// The person behind the principal, where AWS establishes one (the verdict's `person`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    pub event_time: Option<String>,
    #[serde(with = "timestamp")]
    pub decided_at: DateTime<Utc>,
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
    pub verdict: Verdict,
    /// When the grace period ends: set with `pending`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub deadline: Option<DateTime<Utc>>,
    /// The enforcement execution that acts for this event (its name): set by its Claim step;
    /// no other execution may act (`custody`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// The AwaitApproval task's token, encrypted (`ports::TokenVault`): set with `pending`,
    /// removed when the item leaves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<EnforcementResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureRecord>,
    /// A rollback Enforce began (`RollbackRecord`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    /// The alert this item's state owes and that was not published yet: set with the move to
    /// the state (`NotificationKind::owed_in`), removed once the alert went out. The sparse
    /// `byAlertOwed` index holds exactly the items with one; the sweep sends them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_owed: Option<crate::notification::NotificationKind>,
    pub history: Vec<Transition>,
}

impl AuditItem {
    /// The item Evaluate writes for a decided verdict; `None` for an ignored one (not audited).
    pub fn for_verdict(verdict: &Verdict, now: DateTime<Utc>) -> Option<AuditItem> {
        let state = AuditState::after_evaluation(verdict)?;
        let event_id = verdict.event_id.clone()?;
        let resource = verdict.resource.as_ref()?;
        Some(AuditItem {
            version: Version1,
            event_id,
            state,
            resource_type: resource.resource_type,
            resource_key: crate::organization::scoped(
                resource_key(&resource.name),
                verdict.scope.as_deref(),
            ),
            principal: verdict.principal.clone().unwrap_or_default(),
            person: verdict.person.clone(),
            event_time: verdict.event_time.clone(),
            decided_at: now,
            updated_at: now,
            verdict: verdict.clone(),
            deadline: None,
            execution: None,
            task_token: None,
            approval: None,
            enforcement: None,
            failure: None,
            rollback: None,
            alert_owed: None,
            history: vec![Transition { state, at: now }],
        })
    }
}

/// The `byResource` index key for a resource name, or for what an operator typed: a name or an
/// ARN (`arn:aws:sagemaker:…:endpoint/NAME`), compared without case.
pub fn resource_key(name_or_arn: &str) -> String {
    let name = if name_or_arn.starts_with("arn:") {
        name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
    } else {
        name_or_arn
    };
    fold(name)
}

/// Where what an operator typed may be kept: the keys to look under, and for an ARN the account
/// and region its items must be in. A name is the guard's home resource; `name@account/region`
/// is one elsewhere (its scoped key, `organization`). An ARN names both, but whether they are the
/// guard's home is not known here: its items are looked for under its name and its scoped name,
/// and kept only where their verdict is in the ARN's account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetKeys {
    pub keys: Vec<String>,
    pub at: Option<(String, String)>,
}

impl TargetKeys {
    pub fn of(target: &str) -> TargetKeys {
        let parts: Vec<&str> = target.splitn(6, ':').collect();
        if let ["arn", _, _, region, account, _] = parts.as_slice()
            && !region.is_empty()
            && !account.is_empty()
        {
            let name = resource_key(target);
            return TargetKeys {
                keys: vec![
                    name.clone(),
                    crate::organization::scoped(name, Some(&format!("{account}/{region}"))),
                ],
                at: Some(((*account).to_owned(), (*region).to_owned())),
            };
        }
        TargetKeys {
            keys: vec![resource_key(target)],
            at: None,
        }
    }

    /// Whether an item found under one of the keys is the target's.
    pub fn holds(&self, item: &AuditItem) -> bool {
        self.at.as_ref().is_none_or(|(account, region)| {
            item.verdict.account.as_deref() == Some(account.as_str())
                && item.verdict.region.as_deref() == Some(region.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuditState::*;

    #[test]
    fn states_only_move_forward() {
        let all = [
            Evaluated, Allowed, Audited, Notified, Pending, Approved, Enforced, Failed,
        ];
        for to in all {
            for from in to.predecessors() {
                assert!(
                    !from.is_terminal(),
                    "{from} -> {to}: terminal states never move"
                );
                assert_ne!(*from, to);
            }
        }
        assert!(Approved.predecessors() == [Pending]);
        assert!(
            Enforced.predecessors().contains(&Evaluated),
            "grace 0 enforces without a wait"
        );
        assert!(!Pending.predecessors().contains(&Approved));
    }

    #[test]
    fn an_arn_target_is_looked_for_by_name_and_scoped_name_and_kept_in_its_account_and_region() {
        let target = TargetKeys::of("arn:aws:sagemaker:eu-west-1:444455556666:endpoint/Fraud-EP");
        assert_eq!(target.keys, ["fraud-ep", "fraud-ep@444455556666/eu-west-1"]);
        let item_in = |account: &str, region: &str| {
            let mut verdict: Verdict = serde_json::from_value(serde_json::json!({
                "version": 1, "eventId": "e", "eventName": "CreateEndpoint", "eventTime": null,
                "account": account, "region": region, "decision": "violation",
                "action": "enforce", "graceSeconds": 0, "principal": "p",
                "resource": {"type": "endpoint", "name": "fraud-ep", "arn": null},
                "subjects": [], "approvers": [], "reasons": []
            }))
            .unwrap_or_else(|e| panic!("{e}"));
            verdict.scope = None;
            AuditItem::for_verdict(&verdict, chrono::Utc::now())
                .unwrap_or_else(|| panic!("not audited"))
        };
        assert!(target.holds(&item_in("444455556666", "eu-west-1")));
        assert!(!target.holds(&item_in("444455556666", "us-east-1")));
        assert!(!target.holds(&item_in("111122223333", "eu-west-1")));
        // A name, scoped or not, is one key and holds wherever it was found.
        let named = TargetKeys::of("Fraud-EP@444455556666/eu-west-1");
        assert_eq!(named.keys, ["fraud-ep@444455556666/eu-west-1"]);
        assert!(named.holds(&item_in("111122223333", "us-east-1")));
    }

    #[test]
    fn resource_keys_fold_case_and_take_the_name_from_an_arn() {
        assert_eq!(resource_key("Fraud-EP"), "fraud-ep");
        assert_eq!(
            resource_key("arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-ep"),
            "fraud-ep"
        );
        assert_eq!(resource_key("arn:"), "arn:");
    }
}
