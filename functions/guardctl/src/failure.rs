//! What can go wrong, the exit code each kind gets (documented in `guardctl --help`), and the
//! one-line hint with the fix that every failure carries: there is no way to make a `Failure`
//! without one.

use std::fmt;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use model_guard_core::{ErrorKind, GuardError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An AWS call or the network failed (exit 1).
    Aws,
    /// A file, argument or policy item is wrong (exit 2).
    BadInput,
    /// The guard refused, or what was asked for does not exist (exit 3).
    Refused,
}

#[derive(Debug)]
pub struct Failure {
    kind: Kind,
    message: String,
    hint: String,
}

/// For failures that only a defect in guardctl itself can cause.
pub const BUG: &str = "this is a guardctl bug: please report it with the command you ran";

impl Failure {
    fn new(kind: Kind, message: impl Into<String>, hint: impl Into<String>) -> Failure {
        // One line, however it was written.
        let hint = hint.into().split_whitespace().collect::<Vec<_>>().join(" ");
        Failure {
            kind,
            message: message.into(),
            hint,
        }
    }

    pub fn aws(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(Kind::Aws, message, hint)
    }

    pub fn bad_input(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(Kind::BadInput, message, hint)
    }

    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(Kind::Refused, message, hint)
    }

    /// Output guardctl could not serialise: only a bug can cause it.
    pub fn cannot_print(error: impl fmt::Display) -> Failure {
        Failure::bad_input(format!("cannot print: {error}"), BUG)
    }

    /// A failure the guard's own code reported (reading the policy table, the audit, the
    /// CloudTrail history), with the fix for its kind.
    pub fn guard(error: GuardError) -> Failure {
        let hint = guard_hint(error.kind, &error.message);
        // Only an invalid policy item is bad input (exit 2), as guardctl always said; the rest
        // failed reading what is there (exit 1).
        match error.kind {
            ErrorKind::PolicyInvalid => Failure::bad_input(error.message, hint),
            _ => Failure::aws(error.message, hint),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint(&self) -> &str {
        &self.hint
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Aws => 1,
            Kind::BadInput => 2,
            Kind::Refused => 3,
        }
    }
}

/// The message (perhaps several lines), then `hint: …` on a line of its own.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nhint: {}", self.message, self.hint)
    }
}

/// An SDK error as one line, the operation, the service's code and message, with the fix its
/// code calls for.
pub fn sdk<E, R>(what: &str, error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string(),
    };
    Failure::aws(format!("{what}: {detail}"), aws_hint(error.code(), &detail))
}

/// AWS error codes, and the fix each calls for.
const FIXES: &[(&[&str], &str)] = &[
    (
        &[
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "AuthorizationError",
        ],
        "your role may not make this call: use one that may (the message names the call and \
         resource); `aws sts get-caller-identity` shows the role you use",
    ),
    (
        &[
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
        ],
        "your AWS credentials are expired or wrong: sign in again (`aws sso login`) or check \
         AWS_PROFILE",
    ),
    (
        &["ResourceNotFoundException", "StackNotFound"],
        "nothing by that name in this account and region: check --stack (MODEL_GUARD_STACK), \
         the table or function names given, and AWS_REGION (or the profile's region)",
    ),
    (
        &[
            "ThrottlingException",
            "Throttling",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "TooManyRequestsException",
        ],
        "AWS is throttling these calls: wait a minute, then run again",
    ),
    (
        &[
            "TransactionCanceledException",
            "ConditionalCheckFailedException",
        ],
        "someone changed the same items at the same time: look at them again \
         (`guardctl policy list`), then run again",
    ),
    (
        &[
            "InternalServerError",
            "InternalFailure",
            "ServiceUnavailable",
        ],
        "AWS failed for a moment: run again",
    ),
];

const WHO_AM_I: &str = "`aws sts get-caller-identity` shows the account and role you are using";

const NO_ANSWER: &str = "AWS did not answer: check the network, the region (AWS_REGION or the \
     profile's) and any AWS_ENDPOINT_URL, then run again";

