//! Rolling back instead of deleting (docs/design.md, "Rolling back a violating update"): what an
//! allowed deployment put in place is kept on its verdict, so that a later violating update of the
//! same resource can be undone rather than the resource deleted.

use chrono::{DateTime, Utc};

use crate::audit::{AuditItem, AuditState};
use crate::contract::{
    Action, ComponentSpec, Decision, Request, ResourceType, Restorable, Target, Verdict,
    content_label,
};
use crate::policy::{OnUpdate, PolicySet};
use crate::resolve::ConfigAtTheCall;

/// What an allowed deployment put in place, to keep on its verdict: the one endpoint config an
/// allowed CreateEndpoint or UpdateEndpoint deployed. Nothing when the deployment is not allowed
/// or the resolution knew more than one version of the config at the call (which one ran is not
/// known, so none can be restored).
pub fn restorable(
    request: &Request,
    verdict: &Verdict,
    configs: &[ConfigAtTheCall],
) -> Option<Restorable> {
    if verdict.decision != Decision::Allow
        || request.resource.resource_type != ResourceType::Endpoint
        || !matches!(
            request.event_name.as_str(),
            "CreateEndpoint" | "UpdateEndpoint"
        )
        || verdict
            .resource
            .as_ref()
            .is_some_and(|r| r.resource_type != ResourceType::Endpoint)
    {
        return None;
    }
    match configs {
        [config] => Some(Restorable::EndpointConfig {
            name: config.name.clone(),
            models: config.models.clone(),
            created: config.created,
        }),
        _ => None,
    }
}

/// What an allowed CreateInferenceComponent or UpdateInferenceComponent put in place: the
/// component's specification as SageMaker `described` it after the call, kept only when its
/// judged content (model, base component, image, artifact) is exactly what the call named. A
/// describe that shows other content (another update since, or this one not yet applied), an
/// update that named no specification, or one specification per instance type, keeps nothing.
pub fn restorable_component(
    request: &Request,
    verdict: &Verdict,
    described: Option<ComponentSpec>,
) -> Option<Restorable> {
    let spec = described?;
    let named = deployed_content(request)?;
    (verdict.decision == Decision::Allow
        && request.resource.resource_type == ResourceType::InferenceComponent
        && matches!(
            request.event_name.as_str(),
            "CreateInferenceComponent" | "UpdateInferenceComponent"
        )
        && verdict
            .resource
            .as_ref()
            .is_none_or(|r| r.resource_type == ResourceType::InferenceComponent)
        && named == spec.content())
    .then_some(Restorable::InferenceComponentSpec(spec))
}

/// The judged content a deployment call named itself, in one line (`content_label`): its endpoint
/// config, or its component's model, base component, image and artifact. None when it named none
/// (an update that keeps what runs names the component itself, to look up) or a field was
/// unreadable.
fn deployed_content(request: &Request) -> Option<String> {
    let own = |t: &Target| matches!(t, Target::InferenceComponentModel { name } if crate::audit::resource_key(name) == crate::audit::resource_key(&request.resource.name));
    if request.targets.is_empty()
        || request
            .targets
            .iter()
            .any(|t| matches!(t, Target::Unreadable { .. }) || own(t))
    {
        return None;
    }
    Some(content_label(&request.targets))
}

/// Whether `request` is an update that a rollback undoes: UpdateEndpoint of an endpoint, or
/// UpdateInferenceComponent of an inference component.
fn is_rolled_back_update(request: &Request) -> bool {
    matches!(
        (request.event_name.as_str(), request.resource.resource_type),
        ("UpdateEndpoint", ResourceType::Endpoint)
            | ("UpdateInferenceComponent", ResourceType::InferenceComponent)
    )
}

/// The allowed deployment a violating UpdateEndpoint would be rolled back to, before it is judged
/// again under the policy now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The allowed deployment's event.
    pub event_id: String,
    /// Who made it: the config is judged again for them.
    pub principal: String,
    pub config: Restorable,
    /// When it was made.
    pub at: DateTime<Utc>,
}

