//! The decision (docs/design.md, "How a request is decided"): a pure function from a request,
//! its resolved subjects, the policy and the stack's defaults to a verdict.

use std::collections::HashMap;

use crate::content::{ImageRef, is_digest_pattern};
use crate::contract::{
    Action, ApproverSet, Decision, Request, ResolvedSubject, ResourceType, SubjectKind,
    SubjectVerdict, Through, Verdict, Version1,
};
use crate::glob::{Pattern, fold};
use crate::policy::{
    BindingKey, MAX_GRACE_SECONDS, Mode, Pins, PolicyItem, PolicySet, StackEnforcement,
    UNRESOLVED_PK,
};
use crate::principal::PrincipalForm;
use crate::principal::PrincipalPattern;

/// The stack's settings that apply where a binding sets none.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub grace_seconds: u32,
    pub approvers: Vec<PrincipalPattern>,
    /// What a subject the guard cannot resolve costs (`modelGuard:unresolvedAction`): `enforce`
    /// unless the stack lowers it.
    pub unresolved_mode: Mode,
}

impl Defaults {
    pub const GRACE_SECONDS: u32 = 900;

    pub fn new(grace_seconds: u32, approvers: &[String]) -> Result<Defaults, String> {
        if grace_seconds > MAX_GRACE_SECONDS {
            return Err(format!(
                "default grace {grace_seconds} is out of range (0 to {MAX_GRACE_SECONDS} seconds)"
            ));
        }
        let approvers = approvers
            .iter()
            .map(|a| {
                PrincipalPattern::principal(a).map_err(|e| format!("default approver {a:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Defaults {
            grace_seconds,
            approvers,
            unresolved_mode: Mode::Enforce,
        })
    }

    /// The same defaults, with what an unresolvable subject costs.
    pub fn with_unresolved_mode(mut self, mode: Mode) -> Defaults {
        self.unresolved_mode = mode;
        self
    }
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            grace_seconds: Defaults::GRACE_SECONDS,
            approvers: Vec::new(),
            unresolved_mode: Mode::Enforce,
        }
    }
}

/// What a missing `default` item means: unbound subjects are reported, not stopped.
fn implicit_default() -> PolicyItem {
    PolicyItem {
        pk: "default".to_owned(),
        key: BindingKey::Default,
        account: None,
        principals: Vec::new(),
        mode: Mode::Notify,
        grace_seconds: None,
        approvers: None,
        description: None,
        pins: Pins::default(),
        require_approved: false,
        on_create_model: Mode::Notify,
        on_update: crate::policy::OnUpdate::default(),
    }
}

/// How one subject was judged.
struct Judged<'a> {
    binding: Option<&'a PolicyItem>,
    vouched_by: Vec<String>,
    /// Content that stands for more than one thing: the other bindings that judge it too.
    also: Vec<&'a PolicyItem>,
    /// Content: exactly the bindings it violates (its own, those it may stand for, a package
    /// binding its approval fails); otherwise `binding` when not allowed.
    violates: Option<Vec<&'a PolicyItem>>,
    allowed: bool,
}

/// The verdict as the stack's enforcement setting lets it stand: while the stack observes, a
/// violation the policy would enforce is notify-only, marked `observed`, and its reasons say what
/// enforce mode would have done. The setting at the decision counts: a violation decided while
/// observing is never enforced later, one decided before keeps its enforcement.
pub fn observing(setting: StackEnforcement, mut verdict: Verdict) -> Verdict {
    if setting != StackEnforcement::Observe
        || verdict.decision != Decision::Violation
        || verdict.action != Action::Enforce
    {
        return verdict;
    }
    let (verb, resource) = verdict.resource.as_ref().map_or_else(
        || ("stop", "the resource".to_owned()),
        |r| {
            (
                // A violating update that enforce mode would roll back (`rollback_to`).
                if verdict.rollback_to.is_some() {
                    "roll back"
                } else {
                    crate::enforcement::enforcement_verb(r.resource_type)
                },
                format!("{} {}", r.resource_type.as_str(), r.name),
            )
        },
    );
    verdict.action = Action::Notify;
    verdict.observed = true;
    // First: the headline that follows says what the policy asks.
    verdict.reasons.insert(
        0,
        format!(
            "observe mode (the stack's enforcement setting): nothing is stopped; in enforce mode \
         Model Guard would {verb} {resource} after {} s unless an approver kept it",
            verdict.grace_seconds
        ),
    );
    verdict
}

