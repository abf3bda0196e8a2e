//! IAM: a role's ARN with its path, for callers whose events or requests name only an STS session
//! (the approval function's IAM authorizer, a console event with an empty session issuer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_iam::Client;
use model_guard_core::GuardError;
use model_guard_core::ports::RoleDirectory;

use crate::error::service_code;
use crate::sdk_error;

/// How long a role's ARN is kept. A role's path never changes; a role deleted and created again
/// under another path is seen within this time.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// A container's cache holds at most this many roles (a flood of made-up names cannot grow it).
const CACHE_MAX: usize = 1024;

pub struct IamRoles {
    client: Client,
    cache: Mutex<HashMap<String, (Instant, String)>>,
}

impl IamRoles {
    pub fn new(client: Client) -> IamRoles {
        IamRoles {
            client,
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
    async fn role_arn(&self, name: &str) -> Result<Option<String>, GuardError> {
        // Role names are unique regardless of case.
        let key = name.to_ascii_lowercase();
        if let Some(arn) = self.cached(&key) {
            return Ok(Some(arn));
        }
        match self.client.get_role().role_name(name).send().await {
            Ok(out) => {
                let arn = out.role().map(|r| r.arn().to_owned());
                if let Some(arn) = &arn {
                    self.keep(key, arn);
                }
                Ok(arn)
            }
            Err(e) if service_code(&e) == Some("NoSuchEntity") => Ok(None),
            Err(e) => {
                let error = sdk_error(&format!("GetRole {name}"), &e);
                tracing::warn!(role = name, error = %error, "cannot look up the role's path");
                Err(error)
            }
        }
    }
}
