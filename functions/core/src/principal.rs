//! The caller of a request, normalised to one canonical principal, and how patterns match it
//! (docs/design.md, "The caller").
//!
//! A role's path is part of its identity where it is known: the session issuer's ARN has it, an
//! STS assumed-role ARN does not (the approval function and Evaluate then look it up in IAM). A
//! pattern that gives a path matches only roles known to be at that path; one without a path
//! matches any path, except that a role named like IAM Identity Center's (`AWSReservedSSO_*`) is
//! matched without its path only under Identity Center's own path — anyone who may create roles
//! can create `/AWSReservedSSO_Admin_x`.

use serde::{Deserialize, Serialize};

use crate::glob::{Pattern, matches_exact};
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
    pub source_identity: Field<String>,
}
lenient_struct!(SessionContext);

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionIssuer {
    pub arn: Field<String>,
}
lenient_struct!(SessionIssuer);

/// A caller as Model Guard knows it: the canonical principal, and what tells the person behind
/// it (docs/design.md, "The caller").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    /// An assumed role is its role's ARN, with the role's path where it is known; a federated
    /// user is its IAM user; an AWS service `service:<name>`; what cannot be told
    /// `unknown:<type>`.
    pub principal: String,
    /// The principal is a role whose path nothing in the event gave (an STS session ARN alone):
    /// it matches no pattern that gives a path until the path is looked up.
    pub path_unknown: bool,
    /// An assumed role's session name: who the session is for only where AWS sets it (IAM
    /// Identity Center), otherwise chosen by the caller.
    pub session: Option<String>,
    /// `sessionContext.sourceIdentity`, which a session keeps once set.
    pub source_identity: Option<String>,
}

/// Session names and source identities are at most 64 characters in STS.
const MAX_SESSION_LEN: usize = 64;

impl Caller {
    /// A caller from an ARN alone, as the approval function's IAM authorizer gives it: an STS
    /// assumed-role ARN becomes its role (path unknown) and session; any other ARN is kept.
    pub fn from_arn(arn: &str) -> Caller {
        if let Some(parts) = ArnParts::parse(arn)
            && let (service, Some((kind, rest))) = parts.kind()
            && service == "sts"
            && kind == "assumed-role"
            && let Some((name, session)) = rest.split_once('/')
            && !name.is_empty()
        {
            return Caller {
                principal: parts.role_arn(name),
                path_unknown: true,
                session: bounded(session, MAX_SESSION_LEN),
                source_identity: None,
            };
        }
        Caller {
            principal: arn.to_owned(),
            ..Caller::default()
        }
    }

    /// The role's name, where the principal is a role.
    pub fn role_name(&self) -> Option<&str> {
        RoleArn::parse(&self.principal).map(|r| r.name)
    }

    /// The role's account, where the principal is a role.
    pub fn role_account(&self) -> Option<&str> {
        RoleArn::parse(&self.principal)?;
        ArnParts::parse(&self.principal).map(|p| p.account)
    }

    /// The same caller with the role's full ARN (path included), as IAM gives it.
    pub fn with_role_arn(mut self, full_arn: &str) -> Caller {
        let same_role = match (RoleArn::parse(full_arn), RoleArn::parse(&self.principal)) {
            (Some(full), Some(known)) => full.pathless().eq_ignore_ascii_case(&known.pathless()),
            _ => false,
        };
        if same_role {
            self.principal = full_arn.to_owned();
            self.path_unknown = false;
        }
        self
    }

    /// The form patterns are matched against.
    pub fn form(&self) -> PrincipalForm {
        PrincipalForm::new(&self.principal, !self.path_unknown)
    }

    /// The person behind the caller, where AWS establishes one: the IAM Identity Center user of
    /// an `AWSReservedSSO_*` session (whose session name Identity Center sets) under Identity
    /// Center's path, or an IAM user (a federated user's too). Other roles' session names are
    /// chosen by the caller and prove nothing.
    pub fn person(&self) -> Option<String> {
        if let Some(role) = RoleArn::parse(&self.principal) {
            let session = self.session.as_deref().filter(|s| !s.is_empty())?;
            return (!self.path_unknown && role.is_identity_center())
                .then(|| format!("identity-center-user:{session}"));
        }
        let parts = ArnParts::parse(&self.principal)?;
        match parts.kind() {
            (service, Some((kind, _))) if service == "iam" && kind == "user" => {
                Some(self.principal.clone())
            }
            _ => None,
        }
    }
}