pub fn decide(
    request: &Request,
    subjects: &[ResolvedSubject],
    policy: &PolicySet,
    defaults: &Defaults,
) -> Verdict {
    let who = request.caller();
    use crate::covered::WhenNoSubject;
    match crate::covered::covered_call(&request.event_name).map(|c| c.when_no_subject) {
        Some(WhenNoSubject::CapacityOnly) => {
            return capacity_change(
                request,
                &who,
                "changes only the capacity of {}, not what it serves or as whom",
            );
        }
        Some(WhenNoSubject::StartsNothing) if subjects.is_empty() => {
            return capacity_change(
                request,
                &who,
                "neither deploys a model nor starts anything under a role on {}",
            );
        }
        _ => {}
    }
    let caller = who.form();
    let implicit;
    let account = request.account.as_deref();
    let default = match policy.default_item(account) {
        Some(item) => item,
        None => {
            implicit = implicit_default();
            &implicit
        }
    };
    let own: Vec<Option<&PolicyItem>> = subjects
        .iter()
        .map(|s| {
            if s.unnamed {
                None
            } else {
                policy.binding_for(s.kind, &s.name, account)
            }
        })
        .collect();
    // Models judged by a binding of their own: each answers for the roles reached only through it.
    let vouchers: HashMap<String, &PolicyItem> = subjects
        .iter()
        .zip(&own)
        .filter(|(s, _)| s.kind == SubjectKind::Model && s.unresolved.is_none())
        .filter_map(|(s, own)| Some((fold(&s.name), (*own)?)))
        .collect();

    let mut violated: Vec<&PolicyItem> = Vec::new();
    let mut reasons = Vec::new();
    let mut verdicts = Vec::with_capacity(subjects.len());
    let mut default_decided = false;
    // The graces of the bindings that judged resolved subjects: the unresolved rule's grace.
    let mut resolved_graces: Vec<u32> = Vec::new();
    let mut any_unresolved = false;
    let mut judged_any = false;
    for (subject, own) in subjects.iter().zip(own.iter().copied()) {
        let label = label(subject);
        let judged = match (own, &subject.unresolved) {
            _ if subject.kind.is_content() && subject.unresolved.is_none() => {
                match judge_content(
                    subject,
                    &label,
                    policy,
                    account,
                    default,
                    &caller,
                    &mut reasons,
                ) {
                    Some(judged) => {
                        default_decided |=
                            judged.binding.is_some_and(|b| b.pk == default.pk) && own.is_none();
                        judged
                    }
                    // No key of its kind: not judged (today's policies keep working).
                    None => continue,
                }
            }
            (Some(item), _) => {
                let caller_allowed = item.allows(&caller);
                reasons.push(format!(
                    "{label}: bound by {}, which {} the caller",
                    item.pk,
                    allows(caller_allowed)
                ));
                let content_allowed = subject.kind != SubjectKind::Model
                    || subject.unresolved.is_some()
                    || meets_pins(subject, item, subjects, &mut reasons);
                Judged {
                    binding: Some(item),
                    vouched_by: Vec::new(),
                    also: Vec::new(),
                    violates: None,
                    allowed: caller_allowed && content_allowed,
                }
            }
            (None, Some(_)) => Judged {
                binding: None,
                vouched_by: Vec::new(),
                also: Vec::new(),
                violates: None,
                allowed: false,
            },
            (None, None) => match vouched_for(subject, &vouchers) {
                Some(by) => {
                    let allowed = by.iter().all(|item| item.allows(&caller));
                    let pks: Vec<String> = by.iter().map(|item| item.pk.clone()).collect();
                    reasons.push(format!(
                        "{label}: no binding of its own, so {} for it: {}",
                        if by.len() == 1 {
                            "the binding of the model it serves answers"
                        } else {
                            "the bindings of the models it serves answer"
                        },
                        by.iter()
                            .map(|item| format!(
                                "{}, which {} the caller",
                                item.pk,
                                allows(item.allows(&caller))
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                    for item in by.iter().filter(|item| !item.allows(&caller)) {
                        push_unique(&mut violated, item);
                    }
                    Judged {
                        binding: None,
                        vouched_by: pks,
                        also: Vec::new(),
                        violates: None,
                        allowed,
                    }
                }
                None => {
                    default_decided = true;
                    let allowed = default.allows(&caller);
                    reasons.push(format!(
                        "{label}: no binding; the default item {} the caller",
                        allows(allowed)
                    ));
                    Judged {
                        binding: Some(default),
                        vouched_by: Vec::new(),
                        also: Vec::new(),
                        violates: None,
                        allowed,
                    }
                }
            },
        };
        judged_any = true;
        for item in judged.violates.iter().flatten() {
            push_unique(&mut violated, item);
        }
        if let Some(item) = judged.binding {
            if !judged.allowed && judged.violates.is_none() {
                push_unique(&mut violated, item);
            }
            if subject.unresolved.is_none() {
                resolved_graces.push(item.grace_seconds.unwrap_or(defaults.grace_seconds));
            }
        }
        let mut allowed = judged.allowed;
        let mut binding = judged.binding.map(|b| b.pk.clone());
        if let Some(why) = &subject.unresolved {
            any_unresolved = true;
            allowed = false;
            binding.get_or_insert_with(|| UNRESOLVED_PK.to_owned());
            reasons.push(format!(
                "{label} could not be resolved ({why}): a violation of {UNRESOLVED_PK} (mode {}), \
                 whatever the default item says, since the guard fails closed",
                defaults.unresolved_mode.as_str()
            ));
        }
        verdicts.push(SubjectVerdict {
            kind: subject.kind,
            name: subject.name.clone(),
            via: subject.via.clone(),
            binding,
            vouched_by: judged.vouched_by,
            also_bound_by: judged.also.iter().map(|b| b.pk.clone()).collect(),
            allowed,
            resolved: subject.unresolved.is_none(),
        });
    }
    // The guard's own binding for what it cannot see: as strict as the stack says (enforce
    // unless lowered), as quick as the quickest binding of what it could see.
    let unresolved_item;
    if any_unresolved {
        unresolved_item = PolicyItem {
            pk: UNRESOLVED_PK.to_owned(),
            key: BindingKey::Unresolved,
            account: None,
            principals: Vec::new(),
            mode: defaults.unresolved_mode,
            grace_seconds: Some(
                resolved_graces
                    .iter()
                    .copied()
                    .min()
                    .unwrap_or(defaults.grace_seconds),
            ),
            approvers: policy
                .default_item(account)
                .and_then(|d| d.approvers.clone()),
            description: None,
            pins: Pins::default(),
            require_approved: false,
            on_create_model: Mode::Notify,
            on_update: crate::policy::OnUpdate::default(),
        };
        push_unique(&mut violated, &unresolved_item);
    }
    if !judged_any {
        default_decided = true;
        let allowed = default.allows(&caller);
        reasons.push(format!(
            "the request names no model or role{}; the default item {} the caller",
            if subjects.is_empty() {
                ""
            } else {
                " (nor content of a kind the policy has keys for)"
            },
            allows(allowed)
        ));
        if !allowed {
            push_unique(&mut violated, default);
        }
    }
    if policy.default_item(account).is_none() && default_decided {
        reasons.push(
            "there is no default item: it counts as {principals: [], mode: notify}, so unbound \
             subjects are reported, not stopped"
                .to_owned(),
        );
    }

    // CreateModel is an early warning: registry workflows create models that others deploy.
    let create_model = request.resource.resource_type == ResourceType::Model;
    // A resource type whose remedy is notify-only by nature is never enforced on.
    let by_hand = match crate::enforcement::remedy(request.resource.resource_type) {
        crate::enforcement::Remedy::NotifyOnly { by_hand } => Some(by_hand),
        _ => None,
    };
    let mode_of = |item: &PolicyItem| {
        let mode = if create_model {
            item.mode.min(item.on_create_model)
        } else {
            item.mode
        };
        if by_hand.is_some() {
            mode.min(Mode::Notify)
        } else {
            mode
        }
    };
    let (decision, action, grace_seconds, approvers) = if violated.is_empty() {
        (Decision::Allow, Action::None, 0, Vec::new())
    } else {
        let strictest = violated
            .iter()
            .map(|v| mode_of(v))
            .max()
            .unwrap_or(Mode::Off);
        if let (Some(by_hand), true) = (by_hand, strictest > Mode::Off) {
            reasons.push(format!(
                "a {} is notify-only by nature: {by_hand}",
                request.resource.resource_type
            ));
        }
        if create_model {
            reasons.push(format!(
                "a CreateModel is an early warning: each violated binding counts as its \
                 onCreateModel (notify unless set), at most its mode; the strictest is {}",
                strictest.as_str()
            ));
        }
        let action = match strictest {
            Mode::Off => Action::None,
            Mode::Notify => Action::Notify,
            Mode::Enforce => Action::Enforce,
        };
        // Nothing waits when nothing will happen.
        let grace = match action {
            Action::None => 0,
            _ => violated
                .iter()
                .filter(|v| mode_of(v) == strictest)
                .map(|v| v.grace_seconds.unwrap_or(defaults.grace_seconds))
                .min()
                .unwrap_or(defaults.grace_seconds),
        };
        let approvers: Vec<ApproverSet> = violated
            .iter()
            .map(|v| ApproverSet {
                binding: v.pk.clone(),
                any_of: v
                    .approvers
                    .as_deref()
                    .unwrap_or(&defaults.approvers)
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
            })
            .collect();
        for set in approvers.iter().filter(|s| s.any_of.is_empty()) {
            reasons.push(format!(
                "{} names no approvers (nor does the stack): no one can approve an override",
                set.binding
            ));
        }
        (Decision::Violation, action, grace, approvers)
    };
    let headline = match decision {
        Decision::Allow => format!("allowed: {} may deploy this", request.principal),
        _ => {
            let pks: Vec<&str> = violated.iter().map(|v| v.pk.as_str()).collect();
            match action {
                Action::None => format!("violation of {}: mode off, audited only", pks.join(", ")),
                Action::Notify => format!("violation of {}: notify only", pks.join(", ")),
                Action::Enforce => format!(
                    "violation of {}: enforced after {grace_seconds} s unless approved",
                    pks.join(", ")
                ),
            }
        }
    };
    reasons.insert(0, headline);
    if who.path_unknown {
        reasons.push(format!(
            "the caller's role path is not known (the event names only its session, and IAM \
             did not say): {} is matched only by patterns without a path, and not as an IAM \
             Identity Center role",
            request.principal
        ));
    }

    Verdict {
        version: Version1,
        event_id: Some(request.event_id.clone()),
        event_name: Some(request.event_name.clone()),
        event_time: request.event_time.clone(),
        account: request.account.clone(),
        region: request.region.clone(),
        decision,
        action,
        grace_seconds,
        principal: Some(request.principal.clone()),
        person: who.person(),
        source_identity: request.source_identity.clone(),
        resource: Some(request.resource.clone()),
        subjects: verdicts,
        approvers,
        reasons,
        started_by: None,
        observed: false,
        restorable: None,
        rollback_to: None,
        scope: request.scope.clone(),
    }
}

/// A capacity change by itself: nothing to judge (Evaluate makes it a violation while one on the
/// resource awaits enforcement, `custody::breaks_enforcement`).
/// `what` says what the call does to `{}`, the resource.
fn capacity_change(request: &Request, who: &crate::principal::Caller, what: &str) -> Verdict {
    let resource = format!(
        "{} {}",
        request.resource.resource_type.as_str(),
        request.resource.name
    );
    let awaiting =
        if crate::covered::covered_call(&request.event_name).is_some_and(|c| c.changes_deployed) {
            " (it is a violation only while one on the resource awaits enforcement)"
        } else {
            ""
        };
    let mut verdict = Verdict::without_subjects(
        request,
        Decision::Ignored,
        format!(
            "ignored: {} {}{awaiting}",
            request.event_name,
            what.replace("{}", &resource)
        ),
    );
    verdict.person = who.person();
    verdict
}

fn label(subject: &ResolvedSubject) -> String {
    match &subject.via {
        // A subject the call names only through its resource ("the notebook-instance's own role").
        _ if subject.unnamed && subject.name.starts_with("the ") => subject.name.clone(),
        _ if subject.unnamed => format!("the {} that {} should name", subject.kind, subject.name),
        Some(via) => format!("{} {} (via {via})", subject.kind, subject.name),
        None => format!("{} {}", subject.kind, subject.name),
    }
}

fn allows(allowed: bool) -> &'static str {
    if allowed { "allows" } else { "does not allow" }
}

/// The bindings that answer for a role without one of its own: those of the models every way to
/// it passes through, when each of those models has a binding of its own. `None` when any way
/// has none: the request names the role itself, a model on the way is unbound (the default item
/// judged it), or a config on the way deploys no model (a config's own role is answered for by
/// all of its models together).
fn vouched_for<'a>(
    subject: &ResolvedSubject,
    vouchers: &HashMap<String, &'a PolicyItem>,
) -> Option<Vec<&'a PolicyItem>> {
    if subject.kind != SubjectKind::Role || subject.through.is_empty() {
        return None;
    }
    let mut by: Vec<&PolicyItem> = Vec::new();
    let mut vouch = |model: &str| -> Option<()> {
        let item = *vouchers.get(&fold(model))?;
        if !by.iter().any(|b| b.pk == item.pk) {
            by.push(item);
        }
        Some(())
    };
    for way in &subject.through {
        match way {
            Through::Model { name } => vouch(name)?,
            Through::EndpointConfig { models, .. } if !models.is_empty() => {
                for model in models {
                    vouch(model)?;
                }
            }
            Through::EndpointConfig { .. }
            | Through::Request
            | Through::InferenceComponent { .. } => return None,
        }
    }
    Some(by)
}

/// The texts an image is matched by: its URI as given and, where its digest is known,
/// `REPOSITORY@DIGEST`.
fn image_texts(subject: &ResolvedSubject) -> Vec<String> {
    let mut texts = vec![subject.name.clone()];
    let image = ImageRef::parse(&subject.name);
    if let Some(digest) = subject.digest.as_deref().or(image.digest) {
        let by_digest = image.by_digest(digest);
        if by_digest != subject.name {
            texts.push(by_digest);
        }
    }
    texts
}

/// Whether an image is known by digest: written so, or resolved by SageMaker.
fn digest_known(subject: &ResolvedSubject) -> bool {
    subject.digest.is_some() || ImageRef::parse(&subject.name).digest.is_some()
}

/// An image, data location or package: its own binding, the bindings of what else it may stand
/// for, else `default` when the policy has keys of its kind; `None` when nothing judges it.
fn judge_content<'a>(
    subject: &ResolvedSubject,
    label: &str,
    policy: &'a PolicySet,
    account: Option<&str>,
    default: &'a PolicyItem,
    caller: &PrincipalForm,
    reasons: &mut Vec<String>,
) -> Option<Judged<'a>> {
    let texts: Vec<String> = match subject.kind {
        SubjectKind::Image => image_texts(subject),
        SubjectKind::Package => vec![subject.group.clone().unwrap_or(subject.name.clone())],
        _ => vec![subject.name.clone()],
    };
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let own = policy.content_binding(subject.kind, &text_refs, account);
    // What else it may be: anything under a prefix; any digest of an unresolved tag's repository.
    let (under, why) = match subject.kind {
        SubjectKind::Data if subject.prefix => (
            Some(subject.name.clone()),
            "it serves anything under it".to_owned(),
        ),
        SubjectKind::Image if !digest_known(subject) => {
            let repository = ImageRef::parse(&subject.name).repository;
            (
                Some(format!("{repository}@")),
                format!(
                    "its tag was not resolved to a digest, so it may be any image of {repository}"
                ),
            )
        }
        _ => (None, String::new()),
    };
    let also: Vec<&PolicyItem> = under
        .map(|prefix| {
            policy
                .content_bindings_under(subject.kind, &prefix, account)
                .into_iter()
                .filter(|b| own.is_none_or(|o| o.pk != b.pk))
                .collect()
        })
        .unwrap_or_default();
    let binding = match own {
        Some(item) => item,
        None if !also.is_empty() => {
            // Judged by what it may stand for alone.
            let violates: Vec<&PolicyItem> =
                also.iter().copied().filter(|b| !b.allows(caller)).collect();
            reasons.push(format!(
                "{label}: no binding of its own, but {why}: {}",
                listed(&also, caller)
            ));
            return Some(Judged {
                binding: None,
                vouched_by: Vec::new(),
                also,
                allowed: violates.is_empty(),
                violates: Some(violates),
            });
        }
        None if policy.has_keys(subject.kind) => default,
        None => return None,
    };
    let caller_allowed = binding.allows(caller);
    let mut violates: Vec<&PolicyItem> = std::iter::once(binding)
        .chain(also.iter().copied())
        .filter(|b| !b.allows(caller))
        .collect();
    let mut line = if own.is_some() {
        format!(
            "{label}: bound by {}, which {} the caller",
            binding.pk,
            allows(caller_allowed)
        )
    } else {
        format!(
            "{label}: no binding; the policy has {} keys, so the default item judges it, and {} \
             the caller",
            subject.kind,
            allows(caller_allowed)
        )
    };
    if !also.is_empty() {
        line.push_str(&format!(
            "; {why}, so these judge it too: {}",
            listed(&also, caller)
        ));
    }
    reasons.push(line);
    if subject.kind == SubjectKind::Package {
        let approved = subject.approval.as_deref() == Some("Approved");
        for item in std::iter::once(binding).chain(also.iter().copied()) {
            if matches!(item.key, BindingKey::Package(_)) && item.require_approved && !approved {
                if !violates.iter().any(|v| v.pk == item.pk) {
                    violates.push(item);
                }
                reasons.push(format!(
                    "{label}: its ModelApprovalStatus is {}, and {} requires Approved: a \
                     violation whoever deploys it",
                    subject.approval.as_deref().unwrap_or("unknown"),
                    item.pk
                ));
            }
        }
    }
    Some(Judged {
        binding: Some(binding),
        vouched_by: Vec::new(),
        also,
        allowed: violates.is_empty(),
        violates: Some(violates),
    })
}

