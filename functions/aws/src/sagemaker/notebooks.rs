//! Notebook instances: stopping one (code runs under its role while it is in service), and the
//! role a notebook instance says it runs under.

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use model_guard_core::GuardError;
use model_guard_core::contract::{ResourceRef, Target};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::ResolveError;

use super::remedy::{Before, Statuses, call_failed};
use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, role_targets, time};
use crate::sdk_error;

/// DescribeNotebookInstance's `RoleArn`: what an instance runs under.
pub(super) async fn notebook_instance_uses(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let out = client
        .describe_notebook_instance()
        .notebook_instance_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("notebook instance {name}"), &e))?;
    Ok(Uses {
        targets: role_targets([out.role_arn()]),
        source: format!("DescribeNotebookInstance {name}'s RoleArn"),
        created: time(out.creation_time()),
    })
}

/// The roles of the notebook instances that use a lifecycle configuration (ListNotebookInstances
/// filtered by the name, then each one's DescribeNotebookInstance): what its scripts run under.
pub(super) async fn lifecycle_config_uses(
    client: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Uses, ResolveError> {
    let mut instances = Vec::new();
    let mut pages = client
        .list_notebook_instances()
        .notebook_instance_lifecycle_config_name_contains(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| resolve_error(&format!("the notebook instances using {name}"), &e))?;
        // "Contains" matches other names too: only this configuration's users count.
        instances.extend(
            page.notebook_instances()
                .iter()
                .filter(|i| i.notebook_instance_lifecycle_config_name() == Some(name))
                .filter_map(|i| i.notebook_instance_name().map(str::to_owned)),
        );
    }
    let mut targets: Vec<Target> = Vec::new();
    for instance in &instances {
        for target in notebook_instance_uses(client, instance).await?.targets {
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
    }
    Ok(Uses {
        targets,
        source: if instances.is_empty() {
            format!("no notebook instance uses lifecycle configuration {name}")
        } else {
            format!(
                "the RoleArn of the notebook instances that use {name} ({})",
                instances.join(", ")
            )
        },
        created: None,
    })
}

impl SageMakerEnforcer {
    /// Stops a notebook instance: in service, it is stopped (and the stop confirmed by a
    /// describe); pending or updating, it is busy (tried again); stopping or stopped, it is
    /// already stopped.
    pub(super) async fn notebook_instance(
        &self,
        resource: &ResourceRef,
    ) -> Result<EnforcementResult, GuardError> {
        use NotebookInstanceStatus as S;
        let name = resource.name.as_str();
        let call = "StopNotebookInstance";
        let stop = async {
            let stopped = self
                .sagemaker
                .stop_notebook_instance()
                .notebook_instance_name(name);
            stopped
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_failed(&format!("{call} {name}"), &e))
        };
        let statuses = Statuses {
            label: S::as_str,
            before: |s| match s {
                S::Stopping | S::Stopped => Before::Ended,
                S::Deleting => Before::Gone,
                S::InService => Before::Ready,
                _ => Before::Busy("in service"),
            },
            confirms: |s| matches!(s, S::Stopping | S::Stopped),
        };
        let status = || self.notebook_status(name);
        self.apply(
            resource,
            (call, EnforcementOutcome::Stopped),
            statuses,
            status,
            stop,
        )
        .await
    }

    async fn notebook_status(
        &self,
        name: &str,
    ) -> Result<Option<NotebookInstanceStatus>, GuardError> {
        match self
            .sagemaker
            .describe_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.notebook_instance_status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeNotebookInstance {name}"), &e)),
        }
    }
}
