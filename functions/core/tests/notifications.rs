//! Every notification kind, rendered from one violation: subject, e-mail text, JSON document and
//! message attributes, pinned by snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use model_guard_core::approval::ApprovalDecision;
use model_guard_core::audit::ApprovalRecord;
use model_guard_core::decide::observing;
use model_guard_core::enforcement::{EnforcementOutcome, EnforcementResult};
use model_guard_core::notification::{
    CaughtError, Channel, DelayedAlert, NotificationKind, NotifyContext, TamperAlert, TamperKind,
    render, render_delayed, render_tamper,
};
use model_guard_core::policy::StackEnforcement;
use model_guard_core::sweep::Place;
use model_guard_core::{ResourceRef, ResourceType, StartedBy, Verdict, Version1};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn verdict(action: &str) -> Verdict {
    serde_json::from_value(serde_json::json!({
        "version": 1,
        "eventId": "00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f",
        "eventName": "CreateEndpoint",
        "eventTime": "2026-11-20T10:15:30Z",
        "account": "111122223333",
        "region": "eu-west-1",
        "decision": "violation",
        "action": action,
        "graceSeconds": 600,
        "principal": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DataScience_9f8e",
        "person": "identity-center-user:dan@example.com",
        "resource": {"type": "endpoint", "name": "fraud-scratch",
                     "arn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/fraud-scratch"},
        "subjects": [{"kind": "model", "name": "fraud-v3", "via": "endpoint config fraud-v3-config",
                      "binding": "model#fraud-v3", "allowed": false, "resolved": true}],
        "approvers": [{"binding": "model#fraud-v3",
                       "anyOf": ["arn:aws:iam::111122223333:role/AWSReservedSSO_MLPlatformAdmin_*"]}],
        "reasons": ["violation of model#fraud-v3: enforced after 600 s unless approved",
                    "model fraud-v3 (via endpoint config fraud-v3-config): bound by model#fraud-v3, which does not allow the caller"]
    }))
    .unwrap()
}

fn approval(decision: ApprovalDecision) -> ApprovalRecord {
    ApprovalRecord {
        decision,
        by: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_MLPlatformAdmin_0123".into(),
        person: Some("identity-center-user:alice@example.com".into()),
        caller_arn:
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_MLPlatformAdmin_0123/alice"
                .into(),
        at: at("2026-11-20T10:18:00Z"),
        reason: "shadow test agreed with the risk team (TICKET-42)".into(),
    }
}

#[test]
fn every_kind_renders_as_pinned() {
    let deadline = at("2026-11-20T10:25:31Z");
    let resource = verdict("enforce").resource.unwrap();
    let at_deadline = NotifyContext {
        deadline: Some(deadline),
        ..NotifyContext::default()
    };
    let cases = [
        (
            "violation-pending",
            NotificationKind::ViolationPending,
            "enforce",
            at_deadline.clone(),
        ),
        (
            "violation-notify-only",
            NotificationKind::ViolationNotifyOnly,
            "notify",
            NotifyContext::default(),
        ),
        (
            "approved",
            NotificationKind::Approved,
            "enforce",
            NotifyContext {
                approval: Some(approval(ApprovalDecision::Approve)),
                ..at_deadline.clone()
            },
        ),
        (
            "enforced",
            NotificationKind::Enforced,
            "enforce",
            NotifyContext {
                enforcement: Some(EnforcementResult {
                    version: Version1,
                    outcome: EnforcementOutcome::Deleted,
                    resource: resource.clone(),
                    deregistered_scalable_targets: vec![
                        "endpoint/fraud-scratch/variant/AllTraffic".into(),
                    ],
                    deleted_inference_components: vec![],
                    status: Some("InService".into()),
                    confirmed: Some("Deleting".into()),
                    restored: None,
                    not_rolled_back: None,
                }),
                ..at_deadline.clone()
            },
        ),
        (
            "enforced-now",
            NotificationKind::Enforced,
            "enforce",
            NotifyContext {
                approval: Some(approval(ApprovalDecision::EnforceNow)),
                enforcement: Some(EnforcementResult {
                    version: Version1,
                    outcome: EnforcementOutcome::AlreadyGone,
                    resource: resource.clone(),
                    deregistered_scalable_targets: vec![],
                    deleted_inference_components: vec![],
                    status: None,
                    confirmed: None,
                    restored: None,
                    not_rolled_back: None,
                }),
                ..at_deadline.clone()
            },
        ),
        (
            "enforcement-failed",
            NotificationKind::EnforcementFailed,
            "enforce",
            NotifyContext {
                error: Some(CaughtError {
                    error: "ModelGuard.AccessDenied".into(),
                    cause: Some(
                        "DeleteEndpoint fraud-scratch: AccessDeniedException: not authorized"
                            .into(),
                    ),
                }),
                ..at_deadline.clone()
            },
        ),
    ];
    for (name, kind, action, context) in cases {
        let notification = render(kind, &verdict(action), &context);
        assert!(notification.subject.len() <= 100, "{name}");
        assert_eq!(notification.attributes["kind"], kind.as_str());
        insta::assert_snapshot!(
            format!("{name}-text"),
            format!("Subject: {}\n\n{}", notification.subject, notification.text)
        );
        insta::assert_json_snapshot!(
            format!("{name}-json"),
            serde_json::json!({
                "attributes": notification.attributes,
                "document": notification.document,
            })
        );
    }
}

