//! Policy items (DESIGN.md, "Policies"): validated on load, indexed for the most-specific-binding
//! lookup.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::SubjectKind;
use crate::glob::{Pattern, fold};
use crate::principal::{PatternShape, PrincipalForm, PrincipalPattern};

/// The `pk` under which a verdict names the guard's own binding for unresolvable subjects.
pub const UNRESOLVED_PK: &str = "unresolved";

/// The `pk` of the stack-wide enforcement setting: `{"pk": "enforcement", "mode": "observe"}`.
pub const ENFORCEMENT_PK: &str = "enforcement";

/// The stack-wide enforcement setting (the `enforcement` item of the policy table): under
/// `observe`, every verdict is decided, audited and alerted as usual, and nothing is stopped or
/// deleted. Without the item the guard enforces (fail closed: deleting the item cannot switch
/// enforcement off); the stack writes it once, at the first deploy (`modelGuard:enforcement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StackEnforcement {
    Observe,
    #[default]
    Enforce,
}

impl StackEnforcement {
    pub const NAMES: [&'static str; 2] = ["observe", "enforce"];

    pub fn as_str(self) -> &'static str {
        match self {
            StackEnforcement::Observe => "observe",
            StackEnforcement::Enforce => "enforce",
        }
    }

    pub fn from_name(name: &str) -> Option<StackEnforcement> {
        match name {
            "observe" => Some(StackEnforcement::Observe),
            "enforce" => Some(StackEnforcement::Enforce),
            _ => None,
        }
    }
}

/// The `enforcement` item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnforcementRecord {
    pk: String,
    mode: String,
    #[serde(default)]
    description: Option<String>,
}

/// Longest grace period a binding may set: 30 days.
pub const MAX_GRACE_SECONDS: u32 = 2_592_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The violation is audited; nothing else.
    Off,
    /// People are told; nothing is stopped.
    Notify,
    /// Stopped or deleted after the grace period, unless approved.
    #[default]
    Enforce,
}

impl Mode {
    pub const NAMES: [&'static str; 3] = ["off", "notify", "enforce"];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Notify => "notify",
            Mode::Enforce => "enforce",
        }
    }

    /// A mode by its name, as policy items write it.
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "off" => Some(Mode::Off),
            "notify" => Some(Mode::Notify),
            "enforce" => Some(Mode::Enforce),
            _ => None,
        }
    }
}

/// A policy item as stored (DynamoDB, through `serde_dynamo`) and as written in a POLICY.json
/// file: plain serde, checked by [`PolicyItem::from_record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyItemRecord {
    pub pk: String,
    pub principals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// On a `model#` item: the images its models may run (patterns; a digest pattern is met only
    /// by an image whose digest is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// On a `model#` item: the S3 locations its models' data may come from (patterns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<String>>,
    /// On a `package#` item: a package version not `Approved` violates it (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approved: Option<bool>,
    /// What a violation costs when the call is CreateModel (an early warning): `notify` unless
    /// set; the binding's own mode is the most it can be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_create_model: Option<Mode>,
    /// What enforcing a violating UpdateEndpoint of this binding does: `rollback` (the default:
    /// back to the endpoint's last allowed config) or `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<OnUpdate>,
}

/// What enforcing a violating update of a deployed endpoint does (`onUpdate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnUpdate {
    /// Update the endpoint back to its last allowed config, where one is on record, still
    /// exists and is allowed now; otherwise delete it.
    #[default]
    Rollback,
    /// Delete the endpoint, as for a violating CreateEndpoint.
    Delete,
}

/// What an item binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingKey {
    Model(Pattern),
    Role(PrincipalPattern),
    /// Image URIs (case-sensitive).
    Image(Pattern),
    /// S3 locations of model data (case-sensitive).
    Data(Pattern),
    /// Model package groups (a package without a group: its name).
    Package(Pattern),
    Default,
    /// Not a binding: the stack-wide enforcement setting (`enforcement`), kept among the items
    /// so that it is read, validated, listed and its changes alerted as theirs are.
    Enforcement(StackEnforcement),
    /// Not a policy item: the guard's own binding for a subject it cannot resolve (see
    /// `decide`). No stored item can have it (`unresolved` is not a key a policy item may use).
    Unresolved,
}

/// A validated policy item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyItem {
    pub pk: String,
    pub key: BindingKey,
    /// `<key>@<account>`: the binding holds only for calls made in that account, and there it
    /// beats any binding without an account (docs/design.md, "One guard for an organization").
    pub account: Option<String>,
    pub principals: Vec<PrincipalPattern>,
    pub mode: Mode,
    pub grace_seconds: Option<u32>,
    pub approvers: Option<Vec<PrincipalPattern>>,
    pub description: Option<String>,
    /// A `model#` item's pins on its models' content.
    pub pins: Pins,
    /// A `package#` item: versions not `Approved` violate it.
    pub require_approved: bool,
    /// The most a violation costs on CreateModel.
    pub on_create_model: Mode,
    /// What enforcing a violating UpdateEndpoint does.
    pub on_update: OnUpdate,
}

/// What a `model#` binding's models may run, whoever deploys them; `None`: anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pins {
    pub images: Option<Vec<Pattern>>,
    pub data: Option<Vec<Pattern>>,
}

impl Pins {
    pub fn is_empty(&self) -> bool {
        self.images.is_none() && self.data.is_none()
    }
}

