//! Studio: the role a domain, a user profile, a space or an app runs under, and deleting an app
//! (domains, profiles and spaces are notify-only by nature).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{AppStatus, AppType};
use model_guard_core::contract::{ResourceRef, Target};
use model_guard_core::enforcement::{CONFIRMED_GONE, EnforcementOutcome, EnforcementResult};
use model_guard_core::principal::canonical_arn;
use model_guard_core::resolve::ResolveError;
use model_guard_core::studio::{AppId, Owner, in_domain};
use model_guard_core::{ErrorKind, GuardError};

use super::{SageMakerEnforcer, Uses, is_not_found, resolve_error, time};
use crate::sdk_error;

fn roles<'a>(arns: impl IntoIterator<Item = Option<&'a str>>) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    for arn in arns.into_iter().flatten() {
        let target = Target::Role {
            arn: canonical_arn(arn),
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    targets
}

fn unnamed(what: &str, name: &str) -> ResolveError {
    ResolveError::Unresolvable(format!("{what} {name:?} is not a name the guard gives"))
}

/// DescribeDomain's default roles: its profiles' and its shared spaces'.
pub(super) async fn domain_uses(client: &Client, domain: &str) -> Result<Uses, ResolveError> {
    let out = client
        .describe_domain()
        .domain_id(domain)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("domain {domain}"), &e))?;
    Ok(Uses {
        targets: roles([
            out.default_user_settings().and_then(|s| s.execution_role()),
            out.default_space_settings()
                .and_then(|s| s.execution_role()),
        ]),
        source: format!("DescribeDomain {domain}'s default execution roles"),
        created: time(out.creation_time()),
    })
}

/// A profile's own role (DescribeUserProfile), or else its domain's default for profiles.
async fn profile_role(
    client: &Client,
    domain: &str,
    profile: &str,
) -> Result<(Option<String>, String), ResolveError> {
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
    let domain_out = client
        .describe_domain()
        .domain_id(domain)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("domain {domain}"), &e))?;
    Ok((
        domain_out
            .default_user_settings()
            .and_then(|s| s.execution_role())
            .map(str::to_owned),
        format!("profile {domain}/{profile} sets none: DescribeDomain {domain}'s default"),
    ))
}

pub(super) async fn user_profile_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let (domain, profile) = in_domain(name).ok_or_else(|| unnamed("user profile", name))?;
    let (role, source) = profile_role(client, domain, profile).await?;
    Ok(Uses {
        targets: roles([role.as_deref()]),
        source,
        created: None,
    })
}

/// A private space's apps run under its owner's role; a shared space's under the domain's
/// default space role.
async fn space_role(
    client: &Client,
    domain: &str,
    space: &str,
) -> Result<(Option<String>, String), ResolveError> {
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
    let domain_out = client
        .describe_domain()
        .domain_id(domain)
        .send()
        .await
        .map_err(|e| resolve_error(&format!("domain {domain}"), &e))?;
    Ok((
        domain_out
            .default_space_settings()
            .and_then(|s| s.execution_role())
            .map(str::to_owned),
        format!("space {domain}/{space} is shared: DescribeDomain {domain}'s default space role"),
    ))
}

pub(super) async fn space_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let (domain, space) = in_domain(name).ok_or_else(|| unnamed("space", name))?;
    let (role, source) = space_role(client, domain, space).await?;
    Ok(Uses {
        targets: roles([role.as_deref()]),
        source,
        created: None,
    })
}

pub(super) async fn app_uses(client: &Client, name: &str) -> Result<Uses, ResolveError> {
    let app = AppId::parse(name).ok_or_else(|| unnamed("app", name))?;
    let (role, source) = match &app.owner {
        Owner::UserProfile(profile) => profile_role(client, &app.domain, profile).await?,
        Owner::Space(space) => space_role(client, &app.domain, space).await?,
    };
    Ok(Uses {
        targets: roles([role.as_deref()]),
        source,
        created: None,
    })
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
        let status = self.app_status(&app).await?;
        let text = status.as_ref().map(|s| s.as_str().to_owned());
        match status {
            None | Some(AppStatus::Deleted | AppStatus::Deleting) => {
                return Ok(Self::result(
                    resource,
                    EnforcementOutcome::AlreadyGone,
                    text,
                ));
            }
            Some(AppStatus::Pending) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "app {} is Pending; it can be deleted once in service",
                        resource.name
                    ),
                ));
            }
            Some(_) => {}
        }
        let (profile, space) = owner_fields(&app);
        match self
            .sagemaker
            .delete_app()
            .domain_id(&app.domain)
            .set_user_profile_name(profile)
            .set_space_name(space)
            .app_type(AppType::from(app.app_type.as_str()))
            .app_name(&app.app_name)
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
            Err(e) => return Err(sdk_error(&format!("DeleteApp {}", resource.name), &e)),
        }
        let mut result = Self::result(resource, EnforcementOutcome::Deleted, text);
        result.confirmed = match self.app_status(&app).await? {
            Some(s @ (AppStatus::Deleting | AppStatus::Deleted)) => Some(s.as_str().to_owned()),
            None => Some(CONFIRMED_GONE.to_owned()),
            Some(other) => {
                return Err(GuardError::new(
                    ErrorKind::ResourceBusy,
                    format!(
                        "app {} is {} after DeleteApp",
                        resource.name,
                        other.as_str()
                    ),
                ));
            }
        };
        Ok(result)
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