fn listed(items: &[&PolicyItem], caller: &PrincipalForm) -> String {
    items
        .iter()
        .map(|item| {
            format!(
                "{}, which {} the caller",
                item.pk,
                allows(item.allows(caller))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether a model's content meets its binding's pins (`images`, `data`), each failure a reason.
/// Content that could not be resolved cannot be shown to meet them.
fn meets_pins(
    model: &ResolvedSubject,
    binding: &PolicyItem,
    subjects: &[ResolvedSubject],
    reasons: &mut Vec<String>,
) -> bool {
    if binding.pins.is_empty() {
        return true;
    }
    let content = subjects.iter().filter(|s| {
        s.kind.is_content()
            && s.through.iter().any(
                |t| matches!(t, Through::Model { name } if name.eq_ignore_ascii_case(&model.name)),
            )
    });
    let mut met = true;
    for subject in content {
        let (pins, field) = match subject.kind {
            SubjectKind::Image => (&binding.pins.images, "images"),
            SubjectKind::Data => (&binding.pins.data, "data"),
            _ => continue,
        };
        let Some(pins) = pins else { continue };
        let meets = subject.unresolved.is_none()
            && match subject.kind {
                SubjectKind::Image => pins.iter().any(|p| image_meets(subject, p)),
                _ if subject.prefix => pins.iter().any(|p| p.matches_all_under(&subject.name)),
                _ => pins.iter().any(|p| p.matches(&subject.name)),
            };
        if !meets {
            met = false;
            let how = match (subject.kind, subject.unresolved.as_deref()) {
                (_, Some(why)) => format!("could not be resolved ({why})"),
                (SubjectKind::Image, _) if !digest_known(subject) => {
                    "is not among them (by a tag not resolved to a digest, it meets no digest pin)"
                        .to_owned()
                }
                (SubjectKind::Data, _) if subject.prefix => {
                    "is a prefix not wholly among them (it serves anything under it)".to_owned()
                }
                _ => "is not among them".to_owned(),
            };
            reasons.push(format!(
                "model {}: {} pins its {field} to {}; its {} {} {how}: a violation of {} whoever \
                 deploys it",
                model.name,
                binding.pk,
                pins.iter()
                    .map(Pattern::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                subject.kind,
                subject.name,
                binding.pk
            ));
        }
    }
    met
}

/// An image meets a pin: a digest pin only by a known digest; any other pin by its URI or its
/// known digest form.
fn image_meets(subject: &ResolvedSubject, pin: &Pattern) -> bool {
    let texts = image_texts(subject);
    if is_digest_pattern(pin.as_str()) {
        digest_known(subject) && texts.iter().any(|t| t.contains('@') && pin.matches(t))
    } else {
        texts.iter().any(|t| pin.matches(t))
    }
}

fn push_unique<'a>(violated: &mut Vec<&'a PolicyItem>, item: &'a PolicyItem) {
    if !violated.iter().any(|v| v.pk == item.pk) {
        violated.push(item);
    }
}

#[cfg(test)]
mod tests {
    //! docs/design.md's worked examples, one test each, plus the rules around them.
    use super::*;
    use crate::contract::{ResourceRef, ResourceType};
    use serde_json::{Value, json};

    const C: &str = "arn:aws:iam::111122223333:role/Caller";
    const X: &str = "arn:aws:iam::111122223333:role/Other";
    const R: &str = "arn:aws:iam::111122223333:role/ExecR";

    fn request() -> Request {
        Request {
            version: Version1,
            event_id: "e-1".into(),
            event_name: "CreateEndpoint".into(),
            event_time: None,
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            principal: C.into(),
            principal_path_unknown: false,
            session: None,
            source_identity: None,
            resource: ResourceRef {
                resource_type: ResourceType::Endpoint,
                name: "ep".into(),
                arn: None,
            },
            targets: Vec::new(),
            pipeline_execution: None,
            scope: None,
        }
    }

    fn subject(kind: SubjectKind, name: &str, through: Through) -> ResolvedSubject {
        ResolvedSubject::new(kind, name.into(), through)
    }
    fn model(name: &str) -> ResolvedSubject {
        subject(SubjectKind::Model, name, Through::Request)
    }
    /// A role the request names itself (a job's roleArn).
    fn role(name: &str) -> ResolvedSubject {
        subject(SubjectKind::Role, name, Through::Request)
    }
    /// A model's execution role.
    fn role_of(name: &str, model: &str) -> ResolvedSubject {
        subject(
            SubjectKind::Role,
            name,
            Through::Model { name: model.into() },
        )
    }
    /// An endpoint config's own execution role.
    fn role_of_config(name: &str, models: &[&str]) -> ResolvedSubject {
        subject(
            SubjectKind::Role,
            name,
            Through::EndpointConfig {
                name: "cfg".into(),
                models: models.iter().map(|m| (*m).to_owned()).collect(),
            },
        )
    }
    fn unresolved(mut s: ResolvedSubject) -> ResolvedSubject {
        s.unresolved = Some("not found".into());
        s
    }

    fn policy(items: Value) -> PolicySet {
        PolicySet::from_json(&items).unwrap_or_else(|e| panic!("{e}"))
    }

    fn verdict_with(items: Value, subjects: &[ResolvedSubject], defaults: &Defaults) -> Verdict {
        let v = decide(&request(), subjects, &policy(items), defaults);
        if let Err(e) = v.check_well_formed() {
            panic!("ill-formed verdict ({e}): {v:#?}");
        }
        v
    }

    fn verdict(items: Value, subjects: &[ResolvedSubject]) -> Verdict {
        verdict_with(items, subjects, &Defaults::default())
    }

    fn outcome(v: &Verdict) -> (Decision, Action, u32) {
        (v.decision, v.action, v.grace_seconds)
    }

    fn violated(v: &Verdict) -> Vec<&str> {
        v.approvers.iter().map(|a| a.binding.as_str()).collect()
    }

    #[test]
    fn example_1_a_bound_model_vouches_for_its_unbound_role() {
        let v = verdict(
            json!([{"pk": "model#M", "principals": [C]}]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(outcome(&v), (Decision::Allow, Action::None, 0));
        assert_eq!(v.subjects[1].binding, None);
        assert_eq!(v.subjects[1].vouched_by, ["model#M"]);
        assert!(v.subjects[1].allowed);
    }

    /// The same call in two accounts: each is judged by the bindings of its own account (the
    /// request's, which is 111122223333 here) and by unscoped ones, never by another account's.
    #[test]
    fn a_call_is_judged_by_its_accounts_bindings() {
        let items = json!([
            {"pk": "model#M", "principals": [X], "mode": "enforce"},
            {"pk": "model#M@111122223333", "principals": [C], "mode": "enforce"},
            {"pk": "model#N@444455556666", "principals": [C], "mode": "enforce"},
            {"pk": "default@111122223333", "principals": [X], "mode": "enforce"},
            {"pk": "default", "principals": [C], "mode": "notify"},
        ]);
        let decided = |account: &str, model_name: &str| {
            let mut request = request();
            request.account = Some(account.to_owned());
            let v = decide(
                &request,
                &[model(model_name)],
                &policy(items.clone()),
                &Defaults::default(),
            );
            (outcome(&v).0, v.subjects[0].binding.clone())
        };
        assert_eq!(
            decided("111122223333", "M"),
            (Decision::Allow, Some("model#M@111122223333".to_owned()))
        );
        assert_eq!(
            decided("444455556666", "M"),
            (Decision::Violation, Some("model#M".to_owned()))
        );
        // N's binding is another account's: in this one, N is judged by this account's default.
        assert_eq!(
            decided("111122223333", "N"),
            (Decision::Violation, Some("default@111122223333".to_owned()))
        );
        assert_eq!(
            decided("444455556666", "N"),
            (Decision::Allow, Some("model#N@444455556666".to_owned()))
        );
        assert_eq!(
            decided("777788889999", "N"),
            (Decision::Allow, Some("default".to_owned()))
        );
    }

    #[test]
    fn example_2_two_enforce_violations_take_the_shortest_grace() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [X], "mode": "enforce", "graceSeconds": 600},
                {"pk": format!("role#{R}"), "principals": [X], "mode": "enforce", "graceSeconds": 0},
            ]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 0));
        assert_eq!(violated(&v), ["model#M", &format!("role#{R}")]);
    }

    #[test]
    fn example_3_grace_comes_only_from_bindings_of_the_strictest_mode() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [X], "mode": "enforce", "graceSeconds": 600},
                {"pk": "model#N*", "principals": [X], "mode": "notify", "graceSeconds": 0},
            ]),
            &[model("M"), model("N1")],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 600));
        assert_eq!(v.subjects[1].binding.as_deref(), Some("model#N*"));
    }

    #[test]
    fn example_4_mode_off_is_a_violation_with_action_none() {
        let v = verdict(
            json!([{"pk": "model#M", "principals": [X], "mode": "off"}]),
            &[model("M")],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::None, 0));
    }

    #[test]
    fn example_5_nothing_bound_the_default_item_judges_every_subject() {
        let v = verdict(
            json!([{"pk": "default", "principals": [C]}]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(outcome(&v), (Decision::Allow, Action::None, 0));
        assert!(
            v.subjects
                .iter()
                .all(|s| s.binding.as_deref() == Some("default"))
        );
    }

    #[test]
    fn example_6_an_unresolvable_subject_is_enforced_whatever_the_default_says() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C], "graceSeconds": 120},
                {"pk": "default", "principals": ["*"], "mode": "notify"},
            ]),
            &[model("M"), unresolved(model("N"))],
        );
        // The grace is the shortest of the resolved subjects' bindings (model#M's 120 s).
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 120));
        assert_eq!(violated(&v), [UNRESOLVED_PK]);
        assert_eq!(v.subjects[1].binding.as_deref(), Some(UNRESOLVED_PK));
        assert!(!v.subjects[1].resolved && !v.subjects[1].allowed);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("model N could not be resolved (not found)")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn example_7_notify_binding_without_grace_takes_the_stack_default() {
        let v = verdict(
            json!([{"pk": "model#M", "principals": [X], "mode": "notify"}]),
            &[model("M")],
        );
        assert_eq!(
            outcome(&v),
            (Decision::Violation, Action::Notify, Defaults::GRACE_SECONDS)
        );
    }

    #[test]
    fn example_8_an_allowed_model_does_not_exempt_an_unbound_one() {
        // Hole: one allowed subject used to make every unbound one "not matter".
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": "default", "principals": [X], "mode": "enforce", "graceSeconds": 30},
            ]),
            &[model("M"), model("U")],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 30));
        assert_eq!(violated(&v), ["default"]);
        assert_eq!(v.subjects[1].binding.as_deref(), Some("default"));
    }

    #[test]
    fn example_9_a_mode_off_model_beside_an_unbound_one_is_not_audit_only() {
        let v = verdict(
            json!([
                {"pk": "model#E*", "principals": [], "mode": "off"},
                {"pk": "default", "principals": [X], "mode": "notify"},
            ]),
            &[model("E1"), model("U")],
        );
        assert_eq!(v.action, Action::Notify);
        assert_eq!(violated(&v), ["model#E*", "default"]);
    }

    #[test]
    fn a_role_behind_a_model_that_is_not_allowed_is_the_same_violation_not_the_defaults() {
        // The model's binding answers for its role either way: an override needs its approvers,
        // not the default item's too.
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [X], "mode": "notify"},
                {"pk": "default", "principals": [X], "mode": "enforce", "graceSeconds": 5},
            ]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(
            outcome(&v),
            (Decision::Violation, Action::Notify, Defaults::GRACE_SECONDS)
        );
        assert_eq!(violated(&v), ["model#M"]);
        assert_eq!(v.subjects[1].binding, None);
        assert_eq!(v.subjects[1].vouched_by, ["model#M"]);
        assert!(!v.subjects[1].allowed);
    }

    #[test]
    fn a_role_behind_a_model_allowed_only_by_the_default_is_judged_by_the_default() {
        let v = verdict(
            json!([{"pk": "default", "principals": [C]}]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(v.decision, Decision::Allow);
        assert_eq!(v.subjects[1].binding.as_deref(), Some("default"));
    }

    #[test]
    fn a_role_with_a_binding_of_its_own_is_judged_by_it_even_behind_an_allowed_model() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": format!("role#{R}"), "principals": [X]},
            ]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(v.decision, Decision::Violation);
        assert_eq!(violated(&v), [format!("role#{R}")]);
    }

    #[test]
    fn a_role_the_request_names_itself_is_never_vouched_for() {
        // A job's roleArn: its own binding, or the default.
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": "default", "principals": [X], "mode": "enforce"},
            ]),
            &[model("M"), role(R)],
        );
        assert_eq!(violated(&v), ["default"]);
        assert_eq!(v.subjects[1].binding.as_deref(), Some("default"));
    }

    #[test]
    fn a_role_with_no_known_way_to_it_is_never_vouched_for() {
        // Fail closed: a role subject that says nothing of how it was reached is judged as the
        // request naming it.
        let mut nowhere = role_of(R, "M");
        nowhere.through.clear();
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": "default", "principals": [X], "mode": "enforce"},
            ]),
            &[model("M"), nowhere],
        );
        assert_eq!(violated(&v), ["default"]);
        assert!(v.subjects[1].vouched_by.is_empty(), "{:?}", v.subjects[1]);
    }

    #[test]
    fn a_role_reached_two_ways_is_vouched_for_only_if_both_are() {
        let items = json!([
            {"pk": "model#M", "principals": [C]},
            {"pk": "model#N", "principals": [C]},
            {"pk": "default", "principals": [X], "mode": "enforce"},
        ]);
        let mut both = role_of(R, "M");
        both.through.push(Through::Model { name: "n".into() });
        let v = verdict(items.clone(), &[model("M"), model("N"), both.clone()]);
        assert_eq!(v.decision, Decision::Allow);
        assert_eq!(v.subjects[2].vouched_by, ["model#M", "model#N"]);

        // One way is the request itself: judged by the default.
        both.through.push(Through::Request);
        let v = verdict(items, &[model("M"), model("N"), both]);
        assert_eq!(violated(&v), ["default"]);
    }

    #[test]
    fn a_configs_own_role_is_vouched_for_by_all_of_its_models_together() {
        let items = json!([
            {"pk": "model#M", "principals": [C]},
            {"pk": "default", "principals": [X], "mode": "enforce"},
        ]);
        let v = verdict(items.clone(), &[model("M"), role_of_config(R, &["M"])]);
        assert_eq!(v.decision, Decision::Allow);
        // One of its models is unbound (and judged by the default): the role is not vouched for.
        let v = verdict(
            items.clone(),
            &[model("M"), model("U"), role_of_config(R, &["M", "U"])],
        );
        assert_eq!(v.subjects[2].binding.as_deref(), Some("default"));
        // A config without models (inference components) vouches for nothing.
        let v = verdict(items, &[role_of_config(R, &[])]);
        assert_eq!(v.subjects[0].binding.as_deref(), Some("default"));
        assert_eq!(v.decision, Decision::Violation);
    }

    #[test]
    fn an_unresolved_model_vouches_for_nothing() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": "default", "principals": [X], "mode": "notify"},
            ]),
            &[unresolved(model("M")), role_of(R, "M")],
        );
        assert_eq!(v.subjects[1].binding.as_deref(), Some("default"));
    }

    #[test]
    fn caller_must_match_every_bound_subject() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": format!("role#{R}"), "principals": [X]},
            ]),
            &[model("M"), role_of(R, "M")],
        );
        assert_eq!(v.decision, Decision::Violation);
        assert_eq!(v.approvers.len(), 1);
        assert_eq!(v.approvers[0].binding, format!("role#{R}"));
    }

    #[test]
    fn missing_default_means_notify_nobody_allowed() {
        let v = verdict(json!([]), &[model("M")]);
        assert_eq!(
            outcome(&v),
            (Decision::Violation, Action::Notify, Defaults::GRACE_SECONDS)
        );
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("there is no default item"))
        );
        let v = verdict(json!([]), &[]);
        assert_eq!(
            outcome(&v),
            (Decision::Violation, Action::Notify, Defaults::GRACE_SECONDS)
        );
    }

    #[test]
    fn no_subjects_default_decides() {
        let v = verdict(json!([{"pk": "default", "principals": ["*"]}]), &[]);
        assert_eq!(v.decision, Decision::Allow);
        let v = verdict(
            json!([{"pk": "default", "principals": [X], "mode": "enforce", "graceSeconds": 7}]),
            &[],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 7));
    }

    #[test]
    fn unresolved_model_keeps_its_own_binding_too() {
        // The model's name is known though its role is not: its own enforce binding still counts.
        let v = verdict(
            json!([
                {"pk": "model#N", "principals": [X], "mode": "enforce", "graceSeconds": 60},
                {"pk": "default", "principals": ["*"], "mode": "notify"},
            ]),
            &[unresolved(model("N"))],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 60));
        assert_eq!(violated(&v), ["model#N", UNRESOLVED_PK]);
        assert_eq!(v.subjects[0].binding.as_deref(), Some("model#N"));
    }

    #[test]
    fn the_unresolved_rule_takes_the_stack_grace_when_nothing_resolved() {
        let defaults = Defaults::new(42, &[]).unwrap_or_else(|e| panic!("{e}"));
        let v = verdict_with(
            json!([{"pk": "default", "principals": ["*"], "mode": "off", "graceSeconds": 1}]),
            &[unresolved(subject(
                SubjectKind::EndpointConfig,
                "gone",
                Through::Request,
            ))],
            &defaults,
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 42));
    }

    #[test]
    fn the_stack_may_lower_the_unresolved_action() {
        for (mode, action) in [(Mode::Notify, Action::Notify), (Mode::Off, Action::None)] {
            let defaults = Defaults::default().with_unresolved_mode(mode);
            let v = verdict_with(
                json!([{"pk": "default", "principals": ["*"]}]),
                &[unresolved(model("N"))],
                &defaults,
            );
            assert_eq!((v.decision, v.action), (Decision::Violation, action));
        }
    }

    #[test]
    fn the_unresolved_rule_takes_the_default_items_approvers_else_the_stacks() {
        let lead = "arn:aws:iam::111122223333:role/Lead";
        let v = verdict(
            json!([{"pk": "default", "principals": ["*"], "approvers": [lead]}]),
            &[unresolved(model("N"))],
        );
        assert_eq!(v.approvers[0].any_of, [lead]);
        let defaults = Defaults::new(900, &[lead.to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        let v = verdict_with(json!([]), &[unresolved(model("N"))], &defaults);
        assert_eq!(v.approvers[0].any_of, [lead]);
    }

    #[test]
    fn unnamed_subject_never_matches_a_glob_binding() {
        let mut s = unresolved(role("requestParameters.roleArn"));
        s.unnamed = true;
        let v = verdict(
            json!([
                {"pk": "role#*", "principals": ["*"]},
                {"pk": "default", "principals": ["*"], "mode": "notify", "graceSeconds": 5},
            ]),
            &[s],
        );
        assert_eq!(
            outcome(&v),
            (
                Decision::Violation,
                Action::Enforce,
                Defaults::GRACE_SECONDS
            )
        );
        assert_eq!(v.subjects[0].binding.as_deref(), Some(UNRESOLVED_PK));
    }

    #[test]
    fn approvers_come_from_each_violated_binding_or_the_stack() {
        let policy = policy(json!([
            {"pk": "model#M", "principals": [X], "approvers": ["arn:aws:iam::*:role/Lead"]},
            {"pk": "model#N", "principals": [X]},
        ]));
        let defaults = match Defaults::new(30, &["arn:aws:iam::1:role/sec/Security".into()]) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let v = decide(&request(), &[model("M"), model("N")], &policy, &defaults);
        assert_eq!(v.grace_seconds, 30);
        assert_eq!(
            v.approvers,
            vec![
                ApproverSet {
                    binding: "model#M".into(),
                    any_of: vec!["arn:aws:iam::*:role/Lead".into()]
                },
                ApproverSet {
                    binding: "model#N".into(),
                    any_of: vec!["arn:aws:iam::1:role/sec/Security".into()]
                },
            ]
        );
    }

    #[test]
    fn a_binding_without_approvers_says_no_one_can_approve() {
        let v = verdict(
            json!([{"pk": "model#M", "principals": [X], "approvers": []}]),
            &[model("M")],
        );
        assert!(v.reasons.iter().any(|r| r.contains("no one can approve")));
    }

    #[test]
    fn matching_ignores_case() {
        let v = verdict(
            json!([{"pk": "model#FRAUD-*", "principals": ["arn:aws:iam::111122223333:role/CALLER"]}]),
            &[model("fraud-v3")],
        );
        assert_eq!(v.decision, Decision::Allow);
    }

    // Content: images, data, packages (issue 18).

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn content(kind: SubjectKind, name: &str, model: &str) -> ResolvedSubject {
        subject(kind, name, Through::Model { name: model.into() })
    }

    fn create_model() -> Request {
        let mut r = request();
        r.event_name = "CreateModel".into();
        r.resource.resource_type = ResourceType::Model;
        r.resource.name = "m".into();
        r
    }

    #[test]
    fn content_of_a_kind_without_keys_is_not_judged() {
        let subjects = [
            model("m"),
            content(SubjectKind::Image, "r/a:1", "m"),
            content(SubjectKind::Data, "s3://b/fraud/model.tar.gz", "m"),
        ];
        let v = verdict(
            json!([{"pk": "model#m", "principals": [C]},
                   {"pk": "default", "principals": [], "mode": "enforce"}]),
            &subjects,
        );
        assert_eq!(v.decision, Decision::Allow, "{v:#?}");
        assert_eq!(v.subjects.len(), 1);
        // With a key of the kind, `default` judges the unbound ones.
        let v = verdict(
            json!([{"pk": "model#m", "principals": [C]},
                   {"pk": "data#s3://other/*", "principals": [C]},
                   {"pk": "default", "principals": [X], "mode": "enforce"}]),
            &subjects,
        );
        assert_eq!(v.decision, Decision::Violation, "{v:#?}");
        assert_eq!(v.approvers[0].binding, "default");
        assert_eq!(v.subjects.len(), 2, "the image stays unjudged: {v:#?}");
        // A request of content alone, none judged: `default` decides, as it did.
        let v = verdict(
            json!([{"pk": "default", "principals": [X], "mode": "notify"}]),
            &[subject(SubjectKind::Image, "r/a:1", Through::Request)],
        );
        assert_eq!(
            (v.decision, v.action),
            (Decision::Violation, Action::Notify)
        );
    }

    #[test]
    fn a_tag_not_resolved_may_be_any_digest_of_its_repository() {
        let tag = content(SubjectKind::Image, "r/fraud:latest", "m");
        let items = json!([
            {"pk": "model#m", "principals": [C]},
            {"pk": format!("image#r/fraud@{DIGEST}"), "principals": [X]},
            {"pk": "image#r/*", "principals": [C]},
        ]);
        let v = verdict(items.clone(), &[model("m"), tag.clone()]);
        assert_eq!(v.decision, Decision::Violation, "{v:#?}");
        assert_eq!(v.subjects[1].binding.as_deref(), Some("image#r/*"));
        assert_eq!(
            v.subjects[1].also_bound_by,
            [format!("image#r/fraud@{DIGEST}")]
        );
        // Resolved to another digest: it is not the bound one.
        let mut resolved = tag.clone();
        resolved.digest = Some("sha256:".to_owned() + &"f".repeat(64));
        let v = verdict(items.clone(), &[model("m"), resolved]);
        assert_eq!(v.decision, Decision::Allow, "{v:#?}");
        // Resolved to the bound digest: the digest key is its own binding.
        let mut bound = tag;
        bound.digest = Some(DIGEST.into());
        let v = verdict(items, &[model("m"), bound]);
        assert_eq!(
            v.subjects[1].binding,
            Some(format!("image#r/fraud@{DIGEST}"))
        );
        assert_eq!(v.decision, Decision::Violation);
    }

    #[test]
    fn a_digest_pin_is_met_only_by_a_known_digest() {
        let items = json!([{"pk": "model#m", "principals": [C],
                            "images": [format!("r/fraud@{DIGEST}")]}]);
        let judge = |image: ResolvedSubject| verdict(items.clone(), &[model("m"), image]).decision;
        let tag = content(SubjectKind::Image, "r/fraud:v3", "m");
        assert_eq!(judge(tag.clone()), Decision::Violation);
        let mut resolved = tag;
        resolved.digest = Some(DIGEST.into());
        assert_eq!(judge(resolved), Decision::Allow);
        let written = content(SubjectKind::Image, &format!("r/fraud:v3@{DIGEST}"), "m");
        assert_eq!(judge(written), Decision::Allow);
        let other_repo = content(SubjectKind::Image, &format!("r/other@{DIGEST}"), "m");
        assert_eq!(judge(other_repo), Decision::Violation);
        // Content that could not be resolved cannot meet a pin.
        let mut unknown = content(SubjectKind::Image, &format!("r/fraud@{DIGEST}"), "m");
        unknown.unresolved = Some("denied".into());
        assert_eq!(judge(unknown), Decision::Violation);
        // Another model's content is not this model's.
        let elsewhere = content(SubjectKind::Image, "r/x:1", "n");
        assert_eq!(judge(elsewhere), Decision::Allow);
    }

    #[test]
    fn a_data_pin_is_met_by_a_prefix_only_when_everything_under_it_is() {
        let items = json!([{"pk": "model#m", "principals": [C], "data": ["s3://b/m/*"]}]);
        let judge = |uri: &str, prefix: bool| {
            let mut data = content(SubjectKind::Data, uri, "m");
            data.prefix = prefix;
            verdict(items.clone(), &[model("m"), data]).decision
        };
        assert_eq!(judge("s3://b/m/v1/model.tar.gz", false), Decision::Allow);
        assert_eq!(judge("s3://b/m/v1/", true), Decision::Allow);
        assert_eq!(judge("s3://b/", true), Decision::Violation);
        assert_eq!(
            judge("s3://b/other/model.tar.gz", false),
            Decision::Violation
        );
    }

    #[test]
    fn an_unapproved_package_violates_its_binding_unless_it_does_not_require_approval() {
        let mut package = content(SubjectKind::Package, "arn:p/fraud/7", "m");
        package.group = Some("fraud".into());
        package.approval = Some("PendingManualApproval".into());
        let judge = |items: Value| verdict(items, &[model("m"), package.clone()]);
        let v = judge(json!([{"pk": "model#m", "principals": [C]},
                             {"pk": "package#fraud", "principals": [C]}]));
        assert_eq!(v.decision, Decision::Violation, "{v:#?}");
        assert_eq!(v.approvers[0].binding, "package#fraud");
        let v = judge(json!([{"pk": "model#m", "principals": [C]},
                             {"pk": "package#fraud", "principals": [C], "requireApproved": false}]));
        assert_eq!(v.decision, Decision::Allow, "{v:#?}");
    }

    #[test]
    fn create_model_is_an_early_warning_unless_a_binding_opts_in() {
        let decide_create = |items: Value| {
            let v = decide(
                &create_model(),
                &[model("m")],
                &policy(items),
                &Defaults::default(),
            );
            if let Err(e) = v.check_well_formed() {
                panic!("{e}: {v:#?}");
            }
            v
        };
        let v = decide_create(json!([{"pk": "model#m", "principals": [X], "mode": "enforce"}]));
        assert_eq!(v.action, Action::Notify, "{v:#?}");
        let v = decide_create(
            json!([{"pk": "model#m", "principals": [X], "mode": "enforce",
                                      "onCreateModel": "enforce"}]),
        );
        assert_eq!(v.action, Action::Enforce, "{v:#?}");
        // At most the binding's own mode.
        let v = decide_create(
            json!([{"pk": "model#m", "principals": [X], "mode": "notify",
                                      "onCreateModel": "enforce"}]),
        );
        assert_eq!(v.action, Action::Notify, "{v:#?}");
        let v =
            decide_create(json!([{"pk": "model#m", "principals": [X], "onCreateModel": "off"}]));
        assert_eq!(v.action, Action::None, "{v:#?}");
        // The same binding on a deployment enforces.
        let v = verdict(json!([{"pk": "model#m", "principals": [X]}]), &[model("m")]);
        assert_eq!(v.action, Action::Enforce);
    }
}