#[test]
fn every_tamper_alert_renders_as_pinned() {
    let cases = [
        (
            TamperKind::ApprovalNotRecorded,
            Some(verdict("enforce")),
            "event 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f: the approval task was answered, but the approval function recorded no approval",
        ),
        (
            TamperKind::ApprovalProofRefused,
            None,
            "an approval request for \"fraud-scratch\": STS refused the identity proof (403): SignatureDoesNotMatch",
        ),
        (
            TamperKind::ExecutionNotTheGuards,
            Some(verdict("enforce")),
            "execution 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f_4: event 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f is held by execution 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f",
        ),
        (
            TamperKind::EnforcementRestarted,
            Some(verdict("enforce")),
            "enforcement execution 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f is ABORTED while the violation is still pending; restarted as 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f_1",
        ),
        (
            TamperKind::PlaceUnreachable,
            None,
            "the sweep cannot look in account 210987654321 region eu-west-1: AccessDenied: cannot reach member account 210987654321: assuming arn:aws:iam::210987654321:role/ModelGuardMember failed. Calls made there that EventBridge did not deliver are not found until it can.",
        ),
    ];
    for (what, verdict, detail) in cases {
        let alert = TamperAlert {
            what,
            event_id: verdict.as_ref().and_then(|v| v.event_id.clone()),
            detail: detail.into(),
            // Where no verdict says, the place does (a subscriber filters on its account).
            place: (what == TamperKind::PlaceUnreachable).then(|| Place {
                account: "210987654321".into(),
                region: "eu-west-1".into(),
            }),
        };
        let notification = render_tamper(&alert, verdict.as_ref());
        assert!(notification.subject.len() <= 100);
        assert_eq!(notification.attributes["kind"], "tamper");
        assert_eq!(notification.attributes["tamper"], what.as_str());
        insta::assert_snapshot!(
            format!("tamper-{}-text", what.as_str()),
            format!("Subject: {}\n\n{}", notification.subject, notification.text)
        );
        insta::assert_json_snapshot!(
            format!("tamper-{}-json", what.as_str()),
            serde_json::json!({
                "attributes": notification.attributes,
                "document": notification.document,
            })
        );
    }
}

#[test]
fn the_pending_text_carries_the_exact_commands() {
    let text = render(
        NotificationKind::ViolationPending,
        &verdict("enforce"),
        &NotifyContext {
            deadline: Some(at("2026-11-20T10:25:31Z")),
            ..NotifyContext::default()
        },
    )
    .text;
    assert!(
        text.contains("guardctl approve 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --reason"),
        "{text}"
    );
    assert!(
        text.contains("guardctl enforce-now 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --reason"),
        "{text}"
    );
    assert!(text.contains("2026-11-20T10:25:31Z"), "{text}");
}

