//! Approvals (DESIGN.md, "Approvals"): who may override a pending enforcement — the pure part of
//! the approval function.

use serde::{Deserialize, Serialize};

use crate::audit::{AuditItem, AuditState};
use crate::principal::{Caller, PrincipalPattern, same_caller};

/// The longest reason kept; longer ones are refused rather than cut.
pub const MAX_REASON_LEN: usize = 1000;

/// The longest target: an ARN's length limit (and below DynamoDB's key size limit).
pub const MAX_TARGET_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalDecision {
    /// Keep the resource: the enforcement ends without acting.
    Approve,
    /// Enforce at once instead of waiting for the grace period to end.
    EnforceNow,
}

impl ApprovalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalDecision::Approve => "approve",
            ApprovalDecision::EnforceNow => "enforce-now",
        }
    }
}

/// What an approval's target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// An eventId.
    Event,
    /// A resource name or ARN: its single pending event.
    Resource,
}

/// The body `guardctl approve` / `enforce-now` sends to the approval Function URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApproveRequest {
    /// An eventId, or a resource ARN or name (then the single pending event for it).
    pub target: String,
    /// What `target` is; without it, a target that names both an event and a resource is
    /// refused with both named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_kind: Option<TargetKind>,
    pub decision: ApprovalDecision,
    pub reason: String,
    /// 128 random bits in hex, used once: the approval function records it.
    pub nonce: String,
    /// The approver's identity proof: the query string of a presigned `sts:GetCallerIdentity`
    /// that signs this request's binding (`proof`). Only the query: the function chooses where
    /// it is sent.
    pub proof: String,
}

impl ApproveRequest {
    /// What the identity proof must sign for this request (`proof::binding`).
    pub fn binding(&self) -> String {
        crate::proof::binding(
            &self.target,
            self.target_kind.map(|k| match k {
                TargetKind::Event => "event",
                TargetKind::Resource => "resource",
            }),
            self.decision.as_str(),
            &self.reason,
            &self.nonce,
        )
    }

    /// Reads and checks a request body; `Err` says what is wrong, for a 400.
    pub fn from_body(body: &[u8]) -> Result<ApproveRequest, String> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let request: ApproveRequest =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let path = e.path().to_string();
                if path == "." {
                    format!("the body is not an approval request: {}", e.into_inner())
                } else {
                    format!("{path}: {}", e.into_inner())
                }
            })?;
        if request.target.trim().is_empty() {
            return Err("target: empty; give an eventId, or a resource ARN or name".to_owned());
        }
        if request.target.len() > MAX_TARGET_LEN {
            return Err(format!("target: longer than {MAX_TARGET_LEN} bytes"));
        }
        if request.reason.trim().is_empty() {
            return Err("reason: empty; every approval says why".to_owned());
        }
        if request.reason.chars().count() > MAX_REASON_LEN {
            return Err(format!("reason: longer than {MAX_REASON_LEN} characters"));
        }
        if !crate::proof::valid_nonce(&request.nonce) {
            return Err("nonce: give 128 random bits as 32 lowercase hex digits".to_owned());
        }
        Ok(request)
    }
}

/// Why an approval is refused, with the HTTP status the approval function answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

impl Refusal {
    pub fn forbidden(reason: impl Into<String>) -> Refusal {
        Refusal {
            status: 403,
            reason: reason.into(),
        }
    }

    pub fn conflict(reason: impl Into<String>) -> Refusal {
        Refusal {
            status: 409,
            reason: reason.into(),
        }
    }
}

/// May `caller` decide on this item? Every pattern set of the verdict's `approvers` must have a
/// pattern the caller matches; the caller must not be, by what AWS proves, the one who made the
/// call (the same role or user, the same person behind another role, the same source identity);
/// and the item must still be pending.
pub fn check_approval(caller: &Caller, item: &AuditItem) -> Result<(), Refusal> {
    let verdict = &item.verdict;
    let who = &caller.principal;
    if let Some(deployer) = verdict.deployer()
        && let Some(shared) = same_caller(&deployer, caller)
    {
        return Err(Refusal::forbidden(format!(
            "{who} may not decide on event {}: {shared} made the call being judged, and no one \
             approves their own deployment, under that role or any other",
            item.event_id
        )));
    }
    let form = caller.form();
    for set in &verdict.approvers {
        if !set
            .any_of
            .iter()
            .any(|p| PrincipalPattern::new(p).matches(&form))
        {
            let patterns = if set.any_of.is_empty() {
                "no one (it names no approvers and the stack sets no default approvers)".to_owned()
            } else {
                set.any_of.join(", ")
            };
            let path = if caller.path_unknown {
                " (its role's path could not be looked up, so patterns with a path and IAM \
                 Identity Center names do not match it)"
            } else {
                ""
            };
            return Err(Refusal::forbidden(format!(
                "{who}{path} is not an approver for binding {}: it accepts {patterns}",
                set.binding
            )));
        }
    }
    if verdict.approvers.is_empty() {
        return Err(Refusal::forbidden(format!(
            "event {} names no approvers",
            item.event_id
        )));
    }
    match item.state {
        AuditState::Pending if item.approval.is_none() => Ok(()),
        AuditState::Pending => Err(Refusal::conflict(format!(
            "event {} is already decided: awaiting the enforcement machine",
            item.event_id
        ))),
        state => Err(Refusal::conflict(format!(
            "event {} is not pending approval: it is {state}",
            item.event_id
        ))),
    }
}

