//! MLflow tracking servers: the role a server runs under, and stopping one (its artifact store
//! and metadata are kept; it can be started again by someone allowed).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::TrackingServerStatus;
use model_guard_core::contract::{ResourceRef, Target};
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::principal::canonical_arn;
use model_guard_core::resolve::ResolveError;
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, time};
use crate::sdk_error;

/// DescribeMlflowTrackingServer's `RoleArn`: what a server runs under.
pub(super) async fn tracking_server_uses(
    client: &Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let out = client
        .describe_mlflow_tracking_server()
        .tracking_server_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("MLflow tracking server {name}"), &e))?;
    Ok(Uses {
        targets: out
            .role_arn()
            .map(|arn| Target::Role {
                arn: canonical_arn(arn),
            })
            .into_iter()
            .collect(),
        source: format!("DescribeMlflowTrackingServer {name}'s RoleArn"),
        created: time(out.creation_time()),
    })
}

impl SageMakerEnforcer {
    /// Stops a tracking server: running, it is stopped (confirmed by a describe); creating,
    /// starting, updating or in maintenance, it is busy; stopping, stopped or never started, it
    /// is already stopped; deleting, it is already gone.
    pub(super) async fn tracking_server(
        &self,
        resource: &ResourceRef,
    ) -> Result<EnforcementResult, GuardError> {
        use TrackingServerStatus as S;
        let name = resource.name.as_str();
        let status = self.tracking_server_status(name).await?;
        let text = status.as_ref().map(|s| s.as_str().to_owned());
        match status {
            None | Some(S::Deleting) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    text,
                ));
            }
            Some(S::Stopping | S::Stopped | S::CreateFailed | S::StartFailed) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyStopped,
                    text,
                ));
            }
            Some(S::Creating | S::Starting | S::Updating | S::MaintenanceInProgress) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "MLflow tracking server {name} is {}; it can be stopped once that ends",
                        text.as_deref().unwrap_or("busy")
                    ),
                ));
            }
            Some(_) => {}
        }
        match self
            .sagemaker
            .stop_mlflow_tracking_server()
            .tracking_server_name(name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            Err(e) => return Err(sdk_error(&format!("StopMlflowTrackingServer {name}"), &e)),
        }
        let mut result = Self::result(resource, EnforcementOutcome::Stopped, text);
        result.confirmed = match self.tracking_server_status(name).await? {
            Some(s @ (S::Stopping | S::Stopped)) => Some(s.as_str().to_owned()),
            None => Some(CONFIRMED_GONE.to_owned()),
            Some(other) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "MLflow tracking server {name} is {} after StopMlflowTrackingServer",
                        other.as_str()
                    ),
                ));
            }
        };
        Ok(result)
    }

    async fn tracking_server_status(
        &self,
        name: &str,
    ) -> Result<Option<TrackingServerStatus>, GuardError> {
        match self
            .sagemaker
            .describe_mlflow_tracking_server()
            .tracking_server_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.tracking_server_status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(
                &format!("DescribeMlflowTrackingServer {name}"),
                &e,
            )),
        }
    }
}