/// Each protocol gets its own form of one alert (SNS `MessageStructure=json`): e-mail the text,
/// HTTPS (Amazon Q Developer's chat channels) the chat card, every other protocol the JSON
/// document. The card's title is the headline, its next steps the exact `guardctl` commands, and
/// a violation's alerts share its eventID as their thread.
#[test]
fn each_protocol_gets_its_own_form_of_an_alert() {
    use model_guard_core::chat::protocol_messages;
    let pending = render(
        NotificationKind::ViolationPending,
        &verdict("enforce"),
        &NotifyContext {
            deadline: Some(at("2026-11-20T10:25:31Z")),
            ..NotifyContext::default()
        },
    );
    let messages = protocol_messages(&pending).unwrap();
    assert_eq!(
        messages.keys().copied().collect::<Vec<_>>(),
        ["default", "email", "https"]
    );
    assert_eq!(messages["email"], pending.text);
    let document: serde_json::Value = serde_json::from_str(&messages["default"]).unwrap();
    assert_eq!(document, serde_json::to_value(&pending.document).unwrap());
    let card: serde_json::Value = serde_json::from_str(&messages["https"]).unwrap();
    insta::assert_json_snapshot!("chat-card-violation-pending", card);
    assert_eq!(
        card["content"]["nextSteps"],
        serde_json::json!([
            "`guardctl approve 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --reason \"<why it may stay>\"`",
            "`guardctl enforce-now 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f --reason \"<why>\"`"
        ])
    );
    // The approval of the same violation goes to the same thread.
    let approved = render(
        NotificationKind::Approved,
        &verdict("enforce"),
        &NotifyContext::default(),
    );
    let approved: serde_json::Value =
        serde_json::from_str(&protocol_messages(&approved).unwrap()["https"]).unwrap();
    assert_eq!(
        approved["metadata"]["threadId"],
        card["metadata"]["threadId"]
    );
    // A tamper alert about a place: no thread, its account in the context.
    let tamper = render_tamper(
        &TamperAlert {
            what: TamperKind::PlaceUnreachable,
            event_id: None,
            detail: "the drift scan cannot scan account 210987654321 region eu-west-1".into(),
            place: Some(Place {
                account: "210987654321".into(),
                region: "eu-west-1".into(),
            }),
        },
        None,
    );
    let tamper: serde_json::Value =
        serde_json::from_str(&protocol_messages(&tamper).unwrap()["https"]).unwrap();
    insta::assert_json_snapshot!("chat-card-tamper-place-unreachable", tamper);
}

#[test]
fn the_escalation_alert_of_a_busy_enforcement_renders_as_pinned() {
    let alert = DelayedAlert {
        execution: "00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f_2".into(),
        next: "00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f_3".into(),
        busy: "endpoint fraud-scratch is Updating; it can be deleted once that ends".into(),
        retry_seconds: 60,
    };
    let notification = render_delayed(&alert, &verdict("enforce"));
    assert!(notification.subject.len() <= 100);
    assert_eq!(notification.attributes["kind"], "enforcement-delayed");
    assert_eq!(
        NotificationKind::EnforcementDelayed.channel(),
        Channel::Violations
    );
    insta::assert_snapshot!(
        "enforcement-delayed-text",
        format!("Subject: {}\n\n{}", notification.subject, notification.text)
    );
    insta::assert_json_snapshot!(
        "enforcement-delayed-json",
        serde_json::json!({
            "attributes": notification.attributes,
            "document": notification.document,
        })
    );
}

#[test]
fn only_the_guards_own_alerts_go_to_the_guard_topic() {
    for kind in NotificationKind::OWABLE {
        assert_eq!(kind.channel(), Channel::Violations, "{kind:?}");
    }
    for kind in [
        NotificationKind::Tamper,
        NotificationKind::Health,
        NotificationKind::PolicyChanged,
        NotificationKind::ScanAttention,
    ] {
        assert_eq!(kind.channel(), Channel::Guard, "{kind:?}");
    }
}

fn failing_report() -> model_guard_core::health::HealthReport {
    use model_guard_core::health::{Check, CheckStatus, HealthReport};
    let check = |name: &str, status, detail: &str| Check {
        name: name.into(),
        status,
        detail: detail.into(),
    };
    HealthReport {
        version: Version1,
        at: at("2026-12-04T10:05:00Z"),
        checks: vec![
            check(
                "rules",
                CheckStatus::Fail,
                "ModelGuard-SageMakerCalls is DISABLED",
            ),
            check(
                "trail",
                CheckStatus::Pass,
                "ModelGuard-Trail logs this region's write management events",
            ),
            check(
                "functions",
                CheckStatus::Fail,
                "ModelGuard-enforce is throttled to zero (reserved concurrency 0): it never runs",
            ),
            check(
                "sweep",
                CheckStatus::Warn,
                "the sweep has not finished a run yet",
            ),
        ],
    }
}