/// A policy item that failed validation, naming the item and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// `.[3]` for the fourth item of a file, or empty where there is no position.
    pub position: String,
    pub pk: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.position.is_empty() && self.pk.is_none() && self.field.is_none() {
            return f.write_str(&self.message);
        }
        f.write_str("policy item")?;
        if !self.position.is_empty() {
            write!(f, " {}", self.position)?;
        }
        if let Some(pk) = &self.pk {
            write!(f, " (pk {:?})", crate::principal::truncate_chars(pk, 200))?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

impl PolicyItem {
    /// Reads and validates one item from JSON (a POLICY.json element, or a DynamoDB item turned
    /// into JSON). `position` names it in errors.
    pub fn from_value(position: &str, value: &Value) -> Result<PolicyItem, PolicyError> {
        let pk = value.get("pk").and_then(Value::as_str).map(str::to_owned);
        let error = |field: Option<String>, message: String| PolicyError {
            position: position.to_owned(),
            pk: pk.clone(),
            field,
            message,
        };
        if !value.is_object() {
            return Err(error(None, "an item is a JSON object".to_owned()));
        }
        if pk.as_deref() == Some(ENFORCEMENT_PK) {
            return PolicyItem::enforcement_setting(value)
                .map_err(|(field, message)| error(field.map(str::to_owned), message));
        }
        let record: PolicyItemRecord = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = (path != ".").then_some(path);
            error(field, e.into_inner().to_string())
        })?;
        PolicyItem::from_record(position, record)
    }

    /// The `enforcement` item: `mode` is `observe` or `enforce`; nothing else but a description.
    fn enforcement_setting(value: &Value) -> Result<PolicyItem, (Option<&'static str>, String)> {
        let record: EnforcementRecord = serde_json::from_value(value.clone()).map_err(|e| {
            (
                None,
                format!(
                    "the enforcement setting is {{\"pk\": \"enforcement\", \"mode\": \"observe\" or \
                     \"enforce\", \"description\": optional}}: {e}"
                ),
            )
        })?;
        let Some(setting) = StackEnforcement::from_name(&record.mode) else {
            return Err((
                Some("mode"),
                format!(
                    "{:?} is not one of {} (the enforcement setting's modes)",
                    record.mode,
                    StackEnforcement::NAMES.join(", ")
                ),
            ));
        };
        Ok(PolicyItem {
            pk: record.pk,
            key: BindingKey::Enforcement(setting),
            account: None,
            principals: Vec::new(),
            mode: Mode::Off,
            grace_seconds: None,
            approvers: None,
            description: record.description,
            pins: Pins::default(),
            require_approved: false,
            on_create_model: Mode::Off,
            on_update: OnUpdate::default(),
        })
    }

    /// Validates a record: key prefix and pattern, every principal and approver pattern, grace.
    pub fn from_record(
        position: &str,
        record: PolicyItemRecord,
    ) -> Result<PolicyItem, PolicyError> {
        let error = |field: &str, message: String| PolicyError {
            position: position.to_owned(),
            pk: Some(record.pk.clone()),
            field: Some(field.to_owned()),
            message,
        };
        let (unscoped, account) = split_account(&record.pk).map_err(|e| error("pk", e))?;
        let key = if unscoped == "default" {
            BindingKey::Default
        } else if let Some(name) = unscoped.strip_prefix("model#") {
            if name.is_empty() {
                return Err(error(
                    "pk",
                    "empty model pattern after \"model#\"".to_owned(),
                ));
            }
            BindingKey::Model(Pattern::new(name))
        } else if let Some(arn) = unscoped.strip_prefix("role#") {
            BindingKey::Role(PrincipalPattern::role_key(arn).map_err(|e| error("pk", e))?)
        } else if let Some(image) = unscoped.strip_prefix("image#") {
            BindingKey::Image(image_pattern(image).map_err(|e| error("pk", e))?)
        } else if let Some(data) = unscoped.strip_prefix("data#") {
            BindingKey::Data(data_pattern(data).map_err(|e| error("pk", e))?)
        } else if let Some(group) = unscoped.strip_prefix("package#") {
            if group.is_empty() {
                return Err(error(
                    "pk",
                    "empty package group pattern after \"package#\"".to_owned(),
                ));
            }
            BindingKey::Package(Pattern::new(group))
        } else {
            return Err(error(
                "pk",
                "unknown key: expected \"model#<name or glob>\", \"role#<role ARN or glob>\", \
                 \"image#<image URI or glob>\", \"data#<s3 URI or glob>\", \
                 \"package#<model package group or glob>\", \"default\" or \"enforcement\" \
                 (the stack-wide setting)"
                    .to_owned(),
            ));
        };
        let model_key = matches!(key, BindingKey::Model(_));
        let pin = |field: &str,
                   list: &Option<Vec<String>>,
                   check: fn(&str) -> Result<Pattern, String>|
         -> Result<Option<Vec<Pattern>>, PolicyError> {
            let Some(list) = list else { return Ok(None) };
            if !model_key {
                return Err(error(
                    field,
                    format!("pins a model's content: only a model# item has {field}"),
                ));
            }
            if list.is_empty() {
                return Err(error(
                    field,
                    "is empty, which no model could meet: to let no one deploy these models, \
                     write principals: []"
                        .to_owned(),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, p)| check(p).map_err(|e| error(&format!("{field}[{i}]"), e)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        let pins = Pins {
            images: pin("images", &record.images, image_pattern)?,
            data: pin("data", &record.data, data_pattern)?,
        };
        if record.require_approved.is_some() && !matches!(key, BindingKey::Package(_)) {
            return Err(error(
                "requireApproved",
                "is about a package's approval: only a package# item has it".to_owned(),
            ));
        }
        let patterns = |field: &str,
                        list: &[String]|
         -> Result<Vec<PrincipalPattern>, PolicyError> {
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    PrincipalPattern::principal(p).map_err(|e| error(&format!("{field}[{i}]"), e))
                })
                .collect()
        };
        let principals = patterns("principals", &record.principals)?;
        let approvers = match &record.approvers {
            Some(list) => Some(patterns("approvers", list)?),
            None => None,
        };
        if let Some(grace) = record.grace_seconds
            && grace > MAX_GRACE_SECONDS
        {
            return Err(error(
                "graceSeconds",
                format!("{grace} is out of range (0 to {MAX_GRACE_SECONDS} seconds, 30 days)"),
            ));
        }
        Ok(PolicyItem {
            pk: record.pk,
            key,
            account,
            principals,
            mode: record.mode.unwrap_or_default(),
            grace_seconds: record.grace_seconds,
            approvers,
            description: record.description,
            pins,
            require_approved: record.require_approved.unwrap_or(true),
            on_create_model: record.on_create_model.unwrap_or(Mode::Notify),
            on_update: record.on_update.unwrap_or_default(),
        })
    }

    /// Whether the caller is one of this item's principals.
    pub fn allows(&self, caller: &PrincipalForm) -> bool {
        self.principals.iter().any(|p| p.matches(caller))
    }

    /// The identity of the binding, for duplicate detection: two items whose keys differ only in
    /// case are one binding written twice.
    fn identity(&self) -> String {
        let key = match &self.key {
            BindingKey::Model(p) => format!("model#{}", p.folded()),
            BindingKey::Role(p) => format!("role#{}", p.glob().folded()),
            // Case-sensitive: `image#r/A` and `image#r/a` are two bindings.
            BindingKey::Image(p) => format!("image#{}", p.as_str()),
            BindingKey::Data(p) => format!("data#{}", p.as_str()),
            BindingKey::Package(p) => format!("package#{}", p.folded()),
            BindingKey::Default => "default".to_owned(),
            BindingKey::Enforcement(_) => ENFORCEMENT_PK.to_owned(),
            BindingKey::Unresolved => UNRESOLVED_PK.to_owned(),
        };
        match &self.account {
            Some(account) => format!("{key}@{account}"),
            None => key,
        }
    }

    /// Whether the binding holds for a call made in `account` (unscoped ones hold everywhere).
    fn holds_in(&self, account: Option<&str>) -> bool {
        self.account
            .as_deref()
            .is_none_or(|own| Some(own) == account)
    }
}

/// A `model#`, `package#` or `default` key and the account after its `@`, if it has one. Only
/// these keys can be scoped: SageMaker names hold no `@`, while image URIs (`repo@sha256:…`), S3
/// keys and role names may, and a role ARN names its account already.
fn split_account(pk: &str) -> Result<(&str, Option<String>), String> {
    let scopable =
        pk.starts_with("model#") || pk.starts_with("package#") || pk.starts_with("default@");
    let Some((key, account)) = pk.rsplit_once('@').filter(|_| scopable) else {
        return Ok((pk, None));
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{account:?} after \"@\" is not an account ID (12 digits): a key is scoped to one \
             account as \"model#<name or glob>@111122223333\""
        ));
    }
    Ok((key, Some(account.to_owned())))
}

