//! The approver's identity proof: a presigned `sts:GetCallerIdentity` request, signed with the
//! approver's own credentials (SigV4, query form), that the approval function sends to STS itself.
//! AWS answers with the caller's ARN only if the signature is the caller's, so the identity is
//! AWS's word, not the payload's. This is the scheme of aws-iam-authenticator and of Vault's AWS
//! auth method; the checks here close the attacks published against both:
//!
//! - **Another action, or another host** (Vault, CVE-2020-16250/16251: the client chose the URL,
//!   method, body and headers): the function sends a GET to the STS endpoint it resolves itself;
//!   only the query string comes from the request, and its only action is `GetCallerIdentity`.
//! - **Parameter pollution** (aws-iam-authenticator, CVE-2022-2385: keys differing only in case
//!   were collapsed, so the checks and STS read different values): every parameter is on an
//!   allow-list, spelled exactly, at most once in any case; the query the function sends is
//!   rebuilt from the values it checked.
//! - **Replay elsewhere, or of another decision** (Vault's server-ID header): the signed headers
//!   are exactly `host` and [`BINDING_HEADER`], whose value the function computes from the request
//!   (target, decision, reason, nonce): a proof for one decision does not sign another.
//! - **Replay of the same request**: the function enforces its own maximum age
//!   ([`MAX_AGE_SECONDS`]), whatever `X-Amz-Expires` says, and uses each nonce once.
//! - **A response it misreads** (Vault parsed JSON as XML): it asks for JSON and reads exactly
//!   `GetCallerIdentityResponse.GetCallerIdentityResult` from a 200 answer.

