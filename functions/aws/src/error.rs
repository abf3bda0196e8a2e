//! AWS SDK errors turned into Model Guard's documented error kinds.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use model_guard_core::{ErrorKind, GuardError};

/// Error codes AWS services use for throttling (after the SDK's own retries gave up).
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
];

const ACCESS_DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "AuthorizationError",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
];

/// The kind and a message for an SDK error; `doing` says what was attempted, e.g.
/// `DeleteEndpoint fraud-ep`.
pub fn sdk_error<E>(doing: &str, error: &SdkError<E, HttpResponse>) -> GuardError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = service.raw().status().as_u16();
            if THROTTLING.iter().any(|t| code.eq_ignore_ascii_case(t))
                || code.to_ascii_lowercase().contains("throttl")
                || status == 429
            {
                ErrorKind::Throttled
            } else if status >= 500 {
                // Services name their 5xx errors differently (InternalError,
                // InternalServiceException, ServiceUnavailable…): the status says it may pass.
                ErrorKind::Unavailable
            } else if THROTTLING.contains(&code) {
                ErrorKind::Throttled
            } else if ACCESS_DENIED.contains(&code) {
                ErrorKind::AccessDenied
            } else if code.starts_with("InternalFailure")
                || code == "InternalServerError"
                || code == "ServiceUnavailable"
            {
                ErrorKind::Unavailable
            } else {
                ErrorKind::AwsError
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::AwsError,
    };
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(error).to_string(),
    };
    GuardError::new(kind, format!("{doing}: {detail}"))
}

/// The service's error code, when the error is one the service returned.
pub fn service_code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// The service's error message, when the error is one the service returned.
pub fn service_message<E, R>(error: &SdkError<E, R>) -> &str
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => service.err().message().unwrap_or_default(),
        _ => "",
    }
}
