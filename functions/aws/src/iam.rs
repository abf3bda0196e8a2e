//! IAM: a role's ARN with its path, for callers whose events or requests name only an STS session
//! (the approval function's IAM authorizer, a console event with an empty session issuer). IAM
//! answers for each account's own roles: a member account's are looked up through its member
//! role (`members`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_iam::Client;
use model_guard_core::GuardError;
use model_guard_core::ports::RoleDirectory;

use crate::error::service_code;
use crate::members::Places;
use crate::sdk_error;

/// How long a role's ARN is kept. A role's path never changes; a role deleted and created again
/// under another path is seen within this time.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// A container's cache holds at most this many roles (a flood of made-up names cannot grow it).
const CACHE_MAX: usize = 1024;

pub struct IamRoles {
    /// IAM of the guard's own account.
    home: Client,
    /// Member accounts, through their member role; `None`: every role is looked up with `home`
    /// (a single-account tool).
    places: Option<Arc<Places>>,
    cache: Mutex<HashMap<String, (Instant, String)>>,
}

impl IamRoles {
    /// Every role looked up with one client (`guardctl`, a single account).
    pub fn new(home: Client) -> IamRoles {
        IamRoles {
            home,
            places: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A member account's roles through its member role, the guard's own with `home`.
    pub fn with_members(home: Client, places: Arc<Places>) -> IamRoles {
        IamRoles {
            home,
            places: Some(places),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, key: &str) -> Option<String> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, arn)| arn.clone())
    }

    fn keep(&self, key: String, arn: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_MAX {
                cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, (Instant::now(), arn.to_owned()));
        }
    }
}

impl RoleDirectory for IamRoles {
    async fn role_arn(&self, account: &str, name: &str) -> Result<Option<String>, GuardError> {
        // Role names are unique regardless of case, within an account.
        let key = format!("{account}/{}", name.to_ascii_lowercase());
        if let Some(arn) = self.cached(&key) {
            return Ok(Some(arn));
        }
        let member;
        let client = match &self.places {
            Some(places) if account != places.home_account() => {
                member = Client::new(&places.config(Some(account), None).await?);
                &member
            }
            _ => &self.home,
        };
        match client.get_role().role_name(name).send().await {
            Ok(out) => {
                let arn = out.role().map(|r| r.arn().to_owned());
                if let Some(arn) = &arn {
                    self.keep(key, arn);
                }
                Ok(arn)
            }
            Err(e) if service_code(&e) == Some("NoSuchEntity") => Ok(None),
            Err(e) => {
                let error = sdk_error(&format!("GetRole {name} in {account}"), &e);
                tracing::warn!(role = name, account, error = %error, "cannot look up the role's path");
                Err(error)
            }
        }
    }
}