/// An `image#` key or `images` pin: an image URI or glob that some image URI can match.
fn image_pattern(text: &str) -> Result<Pattern, String> {
    match crate::content::image_pattern_problem(text) {
        Some(problem) => Err(format!("image pattern {text:?} {problem}")),
        None => Ok(Pattern::case_sensitive(text)),
    }
}

/// A `data#` key or `data` pin: an S3 URI or glob that some `s3://` location can match.
fn data_pattern(text: &str) -> Result<Pattern, String> {
    let pattern = Pattern::case_sensitive(text);
    if text.is_empty() || !pattern.could_match_under("s3://") {
        return Err(format!(
            "data pattern {text:?} can never match an S3 location (they start with \"s3://\")"
        ));
    }
    Ok(pattern)
}

/// Globs bucketed by their literal prefix, so that a lookup touches only the globs that can
/// match: for a text, only the buckets of its own prefixes are read.
#[derive(Debug, Default)]
struct PrefixIndex {
    buckets: HashMap<String, Vec<usize>>,
    /// The distinct prefix lengths present, ascending: the only prefixes worth probing.
    lens: Vec<usize>,
}

impl PrefixIndex {
    fn insert(&mut self, prefix: &str, index: usize) {
        self.buckets
            .entry(prefix.to_owned())
            .or_default()
            .push(index);
        if let Err(at) = self.lens.binary_search(&prefix.len()) {
            self.lens.insert(at, prefix.len());
        }
    }

    /// Every glob whose literal prefix is a prefix of `text`.
    fn candidates<'a>(&'a self, text: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.lens
            .iter()
            .take_while(move |&&len| len <= text.len())
            .filter_map(move |&len| self.buckets.get(text.get(..len)?))
            .flatten()
            .copied()
    }

    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.buckets.values().flatten().copied()
    }
}

/// The NAME of `arn:PARTITION:iam::ACCOUNT:role/NAME` when no part holds a `:` or `/` of its own.
///
/// For such a pattern and such a text, matching the whole string is the same as matching part by
/// part (the text has exactly one `:iam::` and one `:role/` for the pattern's literals to meet),
/// so a pattern can only match a text whose NAME starts with the literal prefix of the pattern's
/// NAME. That lets role patterns like `arn:aws:iam::*:role/Team*`, whose whole-string prefix
/// (`arn:aws:iam::`) every role shares, be indexed by their name.
fn role_name(text: &str) -> Option<&str> {
    let mut parts = text.split(':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?;
    (!partition.contains('/') && !account.contains('/') && !name.contains('/')).then_some(name)
}

/// Names and globs of one kind (models, images, data, packages), in the form their patterns
/// compare (folded, or as written for the case-sensitive kinds).
#[derive(Debug, Default)]
struct NameIndex {
    /// One name may have a binding per account and one without.
    exact: HashMap<String, Vec<usize>>,
    by_prefix: PrefixIndex,
}

impl NameIndex {
    fn insert(&mut self, pattern: &Pattern, index: usize) {
        if pattern.is_glob() {
            self.by_prefix.insert(pattern.folded_prefix(), index);
        } else {
            self.exact
                .entry(pattern.folded().to_owned())
                .or_default()
                .push(index);
        }
    }

    /// Every item whose pattern matches `text` (already in compared form).
    fn matching<'a>(
        &'a self,
        text: &'a str,
        pattern_of: impl Fn(usize) -> Option<&'a Pattern> + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        self.exact.get(text).into_iter().flatten().copied().chain(
            self.by_prefix
                .candidates(text)
                .filter(move |&i| pattern_of(i).is_some_and(|p| p.matches_folded(text))),
        )
    }

    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.exact
            .values()
            .flatten()
            .copied()
            .chain(self.by_prefix.all())
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.by_prefix.buckets.is_empty()
    }
}

/// Role ARN patterns, by what a role can be found by: exact ARNs with their path, exact names at
/// any path, globs by their literal prefix or (role names at any path) by their name's.
#[derive(Debug, Default)]
struct RoleIndex {
    exact_with_path: HashMap<String, usize>,
    exact_any_path: HashMap<String, usize>,
    /// Globs by the literal prefix of the whole pattern.
    by_prefix: PrefixIndex,
    /// Role ARN globs without a path by the literal prefix of their role name (see
    /// [`role_name`]).
    by_role_name: PrefixIndex,
}

impl RoleIndex {
    fn insert(&mut self, pattern: &PrincipalPattern, index: usize) {
        let glob = pattern.glob();
        match (pattern.shape(), glob.is_glob()) {
            (PatternShape::RoleWithPath, false) => {
                self.exact_with_path.insert(glob.folded().to_owned(), index);
            }
            (PatternShape::RoleAnyPath, false) => {
                self.exact_any_path.insert(glob.folded().to_owned(), index);
            }
            (PatternShape::RoleAnyPath, true) => match role_name(glob.folded()) {
                Some(name) => {
                    let prefix_len = name.find(['*', '?']).unwrap_or(name.len());
                    self.by_role_name.insert(&name[..prefix_len], index);
                }
                None => self.by_prefix.insert(glob.folded_prefix(), index),
            },
            _ => self.by_prefix.insert(glob.folded_prefix(), index),
        }
    }

    /// Every pattern that may match `role` (a superset of those that do).
    fn candidates<'a>(&'a self, role: &'a PrincipalForm) -> Vec<usize> {
        let full = role.folded();
        let mut found: Vec<usize> = self.by_prefix.candidates(full).collect();
        // Not a role ARN: only patterns that are not role ARNs can match it, all by prefix.
        if let Some(pathless) = role.pathless() {
            found.extend(self.exact_with_path.get(full).copied());
            found.extend(self.exact_any_path.get(pathless).copied());
            found.extend(self.by_prefix.candidates(pathless));
            match role_name(pathless) {
                Some(name) => found.extend(self.by_role_name.candidates(name)),
                None => found.extend(self.by_role_name.all()),
            }
        }
        found
    }
}

