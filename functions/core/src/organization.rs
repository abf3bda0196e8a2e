//! One guard for many accounts and regions (docs/design.md, "One guard for an organization"):
//! which accounts a deployment answers for, and where a call was made as the guard keys what it
//! keeps about it.
//!
//! The guard's own account and region are its *home*: what is kept about resources there keeps
//! the keys it had before there were members (so an upgrade finds its records). A resource
//! anywhere else carries a *scope*, `<account>/<region>`, after an `@` in its keys: SageMaker
//! names hold no `@`, so a scoped key never equals another resource's name.

use std::collections::BTreeSet;

use crate::contract::{Decision, ParseOutcome, Verdict};
use crate::error::{ErrorKind, GuardError};

/// Which accounts besides its own a deployment answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Members {
    /// These accounts (`MEMBER_ACCOUNTS=111122223333,444455556666`); none for a single-account
    /// deployment.
    Listed(BTreeSet<String>),
    /// Every account of the guard's AWS organization (`MEMBER_ACCOUNTS=organization`): the
    /// central bus admits only the organization's accounts (`aws:PrincipalOrgID`), so whatever
    /// reaches the guard comes from one of them.
    Organization,
}

/// The guard's home and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarded {
    pub account: String,
    pub region: String,
    pub members: Members,
}

