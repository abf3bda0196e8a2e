//! What can go wrong, and the exit code each kind gets (documented in `guardctl --help`).

use std::fmt;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

#[derive(Debug)]
pub enum Failure {
    /// An AWS call or the network failed (exit 1).
    Aws(String),
    /// A file, argument or policy item is wrong (exit 2).
    BadInput(String),
    /// The guard refused, or what was asked for does not exist (exit 3).
    Refused(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Aws(_) => 1,
            Failure::BadInput(_) => 2,
            Failure::Refused(_) => 3,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Aws(m) | Failure::BadInput(m) | Failure::Refused(m) => f.write_str(m),
        }
    }
}

/// An SDK error as one line: the operation, the service's code and message.
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
    Failure::Aws(format!("{what}: {detail}"))
}