/// A validated set of policy items, ready for lookups.
#[derive(Debug, Default)]
pub struct PolicySet {
    items: Vec<PolicyItem>,
    models: NameIndex,
    roles: RoleIndex,
    images: NameIndex,
    data: NameIndex,
    packages: NameIndex,
    default: Option<usize>,
    /// `default@<account>` items, by account.
    account_defaults: HashMap<String, usize>,
    /// The `enforcement` item's setting, when the table holds one.
    enforcement: Option<StackEnforcement>,
    /// What resolution must learn for this policy, worked out once.
    needs: ContentNeeds,
}

/// What the policy needs resolution to learn beyond models and roles (each costs describes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentNeeds {
    /// Describe model packages: `package#` keys, or content that packages could carry matters.
    pub packages: bool,
    /// Ask SageMaker what it resolved image tags to: a digest pattern is in a key or a pin.
    pub resolved_images: bool,
}

impl PolicySet {
    /// Builds the set; a duplicate binding is an error naming both items.
    pub fn new(items: Vec<PolicyItem>) -> Result<PolicySet, PolicyError> {
        let mut set = PolicySet::default();
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            if let Some(first) = seen.insert(item.identity(), index) {
                return Err(PolicyError {
                    position: String::new(),
                    pk: Some(item.pk.clone()),
                    field: Some("pk".to_owned()),
                    message: format!(
                        "duplicate pk: the same binding as {:?} (keys compare without case and \
                         without role paths)",
                        items[first].pk
                    ),
                });
            }
            match &item.key {
                BindingKey::Model(p) => set.models.insert(p, index),
                BindingKey::Role(p) => set.roles.insert(p, index),
                BindingKey::Image(p) => set.images.insert(p, index),
                BindingKey::Data(p) => set.data.insert(p, index),
                BindingKey::Package(p) => set.packages.insert(p, index),
                BindingKey::Default => match &item.account {
                    Some(account) => {
                        set.account_defaults.insert(account.clone(), index);
                    }
                    None => set.default = Some(index),
                },
                BindingKey::Enforcement(setting) => set.enforcement = Some(*setting),
                // `from_record` never makes one; a hand-built item would bind nothing.
                BindingKey::Unresolved => {}
            }
        }
        set.items = items;
        set.needs = set.work_out_needs();
        Ok(set)
    }

    /// Reads a POLICY.json document: a JSON array of items. Every item is validated; the first
    /// problem is returned.
    pub fn from_json(value: &Value) -> Result<PolicySet, PolicyError> {
        let Some(list) = value.as_array() else {
            return Err(PolicyError {
                position: String::new(),
                pk: None,
                field: None,
                message: "a policy is a JSON array of items".to_owned(),
            });
        };
        let items = list
            .iter()
            .enumerate()
            .map(|(i, v)| PolicyItem::from_value(&format!(".[{i}]"), v))
            .collect::<Result<Vec<_>, _>>()?;
        PolicySet::new(items)
    }

    /// The stack-wide enforcement setting: the `enforcement` item's, else `enforce`.
    pub fn enforcement(&self) -> StackEnforcement {
        self.enforcement.unwrap_or_default()
    }

    pub fn items(&self) -> &[PolicyItem] {
        &self.items
    }

    /// The `default` item for a call made in `account`: its own `default@<account>`, else the
    /// unscoped one.
    pub fn default_item(&self, account: Option<&str>) -> Option<&PolicyItem> {
        account
            .and_then(|a| self.account_defaults.get(a))
            .or(self.default.as_ref())
            .map(|&i| &self.items[i])
    }

    /// The pattern of a name-like key (model, image, data, package).
    fn name_pattern(&self, index: usize) -> Option<&Pattern> {
        match &self.items[index].key {
            BindingKey::Model(p)
            | BindingKey::Image(p)
            | BindingKey::Data(p)
            | BindingKey::Package(p) => Some(p),
            _ => None,
        }
    }

    fn content_index(&self, kind: SubjectKind) -> Option<&NameIndex> {
        match kind {
            SubjectKind::Image => Some(&self.images),
            SubjectKind::Data => Some(&self.data),
            SubjectKind::Package => Some(&self.packages),
            _ => None,
        }
    }

    /// Whether the policy has a key of this content kind: only then does `default` judge an
    /// unbound image, data location or package.
    pub fn has_keys(&self, kind: SubjectKind) -> bool {
        self.content_index(kind).is_some_and(|i| !i.is_empty())
    }

    /// What resolution must learn for this policy.
    pub fn content_needs(&self) -> ContentNeeds {
        self.needs
    }

    fn work_out_needs(&self) -> ContentNeeds {
        let pinned = |f: fn(&Pins) -> bool| self.items.iter().any(|i| f(&i.pins));
        let content_matters =
            !self.images.is_empty() || !self.data.is_empty() || pinned(|p| !p.is_empty());
        let digest = |p: &Pattern| crate::content::is_digest_pattern(p.as_str());
        ContentNeeds {
            packages: !self.packages.is_empty() || content_matters,
            resolved_images: self
                .images
                .all()
                .any(|i| self.name_pattern(i).is_some_and(digest))
                || self
                    .items
                    .iter()
                    .any(|i| i.pins.images.as_ref().is_some_and(|l| l.iter().any(digest))),
        }
    }

    /// The most specific content binding that matches any of `texts` (an image by its URI and,
    /// where its digest is known, by `REPOSITORY@DIGEST`).
    pub fn content_binding(
        &self,
        kind: SubjectKind,
        texts: &[&str],
        account: Option<&str>,
    ) -> Option<&PolicyItem> {
        let index = self.content_index(kind)?;
        texts
            .iter()
            .flat_map(|text| {
                // Packages compare without case, as SageMaker names do.
                let text = if kind == SubjectKind::Package {
                    fold(text)
                } else {
                    (*text).to_owned()
                };
                index
                    .matching(&text, |i| self.name_pattern(i))
                    .collect::<Vec<_>>()
            })
            .map(|i| &self.items[i])
            .filter(|item| item.holds_in(account))
            .reduce(|best, item| {
                if more_specific(item, best) {
                    item
                } else {
                    best
                }
            })
    }

    /// Every content binding whose pattern could match something that starts with `prefix`
    /// (what a multi-model prefix, or an image by an unresolved tag, may stand for).
    pub fn content_bindings_under(
        &self,
        kind: SubjectKind,
        prefix: &str,
        account: Option<&str>,
    ) -> Vec<&PolicyItem> {
        let Some(index) = self.content_index(kind) else {
            return Vec::new();
        };
        let mut found: Vec<usize> = index
            .all()
            .filter(|&i| {
                self.items[i].holds_in(account)
                    && self
                        .name_pattern(i)
                        .is_some_and(|p| p.could_match_under(prefix))
            })
            .collect();
        found.sort_unstable();
        found.into_iter().map(|i| &self.items[i]).collect()
    }

    /// The most specific binding of a subject (docs/design.md, rule 2): an exact name beats a
    /// glob; among several, more literal characters wins; a tie goes to the smallest `pk` in
    /// byte order. A role is matched as principals are (its path counts where a key gives one).
    /// Before all that, a binding scoped to the call's account beats one that is not, and one
    /// scoped to another account does not hold.
    pub fn binding_for(
        &self,
        kind: SubjectKind,
        name: &str,
        account: Option<&str>,
    ) -> Option<&PolicyItem> {
        let candidates: Vec<usize> = match kind {
            SubjectKind::Model => {
                let folded = name.to_ascii_lowercase();
                self.models
                    .matching(&folded, |i| self.name_pattern(i))
                    .collect()
            }
            SubjectKind::Role => {
                // An execution role's ARN is the one SageMaker assumes: its path is real.
                let form = PrincipalForm::new(name, true);
                self.roles
                    .candidates(&form)
                    .into_iter()
                    .filter(|&i| match &self.items[i].key {
                        BindingKey::Role(p) => p.matches(&form),
                        _ => false,
                    })
                    .collect()
            }
            SubjectKind::Image | SubjectKind::Data | SubjectKind::Package => {
                return self.content_binding(kind, &[name], account);
            }
            SubjectKind::EndpointConfig | SubjectKind::InferenceComponent => return None,
        };
        candidates
            .into_iter()
            .map(|i| &self.items[i])
            .filter(|item| item.holds_in(account))
            .reduce(|best, item| {
                if more_specific(item, best) {
                    item
                } else {
                    best
                }
            })
    }
}

