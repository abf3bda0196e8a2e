//! Model Guard's decision core: parsing CloudTrail events, normalising callers, matching policies
//! and deciding — pure functions over plain serde types, with no AWS SDK.
//!
//! The flow (DESIGN.md): [`parse_event_value`] turns an EventBridge event into a [`Request`] (or an
//! ignored [`Verdict`]); [`resolve_subjects`] turns its targets into subjects through a
//! [`Resolver`]; [`decide`] judges them against a [`PolicySet`].

pub mod approval;
pub mod audit;
pub mod catalog;
pub mod chat;
pub mod children;
pub mod content;
pub mod contract;
pub mod covered;
pub mod custody;
pub mod decide;
pub mod enforcement;
pub mod error;
pub mod event;
pub mod glob;
pub mod guard_log;
pub mod health;
pub mod ledger;
pub mod lenient;
pub mod metrics;
pub mod notification;
pub mod organization;
pub mod policy;
pub mod policy_change;
pub mod ports;
pub mod principal;
pub mod proof;
pub mod records;
pub mod resolve;
pub mod rollback;
pub mod scan;
pub mod studio;
pub mod sweep;

pub use catalog::{Catalog, CatalogResolver};
pub use children::{JobParents, PipelineSteps};
pub use contract::*;
pub use covered::{COVERED_CALLS, CoveredCall, covered_call};
pub use decide::{Defaults, decide};
pub use error::{ErrorKind, GuardError};
pub use event::{NotJson, parse_event_slice, parse_event_value, parse_guarded_event};
pub use policy::{Mode, PolicyError, PolicyItem, PolicyItemRecord, PolicySet};
pub use ports::{NoDirectory, RecordStore, RoleDirectory, look_up_role_path};
pub use principal::{canonical_arn, canonical_pattern};
pub use resolve::{Lookups, Recovery, Resolution, Resolver, resolve_subjects};

/// Parse, resolve and decide in one go: the verdict for an event. `Err` when a describe failed
/// in a way that may pass (see [`resolve::ResolveError::Failed`]), or a record the decision needs
/// has not arrived within the wait.
pub async fn explain<R: Resolver + Recovery + PipelineSteps + JobParents, S: RecordStore + Sync>(
    outcome: ParseOutcome,
    lookups: &Lookups<'_, R, S>,
    policy: &PolicySet,
    defaults: &Defaults,
) -> Result<Verdict, GuardError> {
    let lookups = Lookups {
        needs: policy.content_needs(),
        ..*lookups
    };
    match outcome {
        ParseOutcome::Ignored { verdict } => Ok(verdict),
        ParseOutcome::Record {
            record,
            request: None,
        } => Ok(record.as_verdict()),
        // Judged as the pipeline judges it: with its own record kept first.
        ParseOutcome::Record {
            record,
            request: Some(request),
        } => {
            let records = ports::WithRecord {
                store: lookups.records,
                record: &record,
            };
            let lookups = Lookups {
                records: &records,
                resolver: lookups.resolver,
                now: lookups.now,
                wait_until: lookups.wait_until,
                needs: lookups.needs,
            };
            let resolution = resolve_subjects(&request, &lookups).await?;
            decide_child(
                &request,
                &resolution,
                policy,
                defaults,
                lookups.resolver,
                &NoDirectory,
                &records,
            )
            .await
        }
        ParseOutcome::Request { request } => {
            let resolution = resolve_subjects(&request, &lookups).await?;
            decide_child(
                &request,
                &resolution,
                policy,
                defaults,
                lookups.resolver,
                &NoDirectory,
                lookups.records,
            )
            .await
        }
    }
}

/// [`decide_resolved`], and for a violation that a pipeline step may have made, judged again for
/// the principal that started the execution (`children`).
pub async fn decide_child<P, D, S>(
    request: &Request,
    resolution: &Resolution,
    policy: &PolicySet,
    defaults: &Defaults,
    parents: &P,
    roles: &D,
    records: &S,
) -> Result<Verdict, GuardError>
where
    P: PipelineSteps + JobParents,
    D: RoleDirectory,
    S: RecordStore,
{
    let own = decide_resolved(request, resolution, policy, defaults);
    if !children::may_be_a_step(request, &own) {
        return Ok(own);
    }
    let parent = match children::parent_of(request, parents).await? {
        Some(parent) => Some(parent),
        None => match children::automl_parent_of(request, resolution, parents, records).await? {
            Some(parent) => Some(parent),
            None => children::schedule_parent_of(request, parents, records).await?,
        },
    };
    match parent {
        None => Ok(own),
        Some((_, Err(why))) => Ok(children::unattributed(own, why)),
        Some((parent, Ok(starter))) => {
            let starter = look_up_role_path(starter, request.account.as_deref(), roles).await?;
            let request_of_starter = children::as_started_by(request, starter.clone());
            let theirs = decide_resolved(&request_of_starter, resolution, policy, defaults);
            Ok(children::attribute(own, theirs, &parent, &starter))
        }
    }
}

/// [`decide`] over a [`Resolution`], with what resolution learnt among the reasons.
pub fn decide_resolved(
    request: &Request,
    resolution: &Resolution,
    policy: &PolicySet,
    defaults: &Defaults,
) -> Verdict {
    let mut verdict = decide(request, &resolution.subjects, policy, defaults);
    verdict.reasons.extend(resolution.notes.iter().cloned());
    if let Some(on) = &resolution.acts_on {
        verdict.resource = Some(on.clone());
    }
    verdict
}
