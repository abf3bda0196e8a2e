//! Jobs as parents (`children`): which AutoML job's deployment names an endpoint, and which
//! monitoring schedule a processing job is a run of.

use aws_sdk_sagemaker::types::{AutoMlCandidate, AutoMlContainerDefinition, AutoMlJobStatus};
use aws_sdk_sagemaker::types::{AutoMlSortBy, AutoMlSortOrder};
use chrono::{DateTime, Utc};
use model_guard_core::JobParents;
use model_guard_core::children::AutoMlFacts;
use model_guard_core::content::{ContainerContent, DataLocation};
use model_guard_core::resolve::ResolveError;

use super::{SageMakerResolver, resolve_error, time};

/// The newest jobs looked at, and of those, how many are described: a deployment is the last
/// stage of a job that is running or has just ended.
const LISTED: i32 = 100;
const DESCRIBED: usize = 25;

impl JobParents for SageMakerResolver {
    async fn deployers_of(
        &self,
        endpoint: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<AutoMlFacts>, ResolveError> {
        let listed = self
            .client
            .list_auto_ml_jobs()
            .sort_by(AutoMlSortBy::CreationTime)
            .sort_order(AutoMlSortOrder::Descending)
            .max_results(LISTED)
            .send()
            .await
            .map_err(|e| resolve_error("AutoML jobs", &e))?;
        // Filtered here rather than by LastModifiedTimeAfter: one request, read the same way
        // by every endpoint SageMaker answers from.
        let recent = listed
            .auto_ml_job_summaries()
            .iter()
            .filter(|j| time(j.last_modified_time()).is_none_or(|t| t >= since))
            .filter_map(|j| j.auto_ml_job_name())
            .take(DESCRIBED);
        let names = |n: Option<&str>| n.is_some_and(|n| n.eq_ignore_ascii_case(endpoint));
        let mut found = Vec::new();
        for name in recent {
            let out = self
                .client
                .describe_auto_ml_job_v2()
                .auto_ml_job_name(name)
                .send()
                .await
                .map_err(|e| resolve_error(&format!("AutoML job {name}"), &e))?;
            let deployed = out.model_deploy_result().and_then(|r| r.endpoint_name());
            let asked = out.model_deploy_config().and_then(|c| c.endpoint_name());
            // Deploying to a generated name that its describe does not give yet.
            let naming_pending = deployed.is_none()
                && out
                    .model_deploy_config()
                    .and_then(|c| c.auto_generate_endpoint_name())
                    .unwrap_or(false)
                && out.auto_ml_job_status() == Some(&AutoMlJobStatus::InProgress);
            let linked = names(deployed) || names(asked) || naming_pending;
            if let (true, Some(arn)) = (linked, out.auto_ml_job_arn()) {
                found.push(AutoMlFacts {
                    job_name: name.to_owned(),
                    job_arn: arn.to_owned(),
                    role_arn: out.role_arn().map(str::to_owned),
                    deployed_endpoint: deployed.map(str::to_owned),
                    asked_endpoint: asked.map(str::to_owned),
                    created: time(out.creation_time()),
                    candidate: out.best_candidate().map(candidate).unwrap_or_default(),
                    naming_pending,
                });
            }
        }
        Ok(found)
    }

    async fn schedule_of(&self, processing_job: &str) -> Result<Option<String>, ResolveError> {
        let out = self
            .client
            .describe_processing_job()
            .processing_job_name(processing_job)
            .send()
            .await
            .map_err(|e| resolve_error(&format!("processing job {processing_job}"), &e))?;
        Ok(out.monitoring_schedule_arn().map(str::to_owned))
    }
}

/// A candidate's inference containers, every processing unit's (V2 image and text jobs list
/// them per unit): what deploying it serves.
fn candidate(best: &AutoMlCandidate) -> Vec<ContainerContent> {
    let per_unit = best
        .inference_container_definitions()
        .into_iter()
        .flat_map(|units| units.values().flatten());
    best.inference_containers()
        .iter()
        .chain(per_unit)
        .map(|c: &AutoMlContainerDefinition| ContainerContent {
            image: c.image().map(str::to_owned),
            data: c
                .model_data_url()
                .map(|uri| DataLocation {
                    uri: uri.to_owned(),
                    prefix: false,
                })
                .into_iter()
                .collect(),
            package: None,
        })
        .collect()
}