#[cfg(test)]
mod check_tests {
    //! The approval rules, without AWS: who may decide on which item.
    use super::*;
    use crate::contract::{
        Action, ApproverSet, Decision, ResourceRef, ResourceType, Verdict, Version1,
    };

    const SSO: &str = "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1";
    const ADMINS: &str = "arn:aws:iam::*:role/AWSReservedSSO_Admin_*";
    const LEADS: &str = "arn:aws:iam::1:role/Lead";

    fn item(principal: &str, person: Option<&str>, sets: &[&[&str]]) -> AuditItem {
        let verdict = Verdict {
            version: Version1,
            event_id: Some("e-1".into()),
            event_name: Some("CreateEndpoint".into()),
            event_time: None,
            account: None,
            region: None,
            decision: Decision::Violation,
            action: Action::Enforce,
            grace_seconds: 60,
            principal: Some(principal.into()),
            person: person.map(str::to_owned),
            source_identity: None,
            resource: Some(ResourceRef {
                resource_type: ResourceType::Endpoint,
                name: "ep".into(),
                arn: None,
            }),
            subjects: Vec::new(),
            approvers: sets
                .iter()
                .enumerate()
                .map(|(i, any_of)| ApproverSet {
                    binding: format!("model#m{i}"),
                    any_of: any_of.iter().map(|p| (*p).to_owned()).collect(),
                })
                .collect(),
            reasons: vec!["r".into()],
            started_by: None,
            observed: false,
            restorable: None,
            rollback_to: None,
            scope: None,
        };
        let mut item = AuditItem::for_verdict(&verdict, chrono::DateTime::UNIX_EPOCH)
            .unwrap_or_else(|| panic!("not audited"));
        item.state = AuditState::Pending;
        item
    }

    /// An Identity Center session of `permission_set` for `user`, its path looked up in IAM.
    fn sso(permission_set: &str, user: &str) -> Caller {
        let role = format!("AWSReservedSSO_{permission_set}_0a1b");
        Caller::from_arn(&format!("arn:aws:sts::1:assumed-role/{role}/{user}"))
            .with_role_arn(&format!("{SSO}/{role}"))
    }

    fn refusal(caller: &Caller, item: &AuditItem) -> Refusal {
        match check_approval(caller, item) {
            Ok(()) => panic!("{} was allowed to decide", caller.principal),
            Err(r) => r,
        }
    }

