//! The caller of a request, normalised to one canonical principal (DESIGN.md, "The caller").
//!
//! Role ARNs are canonical without their path: role names are unique within an account, and the
//! path is not known everywhere a role shows up (an STS assumed-role ARN has none). The same
//! canonicalisation applies to every role pattern in a policy.

use serde::{Deserialize, Serialize};

use crate::lenient::Field;
use crate::lenient_struct;

/// ARNs are at most 2048 characters in IAM; anything longer is not an ARN.
pub const MAX_ARN_LEN: usize = 2048;
/// Identity types are short words; a longer one is shortened in `unknown:<type>`.
const MAX_TYPE_LEN: usize = 64;

/// `detail.userIdentity`, read leniently: every field may be missing or mistyped.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub identity_type: Field<String>,
    pub arn: Field<String>,
    pub account_id: Field<String>,
    pub invoked_by: Field<String>,
    pub session_context: Field<SessionContext>,
}
lenient_struct!(UserIdentity);

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionContext {
    pub session_issuer: Field<SessionIssuer>,
}
lenient_struct!(SessionContext);

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionIssuer {
    pub arn: Field<String>,
}
lenient_struct!(SessionIssuer);

/// The canonical principal of a CloudTrail `userIdentity`. Never fails: what cannot be
/// determined becomes `unknown:<type>`, which only a `*` pattern matches (the guard fails closed).
pub fn principal_of(identity: &Field<UserIdentity>) -> String {
    let identity = match identity {
        Field::Present(identity) => identity,
        Field::Missing => return "unknown:missing".to_owned(),
        Field::Mistyped(_) => return "unknown:malformed".to_owned(),
    };
    let arn = identity.arn.non_empty().filter(|a| is_arn(a));
    let issuer_arn = identity
        .session_context
        .present()
        .and_then(|c| c.session_issuer.present())
        .and_then(|i| i.arn.non_empty())
        .filter(|a| is_arn(a));
    let identity_type = identity.identity_type.non_empty();
    let chosen = match identity_type {
        Some("AssumedRole") | Some("FederatedUser") => issuer_arn.or(arn).map(canonical_arn),
        Some("IAMUser") => arn.map(canonical_arn),
        Some("Root") => arn.map(canonical_arn).or_else(|| {
            identity
                .account_id
                .non_empty()
                .filter(|a| is_account_id(a))
                .map(|a| format!("arn:aws:iam::{a}:root"))
        }),
        Some("AWSService") => identity
            .invoked_by
            .non_empty()
            .filter(|s| s.len() <= 256)
            .map(|s| format!("service:{s}")),
        _ => arn.map(canonical_arn),
    };
    chosen.unwrap_or_else(|| match identity_type {
        Some(t) => format!("unknown:{}", truncate_chars(t, MAX_TYPE_LEN)),
        None => "unknown:untyped".to_owned(),
    })
}

/// The canonical form of a caller's ARN: an STS assumed-role ARN becomes its role's ARN, and a
/// role ARN loses its path. Anything else is returned as it is. Used for deployers (from
/// CloudTrail) and approvers (from the Function URL's IAM authorizer) alike.
pub fn canonical_arn(arn: &str) -> String {
    let Some(parts) = ArnParts::parse(arn) else {
        return arn.to_owned();
    };
    let (service, resource) = parts.kind();
    match (
        service.as_str(),
        resource.as_ref().map(|(k, rest)| (k.as_str(), *rest)),
    ) {
        ("sts", Some(("assumed-role", rest))) => match rest.split('/').next() {
            Some(name) if !name.is_empty() => parts.role_arn(name),
            _ => arn.to_owned(),
        },
        ("iam", Some(("role", rest))) => match rest.rsplit('/').next() {
            Some(name) if !name.is_empty() => parts.role_arn(name),
            _ => arn.to_owned(),
        },
        _ => arn.to_owned(),
    }
}