#[test]
fn the_health_alert_renders_as_pinned_and_goes_to_the_guard_topic() {
    use model_guard_core::notification::render_health;
    let report = failing_report();
    let notification = render_health(&report, &["rules".to_owned()]);
    assert_eq!(notification.channel, Channel::Guard);
    assert_eq!(notification.attributes["kind"], "health");
    insta::assert_snapshot!(
        "health-failing-text",
        format!("Subject: {}\n\n{}", notification.subject, notification.text)
    );
    insta::assert_json_snapshot!(
        "health-failing-json",
        serde_json::json!({"attributes": notification.attributes, "document": notification.document})
    );
    let mut mended = report;
    for check in &mut mended.checks {
        check.status = model_guard_core::health::CheckStatus::Pass;
    }
    mended.checks[0].detail = "all 19 enabled, each with its targets".into();
    mended.checks[2].detail = "all 10 can run".into();
    mended.checks[3].detail = "the last sweep finished at 2026-12-04T10:00:00Z".into();
    let notification = render_health(&mended, &["functions".to_owned(), "rules".to_owned()]);
    insta::assert_snapshot!(
        "health-mended-text",
        format!("Subject: {}\n\n{}", notification.subject, notification.text)
    );
}

#[test]
fn the_policy_change_alert_renders_as_pinned_and_goes_to_the_guard_topic() {
    use model_guard_core::notification::render_policy_change;
    use model_guard_core::policy_change::policy_change;
    let old = serde_json::json!({"pk": "default", "principals": ["arn:aws:iam::111122223333:role/MLDeployer"],
                                 "mode": "enforce", "graceSeconds": 600});
    let new = serde_json::json!({"pk": "default", "principals": ["*"], "mode": "notify",
                                 "description": "temporary, for the demo"});
    let change = policy_change(
        "4b1c8f0e3a2d9c7b6e5f4a3b2c1d0e9f",
        Some(at("2026-12-04T10:00:01Z")),
        Some(&old),
        Some(&new),
    )
    .unwrap();
    let notification = render_policy_change(&change);
    assert_eq!(notification.channel, Channel::Guard);
    assert!(notification.subject.len() <= 100);
    insta::assert_snapshot!(
        "policy-changed-text",
        format!("Subject: {}\n\n{}", notification.subject, notification.text)
    );
    insta::assert_json_snapshot!(
        "policy-changed-json",
        serde_json::json!({"attributes": notification.attributes, "document": notification.document})
    );
}

#[test]
fn a_tamper_alert_about_the_guards_own_resources_names_them() {
    let alert = TamperAlert {
        what: TamperKind::GuardChanged,
        event_id: Some("7a3e0000-0000-4000-8000-000000000001".into()),
        detail: "UpdateFunctionCode20150331v2 (lambda.amazonaws.com) by arn:aws:sts::111122223333:assumed-role/PowerUser/mallory".into(),
        place: None,
    };
    let notification = render_tamper(&alert, None);
    assert_eq!(notification.attributes["tamper"], "guard-changed");
    insta::assert_snapshot!(
        "tamper-guard-changed-text",
        format!("Subject: {}\n\n{}", notification.subject, notification.text)
    );
}

/// A violation decided by content: the alert names the package, its approval and the content
/// that decided, as the verdict's reasons do (the fixture's verdict, as Evaluate would give it).
#[test]
fn a_content_violation_names_the_content_that_decided() {
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/events");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(events.join(name)).unwrap()).unwrap()
    };
    let policy = model_guard_core::PolicySet::from_json(&read("example/policy.json")).unwrap();
    let resolver = model_guard_core::CatalogResolver::new(
        model_guard_core::Catalog::from_json(&read("example/catalog.json")).unwrap(),
    );
    let outcome =
        model_guard_core::parse_event_value(&read("covered-content-package-unapproved.json"));
    let verdict = pollster::block_on(model_guard_core::explain(
        outcome,
        &resolver.lookups(),
        &policy,
        &model_guard_core::Defaults::default(),
    ))
    .unwrap();
    let rendered = render(
        NotificationKind::ViolationPending,
        &verdict,
        &NotifyContext {
            deadline: Some(at("2026-11-20T10:20:31Z")),
            ..NotifyContext::default()
        },
    );
    assert!(
        rendered.text.contains("PendingManualApproval"),
        "{}",
        rendered.text
    );
    insta::assert_snapshot!("content-violation-pending", rendered.text);
}