    #[test]
    fn an_approver_of_every_violated_binding_may_decide() {
        let item = item(
            "arn:aws:iam::1:role/DataScientist",
            None,
            &[&[ADMINS], &[ADMINS, LEADS]],
        );
        assert_eq!(check_approval(&sso("Admin", "carol"), &item), Ok(()));
        // A lead matches the second set but not the first.
        let lead = Caller::from_arn("arn:aws:sts::1:assumed-role/Lead/x");
        let r = refusal(&lead, &item);
        assert_eq!(r.status, 403);
        assert!(
            r.reason.contains("not an approver for binding model#m0"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn the_deployers_role_under_any_session_is_refused() {
        let item = item("arn:aws:iam::1:role/team/DataScientist", None, &[&["*"]]);
        let again = Caller::from_arn("arn:aws:sts::1:assumed-role/DataScientist/another-session");
        let r = refusal(&again, &item);
        assert_eq!(r.status, 403);
        assert!(r.reason.contains("the same role or user"), "{}", r.reason);
    }

    #[test]
    fn the_same_identity_center_user_under_another_permission_set_is_refused() {
        let deployer = sso("DataScience", "alice@example.com");
        let item = item(
            &deployer.principal,
            deployer.person().as_deref(),
            &[&[ADMINS]],
        );
        let r = refusal(&sso("Admin", "alice@example.com"), &item);
        assert_eq!(r.status, 403);
        assert!(
            r.reason
                .contains("the same person (identity-center-user:alice@example.com)"),
            "{}",
            r.reason
        );
        // Someone else under that permission set may.
        assert_eq!(
            check_approval(&sso("Admin", "bob@example.com"), &item),
            Ok(())
        );
    }

    #[test]
    fn a_session_name_chosen_by_the_caller_proves_no_person() {
        // alice deploys as Runner and "alice" approves as Lead: two roles, not shown to be one
        // person (a near-miss that must stay allowed).
        let item = item("arn:aws:iam::1:role/Runner", None, &[&[LEADS]]);
        let lead = Caller::from_arn("arn:aws:sts::1:assumed-role/Lead/alice");
        assert_eq!(check_approval(&lead, &item), Ok(()));
    }

    #[test]
    fn a_look_alike_of_an_identity_center_role_is_no_approver() {
        let item = item("arn:aws:iam::1:role/DataScientist", None, &[&[ADMINS]]);
        let impostor = Caller::from_arn("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_x/eve")
            .with_role_arn("arn:aws:iam::1:role/AWSReservedSSO_Admin_x");
        assert_eq!(refusal(&impostor, &item).status, 403);
        // Nor a real one whose path could not be looked up.
        let unknown = Caller::from_arn("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a1b/c");
        let r = refusal(&unknown, &item);
        assert!(
            r.reason.contains("path could not be looked up"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn only_a_pending_undecided_item_with_approvers_can_be_decided() {
        let carol = sso("Admin", "carol");
        let mut pending = item("arn:aws:iam::1:role/DataScientist", None, &[&[ADMINS]]);
        for state in [
            AuditState::Evaluated,
            AuditState::Enforced,
            AuditState::Approved,
        ] {
            pending.state = state;
            let r = refusal(&carol, &pending);
            assert_eq!(r.status, 409, "{state}");
            assert!(r.reason.contains(state.as_str()), "{}", r.reason);
        }
        pending.state = AuditState::Pending;
        pending.approval = Some(crate::audit::ApprovalRecord {
            decision: ApprovalDecision::Approve,
            by: "x".into(),
            person: None,
            caller_arn: "x".into(),
            at: chrono::DateTime::UNIX_EPOCH,
            reason: "r".into(),
        });
        assert!(refusal(&carol, &pending).reason.contains("already decided"));
        let none = item("arn:aws:iam::1:role/DataScientist", None, &[]);
        assert!(refusal(&carol, &none).reason.contains("names no approvers"));
        let empty = item("arn:aws:iam::1:role/DataScientist", None, &[&[]]);
        assert!(refusal(&carol, &empty).reason.contains("accepts no one"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = ApproveRequest::from_body(
            br#"{"target":"e-1","decision":"enforce-now","reason":"bad model","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}"#,
        );
        assert_eq!(ok.map(|r| r.decision), Ok(ApprovalDecision::EnforceNow));
        let cases: [(&[u8], &str); 8] = [
            (
                br#"{"target":"e","decision":"approve","reason":"r","nonce":"1","proof":"p"}"#,
                "nonce:",
            ),
            (
                br#"{"target":"e","decision":"approve","reason":"r","nonce":"0123456789abcdef0123456789abcdef"}"#,
                "missing field `proof`",
            ),
            (b"not json", "not an approval request"),
            (
                br#"{"target":"e","decision":"yes","reason":"r","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}"#,
                "decision",
            ),
            (
                br#"{"target":"e","decision":"approve","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}"#,
                "missing field `reason`",
            ),
            (
                br#"{"target":" ","decision":"approve","reason":"r","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}"#,
                "target: empty",
            ),
            (
                br#"{"target":"e","decision":"approve","reason":"","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}"#,
                "reason: empty",
            ),
            (
                br#"{"target":"e","decision":"approve","reason":"r","nonce":"0123456789abcdef0123456789abcdef","proof":"p","x":1}"#,
                "unknown field",
            ),
        ];
        for (body, expected) in cases {
            match ApproveRequest::from_body(body) {
                Ok(r) => panic!("{r:?} accepted"),
                Err(e) => assert!(e.contains(expected), "{e:?} lacks {expected:?}"),
            }
        }
        // The limits themselves are allowed; one more is refused. The reason counts characters
        // (a multi-byte one counts once), the target bytes.
        let reason = |n: usize| {
            format!(
                r#"{{"target":"e","decision":"approve","reason":"{}","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}}"#,
                "é".repeat(n)
            )
        };
        assert!(ApproveRequest::from_body(reason(MAX_REASON_LEN).as_bytes()).is_ok());
        match ApproveRequest::from_body(reason(MAX_REASON_LEN + 1).as_bytes()) {
            Err(e) => assert!(e.starts_with("reason: longer than"), "{e}"),
            Ok(r) => panic!("{} characters accepted", r.reason.chars().count()),
        }
        let target = |n: usize| {
            format!(
                r#"{{"target":"{}","decision":"approve","reason":"r","nonce":"0123456789abcdef0123456789abcdef","proof":"p"}}"#,
                "e".repeat(n)
            )
        };
        assert!(ApproveRequest::from_body(target(MAX_TARGET_LEN).as_bytes()).is_ok());
        match ApproveRequest::from_body(target(MAX_TARGET_LEN + 1).as_bytes()) {
            Err(e) => assert!(e.starts_with("target: longer than"), "{e}"),
            Ok(r) => panic!("{} bytes accepted", r.target.len()),
        }
    }

    #[test]
    fn a_decisions_name_is_the_one_the_request_body_uses() {
        for decision in [ApprovalDecision::Approve, ApprovalDecision::EnforceNow] {
            assert_eq!(
                serde_json::to_value(decision).ok(),
                Some(serde_json::Value::from(decision.as_str()))
            );
        }
        assert_eq!(ApprovalDecision::EnforceNow.as_str(), "enforce-now");
    }
}
