//! Evaluate against the testbed: subjects resolved through the emulator's SageMaker, policies
//! read from its DynamoDB, audit items written there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_config::SdkConfig;
use evaluate::{Ports, handle};
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::members::{MEMBER_ENFORCE_ROLE, MEMBER_ROLE};
use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::Resolvers;
use model_guard_core::ports::{PolicyStore, RecordStore};
use model_guard_core::{Defaults, ErrorKind, parse_event_value};
use model_guard_testkit::{
    ACCOUNT, SageMakerKit, audit_item, cloudtrail_event, config, create_endpoint_config_event,
    create_endpoint_event, create_model_event, decisions_table, places, policy_table, put_policy,
    record_of, records_table, role_arn, stamped, unique,
};
use serde_json::{Value, json};

type TestPorts = Ports<Resolvers, DynamoPolicyStore, DynamoAuditLog, IamRoles, DynamoRecords>;

struct World {
    config: SdkConfig,
    kit: SageMakerKit,
    policy_table: String,
    decisions: String,
    ports: TestPorts,
}

fn policy() -> Value {
    json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce",
         "graceSeconds": 600, "approvers": [role_arn("SecurityOps")]},
        {"pk": "model#scratch-*", "principals": [role_arn("MLDeployer")], "mode": "off"},
        {"pk": "default", "principals": [role_arn("MLDeployer")], "mode": "notify"}
    ])
}

async fn world(policy: Value) -> World {
    let config = config().await;
    let policy_table = policy_table(&config, &policy).await;
    let decisions = decisions_table(&config).await;
    let records = records_table(&config).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ports = Ports {
        resolvers: Resolvers::new(places(&config, MEMBER_ROLE)),
        policies: DynamoPolicyStore::new(dynamodb.clone(), &policy_table, 0),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        roles: IamRoles::with_members(
            aws_sdk_iam::Client::new(&config),
            places(&config, MEMBER_ROLE),
        ),
        records: DynamoRecords::new(dynamodb.clone(), &records),
        // No waiting unless a test says so: a missing record is at once unresolvable.
        record_wait: chrono::Duration::zero(),
        defaults: Defaults::new(900, &[role_arn("SecurityOps")]).unwrap(),
        enforcer_role: role_arn("ModelGuard-EnforceRole"),
        member_enforcer_role: MEMBER_ENFORCE_ROLE.into(),
    };
    World {
        kit: SageMakerKit::new(&config),
        config,
        policy_table,
        decisions,
        ports,
    }
}

impl World {
    /// An endpoint config for `model` (made with execution role `Exec`), with the records of both
    /// as the Record function keeps them; returns its name.
    /// Each create's event carries the time SageMaker gives the resource, as CloudTrail's would.
    async fn deployable(&self, model: &str) -> String {
        self.kit.model(model, "Exec").await;
        self.keep(&model_guard_testkit::stamped(
            create_model_event(&unique("evt"), "MLDeployer", model, "Exec"),
            self.kit.model_created(model).await,
        ))
        .await;
        let config = unique("cfg");
        self.kit.endpoint_config(&config, &[model]).await;
        self.keep(&model_guard_testkit::stamped(
            create_endpoint_config_event(&unique("evt"), "MLDeployer", &config, &[model]),
            self.kit.endpoint_config_created(&config).await,
        ))
        .await;
        config
    }

    /// What Enforce does before its rollback's update: holds the violation (as execution
    /// `exec-1`) and writes its rollback record, naming `resource` and what it restores.
    async fn begin_rollback(
        &self,
        violation_id: &str,
        now: chrono::DateTime<chrono::Utc>,
        resource: &str,
        to: &str,
    ) -> model_guard_core::audit::RollbackRecord {
        use model_guard_core::ports::AuditLog;
        let held = self
            .ports
            .audit
            .claim(violation_id, "exec-1", now, now)
            .await
            .unwrap();
        assert!(held.is_some());
        let record = model_guard_core::audit::RollbackRecord {
            resource: resource.to_owned(),
            to: to.to_owned(),
            at: chrono::Utc::now(),
        };
        self.ports
            .audit
            .note_rollback(violation_id, "exec-1", &record)
            .await
            .unwrap();
        record
    }

    /// Keeps a recorded call's record, as the Record function does.
    async fn keep(&self, event: &Value) {
        self.ports.records.put(&record_of(event)).await.unwrap();
    }

    async fn evaluate(&self, event: &Value) -> Result<Value, model_guard_core::GuardError> {
        self.evaluate_input(serde_json::to_value(parse_event_value(event)).unwrap())
            .await
    }

    async fn evaluate_input(&self, input: Value) -> Result<Value, model_guard_core::GuardError> {
        handle(input, &self.ports, chrono::Utc::now())
            .await
            .map(|v| serde_json::to_value(v).unwrap())
    }
}

/// Redactions for what differs between runs: generated names, ids and times.
macro_rules! snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".eventId" => "[event-id]",
            ".eventTime" => "[time]",
            ".resource.name" => "[endpoint]",
            ".resource.arn" => "[endpoint-arn]",
            ".resourceKey" => "[endpoint]",
            ".decidedAt" => "[time]",
            ".updatedAt" => "[time]",
            ".history[].at" => "[time]",
            ".subjects[].name" => "[name]",
            ".subjects[].via" => "[via]",
            ".reasons" => "[reasons]",
            ".verdict.eventId" => "[event-id]",
            ".verdict.eventTime" => "[time]",
            ".verdict.resource.name" => "[endpoint]",
            ".verdict.resource.arn" => "[endpoint-arn]",
            ".verdict.subjects[].name" => "[name]",
            ".verdict.subjects[].via" => "[via]",
            ".verdict.reasons" => "[reasons]",
        });
    };
}

#[tokio::test]
async fn an_allowed_deployment_is_audited_as_allowed() {
    let w = world(policy()).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "MLDeployer",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "allowed");
    assert_eq!(item["verdict"], verdict);
}

/// What an allowed endpoint deployment put in place is kept on its verdict (issue 22: a later
/// violating update is rolled back to it): the config, its models, and its creation time where
/// its describe gave it. A violation keeps nothing.
#[tokio::test]
async fn an_allowed_endpoint_deployment_keeps_the_config_it_deployed() {
    let w = world(policy()).await;
    let model = unique("fraud-v3");
    let config = w.deployable(&model).await;
    let created = w.kit.endpoint_config_created(&config).await;
    let at = created + chrono::Duration::seconds(3);
    let verdict = w
        .evaluate(&endpoint_event_at("MLDeployer", &config, at))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    assert_eq!(
        verdict["restorable"],
        json!({"kind": "endpoint-config", "name": config, "models": [model],
               "created": model_guard_core::audit::timestamp::format(&created)}),
        "{verdict:#}"
    );
    let event_id = verdict["eventId"].as_str().unwrap().to_owned();
    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["verdict"]["restorable"], verdict["restorable"]);

    let violation = w
        .evaluate(&endpoint_event_at("DataScientist", &config, at))
        .await
        .unwrap();
    assert_eq!(violation["decision"], "violation", "{violation:#}");
    assert!(violation.get("restorable").is_none(), "{violation:#}");
}

