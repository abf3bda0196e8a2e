//! Model monitoring: the role a schedule's jobs run under (its inline definition's, or its named
//! definition's), and stopping a schedule.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{MonitoringType, ScheduleStatus};
use model_guard_core::GuardError;
use model_guard_core::contract::ResourceRef;
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::ResolveError;

use super::remedy::{Before, Statuses, call_failed};
use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, role_targets, time};
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
        targets: role_targets([role.as_deref()]),
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
        let call = "StopMonitoringSchedule";
        let stop = async {
            let stopped = self
                .sagemaker
                .stop_monitoring_schedule()
                .monitoring_schedule_name(name);
            stopped
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_failed(&format!("{call} {name}"), &e))
        };
        let statuses = Statuses {
            label: ScheduleStatus::as_str,
            before: |s| match s {
                ScheduleStatus::Stopped | ScheduleStatus::Failed => Before::Ended,
                ScheduleStatus::Pending => Before::Busy("scheduled"),
                _ => Before::Ready,
            },
            confirms: |s| matches!(s, ScheduleStatus::Stopped),
        };
        let status = || self.schedule_status(name);
        self.apply(
            resource,
            (call, EnforcementOutcome::Stopped),
            statuses,
            status,
            stop,
        )
        .await
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
