//! Rolling a violating UpdateEndpoint back: the endpoint is updated to the config its last
//! allowed deployment deployed, once that config is shown to be the very one that was allowed
//! (docs/design.md, "Rolling back a violating update").

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_sagemaker::types::EndpointStatus;
use model_guard_core::audit::RollbackRecord;
use model_guard_core::contract::{ResourceRef, Restorable, RollbackTo, Verdict};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::ports::RollbackState;
use model_guard_core::records::created_after_the_call;
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, created_after_call, is_not_found, time};
use crate::sdk_error;

/// How long one attempt waits for the update to finish before the machine's busy retry takes
/// over (an update on AWS takes minutes; the testbed's, a second).
const UPDATE_WAIT: Duration = Duration::from_secs(30);

/// What DescribeEndpoint says that a rollback needs.
struct Seen {
    status: Option<EndpointStatus>,
    config: Option<String>,
    created: Option<chrono::DateTime<chrono::Utc>>,
    modified: Option<chrono::DateTime<chrono::Utc>>,
}

impl Seen {
    fn status_text(&self) -> Option<String> {
        self.status.as_ref().map(|s| s.as_str().to_owned())
    }

    /// An endpoint that cannot take the rollback yet: tried again by the machine's busy loop.
    fn busy(&self, name: &str, config: &str) -> GuardError {
        GuardError::new(
            ErrorKind::ResourceBusy,
            format!(
                "endpoint {name} is {}; it can be rolled back to {config} once that ends",
                self.status_text().as_deref().unwrap_or("busy")
            ),
        )
    }
}

impl SageMakerEnforcer {
    async fn seen(&self, name: &str) -> Result<Option<Seen>, GuardError> {
        match self
            .sagemaker
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Seen {
                status: out.endpoint_status().cloned(),
                config: out.endpoint_config_name().map(str::to_owned),
                created: time(out.creation_time()),
                modified: time(out.last_modified_time()),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeEndpoint {name}"), &e)),
        }
    }

    fn rolled_back(resource: &ResourceRef, to: &RollbackTo, seen: &Seen) -> EnforcementResult {
        let mut result = Self::result(resource, EnforcementOutcome::RolledBack, seen.status_text());
        result.confirmed = seen.status_text();
        result.restored = Some(to.clone());
        result
    }