/// Whether an approver is, by what AWS proves, the deployer: the same role or user (a role's
/// path aside: role names are unique in an account), the same Identity Center user or IAM user
/// behind them, or the same source identity where both sessions carry one. Returns what they
/// share, for the refusal.
pub fn same_caller(deployer: &CallerRecord, approver: &Caller) -> Option<String> {
    let identity = |principal: &str| match RoleArn::parse(principal) {
        Some(role) => role.pathless().to_ascii_lowercase(),
        None => principal.to_ascii_lowercase(),
    };
    if identity(&deployer.principal) == identity(&approver.principal) {
        return Some("the same role or user".to_owned());
    }
    if let (Some(a), Some(b)) = (&deployer.person, approver.person())
        && a.eq_ignore_ascii_case(&b)
    {
        return Some(format!("the same person ({b})"));
    }
    if let (Some(a), Some(b)) = (&deployer.source_identity, &approver.source_identity)
        && a == b
    {
        return Some(format!("the same source identity ({b})"));
    }
    None
}

/// What a verdict keeps of the deployer, for [`same_caller`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerRecord {
    pub principal: String,
    pub person: Option<String>,
    pub source_identity: Option<String>,
}

fn bounded(text: &str, max: usize) -> Option<String> {
    (!text.is_empty() && text.chars().count() <= max).then(|| text.to_owned())
}

/// The caller of a CloudTrail `userIdentity`. Never fails: what cannot be determined becomes
/// `unknown:<type>`, which only a pattern of wildcards alone matches (the guard fails closed).
pub fn principal_of(identity: &Field<UserIdentity>) -> Caller {
    let identity = match identity {
        Field::Present(identity) => identity,
        Field::Missing => return unknown("unknown:missing".to_owned()),
        Field::Mistyped(_) => return unknown("unknown:malformed".to_owned()),
    };
    let arn = identity.arn.non_empty().filter(|a| is_arn(a));
    let context = identity.session_context.present();
    let issuer_arn = context
        .and_then(|c| c.session_issuer.present())
        .and_then(|i| i.arn.non_empty())
        .filter(|a| is_arn(a));
    let source_identity = context
        .and_then(|c| c.source_identity.non_empty())
        .and_then(|s| bounded(s, MAX_SESSION_LEN));
    let identity_type = identity.identity_type.non_empty();
    let chosen = match identity_type {
        Some("AssumedRole") => {
            // The session ARN names the role (without its path) and the session; the issuer
            // names the role with its path.
            let session = arn.map(Caller::from_arn);
            match (issuer_arn.filter(|a| RoleArn::parse(a).is_some()), session) {
                (Some(issuer), Some(session)) => {
                    let caller = session.with_role_arn(issuer);
                    // A session of another role than its issuer is no event CloudTrail writes:
                    // trust the issuer, and no session name.
                    Some(if caller.path_unknown {
                        Caller::from_arn(issuer)
                    } else {
                        caller
                    })
                }
                (Some(issuer), None) => Some(Caller::from_arn(issuer)),
                (None, session) => session,
            }
        }
        Some("FederatedUser") => issuer_arn.or(arn).map(Caller::from_arn),
        Some("Root") => arn.map(Caller::from_arn).or_else(|| {
            identity
                .account_id
                .non_empty()
                .filter(|a| is_account_id(a))
                .map(|a| Caller::from_arn(&format!("arn:aws:iam::{a}:root")))
        }),
        Some("AWSService") => identity
            .invoked_by
            .non_empty()
            .filter(|s| s.len() <= 256)
            .map(|s| unknown(format!("service:{s}"))),
        // IAMUser, and whatever CloudTrail adds: the ARN it gives.
        _ => arn.map(Caller::from_arn),
    };
    match chosen {
        Some(mut caller) => {
            caller.source_identity = source_identity;
            caller
        }
        None => unknown(match identity_type {
            Some(t) => format!("unknown:{}", truncate_chars(t, MAX_TYPE_LEN)),
            None => "unknown:untyped".to_owned(),
        }),
    }
}

