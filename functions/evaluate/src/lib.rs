//! Evaluate: resolves the request's subjects through SageMaker, judges them against the policy
//! table, writes the audit item, and returns the verdict. A duplicate delivery of an event that
//! was decided before returns the stored verdict: one decision per event.

use chrono::{DateTime, Utc};
use model_guard_core::audit::AuditItem;
use model_guard_core::ports::{AuditLog, PolicyStore, Recorded, RoleDirectory, look_up_role_path};
use model_guard_core::{
    Defaults, ErrorKind, GuardError, Mode, ParseOutcome, Resolver, Verdict, decide,
    resolve_subjects,
};
use serde_json::Value;

pub struct Ports<R, P, A, D> {
    pub resolver: R,
    pub policies: P,
    pub audit: A,
    /// IAM, for the path of a caller's role when the event gave none.
    pub roles: D,
    pub defaults: Defaults,
}

/// ParseEvent's output in, the verdict out.
pub async fn handle<R: Resolver, P: PolicyStore, A: AuditLog, D: RoleDirectory>(
    input: Value,
    ports: &Ports<R, P, A, D>,
    now: DateTime<Utc>,
) -> Result<Verdict, GuardError> {
    let outcome: ParseOutcome = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not ParseEvent's output: {}: {}", e.path(), e.inner()),
        )
    })?;
    let mut request = match outcome {
        // Ignored events are not audited (docs/design.md, "Audit").
        ParseOutcome::Ignored { verdict } => return Ok(verdict),
        ParseOutcome::Request { request } => request,
    };
    // Only for a caller whose role path the event did not give (an empty session issuer).
    let caller = look_up_role_path(request.caller(), request.account.as_deref(), &ports.roles);
    request.set_caller(caller.await?);
    let policy = ports.policies.policies().await?;
    let subjects = resolve_subjects(&request, &ports.resolver).await?;
    let verdict = decide(&request, &subjects, &policy, &ports.defaults);
    let Some(item) = AuditItem::for_verdict(&verdict, now) else {
        return Ok(verdict);
    };
    match ports.audit.record(&item).await? {
        Recorded::Created => {
            tracing::info!(
                event_id = %item.event_id,
                decision = ?verdict.decision,
                action = ?verdict.action,
                state = %item.state,
                "decided"
            );
            Ok(verdict)
        }
        Recorded::Existing(existing) => {
            tracing::info!(
                event_id = %existing.event_id,
                state = %existing.state,
                "decided before (a duplicate delivery): returning the stored verdict"
            );
            Ok(existing.verdict)
        }
    }
}

/// The stack's defaults from the environment: `DEFAULT_GRACE_SECONDS` (900 when unset),
/// `DEFAULT_APPROVERS` (a JSON array of principal patterns; none when unset) and
/// `UNRESOLVED_ACTION` (what a subject the guard cannot resolve costs: `enforce` when unset, or
/// `notify` or `off`).
pub fn defaults_from_env() -> Result<Defaults, GuardError> {
    defaults_from(|name| std::env::var(name).ok())
}

/// [`defaults_from_env`] over any source of settings.
pub fn defaults_from(setting: impl Fn(&str) -> Option<String>) -> Result<Defaults, GuardError> {
    let config = |m: String| GuardError::new(ErrorKind::Configuration, m);
    let get = |name: &str| setting(name).filter(|v| !v.trim().is_empty());
    let grace = match get("DEFAULT_GRACE_SECONDS") {
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map_err(|e| config(format!("DEFAULT_GRACE_SECONDS={v:?}: {e}")))?,
        None => Defaults::GRACE_SECONDS,
    };
    let approvers: Vec<String> = match get("DEFAULT_APPROVERS") {
        Some(v) => serde_json::from_str(&v).map_err(|e| {
            config(format!(
                "DEFAULT_APPROVERS is not a JSON array of principal patterns: {e}"
            ))
        })?,
        None => Vec::new(),
    };
    let unresolved = match get("UNRESOLVED_ACTION") {
        Some(v) => Mode::from_name(v.trim()).ok_or_else(|| {
            config(format!(
                "UNRESOLVED_ACTION={v:?} is not one of {}",
                Mode::NAMES.join(", ")
            ))
        })?,
        None => Mode::Enforce,
    };
    Ok(Defaults::new(grace, &approvers)
        .map_err(config)?
        .with_unresolved_mode(unresolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Defaults, GuardError> {
        defaults_from(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn settings_and_their_defaults() {
        let d = from(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (d.grace_seconds, d.approvers.len(), d.unresolved_mode),
            (900, 0, Mode::Enforce)
        );
        let d = from(&[
            ("DEFAULT_GRACE_SECONDS", "30"),
            ("DEFAULT_APPROVERS", r#"["arn:aws:iam::1:role/Sec"]"#),
            ("UNRESOLVED_ACTION", "notify"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (d.grace_seconds, d.approvers.len(), d.unresolved_mode),
            (30, 1, Mode::Notify)
        );
        for (key, value, expected) in [
            (
                "UNRESOLVED_ACTION",
                "block",
                "not one of off, notify, enforce",
            ),
            ("DEFAULT_GRACE_SECONDS", "soon", "DEFAULT_GRACE_SECONDS"),
            ("DEFAULT_APPROVERS", "x", "not a JSON array"),
        ] {
            match from(&[(key, value)]) {
                Ok(_) => panic!("{key}={value} accepted"),
                Err(e) => {
                    assert_eq!(e.kind, ErrorKind::Configuration);
                    assert!(e.message.contains(expected), "{e}");
                }
            }
        }
    }
}