/// How specific a key is: scoped to an account before not, exact before glob, then by literal
/// characters. (Only bindings that hold in the call's account are compared.)
fn specificity(item: &PolicyItem) -> (bool, bool, usize) {
    let scoped = item.account.is_some();
    match &item.key {
        BindingKey::Model(p)
        | BindingKey::Image(p)
        | BindingKey::Data(p)
        | BindingKey::Package(p) => (scoped, !p.is_glob(), p.literal_chars()),
        BindingKey::Role(p) => (scoped, !p.glob().is_glob(), p.glob().literal_chars()),
        BindingKey::Default | BindingKey::Enforcement(_) | BindingKey::Unresolved => {
            (scoped, false, 0)
        }
    }
}

fn more_specific(a: &PolicyItem, b: &PolicyItem) -> bool {
    (specificity(a), std::cmp::Reverse(a.pk.as_bytes()))
        > (specificity(b), std::cmp::Reverse(b.pk.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_enforcement_setting_is_read_and_checked() {
        let set = |v: Value| PolicySet::from_json(&v);
        let observing = set(
            json!([{"pk": "enforcement", "mode": "observe", "description": "d"},
                                   {"pk": "default", "principals": []}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(observing.enforcement(), StackEnforcement::Observe);
        // It binds nothing: the default still answers for everything.
        assert!(
            observing
                .binding_for(SubjectKind::Model, "enforcement", None)
                .is_none()
        );
        assert_eq!(
            observing.default_item(None).map(|i| i.pk.as_str()),
            Some("default")
        );
        let absent =
            set(json!([{"pk": "default", "principals": []}])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            absent.enforcement(),
            StackEnforcement::Enforce,
            "fail closed without the item"
        );
        for (bad, said) in [
            (json!({"pk": "enforcement", "mode": "notify"}), "field mode"),
            (
                json!({"pk": "enforcement", "mode": "observe", "principals": []}),
                "unknown field",
            ),
            (json!({"pk": "enforcement"}), "missing field"),
        ] {
            match set(json!([bad])) {
                Ok(_) => panic!("{bad} accepted"),
                Err(e) => assert!(e.to_string().contains(said), "{e}"),
            }
        }
    }

    fn set(items: Value) -> PolicySet {
        match PolicySet::from_json(&items) {
            Ok(set) => set,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(items: Value) -> String {
        match PolicySet::from_json(&items) {
            Ok(_) => panic!("accepted {items}"),
            Err(e) => e.to_string(),
        }
    }

    fn bound(set: &PolicySet, kind: SubjectKind, name: &str) -> Option<String> {
        set.binding_for(kind, name, None).map(|i| i.pk.clone())
    }

    #[test]
    fn most_specific_binding() {
        let s = set(json!([
            {"pk": "model#fraud-*", "principals": []},
            {"pk": "model#fraud-v*", "principals": []},
            {"pk": "model#fraud-v3", "principals": []},
            {"pk": "model#*-v3", "principals": []},
            {"pk": "model#b?", "principals": []},
            {"pk": "model#?a", "principals": []},
            {"pk": "model#*", "principals": []},
            {"pk": "role#arn:aws:iam::*:role/ML*", "principals": []},
        ]));
        assert_eq!(
            bound(&s, SubjectKind::Model, "fraud-v3").as_deref(),
            Some("model#fraud-v3")
        );
        assert_eq!(
            bound(&s, SubjectKind::Model, "FRAUD-V3").as_deref(),
            Some("model#fraud-v3")
        );
        assert_eq!(
            bound(&s, SubjectKind::Model, "fraud-v4").as_deref(),
            Some("model#fraud-v*")
        );
        assert_eq!(
            bound(&s, SubjectKind::Model, "fraud-x").as_deref(),
            Some("model#fraud-*")
        );
        assert_eq!(
            bound(&s, SubjectKind::Model, "risk-v3").as_deref(),
            Some("model#*-v3")
        );
        // Same literal count: the smaller pk in byte order ("?" < "b").
        assert_eq!(
            bound(&s, SubjectKind::Model, "ba").as_deref(),
            Some("model#?a")
        );
        assert_eq!(
            bound(&s, SubjectKind::Model, "other").as_deref(),
            Some("model#*")
        );
        // Model subjects only look at model# items, role subjects only at role# items.
        assert_eq!(bound(&s, SubjectKind::Role, "fraud-v3"), None);
        assert_eq!(
            bound(&s, SubjectKind::Role, "arn:aws:iam::1:role/MLExec").as_deref(),
            Some("role#arn:aws:iam::*:role/ML*")
        );
    }

    /// The index must never hide a binding: every lookup agrees with a plain scan of all items.
    #[test]
    fn index_agrees_with_a_full_scan() {
        let patterns = [
            "arn:aws:iam::*:role/ML*",
            "arn:aws:iam::1:role/MLDeployer",
            "arn:*:iam::*:role/?L*",
            "*:role/ML*",
            "*",
            "*Deployer",
            "arn:aws:iam::1:role/*",
            "arn:aws:iam::*:role/*:x",
            "arn:aws:iam::1:role/ml*er",
            "arn:aws:iam::2:role/ML*",
            "arn:aws:iam::1:role/teams/ml/*",
            "arn:aws:iam::1:role/teams/ml/MLDeployer",
            "arn:aws:iam::*:role/*/ML*",
        ];
        let items: Vec<Value> = patterns
            .iter()
            .map(|p| json!({"pk": format!("role#{p}"), "principals": []}))
            .collect();
        let s = set(Value::Array(items));
        let texts = [
            "arn:aws:iam::1:role/MLDeployer",
            "arn:aws:iam::2:role/MLx",
            "arn:aws-cn:iam::3:role/XLy",
            "arn:aws:iam::1:role/a:role/MLx",
            "arn:aws:iam::1:user/MLDeployer",
            "notanarn",
            "arn:aws:iam::1:role/",
            "arn:aws:iam::1:role/*:x",
            "arn:aws:iam::1:role/teams/ml/MLDeployer",
            "arn:aws:iam::1:role/teams/other/MLDeployer",
            "arn:aws:iam::1:role/a/b/c/MLx",
            "",
        ];
        for text in texts {
            assert_eq!(bound(&s, SubjectKind::Role, text), scan(&s, text), "{text}");
        }
    }

    /// The binding a plain scan of every role item finds.
    fn scan(s: &PolicySet, text: &str) -> Option<String> {
        let form = PrincipalForm::new(text, true);
        s.items()
            .iter()
            .filter(|i| match &i.key {
                BindingKey::Role(p) => p.matches(&form),
                _ => false,
            })
            .fold(None::<&PolicyItem>, |best, i| match best {
                Some(b) if !more_specific(i, b) => Some(b),
                _ => Some(i),
            })
            .map(|i| i.pk.clone())
    }

    proptest::proptest! {
        #[test]
        fn index_agrees_with_a_full_scan_on_random_account_scoped_model_keys(
            keys in proptest::collection::vec("[aB*?]{1,3}(@11112222333[34])?", 1..8),
            text in "[Ab]{0,4}",
            account in proptest::option::of("11112222333[345]"),
        ) {
            let mut seen = std::collections::HashSet::new();
            let items: Vec<Value> = keys
                .iter()
                .filter(|k| seen.insert(k.to_ascii_lowercase()))
                .map(|k| json!({"pk": format!("model#{k}"), "principals": []}))
                .collect();
            let s = set(Value::Array(items));
            let folded = text.to_ascii_lowercase();
            let scanned = s
                .items()
                .iter()
                .filter(|i| i.holds_in(account.as_deref()))
                .filter(|i| matches!(&i.key, BindingKey::Model(p) if p.matches_folded(&folded)))
                .fold(None::<&PolicyItem>, |best, i| match best {
                    Some(b) if !more_specific(i, b) => Some(b),
                    _ => Some(i),
                })
                .map(|i| i.pk.clone());
            let indexed = s
                .binding_for(SubjectKind::Model, &text, account.as_deref())
                .map(|i| i.pk.clone());
            proptest::prop_assert_eq!(indexed, scanned);
        }

        #[test]
        fn index_agrees_with_a_full_scan_on_random_role_patterns(
            names in proptest::collection::vec(
                "arn:(aws|\\*):iam::(1|2|\\*):role/[ab/*?:]{0,4}[ab*?:]|[*?][ab*?:/]{0,5}",
                1..8,
            ),
            text in "(arn:aws:iam::(1|2):role/)?[ab:/*]{0,6}",
        ) {
            let mut seen = std::collections::HashSet::new();
            let items: Vec<Value> = names
                .iter()
                .filter(|n| !n.is_empty() && seen.insert(n.to_ascii_lowercase()))
                .map(|n| json!({"pk": format!("role#{n}"), "principals": []}))
                .collect();
            if let Ok(s) = PolicySet::from_json(&Value::Array(items)) {
                proptest::prop_assert_eq!(bound(&s, SubjectKind::Role, &text), scan(&s, &text));
            }
        }
    }

    #[test]
    fn an_account_scoped_key_holds_only_in_its_account_and_beats_an_unscoped_one() {
        let s = set(json!([
            {"pk": "model#fraud-v3", "principals": []},
            {"pk": "model#fraud-*@111122223333", "principals": []},
            {"pk": "model#fraud-v3@444455556666", "principals": []},
            {"pk": "package#risk@111122223333", "principals": []},
            {"pk": "default", "principals": []},
            {"pk": "default@111122223333", "principals": ["*"]},
        ]));
        let bound_in = |name: &str, account: Option<&str>| {
            s.binding_for(SubjectKind::Model, name, account)
                .map(|i| i.pk.clone())
        };
        // In its account, a scoped glob beats an unscoped exact name.
        assert_eq!(
            bound_in("fraud-v3", Some("111122223333")).as_deref(),
            Some("model#fraud-*@111122223333")
        );
        assert_eq!(
            bound_in("FRAUD-V3", Some("444455556666")).as_deref(),
            Some("model#fraud-v3@444455556666")
        );
        // Elsewhere (or with no account known) a scoped key does not hold.
        for elsewhere in [Some("777788889999"), None] {
            assert_eq!(
                bound_in("fraud-v3", elsewhere).as_deref(),
                Some("model#fraud-v3")
            );
            assert_eq!(bound_in("fraud-v4", elsewhere), None);
            assert_eq!(s.binding_for(SubjectKind::Package, "risk", elsewhere), None);
        }
        assert_eq!(
            s.binding_for(SubjectKind::Package, "RISK", Some("111122223333"))
                .map(|i| i.pk.as_str()),
            Some("package#risk@111122223333")
        );
        let default_in = |account| s.default_item(account).map(|i| i.pk.as_str());
        assert_eq!(
            default_in(Some("111122223333")),
            Some("default@111122223333")
        );
        assert_eq!(default_in(Some("444455556666")), Some("default"));
        assert_eq!(default_in(None), Some("default"));
    }

    #[test]
    fn account_scoped_keys_are_checked() {
        // Two items for one binding in one account are a duplicate; one per account is not.
        assert!(
            error(json!([
                {"pk": "model#fraud-*@111122223333", "principals": []},
                {"pk": "model#FRAUD-*@111122223333", "principals": []},
            ]))
            .contains("duplicate pk")
        );
        set(json!([
            {"pk": "model#fraud-*@111122223333", "principals": []},
            {"pk": "model#fraud-*@444455556666", "principals": []},
            {"pk": "model#fraud-*", "principals": []},
        ]));
        for pk in [
            "model#fraud@1111",
            "model#fraud@",
            "default@prod",
            "package#g@11112222333x",
        ] {
            let e = error(json!([{"pk": pk, "principals": []}]));
            assert!(
                e.contains("field pk") && e.contains("12 digits"),
                "{pk}: {e}"
            );
        }
        // Only model, package and default keys take an account: in an image URI, an S3 key or a
        // role name, an `@` is part of what is matched.
        let s = set(json!([
            {"pk": "image#r.example/a@sha256:*", "principals": []},
            {"pk": "data#s3://b/k@111122223333", "principals": []},
            {"pk": "role#arn:aws:iam::1:role/a@111122223333", "principals": []},
        ]));
        assert!(s.items().iter().all(|i| i.account.is_none()));
        assert_eq!(
            bound(&s, SubjectKind::Data, "s3://b/k@111122223333").as_deref(),
            Some("data#s3://b/k@111122223333")
        );
    }

    #[test]
    fn a_role_key_with_a_path_binds_only_that_path_and_beats_one_without() {
        let s = set(json!([
            {"pk": "role#arn:aws:iam::111122223333:role/service-role/Exec", "principals": []},
            {"pk": "role#arn:aws:iam::111122223333:role/Exec", "principals": []},
            {"pk": "role#arn:aws:iam::111122223333:role/Other", "principals": []},
        ]));
        assert_eq!(
            bound(
                &s,
                SubjectKind::Role,
                "arn:aws:iam::111122223333:role/service-role/Exec"
            )
            .as_deref(),
            Some("role#arn:aws:iam::111122223333:role/service-role/Exec")
        );
        assert_eq!(
            bound(&s, SubjectKind::Role, "arn:aws:iam::111122223333:role/Exec").as_deref(),
            Some("role#arn:aws:iam::111122223333:role/Exec")
        );
        // A key without a path binds the role at any path.
        assert_eq!(
            bound(
                &s,
                SubjectKind::Role,
                "arn:aws:iam::111122223333:role/x/Other"
            )
            .as_deref(),
            Some("role#arn:aws:iam::111122223333:role/Other")
        );
    }

    #[test]
    fn validation_names_item_and_field() {
        let cases = [
            (json!({}), "a policy is a JSON array of items"),
            (
                json!([{"pk": "model#a", "principals": [], "mode": "block"}]),
                "policy item .[0] (pk \"model#a\"), field mode: unknown variant `block`",
            ),
            (
                json!([{"pk": "model#a", "principals": [], "graceSeconds": 2592001}]),
                "policy item .[0] (pk \"model#a\"), field graceSeconds: 2592001 is out of range",
            ),
            (
                json!([{"pk": "model#a", "principals": [], "graceSeconds": 1.5}]),
                "field graceSeconds: invalid type: floating point `1.5`, expected u32",
            ),
            (
                json!([{"pk": "model#a", "principals": [], "graceSeconds": -1}]),
                "field graceSeconds: invalid value: integer `-1`, expected u32",
            ),
            (
                json!([{"pk": "model#a", "principals": [], "graceSeconds": "600"}]),
                "field graceSeconds: invalid type: string \"600\"",
            ),
            (
                json!([{"pk": "model#a", "principals": [""]}]),
                "field principals[0]: empty pattern",
            ),
            (
                json!([{"pk": "model#a", "principals": [], "approvers": ["arn:aws:iam::1:role/x", ""]}]),
                "field approvers[1]: empty pattern",
            ),
            (
                json!([{"pk": "model#", "principals": []}]),
                "field pk: empty model pattern",
            ),
            (
                json!([{"pk": "endpoint#a", "principals": []}]),
                "field pk: unknown key",
            ),
            (
                json!([{"pk": "model#a", "principals": [], "owner": "me"}]),
                "unknown field `owner`",
            ),
            (json!([{"pk": "model#a"}]), "missing field `principals`"),
            (json!([{"principals": []}]), "missing field `pk`"),
            (
                json!([{"pk": "model#a", "principals": "x"}]),
                "field principals: invalid type: string \"x\", expected a sequence",
            ),
            (
                json!([{"pk": "model#a", "principals": []}, {"pk": "model#A", "principals": []}]),
                "policy item (pk \"model#A\"), field pk: duplicate pk: the same binding as \"model#a\"",
            ),
            (
                json!([{"pk": "role#arn:aws:iam::1:role/p/X", "principals": []},
                    {"pk": "role#arn:aws:iam::1:role/P/x", "principals": []}]),
                "duplicate pk",
            ),
            (
                json!([{"pk": "default", "principals": []}, {"pk": "default", "principals": []}]),
                "duplicate pk",
            ),
            (
                json!(["model#a"]),
                "policy item .[0]: an item is a JSON object",
            ),
        ];
        for (items, expected) in cases {
            let message = error(items.clone());
            assert!(
                message.contains(expected),
                "{items}\n  gave {message}\n  wanted {expected}"
            );
        }
    }

    #[test]
    fn an_exact_key_beats_a_glob_with_as_many_literal_characters() {
        let s = set(json!([
            {"pk": "model#ab*", "principals": []},
            {"pk": "model#ab", "principals": []},
            {"pk": "role#arn:aws:iam::1:role/Ab*", "principals": []},
            {"pk": "role#arn:aws:iam::1:role/Ab", "principals": []},
        ]));
        assert_eq!(
            bound(&s, SubjectKind::Model, "ab").as_deref(),
            Some("model#ab")
        );
        assert_eq!(
            bound(&s, SubjectKind::Role, "arn:aws:iam::1:role/Ab").as_deref(),
            Some("role#arn:aws:iam::1:role/Ab")
        );
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn content_keys_and_attributes_are_refused_naming_the_item_and_field() {
        let refused = |item: Value, field: &str, says: &str| {
            let e = error(json!([item]));
            assert!(
                e.contains(&format!("field {field}")) && e.contains(says),
                "{e}"
            );
        };
        refused(
            json!({"pk": "role#arn:aws:iam::1:role/R", "principals": [], "images": ["r/a:*"]}),
            "images",
            "only a model# item",
        );
        refused(
            json!({"pk": "image#r/a:*", "principals": [], "data": ["s3://b/*"]}),
            "data",
            "only a model# item",
        );
        refused(
            json!({"pk": "model#m", "principals": [], "images": []}),
            "images",
            "is empty",
        );
        refused(
            json!({"pk": "model#m", "principals": [], "images": ["r/a:1", "r/a@sha256:ABC"]}),
            "images[1]",
            "can never match",
        );
        refused(
            json!({"pk": "model#m", "principals": [], "data": ["gs://b/*"]}),
            "data[0]",
            "can never match an S3 location",
        );
        refused(
            json!({"pk": "model#m", "principals": [], "requireApproved": false}),
            "requireApproved",
            "only a package# item",
        );
        refused(json!({"pk": "image#", "principals": []}), "pk", "is empty");
        refused(
            json!({"pk": format!("image#r/a@{}", DIGEST.to_uppercase()), "principals": []}),
            "pk",
            "can never match",
        );
        refused(json!({"pk": "data#fraud/*", "principals": []}), "pk", "S3");
        refused(json!({"pk": "package#", "principals": []}), "pk", "empty");
        refused(
            json!({"pk": "data#s3://b/*", "principals": [], "onCreateModel": "delete"}),
            "onCreateModel",
            "unknown variant",
        );
        // A glob digest, `@*`, a data glob that can reach s3://: fine.
        set(json!([
            {"pk": "image#r/a@sha256:*", "principals": []},
            {"pk": "image#r/b@*", "principals": []},
            {"pk": "data#*fraud*", "principals": []},
            {"pk": "package#fraud-*", "principals": [], "requireApproved": false,
             "onCreateModel": "enforce"},
            {"pk": "model#m", "principals": [], "images": [format!("r/a@{DIGEST}")],
             "data": ["s3://b/m/*"]},
        ]));
    }

    #[test]
    fn content_keys_match_case_sensitively_and_packages_do_not() {
        let s = set(json!([
            {"pk": "image#r/Fraud:*", "principals": []},
            {"pk": "data#s3://b/Fraud/*", "principals": []},
            {"pk": "package#Fraud-Models", "principals": []},
            // Two image keys differing in case are two bindings, not a duplicate.
            {"pk": "image#r/fraud:*", "principals": []},
        ]));
        assert_eq!(
            bound(&s, SubjectKind::Image, "r/Fraud:1").as_deref(),
            Some("image#r/Fraud:*")
        );
        assert_eq!(
            bound(&s, SubjectKind::Image, "r/fraud:1").as_deref(),
            Some("image#r/fraud:*")
        );
        assert_eq!(bound(&s, SubjectKind::Data, "s3://b/fraud/m.tar.gz"), None);
        assert_eq!(
            bound(&s, SubjectKind::Package, "fraud-models").as_deref(),
            Some("package#Fraud-Models")
        );
        assert!(s.has_keys(SubjectKind::Image) && s.has_keys(SubjectKind::Package));
        let dup = error(json!([
            {"pk": "package#a", "principals": []}, {"pk": "package#A", "principals": []}]));
        assert!(dup.contains("duplicate"), "{dup}");
    }

    #[test]
    fn what_resolution_must_learn_follows_the_policy() {
        let needs = |items: Value| set(items).content_needs();
        assert_eq!(
            needs(json!([{"pk": "model#m", "principals": []}])),
            ContentNeeds::default()
        );
        let pinned = needs(json!([
            {"pk": "model#m", "principals": [], "images": [format!("r/a@{DIGEST}")]}]));
        assert!(pinned.packages && pinned.resolved_images);
        let by_tag = needs(json!([{"pk": "image#r/a:*", "principals": []}]));
        assert!(by_tag.packages && !by_tag.resolved_images);
        let packages = needs(json!([{"pk": "package#p", "principals": []}]));
        assert!(packages.packages && !packages.resolved_images);
    }

    #[test]
    fn a_prefix_finds_every_content_key_that_could_match_under_it() {
        let s = set(json!([
            {"pk": "data#s3://b/fraud-*", "principals": []},
            {"pk": "data#s3://b/research/*", "principals": []},
            {"pk": "data#s3://other/*", "principals": []},
        ]));
        let under = |prefix: &str| -> Vec<String> {
            s.content_bindings_under(SubjectKind::Data, prefix, None)
                .into_iter()
                .map(|i| i.pk.clone())
                .collect()
        };
        assert_eq!(
            under("s3://b/"),
            ["data#s3://b/fraud-*", "data#s3://b/research/*"]
        );
        assert_eq!(under("s3://b/research/x/"), ["data#s3://b/research/*"]);
        assert!(under("s3://c/").is_empty());
    }

    #[test]
    fn a_mode_is_read_by_the_name_it_is_written_with() {
        for name in Mode::NAMES {
            assert_eq!(Mode::from_name(name).map(Mode::as_str), Some(name));
        }
        assert_eq!(Mode::from_name("enforce"), Some(Mode::Enforce));
        assert_eq!(Mode::from_name("off"), Some(Mode::Off));
        for bad in ["", "Enforce", "block", " notify"] {
            assert_eq!(Mode::from_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_longest_grace_is_thirty_days_exactly() {
        let grace = |g: u64| {
            PolicyItem::from_value(
                "",
                &json!({"pk": "default", "principals": [], "graceSeconds": g}),
            )
        };
        assert!(grace(u64::from(MAX_GRACE_SECONDS)).is_ok());
        let e = grace(u64::from(MAX_GRACE_SECONDS) + 1).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.message.contains("out of range")),
            "{e:?}"
        );
    }

    /// The role index narrows by name: a role finds the globs its name could match, not all of
    /// them (the index is what keeps a 10,000-item policy fast; see bench/).
    #[test]
    fn the_role_index_narrows_globs_by_role_name() {
        let s = set(json!([
            {"pk": "role#arn:aws:iam::*:role/Team*", "principals": []},
            {"pk": "role#arn:aws:iam::*:role/Other*", "principals": []},
            {"pk": "role#arn:aws:iam::1:role/T*", "principals": []},
        ]));
        let pk = |i: usize| s.items()[i].pk.as_str();
        let candidates = |role: &str| {
            let form = crate::principal::PrincipalForm::new(role, true);
            let mut found: Vec<&str> = s.roles.candidates(&form).into_iter().map(pk).collect();
            found.sort_unstable();
            found
        };
        assert_eq!(
            candidates("arn:aws:iam::1:role/TeamA"),
            [
                "role#arn:aws:iam::*:role/Team*",
                "role#arn:aws:iam::1:role/T*"
            ]
        );
        assert_eq!(
            candidates("arn:aws:iam::1:role/ml/TeamA"),
            [
                "role#arn:aws:iam::*:role/Team*",
                "role#arn:aws:iam::1:role/T*"
            ]
        );
        assert_eq!(
            candidates("arn:aws:iam::1:role/Other"),
            ["role#arn:aws:iam::*:role/Other*"]
        );
    }

    #[test]
    fn defaults_of_an_item() {
        let s = set(json!([{"pk": "default", "principals": ["*"]}]));
        let d = s
            .default_item(None)
            .map(|d| (d.mode, d.grace_seconds, d.approvers.is_none()));
        assert_eq!(d, Some((Mode::Enforce, None, true)));
    }
}