use chrono::{DateTime, NaiveDateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The signed header that binds a proof to one approval request.
pub const BINDING_HEADER: &str = "x-model-guard-approval";
/// The headers a proof may sign, as SigV4 lists them: exactly these.
pub const SIGNED_HEADERS: &str = "host;x-model-guard-approval";
/// The oldest proof accepted, from its `X-Amz-Date`.
pub const MAX_AGE_SECONDS: i64 = 300;
/// How far in the future a proof's date may be (clock skew).
pub const MAX_SKEW_SECONDS: i64 = 60;
/// What guardctl asks `X-Amz-Expires` to be.
pub const EXPIRES_SECONDS: u64 = 300;

const ACTION: &str = "GetCallerIdentity";
const VERSION: &str = "2011-06-15";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The query parameters a presigned GetCallerIdentity may carry, spelled as SigV4 spells them.
const ALLOWED: [&str; 9] = [
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// SigV4's URI encoding: everything but the unreserved characters.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A nonce as guardctl makes it: 128 random bits in lowercase hex.
pub fn valid_nonce(nonce: &str) -> bool {
    nonce.len() == 32
        && nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The binding header's value for an approval request: SHA-256 over the request's fields, as
/// a JSON array (unambiguous whatever the fields contain), in lowercase hex.
pub fn binding(
    target: &str,
    target_kind: Option<&str>,
    decision: &str,
    reason: &str,
    nonce: &str,
) -> String {
    let fields = serde_json::json!([
        "model-guard-approval/1",
        target,
        target_kind.unwrap_or(""),
        decision,
        reason,
        nonce
    ]);
    let digest = Sha256::digest(fields.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A proof whose form has been checked: the query to send to STS, rebuilt from the checked
/// values, and what it says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    pub query: String,
    pub access_key_id: String,
    pub signed_at: DateTime<Utc>,
}

/// Checks a proof's query string before anything is sent: `Err` says what is wrong (the
/// request is refused, and alerted, without a call to STS).
pub fn check_proof(query: &str, region: &str, now: DateTime<Utc>) -> Result<CheckedProof, String> {
    if query.is_empty() {
        return Err("the identity proof is empty".to_owned());
    }
    if query.len() > 8192 {
        return Err("the identity proof is longer than 8192 bytes".to_owned());
    }
    if query.contains(['+', ';', '#', ' ']) {
        return Err("the identity proof has characters a SigV4 query never has".to_owned());
    }
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    for part in query.split('&') {
        let (raw_key, raw_value) = part
            .split_once('=')
            .ok_or_else(|| format!("parameter {part:?} has no value"))?;
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("parameter {raw_key:?} is not UTF-8"))
        };
        let key = decode(raw_key)?;
        let value = decode(raw_value)?;
        let allowed = ALLOWED
            .iter()
            .find(|a| **a == key)
            .ok_or_else(|| format!("parameter {key:?} is not allowed in an identity proof"))?;
        if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
            return Err(format!("parameter {key:?} is given more than once"));
        }
        pairs.push((allowed, value));
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    };
    let need = |name: &str| get(name).ok_or_else(|| format!("parameter {name} is missing"));
    if need("Action")? != ACTION {
        return Err(format!("the only action allowed is {ACTION}"));
    }
    if need("Version")? != VERSION {
        return Err(format!("Version must be {VERSION}"));
    }
    if need("X-Amz-Algorithm")? != ALGORITHM {
        return Err(format!("X-Amz-Algorithm must be {ALGORITHM}"));
    }
    if need("X-Amz-SignedHeaders")? != SIGNED_HEADERS {
        return Err(format!(
            "the signed headers must be exactly {SIGNED_HEADERS:?} (the binding header signed, \
             nothing else)"
        ));
    }
    let signature = need("X-Amz-Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("X-Amz-Signature is not a SigV4 signature".to_owned());
    }
    let date = need("X-Amz-Date")?;
    let signed_at = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| format!("X-Amz-Date {date:?} is not a SigV4 date"))?
        .and_utc();
    let age = (now - signed_at).num_seconds();
    if age > MAX_AGE_SECONDS {
        return Err(format!(
            "the identity proof is {age} s old; at most {MAX_AGE_SECONDS} s are accepted"
        ));
    }
    if -age > MAX_SKEW_SECONDS {
        return Err(format!("the identity proof is dated {} s ahead", -age));
    }
    let expires = need("X-Amz-Expires")?;
    match expires.parse::<u64>() {
        Ok(s) if (1..=900).contains(&s) => {}
        _ => return Err(format!("X-Amz-Expires {expires:?} is not 1 to 900 seconds")),
    }
    let credential = need("X-Amz-Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, day, scope_region, service, terminator] = scope.as_slice() else {
        return Err("X-Amz-Credential is not a SigV4 credential scope".to_owned());
    };
    if key_id.is_empty() || *terminator != "aws4_request" || *service != "sts" {
        return Err("X-Amz-Credential is not scoped to STS".to_owned());
    }
    if *scope_region != region {
        return Err(format!(
            "the identity proof is signed for {scope_region}; this guard checks it with STS in \
             {region}"
        ));
    }
    if !date.starts_with(day) {
        return Err("X-Amz-Credential's date is not X-Amz-Date's".to_owned());
    }
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, SIGV4)))
        .collect::<Vec<_>>()
        .join("&");
    Ok(CheckedProof {
        query,
        access_key_id: (*key_id).to_owned(),
        signed_at,
    })
}

/// Who STS says signed the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenCaller {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    get_caller_identity_response: ResponseBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseBody {
    get_caller_identity_result: Identity,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Identity {
    arn: String,
    account: String,
    user_id: String,
}

