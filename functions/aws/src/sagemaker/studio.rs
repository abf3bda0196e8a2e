//! Studio: the role a domain, a user profile, a space or an app runs under, and deleting an app
//! (domains, profiles and spaces are notify-only by nature).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{AppStatus, AppType};
use model_guard_core::contract::ResourceRef;
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::resolve::ResolveError;
use model_guard_core::studio::{AppId, Owner, in_domain};
use model_guard_core::{ErrorKind, GuardError};

use super::remedy::{Before, Statuses, call_failed};
use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, role_targets, time};
use crate::sdk_error;

fn unnamed(what: &str, name: &str) -> ResolveError {
    ResolveError::Unresolvable(format!("{what} {name:?} is not a name the guard gives"))
}

/// A domain's default roles (DescribeDomain): its profiles' and its shared spaces'.
struct DomainDefaults {
    user: Option<String>,
    space: Option<String>,
    created: Option<chrono::DateTime<chrono::Utc>>,
}

async fn domain_defaults(client: &Client, domain: &str) -> Result<DomainDefaults, ResolveError> {
    let out = client
        .describe_domain()
        .domain_id(domain)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("domain {domain}"), &e))?;
    let role = |r: Option<&str>| r.map(str::to_owned);
    Ok(DomainDefaults {
        user: role(out.default_user_settings().and_then(|s| s.execution_role())),
        space: role(
            out.default_space_settings()
                .and_then(|s| s.execution_role()),
        ),
        created: time(out.creation_time()),
    })
}

pub(super) async fn domain_uses(client: &Client, domain: &str) -> Result<Uses, ResolveError> {
    let defaults = domain_defaults(client, domain).await?;
    Ok(Uses {
        targets: role_targets([defaults.user.as_deref(), defaults.space.as_deref()]),
        source: format!("DescribeDomain {domain}'s default execution roles"),
        created: defaults.created,
    })
}

/// The one role a profile, space or app runs under, and where it was read.
type RoleFrom = (Option<String>, String);

fn uses((role, source): RoleFrom) -> Uses {
    Uses {
        targets: role_targets([role.as_deref()]),
        source,
        created: None,
    }
}

/// A profile's own role (DescribeUserProfile), or else its domain's default for profiles.
async fn profile_role(
    client: &Client,
    domain: &str,
    profile: &str,
) -> Result<RoleFrom, ResolveError> {
    let out = client
        .describe_user_profile()
        .domain_id(domain)
        .user_profile_name(profile)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("user profile {domain}/{profile}"), &e))?;
    if let Some(role) = out.user_settings().and_then(|s| s.execution_role()) {
        return Ok((
            Some(role.to_owned()),
            format!("DescribeUserProfile {domain}/{profile}'s ExecutionRole"),
        ));
    }
    Ok((
        domain_defaults(client, domain).await?.user,
        format!("profile {domain}/{profile} sets none: DescribeDomain {domain}'s default"),
    ))
}

pub(super) async fn user_profile_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let (domain, profile) = in_domain(name).ok_or_else(|| unnamed("user profile", name))?;
    Ok(uses(profile_role(client, domain, profile).await?))
}

/// A private space's apps run under its owner's role; a shared space's under the domain's
/// default space role.
async fn space_role(client: &Client, domain: &str, space: &str) -> Result<RoleFrom, ResolveError> {
    let out = client
        .describe_space()
        .domain_id(domain)
        .space_name(space)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("space {domain}/{space}"), &e))?;
    if let Some(owner) = out
        .ownership_settings()
        .and_then(|o| o.owner_user_profile_name())
    {
        let (role, source) = profile_role(client, domain, owner).await?;
        return Ok((
            role,
            format!("space {domain}/{space} is {owner}'s: {source}"),
        ));
    }
    Ok((
        domain_defaults(client, domain).await?.space,
        format!("space {domain}/{space} is shared: DescribeDomain {domain}'s default space role"),
    ))
}

pub(super) async fn space_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let (domain, space) = in_domain(name).ok_or_else(|| unnamed("space", name))?;
    Ok(uses(space_role(client, domain, space).await?))
}

pub(super) async fn app_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let app = AppId::parse(name).ok_or_else(|| unnamed("app", name))?;
    Ok(uses(match &app.owner {
        Owner::UserProfile(profile) => profile_role(client, &app.domain, profile).await?,
        Owner::Space(space) => space_role(client, &app.domain, space).await?,
    }))
}

impl SageMakerEnforcer {
    /// Deletes a Studio app: in service or failed, it is deleted (and the delete confirmed by a
    /// describe); pending, it is busy (tried again); deleting or deleted, it is already gone.
    pub(super) async fn app(
        &self,
        resource: &ResourceRef,
    ) -> Result<EnforcementResult, GuardError> {
        let Some(app) = AppId::parse(&resource.name) else {
            return Err(GuardError::new(
                ErrorKind::InvalidInput,
                format!("app {:?} is not a name the guard gives", resource.name),
            ));
        };
        let call = "DeleteApp";
        let delete = async {
            let (profile, space) = owner_fields(&app);
            let deleted = self
                .sagemaker
                .delete_app()
                .domain_id(&app.domain)
                .set_user_profile_name(profile)
                .set_space_name(space)
                .app_type(AppType::from(app.app_type.as_str()))
                .app_name(&app.app_name);
            let failed = |e| call_failed(&format!("{call} {}", resource.name), &e);
            deleted.send().await.map(|_| ()).map_err(failed)
        };
        let statuses = Statuses {
            label: AppStatus::as_str,
            before: |s| match s {
                AppStatus::Deleted | AppStatus::Deleting => Before::Gone,
                AppStatus::Pending => Before::Busy("in service"),
                _ => Before::Ready,
            },
            confirms: |s| matches!(s, AppStatus::Deleting | AppStatus::Deleted),
        };
        let status = || self.app_status(&app);
        self.apply(
            resource,
            (call, EnforcementOutcome::Deleted),
            statuses,
            status,
            delete,
        )
        .await
    }

    async fn app_status(&self, app: &AppId) -> Result<Option<AppStatus>, GuardError> {
        let (profile, space) = owner_fields(app);
        match self
            .sagemaker
            .describe_app()
            .domain_id(&app.domain)
            .set_user_profile_name(profile)
            .set_space_name(space)
            .app_type(AppType::from(app.app_type.as_str()))
            .app_name(&app.app_name)
            .send()
            .await
        {
            Ok(out) => Ok(out.status().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeApp {}", app.name()), &e)),
        }
    }
}

fn owner_fields(app: &AppId) -> (Option<String>, Option<String>) {
    match &app.owner {
        Owner::UserProfile(p) => (Some(p.clone()), None),
        Owner::Space(s) => (None, Some(s.clone())),
    }
}
