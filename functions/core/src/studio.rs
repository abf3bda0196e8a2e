//! Studio resources' names: SageMaker identifies a profile, a space or an app by several IDs, and
//! the guard names each by all of them, joined with `/` (which none of them may contain), so that
//! Recovery and Enforce can call SageMaker with them again.

use serde_json::Value;

/// Whose an app is: a user profile's, or a space's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    UserProfile(String),
    Space(String),
}

/// A Studio app's IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppId {
    pub domain: String,
    pub owner: Owner,
    pub app_type: String,
    pub app_name: String,
}

impl AppId {
    /// `DOMAIN/user-profile/PROFILE/TYPE/APP` or `DOMAIN/space/SPACE/TYPE/APP`.
    pub fn name(&self) -> String {
        let (kind, owner) = match &self.owner {
            Owner::UserProfile(p) => ("user-profile", p),
            Owner::Space(s) => ("space", s),
        };
        format!(
            "{}/{kind}/{owner}/{}/{}",
            self.domain, self.app_type, self.app_name
        )
    }

    pub fn parse(name: &str) -> Option<AppId> {
        let parts: Vec<&str> = name.split('/').collect();
        let [domain, kind, owner, app_type, app_name] = parts.as_slice() else {
            return None;
        };
        let owner = match *kind {
            "user-profile" => Owner::UserProfile((*owner).to_owned()),
            "space" => Owner::Space((*owner).to_owned()),
            _ => return None,
        };
        Some(AppId {
            domain: (*domain).to_owned(),
            owner,
            app_type: (*app_type).to_owned(),
            app_name: (*app_name).to_owned(),
        })
    }
}

/// `DOMAIN/NAME` (a profile or a space) split.
pub fn in_domain(name: &str) -> Option<(&str, &str)> {
    name.split_once('/')
        .filter(|(d, n)| !d.is_empty() && !n.is_empty() && !n.contains('/'))
}

/// One ID from the request: a non-empty string without `/`.
fn id<'a>(params: &'a Value, field: &str) -> Result<&'a str, String> {
    match params.get(field) {
        Some(Value::String(s)) if !s.is_empty() && !s.contains('/') && s.len() <= 256 => Ok(s),
        Some(Value::String(_)) => Err(format!(
            "requestParameters.{field} is not a SageMaker ID (empty, too long, or with a '/')"
        )),
        _ => Err(format!("requestParameters.{field} is missing")),
    }
}

/// A Studio app's name from CreateApp's request.
pub fn app_name(params: &Value) -> Result<String, String> {
    let domain = id(params, "domainId")?;
    let owner = match (id(params, "userProfileName"), id(params, "spaceName")) {
        (Ok(profile), _) => Owner::UserProfile(profile.to_owned()),
        (Err(_), Ok(space)) => Owner::Space(space.to_owned()),
        (Err(profile), Err(space)) => return Err(format!("{profile}, and {space}")),
    };
    Ok(AppId {
        domain: domain.to_owned(),
        owner,
        app_type: id(params, "appType")?.to_owned(),
        app_name: id(params, "appName")?.to_owned(),
    }
    .name())
}

/// A profile's or a space's name (`DOMAIN/NAME`) from a request naming `field` in `domainId`.
pub fn in_domain_name(params: &Value, field: &str) -> Result<String, String> {
    Ok(format!(
        "{}/{}",
        id(params, "domainId")?,
        id(params, field)?
    ))
}

/// A domain's ID from an update's request.
pub fn domain_id(params: &Value) -> Result<String, String> {
    id(params, "domainId").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_app_is_named_by_all_its_ids_and_parsed_back() {
        let profile = app_name(&json!({"domainId": "d-1", "userProfileName": "alice",
                                       "appType": "JupyterLab", "appName": "default"}));
        assert_eq!(
            profile.as_deref(),
            Ok("d-1/user-profile/alice/JupyterLab/default")
        );
        let space = app_name(&json!({"domainId": "d-1", "spaceName": "team",
                                     "appType": "CodeEditor", "appName": "default"}));
        assert_eq!(space.as_deref(), Ok("d-1/space/team/CodeEditor/default"));
        for name in [profile, space] {
            let name = name.unwrap_or_default();
            assert_eq!(AppId::parse(&name).map(|a| a.name()), Some(name));
        }
        // A '/' in an ID would let one name stand for another: refused.
        assert!(
            app_name(&json!({"domainId": "d-1", "userProfileName": "a/space",
                                 "appType": "JupyterLab", "appName": "x"}))
            .is_err()
        );
        assert!(
            app_name(&json!({"domainId": "d-1", "appType": "JupyterLab", "appName": "x"}))
                .is_err_and(|e| e.contains(
                    "userProfileName is missing, and requestParameters.spaceName is missing"
                ))
        );
        assert_eq!(AppId::parse("d-1/other/a/b/c"), None);
        assert_eq!(in_domain("d-1/alice"), Some(("d-1", "alice")));
        assert_eq!(in_domain("d-1/a/b"), None);
    }
}
