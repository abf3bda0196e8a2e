//! What every Lambda `main` does once per container: JSON logs, the SDK configuration, settings
//! from the environment, and errors reported with their documented `errorType`.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use lambda_runtime::Diagnostic;
use model_guard_core::{ErrorKind, GuardError};

/// Logs as JSON lines (one object per event, for CloudWatch Logs Insights), level from `RUST_LOG`,
/// else from `AWS_LAMBDA_LOG_LEVEL` (set by the function's log-level setting), else `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(log_level(
            std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        ))
    });
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .flatten_event(true)
        .init();
}

/// Lambda's log level names (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) as a `tracing` filter.
fn log_level(lambda_level: Option<&str>) -> &'static str {
    match lambda_level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN") => "warn",
        Some("ERROR" | "FATAL") => "error",
        _ => "info",
    }
}

/// How long one attempt of an AWS call may take before the SDK gives it up and retries. Every
/// call the functions make is answered in milliseconds; without a bound, one request that hangs
/// (a lost connection, a stalled endpoint) would hold the function until Lambda's own timeout
/// (30 to 240 s here) and fail the whole invocation, where a retry succeeds at once. Three hung
/// attempts (15 s, plus backoff) still end within the shortest timeout of a function that calls
/// AWS (30 s).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK configuration from the environment, as every AWS SDK reads it, with each attempt
/// bounded by [`ATTEMPT_TIMEOUT`].
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// A required setting from the environment.
pub fn env_var(name: &str) -> Result<String, GuardError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(GuardError::new(
            ErrorKind::Configuration,
            format!("the environment variable {name} is not set"),
        )),
    }
}

/// A `GuardError` as the Lambda runtime reports it: `errorType` from the documented set. Logged
/// here so every failure leaves one JSON line.
pub fn diagnostic(error: GuardError) -> Diagnostic {
    tracing::error!(error_type = error.error_type(), message = %error.message, "failed");
    Diagnostic {
        error_type: error.error_type().to_owned(),
        error_message: error.message,
    }
}

/// A failure while the container starts (configuration), logged as JSON before `main` returns it
/// and the runtime reports the init error.
pub fn init_failed(error: GuardError) -> GuardError {
    tracing::error!(error_type = error.error_type(), message = %error.message, "init failed");
    error
}

/// Serves every invocation with a start-up (configuration) error, so callers see its documented
/// `errorType` and message rather than the runtime's generic `Runtime.ExitError`.
pub async fn serve_init_error(error: GuardError) -> Result<(), lambda_runtime::Error> {
    let error = init_failed(error);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let error = error.clone();
            async move { Err::<serde_json::Value, _>(diagnostic(error)) }
        },
    ))
    .await
}

/// An optional number setting; unset means `default`, anything unreadable is a configuration error.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, GuardError>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value.trim().parse().map_err(|e| {
            GuardError::new(ErrorKind::Configuration, format!("{name}={value:?}: {e}"))
        }),
        _ => Ok(default),
    }
}

/// Writes an Embedded Metric Format record (`model_guard_core::metrics`) as one line of the
/// function's log, where CloudWatch takes its metrics from. A metric that cannot be written is
/// lost, never the invocation.
pub fn emit_metrics(record: &serde_json::Value) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{record}");
}

#[cfg(test)]
mod tests {
    use super::{ATTEMPT_TIMEOUT, log_level, sdk_config};

    #[tokio::test]
    async fn every_attempt_is_bounded_and_the_sdks_connect_timeout_is_kept() {
        let config = sdk_config().await;
        let Some(timeouts) = config.timeout_config() else {
            panic!("no timeout configuration");
        };
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        // Merged with the defaults of the behaviour version, not replacing them.
        assert!(timeouts.connect_timeout().is_some(), "{timeouts:?}");
    }

    #[test]
    fn lambda_log_levels_become_tracing_filters() {
        assert_eq!(log_level(Some("DEBUG")), "debug");
        assert_eq!(log_level(Some("warn")), "warn");
        assert_eq!(log_level(Some("FATAL")), "error");
        assert_eq!(log_level(Some("TRACE")), "trace");
        assert_eq!(log_level(Some("nonsense")), "info");
        assert_eq!(log_level(None), "info");
    }
}