/// A violating UpdateEndpoint names the endpoint's last allowed deployment to roll back to, when
/// that config is allowed now for whoever deployed it; not when the binding says `onUpdate:
/// delete`, nor when the config is gone.
#[tokio::test]
async fn a_violating_update_names_the_last_allowed_deployment_to_roll_back_to() {
    let w = world(policy()).await;
    let allowed_config = w.deployable(&unique("fraud-v3")).await;
    let other = w.deployable(&unique("fraud-v4")).await;
    let endpoint = unique("ep");
    w.kit.endpoint(&endpoint, &allowed_config).await;
    let made = w
        .kit
        .endpoint_config_created(&other)
        .await
        .max(w.kit.endpoint_config_created(&allowed_config).await);
    let create_id = unique("evt");
    let allowed = w
        .evaluate(&stamped(
            create_endpoint_event(&create_id, "MLDeployer", &endpoint, &allowed_config),
            made + chrono::Duration::seconds(3),
        ))
        .await
        .unwrap();
    assert_eq!(allowed["decision"], "allow", "{allowed:#}");
    let update = || {
        stamped(
            model_guard_testkit::cloudtrail_event(
                &unique("evt"),
                "UpdateEndpoint",
                "DataScientist",
                json!({"endpointName": endpoint, "endpointConfigName": other}),
                json!({"endpointArn": format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{}", endpoint.to_lowercase())}),
            ),
            made + chrono::Duration::seconds(5),
        )
    };
    let violation = w.evaluate(&update()).await.unwrap();
    assert_eq!(
        (&violation["decision"], &violation["action"]),
        (&json!("violation"), &json!("enforce")),
        "{violation:#}"
    );
    let deployed_at = model_guard_core::audit::timestamp::format(
        &chrono::DateTime::parse_from_rfc3339(allowed["eventTime"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    assert_eq!(
        violation["rollbackTo"],
        json!({"eventId": create_id, "config": allowed["restorable"], "deployedAt": deployed_at}),
        "{violation:#}"
    );

    // The binding says delete: nothing to roll back to.
    put_policy(
        &w.config,
        &w.policy_table,
        &json!({"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce",
                "onUpdate": "delete"}),
    )
    .await;
    let deleting = w.evaluate(&update()).await.unwrap();
    assert_eq!(deleting["decision"], "violation", "{deleting:#}");
    assert!(deleting.get("rollbackTo").is_none(), "{deleting:#}");

    // The allowed config is gone: nothing to roll back to.
    put_policy(
        &w.config,
        &w.policy_table,
        &json!({"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce"}),
    )
    .await;
    w.kit
        .client
        .delete_endpoint_config()
        .endpoint_config_name(&allowed_config)
        .send()
        .await
        .unwrap();
    let gone = w.evaluate(&update()).await.unwrap();
    assert_eq!(gone["decision"], "violation", "{gone:#}");
    assert!(gone.get("rollbackTo").is_none(), "{gone:#}");
}

/// An inference component: an allowed deployment keeps the specification SageMaker describes
/// (only when it deploys what the call named); a violating update names it to roll back to; the
/// enforce role's update that a rollback record names is the guard's own, and anyone else's
/// update to the same specification is judged as any update.
#[tokio::test]
async fn a_component_keeps_its_allowed_specification_and_the_guards_own_rollback_is_allowed() {
    let w = world(policy()).await;
    let allowed_model = unique("fraud-v3");
    let host = w.deployable(&allowed_model).await;
    let other_model = unique("fraud-v4");
    let other_config = w.deployable(&other_model).await;
    let endpoint = unique("ep");
    w.kit.endpoint(&endpoint, &host).await;
    let component = unique("ic");
    w.kit
        .inference_component(&component, &endpoint, &allowed_model)
        .await;
    let made = w
        .kit
        .endpoint_config_created(&other_config)
        .await
        .max(w.kit.endpoint_config_created(&host).await);
    let arn = json!({"inferenceComponentArn": format!(
        "arn:aws:sagemaker:us-east-1:123456789012:inference-component/{}",
        component.to_lowercase()
    )});
    let call = |name: &str, caller: &str, model: &str, at: chrono::DateTime<chrono::Utc>| {
        let id = unique("evt");
        let event = stamped(
            cloudtrail_event(
                &id,
                name,
                caller,
                json!({"inferenceComponentName": component, "endpointName": endpoint,
                       "variantName": "v0", "specification": {"modelName": model}}),
                arn.clone(),
            ),
            at,
        );
        (id, event)
    };
    let (create_id, create) = call(
        "CreateInferenceComponent",
        "MLDeployer",
        &allowed_model,
        made + chrono::Duration::seconds(1),
    );
    let allowed = w.evaluate(&create).await.unwrap();
    assert_eq!(allowed["decision"], "allow", "{allowed:#}");
    let kept = &allowed["restorable"];
    assert_eq!(
        (&kept["kind"], &kept["model"]),
        (&json!("inference-component-spec"), &json!(allowed_model)),
        "{allowed:#}"
    );
    assert!(kept["modelCreated"].is_string(), "{allowed:#}");

    // An allowed call whose describe shows other content keeps nothing (another update since).
    let (_, elsewhere) = call(
        "UpdateInferenceComponent",
        "MLDeployer",
        &other_model,
        made + chrono::Duration::seconds(2),
    );
    let unkept = w.evaluate(&elsewhere).await.unwrap();
    assert_eq!(unkept["decision"], "allow", "{unkept:#}");
    assert!(unkept.get("restorable").is_none(), "{unkept:#}");

    let (_, violating) = call(
        "UpdateInferenceComponent",
        "DataScientist",
        &other_model,
        made + chrono::Duration::seconds(3),
    );
    let violation = w.evaluate(&violating).await.unwrap();
    assert_eq!(
        (&violation["decision"], &violation["action"]),
        (&json!("violation"), &json!("enforce")),
        "{violation:#}"
    );
    assert_eq!(
        violation["rollbackTo"]["eventId"],
        json!(create_id),
        "{violation:#}"
    );
    assert_eq!(violation["rollbackTo"]["config"], *kept, "{violation:#}");

    // Enforce holds the violation and writes its record; then the enforce role's update to the
    // allowed specification is the guard's own.
    let now = chrono::Utc::now();
    let violation_id = violation["eventId"].as_str().unwrap();
    let record = w
        .begin_rollback(
            violation_id,
            now,
            &component,
            &format!("model {allowed_model}"),
        )
        .await;
    let after = record.at + chrono::Duration::seconds(1);
    let (_, ours) = call(
        "UpdateInferenceComponent",
        "ModelGuard-EnforceRole",
        &allowed_model,
        after,
    );
    let own = w.evaluate(&ours).await.unwrap();
    assert_own_rollback(&own, violation_id);
    // A forged "rollback" by anyone else is judged as any update.
    let (_, forged) = call(
        "UpdateInferenceComponent",
        "DataScientist",
        &allowed_model,
        after,
    );
    let judged = w.evaluate(&forged).await.unwrap();
    assert_eq!(judged["decision"], "violation", "{judged:#}");
    assert!(
        !judged["reasons"].to_string().contains("own rollback"),
        "{judged:#}"
    );
}

#[tokio::test]
async fn the_guards_own_rollback_is_allowed_and_anyone_elses_update_is_judged() {
    use model_guard_core::ports::AuditLog;
    let w = world(policy()).await;
    let allowed_config = w.deployable(&unique("fraud-v3")).await;
    let other = w.deployable(&unique("fraud-v4")).await;
    let endpoint = unique("ep");
    w.kit.endpoint(&endpoint, &allowed_config).await;
    let made = w
        .kit
        .endpoint_config_created(&other)
        .await
        .max(w.kit.endpoint_config_created(&allowed_config).await);
    let allowed = w
        .evaluate(&stamped(
            create_endpoint_event(&unique("evt"), "MLDeployer", &endpoint, &allowed_config),
            made + chrono::Duration::seconds(1),
        ))
        .await
        .unwrap();
    assert_eq!(allowed["decision"], "allow", "{allowed:#}");
    let update = |caller: &str, config: &str, at: chrono::DateTime<chrono::Utc>| {
        stamped(
            model_guard_testkit::cloudtrail_event(
                &unique("evt"),
                "UpdateEndpoint",
                caller,
                json!({"endpointName": endpoint, "endpointConfigName": config}),
                json!({"endpointArn": format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{}", endpoint.to_lowercase())}),
            ),
            at,
        )
    };
    let violating = update("DataScientist", &other, made + chrono::Duration::seconds(2));
    let violation = w.evaluate(&violating).await.unwrap();
    assert_eq!(violation["action"], "enforce", "{violation:#}");
    assert!(violation["rollbackTo"].is_object(), "{violation:#}");

    // A capacity change during the grace (autoscaling's, say) breaks the violation's custody and
    // is enforced as it is: rolled back, not deleted.
    let capacity = stamped(
        model_guard_testkit::cloudtrail_event(
            &unique("evt"),
            "UpdateEndpointWeightsAndCapacities",
            "MLDeployer",
            json!({"endpointName": endpoint,
                   "desiredWeightsAndCapacities": [{"variantName": "v0", "desiredInstanceCount": 2}]}),
            json!({"endpointArn": format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{}", endpoint.to_lowercase())}),
        ),
        made + chrono::Duration::seconds(3),
    );
    let scaled = w.evaluate(&capacity).await.unwrap();
    assert_eq!(scaled["decision"], "violation", "{scaled:#}");
    assert_eq!(scaled["rollbackTo"], violation["rollbackTo"], "{scaled:#}");

    // Before Enforce writes its record, the enforce role's update is judged as any update (a
    // violation: the role deploys nothing the policy allows it).
    let now = chrono::Utc::now();
    let unvouched = w
        .evaluate(&update(
            "ModelGuard-EnforceRole",
            &allowed_config,
            now + chrono::Duration::seconds(2),
        ))
        .await
        .unwrap();
    assert_eq!(unvouched["decision"], "violation", "{unvouched:#}");

    // Enforce holds the violation and writes its rollback record, then updates the endpoint.
    let violation_id = violation["eventId"].as_str().unwrap();
    let record = w
        .begin_rollback(violation_id, now, &endpoint, &allowed_config)
        .await;
    let after = record.at + chrono::Duration::seconds(1);
    let own = w
        .evaluate(&update("ModelGuard-EnforceRole", &allowed_config, after))
        .await
        .unwrap();
    assert_own_rollback(&own, violation_id);
    let item = audit_item(&w.config, &w.decisions, own["eventId"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(item["state"], "allowed");

    // A forged "rollback": anyone else's update to the allowed config is judged as any update
    // (here a violation: the caller may not deploy it, and a violation awaits enforcement).
    let forged = w
        .evaluate(&update("DataScientist", &allowed_config, after))
        .await
        .unwrap();
    assert_eq!(forged["decision"], "violation", "{forged:#}");
    assert!(
        !forged["reasons"].to_string().contains("own rollback"),
        "{forged:#}"
    );
    // A record held by another execution cannot be written.
    let refused = w
        .ports
        .audit
        .note_rollback(violation_id, "exec-2", &record)
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind,
        model_guard_core::ErrorKind::AuditConflict,
        "{refused}"
    );
}

#[tokio::test]
async fn a_violation_is_audited_as_evaluated_for_the_enforcement_machine() {
    let w = world(policy()).await;
    let model = unique("fraud-v3");
    let config = w.deployable(&model).await;
    let event_id = unique("evt");
    let endpoint = unique("ep");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "DataScientist",
            &endpoint,
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "violation");
    assert_eq!(verdict["action"], "enforce");
    assert_eq!(verdict["graceSeconds"], 600);
    // The subjects came from the emulator: the config's model and that model's role.
    assert_eq!(verdict["subjects"][0]["name"], json!(model));
    assert_eq!(verdict["subjects"][1]["name"], json!(role_arn("Exec")));
    let reasons = verdict["reasons"].to_string();
    assert!(reasons.contains("does not allow the caller"), "{reasons}");

    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "evaluated");
    assert_eq!(item["resourceKey"], json!(endpoint));
    assert_eq!(item["principal"], json!(role_arn("DataScientist")));
    snapshot!(item);
}

#[tokio::test]
async fn under_observe_mode_an_enforce_violation_is_notify_only_and_says_what_would_happen() {
    let mut observing = policy();
    if let Some(items) = observing.as_array_mut() {
        items.push(json!({"pk": "enforcement", "mode": "observe"}));
    }
    let w = world(observing).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let endpoint = unique("ep");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "DataScientist",
            &endpoint,
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(
        (
            verdict["decision"].as_str(),
            verdict["action"].as_str(),
            verdict["observed"].as_bool()
        ),
        (Some("violation"), Some("notify"), Some(true)),
        "{verdict:#}"
    );
    assert!(
        verdict["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains(&format!("would delete endpoint {endpoint}"))),
        "{verdict:#}"
    );
    // Audited as a notify-only violation: the enforcement machine sends one alert and acts on
    // nothing.
    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "evaluated");
    assert_eq!(item["verdict"], verdict);
    // The allowed near miss stays allowed, and says nothing of observing.
    let allowed = w
        .evaluate(&create_endpoint_event(
            &unique("evt"),
            "MLDeployer",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(allowed["decision"], "allow", "{allowed:#}");
    assert!(allowed.get("observed").is_none(), "{allowed:#}");
}

#[tokio::test]
async fn an_off_binding_violation_is_audited_and_nothing_else() {
    let w = world(policy()).await;
    let config = w.deployable(&unique("scratch-a")).await;
    let event_id = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "DataScientist",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(
        (verdict["decision"].as_str(), verdict["action"].as_str()),
        (Some("violation"), Some("none")),
        "{verdict:#}"
    );
    let item = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "audited");
}

#[tokio::test]
async fn a_duplicate_delivery_returns_the_stored_verdict_and_changes_nothing() {
    let w = world(policy()).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let event = create_endpoint_event(&event_id, "DataScientist", &unique("ep"), &config);
    let first = w.evaluate(&event).await.unwrap();
    let stored = audit_item(&w.config, &w.decisions, &event_id)
        .await
        .unwrap();

    // The policy changes between deliveries: the event keeps its first decision.
    put_policy(
        &w.config,
        &w.policy_table,
        &json!({"pk": "model#fraud-*", "principals": ["*"], "mode": "enforce"}),
    )
    .await;
    let second = w.evaluate(&event).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(
        audit_item(&w.config, &w.decisions, &event_id)
            .await
            .unwrap(),
        stored
    );
}

#[tokio::test]
async fn an_endpoint_config_that_is_gone_is_enforced_whatever_the_default_says() {
    let w = world(policy()).await;
    let event_id = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "MLDeployer",
            &unique("ep"),
            "no-such-config",
        ))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "violation", "{verdict:#}");
    // The default item allows MLDeployer and is notify-only: neither matters for what the guard
    // cannot see.
    assert_eq!(verdict["action"], "enforce", "{verdict:#}");
    assert_eq!(verdict["subjects"][0]["binding"], "unresolved");
    assert_eq!(verdict["subjects"][0]["resolved"], false);
    let reasons = verdict["reasons"].to_string();
    assert!(
        reasons.contains("endpoint config no-such-config was not found"),
        "{reasons}"
    );
}

#[tokio::test]
async fn an_invalid_policy_item_fails_the_evaluation_naming_the_item_and_writes_nothing() {
    let w = world(json!([{"pk": "model#x", "principals": ["*"], "mode": "sometimes"}])).await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let event_id = unique("evt");
    let error = w
        .evaluate(&create_endpoint_event(
            &event_id,
            "MLDeployer",
            &unique("ep"),
            &config,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::PolicyInvalid);
    assert!(
        error.message.contains("model#x") && error.message.contains("mode"),
        "{error}"
    );
    assert_eq!(audit_item(&w.config, &w.decisions, &event_id).await, None);
}

#[tokio::test]
async fn ignored_events_are_returned_and_not_audited() {
    let w = world(policy()).await;
    let mut event = create_endpoint_event(&unique("evt"), "MLDeployer", "ep", "cfg");
    event["detail"]["errorCode"] = json!("AccessDenied");
    event["detail"]["errorMessage"] = json!("no");
    let verdict = w.evaluate(&event).await.unwrap();
    assert_eq!(verdict["decision"], "ignored");
    let event_id = event["detail"]["eventID"].as_str().unwrap();
    assert_eq!(audit_item(&w.config, &w.decisions, event_id).await, None);
}

#[tokio::test]
async fn input_that_is_not_parse_events_output_is_refused() {
    let w = world(policy()).await;
    for bad in [
        json!({"outcome": "maybe"}),
        json!([]),
        json!({"outcome": "request"}),
    ] {
        let error = handle(bad.clone(), &w.ports, chrono::Utc::now())
            .await
            .unwrap_err();
        assert_eq!(
            error.error_type(),
            "ModelGuard.InvalidInput",
            "{bad}: {error}"
        );
    }
}

#[tokio::test]
async fn the_policy_cache_keeps_a_set_for_its_lifetime_and_no_longer() {
    let config = config().await;
    let table = policy_table(&config, &json!([{"pk": "default", "principals": ["*"]}])).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let cached = DynamoPolicyStore::new(client.clone(), &table, 60);
    let uncached = DynamoPolicyStore::new(client, &table, 0);
    let first = cached.policies().await.unwrap();
    assert_eq!(first.items().len(), 1);

    put_policy(
        &config,
        &table,
        &json!({"pk": "model#m", "principals": ["*"]}),
    )
    .await;
    let again = cached.policies().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "within 60 s the cached set is used"
    );
    assert_eq!(uncached.policies().await.unwrap().items().len(), 2);
    let _ = ACCOUNT;
}

#[tokio::test]
async fn the_policy_cache_expires_and_is_capped_at_a_minute() {
    let config = config().await;
    let table = policy_table(&config, &json!([{"pk": "default", "principals": ["*"]}])).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let short = DynamoPolicyStore::new(client.clone(), &table, 1);
    let first = short.policies().await.unwrap();
    put_policy(
        &config,
        &table,
        &json!({"pk": "model#m", "principals": ["*"]}),
    )
    .await;
    assert!(Arc::ptr_eq(&first, &short.policies().await.unwrap()));
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let fresh = short.policies().await.unwrap();
    assert!(!Arc::ptr_eq(&first, &fresh), "kept past its second");
    assert_eq!(
        fresh.items().len(),
        2,
        "the edit is read once the cache expires"
    );
    // Whatever the setting, a policy edit reaches every container within a minute.
    for asked in [60, 61, 3600, u64::MAX] {
        let store = DynamoPolicyStore::new(client.clone(), &table, asked);
        assert_eq!(store.ttl(), std::time::Duration::from_secs(60), "{asked}");
    }
    assert_eq!(
        DynamoPolicyStore::new(client, &table, 59).ttl(),
        std::time::Duration::from_secs(59)
    );
}

#[tokio::test]
async fn a_callers_role_path_the_event_left_out_is_looked_up_in_iam() {
    // A console event with an empty session issuer names the role only by its session ARN. The
    // binding allows the role at its path only: without IAM's answer, this would be a violation.
    let runner = unique("Runner");
    let arn = aws_sdk_iam::Client::new(&config().await)
        .create_role()
        .role_name(&runner)
        .path("/teams/ml/")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let w = world(json!([
        {"pk": "model#fraud-*", "principals": [format!("arn:aws:iam::{ACCOUNT}:role/teams/ml/*")]},
        {"pk": "default", "principals": [], "mode": "enforce"}
    ]))
    .await;
    let config = w.deployable(&unique("fraud-v3")).await;
    let mut event = create_endpoint_event(&unique("evt"), &runner, &unique("ep"), &config);
    event["detail"]["userIdentity"]["sessionContext"] = json!({"sessionIssuer": {}});
    let verdict = w.evaluate(&event).await.unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
    assert_eq!(verdict["principal"], arn.as_str());

    // A role IAM does not know keeps an unknown path, and the path-only binding does not match.
    let mut ghost = create_endpoint_event(&unique("evt"), &unique("Ghost"), &unique("ep"), &config);
    ghost["detail"]["userIdentity"]["sessionContext"] = json!({"sessionIssuer": {}});
    let verdict = w.evaluate(&ghost).await.unwrap();
    assert_eq!(verdict["decision"], "violation", "{verdict:#}");
    assert!(
        verdict["reasons"]
            .to_string()
            .contains("role path is not known"),
        "{verdict:#}"
    );
}

/// A CreateEndpoint event at `at` (whole seconds, as CloudTrail writes `eventTime`).
fn endpoint_event_at(caller: &str, config: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    stamped(
        create_endpoint_event(&unique("evt"), caller, &unique("ep"), config),
        at,
    )
}

#[tokio::test]
async fn a_config_re_created_with_allowed_content_right_after_the_call_is_judged_as_deployed() {
    // Attack: CreateEndpoint with a config serving a forbidden model, then within the second
    // DeleteEndpointConfig and CreateEndpointConfig under the same name with an allowed model.
    // Evaluate describes the new config; the records say what the call deployed.
    let w = world(json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce", "graceSeconds": 60},
        {"pk": "model#scratch-*", "principals": [role_arn("DataScientist")]},
        {"pk": "default", "principals": [], "mode": "notify"}
    ]))
    .await;
    let (forbidden, allowed) = (unique("fraud-v3"), unique("scratch"));
    for model in [&forbidden, &allowed] {
        w.kit.model(model, "Exec").await;
        w.keep(&model_guard_testkit::stamped(
            create_model_event(&unique("evt"), "DataScientist", model, "Exec"),
            w.kit.model_created(model).await,
        ))
        .await;
    }
    let config = unique("cfg");
    w.kit.endpoint_config(&config, &[&forbidden]).await;
    w.keep(&model_guard_testkit::stamped(
        create_endpoint_config_event(&unique("evt"), "DataScientist", &config, &[&forbidden]),
        w.kit.endpoint_config_created(&config).await,
    ))
    .await;
    let call = chrono::Utc::now();
    // Within the call's second: gone, and back with the allowed model.
    w.kit
        .client
        .delete_endpoint_config()
        .endpoint_config_name(&config)
        .send()
        .await
        .unwrap();
    let mut deleted = model_guard_testkit::cloudtrail_event(
        &unique("evt"),
        "DeleteEndpointConfig",
        "DataScientist",
        json!({"endpointConfigName": config}),
        json!(null),
    );
    deleted["detail"]["eventTime"] = json!(call.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    w.keep(&deleted).await;
    w.kit.endpoint_config(&config, &[&allowed]).await;
    let mut recreated =
        create_endpoint_config_event(&unique("evt"), "DataScientist", &config, &[&allowed]);
    recreated["detail"]["eventTime"] = deleted["detail"]["eventTime"].clone();
    w.keep(&recreated).await;

    let verdict = w
        .evaluate(&endpoint_event_at("DataScientist", &config, call))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "violation", "{verdict:#}");
    assert_eq!(verdict["action"], "enforce", "{verdict:#}");
    let names: Vec<&str> = verdict["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&forbidden.as_str()), "{names:?}");
    assert!(
        verdict["reasons"]
            .to_string()
            .contains("every version that may have been current"),
        "{verdict:#}"
    );
}

#[tokio::test]
async fn a_pipeline_that_creates_model_config_and_endpoint_within_one_second_stays_allowed() {
    let w = world(policy()).await;
    // deployable() keeps both records with the current second, as CloudTrail would; the call
    // comes right after, most often within the same second (and then only the records tell).
    let config = w.deployable(&unique("fraud-v3")).await;
    let call = chrono::Utc::now();
    let verdict = w
        .evaluate(&endpoint_event_at("MLDeployer", &config, call))
        .await
        .unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");
}

#[tokio::test]
async fn records_not_yet_arrived_are_waited_for_then_the_guard_fails_closed() {
    let mut w = world(policy()).await;
    let model = unique("fraud-v3");
    w.kit.model(&model, "Exec").await;
    let config = unique("cfg");
    w.kit.endpoint_config(&config, &[&model]).await;
    // The call in the second the config was made: only its records can say it is what was used.
    let call = w.kit.endpoint_config_created(&config).await;
    let event = endpoint_event_at("MLDeployer", &config, call);
    // Within the wait: the input back, with how long the triage waits before asking again, and
    // nothing audited yet.
    w.ports.record_wait = chrono::Duration::seconds(60);
    let pending = w.evaluate(&event).await.unwrap();
    let wait = &pending["waitForRecords"];
    assert!(
        (1..=30).contains(&wait["seconds"].as_u64().unwrap()),
        "{pending:#}"
    );
    assert!(
        wait["reason"].as_str().unwrap().contains("not on record"),
        "{pending:#}"
    );
    assert_eq!(
        pending["request"],
        serde_json::to_value(parse_event_value(&event)).unwrap()["request"],
        "the input, as it was, for the next try"
    );
    let event_id = event["detail"]["eventID"].as_str().unwrap();
    assert!(
        audit_item(&w.config, &w.decisions, event_id)
            .await
            .is_none()
    );
    // The next try, with the triage's payload as it is (waitForRecords and all).
    // The records arrive, stamped with the seconds of the calls that made them (not with now:
    // on a loaded machine that can be seconds later): allowed.
    w.keep(&stamped(
        create_model_event(&unique("evt"), "MLDeployer", &model, "Exec"),
        w.kit.model_created(&model).await,
    ))
    .await;
    w.keep(&stamped(
        create_endpoint_config_event(&unique("evt"), "MLDeployer", &config, &[&model]),
        call,
    ))
    .await;
    let verdict = w.evaluate_input(pending).await.unwrap();
    assert_eq!(verdict["decision"], "allow", "{verdict:#}");

    // A swept event arrives long after its call, perhaps with its records: the wait is counted
    // from the first try, and the triage's payload carries when that was.
    let late = unique("cfg");
    w.kit.endpoint_config(&late, &[&model]).await;
    let swept = endpoint_event_at(
        "MLDeployer",
        &late,
        w.kit.endpoint_config_created(&late).await,
    );
    let mut payload = serde_json::to_value(parse_event_value(&swept)).unwrap();
    let future_now = chrono::Utc::now() + chrono::Duration::hours(1);
    let first = handle(payload.clone(), &w.ports, future_now).await.unwrap();
    let first = serde_json::to_value(first).unwrap();
    assert!(
        first.get("waitForRecords").is_some(),
        "an hour late, still waited for: {first:#}"
    );
    payload["waitForRecords"] = first["waitForRecords"].clone();
    let given_up = handle(
        payload,
        &w.ports,
        future_now + chrono::Duration::seconds(61),
    )
    .await
    .unwrap();
    let given_up = serde_json::to_value(given_up).unwrap();
    assert_eq!(
        given_up["action"], "enforce",
        "60 s after the first try: {given_up:#}"
    );

    // They never arrive: after the wait, a violation, whatever the (notify) default says.
    let other = unique("cfg");
    w.kit.endpoint_config(&other, &[&model]).await;
    w.ports.record_wait = chrono::Duration::zero();
    let call = w.kit.endpoint_config_created(&other).await;
    let verdict = w
        .evaluate(&endpoint_event_at("MLDeployer", &other, call))
        .await
        .unwrap();
    assert_eq!(
        (&verdict["decision"], &verdict["action"]),
        (&json!("violation"), &json!("enforce")),
        "{verdict:#}"
    );
}

/// The Prod role bound to the deployer (enforced at once); anything else notify-only.
fn prod_role_bound_to_the_deployer() -> Value {
    json!([
        {"pk": format!("role#{}", role_arn("service-role/Prod")), "principals": [role_arn("MLDeployer")],
         "mode": "enforce", "graceSeconds": 0},
        {"pk": "default", "principals": ["*"], "mode": "notify"}
    ])
}

/// A training job under `role` (SageMaker's own creation time is what the guard compares).
async fn training_job(w: &World, job: &str, role: &str) -> chrono::DateTime<chrono::Utc> {
    w.kit
        .client
        .create_training_job()
        .training_job_name(job)
        .role_arn(role_arn(role))
        .algorithm_specification(
            aws_sdk_sagemaker::types::AlgorithmSpecification::builder()
                .training_image("img:1")
                .training_input_mode(aws_sdk_sagemaker::types::TrainingInputMode::File)
                .build(),
        )
        .output_data_config(
            aws_sdk_sagemaker::types::OutputDataConfig::builder()
                .s3_output_path("s3://b/o")
                .build(),
        )
        .resource_config(
            aws_sdk_sagemaker::types::ResourceConfig::builder()
                .instance_type(aws_sdk_sagemaker::types::TrainingInstanceType::MlM5Large)
                .instance_count(1)
                .volume_size_in_gb(1)
                .build(),
        )
        .stopping_condition(
            aws_sdk_sagemaker::types::StoppingCondition::builder()
                .max_runtime_in_seconds(60)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let described = w
        .kit
        .client
        .describe_training_job()
        .training_job_name(job)
        .send()
        .await
        .unwrap();
    let created = described.creation_time().unwrap();
    chrono::DateTime::from_timestamp(created.secs(), created.subsec_nanos()).unwrap()
}

/// Found by the chaos soak: CloudTrail stamps a call when it arrives, in whole seconds, and a call
/// that arrived late in its second makes its resource in the next. Such a job, by someone allowed
/// its role, was judged "another one under the same name" and failed closed (a violation of
/// `unresolved`, enforced after its grace). A job made two seconds later is another one.
#[tokio::test]
async fn a_job_made_in_the_second_after_its_call_is_the_calls_and_one_made_later_is_not() {
    let w = world(prod_role_bound_to_the_deployer()).await;
    let job = unique("tj");
    let created = training_job(&w, &job, "service-role/Prod").await;
    let stamped_before = |seconds: i64| {
        let mut event = model_guard_testkit::cloudtrail_event(
            &unique("evt"),
            "CreateTrainingJob",
            "MLDeployer",
            // CloudTrail left the parameters out: the role is the job's own, described.
            json!(null),
            json!({"trainingJobArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{job}")}),
        );
        let call =
            model_guard_core::records::whole_second(created) - chrono::Duration::seconds(seconds);
        event["detail"]["eventTime"] =
            json!(call.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        event
    };
    let verdict = w.evaluate(&stamped_before(1)).await.unwrap();
    assert_eq!(verdict["decision"], json!("allow"), "{verdict:#}");
    let verdict = w.evaluate(&stamped_before(2)).await.unwrap();
    assert_eq!(verdict["decision"], json!("violation"), "{verdict:#}");
    assert!(
        verdict["reasons"]
            .to_string()
            .contains("another one under the same name"),
        "{verdict:#}"
    );
}

#[tokio::test]
async fn what_the_event_lost_is_recovered_from_the_job_itself() {
    // Attack: hyperparameters large enough that CloudTrail leaves requestParameters out.
    let w = world(prod_role_bound_to_the_deployer()).await;
    let job = unique("tj");
    training_job(&w, &job, "service-role/Prod").await;
    let event = model_guard_testkit::cloudtrail_event(
        &unique("evt"),
        "CreateTrainingJob",
        "DataScientist",
        json!(null),
        json!({"trainingJobArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{job}")}),
    );
    let verdict = w.evaluate(&event).await.unwrap();
    assert_eq!(
        (
            &verdict["decision"],
            &verdict["action"],
            &verdict["graceSeconds"]
        ),
        (&json!("violation"), &json!("enforce"), &json!(0)),
        "{verdict:#}"
    );
    assert!(
        verdict["reasons"]
            .to_string()
            .contains("DescribeTrainingJob's RoleArn"),
        "{verdict:#}"
    );
}

fn capacity_event(event_id: &str, caller_role: &str, endpoint: &str) -> Value {
    cloudtrail_event(
        event_id,
        "UpdateEndpointWeightsAndCapacities",
        caller_role,
        json!({"endpointName": endpoint,
               "desiredWeightsAndCapacities": [{"variantName": "v0", "desiredInstanceCount": 3}]}),
        json!({"endpointArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{endpoint}")}),
    )
}

/// The starvation attack's other half: while a violation on an endpoint awaits enforcement,
/// keep it Updating with capacity changes (or swap what it serves with an update an allowed role
/// makes). Any change to it then breaks that violation's bindings: a violation with its action,
/// its approvers and no more grace than it has left. The near-miss stays untouched: a capacity
/// change with nothing awaiting enforcement is ignored (and not audited).
#[tokio::test]
async fn a_change_to_an_endpoint_awaiting_enforcement_violates_that_enforcements_bindings() {
    let w = world(policy()).await;
    let model = unique("fraud-v3");
    let config = w.deployable(&model).await;
    let endpoint = unique("ep");
    let first = unique("evt");
    let verdict = w
        .evaluate(&create_endpoint_event(
            &first,
            "DataScientist",
            &endpoint,
            &config,
        ))
        .await
        .unwrap();
    assert_eq!(verdict["action"], "enforce");

    // Capacity, by anyone, while the violation is unsettled.
    let capacity = unique("evt");
    let changed = w
        .evaluate(&capacity_event(&capacity, "MLDeployer", &endpoint))
        .await
        .unwrap();
    assert_eq!(
        (&changed["decision"], &changed["action"]),
        (&json!("violation"), &json!("enforce")),
        "{changed}"
    );
    assert_eq!(changed["approvers"], verdict["approvers"]);
    assert!(
        changed["graceSeconds"].as_u64().unwrap() <= 600,
        "{changed}"
    );
    let reasons = changed["reasons"].to_string();
    assert!(reasons.contains(&first), "{reasons}");
    assert_eq!(
        audit_item(&w.config, &w.decisions, &capacity)
            .await
            .unwrap()["state"],
        "evaluated"
    );

    // An update the caller may make on its own (MLDeployer, an allowed model): a violation too.
    let allowed_model = unique("fraud-v4");
    let allowed_config = w.deployable(&allowed_model).await;
    let update = cloudtrail_event(
        &unique("evt"),
        "UpdateEndpoint",
        "MLDeployer",
        json!({"endpointName": endpoint, "endpointConfigName": allowed_config}),
        json!({"endpointArn": format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{endpoint}")}),
    );
    let updated = w.evaluate(&update).await.unwrap();
    assert_eq!(updated["decision"], "violation", "{updated}");

    // Near-misses: nothing awaits enforcement on another endpoint; ignored, not audited.
    let other = unique("evt");
    let alone = w
        .evaluate(&capacity_event(&other, "DataScientist", &unique("ep")))
        .await
        .unwrap();
    assert_eq!(alone["decision"], "ignored", "{alone}");
    assert!(audit_item(&w.config, &w.decisions, &other).await.is_none());
}

/// A pipeline execution runs under its pipeline's role as it was at the start. Switching the
/// pipeline to a harmless role right after starting it must not launder the start: the pipeline
/// changed after the execution began and the execution names no version, so the role is
/// unresolved and the guard fails closed. The start of the unchanged pipeline is judged by the
/// role it describes (the near misses: MLDeployer allowed, DataScientist stopped).
#[tokio::test]
async fn a_pipeline_switched_to_another_role_after_its_start_cannot_launder_the_start() {
    let prod = role_arn(&unique("PipelineProd"));
    let world = world(json!([
        {"pk": format!("role#{prod}"), "principals": [role_arn("MLDeployer")], "mode": "enforce"},
        {"pk": "default", "principals": ["*"]}
    ]))
    .await;
    let sm = &world.kit.client;
    let start = |caller: &'static str, pipeline: String| async move {
        let arn = sm
            .start_pipeline_execution()
            .pipeline_name(&pipeline)
            .client_request_token(unique("token-0123456789abcdef0123456789"))
            .send()
            .await
            .unwrap()
            .pipeline_execution_arn
            .unwrap();
        cloudtrail_event(
            &unique("evt"),
            "StartPipelineExecution",
            caller,
            json!({"pipelineName": pipeline}),
            json!({"pipelineExecutionArn": arn}),
        )
    };
    let mut pipelines = Vec::new();
    for _ in 0..2 {
        let name = unique("pipe");
        sm.create_pipeline()
            .pipeline_name(&name)
            .role_arn(&prod)
            .pipeline_definition(r#"{"Version": "2020-12-01", "Steps": []}"#)
            .client_request_token(unique("token-0123456789abcdef0123456789"))
            .send()
            .await
            .unwrap();
        pipelines.push(name);
    }
    let verdict = |v: Value| {
        (
            v["decision"].clone(),
            v["action"].clone(),
            v["reasons"].clone(),
        )
    };

    let allowed = world
        .evaluate(&start("MLDeployer", pipelines[0].clone()).await)
        .await
        .unwrap();
    assert_eq!(verdict(allowed.clone()).0, "allow", "{allowed}");
    let stopped = world
        .evaluate(&start("DataScientist", pipelines[0].clone()).await)
        .await
        .unwrap();
    assert_eq!(
        (verdict(stopped.clone()).0, verdict(stopped.clone()).1),
        (json!("violation"), json!("enforce")),
        "{stopped}"
    );

    // The laundering: start, then switch the pipeline to a role the policy does not bind.
    let laundered = start("DataScientist", pipelines[1].clone()).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sm.update_pipeline()
        .pipeline_name(&pipelines[1])
        .role_arn(role_arn("Harmless"))
        .send()
        .await
        .unwrap();
    let v = world.evaluate(&laundered).await.unwrap();
    assert_eq!(
        (v["decision"].clone(), v["action"].clone()),
        (json!("violation"), json!("enforce")),
        "{v}"
    );
    assert!(
        v["reasons"]
            .to_string()
            .contains("after the execution started"),
        "{}",
        v["reasons"]
    );
}

/// The verdict of the guard's own rollback of `violation_id`: allowed, nothing to do.
fn assert_own_rollback(own: &Value, violation_id: &str) {
    assert_eq!(
        (&own["decision"], &own["action"]),
        (&json!("allow"), &json!("none")),
        "{own:#}"
    );
    assert!(
        own["reasons"][0]
            .as_str()
            .unwrap()
            .contains(&format!("own rollback of violation {violation_id}")),
        "{own:#}"
    );
}

/// Member account B, region eu-west-1, as the organization tests see it: set up with its member
/// roles, a kit acting there as its administrator, and its calls parsed by a guard that answers
/// for it.
struct Member {
    kit: SageMakerKit,
    guarded: model_guard_core::organization::Guarded,
}

const MEMBER: &str = "210987654321";

impl Member {
    async fn new(w: &World) -> Member {
        let admin = model_guard_testkit::member_account(&w.config, MEMBER).await;
        Member {
            kit: SageMakerKit::new(&model_guard_testkit::in_region(&admin, "eu-west-1")),
            guarded: model_guard_core::organization::Guarded::new(
                ACCOUNT,
                "us-east-1",
                Some(MEMBER),
            )
            .unwrap(),
        }
    }

    /// The same call made there.
    fn there(event: Value) -> Value {
        serde_json::from_str(
            &event
                .to_string()
                .replace(ACCOUNT, MEMBER)
                .replace("us-east-1", "eu-west-1"),
        )
        .unwrap()
    }

    /// ParseEvent's output for a call made there.
    fn input(&self, event: &Value) -> Value {
        serde_json::to_value(model_guard_core::parse_guarded_event(event, &self.guarded)).unwrap()
    }

    /// A model (role `Exec`) and an endpoint config for it there, under `config`, with their
    /// records as the Record function keeps them.
    async fn deployable(&self, w: &World, model: &str, config: &str) {
        self.kit.model(model, "Exec").await;
        self.kit.endpoint_config(config, &[model]).await;
        // Each create's event carries the time SageMaker gives the resource, as CloudTrail's would.
        for event in [
            model_guard_testkit::stamped(
                create_model_event(&unique("evt"), "MLDeployer", model, "Exec"),
                self.kit.model_created(model).await,
            ),
            model_guard_testkit::stamped(
                create_endpoint_config_event(&unique("evt"), "MLDeployer", config, &[model]),
                self.kit.endpoint_config_created(config).await,
            ),
        ] {
            let parsed =
                model_guard_core::parse_guarded_event(&Member::there(event), &self.guarded);
            match parsed {
                model_guard_core::ParseOutcome::Record { record, .. } => {
                    w.ports.records.put(&record).await.unwrap();
                }
                other => panic!("not a record: {other:?}"),
            }
        }
    }
}

/// One guard for an organization: a call in member account B, region eu-west-1, is judged by what
/// SageMaker says there (through B's member role), by B's records and by B's bindings. The
/// guard's own account has an endpoint config of the same name that deploys a model anyone may
/// deploy: judged at home, the violation would pass.
#[tokio::test]
async fn a_call_in_a_member_account_is_judged_by_what_is_there() {
    use model_guard_core::organization::Guarded;
    use model_guard_core::parse_guarded_event;
    let member_deployer = format!("arn:aws:iam::{MEMBER}:role/MLDeployer");
    let w = world(json!([
        {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")], "mode": "enforce",
         "graceSeconds": 600},
        {"pk": format!("model#fraud-*@{MEMBER}"), "principals": [member_deployer],
         "mode": "enforce", "graceSeconds": 600},
        {"pk": "model#scratch-*", "principals": ["*"], "mode": "off"},
        {"pk": "default", "principals": [], "mode": "notify"}
    ]))
    .await;
    let member = Member::new(&w).await;

    let config = unique("cfg");
    let scratch = unique("scratch");
    w.kit.model(&scratch, "Exec").await;
    w.kit.endpoint_config(&config, &[&scratch]).await;
    w.keep(&model_guard_testkit::stamped(
        create_model_event(&unique("evt"), "MLDeployer", &scratch, "Exec"),
        w.kit.model_created(&scratch).await,
    ))
    .await;
    w.keep(&model_guard_testkit::stamped(
        create_endpoint_config_event(&unique("evt"), "MLDeployer", &config, &[&scratch]),
        w.kit.endpoint_config_created(&config).await,
    ))
    .await;
    member.deployable(&w, &unique("fraud-v3"), &config).await;

    let judge = |caller: &'static str| {
        let event = Member::there(create_endpoint_event(
            &unique("evt"),
            caller,
            &unique("ep"),
            &config,
        ));
        w.evaluate_input(member.input(&event))
    };

    let violation = judge("DataScientist").await.unwrap();
    assert_eq!(violation["decision"], "violation", "{violation:#}");
    assert_eq!(violation["action"], "enforce", "{violation:#}");
    assert_eq!(violation["account"], MEMBER);
    assert_eq!(violation["region"], "eu-west-1");
    assert_eq!(violation["scope"], format!("{MEMBER}/eu-west-1"));
    let bindings: Vec<&str> = violation["approvers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["binding"].as_str())
        .collect();
    assert_eq!(
        bindings,
        [format!("model#fraud-*@{MEMBER}")],
        "{violation:#}"
    );
    // Its audit item is keyed where it was made.
    use model_guard_core::ports::AuditLog;
    let item = w
        .ports
        .audit
        .get(violation["eventId"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        item.resource_key.ends_with(&format!("@{MEMBER}/eu-west-1")),
        "{}",
        item.resource_key
    );
    // The member's deployer, allowed by the member's binding (not by the home deployer's).
    let allowed = judge("MLDeployer").await.unwrap();
    assert_eq!(allowed["decision"], "allow", "{allowed:#}");

    // A member whose administrators deleted the member role cannot be seen into: the
    // evaluation fails naming the account (retried, then kept in the ledger and alerted), and
    // nothing is judged from what the guard's own account holds under the same names.
    const CUT_OFF: &str = "333344445555";
    let guarded = Guarded::new(ACCOUNT, "us-east-1", Some(CUT_OFF)).unwrap();
    let event: Value = serde_json::from_str(
        &create_endpoint_event(&unique("evt"), "DataScientist", &unique("ep"), &config)
            .to_string()
            .replace(ACCOUNT, CUT_OFF),
    )
    .unwrap();
    let input = serde_json::to_value(parse_guarded_event(&event, &guarded)).unwrap();
    let error = w.evaluate_input(input).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AccessDenied, "{error}");
    assert!(
        error.message.contains(&format!(
            "cannot reach member account {CUT_OFF}: assuming arn:aws:iam::{CUT_OFF}:role/ModelGuardMember failed"
        )),
        "{error}"
    );
}

/// In a member account the guard's rollback is made through the enforce member role there (only
/// the central Enforce role may assume it): with a rollback record, its update is the guard's
/// own; the same update by the read-only member role (which Evaluate, the sweep and the scan
/// assume) is judged as anyone's.
#[tokio::test]
async fn in_a_member_account_the_guards_own_rollback_is_told_by_its_enforce_member_role() {
    let w = world(json!([
        {"pk": format!("model#fraud-*@{MEMBER}"),
         "principals": [format!("arn:aws:iam::{MEMBER}:role/MLDeployer")],
         "mode": "enforce", "graceSeconds": 600},
        {"pk": "default", "principals": [], "mode": "notify"}
    ]))
    .await;
    let member = Member::new(&w).await;
    let allowed_config = unique("cfg");
    member
        .deployable(&w, &unique("fraud-v3"), &allowed_config)
        .await;
    let other = unique("cfg");
    member.deployable(&w, &unique("fraud-v4"), &other).await;
    let endpoint = unique("ep");
    member.kit.endpoint(&endpoint, &allowed_config).await;
    let made = chrono::Utc::now() + chrono::Duration::seconds(2);
    let allowed = w
        .evaluate_input(member.input(&Member::there(stamped(
            create_endpoint_event(&unique("evt"), "MLDeployer", &endpoint, &allowed_config),
            made,
        ))))
        .await
        .unwrap();
    assert_eq!(allowed["decision"], "allow", "{allowed:#}");
    let update = |caller: &str, config: &str, at: chrono::DateTime<chrono::Utc>| {
        Member::there(stamped(
            model_guard_testkit::cloudtrail_event(
                &unique("evt"),
                "UpdateEndpoint",
                caller,
                json!({"endpointName": endpoint, "endpointConfigName": config}),
                json!(null),
            ),
            at,
        ))
    };
    let violation = w
        .evaluate_input(member.input(&update(
            "DataScientist",
            &other,
            made + chrono::Duration::seconds(1),
        )))
        .await
        .unwrap();
    assert_eq!(violation["action"], "enforce", "{violation:#}");
    assert!(violation["rollbackTo"].is_object(), "{violation:#}");

    let now = chrono::Utc::now();
    let violation_id = violation["eventId"].as_str().unwrap();
    let record = w
        .begin_rollback(violation_id, now, &endpoint, &allowed_config)
        .await;
    let after = record.at + chrono::Duration::seconds(1);
    let own = w
        .evaluate_input(member.input(&update(MEMBER_ENFORCE_ROLE, &allowed_config, after)))
        .await
        .unwrap();
    assert_own_rollback(&own, violation_id);
    let read_only = w
        .evaluate_input(member.input(&update(MEMBER_ROLE, &allowed_config, after)))
        .await
        .unwrap();
    assert_eq!(read_only["decision"], "violation", "{read_only:#}");
    assert!(
        !read_only["reasons"].to_string().contains("own rollback"),
        "{read_only:#}"
    );
}
