//! The shape every single-call remedy shares (stop a notebook instance, an execution, a schedule,
//! a tracking server; delete an app): read the status, act only when the resource can take it,
//! make the one call, then confirm the end state with a second describe. Each family says only
//! how its statuses read.

use std::future::Future;

use model_guard_core::contract::ResourceRef;
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, is_not_found};
use crate::error::service_code;
use crate::sdk_error;

/// Where a resource stands before its remedy.
pub(super) enum Before {
    /// Gone or going: nothing to do.
    Gone,
    /// It runs no more (stopped, stopping, finished).
    Ended,
    /// It cannot take the call yet; it can once … (tried again).
    Busy(&'static str),
    Ready,
}

/// A family's statuses: how one reads, where it stands, and which end states confirm the call.
pub(super) struct Statuses<S> {
    pub label: fn(&S) -> &str,
    pub before: fn(&S) -> Before,
    pub confirms: fn(&S) -> bool,
}

/// The remedy's one call failed: the resource was already gone, SageMaker refused the call for
/// the state the resource is in, or the call failed.
pub(super) enum CallFailed {
    Gone,
    /// The resource cannot take the call as it stands ([`is_refusal`]). That is also how the
    /// SDK's retry of the guard's own call ends when the first attempt took effect and its answer
    /// was lost (a stop of a server already stopping): the status says which.
    Refused(GuardError),
    Error(GuardError),
}

/// SageMaker refused the call for the resource's state, or said it does not exist. Stop*Job and
/// StopNotebookInstance refuse with a ValidationException; StopMlflowTrackingServer, DeleteCluster
/// and StopInferenceExperiment with a ConflictException; DeleteApp with ResourceInUse. A status
/// read decides what the refusal meant, so a code too many here costs a describe, no more.
pub(super) fn is_refusal<E, R>(
    error: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    matches!(
        service_code(error),
        Some("ValidationException" | "ConflictException" | "ResourceInUse" | "ResourceNotFound")
    )
}

/// An SDK error of the remedy's call, as [`CallFailed`].
pub(super) fn call_failed<E>(
    call: &str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> CallFailed
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    if is_not_found(error) {
        CallFailed::Gone
    } else if is_refusal(error) {
        CallFailed::Refused(sdk_error(call, error))
    } else {
        CallFailed::Error(sdk_error(call, error))
    }
}

impl SageMakerEnforcer {
    /// Applies a remedy whose outcome is `outcome` (stopped or deleted) through `act` (the call
    /// named `call`), reading the status with `status` before and after.
    pub(super) async fn apply<S, StatusFut>(
        &self,
        resource: &ResourceRef,
        (call, outcome): (&str, EnforcementOutcome),
        statuses: Statuses<S>,
        status: impl Fn() -> StatusFut,
        act: impl Future<Output = Result<(), CallFailed>>,
    ) -> Result<EnforcementResult, GuardError>
    where
        StatusFut: Future<Output = Result<Option<S>, GuardError>>,
    {
        let what = format!(
            "{} {}",
            resource.resource_type.as_str().replace('-', " "),
            resource.name
        );
        // Busy: tried again (ResourceBusy) once it can take the call.
        let busy = |once: &str, text: &Option<String>, why: &str| {
            GuardError::new(
                ErrorKind::ResourceBusy,
                format!(
                    "{what} is {}; it can be {} once {once}{why}",
                    text.as_deref().unwrap_or("busy"),
                    outcome.as_str()
                ),
            )
        };
        let before = status().await?;
        let text = before.as_ref().map(|s| (statuses.label)(s).to_owned());
        match before.as_ref().map(statuses.before) {
            None | Some(Before::Gone) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    text,
                ));
            }
            Some(Before::Ended) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyStopped,
                    text,
                ));
            }
            Some(Before::Busy(once)) => return Err(busy(once, &text, "")),
            Some(Before::Ready) => {}
        }
        match act.await {
            Ok(()) => {}
            Err(CallFailed::Gone) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            // Refused: gone or ended now (by the guard's own first attempt, whose answer was
            // lost, or by anyone) is the end state the remedy wants; anything else is the refusal.
            Err(CallFailed::Refused(refused)) => {
                let now = status().await?;
                let text = now.as_ref().map(|s| (statuses.label)(s).to_owned());
                return match now.as_ref().map(statuses.before) {
                    None | Some(Before::Gone) => Ok(Self::result(
                        resource,
                        EnforcementOutcome::AlreadyGone,
                        text,
                    )),
                    Some(Before::Ended) => Ok(Self::result(
                        resource,
                        EnforcementOutcome::AlreadyStopped,
                        text,
                    )),
                    // Busy (someone's update, say): tried again once that ends, as before the call.
                    Some(Before::Busy(once)) => {
                        Err(busy(once, &text, &format!(" ({})", refused.message)))
                    }
                    Some(Before::Ready) => Err(refused),
                };
            }
            Err(CallFailed::Error(e)) => return Err(e),
        }
        let mut result = Self::result(resource, outcome, text);
        result.confirmed = match status().await? {
            Some(s) if (statuses.confirms)(&s) => Some((statuses.label)(&s).to_owned()),
            None => Some(CONFIRMED_GONE.to_owned()),
            Some(other) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!("{what} is {} after {call}", (statuses.label)(&other)),
                ));
            }
        };
        Ok(result)
    }
}
