//! Notebook instances: stopping one (code runs under its role while it is in service), and the
//! role a notebook instance says it runs under.

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use model_guard_core::contract::{ResourceRef, Target};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::principal::canonical_arn;
use model_guard_core::resolve::ResolveError;
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, time};
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
        targets: out
            .role_arn()
            .map(|arn| Target::Role {
                arn: canonical_arn(arn),
            })
            .into_iter()
            .collect(),
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
        let name = resource.name.as_str();
        let status = self.notebook_status(name).await?;
        let text = status.as_ref().map(|s| s.as_str().to_owned());
        match status {
            None => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            Some(NotebookInstanceStatus::Stopping | NotebookInstanceStatus::Stopped) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyStopped,
                    text,
                ));
            }
            Some(NotebookInstanceStatus::InService) => {}
            Some(_) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "notebook instance {name} is {}; it can be stopped once in service",
                        text.as_deref().unwrap_or("busy")
                    ),
                ));
            }
        }
        match self
            .sagemaker
            .stop_notebook_instance()
            .notebook_instance_name(name)
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
            Err(e) => return Err(sdk_error(&format!("StopNotebookInstance {name}"), &e)),
        }
        let mut result = Self::result(resource, EnforcementOutcome::Stopped, text);
        result.confirmed = match self.notebook_status(name).await? {
            Some(s @ (NotebookInstanceStatus::Stopping | NotebookInstanceStatus::Stopped)) => {
                Some(s.as_str().to_owned())
            }
            None => Some(model_guard_core::enforcement::CONFIRMED_GONE.to_owned()),
            Some(other) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "notebook instance {name} is {} after StopNotebookInstance",
                        other.as_str()
                    ),
                ));
            }
        };
        Ok(result)
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