/// Reads STS's JSON answer to GetCallerIdentity (a 200): exactly its result, non-empty, an ARN of
/// the account it names.
pub fn read_caller_identity(body: &[u8]) -> Result<ProvenCaller, String> {
    let response: Response = serde_json::from_slice(body)
        .map_err(|e| format!("STS's answer is not a GetCallerIdentity result: {e}"))?;
    let identity = response
        .get_caller_identity_response
        .get_caller_identity_result;
    let account_ok =
        identity.account.len() == 12 && identity.account.bytes().all(|b| b.is_ascii_digit());
    let arn_account = identity.arn.split(':').nth(4).unwrap_or("");
    if !account_ok || arn_account != identity.account || !identity.arn.starts_with("arn:") {
        return Err(format!(
            "STS's answer names {} in account {}: not a caller",
            identity.arn, identity.account
        ));
    }
    Ok(ProvenCaller {
        arn: identity.arn,
        account: identity.account,
        user_id: identity.user_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    const SIG: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn proof(extra: &str) -> String {
        format!(
            "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=ASIAEXAMPLE%2F20261202%2Fus-east-1%2Fsts%2Faws4_request\
             &X-Amz-Date=20261202T115900Z&X-Amz-Expires=300\
             &X-Amz-SignedHeaders=host%3Bx-model-guard-approval&X-Amz-Signature={SIG}{extra}"
        )
    }

    #[test]
    fn a_well_formed_proof_is_rebuilt_from_its_checked_values() {
        let checked = check_proof(&proof(""), "us-east-1", now());
        let checked = checked.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checked.access_key_id, "ASIAEXAMPLE");
        assert_eq!(checked.query, proof(""));
        let token = check_proof(&proof("&X-Amz-Security-Token=a%2Fb%3D"), "us-east-1", now());
        assert!(token.is_ok(), "{token:?}");
    }

    #[test]
    fn the_published_attacks_are_refused_before_any_call() {
        let refused = |query: String, why: &str| {
            let answer = check_proof(&query, "us-east-1", now());
            match answer {
                Err(reason) => assert!(reason.contains(why), "{query}: {reason}"),
                Ok(_) => panic!("accepted {query}"),
            }
        };
        // Another action, smuggled or in another case.
        refused(proof("&Action=AssumeRole"), "more than once");
        refused(proof("&action=AssumeRole"), "not allowed");
        refused(
            proof("").replace("GetCallerIdentity", "AssumeRole"),
            "only action",
        );
        // Parameter pollution (CVE-2022-2385): a second credential in another case.
        refused(proof("&x-amz-credential=eve"), "not allowed");
        refused(proof("&X-Amz-Date=20261202T115900Z"), "more than once");
        // Anything STS would read that the checks do not.
        refused(proof("&RoleArn=arn"), "not allowed");
        refused(proof("").replacen('&', ";", 1), "never has");
        refused(proof("&Policy=a+b"), "never has");
        // The binding header not signed, or another header signed besides.
        refused(
            proof("").replace("host%3Bx-model-guard-approval", "host"),
            "signed headers",
        );
        refused(
            proof("").replace(
                "host%3Bx-model-guard-approval",
                "host%3Bx-model-guard-approval%3Bx-forwarded-host",
            ),
            "signed headers",
        );
        // Too old, or from the future, whatever X-Amz-Expires says.
        refused(
            proof("").replace("20261202T115900Z", "20261202T115400Z"),
            "old",
        );
        refused(
            proof("").replace("20261202T115900Z", "20261202T120500Z"),
            "ahead",
        );
        refused(
            proof("").replace("X-Amz-Expires=300", "X-Amz-Expires=86400"),
            "Expires",
        );
        // Another region's STS, another service's scope.
        refused(
            proof("").replace("%2Fus-east-1%2F", "%2Feu-west-1%2F"),
            "signed for",
        );
        refused(proof("").replace("%2Fsts%2F", "%2Fs3%2F"), "scoped");
        refused(proof("").replace(SIG, "zz"), "signature");
        refused(String::new(), "empty");
    }

    #[test]
    fn only_a_whole_result_from_sts_names_a_caller() {
        let good = br#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:sts::123456789012:assumed-role/SecurityOps/carol","UserId":"AROA:carol"},"ResponseMetadata":{"RequestId":"r"}}}"#;
        let caller = read_caller_identity(good).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            caller.arn,
            "arn:aws:sts::123456789012:assumed-role/SecurityOps/carol"
        );
        let xml_in_json = br#"{"Error":"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:role/SecurityOps</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>"}"#;
        assert!(read_caller_identity(xml_in_json).is_err());
        let other_account = br#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:sts::999999999999:assumed-role/SecurityOps/carol","UserId":"u"}}}"#;
        assert!(read_caller_identity(other_account).is_err());
        assert!(read_caller_identity(b"<xml/>").is_err());
    }

    #[test]
    fn the_binding_changes_with_every_field_and_nonces_are_128_bit_hex() {
        let base = binding("e1", None, "approve", "ok", "n");
        assert_eq!(base.len(), 64);
        assert_ne!(base, binding("e2", None, "approve", "ok", "n"));
        assert_ne!(base, binding("e1", Some("event"), "approve", "ok", "n"));
        assert_ne!(base, binding("e1", None, "enforce-now", "ok", "n"));
        assert_ne!(base, binding("e1", None, "approve", "ok!", "n"));
        assert_ne!(base, binding("e1", None, "approve", "ok", "m"));
        assert!(valid_nonce("0123456789abcdef0123456789abcdef"));
        assert!(!valid_nonce("0123456789ABCDEF0123456789ABCDEF"));
        assert!(!valid_nonce("short"));
    }
}