#[test]
fn a_notify_only_resource_and_a_pipeline_step_render_as_pinned() {
    // A pipeline is notify-only by nature: the alert says so, and what to do by hand.
    let mut pipeline = verdict("notify");
    pipeline.event_name = Some("CreatePipeline".into());
    // Studio's source identity (the user profile behind a shared execution role) is shown.
    pipeline.source_identity = Some("bob".into());
    pipeline.resource = Some(ResourceRef {
        resource_type: ResourceType::Pipeline,
        name: "bob-train".into(),
        arn: Some("arn:aws:sagemaker:eu-west-1:111122223333:pipeline/bob-train".into()),
    });
    // A step's job names the person who started its execution.
    let mut step = verdict("enforce");
    step.event_name = Some("CreateTrainingJob".into());
    step.resource = Some(ResourceRef {
        resource_type: ResourceType::TrainingJob,
        name: "pipelines-n3b5v7c9x1z2-train-d4e5f6".into(),
        arn: None,
    });
    step.started_by = Some(StartedBy {
        parent:
            "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/research-train/execution/n3b5v7c9x1z2"
                .into(),
        principal: "arn:aws:iam::111122223333:role/Contractor".into(),
        session: Some("mallory".into()),
        source_identity: None,
        allowed: false,
    });
    let pending = NotifyContext {
        deadline: Some(at("2026-11-20T10:25:31Z")),
        ..NotifyContext::default()
    };
    // Observe mode: an enforce verdict becomes notify-only, and says what would have been done.
    let observed = observing(StackEnforcement::Observe, verdict("enforce"));
    assert_eq!(
        (observed.action, observed.observed),
        (model_guard_core::Action::Notify, true)
    );
    // Enforce mode, or a verdict that enforces nothing, is left as it was.
    assert_eq!(
        observing(StackEnforcement::Enforce, verdict("enforce")),
        verdict("enforce")
    );
    assert_eq!(
        observing(StackEnforcement::Observe, verdict("notify")),
        verdict("notify")
    );
    for (name, kind, verdict, context) in [
        (
            "observe-mode-would-delete",
            NotificationKind::ViolationNotifyOnly,
            observed,
            NotifyContext::default(),
        ),
        (
            "pipeline-notify-only-by-nature",
            NotificationKind::ViolationNotifyOnly,
            pipeline,
            NotifyContext::default(),
        ),
        (
            "pipeline-step-pending",
            NotificationKind::ViolationPending,
            step,
            pending,
        ),
    ] {
        let notification = render(kind, &verdict, &context);
        insta::assert_snapshot!(
            format!("{name}-text"),
            format!("Subject: {}\n\n{}", notification.subject, notification.text)
        );
    }
}

