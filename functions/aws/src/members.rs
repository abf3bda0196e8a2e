//! Where the central functions act (docs/design.md, "One guard for an organization"): in the
//! guard's own account and region with their own role; anywhere else (a member account, or the
//! guard's own account in another region) through the member role there (`sts:AssumeRole`, which
//! only the central functions' roles may do), with clients of that region.
//!
//! Credentials are the SDK's: one `AssumeRoleProvider` per account, behind the identity cache of
//! the function's configuration, so a member's credentials are fetched once and kept until they
//! are about to expire. The first use in a container checks that the role can be assumed, so a
//! member that cannot be reached fails naming its account and role, not at some describe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::region::Region;
use model_guard_core::organization::{Guarded, is_account_id};
use model_guard_core::{ErrorKind, GuardError};

use crate::env_var;

/// The member role a function assumes when its setting names none: the one that only reads
/// (describes, lists, `iam:GetRole`, `cloudtrail:LookupEvents`).
pub const MEMBER_ROLE: &str = "ModelGuardMember";
/// The member role the enforce function assumes: it also stops, deletes and rolls back. Only the
/// enforce function's role may assume it, so a call made with it is the guard's own.
pub const MEMBER_ENFORCE_ROLE: &str = "ModelGuardMemberEnforce";

/// Which member role a function acts through.
#[derive(Debug, Clone, Copy)]
pub enum RoleSetting {
    /// The one that only reads (Evaluate, the sweep, the scan).
    Read,
    /// The one that also stops, deletes and rolls back (Enforce).
    Enforce,
}

/// The SDK configurations of the places a function acts in.
pub struct Places {
    base: SdkConfig,
    home_account: String,
    /// The role's name in every member account (`MEMBER_ROLE_NAME`).
    role_name: String,
    partition: String,
    /// Who assumes it, as the member's CloudTrail will show (the function's name).
    session: String,
    /// One credentials provider per member account, kept for the container's life.
    providers: Mutex<HashMap<String, SharedCredentialsProvider>>,
}

impl Places {
    pub fn new(base: SdkConfig, home_account: &str, role_name: &str, session: &str) -> Places {
        Places {
            base,
            home_account: home_account.to_owned(),
            role_name: role_name.to_owned(),
            partition: "aws".to_owned(),
            session: session.to_owned(),
            providers: Mutex::new(HashMap::new()),
        }
    }