/// The newest allowed deployment of the endpoint, made before `request`, that kept what it
/// deployed; or why there is none to roll back to. Only a violating, enforced UpdateEndpoint
/// has one, and only when no binding it violates says `onUpdate: delete`.
pub fn rollback_candidate(
    request: &Request,
    verdict: &Verdict,
    on_resource: &[AuditItem],
    policy: &PolicySet,
) -> Result<Candidate, String> {
    if !is_rolled_back_update(request)
        || verdict.decision != Decision::Violation
        || verdict.action != Action::Enforce
    {
        return Err(
            "only a violating, enforced UpdateEndpoint or UpdateInferenceComponent is rolled back"
                .to_owned(),
        );
    }
    if let Some(binding) = verdict
        .subjects
        .iter()
        .filter(|s| !s.allowed)
        .filter_map(|s| s.binding.as_deref())
        .find(|pk| {
            policy
                .items()
                .iter()
                .any(|i| i.pk == *pk && i.on_update == OnUpdate::Delete)
        })
    {
        return Err(format!("binding {binding} says onUpdate: delete"));
    }
    let time = |text: Option<&str>| -> Option<DateTime<Utc>> {
        text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let call = time(request.event_time.as_deref());
    on_resource
        .iter()
        .filter(|item| {
            item.state == AuditState::Allowed
                && item.event_id != request.event_id
                // An endpoint and an inference component may share a name.
                && item.resource_type == request.resource.resource_type
        })
        .filter_map(|item| {
            let at = time(item.event_time.as_deref())?;
            let config = item.verdict.restorable.as_deref()?.clone();
            // Made before the violating call (a deployment after it is not what it replaced).
            // CloudTrail's times are whole seconds: one in the call's own second came first,
            // since SageMaker refuses to update an endpoint that is still being created or
            // updated.
            call.is_none_or(|call| at <= call)
                .then_some((at, item, config))
        })
        .max_by_key(|(at, item, _)| (*at, item.event_id.clone()))
        .map(|(at, item, config)| Candidate {
            event_id: item.event_id.clone(),
            principal: item.principal.clone(),
            config,
            at,
        })
        .ok_or_else(|| {
            format!(
                "no allowed deployment of the {} before it is on record (or none kept what it \
                 deployed)",
                request.resource.resource_type
            )
        })
}

/// The request that judges a candidate again now: its caller deploying its config to the
/// endpoint, at `now` (so the config is described as it is).
pub fn rejudged(request: &Request, candidate: &Candidate, now: DateTime<Utc>) -> Request {
    Request {
        event_id: format!("{}#rollback", candidate.event_id),
        event_time: Some(crate::sweep::time_text(now)),
        principal: candidate.principal.clone(),
        principal_path_unknown: false,
        session: None,
        source_identity: None,
        targets: candidate.config.targets(),
        pipeline_execution: None,
        ..request.clone()
    }
}

/// The guard's own rollback: an UpdateEndpoint or UpdateInferenceComponent that the enforce
/// function's role (`enforcer`) made, to what a rollback record on a violation of the same
/// resource names (the config, or the component's judged content), written no later than the
/// call (its second: CloudTrail's times are whole seconds). Its verdict allows it, not judged
/// again, so the rollback starts no enforcement of its own and never loops. Both are needed: the
/// role alone would let the guard's every update pass, and the record alone is no proof of who
/// called. Anyone else's update to the same content is judged as any update.
pub fn own_rollback(
    request: &Request,
    on_resource: &[AuditItem],
    enforcer: &str,
) -> Option<Verdict> {
    if !is_rolled_back_update(request) || request.principal != enforcer {
        return None;
    }
    let restores = match request.resource.resource_type {
        ResourceType::Endpoint => request.targets.iter().find_map(|t| match t {
            Target::EndpointConfig { name } => Some(name.clone()),
            _ => None,
        })?,
        _ => deployed_content(request)?,
    };
    let call = request.call_time()?;
    let resource = crate::audit::resource_key(&request.resource.name);
    let (violation, record) = on_resource.iter().find_map(|item| {
        let record = item.rollback.as_ref()?;
        (item.resource_type == request.resource.resource_type
            && crate::audit::resource_key(&record.resource) == resource
            && record.to == restores
            && record.at < call + chrono::Duration::seconds(1))
        .then_some((item, record))
    })?;
    let allowed = violation
        .verdict
        .rollback_to
        .as_ref()
        .map_or("its last allowed deployment", |to| to.event_id.as_str());
    Some(Verdict::without_subjects(
        request,
        Decision::Allow,
        format!(
            "allowed: Model Guard's own rollback of violation {} ({} {}, back to {}, which \
             allowed deployment {allowed} deployed), begun at {}",
            violation.event_id,
            request.resource.resource_type,
            record.resource,
            match request.resource.resource_type {
                ResourceType::Endpoint => format!("endpoint config {}", record.to),
                _ => record.to.clone(),
            },
            crate::sweep::time_text(record.at)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn request(event_name: &str, resource_type: &str) -> Request {
        serde_json::from_value(json!({
            "version": 1, "eventId": "e1", "eventName": event_name,
            "eventTime": "2026-12-04T10:00:00Z", "account": null, "region": null,
            "principal": "arn:aws:iam::111122223333:role/MLDeployer",
            "resource": {"type": resource_type, "name": "fraud"},
            "targets": [{"kind": "endpoint-config", "name": "fraud-cfg"}]
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn verdict(decision: &str) -> Verdict {
        serde_json::from_value(json!({
            "version": 1, "eventId": "e1", "eventName": null, "eventTime": null, "account": null,
            "region": null, "decision": decision, "action": "none", "graceSeconds": 0,
            "principal": null, "resource": {"type": "endpoint", "name": "fraud"},
            "subjects": [], "approvers": [], "reasons": ["r"]
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn config(created: Option<&str>) -> ConfigAtTheCall {
        ConfigAtTheCall {
            name: "fraud-cfg".into(),
            models: vec!["fraud-v3".into()],
            created: created.map(at),
        }
    }

    #[test]
    fn an_allowed_endpoint_deployment_keeps_its_one_config() {
        let described = config(Some("2026-12-04T09:00:00Z"));
        for (known, created) in [
            (described.clone(), Some(at("2026-12-04T09:00:00Z"))),
            // Made in the second of the call: known from its record, without a time.
            (config(None), None),
        ] {
            let kept = Restorable::EndpointConfig {
                name: "fraud-cfg".into(),
                models: vec!["fraud-v3".into()],
                created,
            };
            for call in ["CreateEndpoint", "UpdateEndpoint"] {
                assert_eq!(
                    restorable(
                        &request(call, "endpoint"),
                        &verdict("allow"),
                        std::slice::from_ref(&known)
                    ),
                    Some(kept.clone()),
                    "{call}"
                );
            }
        }
        // Nothing to keep: not allowed, not an endpoint deployment, not one config.
        let allowed = verdict("allow");
        let known = described;
        for (request, verdict, configs) in [
            (
                request("CreateEndpoint", "endpoint"),
                verdict("violation"),
                vec![known.clone()],
            ),
            (
                request("CreateEndpoint", "endpoint"),
                verdict("ignored"),
                vec![known.clone()],
            ),
            (
                request("UpdateEndpointWeightsAndCapacities", "endpoint"),
                allowed.clone(),
                vec![known.clone()],
            ),
            (
                request("CreateInferenceComponent", "inference-component"),
                allowed.clone(),
                vec![known.clone()],
            ),
            (
                request("UpdateEndpoint", "endpoint"),
                allowed.clone(),
                vec![],
            ),
            (
                request("UpdateEndpoint", "endpoint"),
                allowed.clone(),
                vec![known.clone(), config(None)],
            ),
        ] {
            assert_eq!(
                restorable(&request, &verdict, &configs),
                None,
                "{request:?} {configs:?}"
            );
        }
    }

    fn allowed_item(id: &str, when: &str, config: Option<&str>, state: AuditState) -> AuditItem {
        let mut v = verdict("allow");
        v.event_id = Some(id.into());
        v.event_time = Some(when.into());
        v.principal = Some("arn:aws:iam::111122223333:role/MLDeployer".into());
        v.restorable = config.map(|name| {
            Box::new(Restorable::EndpointConfig {
                name: name.into(),
                models: vec!["fraud-v3".into()],
                created: None,
            })
        });
        let mut item = AuditItem::for_verdict(&v, at("2026-12-04T09:00:00Z"))
            .unwrap_or_else(|| panic!("audited"));
        item.state = state;
        item
    }

    #[test]
    fn a_violating_update_rolls_back_to_the_newest_allowed_deployment_before_it() {
        let policy = |on_update: &str| {
            PolicySet::from_json(&json!([
                {"pk": "model#fraud-*", "principals": ["arn:aws:iam::111122223333:role/MLDeployer"],
                 "mode": "enforce", "onUpdate": on_update},
                {"pk": "default", "principals": []}
            ]))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let update = request("UpdateEndpoint", "endpoint");
        let mut violation = verdict("violation");
        violation.action = Action::Enforce;
        violation.subjects = serde_json::from_value(json!([
            {"kind": "model", "name": "fraud-v4", "binding": "model#fraud-*", "allowed": false,
             "resolved": true}
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let items = vec![
            allowed_item(
                "old",
                "2026-12-04T08:00:00Z",
                Some("cfg-old"),
                AuditState::Allowed,
            ),
            allowed_item(
                "newest",
                "2026-12-04T09:30:00Z",
                Some("cfg-new"),
                AuditState::Allowed,
            ),
            // After the call, not allowed, or nothing kept: never the target.
            allowed_item(
                "later",
                "2026-12-04T10:30:00Z",
                Some("cfg-later"),
                AuditState::Allowed,
            ),
            allowed_item(
                "notified",
                "2026-12-04T09:45:00Z",
                Some("cfg-bad"),
                AuditState::Notified,
            ),
            allowed_item("unkept", "2026-12-04T09:50:00Z", None, AuditState::Allowed),
        ];
        let candidate = rollback_candidate(&update, &violation, &items, &policy("rollback"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(candidate.event_id, "newest");
        // One in the call's own second came before it.
        let mut same_second = items.clone();
        same_second.push(allowed_item(
            "same-second",
            "2026-12-04T10:00:00Z",
            Some("cfg-same"),
            AuditState::Allowed,
        ));
        let same = rollback_candidate(&update, &violation, &same_second, &policy("rollback"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(same.event_id, "same-second");
        assert_eq!(
            candidate.principal,
            "arn:aws:iam::111122223333:role/MLDeployer"
        );
        let again = rejudged(&update, &candidate, at("2026-12-04T10:05:00Z"));
        assert_eq!(
            (again.principal.as_str(), again.targets.clone()),
            (
                "arn:aws:iam::111122223333:role/MLDeployer",
                vec![Target::EndpointConfig {
                    name: "cfg-new".into()
                }]
            )
        );
        // A binding that says delete, no allowed deployment, or not an enforced update: none.
        let delete = rollback_candidate(&update, &violation, &items, &policy("delete"));
        assert!(delete.is_err_and(|why| why.contains("onUpdate: delete")));
        assert!(rollback_candidate(&update, &violation, &items[2..], &policy("rollback")).is_err());
        let create = request("CreateEndpoint", "endpoint");
        assert!(rollback_candidate(&create, &violation, &items, &policy("rollback")).is_err());
        let mut notify = violation.clone();
        notify.action = Action::Notify;
        assert!(rollback_candidate(&update, &notify, &items, &policy("rollback")).is_err());
    }

    #[test]
    fn only_the_enforce_roles_update_that_a_rollback_record_names_is_the_guards_own() {
        const ENFORCER: &str = "arn:aws:iam::111122223333:role/ModelGuard-EnforceRole";
        let update = |principal: &str, config: &str, at: &str| {
            let mut r = request("UpdateEndpoint", "endpoint");
            r.event_id = "rollback-call".into();
            r.principal = principal.into();
            r.event_time = Some(at.into());
            r.targets = vec![Target::EndpointConfig {
                name: config.into(),
            }];
            r
        };
        let mut violation = allowed_item(
            "violation",
            "2026-12-04T10:00:00Z",
            None,
            AuditState::Pending,
        );
        violation.rollback = Some(crate::audit::RollbackRecord {
            resource: "fraud".into(),
            to: "cfg-old".into(),
            at: at("2026-12-04T10:15:00.400Z"),
        });
        let items = vec![violation.clone()];
        let own = own_rollback(
            &update(ENFORCER, "cfg-old", "2026-12-04T10:15:00Z"),
            &items,
            ENFORCER,
        )
        .unwrap_or_else(|| panic!("the guard's own rollback"));
        assert_eq!((own.decision, own.action), (Decision::Allow, Action::None));
        assert!(
            own.reasons[0].contains("own rollback of violation violation"),
            "{own:?}"
        );
        assert_eq!(own.restorable, None);
        // Someone else's update to the same config, the enforce role's to another config or
        // before the record, or with no record at all: judged as any update.
        let someone = "arn:aws:iam::111122223333:role/DataScientist";
        for (request, items) in [
            (
                update(someone, "cfg-old", "2026-12-04T10:16:00Z"),
                items.clone(),
            ),
            (
                update(ENFORCER, "cfg-other", "2026-12-04T10:16:00Z"),
                items.clone(),
            ),
            (
                update(ENFORCER, "cfg-old", "2026-12-04T10:14:59Z"),
                items.clone(),
            ),
            (
                update(ENFORCER, "cfg-old", "2026-12-04T10:16:00Z"),
                vec![allowed_item(
                    "violation",
                    "2026-12-04T10:00:00Z",
                    None,
                    AuditState::Pending,
                )],
            ),
        ] {
            assert_eq!(
                own_rollback(&request, &items, ENFORCER),
                None,
                "{request:?}"
            );
        }
        let mut create = update(ENFORCER, "cfg-old", "2026-12-04T10:16:00Z");
        create.event_name = "CreateEndpoint".into();
        assert_eq!(own_rollback(&create, &items, ENFORCER), None);
    }

    fn component_request(event_name: &str, targets: serde_json::Value) -> Request {
        let mut r = request(event_name, "inference-component");
        r.resource.name = "llama-ic".into();
        r.targets = serde_json::from_value(targets).unwrap_or_else(|e| panic!("{e}"));
        r
    }

    fn spec(model: &str) -> ComponentSpec {
        ComponentSpec {
            model: Some(model.into()),
            min_memory_mb: Some(1024),
            model_created: Some(at("2026-12-04T08:59:00Z")),
            ..ComponentSpec::default()
        }
    }

    #[test]
    fn an_allowed_component_deployment_keeps_the_specification_it_named() {
        let allowed = {
            let mut v = verdict("allow");
            v.resource = None;
            v
        };
        let named = json!([{"kind": "model", "name": "llama-3"}]);
        for call in ["CreateInferenceComponent", "UpdateInferenceComponent"] {
            assert_eq!(
                restorable_component(
                    &component_request(call, named.clone()),
                    &allowed,
                    Some(spec("llama-3"))
                ),
                Some(Restorable::InferenceComponentSpec(spec("llama-3"))),
                "{call}"
            );
        }
        // A bare container: its image and artifact, whatever their order.
        let container = ComponentSpec {
            image: Some("img:1".into()),
            artifact_url: Some("s3://b/m.tar.gz".into()),
            environment_sha256: Some(ComponentSpec::environment_hash([("A", "1")])),
            ..ComponentSpec::default()
        };
        assert_eq!(
            restorable_component(
                &component_request(
                    "CreateInferenceComponent",
                    json!([{"kind": "data", "uri": "s3://b/m.tar.gz"},
                           {"kind": "image", "uri": "img:1"}])
                ),
                &allowed,
                Some(container.clone())
            ),
            Some(Restorable::InferenceComponentSpec(container))
        );
        // Nothing kept: the describe shows other content (another update since, or this one
        // not applied yet), nothing described, not allowed, an update that named no
        // specification (it names the component itself, to look up), an unreadable field.
        let update = "UpdateInferenceComponent";
        for (request, verdict, described) in [
            (
                component_request(update, named.clone()),
                allowed.clone(),
                Some(spec("other")),
            ),
            (
                component_request(update, named.clone()),
                allowed.clone(),
                None,
            ),
            (
                component_request(update, named.clone()),
                verdict("violation"),
                Some(spec("llama-3")),
            ),
            (
                component_request(
                    update,
                    json!([{"kind": "inference-component-model", "name": "llama-ic"}]),
                ),
                allowed.clone(),
                Some(spec("llama-3")),
            ),
            (
                component_request(
                    update,
                    json!([{"kind": "model", "name": "llama-3"},
                    {"kind": "unreadable", "expected": "model", "field": "f", "problem": "p"}]),
                ),
                allowed.clone(),
                Some(spec("llama-3")),
            ),
            (
                request("CreateEndpoint", "endpoint"),
                allowed.clone(),
                Some(spec("llama-3")),
            ),
        ] {
            assert_eq!(
                restorable_component(&request, &verdict, described),
                None,
                "{request:?}"
            );
        }
    }

    #[test]
    fn a_violating_component_update_rolls_back_to_its_last_allowed_specification() {
        let policy = PolicySet::from_json(&json!([{"pk": "default", "principals": []}]))
            .unwrap_or_else(|e| panic!("{e}"));
        let update = component_request(
            "UpdateInferenceComponent",
            json!([{"kind": "model", "name": "fraud-v9"}]),
        );
        let mut violation = verdict("violation");
        violation.action = Action::Enforce;
        violation.resource = Some(update.resource.clone());
        let item = |id: &str, resource_type: ResourceType| {
            let mut item = allowed_item(id, "2026-12-04T09:00:00Z", None, AuditState::Allowed);
            item.resource_type = resource_type;
            item.verdict.restorable = Some(Box::new(match resource_type {
                ResourceType::Endpoint => Restorable::EndpointConfig {
                    name: "cfg".into(),
                    models: vec![],
                    created: None,
                },
                _ => Restorable::InferenceComponentSpec(spec("llama-3")),
            }));
            item
        };
        // An endpoint of the same name is another resource.
        let items = vec![
            item("component", ResourceType::InferenceComponent),
            item("endpoint", ResourceType::Endpoint),
        ];
        let candidate = rollback_candidate(&update, &violation, &items, &policy)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(candidate.event_id, "component");
        assert_eq!(
            candidate.config,
            Restorable::InferenceComponentSpec(spec("llama-3"))
        );
        let again = rejudged(&update, &candidate, at("2026-12-04T10:00:00Z"));
        assert_eq!(
            again.targets,
            vec![Target::Model {
                name: "llama-3".into()
            }]
        );
        assert!(
            rollback_candidate(&update, &violation, &items[1..], &policy).is_err(),
            "only the endpoint's"
        );
    }

    #[test]
    fn only_the_enforce_roles_component_update_that_a_record_names_is_the_guards_own() {
        const ENFORCER: &str = "arn:aws:iam::111122223333:role/ModelGuard-EnforceRole-X";
        let update = |principal: &str, model: &str| {
            let mut r = component_request(
                "UpdateInferenceComponent",
                json!([{"kind": "model", "name": model}]),
            );
            r.principal = principal.into();
            r.event_time = Some("2026-12-04T10:15:00Z".into());
            r
        };
        let mut violation = allowed_item(
            "violation",
            "2026-12-04T10:00:00Z",
            None,
            AuditState::Pending,
        );
        violation.resource_type = ResourceType::InferenceComponent;
        violation.rollback = Some(crate::audit::RollbackRecord {
            resource: "llama-ic".into(),
            to: spec("llama-3").content(),
            at: at("2026-12-04T10:15:00.400Z"),
        });
        let items = vec![violation.clone()];
        let own = own_rollback(&update(ENFORCER, "llama-3"), &items, ENFORCER)
            .unwrap_or_else(|| panic!("the guard's own rollback"));
        assert_eq!((own.decision, own.action), (Decision::Allow, Action::None));
        assert!(
            own.reasons[0].contains("inference-component llama-ic, back to model llama-3"),
            "{own:?}"
        );
        // Someone else's, or the enforce role's to other content: judged as any update. An
        // endpoint's record of the same name vouches for nothing here.
        let someone = "arn:aws:iam::111122223333:role/DataScientist";
        assert_eq!(
            own_rollback(&update(someone, "llama-3"), &items, ENFORCER),
            None
        );
        assert_eq!(
            own_rollback(&update(ENFORCER, "fraud-v9"), &items, ENFORCER),
            None
        );
        let mut endpoint = violation;
        endpoint.resource_type = ResourceType::Endpoint;
        assert_eq!(
            own_rollback(&update(ENFORCER, "llama-3"), &[endpoint], ENFORCER),
            None
        );
    }
}
