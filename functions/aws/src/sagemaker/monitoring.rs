//! Model monitoring: the role a schedule's jobs run under (its inline definition's, or its named
//! definition's), and stopping a schedule.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{MonitoringType, ScheduleStatus};
use model_guard_core::contract::{ResourceRef, Target};
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::principal::canonical_arn;
use model_guard_core::resolve::ResolveError;
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, time};
use crate::sdk_error;

/// The role of a named job definition of `kind`, as its describe says.
async fn definition_role(
    client: &Client,
    kind: &MonitoringType,
    name: &str,
) -> Result<Option<String>, ResolveError> {
    let what = format!("{} job definition {name}", kind.as_str());
    macro_rules! role_of {
        ($call:ident) => {
            client
                .$call()
                .job_definition_name(name)
                .send()
                .await
                .map_err(|e| resolve_error(&what, &e))?
                .role_arn()
                .map(str::to_owned)
        };
    }
    Ok(match kind {
        MonitoringType::DataQuality => role_of!(describe_data_quality_job_definition),
        MonitoringType::ModelQuality => role_of!(describe_model_quality_job_definition),
        MonitoringType::ModelBias => role_of!(describe_model_bias_job_definition),
        MonitoringType::ModelExplainability => {
            role_of!(describe_model_explainability_job_definition)
        }
        other => {
            return Err(ResolveError::Unresolvable(format!(
                "monitoring type {} is not one the guard knows",
                other.as_str()
            )));
        }
    })
}

/// DescribeMonitoringSchedule: its inline definition's role, or its named definition's.
pub(super) async fn schedule_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let out = client
        .describe_monitoring_schedule()
        .monitoring_schedule_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("monitoring schedule {name}"), &e))?;
    let config = out.monitoring_schedule_config();
    let (role, source) = match (
        config.and_then(|c| c.monitoring_job_definition()),
        config.and_then(|c| c.monitoring_job_definition_name()),
    ) {
        (Some(inline), _) => (
            inline.role_arn().map(str::to_owned),
            format!("DescribeMonitoringSchedule {name}'s inline definition's RoleArn"),
        ),
        (None, Some(definition)) => {
            let Some(kind) = config
                .and_then(|c| c.monitoring_type())
                .or(out.monitoring_type())
                .cloned()
            else {
                return Err(ResolveError::Unresolvable(format!(
                    "monitoring schedule {name} names definition {definition} but not its type"
                )));
            };
            (
                definition_role(client, &kind, definition).await?,
                format!(
                    "the RoleArn of {} job definition {definition}, which schedule {name} runs",
                    kind.as_str()
                ),
            )
        }
        (None, None) => (
            None,
            format!("monitoring schedule {name} names no definition"),
        ),
    };
    Ok(Uses {
        targets: role
            .map(|arn| Target::Role {
                arn: canonical_arn(&arn),
            })
            .into_iter()
            .collect(),
        source,
        created: time(out.creation_time()),
    })
}

impl SageMakerEnforcer {
    /// Stops a monitoring schedule: scheduled, it is stopped (confirmed by a describe); pending,
    /// it is busy; stopped or failed, it starts no more jobs.
    pub(super) async fn monitoring_schedule(
        &self,
        resource: &ResourceRef,
    ) -> Result<EnforcementResult, GuardError> {
        let name = resource.name.as_str();
        let status = self.schedule_status(name).await?;
        let text = status.as_ref().map(|s| s.as_str().to_owned());
        match status {
            None => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            }
            Some(ScheduleStatus::Stopped | ScheduleStatus::Failed) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyStopped,
                    text,
                ));
            }
            Some(ScheduleStatus::Pending) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "monitoring schedule {name} is Pending; it can be stopped once scheduled"
                    ),
                ));
            }
            Some(_) => {}
        }
        match self
            .sagemaker
            .stop_monitoring_schedule()
            .monitoring_schedule_name(name)
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
            Err(e) => return Err(sdk_error(&format!("StopMonitoringSchedule {name}"), &e)),
        }
        let mut result = Self::result(resource, EnforcementOutcome::Stopped, text);
        result.confirmed = match self.schedule_status(name).await? {
            Some(s @ ScheduleStatus::Stopped) => Some(s.as_str().to_owned()),
            None => Some(CONFIRMED_GONE.to_owned()),
            Some(other) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "monitoring schedule {name} is {} after StopMonitoringSchedule",
                        other.as_str()
                    ),
                ));
            }
        };
        Ok(result)
    }

    async fn schedule_status(&self, name: &str) -> Result<Option<ScheduleStatus>, GuardError> {
        match self
            .sagemaker
            .describe_monitoring_schedule()
            .monitoring_schedule_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.monitoring_schedule_status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeMonitoringSchedule {name}"), &e)),
        }
    }
}