    /// From the environment: `GUARD_ACCOUNT`, the member role's name from `role_setting`
    /// (`MEMBER_ROLE_NAME` or `MEMBER_ENFORCE_ROLE_NAME`, default [`MEMBER_ROLE`] or
    /// [`MEMBER_ENFORCE_ROLE`]), `GUARD_PARTITION` (default `aws`), and the function's name for
    /// the session.
    pub fn from_env(base: SdkConfig, role_setting: RoleSetting) -> Result<Places, GuardError> {
        let account = env_var("GUARD_ACCOUNT")?;
        if !is_account_id(&account) {
            return Err(GuardError::new(
                ErrorKind::Configuration,
                format!("GUARD_ACCOUNT={account:?} is not an account ID (12 digits)"),
            ));
        }
        let (setting, default) = match role_setting {
            RoleSetting::Read => ("MEMBER_ROLE_NAME", MEMBER_ROLE),
            RoleSetting::Enforce => ("MEMBER_ENFORCE_ROLE_NAME", MEMBER_ENFORCE_ROLE),
        };
        let role = env_var(setting).unwrap_or_else(|_| default.to_owned());
        let session = env_var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "model-guard".into());
        let mut places = Places::new(base, &account, &role, &session);
        if let Ok(partition) = env_var("GUARD_PARTITION") {
            places.partition = partition;
        }
        Ok(places)
    }

    pub fn home_account(&self) -> &str {
        &self.home_account
    }

    /// What the guard answers for, from the environment: its home (this account and the
    /// functions' region) with the members of `MEMBER_ACCOUNTS` (a list, or `organization`), and
    /// the other regions it looks in (`MEMBER_REGIONS`, comma-separated).
    pub fn guarded_from_env(&self) -> Result<(Guarded, Vec<String>), GuardError> {
        let region = self
            .base
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let guarded = Guarded::new(
            &self.home_account,
            &region,
            env_var("MEMBER_ACCOUNTS").ok().as_deref(),
        )?;
        let regions = env_var("MEMBER_REGIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        Ok((guarded, regions))
    }

    /// The member role's ARN in `account`.
    pub fn role_arn(&self, account: &str) -> String {
        format!(
            "arn:{}:iam::{account}:role/{}",
            self.partition, self.role_name
        )
    }

    /// The configuration for calls in `account` and `region` (the guard's own where not given).
    pub async fn config(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<SdkConfig, GuardError> {
        let mut config = self.base.to_builder();
        let home_region = self.base.region().map(|r| r.as_ref().to_owned());
        let elsewhere = region.is_some_and(|r| Some(r) != home_region.as_deref());
        if let Some(region) = region {
            config.set_region(Some(Region::new(region.to_owned())));
        }
        let account = account.unwrap_or(&self.home_account);
        // The function's own role is scoped to its account and region: anywhere else, even the
        // guard's own account in another region, it acts through the member role there.
        if account != self.home_account || elsewhere {
            let provider = self.provider(account).await?;
            config.set_credentials_provider(Some(provider));
        }
        Ok(config.build())
    }

    async fn provider(&self, account: &str) -> Result<SharedCredentialsProvider, GuardError> {
        if !is_account_id(account) {
            return Err(GuardError::new(
                ErrorKind::InvalidInput,
                format!("{account:?} is not an account ID: no member role to act through"),
            ));
        }
        if let Some(known) = self.known(account) {
            return Ok(known);
        }
        let arn = self.role_arn(account);
        let assume = AssumeRoleProvider::builder(arn.clone())
            .session_name(session_name(&self.session))
            .configure(&self.base)
            .build()
            .await;
        // Checked once per container: a member whose role is gone, or does not trust this
        // function, fails here naming both.
        if let Err(e) = assume.provide_credentials().await {
            return Err(unreachable(account, &arn, &e));
        }
        let provider = SharedCredentialsProvider::new(assume);
        if let Ok(mut providers) = self.providers.lock() {
            providers.insert(account.to_owned(), provider.clone());
        }
        Ok(provider)
    }

    fn known(&self, account: &str) -> Option<SharedCredentialsProvider> {
        self.providers.lock().ok()?.get(account).cloned()
    }
}

/// Clients for each place, built once per container: building a client costs far more than
/// cloning one, and the credentials behind it are cached already (`Places`).
pub struct PerPlace<C> {
    places: Arc<Places>,
    clients: Mutex<HashMap<(String, String), C>>,
}

/// A container keeps at most this many places' clients (an organization's accounts × regions).
const PLACES_MAX: usize = 1024;

impl<C: Clone> PerPlace<C> {
    pub fn new(places: Arc<Places>) -> PerPlace<C> {
        PerPlace {
            places,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client of `account` and `region` (the guard's own where not given), built by `build`
    /// from that place's configuration the first time.
    pub async fn get(
        &self,
        account: Option<&str>,
        region: Option<&str>,
        build: impl FnOnce(&SdkConfig) -> C,
    ) -> Result<C, GuardError> {
        let key = (
            account.unwrap_or(&self.places.home_account).to_owned(),
            region
                .map(str::to_owned)
                .or_else(|| self.places.base.region().map(|r| r.as_ref().to_owned()))
                .unwrap_or_default(),
        );
        if let Some(client) = self.clients.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(client);
        }
        let client = build(&self.places.config(account, region).await?);
        if let Ok(mut clients) = self.clients.lock() {
            if clients.len() >= PLACES_MAX {
                clients.clear();
            }
            clients.insert(key, client.clone());
        }
        Ok(client)
    }
}

/// An STS session name: at most 64 of `[\w+=,.@-]`.
fn session_name(function: &str) -> String {
    function
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .take(64)
        .collect()
}

fn unreachable(account: &str, role: &str, error: &CredentialsError) -> GuardError {
    let kind = match error {
        CredentialsError::ProviderTimedOut(_) => ErrorKind::Unavailable,
        _ => ErrorKind::AccessDenied,
    };
    let why = DisplayErrorContext(error).to_string();
    let kind = if why.contains("Throttling") || why.contains("Rate exceeded") {
        ErrorKind::Throttled
    } else {
        kind
    };
    GuardError::new(
        kind,
        format!("cannot reach member account {account}: assuming {role} failed: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_named_by_the_function_within_stss_rules() {
        assert_eq!(
            session_name("ModelGuard-Evaluate:1"),
            "ModelGuard-Evaluate1"
        );
        assert_eq!(session_name(&"x".repeat(80)).len(), 64);
    }
}
