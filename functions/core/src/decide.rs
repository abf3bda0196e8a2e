//! The decision (DESIGN.md rules 2–5): a pure function from a request, its resolved subjects, the
//! policy and the stack's defaults to a verdict.

use crate::contract::{
    Action, ApproverSet, Decision, Request, ResolvedSubject, SubjectVerdict, Verdict, Version1,
};
use crate::glob::{Pattern, fold};
use crate::policy::{MAX_GRACE_SECONDS, Mode, PolicyItem, PolicySet};
use crate::principal::principal_pattern;

/// The stack's settings that apply where a binding sets none.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub grace_seconds: u32,
    pub approvers: Vec<Pattern>,
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
                principal_pattern(a)
                    .map(Pattern::new)
                    .map_err(|e| format!("default approver {a:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Defaults {
            grace_seconds,
            approvers,
        })
    }
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            grace_seconds: Defaults::GRACE_SECONDS,
            approvers: Vec::new(),
        }
    }
}

/// What a missing `default` item means: unbound requests are reported, not stopped.
fn implicit_default() -> PolicyItem {
    PolicyItem {
        pk: "default".to_owned(),
        key: crate::policy::BindingKey::Default,
        principals: Vec::new(),
        mode: Mode::Notify,
        grace_seconds: None,
        approvers: None,
        description: None,
    }
}

pub fn decide(
    request: &Request,
    subjects: &[ResolvedSubject],
    policy: &PolicySet,
    defaults: &Defaults,
) -> Verdict {
    let caller = fold(&request.principal);
    let implicit;
    let default = match policy.default_item() {
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
                policy.binding_for(s.kind, &fold(&s.name))
            }
        })
        .collect();
    let any_bound = own.iter().any(Option::is_some);

    let mut violated: Vec<&PolicyItem> = Vec::new();
    let mut reasons = Vec::new();
    let mut verdicts = Vec::with_capacity(subjects.len());
    let mut default_decided = false;
    for (subject, own) in subjects.iter().zip(own.iter().copied()) {
        let label = match &subject.via {
            _ if subject.unnamed => {
                format!("the {} that {} should name", subject.kind, subject.name)
            }
            Some(via) => format!("{} {} (via {via})", subject.kind, subject.name),
            None => format!("{} {}", subject.kind, subject.name),
        };
        let (mut binding, mut allowed) = match own {
            Some(item) => {
                let allowed = item.allows(&caller);
                reasons.push(format!(
                    "{label}: bound by {}, which {} the caller",
                    item.pk,
                    if allowed { "allows" } else { "does not allow" }
                ));
                if !allowed {
                    push_unique(&mut violated, item);
                }
                (Some(item), allowed)
            }
            None if any_bound => {
                if subject.unresolved.is_none() {
                    reasons.push(format!(
                        "{label}: no binding; other subjects are bound, so it does not matter"
                    ));
                }
                (None, true)
            }
            None => {
                default_decided = true;
                let allowed = default.allows(&caller);
                if subject.unresolved.is_none() {
                    reasons.push(format!(
                        "{label}: no binding; the default item {} the caller",
                        if allowed { "allows" } else { "does not allow" }
                    ));
                }
                if !allowed {
                    push_unique(&mut violated, default);
                }
                (Some(default), allowed)
            }
        };
        if let Some(why) = &subject.unresolved {
            reasons.push(format!(
                "{label} could not be resolved ({why}): the default item is violated, since the \
                 guard fails closed"
            ));
            push_unique(&mut violated, default);
            allowed = false;
            binding = binding.or(Some(default));
        }
        verdicts.push(SubjectVerdict {
            kind: subject.kind,
            name: subject.name.clone(),
            via: subject.via.clone(),
            binding: binding.map(|b| b.pk.clone()),
            allowed,
            resolved: subject.unresolved.is_none(),
        });
    }
    if subjects.is_empty() {
        default_decided = true;
        let allowed = default.allows(&caller);
        reasons.push(format!(
            "the request names no model or role; the default item {} the caller",
            if allowed { "allows" } else { "does not allow" }
        ));
        if !allowed {
            push_unique(&mut violated, default);
        }
    }
    if policy.default_item().is_none()
        && (default_decided || violated.iter().any(|v| v.pk == "default"))
    {
        reasons.push(
            "there is no default item: it counts as {principals: [], mode: notify}, so unbound \
             requests are reported, not stopped"
                .to_owned(),
        );
    }

    let (decision, action, grace_seconds, approvers) = if violated.is_empty() {
        (Decision::Allow, Action::None, 0, Vec::new())
    } else {
        let strictest = violated.iter().map(|v| v.mode).max().unwrap_or(Mode::Off);
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
                .filter(|v| v.mode == strictest)
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
        resource: Some(request.resource.clone()),
        subjects: verdicts,
        approvers,
        reasons,
    }
}

fn push_unique<'a>(violated: &mut Vec<&'a PolicyItem>, item: &'a PolicyItem) {
    if !violated.iter().any(|v| v.pk == item.pk) {
        violated.push(item);
    }
}