    pub(super) async fn endpoint_rollback_state(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
        attempt: Option<&RollbackRecord>,
    ) -> Result<RollbackState, GuardError> {
        let resource = rolled_back_resource(verdict)?;
        let name = resource.name.as_str();
        let Some(seen) = self.seen(name).await? else {
            return Ok(RollbackState::Done(Box::new(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                None,
            ))));
        };
        if let Some(why) = created_after_call(seen.created, verdict) {
            tracing::warn!(endpoint = name, reason = %why, "not the call's endpoint");
            return Ok(RollbackState::Done(Box::new(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                Some(why),
            ))));
        }
        let Restorable::EndpointConfig { name: config, .. } = &to.config else {
            return Err(not_a_config());
        };
        match seen.status {
            Some(EndpointStatus::Deleting) => {
                return Ok(RollbackState::Done(Box::new(Self::result(
                    resource,
                    EnforcementOutcome::Deleted,
                    seen.status_text(),
                ))));
            }
            Some(EndpointStatus::InService) => {}
            // An update under way (the violating one, or ours) or any other passing state: the
            // machine tries again, never giving up while it lasts.
            Some(
                EndpointStatus::Creating
                | EndpointStatus::Updating
                | EndpointStatus::SystemUpdating
                | EndpointStatus::RollingBack,
            ) => {
                return Err(seen.busy(name, config));
            }
            // Failed, OutOfService, or a status this build does not know: only deleting it is
            // sure to end what it serves.
            _ => {
                return Ok(RollbackState::Refused(format!(
                    "endpoint {name} is {}, which an update cannot take",
                    seen.status_text().as_deref().unwrap_or("of no status")
                )));
            }
        }
        if let Err(why) = self.still_the_allowed_config(to).await? {
            return Ok(RollbackState::Refused(why));
        }
        if seen.config.as_deref() == Some(config.as_str()) {
            // Our update done, or SageMaker undid the violating update by itself.
            return Ok(RollbackState::Done(Box::new(Self::rolled_back(
                resource, to, &seen,
            ))));
        }
        if let Some(attempt) = attempt
            && seen.modified.is_some_and(|m| m > attempt.at)
        {
            // Our update was accepted after the record, and the endpoint is back on another
            // config (SageMaker rolled our update back, or someone changed it since).
            return Ok(RollbackState::Refused(format!(
                "the rollback to {config} begun at {} did not take: endpoint {name} serves {}",
                attempt.at.to_rfc3339(),
                seen.config.as_deref().unwrap_or("no config")
            )));
        }
        Ok(RollbackState::Ready)
    }

    /// Whether `to`'s config is still what was allowed: the config and each of its models exist,
    /// none was made after the allowed deployment (deleted and made again under its name: its
    /// content is not what was judged), the config was made when it was at the allowed
    /// deployment, and it deploys the same models. `Ok(Err(why))` when not.
    async fn still_the_allowed_config(
        &self,
        to: &RollbackTo,
    ) -> Result<Result<(), String>, GuardError> {
        let Restorable::EndpointConfig {
            name: config,
            models,
            created,
        } = &to.config
        else {
            return Err(not_a_config());
        };
        let described = match self
            .sagemaker
            .describe_endpoint_config()
            .endpoint_config_name(config)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => {
                return Ok(Err(format!("endpoint config {config} is gone")));
            }
            Err(e) => return Err(sdk_error(&format!("DescribeEndpointConfig {config}"), &e)),
        };
        let made = time(described.creation_time());
        if let Some(why) = made_after(made, to.deployed_at) {
            return Ok(Err(format!("endpoint config {config} {why}")));
        }
        if let (Some(kept), Some(made)) = (created, made)
            && kept.timestamp_millis() != made.timestamp_millis()
        {
            return Ok(Err(format!(
                "endpoint config {config} was made at {}, not at {} as the allowed one was",
                made.to_rfc3339(),
                kept.to_rfc3339()
            )));
        }
        let deployed: BTreeSet<&str> = described
            .production_variants()
            .iter()
            .chain(described.shadow_production_variants())
            .filter_map(|v| v.model_name())
            .collect();
        let allowed: BTreeSet<&str> = models.iter().map(String::as_str).collect();
        if deployed != allowed {
            return Ok(Err(format!(
                "endpoint config {config} deploys {deployed:?}, not the allowed {allowed:?}"
            )));
        }
        for model in deployed {
            match self
                .sagemaker
                .describe_model()
                .model_name(model)
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(why) = made_after(time(out.creation_time()), to.deployed_at) {
                        return Ok(Err(format!("model {model} {why}")));
                    }
                }
                Err(e) if is_not_found(&e) => return Ok(Err(format!("model {model} is gone"))),
                Err(e) => return Err(sdk_error(&format!("DescribeModel {model}"), &e)),
            }
        }
        Ok(Ok(()))
    }

    pub(super) async fn endpoint_roll_back(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
    ) -> Result<EnforcementResult, GuardError> {
        let resource = rolled_back_resource(verdict)?;
        let name = resource.name.as_str();
        let Restorable::EndpointConfig { name: config, .. } = &to.config else {
            return Err(not_a_config());
        };
        if let Err(e) = self
            .sagemaker
            .update_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .send()
            .await
        {
            let error = sdk_error(&format!("UpdateEndpoint {name} to {config}"), &e);
            // Throttled or unavailable: the machine tries again.
            if error.kind.is_transient() {
                return Err(error);
            }
            let Some(seen) = self.seen(name).await? else {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            };
            // SageMaker refuses an update while another is under way (someone's, made between
            // the describe and now): busy, tried again, as any busy endpoint.
            if seen.status != Some(EndpointStatus::InService) {
                return Err(seen.busy(name, config));
            }
            // Refused for good (the config or a model's artifact gone, a key the enforce role
            // may not use, access denied): the violation is ended the old way, never left
            // serving while the rollback is retried forever.
            tracing::warn!(endpoint = name, error = %error, "rollback refused: deleting");
            let mut result = self.endpoint(resource, verdict).await?;
            result.not_rolled_back = Some(format!("SageMaker refused the rollback: {error}"));
            return Ok(result);
        }
        let waited = std::time::Instant::now();
        loop {
            let Some(seen) = self.seen(name).await? else {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    None,
                ));
            };
            if seen.status == Some(EndpointStatus::InService)
                && seen.config.as_deref() == Some(config.as_str())
            {
                // Checked again now that SageMaker has read them: a model deleted and made again
                // between the first check and the update would be served, unjudged.
                if let Err(why) = self.still_the_allowed_config(to).await? {
                    let mut result = self.endpoint(resource, verdict).await?;
                    result.not_rolled_back = Some(format!("after the rollback: {why}"));
                    return Ok(result);
                }
                return Ok(Self::rolled_back(resource, to, &seen));
            }
            if seen.status != Some(EndpointStatus::Updating) || waited.elapsed() >= UPDATE_WAIT {
                // Still updating, or it ended elsewhere: the next attempt sees which (and
                // deletes the endpoint if the rollback did not take).
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "endpoint {name}: rolling back to {config}; it is {} on {}",
                        seen.status_text().as_deref().unwrap_or("of no status"),
                        seen.config.as_deref().unwrap_or("no config")
                    ),
                ));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

/// Why what was `created` is not what the allowed deployment at `deployed` used: made more than
/// a second after it (CloudTrail's times are whole seconds), so deleted and made again under its
/// name since, with content nobody judged; or either time is not known (then nothing shows it is
/// the same).
pub(super) fn made_after(
    created: Option<chrono::DateTime<chrono::Utc>>,
    deployed: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<String> {
    let Some(deployed) = deployed else {
        return Some(
            "cannot be shown to be the allowed one: the allowed deployment's time is not \
                     on record"
                .to_owned(),
        );
    };
    let Some(created) = created else {
        return Some(
            "cannot be shown to be the allowed one: its describe gave no creation time".to_owned(),
        );
    };
    created_after_the_call(created, deployed).then(|| {
        format!(
            "was made again after the allowed deployment (made at {}, the deployment at {})",
            created.to_rfc3339(),
            deployed.to_rfc3339()
        )
    })
}

/// An endpoint is rolled back to an endpoint config only.
fn not_a_config() -> GuardError {
    GuardError::new(
        ErrorKind::InvalidInput,
        "an endpoint is rolled back to an endpoint config only",
    )
}

/// The endpoint a rollback is of: only an endpoint's verdict has one.
fn rolled_back_resource(verdict: &Verdict) -> Result<&ResourceRef, GuardError> {
    verdict
        .resource
        .as_ref()
        .filter(|r| r.resource_type == model_guard_core::contract::ResourceType::Endpoint)
        .ok_or_else(|| {
            GuardError::new(
                ErrorKind::InvalidInput,
                "only an endpoint's violation is rolled back",
            )
        })
}
