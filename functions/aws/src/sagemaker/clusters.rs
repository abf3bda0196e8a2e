//! SageMaker HyperPod clusters: the roles their instance groups run under, and deleting one
//! (docs/design.md, "Enforcement": why a cluster is deleted rather than a group scaled to zero).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::ClusterStatus;
use model_guard_core::GuardError;
use model_guard_core::contract::{ResourceRef, Verdict};
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::ResolveError;

use super::remedy::{Before, Statuses, call_failed};
use super::{
    SageMakerEnforcer, Uses, created_after_call, is_not_found, resolve_error, role_targets, time,
};
use crate::sdk_error;

/// DescribeCluster's instance groups' `ExecutionRole`s (restricted groups too): what a
/// cluster's nodes run under.
pub(super) async fn cluster_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let out = client
        .describe_cluster()
        .cluster_name(name)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("cluster {name}"), &e))?;
    let groups = out.instance_groups().iter().map(|g| g.execution_role());
    let restricted = out
        .restricted_instance_groups()
        .iter()
        .map(|g| g.execution_role());
    Ok(Uses {
        targets: role_targets(groups.chain(restricted).chain([out.cluster_role()])),
        source: format!("DescribeCluster {name}'s instance groups' ExecutionRole and ClusterRole"),
        created: time(out.creation_time()),
    })
}

impl SageMakerEnforcer {
    /// Deletes a cluster: in service or failed, it is deleted (confirmed by a describe);
    /// creating, updating or rolling back, it is busy; deleting, it is already gone; created
    /// after the call, it is another cluster under the same name and left alone.
    pub(super) async fn cluster(
        &self,
        resource: &ResourceRef,
        verdict: &Verdict,
    ) -> Result<EnforcementResult, GuardError> {
        use ClusterStatus as S;
        let name = resource.name.as_str();
        if let Some(why) = self.cluster_recreated(name, verdict).await? {
            tracing::warn!(cluster = name, reason = %why, "not the call's cluster");
            return Ok(Self::result(
                resource,
                EnforcementOutcome::AlreadyGone,
                Some(why),
            ));
        }
        let call = "DeleteCluster";
        let delete = async {
            let deleted = self.sagemaker.delete_cluster().cluster_name(name);
            deleted
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_failed(&format!("{call} {name}"), &e))
        };
        let statuses = Statuses {
            label: S::as_str,
            before: |s| match s {
                S::Deleting => Before::Gone,
                S::Creating | S::Updating | S::Rollingback | S::Systemupdating => {
                    Before::Busy("that ends")
                }
                _ => Before::Ready,
            },
            confirms: |s| matches!(s, S::Deleting),
        };
        let status = || self.cluster_status(name);
        self.apply(
            resource,
            (call, EnforcementOutcome::Deleted),
            statuses,
            status,
            delete,
        )
        .await
    }

    /// Why the cluster under this name is not the call's, if it was created after the call.
    async fn cluster_recreated(
        &self,
        name: &str,
        verdict: &Verdict,
    ) -> Result<Option<String>, GuardError> {
        match self
            .sagemaker
            .describe_cluster()
            .cluster_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(created_after_call(time(out.creation_time()), verdict)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeCluster {name}"), &e)),
        }
    }

    async fn cluster_status(&self, name: &str) -> Result<Option<ClusterStatus>, GuardError> {
        match self
            .sagemaker
            .describe_cluster()
            .cluster_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.cluster_status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeCluster {name}"), &e)),
        }
    }
}