impl Guarded {
    /// From the settings: the guard's own account (`GUARD_ACCOUNT`) and region (the function's),
    /// and `MEMBER_ACCOUNTS` (unset or empty: none).
    pub fn new(account: &str, region: &str, members: Option<&str>) -> Result<Guarded, GuardError> {
        let config = |message: String| GuardError::new(ErrorKind::Configuration, message);
        if !is_account_id(account) {
            return Err(config(format!(
                "GUARD_ACCOUNT={account:?} is not an account ID (12 digits)"
            )));
        }
        if region.trim().is_empty() || region.contains(['/', '@']) {
            return Err(config(format!("the region {region:?} is not a region")));
        }
        let members = match members.map(str::trim) {
            Some("organization") => Members::Organization,
            None | Some("") => Members::Listed(BTreeSet::new()),
            Some(list) => Members::Listed(
                list.split(',')
                    .map(str::trim)
                    .map(|a| {
                        if is_account_id(a) {
                            Ok(a.to_owned())
                        } else {
                            Err(config(format!(
                                "MEMBER_ACCOUNTS: {a:?} is not an account ID (12 digits); the \
                                 setting is a comma-separated list of them, or \"organization\""
                            )))
                        }
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Guarded {
            account: account.to_owned(),
            region: region.to_owned(),
            members,
        })
    }

    /// Why a call made in `account` is none of this guard's business; `None` when it is. An
    /// event that names no account is judged as the home account's (failing open is worse).
    pub fn outsider(&self, account: Option<&str>) -> Option<String> {
        let account = account?;
        if account == self.account {
            return None;
        }
        match &self.members {
            Members::Organization => None,
            Members::Listed(list) if list.contains(account) => None,
            Members::Listed(list) => Some(format!(
                "account {account} is not guarded here: it is neither the guard's own account \
                 ({}) nor one of its {} member accounts (MEMBER_ACCOUNTS)",
                self.account,
                list.len()
            )),
        }
    }

    /// The scope of a call made in `account` and `region`: `None` at home (or where the event
    /// does not say), else `<account>/<region>`.
    pub fn scope(&self, account: Option<&str>, region: Option<&str>) -> Option<String> {
        let account = account.unwrap_or(&self.account);
        let region = region.unwrap_or(&self.region);
        (account != self.account || region != self.region).then(|| format!("{account}/{region}"))
    }

    /// ParseEvent's outcome, admitted: a call from an account the guard does not answer for is
    /// ignored saying so; any other request or record carries its scope. `account` and `region`
    /// are the event's (a record alone does not carry them).
    pub fn admit(
        &self,
        outcome: ParseOutcome,
        account: Option<&str>,
        region: Option<&str>,
    ) -> ParseOutcome {
        if let Some(why) = self.outsider(account) {
            return match outcome {
                ParseOutcome::Ignored { .. } => outcome,
                ParseOutcome::Request { request } => ParseOutcome::Ignored {
                    verdict: Verdict::without_subjects(&request, Decision::Ignored, why),
                },
                ParseOutcome::Record {
                    request: Some(request),
                    ..
                } => ParseOutcome::Ignored {
                    verdict: Verdict::without_subjects(&request, Decision::Ignored, why),
                },
                ParseOutcome::Record { record, .. } => {
                    let mut verdict = record.as_verdict();
                    verdict.account = account.map(str::to_owned);
                    verdict.region = region.map(str::to_owned);
                    verdict.reasons = vec![why];
                    ParseOutcome::Ignored { verdict }
                }
            };
        }
        let scope = self.scope(account, region);
        match outcome {
            ParseOutcome::Request { mut request } => {
                request.scope = scope;
                ParseOutcome::Request { request }
            }
            ParseOutcome::Record {
                mut record,
                mut request,
            } => {
                record.scope = scope.clone();
                if let Some(request) = request.as_mut() {
                    request.scope = scope;
                }
                ParseOutcome::Record { record, request }
            }
            ignored @ ParseOutcome::Ignored { .. } => ignored,
        }
    }
}

/// A 12-digit AWS account ID.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// A key for something kept about a resource: its key at home, `key@scope` elsewhere.
pub fn scoped(key: String, scope: Option<&str>) -> String {
    match scope {
        Some(scope) => format!("{key}@{scope}"),
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_guarded_event;
    use serde_json::{Value, json};

    const HOME: &str = "111122223333";
    const MEMBER: &str = "444455556666";

    fn guarded(members: Option<&str>) -> Guarded {
        Guarded::new(HOME, "us-east-1", members).unwrap_or_else(|e| panic!("{e}"))
    }

    fn event(account: &str, region: &str, name: &str, params: Value) -> Value {
        json!({
            "version": "0", "id": "e", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sagemaker", "account": account, "time": "2026-12-05T10:00:00Z",
            "region": region, "resources": [],
            "detail": {
                "eventVersion": "1.09", "eventSource": "sagemaker.amazonaws.com",
                "eventName": name, "awsRegion": region, "eventTime": "2026-12-05T10:00:00Z",
                "eventID": "11111111-2222-3333-4444-555555555555", "eventType": "AwsApiCall",
                "recipientAccountId": account,
                "userIdentity": {"type": "AssumedRole",
                    "arn": format!("arn:aws:sts::{account}:assumed-role/DataScientist/alice"),
                    "sessionContext": {"sessionIssuer": {"type": "Role",
                        "arn": format!("arn:aws:iam::{account}:role/DataScientist")}}},
                "requestParameters": params,
                "responseElements": {}
            }
        })
    }

    fn create_endpoint(account: &str, region: &str) -> Value {
        event(
            account,
            region,
            "CreateEndpoint",
            json!({"endpointName": "ep", "endpointConfigName": "cfg"}),
        )
    }

    fn create_model(account: &str, region: &str) -> Value {
        event(
            account,
            region,
            "CreateModel",
            json!({"modelName": "m", "executionRoleArn": format!("arn:aws:iam::{account}:role/Exec"),
                   "primaryContainer": {"image": "i"}}),
        )
    }

    #[test]
    fn a_call_at_home_keeps_its_keys_and_one_elsewhere_carries_its_scope() {
        let g = guarded(Some(MEMBER));
        let scope_of = |outcome: ParseOutcome| match outcome {
            ParseOutcome::Request { request } => request.scope,
            other => panic!("not a request: {other:?}"),
        };
        assert_eq!(
            scope_of(parse_guarded_event(&create_endpoint(HOME, "us-east-1"), &g)),
            None
        );
        // The guard's own account in another region is another place with the same names.
        assert_eq!(
            scope_of(parse_guarded_event(&create_endpoint(HOME, "eu-west-1"), &g)).as_deref(),
            Some("111122223333/eu-west-1")
        );
        assert_eq!(
            scope_of(parse_guarded_event(
                &create_endpoint(MEMBER, "eu-west-1"),
                &g
            ))
            .as_deref(),
            Some("444455556666/eu-west-1")
        );
        // A record (CreateModel is recorded and judged) carries it too, and keys by it.
        match parse_guarded_event(&create_model(MEMBER, "eu-west-1"), &g) {
            ParseOutcome::Record { record, request } => {
                assert_eq!(record.key(), "model#m@444455556666/eu-west-1");
                assert_eq!(
                    request.and_then(|r| r.scope).as_deref(),
                    Some("444455556666/eu-west-1")
                );
            }
            other => panic!("not a record: {other:?}"),
        }
        match parse_guarded_event(&create_model(HOME, "us-east-1"), &g) {
            ParseOutcome::Record { record, .. } => assert_eq!(record.key(), "model#m"),
            other => panic!("not a record: {other:?}"),
        }
    }

    #[test]
    fn a_call_from_an_account_the_guard_does_not_answer_for_is_ignored_saying_so() {
        let outsider = "999988887777";
        for g in [guarded(Some(MEMBER)), guarded(None)] {
            for event in [
                create_endpoint(outsider, "eu-west-1"),
                create_model(outsider, "us-east-1"),
            ] {
                match parse_guarded_event(&event, &g) {
                    ParseOutcome::Ignored { verdict } => {
                        assert_eq!(verdict.decision, Decision::Ignored);
                        assert_eq!(verdict.account.as_deref(), Some(outsider));
                        assert!(
                            verdict.reasons[0].contains("account 999988887777 is not guarded here"),
                            "{:?}",
                            verdict.reasons
                        );
                    }
                    other => panic!("not ignored: {other:?}"),
                }
            }
        }
        // In organization mode the bus admits only the organization's accounts.
        let g = guarded(Some("organization"));
        assert!(matches!(
            parse_guarded_event(&create_endpoint(outsider, "eu-west-1"), &g),
            ParseOutcome::Request { .. }
        ));
    }

    #[test]
    fn settings_are_checked() {
        let error = |account: &str, members: Option<&str>| {
            Guarded::new(account, "us-east-1", members)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert!(error("1111", None).contains("GUARD_ACCOUNT"));
        assert!(
            error(HOME, Some("444455556666, o-abc")).contains("\"o-abc\" is not an account ID")
        );
        assert_eq!(
            guarded(Some(" 444455556666 ,777788889999")).members,
            Members::Listed([MEMBER, "777788889999"].map(str::to_owned).into())
        );
        assert_eq!(guarded(Some("")).members, Members::Listed(BTreeSet::new()));
    }
}
