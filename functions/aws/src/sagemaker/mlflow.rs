//! MLflow tracking servers: the role a server runs under, and stopping one (its artifact store
//! and metadata are kept; it can be started again by someone allowed).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::TrackingServerStatus;
use model_guard_core::GuardError;
use model_guard_core::contract::ResourceRef;
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::ResolveError;

use super::remedy::{Before, Statuses, call_failed};
use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, role_targets, time};
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
        targets: role_targets([out.role_arn()]),
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
        let call = "StopMlflowTrackingServer";
        let stop = async {
            let stopped = self
                .sagemaker
                .stop_mlflow_tracking_server()
                .tracking_server_name(name);
            stopped
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_failed(&format!("{call} {name}"), &e))
        };
        let statuses = Statuses {
            label: S::as_str,
            before: |s| match s {
                S::Deleting => Before::Gone,
                S::Stopping | S::Stopped | S::CreateFailed | S::StartFailed => Before::Ended,
                S::Creating | S::Starting | S::Updating | S::MaintenanceInProgress => {
                    Before::Busy("that ends")
                }
                _ => Before::Ready,
            },
            confirms: |s| matches!(s, S::Stopping | S::Stopped),
        };
        let status = || self.tracking_server_status(name);
        self.apply(
            resource,
            (call, EnforcementOutcome::Stopped),
            statuses,
            status,
            stop,
        )
        .await
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