fn unknown(principal: String) -> Caller {
    Caller {
        principal,
        ..Caller::default()
    }
}

/// The canonical form of an execution role's ARN: an STS assumed-role ARN becomes its role's ARN;
/// a role ARN is kept as it is, path included (SageMaker assumes the role by this ARN, path and
/// all). Anything else is returned as it is.
pub fn canonical_arn(arn: &str) -> String {
    Caller::from_arn(arn).principal
}

/// A principal or role pattern from a policy, checked. Refused, because it would quietly mean
/// something else: an empty pattern, one longer than any ARN, an STS assumed-role (session) ARN.
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
    if let Some(parts) = ArnParts::parse(pattern)
        && let (service, Some((kind, _))) = parts.kind()
        && service == "sts"
        && kind == "assumed-role"
    {
        return Err(format!(
            "{pattern:?} is an assumed-role session ARN; write the role's ARN \
             (arn:{}:iam::{}:role/NAME) instead",
            parts.partition, parts.account
        ));
    }
    Ok(pattern.to_owned())
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
/// ARN (`arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`). Anything else could never match an
/// execution role, and a binding that silently binds nothing is refused.
pub fn role_key_pattern(pattern: &str) -> Result<String, String> {
    let canonical = canonical_pattern(pattern)?;
    if canonical.starts_with(['*', '?']) {
        return Ok(canonical);
    }
    let is_role = ArnParts::parse(&canonical).is_some_and(|parts| {
        let (service, resource) = parts.kind();
        service == "iam"
            && parts.region.is_empty()
            && resource.is_some_and(|(kind, rest)| {
                kind == "role" && !rest.is_empty() && !rest.ends_with('/')
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

/// The path IAM Identity Center gives the roles of permission sets, with a region segment unless
/// its identity source is in us-east-1
/// (<https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html>).
const IDENTITY_CENTER_PATH: &str = "/aws-reserved/sso.amazonaws.com/";
/// The name prefix of those roles, as Identity Center writes it.
const IDENTITY_CENTER_NAME_PREFIX: &str = "AWSReservedSSO_";
/// The same, folded: any name that starts so looks like one of them.
const IDENTITY_CENTER_PREFIX: &str = "awsreservedsso_";

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`, split.
#[derive(Debug, Clone, Copy)]
struct RoleArn<'a> {
    head: &'a str,
    /// `/` for a role at the root, else `/a/b/`.
    path: &'a str,
    name: &'a str,
}

impl<'a> RoleArn<'a> {
    fn parse(arn: &'a str) -> Option<RoleArn<'a>> {
        let parts = ArnParts::parse(arn)?;
        let (service, Some((kind, rest))) = parts.kind() else {
            return None;
        };
        if service != "iam" || kind != "role" || !parts.region.is_empty() {
            return None;
        }
        let name_start = rest.rfind('/').map_or(0, |i| i + 1);
        let name = &rest[name_start..];
        if name.is_empty() {
            return None;
        }
        // `arn:P:iam::A:role` is the head; the path runs from its `/` to the name.
        let path_start = arn.len() - rest.len() - 1;
        let path = &arn[path_start..arn.len() - name.len()];
        Some(RoleArn {
            head: &arn[..path_start],
            path,
            name,
        })
    }

    fn pathless(&self) -> String {
        format!("{}/{}", self.head, self.name)
    }

    /// Identity Center's name under Identity Center's path (with or without the region), written
    /// exactly as Identity Center writes them: IAM paths are case-sensitive, so
    /// `/AWS-RESERVED/SSO.AMAZONAWS.COM/` is anyone's.
    fn is_identity_center(&self) -> bool {
        self.name.starts_with(IDENTITY_CENTER_NAME_PREFIX)
            && self
                .path
                .strip_prefix(IDENTITY_CENTER_PATH)
                .is_some_and(|rest| {
                    rest.is_empty()
                        || rest
                            .strip_suffix('/')
                            .is_some_and(|region| !region.is_empty() && !region.contains('/'))
                })
    }

    /// The ARN with the path as it is and the rest ASCII-lower-cased: role names and ARN parts
    /// ignore case, paths do not.
    fn mixed(&self) -> String {
        format!(
            "{}{}{}",
            self.head.to_ascii_lowercase(),
            self.path,
            self.name.to_ascii_lowercase()
        )
    }

    fn has_identity_center_name(&self) -> bool {
        self.name
            .get(..IDENTITY_CENTER_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(IDENTITY_CENTER_PREFIX))
    }
}

/// A principal (or an execution role) as patterns are matched against it: folded, with a role's
/// path-less form beside it.
#[derive(Debug, Clone)]
pub struct PrincipalForm {
    full: String,
    role: Option<RoleForm>,
}

#[derive(Debug, Clone)]
struct RoleForm {
    pathless: String,
    /// The ARN with its path's case kept (see `RoleArn::mixed`).
    mixed: String,
    path_known: bool,
    /// A role named like Identity Center's but not (known to be) under its path: matched only by
    /// patterns that give its path.
    look_alike: bool,
}

impl PrincipalForm {
    /// `path_known`: whether a role's path in `principal` is its real one (an STS session ARN
    /// alone gives none).
    pub fn new(principal: &str, path_known: bool) -> PrincipalForm {
        let full = principal.to_ascii_lowercase();
        let role = RoleArn::parse(principal).map(|role| {
            let pathless = role.pathless().to_ascii_lowercase();
            RoleForm {
                pathless,
                mixed: role.mixed(),
                path_known,
                look_alike: role.has_identity_center_name()
                    && !(path_known && role.is_identity_center()),
            }
        });
        PrincipalForm { full, role }
    }

    /// The folded principal, path included where known.
    pub fn folded(&self) -> &str {
        &self.full
    }

    /// The folded path-less role ARN, where this is a role.
    pub fn pathless(&self) -> Option<&str> {
        self.role.as_ref().map(|r| r.pathless.as_str())
    }
}

/// How a principal or role pattern is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternShape {
    /// Wildcards alone: everyone.
    Everyone,
    /// `arn:…:iam::…:role/PATH/NAME`: only roles known to be at a matching path.
    RoleWithPath,
    /// `arn:…:iam::…:role/NAME`: roles of a matching name at any path, except that a role named
    /// like IAM Identity Center's must be under Identity Center's path.
    RoleAnyPath,
    /// Anything else (a user ARN, `service:…`, a glob such as `*Deployer`): the whole principal,
    /// or a role's path-less form; never a look-alike of an Identity Center role.
    Other,
}

/// A checked principal or role pattern (see [`PatternShape`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalPattern {
    glob: Pattern,
    shape: PatternShape,
    /// For a pattern with a path: the pattern with its path's case kept (see `RoleArn::mixed`).
    mixed: Option<String>,
}

impl PrincipalPattern {
    /// A pattern already checked by [`principal_pattern`] or [`role_key_pattern`] (as verdicts
    /// keep them).
    pub fn new(canonical: &str) -> PrincipalPattern {
        let shape = if !canonical.is_empty() && canonical.chars().all(|c| c == '*') {
            PatternShape::Everyone
        } else {
            match ArnParts::parse(canonical).map(|parts| parts.kind()) {
                Some((service, Some((kind, rest)))) if service == "iam" && kind == "role" => {
                    if rest.contains('/') {
                        PatternShape::RoleWithPath
                    } else {
                        PatternShape::RoleAnyPath
                    }
                }
                _ => PatternShape::Other,
            }
        };
        let mixed = (shape == PatternShape::RoleWithPath)
            .then(|| RoleArn::parse(canonical).map(|r| r.mixed()))
            .flatten();
        PrincipalPattern {
            glob: Pattern::new(canonical),
            shape,
            mixed,
        }
    }

    /// A principal pattern (`principals`, `approvers`), checked.
    pub fn principal(pattern: &str) -> Result<PrincipalPattern, String> {
        principal_pattern(pattern).map(|p| PrincipalPattern::new(&p))
    }

    /// A `role#` key's pattern, checked.
    pub fn role_key(pattern: &str) -> Result<PrincipalPattern, String> {
        role_key_pattern(pattern).map(|p| PrincipalPattern::new(&p))
    }

    pub fn as_str(&self) -> &str {
        self.glob.as_str()
    }

    pub fn glob(&self) -> &Pattern {
        &self.glob
    }

    pub fn shape(&self) -> PatternShape {
        self.shape
    }

    pub fn matches(&self, form: &PrincipalForm) -> bool {
        match (self.shape, &form.role) {
            (PatternShape::Everyone, _) => true,
            (PatternShape::RoleWithPath, Some(role)) => {
                role.path_known
                    && match &self.mixed {
                        Some(pattern) => matches_exact(pattern, &role.mixed),
                        None => self.glob.matches_folded(&form.full),
                    }
            }
            (PatternShape::RoleAnyPath, Some(role)) => {
                !role.look_alike && self.glob.matches_folded(&role.pathless)
            }
            (PatternShape::Other, Some(role)) => {
                !role.look_alike
                    && (self.glob.matches_folded(&form.full)
                        || self.glob.matches_folded(&role.pathless))
            }
            // A role pattern matches only roles.
            (PatternShape::RoleWithPath | PatternShape::RoleAnyPath, None) => false,
            (PatternShape::Other, None) => self.glob.matches_folded(&form.full),
        }
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

    fn caller(json: &str) -> Caller {
        let identity: Field<UserIdentity> = match serde_json::from_str(json) {
            Ok(identity) => identity,
            Err(e) => panic!("{json}: {e}"),
        };
        principal_of(&identity)
    }

    fn principal(json: &str) -> String {
        caller(json).principal
    }

    const SSO_ISSUER: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DS_0123";

    #[test]
    fn assumed_role_from_session_issuer_with_its_path_and_the_session() {
        let c = caller(&format!(
            r#"{{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_DS_0123/alice",
                "sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"{SSO_ISSUER}"}}}}}}"#
        ));
        assert_eq!(c.principal, SSO_ISSUER);
        assert!(!c.path_unknown);
        assert_eq!(c.session.as_deref(), Some("alice"));
        assert_eq!(c.person().as_deref(), Some("identity-center-user:alice"));
    }

    #[test]
    fn assumed_role_from_sts_arn_when_issuer_empty_has_an_unknown_path() {
        for ctx in [
            r#""sessionContext":{"sessionIssuer":{}}"#,
            r#""sessionContext":{}"#,
            r#""sessionContext":"x""#,
        ] {
            let c = caller(&format!(
                r#"{{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/MLDeployer/bob",{ctx}}}"#
            ));
            assert_eq!(
                c.principal, "arn:aws:iam::111122223333:role/MLDeployer",
                "{ctx}"
            );
            assert!(c.path_unknown, "{ctx}");
            // A session name the caller chose proves nothing.
            assert_eq!(c.person(), None);
        }
    }

    #[test]
    fn an_issuer_of_another_role_than_the_session_is_trusted_without_the_session() {
        let c = caller(
            r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/AWSReservedSSO_X_1/mallory",
                "sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/Other"}}}"#,
        );
        assert_eq!(
            (c.principal.as_str(), c.session),
            ("arn:aws:iam::1:role/Other", None)
        );
    }

    #[test]
    fn source_identity_is_kept() {
        let c = caller(
            r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s",
                "sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/R"},"sourceIdentity":"alice@corp"}}"#,
        );
        assert_eq!(c.source_identity.as_deref(), Some("alice@corp"));
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
        // Only twelve digits are an account.
        assert_eq!(
            principal(r#"{"type":"Root","accountId":"11112222333"}"#),
            "unknown:Root"
        );
        assert_eq!(
            principal(r#"{"type":"Root","accountId":"11112222333x"}"#),
            "unknown:Root"
        );
        let federated = caller(
            r#"{"type":"FederatedUser","arn":"arn:aws:sts::111122223333:federated-user/dave",
            "sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/broker"}}}"#,
        );
        assert_eq!(federated.principal, "arn:aws:iam::111122223333:user/broker");
        assert_eq!(
            federated.person().as_deref(),
            Some("arn:aws:iam::111122223333:user/broker")
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
    fn canonical_arns_keep_role_paths() {
        assert_eq!(
            canonical_arn("arn:aws-us-gov:iam::111122223333:role/a/b/Name"),
            "arn:aws-us-gov:iam::111122223333:role/a/b/Name"
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
        assert!(role_key_pattern("arn:aws:IAM::1:ROLE/p/X").is_ok());
        assert!(role_key_pattern("*Exec*").is_ok());
        assert!(role_key_pattern("arn:aws:iam::*:role/Exec-*").is_ok());
        // A path alone selects the roles under it.
        assert!(role_key_pattern("arn:aws:iam::1:role/team/*").is_ok());
        for never in [
            "MyExecRole",
            "arn:aws:iam::1:user/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::1:role/team/",
            "x*",
        ] {
            assert!(role_key_pattern(never).is_err(), "{never}");
        }
        let session = canonical_pattern("arn:aws:sts::1:assumed-role/X/alice");
        assert!(
            session.as_ref().is_err_and(|e| e.contains("role's ARN")),
            "{session:?}"
        );
        assert!(canonical_pattern("").is_err());
        let shape = |p: &str| PrincipalPattern::new(p).shape();
        assert_eq!(shape("*"), PatternShape::Everyone);
        assert_eq!(shape("arn:aws:iam::*:role/X*"), PatternShape::RoleAnyPath);
        assert_eq!(shape("arn:aws:iam::*:role/*"), PatternShape::RoleAnyPath);
        assert_eq!(shape("arn:aws:iam::*:role/a/X"), PatternShape::RoleWithPath);
        assert_eq!(
            shape("arn:aws:iam::*:role/team/*"),
            PatternShape::RoleWithPath
        );
        assert_eq!(shape("*Deployer"), PatternShape::Other);
        assert_eq!(shape("arn:aws:iam::1:user/x"), PatternShape::Other);
    }

    fn matches(pattern: &str, principal: &str, path_known: bool) -> bool {
        PrincipalPattern::new(pattern).matches(&PrincipalForm::new(principal, path_known))
    }

    const SSO_ADMIN: &str =
        "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0a1b";
    const SSO_ADMIN_US_EAST_1: &str =
        "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0a1b";
    const IMPOSTOR: &str = "arn:aws:iam::1:role/AWSReservedSSO_Admin_impostor";

    #[test]
    fn identity_center_names_match_without_a_path_only_under_identity_centers_path() {
        let any_path = "arn:aws:iam::*:role/AWSReservedSSO_Admin_*";
        assert!(matches(any_path, SSO_ADMIN, true));
        assert!(matches(any_path, SSO_ADMIN_US_EAST_1, true));
        assert!(!matches(any_path, IMPOSTOR, true), "a look-alike at /");
        for elsewhere in [
            "arn:aws:iam::1:role/team/AWSReservedSSO_Admin_x",
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/a/b/AWSReservedSSO_Admin_x",
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com//AWSReservedSSO_Admin_x",
        ] {
            assert!(!matches(any_path, elsewhere, true), "{elsewhere}");
        }
        // A path nobody looked up: not known to be Identity Center's.
        assert!(!matches(
            any_path,
            "arn:aws:iam::1:role/AWSReservedSSO_Admin_0a1b",
            false
        ));
        // Nor does any other pattern without a path take the look-alike, but `*` does.
        assert!(!matches("*AWSReservedSSO_Admin*", IMPOSTOR, true));
        assert!(!matches("arn:aws:iam::1:role/*", IMPOSTOR, true));
        assert!(matches("*", IMPOSTOR, true));
        // A pattern that gives a path takes what is under it. (A look-alike at `/` has no path
        // to give: only `*` takes it.)
        assert!(!matches(
            "arn:aws:iam::1:role/AWSReservedSSO_Admin_impostor",
            IMPOSTOR,
            true
        ));
        assert!(matches(
            "arn:aws:iam::1:role/team/AWSReservedSSO_Admin_*",
            "arn:aws:iam::1:role/team/AWSReservedSSO_Admin_x",
            true
        ));
        assert!(matches(
            "arn:aws:iam::1:role/*/AWSReservedSSO_Admin_*",
            SSO_ADMIN,
            true
        ));
    }

    #[test]
    fn identity_centers_path_and_prefix_count_only_as_identity_center_writes_them() {
        // IAM paths are case-sensitive: these are anyone's roles.
        for look_alike in [
            "arn:aws:iam::1:role/AWS-RESERVED/SSO.AMAZONAWS.COM/eu-west-1/AWSReservedSSO_Admin_x",
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/awsreservedsso_Admin_x",
        ] {
            assert!(
                !matches(
                    "arn:aws:iam::*:role/AWSReservedSSO_Admin_*",
                    look_alike,
                    true
                ),
                "{look_alike}"
            );
            let c = Caller::from_arn("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_x/alice")
                .with_role_arn(look_alike);
            assert_eq!(c.person(), None, "{look_alike}");
        }
        // A pattern's path is its case, a name's case does not matter. (A role made at Identity
        // Center's very path is what the shipped SCP forbids: IAM does not.)
        assert!(!matches(
            "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*",
            "arn:aws:iam::1:role/AWS-RESERVED/SSO.AMAZONAWS.COM/eu-west-1/AWSReservedSSO_Admin_x",
            true
        ));
        assert!(matches(
            "arn:aws:IAM::1:role/teams/ml/PIPELINE*",
            "arn:aws:iam::1:role/teams/ml/PipelineRunner",
            true
        ));
        assert!(!matches(
            "arn:aws:iam::1:role/Teams/ml/*",
            "arn:aws:iam::1:role/teams/ml/PipelineRunner",
            true
        ));
    }

    #[test]
    fn a_pattern_with_a_path_matches_only_that_path() {
        let console = "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*";
        assert!(
            matches(console, SSO_ADMIN, true),
            "a console ARN pasted as it is"
        );
        assert!(!matches(console, SSO_ADMIN_US_EAST_1, true));
        assert!(!matches(console, IMPOSTOR, true));
        assert!(!matches(
            console,
            "arn:aws:iam::1:role/AWSReservedSSO_Admin_0a1b",
            false
        ));
        let team = "arn:aws:iam::1:role/teams/ml/*";
        assert!(matches(
            team,
            "arn:aws:iam::1:role/teams/ml/PipelineRunner",
            true
        ));
        assert!(!matches(
            team,
            "arn:aws:iam::1:role/teams/other/PipelineRunner",
            true
        ));
        assert!(!matches(team, "arn:aws:iam::1:role/PipelineRunner", true));
        assert!(!matches(team, "arn:aws:iam::1:role/PipelineRunner", false));
    }

    #[test]
    fn a_pattern_without_a_path_matches_any_path() {
        let p = "arn:aws:iam::1:role/PipelineRunner";
        assert!(matches(
            p,
            "arn:aws:iam::1:role/teams/ml/PipelineRunner",
            true
        ));
        assert!(matches(p, "arn:aws:iam::1:role/PipelineRunner", true));
        assert!(matches(p, "arn:aws:iam::1:role/PipelineRunner", false));
        assert!(matches(
            "*Runner",
            "arn:aws:iam::1:role/teams/ml/PipelineRunner",
            true
        ));
        assert!(matches(
            "*:role/Pipe*",
            "arn:aws:iam::1:role/teams/ml/PipelineRunner",
            true
        ));
        assert!(!matches(p, "arn:aws:iam::1:user/PipelineRunner", true));
        assert!(matches(
            "arn:aws:iam::1:user/*",
            "arn:aws:iam::1:user/ops/carol",
            true
        ));
    }

    #[test]
    fn an_approvers_path_is_taken_from_iam_when_the_session_arn_has_none() {
        let c = Caller::from_arn("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a1b/carol");
        assert!(c.path_unknown);
        assert_eq!(
            c.person(),
            None,
            "not known to be Identity Center's before the lookup"
        );
        let c = c.with_role_arn(SSO_ADMIN);
        assert_eq!(c.principal, SSO_ADMIN);
        assert_eq!(c.person().as_deref(), Some("identity-center-user:carol"));
        // IAM's answer for another role changes nothing.
        let other = Caller::from_arn("arn:aws:sts::1:assumed-role/X/s")
            .with_role_arn("arn:aws:iam::1:role/p/Y");
        assert!(other.path_unknown);
    }

    fn record(principal: &str, person: Option<&str>, source: Option<&str>) -> CallerRecord {
        CallerRecord {
            principal: principal.into(),
            person: person.map(str::to_owned),
            source_identity: source.map(str::to_owned),
        }
    }

    #[test]
    fn a_pattern_may_be_as_long_as_an_arn_and_no_longer() {
        let at = |n: usize| format!("arn:aws:iam::1:role/{}", "a".repeat(n - 20));
        assert_eq!(at(MAX_ARN_LEN).len(), MAX_ARN_LEN);
        assert!(canonical_pattern(&at(MAX_ARN_LEN)).is_ok());
        let refused = canonical_pattern(&at(MAX_ARN_LEN + 1));
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("longer than any ARN")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_roles_name_and_account_for_the_iam_lookup() {
        let c = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/MLDeployer/s");
        assert_eq!(c.role_name(), Some("MLDeployer"));
        assert_eq!(c.role_account(), Some("111122223333"));
        let pathed = Caller::from_arn("arn:aws:iam::444455556666:role/teams/ml/Runner");
        assert_eq!(
            (pathed.role_name(), pathed.role_account()),
            (Some("Runner"), Some("444455556666"))
        );
        for not_a_role in [
            "arn:aws:iam::1:user/alice",
            "arn:aws:iam::1:root",
            "unknown:missing",
        ] {
            let c = Caller::from_arn(not_a_role);
            assert_eq!(
                (c.role_name(), c.role_account()),
                (None, None),
                "{not_a_role}"
            );
        }
    }

    #[test]
    fn only_iam_users_and_identity_center_users_are_persons() {
        assert_eq!(
            Caller::from_arn("arn:aws:iam::1:user/ops/alice")
                .person()
                .as_deref(),
            Some("arn:aws:iam::1:user/ops/alice")
        );
        for nobody in [
            "arn:aws:iam::1:root",
            "arn:aws:iam::1:group/admins",
            "arn:aws:sts::1:federated-user/alice",
            "arn:aws:s3:::user/alice",
            "unknown:missing",
        ] {
            assert_eq!(Caller::from_arn(nobody).person(), None, "{nobody}");
        }
    }

    #[test]
    fn session_names_are_kept_only_when_present_and_short() {
        let session =
            |name: &str| Caller::from_arn(&format!("arn:aws:sts::1:assumed-role/R/{name}")).session;
        assert_eq!(session("alice").as_deref(), Some("alice"));
        let longest = "a".repeat(MAX_SESSION_LEN);
        assert_eq!(session(&longest), Some(longest.clone()));
        assert_eq!(session(&format!("{longest}a")), None);
        assert_eq!(session(""), None);
    }

    #[test]
    fn the_same_caller_by_role_person_or_source_identity() {
        let alice_ds = record(
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DS_1",
            Some("identity-center-user:alice@example.com"),
            None,
        );
        let alice_admin = Caller::from_arn(
            "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com",
        )
        .with_role_arn(SSO_ADMIN);
        assert!(same_caller(&alice_ds, &alice_admin).is_some_and(|w| w.contains("same person")));
        let bob_admin = Caller::from_arn(
            "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a1b/bob@example.com",
        )
        .with_role_arn(SSO_ADMIN);
        assert_eq!(same_caller(&alice_ds, &bob_admin), None);
        // The same role, any session, any path written.
        let ds = record("arn:aws:iam::1:role/team/DataScientist", None, None);
        let ds_again = Caller::from_arn("arn:aws:sts::1:assumed-role/DataScientist/other");
        assert!(same_caller(&ds, &ds_again).is_some_and(|w| w.contains("same role or user")));
        // Two roles whose sessions happen to be named alike are not one person.
        let runner = record("arn:aws:iam::1:role/Runner", None, None);
        let lead = Caller::from_arn("arn:aws:sts::1:assumed-role/Lead/alice");
        assert_eq!(same_caller(&runner, &lead), None);
        // A source identity counts only where both sides have one.
        let sourced = record("arn:aws:iam::1:role/Runner", None, Some("alice"));
        let mut lead_sourced = lead.clone();
        assert_eq!(same_caller(&sourced, &lead_sourced), None);
        lead_sourced.source_identity = Some("alice".into());
        assert!(
            same_caller(&sourced, &lead_sourced).is_some_and(|w| w.contains("source identity"))
        );
        // An IAM user is a person.
        let user = record(
            "arn:aws:iam::1:user/alice",
            Some("arn:aws:iam::1:user/alice"),
            None,
        );
        assert!(same_caller(&user, &Caller::from_arn("arn:aws:iam::1:user/alice")).is_some());
    }
}
