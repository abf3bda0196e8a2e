//! Approvals (DESIGN.md, "Approvals"): who may override a pending enforcement — the pure part of
//! the approval function.

use serde::{Deserialize, Serialize};

use crate::audit::{AuditItem, AuditState};
use crate::glob::{Pattern, fold};

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

/// The body `guardctl approve` / `enforce-now` sends to the approval Function URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// An eventId, or a resource ARN or name (then the single pending event for it).
    pub target: String,
    pub decision: ApprovalDecision,
    pub reason: String,
}

impl ApproveRequest {
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

/// May `caller` (a canonical principal) decide on this item? Every pattern set of the verdict's
/// `approvers` must have a pattern the caller matches; the caller must not be the principal who
/// made the call; and the item must still be pending.
pub fn check_approval(caller: &str, item: &AuditItem) -> Result<(), Refusal> {
    let verdict = &item.verdict;
    if let Some(principal) = &verdict.principal
        && fold(principal) == fold(caller)
    {
        return Err(Refusal::forbidden(format!(
            "{caller} made the call being judged (event {}): no one approves their own deployment, \
             nor does anyone else acting as the same principal",
            item.event_id
        )));
    }
    let folded_caller = fold(caller);
    for set in &verdict.approvers {
        if !set
            .any_of
            .iter()
            .any(|p| Pattern::new(p.as_str()).matches_folded(&folded_caller))
        {
            let patterns = if set.any_of.is_empty() {
                "no one (it names no approvers and the stack sets no default approvers)".to_owned()
            } else {
                set.any_of.join(", ")
            };
            return Err(Refusal::forbidden(format!(
                "{caller} is not an approver for binding {}: it accepts {patterns}",
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
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = ApproveRequest::from_body(
            br#"{"target":"e-1","decision":"enforce-now","reason":"bad model"}"#,
        );
        assert_eq!(ok.map(|r| r.decision), Ok(ApprovalDecision::EnforceNow));
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "not an approval request"),
            (
                br#"{"target":"e","decision":"yes","reason":"r"}"#,
                "decision",
            ),
            (
                br#"{"target":"e","decision":"approve"}"#,
                "missing field `reason`",
            ),
            (
                br#"{"target":" ","decision":"approve","reason":"r"}"#,
                "target: empty",
            ),
            (
                br#"{"target":"e","decision":"approve","reason":""}"#,
                "reason: empty",
            ),
            (
                br#"{"target":"e","decision":"approve","reason":"r","x":1}"#,
                "unknown field",
            ),
        ];
        for (body, expected) in cases {
            match ApproveRequest::from_body(body) {
                Ok(r) => panic!("{r:?} accepted"),
                Err(e) => assert!(e.contains(expected), "{e:?} lacks {expected:?}"),
            }
        }
        let long = format!(
            r#"{{"target":"e","decision":"approve","reason":"{}"}}"#,
            "x".repeat(MAX_REASON_LEN + 1)
        );
        assert!(ApproveRequest::from_body(long.as_bytes()).is_err());
        let long_target = format!(
            r#"{{"target":"{}","decision":"approve","reason":"r"}}"#,
            "e".repeat(MAX_TARGET_LEN + 1)
        );
        assert!(ApproveRequest::from_body(long_target.as_bytes()).is_err());
    }
}