/// The fix for an AWS error, by its code (or, with no code, the request never got an answer).
pub fn aws_hint(code: Option<&str>, detail: &str) -> &'static str {
    let Some(code) = code else {
        return NO_ANSWER;
    };
    if code == "ValidationError" && detail.contains("does not exist") {
        // CloudFormation's way of saying there is no such stack.
        return "no such stack in this account and region: check --stack (MODEL_GUARD_STACK) and \
                AWS_REGION (or the profile's region)";
    }
    FIXES
        .iter()
        .find(|(codes, _)| codes.contains(&code))
        .map_or(WHO_AM_I, |(_, fix)| fix)
}

/// The fix for an AWS error the guard's code put into words: by the code its message names.
fn hint_in_text(message: &str) -> &'static str {
    let words: Vec<&str> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    FIXES
        .iter()
        .find(|(codes, _)| codes.iter().any(|c| words.contains(c)))
        .map_or(WHO_AM_I, |(_, fix)| fix)
}

/// The fix for a failure the guard's code reported, by its kind.
fn guard_hint(kind: ErrorKind, message: &str) -> &'static str {
    match kind {
        ErrorKind::PolicyInvalid => {
            "fix or delete the item named above (`guardctl policy get PK`, then `guardctl policy \
             put FILE` or `guardctl policy rm PK`); the guard's functions refuse to decide \
             until the table validates"
        }
        ErrorKind::AccessDenied => aws_hint(Some("AccessDenied"), message),
        ErrorKind::Throttled => aws_hint(Some("Throttling"), message),
        ErrorKind::Configuration => {
            "name the stack with --stack (MODEL_GUARD_STACK), or give the table and function \
             names as the message says"
        }
        ErrorKind::Unavailable => NO_ANSWER,
        _ => hint_in_text(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_follows_the_message_on_one_line() {
        let failure = Failure::bad_input("first line\nsecond line", "do this,\n   then that");
        assert_eq!(
            failure.to_string(),
            "first line\nsecond line\nhint: do this, then that"
        );
        assert_eq!(failure.exit_code(), 2);
    }

    #[test]
    fn an_aws_error_gets_the_fix_its_code_calls_for() {
        assert!(aws_hint(Some("AccessDeniedException"), "").contains("may not make this call"));
        assert!(aws_hint(Some("ExpiredTokenException"), "").contains("sso login"));
        assert!(aws_hint(Some("ResourceNotFoundException"), "").contains("--stack"));
        assert!(
            aws_hint(Some("ValidationError"), "Stack with id x does not exist").contains("stack")
        );
        assert!(aws_hint(Some("ValidationError"), "other").contains("get-caller-identity"));
        assert!(aws_hint(None, "dispatch failure").contains("network"));
        assert!(aws_hint(Some("ThrottlingException"), "").contains("wait"));
        assert_eq!(aws_hint(Some("SomethingElse"), ""), WHO_AM_I);
    }

    #[test]
    fn a_guard_error_keeps_its_exit_code_and_gets_a_hint() {
        let invalid = Failure::guard(GuardError::new(ErrorKind::PolicyInvalid, "item x: bad"));
        assert_eq!(invalid.exit_code(), 2);
        assert!(invalid.hint().contains("guardctl policy"));
        let denied = Failure::guard(GuardError::new(ErrorKind::AccessDenied, "no"));
        assert_eq!(denied.exit_code(), 1);
        assert!(denied.hint().contains("may not make this call"));
        let gone = Failure::guard(GuardError::new(
            ErrorKind::AwsError,
            "Scan t: ResourceNotFoundException: Requested resource not found",
        ));
        assert!(
            gone.hint().starts_with("nothing by that name"),
            "{}",
            gone.hint()
        );
        let other = Failure::guard(GuardError::new(ErrorKind::AwsError, "Scan t: Oops: no"));
        assert_eq!(other.hint(), WHO_AM_I);
    }
}