#[cfg(test)]
mod tests {
    //! DESIGN.md's worked examples, one test each, plus the rules around them.
    use super::*;
    use crate::contract::{ResourceRef, ResourceType, SubjectKind};
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
            resource: ResourceRef {
                resource_type: ResourceType::Endpoint,
                name: "ep".into(),
                arn: None,
            },
            targets: Vec::new(),
        }
    }

    fn subject(kind: SubjectKind, name: &str) -> ResolvedSubject {
        ResolvedSubject {
            kind,
            name: name.into(),
            via: None,
            unresolved: None,
            unnamed: false,
        }
    }
    fn model(name: &str) -> ResolvedSubject {
        subject(SubjectKind::Model, name)
    }
    fn role(name: &str) -> ResolvedSubject {
        subject(SubjectKind::Role, name)
    }
    fn unresolved(mut s: ResolvedSubject) -> ResolvedSubject {
        s.unresolved = Some("not found".into());
        s
    }

    fn verdict(policy: Value, subjects: &[ResolvedSubject]) -> Verdict {
        let policy = match PolicySet::from_json(&policy) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let v = decide(&request(), subjects, &policy, &Defaults::default());
        if let Err(e) = v.check_well_formed() {
            panic!("ill-formed verdict ({e}): {v:#?}");
        }
        v
    }

    fn outcome(v: &Verdict) -> (Decision, Action, u32) {
        (v.decision, v.action, v.grace_seconds)
    }

    #[test]
    fn example_1_bound_model_allows_caller_unbound_role_does_not_matter() {
        let v = verdict(
            json!([{"pk": "model#M", "principals": [C]}]),
            &[model("M"), role(R)],
        );
        assert_eq!(outcome(&v), (Decision::Allow, Action::None, 0));
        assert_eq!(v.subjects[1].binding, None);
        assert!(v.subjects[1].allowed);
    }

    #[test]
    fn example_2_two_enforce_violations_take_the_shortest_grace() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [X], "mode": "enforce", "graceSeconds": 600},
                {"pk": format!("role#{R}"), "principals": [X], "mode": "enforce", "graceSeconds": 0},
            ]),
            &[model("M"), role(R)],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 0));
        assert_eq!(v.approvers.len(), 2);
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
    fn example_5_nothing_bound_the_default_item_decides() {
        let v = verdict(
            json!([{"pk": "default", "principals": [C]}]),
            &[model("M"), role(R)],
        );
        assert_eq!(outcome(&v), (Decision::Allow, Action::None, 0));
        assert!(
            v.subjects
                .iter()
                .all(|s| s.binding.as_deref() == Some("default"))
        );
    }

    #[test]
    fn example_6_an_unresolvable_subject_violates_the_default_whatever_else() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": "default", "principals": [C], "mode": "enforce"},
            ]),
            &[model("M"), unresolved(model("N"))],
        );
        assert_eq!(
            outcome(&v),
            (
                Decision::Violation,
                Action::Enforce,
                Defaults::GRACE_SECONDS
            )
        );
        assert_eq!(
            v.approvers
                .iter()
                .map(|a| a.binding.as_str())
                .collect::<Vec<_>>(),
            ["default"]
        );
        assert!(!v.subjects[1].resolved && !v.subjects[1].allowed);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("model N could not be resolved (not found)"))
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
    fn caller_must_match_every_bound_subject() {
        let v = verdict(
            json!([
                {"pk": "model#M", "principals": [C]},
                {"pk": format!("role#{R}"), "principals": [X]},
            ]),
            &[model("M"), role(R)],
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
        let pks: Vec<&str> = v.approvers.iter().map(|a| a.binding.as_str()).collect();
        assert_eq!(pks, ["model#N", "default"]);
    }

    #[test]
    fn unnamed_subject_never_matches_a_glob_binding() {
        let mut s = unresolved(role("requestParameters.roleArn"));
        s.unnamed = true;
        let v = verdict(
            json!([
                {"pk": "role#*", "principals": ["*"]},
                {"pk": "default", "principals": ["*"], "mode": "enforce", "graceSeconds": 5},
            ]),
            &[s],
        );
        assert_eq!(outcome(&v), (Decision::Violation, Action::Enforce, 5));
        assert_eq!(v.subjects[0].binding.as_deref(), Some("default"));
    }

    #[test]
    fn approvers_come_from_each_violated_binding_or_the_stack() {
        let policy = PolicySet::from_json(&json!([
            {"pk": "model#M", "principals": [X], "approvers": ["arn:aws:iam::*:role/Lead"]},
            {"pk": "model#N", "principals": [X]},
        ]));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
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
                    any_of: vec!["arn:aws:iam::1:role/Security".into()]
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
    fn matching_ignores_case_and_role_paths() {
        let v = verdict(
            json!([{"pk": "model#FRAUD-*", "principals": ["arn:aws:iam::111122223333:role/team/a/caller"]}]),
            &[model("fraud-v3")],
        );
        assert_eq!(v.decision, Decision::Allow);
    }
}