#[test]
fn the_drift_scan_alerts() {
    use model_guard_core::notification::render_scan_attention;
    use model_guard_core::scan::{Finding, Outcome, Problem, ScanAttention};
    // A violation found by the drift scan (its verdict as the scan judged it).
    let mut found = verdict("enforce");
    found.event_id = Some("scan-0123456789abcdef0123456789abcdef".into());
    found.reasons.push(
        "found by a scan at 2026-12-04T06:00:00Z: endpoint fraud-scratch exists now, set by \
         CreateEndpoint (2026-11-20T10:15:30Z, event 00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f)"
            .into(),
    );
    let drift = render(
        NotificationKind::DriftFound,
        &found,
        &NotifyContext::default(),
    );
    assert_eq!(drift.channel, Channel::Violations);
    insta::assert_snapshot!(
        "drift-found-text",
        format!("Subject: {}\n\n{}", drift.subject, drift.text)
    );
    // What it could not judge: two old endpoints nobody can be credited with, one family it
    // could not list.
    let unattributed = |name: &str, subjects: &[&str], why: &str| Finding {
        key: format!("scan-{name:0>32}"),
        outcome: Outcome::Unattributed,
        resource: ResourceRef {
            resource_type: ResourceType::Endpoint,
            name: name.into(),
            arn: None,
        },
        status: Some("InService".into()),
        who: None,
        call: None,
        why: why.into(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        verdict: None,
        decided_before: None,
        unsure: false,
    };
    let attention = ScanAttention {
        scanned_at: at("2026-12-04T06:00:00Z"),
        place: None,
        complete: false,
        unattributed: vec![
            unattributed(
                "legacy-scoring",
                &["model fraud-v1", "role arn:aws:iam::111122223333:role/Exec"],
                "who set it is unknown: no call that set it in CloudTrail's last 90 days",
            ),
            unattributed(
                "reborn",
                &["model fraud-v3"],
                "who set it is unknown: created at 2026-12-01T09:00:02Z, after the call",
            ),
        ],
        more_unattributed: 3,
        unsure: vec![Finding {
            unsure: true,
            ..unattributed(
                "fraud-live",
                &["model fraud-v3"],
                "who set it is unsure: a CloudTrail lookup of its calls failed (the newest call \
                 found, CreateEndpoint by arn:aws:iam::111122223333:role/DataScientist, would \
                 make it a violation)",
            )
        }],
        more_unsure: 0,
        problems: vec![
            Problem {
                what: "listing training-jobs".into(),
                error:
                    "AccessDeniedException: not authorized to perform sagemaker:ListTrainingJobs"
                        .into(),
            },
            Problem {
                what: "CloudTrail LookupEvents UpdateEndpoint (who set a resource it may have set \
                       is unsure, and none of them is judged a violation)"
                    .into(),
                error: "out of time after 1,800 records".into(),
            },
        ],
        more_problems: 0,
    };
    let told = render_scan_attention(&attention);
    assert_eq!(told.channel, Channel::Guard);
    insta::assert_snapshot!(
        "scan-attention-text",
        format!("Subject: {}\n\n{}", told.subject, told.text)
    );
    insta::assert_json_snapshot!(
        "scan-attention-json",
        serde_json::json!({"attributes": told.attributes, "document": told.document})
    );
    // A member place's scan says which account and region, in the text and the attributes
    // (a subscriber filters on them).
    let member = render_scan_attention(&ScanAttention {
        place: Some("444455556666/eu-west-1".into()),
        unattributed: Vec::new(),
        more_unattributed: 0,
        unsure: Vec::new(),
        ..attention.clone()
    });
    insta::assert_snapshot!(
        "scan-attention-member-text",
        format!("Subject: {}\n\n{}", member.subject, member.text)
    );
    assert_eq!(
        (
            member.attributes.get("account").map(String::as_str),
            member.attributes.get("region").map(String::as_str)
        ),
        (Some("444455556666"), Some("eu-west-1"))
    );
    // Complete, nothing new: nothing to tell.
    let report = model_guard_core::scan::Report {
        complete: true,
        ..model_guard_core::scan::Report::new(at("2026-12-04T06:00:00Z"))
    };
    assert_eq!(ScanAttention::of(&report, &[]), None);
}

/// A violating UpdateEndpoint rolled back to its last allowed deployment: the pending alert says
/// what will be restored, the enforced alert what was, or why the endpoint was deleted instead.
#[test]
fn a_rollback_is_announced_and_reported() {
    use model_guard_core::{Restorable, RollbackTo};
    let to = RollbackTo {
        event_id: "00000004-00e1-4c1d-9e2f-5a6b7c8d9e0f".into(),
        config: Restorable::EndpointConfig {
            name: "fraud-v2-config".into(),
            models: vec!["fraud-v2".into()],
            created: Some(at("2026-11-19T08:00:00Z")),
        },
        deployed_at: Some(at("2026-11-19T08:00:05Z")),
    };
    let mut update = verdict("enforce");
    update.event_name = Some("UpdateEndpoint".into());
    update.rollback_to = Some(Box::new(to.clone()));
    let resource = update.resource.clone().unwrap();
    let pending = NotifyContext {
        deadline: Some(at("2026-11-20T10:25:30Z")),
        ..NotifyContext::default()
    };
    let result =
        |outcome, restored: Option<RollbackTo>, not_rolled_back: Option<&str>| EnforcementResult {
            version: Version1,
            outcome,
            resource: resource.clone(),
            deregistered_scalable_targets: vec![],
            deleted_inference_components: vec![],
            status: Some("InService".into()),
            confirmed: Some(
                if outcome == EnforcementOutcome::RolledBack {
                    "InService"
                } else {
                    "Deleting"
                }
                .into(),
            ),
            restored,
            not_rolled_back: not_rolled_back.map(str::to_owned),
        };
    // Observe mode says that enforce mode would roll back, not delete.
    let observed = observing(StackEnforcement::Observe, update.clone());
    let would = render(NotificationKind::ViolationNotifyOnly, &observed, &pending);
    assert!(
        would.subject.ends_with("(observe mode: would roll back)"),
        "{}",
        would.subject
    );
    assert!(
        observed.reasons[0].contains("would roll back endpoint fraud-scratch"),
        "{:?}",
        observed.reasons
    );
    for (name, kind, context) in [
        (
            "rollback-pending",
            NotificationKind::ViolationPending,
            pending.clone(),
        ),
        (
            "rolled-back",
            NotificationKind::Enforced,
            NotifyContext {
                enforcement: Some(result(
                    EnforcementOutcome::RolledBack,
                    Some(to.clone()),
                    None,
                )),
                ..pending.clone()
            },
        ),
        (
            "not-rolled-back",
            NotificationKind::Enforced,
            NotifyContext {
                enforcement: Some(result(
                    EnforcementOutcome::Deleted,
                    None,
                    Some("endpoint config fraud-v2-config is gone"),
                )),
                ..pending.clone()
            },
        ),
    ] {
        let notification = render(kind, &update, &context);
        assert!(notification.subject.len() <= 100, "{name}");
        insta::assert_snapshot!(
            format!("{name}-text"),
            format!("Subject: {}\n\n{}", notification.subject, notification.text)
        );
    }
}

/// A violating UpdateInferenceComponent rolled back to its last allowed specification: the
/// alerts name the specification by what it deploys, never its environment.
#[test]
fn an_inference_component_rollback_is_announced_and_reported() {
    use model_guard_core::contract::ComponentSpec;
    use model_guard_core::{Restorable, RollbackTo};
    let to = RollbackTo {
        event_id: "00000004-00e1-4c1d-9e2f-5a6b7c8d9e0f".into(),
        config: Restorable::InferenceComponentSpec(ComponentSpec {
            model: Some("llama-3-8b-instruct".into()),
            min_memory_mb: Some(16384),
            model_created: Some(at("2026-11-19T08:00:00Z")),
            ..ComponentSpec::default()
        }),
        deployed_at: Some(at("2026-11-19T08:00:05Z")),
    };
    let mut update = verdict("enforce");
    update.event_name = Some("UpdateInferenceComponent".into());
    update.resource = serde_json::from_value(serde_json::json!({
        "type": "inference-component", "name": "llama-ic",
        "arn": "arn:aws:sagemaker:eu-west-1:111122223333:inference-component/llama-ic"
    }))
    .unwrap();
    update.rollback_to = Some(Box::new(to.clone()));
    let pending = NotifyContext {
        deadline: Some(at("2026-11-20T10:25:30Z")),
        ..NotifyContext::default()
    };
    let enforced = NotifyContext {
        enforcement: Some(EnforcementResult {
            version: Version1,
            outcome: EnforcementOutcome::RolledBack,
            resource: update.resource.clone().unwrap(),
            deregistered_scalable_targets: vec![],
            deleted_inference_components: vec![],
            status: Some("InService".into()),
            confirmed: Some("InService".into()),
            restored: Some(to),
            not_rolled_back: None,
        }),
        ..pending.clone()
    };
    for (name, kind, context) in [
        (
            "component-rollback-pending",
            NotificationKind::ViolationPending,
            pending,
        ),
        (
            "component-rolled-back",
            NotificationKind::Enforced,
            enforced,
        ),
    ] {
        let notification = render(kind, &update, &context);
        assert!(notification.subject.len() <= 100, "{name}");
        insta::assert_snapshot!(
            format!("{name}-text"),
            format!("Subject: {}\n\n{}", notification.subject, notification.text)
        );
    }
}