/// The canonical form of a principal or role pattern from a policy: a role ARN pattern loses its
/// path, as principals do, so console ARNs with paths can be pasted as they are.
///
/// Refused, because the canonical form would quietly mean something else: an empty pattern; a
/// role pattern whose name part is only wildcards once its path is dropped (`role/team/*` would
/// match every role in the account); an STS assumed-role (session) ARN.
pub fn canonical_pattern(pattern: &str) -> Result<String, String> {
    if pattern.is_empty() {
        return Err("empty pattern".to_owned());
    }
    if pattern.len() > MAX_ARN_LEN {
        return Err(format!(
            "pattern of {} bytes is longer than any ARN ({MAX_ARN_LEN})",
            pattern.len()
        ));
    }
    let Some(parts) = ArnParts::parse(pattern) else {
        return Ok(pattern.to_owned());
    };
    let (service, resource) = parts.kind();
    match (
        service.as_str(),
        resource.as_ref().map(|(k, rest)| (k.as_str(), *rest)),
    ) {
        ("sts", Some(("assumed-role", _))) => Err(format!(
            "{pattern:?} is an assumed-role session ARN; write the role's ARN \
             (arn:{}:iam::{}:role/NAME) instead",
            parts.partition, parts.account
        )),
        ("iam", Some(("role", rest))) if rest.contains('/') => {
            let name = rest.rsplit('/').next().unwrap_or_default();
            if name.chars().all(|c| c == '*' || c == '?') {
                Err(format!(
                    "{pattern:?} selects roles by path, but roles are matched by name only \
                     (a role's path is not known everywhere it shows up), so it would match \
                     every role; name the roles instead"
                ))
            } else {
                Ok(parts.role_arn(name))
            }
        }
        _ => Ok(pattern.to_owned()),
    }
}

/// A principal pattern (`principals`, `approvers`): canonical, and of a shape a canonical
/// principal can have — an ARN, `service:<name>`, `unknown:<type>`, or starting with a wildcard.
/// A bare name such as `MLDeployer` could never match anyone, so it is refused.
pub fn principal_pattern(pattern: &str) -> Result<String, String> {
    let canonical = canonical_pattern(pattern)?;
    let lower = canonical.to_ascii_lowercase();
    let shaped = ["arn:", "service:", "unknown:"]
        .iter()
        .any(|p| lower.starts_with(p))
        || canonical.starts_with(['*', '?']);
    if shaped {
        Ok(canonical)
    } else {
        Err(format!(
            "{pattern:?} can never match a caller: principals are ARNs \
             (arn:aws:iam::ACCOUNT:role/NAME), service:<name> or unknown:<type>, or globs of them"
        ))
    }
}

/// A `role#` key's pattern: canonical, and either a glob starting with a wildcard or an IAM role
/// ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`). Anything else could never match an execution
/// role, and a binding that silently binds nothing is refused.
pub fn role_key_pattern(pattern: &str) -> Result<String, String> {
    let canonical = canonical_pattern(pattern)?;
    if canonical.starts_with(['*', '?']) {
        return Ok(canonical);
    }
    let is_role = ArnParts::parse(&canonical).is_some_and(|parts| {
        let (service, resource) = parts.kind();
        service == "iam"
            && parts.region.is_empty()
            && resource.is_some_and(|(kind, name)| {
                kind == "role" && !name.is_empty() && !name.contains('/')
            })
    });
    if is_role {
        Ok(canonical)
    } else {
        Err(format!(
            "{pattern:?} is not an execution role ARN (arn:aws:iam::ACCOUNT:role/NAME) or a glob \
             of one, so it could never match"
        ))
    }
}

struct ArnParts<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> ArnParts<'a> {
    fn parse(arn: &'a str) -> Option<ArnParts<'a>> {
        let mut parts = arn.splitn(6, ':');
        if !parts.next()?.eq_ignore_ascii_case("arn") {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        Some(ArnParts {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// The service and the resource's type and rest, with the service and type lower-cased:
    /// IAM writes them in lower case, and matching ignores case anyway.
    fn kind(&self) -> (String, Option<(String, &'a str)>) {
        let resource = self
            .resource
            .split_once('/')
            .map(|(kind, rest)| (kind.to_ascii_lowercase(), rest));
        (self.service.to_ascii_lowercase(), resource)
    }

    fn role_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account)
    }
}

fn is_arn(text: &str) -> bool {
    text.len() <= MAX_ARN_LEN && ArnParts::parse(text).is_some()
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(json: &str) -> String {
        let identity: Field<UserIdentity> = match serde_json::from_str(json) {
            Ok(identity) => identity,
            Err(e) => panic!("{json}: {e}"),
        };
        principal_of(&identity)
    }

    #[test]
    fn assumed_role_from_session_issuer_without_path() {
        assert_eq!(
            principal(
                r#"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_DS_0123/alice",
                    "sessionContext":{"sessionIssuer":{"type":"Role",
                    "arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DS_0123"}}}"#
            ),
            "arn:aws:iam::111122223333:role/AWSReservedSSO_DS_0123"
        );
    }

    #[test]
    fn assumed_role_from_sts_arn_when_issuer_empty() {
        for ctx in [
            r#""sessionContext":{"sessionIssuer":{}}"#,
            r#""sessionContext":{}"#,
            r#""sessionContext":"x""#,
        ] {
            assert_eq!(
                principal(&format!(
                    r#"{{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/MLDeployer/bob",{ctx}}}"#
                )),
                "arn:aws:iam::111122223333:role/MLDeployer",
                "{ctx}"
            );
        }
    }

    #[test]
    fn other_identity_types() {
        assert_eq!(
            principal(r#"{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/carol"}"#),
            "arn:aws:iam::111122223333:user/ops/carol"
        );
        assert_eq!(
            principal(r#"{"type":"Root","arn":"arn:aws:iam::111122223333:root"}"#),
            "arn:aws:iam::111122223333:root"
        );
        assert_eq!(
            principal(r#"{"type":"Root","accountId":"111122223333"}"#),
            "arn:aws:iam::111122223333:root"
        );
        assert_eq!(
            principal(
                r#"{"type":"FederatedUser","arn":"arn:aws:sts::111122223333:federated-user/dave",
                "sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/broker"}}}"#
            ),
            "arn:aws:iam::111122223333:user/broker"
        );
        assert_eq!(
            principal(r#"{"type":"AWSService","invokedBy":"sagemaker.amazonaws.com"}"#),
            "service:sagemaker.amazonaws.com"
        );
        assert_eq!(principal(r#"{"type":"AWSService"}"#), "unknown:AWSService");
        assert_eq!(
            principal(r#"{"type":"SAMLUser","userName":"eve"}"#),
            "unknown:SAMLUser"
        );
        assert_eq!(
            principal(r#"{"type":"AWSAccount","arn":"arn:aws:iam::444455556666:root"}"#),
            "arn:aws:iam::444455556666:root"
        );
        assert_eq!(principal(r#"{"arn":"not-an-arn"}"#), "unknown:untyped");
        assert_eq!(principal(r#"null"#), "unknown:missing");
        assert_eq!(principal(r#""AssumedRole""#), "unknown:malformed");
        assert_eq!(
            principal(r#"{"type":"AssumedRole"}"#),
            "unknown:AssumedRole"
        );
    }

    #[test]
    fn canonical_arns() {
        assert_eq!(
            canonical_arn("arn:aws-us-gov:iam::111122223333:role/a/b/Name"),
            "arn:aws-us-gov:iam::111122223333:role/Name"
        );
        assert_eq!(
            canonical_arn("arn:aws:sts::111122223333:assumed-role/Name/session"),
            "arn:aws:iam::111122223333:role/Name"
        );
        assert_eq!(
            canonical_arn("arn:aws:iam::1:user/x/y"),
            "arn:aws:iam::1:user/x/y"
        );
        assert_eq!(
            canonical_arn("arn:aws:sts::1:assumed-role/"),
            "arn:aws:sts::1:assumed-role/"
        );
    }

    #[test]
    fn pattern_shapes() {
        assert!(principal_pattern("arn:aws:iam::1:role/X").is_ok());
        assert!(principal_pattern("service:sagemaker.amazonaws.com").is_ok());
        assert!(principal_pattern("*Deployer").is_ok());
        assert!(principal_pattern("MLDeployer").is_err());
        assert_eq!(
            role_key_pattern("arn:aws:IAM::1:ROLE/p/X").as_deref(),
            Ok("arn:aws:iam::1:role/X")
        );
        assert!(role_key_pattern("*Exec*").is_ok());
        assert!(role_key_pattern("arn:aws:iam::*:role/Exec-*").is_ok());
        for never in [
            "MyExecRole",
            "arn:aws:iam::1:user/x",
            "arn:aws:s3:::bucket",
            "x*",
        ] {
            assert!(role_key_pattern(never).is_err(), "{never}");
        }
    }

    #[test]
    fn canonical_patterns() {
        assert_eq!(
            canonical_pattern(
                "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DS_*"
            )
            .as_deref(),
            Ok("arn:aws:iam::*:role/AWSReservedSSO_DS_*")
        );
        assert_eq!(
            canonical_pattern("arn:aws:iam::*:role/*").as_deref(),
            Ok("arn:aws:iam::*:role/*")
        );
        assert_eq!(canonical_pattern("*").as_deref(), Ok("*"));
        assert!(canonical_pattern("").is_err());
        let broad = canonical_pattern("arn:aws:iam::1:role/team/*");
        assert!(
            broad.as_ref().is_err_and(|e| e.contains("every role")),
            "{broad:?}"
        );
        let session = canonical_pattern("arn:aws:sts::1:assumed-role/X/alice");
        assert!(
            session.as_ref().is_err_and(|e| e.contains("role's ARN")),
            "{session:?}"
        );
    }
}
