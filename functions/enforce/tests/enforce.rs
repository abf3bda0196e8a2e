//! Enforce against the testbed: real SageMaker resources in the emulator, really deleted or
//! stopped; busy, denied and throttled paths through the testbed's fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use enforce::Ports;
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::members::MEMBER_ENFORCE_ROLE;
use model_guard_aws::sagemaker::Enforcers;
use model_guard_core::ErrorKind;
use model_guard_testkit::{
    SageMakerKit, audit_item, config, decisions_table, held_item, places, unique, violation,
};
use serde_json::{Value, json};

struct Enforcement {
    ports: Ports<DynamoAuditLog, Enforcers>,
    config: SdkConfig,
    decisions: String,
}

impl Enforcement {
    /// Enforce's input for a violation on the resource, recorded and held as Claim leaves it,
    /// with its grace period over.
    async fn input(&self, resource_type: &str, name: &str) -> Value {
        let verdict = violation(&unique("e"), resource_type, name, "enforce", 0);
        self.input_for(&verdict).await
    }

    async fn input_for(&self, verdict: &Value) -> Value {
        held_item(
            &self.config,
            &self.decisions,
            verdict,
            chrono::Duration::seconds(-1),
        )
        .await
    }
}

async fn enforcer() -> (
    Enforcement,
    SageMakerKit,
    aws_sdk_applicationautoscaling::Client,
) {
    let config = config().await;
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&config);
    let decisions = decisions_table(&config).await;
    (
        Enforcement {
            ports: Ports {
                audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&config), &decisions),
                enforcers: Enforcers::new(places(&config, MEMBER_ENFORCE_ROLE)),
            },
            config: config.clone(),
            decisions,
        },
        SageMakerKit::new(&config),
        autoscaling,
    )
}

async fn run(
    e: &Enforcement,
    input: Value,
) -> Result<model_guard_core::enforcement::EnforcementResult, model_guard_core::GuardError> {
    enforce::handle(input, &e.ports, chrono::Utc::now()).await
}

async fn endpoint(kit: &SageMakerKit, name: &str) -> String {
    let model = unique("m");
    kit.model(&model, "Exec").await;
    let config = unique("cfg");
    kit.endpoint_config(&config, &[&model]).await;
    kit.endpoint(name, &config).await;
    model
}

#[tokio::test]
async fn an_endpoint_is_deleted_after_its_autoscaling_and_inference_components() {
    let (enforcer, kit, autoscaling) = enforcer().await;
    let name = unique("ep");
    let model = endpoint(&kit, &name).await;
    let component = unique("ic");
    kit.inference_component(&component, &name, &model).await;
    autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(format!("endpoint/{name}/variant/v0"))
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(1)
        .max_capacity(4)
        .send()
        .await
        .unwrap();

    let result = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap();

    assert_eq!(
        kit.endpoint_status(&name).await,
        None,
        "the endpoint is gone"
    );
    assert!(!kit.inference_component_exists(&component).await);
    let left = autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_ids(format!("endpoint/{name}/variant/v0"))
        .send()
        .await
        .unwrap();
    assert!(left.scalable_targets().is_empty(), "{left:?}");
    insta::assert_json_snapshot!(result, {
        ".resource.name" => "[endpoint]",
        ".resource.arn" => "[arn]",
        ".deregisteredScalableTargets[0]" => insta::dynamic_redaction(move |v, _| {
            assert_eq!(v.as_str().unwrap(), format!("endpoint/{name}/variant/v0"));
            "endpoint/[endpoint]/variant/v0"
        }),
        ".deletedInferenceComponents[0]" => insta::dynamic_redaction(move |v, _| {
            assert_eq!(v.as_str().unwrap(), component);
            "[component]"
        }),
    });
}

#[tokio::test]
async fn an_endpoint_re_created_after_the_call_is_left_alone() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    endpoint(&kit, &name).await;
    // The call was an hour ago: the endpoint there now is another one under the same name.
    let mut verdict = violation(&unique("e"), "endpoint", &name, "enforce", 0);
    verdict["eventTime"] = json!(
        (chrono::Utc::now() - chrono::Duration::hours(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let result = run(&enforcer, enforcer.input_for(&verdict).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "already-gone");
    assert!(
        result
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("re-created after the call: created at ")),
        "{result:?}"
    );
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
}

#[tokio::test]
async fn an_endpoint_already_gone_is_success_after_a_describe() {
    let (enforcer, _, _) = enforcer().await;
    let result = run(
        &enforcer,
        enforcer.input("endpoint", &unique("never-made")).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "already-gone");
}

#[tokio::test]
async fn a_creating_endpoint_is_busy_until_it_settles() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-busy-ep");
    endpoint(&kit, &name).await;
    let busy = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap_err();
    assert_eq!(busy.kind, ErrorKind::ResourceBusy, "{busy}");
    assert_eq!(busy.error_type(), "ModelGuard.ResourceBusy");
    assert!(busy.message.contains("Creating"), "{busy}");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("Creating")
    );

    tokio::time::sleep(Duration::from_secs(4)).await;
    let result = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert_eq!(result.status.as_deref(), Some("InService"));
    assert_eq!(kit.endpoint_status(&name).await, None);
}

#[tokio::test]
async fn a_creating_inference_component_is_busy() {
    let (enforcer, kit, _) = enforcer().await;
    let endpoint_name = unique("ep");
    let model = endpoint(&kit, &endpoint_name).await;
    let component = unique("fault-busy-ic");
    kit.inference_component(&component, &endpoint_name, &model)
        .await;
    let busy = run(
        &enforcer,
        enforcer.input("inference-component", &component).await,
    )
    .await
    .unwrap_err();
    assert_eq!(busy.kind, ErrorKind::ResourceBusy, "{busy}");
    // Deleting the endpoint waits for its components too.
    let busy = run(&enforcer, enforcer.input("endpoint", &endpoint_name).await)
        .await
        .unwrap_err();
    assert_eq!(busy.kind, ErrorKind::ResourceBusy, "{busy}");
    assert!(kit.inference_component_exists(&component).await);
}

#[tokio::test]
async fn an_inference_component_is_deleted() {
    let (enforcer, kit, _) = enforcer().await;
    let endpoint_name = unique("ep");
    let model = endpoint(&kit, &endpoint_name).await;
    let component = unique("ic");
    kit.inference_component(&component, &endpoint_name, &model)
        .await;
    let result = run(
        &enforcer,
        enforcer.input("inference-component", &component).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert!(!kit.inference_component_exists(&component).await);
    assert_eq!(
        kit.endpoint_status(&endpoint_name).await.as_deref(),
        Some("InService"),
        "only the component goes"
    );
    let again = run(
        &enforcer,
        enforcer.input("inference-component", &component).await,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome.as_str(), "already-gone");
}

#[tokio::test]
async fn running_jobs_are_stopped_and_a_second_stop_is_already_stopped() {
    let (enforcer, kit, _) = enforcer().await;
    let model = unique("m");
    kit.model(&model, "Exec").await;
    let jobs = [
        ("training", "training-job", unique("tj")),
        ("transform", "transform-job", unique("xj")),
        ("processing", "processing-job", unique("pj")),
        ("tuning", "hyper-parameter-tuning-job", unique("hj")),
    ];
    for (kind, _, name) in &jobs {
        match *kind {
            "training" => kit.training_job(name, "Exec").await,
            "transform" => kit.transform_job(name, &model).await,
            "processing" => kit.processing_job(name, "Exec").await,
            _ => kit.tuning_job(name, "Exec").await,
        }
        assert_eq!(kit.job_status(kind, name).await, "InProgress", "{kind}");
    }
    for (kind, resource_type, name) in &jobs {
        let result = run(&enforcer, enforcer.input(resource_type, name).await)
            .await
            .unwrap();
        assert_eq!(result.outcome.as_str(), "stopped", "{kind}");
        assert_eq!(kit.job_status(kind, name).await, "Stopped", "{kind}");
        // Not assumed from the accepted stop: a describe said so.
        assert_eq!(result.confirmed.as_deref(), Some("Stopped"), "{kind}");

        let again = run(&enforcer, enforcer.input(resource_type, name).await)
            .await
            .unwrap();
        assert_eq!(again.outcome.as_str(), "already-stopped", "{kind}");
        assert_eq!(again.status.as_deref(), Some("Stopped"), "{kind}");
    }
}

#[tokio::test]
async fn a_job_that_never_existed_is_already_gone() {
    let (enforcer, _, _) = enforcer().await;
    for resource_type in [
        "training-job",
        "transform-job",
        "processing-job",
        "hyper-parameter-tuning-job",
    ] {
        let result = run(
            &enforcer,
            enforcer.input(resource_type, &unique("nope")).await,
        )
        .await
        .unwrap();
        assert_eq!(result.outcome.as_str(), "already-gone", "{resource_type}");
    }
}

#[tokio::test]
async fn access_denied_fails_with_its_own_error_type_and_leaves_the_endpoint() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-denied-ep");
    endpoint(&kit, &name).await;
    let denied = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap_err();
    assert_eq!(denied.error_type(), "ModelGuard.AccessDenied", "{denied}");
    assert!(denied.message.contains("DeleteEndpoint"), "{denied}");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
}

/// Enforce itself records a failure no retry cures (only it can: a direct invoke of Notify
/// cannot settle an item as failed); a transient one records nothing, for the machine to retry.
#[tokio::test]
async fn a_lasting_failure_is_recorded_on_the_item_and_a_transient_one_is_not() {
    let (enforcer, kit, _) = enforcer().await;
    let denied = unique("fault-denied-ep");
    endpoint(&kit, &denied).await;
    let input = enforcer.input("endpoint", &denied).await;
    let event_id = input["eventId"].as_str().unwrap().to_owned();
    run(&enforcer, input).await.unwrap_err();
    let item = audit_item(&enforcer.config, &enforcer.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "failed", "{item}");
    assert_eq!(item["failure"]["error"], "ModelGuard.AccessDenied");
    assert_eq!(item["alertOwed"], "enforcement-failed");

    let busy = unique("fault-updating-ep");
    endpoint(&kit, &busy).await;
    let input = enforcer.input("endpoint", &busy).await;
    let event_id = input["eventId"].as_str().unwrap().to_owned();
    let error = run(&enforcer, input).await.unwrap_err();
    assert_eq!(error.error_type(), "ModelGuard.ResourceBusy", "{error}");
    let item = audit_item(&enforcer.config, &enforcer.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "evaluated", "{item}");
    assert_eq!(item.get("failure"), None);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-throttle-tj");
    kit.training_job(&name, "Exec").await;
    // The testbed throttles the first two StopTrainingJob calls; the SDK's standard retry
    // (three attempts) gets through on the third.
    let result = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
    assert_eq!(kit.job_status("training", &name).await, "Stopped");
}

#[tokio::test]
async fn anything_but_an_enforce_violation_is_refused_and_nothing_is_touched() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    endpoint(&kit, &name).await;
    let mut notify_only = violation(&unique("e"), "endpoint", &name, "notify", 0);
    notify_only["action"] = json!("notify");
    let mut allowed = violation(&unique("e"), "endpoint", &name, "none", 0);
    allowed["decision"] = json!("allow");
    for recorded in [notify_only, allowed] {
        let input = enforcer.input_for(&recorded).await;
        let refused = run(&enforcer, input).await.unwrap_err();
        assert_eq!(
            refused.kind,
            ErrorKind::InvalidInput,
            "{recorded}: {refused}"
        );
    }
    for bad in [json!({"version": 2}), json!("text")] {
        let refused = run(&enforcer, bad.clone()).await.unwrap_err();
        assert_eq!(refused.kind, ErrorKind::InvalidInput, "{bad}: {refused}");
    }
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
}

#[tokio::test]
async fn throttling_that_outlasts_the_sdk_fails_as_model_guard_throttled() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-throttle-always-tj");
    kit.training_job(&name, "Exec").await;
    let throttled = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap_err();
    // The state machine retries this error type (tests/statemachine checks each Task does).
    assert_eq!(
        throttled.error_type(),
        "ModelGuard.Throttled",
        "{throttled}"
    );
    assert!(throttled.message.contains("StopTrainingJob"), "{throttled}");
}

#[tokio::test]
async fn a_5xx_that_outlasts_the_sdk_fails_as_unavailable_and_a_later_try_stops_the_job() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-5xx-tj");
    kit.training_job(&name, "Exec").await;
    let unavailable = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap_err();
    assert_eq!(
        unavailable.error_type(),
        "ModelGuard.Unavailable",
        "{unavailable}"
    );
    // The testbed fails the first three calls of each action; the SDK made three attempts, so
    // the next try's stop goes through. Its confirming describe is a new action, failed three
    // times in its turn: unavailable again (the machine retries it), and the try after that finds
    // the job stopped, confirmed by the describe.
    let again = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap_err();
    assert_eq!(again.error_type(), "ModelGuard.Unavailable", "{again}");
    assert!(again.message.contains("DescribeTrainingJob"), "{again}");
    assert_eq!(kit.job_status("training", &name).await, "Stopped");
    let result = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "already-stopped");
    assert_eq!(result.status.as_deref(), Some("Stopped"));
}

#[tokio::test]
async fn a_denied_describe_fails_closed_and_is_never_taken_for_gone() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-denied-describe-ep");
    endpoint(&kit, &name).await;
    let denied = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap_err();
    assert_eq!(denied.error_type(), "ModelGuard.AccessDenied", "{denied}");
    assert!(denied.message.contains("DescribeEndpoint"), "{denied}");
    for resource_type in ["training-job", "inference-component"] {
        let name = unique("fault-denied-describe-x");
        let refused = run(&enforcer, enforcer.input(resource_type, &name).await)
            .await
            .unwrap_err();
        assert_eq!(refused.error_type(), "ModelGuard.AccessDenied", "{refused}");
    }
}

#[tokio::test]
async fn an_updating_endpoint_is_busy() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-updating-ep");
    endpoint(&kit, &name).await;
    let busy = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap_err();
    assert_eq!(busy.error_type(), "ModelGuard.ResourceBusy", "{busy}");
    assert!(busy.message.contains("Updating"), "{busy}");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("Updating")
    );
}

#[tokio::test]
async fn an_endpoint_already_deleting_counts_as_deleted() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-slow-delete-ep");
    endpoint(&kit, &name).await;
    let first = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap();
    assert_eq!(first.outcome.as_str(), "deleted");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("Deleting")
    );
    // A retry (or a second delivery) while SageMaker deletes it: nothing more to do.
    let again = run(&enforcer, enforcer.input("endpoint", &name).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "deleted");
    assert_eq!(again.status.as_deref(), Some("Deleting"));
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(kit.endpoint_status(&name).await, None);
}

#[tokio::test]
async fn an_endpoint_waits_for_its_inference_components_to_be_deleted() {
    let (enforcer, kit, _) = enforcer().await;
    let endpoint_name = unique("ep");
    let model = endpoint(&kit, &endpoint_name).await;
    let component = unique("fault-slow-delete-ic");
    kit.inference_component(&component, &endpoint_name, &model)
        .await;
    // The component is Deleting for 3 s, and the testbed refuses DeleteEndpoint meanwhile: the
    // endpoint is deleted only if the enforcer waited.
    let result = run(&enforcer, enforcer.input("endpoint", &endpoint_name).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert_eq!(
        result.deleted_inference_components,
        std::slice::from_ref(&component)
    );
    assert!(!kit.inference_component_exists(&component).await);
    assert_eq!(kit.endpoint_status(&endpoint_name).await, None);
}

#[tokio::test]
async fn a_stopping_job_is_already_stopped() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-slow-stop-tj");
    kit.training_job(&name, "Exec").await;
    let first = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap();
    assert_eq!(first.outcome.as_str(), "stopped");
    assert_eq!(kit.job_status("training", &name).await, "Stopping");
    let again = run(&enforcer, enforcer.input("training-job", &name).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");
    assert_eq!(again.status.as_deref(), Some("Stopping"));
}

/// The attack: someone allowed to invoke Enforce (PowerUserAccess is) hands it a made-up verdict
/// to delete an endpoint the guard never found in violation, or names a real violation before
/// its grace period ends, or for an execution that does not hold it. Before the fix Enforce
/// acted on the verdict in its input.
#[tokio::test]
async fn a_direct_invoke_acts_only_on_a_recorded_due_violation_for_its_holder() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    endpoint(&kit, &name).await;
    let made_up = violation(&unique("e"), "endpoint", &name, "enforce", 0);
    let event_id = made_up["eventId"].as_str().unwrap().to_owned();
    let cases = [
        // The old contract: a verdict in the input.
        (
            json!({"version": 1, "verdict": made_up}),
            ErrorKind::InvalidInput,
        ),
        // An eventID the guard never decided.
        (
            json!({"version": 1, "eventId": event_id, "execution": event_id}),
            ErrorKind::AuditConflict,
        ),
        // An execution named for another event.
        (
            json!({"version": 1, "eventId": event_id, "execution": "other-event"}),
            ErrorKind::InvalidInput,
        ),
    ];
    for (input, kind) in cases {
        let refused = run(&enforcer, input.clone()).await.unwrap_err();
        assert_eq!(refused.kind, kind, "{input}: {refused}");
    }
    // A real violation, its grace period running: not due.
    let pending = violation(&unique("e"), "endpoint", &name, "enforce", 600);
    let early = held_item(
        &enforcer.config,
        &enforcer.decisions,
        &pending,
        chrono::Duration::seconds(600),
    )
    .await;
    let refused = run(&enforcer, early.clone()).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::NotDue, "{refused}");
    // Due, but asked for by an execution that does not hold it (a restart name).
    let due = enforcer.input("endpoint", &name).await;
    let mut other = due.clone();
    other["execution"] = json!(format!("{}_7", due["eventId"].as_str().unwrap()));
    let refused = run(&enforcer, other).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::AuditConflict, "{refused}");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService"),
        "nothing was touched"
    );
    // The holder, once due: enforced, the item moved to enforced with the result; a retried
    // step answers the recorded result without acting again.
    let result = run(&enforcer, due.clone()).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    let item = model_guard_testkit::audit_item(
        &enforcer.config,
        &enforcer.decisions,
        due["eventId"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(item["state"], "enforced");
    assert_eq!(item["enforcement"]["outcome"], "deleted");
    let again = run(&enforcer, due).await.unwrap();
    assert_eq!(again, result);
}

/// A CreateModel violation whose binding opted into enforcement (`onCreateModel: enforce`): the
/// model is deleted, confirmed gone; a second try finds it already gone.
#[tokio::test]
async fn a_model_is_deleted_and_confirmed_gone() {
    let (enforcer, kit, _) = enforcer().await;
    let model = unique("m");
    kit.model(&model, "Exec").await;
    let input = enforcer.input("model", &model).await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert_eq!(result.confirmed.as_deref(), Some("gone"));
    let described = aws_sdk_sagemaker::Client::new(&enforcer.config)
        .describe_model()
        .model_name(&model)
        .send()
        .await;
    assert!(described.is_err(), "{described:?}");
    let again = run(&enforcer, enforcer.input("model", &model).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-gone");
}

/// A notebook instance in service is stopped (confirmed by a describe); a second try finds it
/// already stopped; one that never existed is already gone.
#[tokio::test]
async fn a_notebook_instance_is_stopped_and_a_second_stop_is_already_stopped() {
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let name = unique("nb");
    sm.create_notebook_instance()
        .notebook_instance_name(&name)
        .instance_type(aws_sdk_sagemaker::types::InstanceType::MlT3Medium)
        .role_arn(model_guard_testkit::role_arn("Exec"))
        .send()
        .await
        .unwrap();
    let result = run(&enforcer, enforcer.input("notebook-instance", &name).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
    assert!(
        matches!(result.confirmed.as_deref(), Some("Stopping" | "Stopped")),
        "{result:?}"
    );
    let again = run(&enforcer, enforcer.input("notebook-instance", &name).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");
    let ghost = run(
        &enforcer,
        enforcer.input("notebook-instance", &unique("nb")).await,
    )
    .await
    .unwrap();
    assert_eq!(ghost.outcome.as_str(), "already-gone");
}

/// An executing pipeline execution is stopped (confirmed by a describe); a second try finds it
/// already stopped; one whose pipeline never existed is already gone.
#[tokio::test]
async fn a_pipeline_execution_is_stopped_and_a_second_stop_is_already_stopped() {
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let pipeline = unique("pipe");
    sm.create_pipeline()
        .pipeline_name(&pipeline)
        .role_arn(model_guard_testkit::role_arn("Exec"))
        .pipeline_definition(r#"{"Version": "2020-12-01", "Steps": []}"#)
        .client_request_token(unique("token-0123456789abcdef0123456789"))
        .send()
        .await
        .unwrap();
    let arn = sm
        .start_pipeline_execution()
        .pipeline_name(&pipeline)
        .client_request_token(unique("token-0123456789abcdef0123456789"))
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    let input = |arn: String| {
        let mut verdict = model_guard_testkit::violation(
            &unique("e"),
            "pipeline-execution",
            arn.split_once(":pipeline/").map_or("", |(_, n)| n),
            "enforce",
            0,
        );
        verdict["resource"]["arn"] = serde_json::json!(arn);
        verdict
    };
    let result = run(&enforcer, enforcer.input_for(&input(arn.clone())).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
    assert!(
        matches!(result.confirmed.as_deref(), Some("Stopping" | "Stopped")),
        "{result:?}"
    );
    let again = run(&enforcer, enforcer.input_for(&input(arn.clone())).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");
    let ghost = arn.replace(&pipeline, &unique("pipe"));
    let ghost = run(&enforcer, enforcer.input_for(&input(ghost)).await)
        .await
        .unwrap();
    assert_eq!(ghost.outcome.as_str(), "already-gone");
}

/// A Studio app in service is deleted (confirmed by a describe); a second try finds it already
/// gone, as does one that never existed.
#[tokio::test]
async fn a_studio_app_is_deleted_and_a_second_delete_finds_it_gone() {
    use aws_sdk_sagemaker::types::{AppType, AuthMode, UserSettings};
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let domain = sm
        .create_domain()
        .domain_name(unique("dom"))
        .auth_mode(AuthMode::Iam)
        .default_user_settings(
            UserSettings::builder()
                .execution_role(model_guard_testkit::role_arn("Exec"))
                .build(),
        )
        .subnet_ids("subnet-1")
        .vpc_id("vpc-1")
        .send()
        .await
        .unwrap()
        .domain_arn
        .unwrap();
    let domain = domain.rsplit('/').next().unwrap().to_owned();
    let profile = unique("alice");
    sm.create_user_profile()
        .domain_id(&domain)
        .user_profile_name(&profile)
        .send()
        .await
        .unwrap();
    sm.create_app()
        .domain_id(&domain)
        .user_profile_name(&profile)
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .unwrap();
    let name = format!("{domain}/user-profile/{profile}/JupyterLab/default");
    let result = run(&enforcer, enforcer.input("app", &name).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert!(
        matches!(result.confirmed.as_deref(), Some("Deleting" | "Deleted")),
        "{result:?}"
    );
    let again = run(&enforcer, enforcer.input("app", &name).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-gone");
    let ghost = format!("{domain}/user-profile/{profile}/JupyterLab/never");
    let ghost = run(&enforcer, enforcer.input("app", &ghost).await)
        .await
        .unwrap();
    assert_eq!(ghost.outcome.as_str(), "already-gone");
}

/// A scheduled monitoring schedule is stopped (confirmed by a describe); a second try finds it
/// already stopped; one that never existed is already gone.
#[tokio::test]
async fn a_monitoring_schedule_is_stopped_and_a_second_stop_is_already_stopped() {
    use aws_sdk_sagemaker::types::{MonitoringScheduleConfig, MonitoringType};
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let name = unique("ms");
    sm.create_monitoring_schedule()
        .monitoring_schedule_name(&name)
        .monitoring_schedule_config(
            MonitoringScheduleConfig::builder()
                .monitoring_job_definition_name("dq")
                .monitoring_type(MonitoringType::DataQuality)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let result = run(
        &enforcer,
        enforcer.input("monitoring-schedule", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
    assert_eq!(result.confirmed.as_deref(), Some("Stopped"), "{result:?}");
    let again = run(
        &enforcer,
        enforcer.input("monitoring-schedule", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");
    let ghost = run(
        &enforcer,
        enforcer.input("monitoring-schedule", &unique("ms")).await,
    )
    .await
    .unwrap();
    assert_eq!(ghost.outcome.as_str(), "already-gone");
}

/// A running MLflow tracking server under the Exec role.
async fn mlflow_tracking_server(sm: &aws_sdk_sagemaker::Client, name: &str) {
    sm.create_mlflow_tracking_server()
        .tracking_server_name(name)
        .artifact_store_uri("s3://b/mlflow")
        .role_arn(model_guard_testkit::role_arn("Exec"))
        .send()
        .await
        .unwrap();
}

/// A running MLflow tracking server is stopped (confirmed by a describe); a second try finds it
/// already stopped; one that never existed is already gone.
#[tokio::test]
async fn an_mlflow_tracking_server_is_stopped_and_a_second_stop_is_already_stopped() {
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let name = unique("mlf");
    mlflow_tracking_server(&sm, &name).await;
    let result = run(
        &enforcer,
        enforcer.input("mlflow-tracking-server", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
    assert!(
        matches!(result.confirmed.as_deref(), Some("Stopping" | "Stopped")),
        "{result:?}"
    );
    let again = run(
        &enforcer,
        enforcer.input("mlflow-tracking-server", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");
    let ghost = run(
        &enforcer,
        enforcer
            .input("mlflow-tracking-server", &unique("mlf"))
            .await,
    )
    .await
    .unwrap();
    assert_eq!(ghost.outcome.as_str(), "already-gone");
}

/// The guard's stop took effect but its answer was lost (a 500); the SDK's retry is refused, the
/// server being already stopping. Found by the chaos soak: that refusal failed the enforcement
/// ("enforcement failed" alerted, the item `failed`) though the server was stopped. SageMaker's
/// status now settles it: already stopped.
#[tokio::test]
async fn a_stop_whose_answer_was_lost_is_already_stopped_not_failed() {
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let name = unique("fault-lost-answer-mlf");
    mlflow_tracking_server(&sm, &name).await;
    let result = run(
        &enforcer,
        enforcer.input("mlflow-tracking-server", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "already-stopped", "{result:?}");
    assert_eq!(result.status.as_deref(), Some("Stopping"), "{result:?}");
}

/// A HyperPod cluster, named by its ARN as the guard names it.
async fn hyperpod_cluster(sm: &aws_sdk_sagemaker::Client, name: &str) -> String {
    use aws_sdk_sagemaker::types::{ClusterInstanceGroupSpecification, ClusterLifeCycleConfig};
    let group = ClusterInstanceGroupSpecification::builder()
        .instance_group_name("workers")
        .instance_type("ml.g5.8xlarge".into())
        .instance_count(1)
        .threads_per_core(1)
        .execution_role(model_guard_testkit::role_arn("Exec"))
        .life_cycle_config(
            ClusterLifeCycleConfig::builder()
                .source_s3_uri("s3://sagemaker-lifecycle/hyperpod/")
                .on_create("on_create.sh")
                .build(),
        )
        .build();
    let created = sm
        .create_cluster()
        .cluster_name(name)
        .instance_groups(group)
        .send()
        .await
        .unwrap();
    created.cluster_arn().unwrap().to_owned()
}

/// A cluster is deleted (a describe then finds it deleting or gone); a second try finds it
/// already gone; one created after the call is another cluster, left alone.
#[tokio::test]
async fn a_hyperpod_cluster_is_deleted_and_one_re_created_after_the_call_is_left_alone() {
    let (enforcer, _, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let arn = hyperpod_cluster(&sm, &unique("hp")).await;
    let result = run(&enforcer, enforcer.input("cluster", &arn).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert_eq!(result.status.as_deref(), Some("InService"));
    assert!(
        matches!(result.confirmed.as_deref(), Some("Deleting" | "gone")),
        "{result:?}"
    );
    let again = run(&enforcer, enforcer.input("cluster", &arn).await)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-gone");

    let name = unique("hp");
    let arn = hyperpod_cluster(&sm, &name).await;
    let mut verdict = violation(&unique("e"), "cluster", &arn, "enforce", 0);
    verdict["eventTime"] = json!(
        (chrono::Utc::now() - chrono::Duration::hours(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let result = run(&enforcer, enforcer.input_for(&verdict).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "already-gone");
    assert!(
        result
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("re-created after the call")),
        "{result:?}"
    );
    let still = sm
        .describe_cluster()
        .cluster_name(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.cluster_status().map(|s| s.as_str()),
        Some("InService")
    );
}

/// A shadow-mode inference experiment on `endpoint`: `production` serves, `shadow` is tried.
async fn inference_experiment(sm: &aws_sdk_sagemaker::Client, name: &str, endpoint: &str) {
    use aws_sdk_sagemaker::types::{
        InferenceExperimentType, ModelInfrastructureConfig, ModelInfrastructureType,
        ModelVariantConfig, RealTimeInferenceConfig, ShadowModeConfig, ShadowModelVariantConfig,
    };
    let infra = ModelInfrastructureConfig::builder()
        .infrastructure_type(ModelInfrastructureType::RealTimeInference)
        .real_time_inference_config(
            RealTimeInferenceConfig::builder()
                .instance_type("ml.m5.xlarge".into())
                .instance_count(1)
                .build(),
        )
        .build();
    let variant = |model: &str, variant: &str| {
        ModelVariantConfig::builder()
            .model_name(model)
            .variant_name(variant)
            .infrastructure_config(infra.clone())
            .build()
    };
    sm.create_inference_experiment()
        .name(name)
        .r#type(InferenceExperimentType::ShadowMode)
        .role_arn(model_guard_testkit::role_arn("Exec"))
        .endpoint_name(endpoint)
        .model_variants(variant("prod-model", "production"))
        .model_variants(variant("shadow-model", "shadow"))
        .shadow_mode_config(
            ShadowModeConfig::builder()
                .source_model_variant_name("production")
                .shadow_model_variants(
                    ShadowModelVariantConfig::builder()
                        .shadow_model_variant_name("shadow")
                        .sampling_percentage(50)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A running experiment is stopped with its shadow variant removed and its production variant
/// kept; a second try finds it already stopped. A promotion's endpoint is deleted.
#[tokio::test]
async fn an_inference_experiment_is_stopped_keeping_production_and_a_promotions_endpoint_is_deleted()
 {
    let (enforcer, kit, _) = enforcer().await;
    let sm = aws_sdk_sagemaker::Client::new(&enforcer.config);
    let name = unique("ie");
    inference_experiment(&sm, &name, "ep").await;
    let result = run(
        &enforcer,
        enforcer.input("inference-experiment", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
    assert_eq!(result.confirmed.as_deref(), Some("Stopping"), "{result:?}");
    let after = sm
        .describe_inference_experiment()
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().map(|s| s.as_str()), Some("Cancelled"));
    let statuses: Vec<(&str, &str)> = after
        .model_variants()
        .iter()
        .map(|v| {
            (
                v.variant_name().unwrap_or_default(),
                v.status().map(|s| s.as_str()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("production", "InService"), ("shadow", "Deleted")]
    );
    let again = run(
        &enforcer,
        enforcer.input("inference-experiment", &name).await,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");

    let promoted = unique("ie");
    let endpoint_name = unique("ep");
    endpoint(&kit, &endpoint_name).await;
    inference_experiment(&sm, &promoted, &endpoint_name).await;
    let result = run(
        &enforcer,
        enforcer.input("promoted-endpoint", &promoted).await,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    assert!(
        result
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with(&format!("endpoint {endpoint_name}"))),
        "{result:?}"
    );
    assert_eq!(kit.endpoint_status(&endpoint_name).await, None);

    // An experiment re-created under the name after the promotion, on an endpoint (anyone's)
    // older than the call: not where the promotion landed. Nothing is deleted; the enforcement
    // fails, loudly.
    let recreated = unique("ie");
    let bystander = unique("ep");
    endpoint(&kit, &bystander).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let verdict = violation(&unique("e"), "promoted-endpoint", &recreated, "enforce", 0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    inference_experiment(&sm, &recreated, &bystander).await;
    let failed = run(&enforcer, enforcer.input_for(&verdict).await).await;
    match failed {
        Err(e) => assert!(e.message.contains("is not the call's"), "{e:?}"),
        Ok(result) => panic!("acted on another experiment's endpoint: {result:?}"),
    }
    assert_eq!(
        kit.endpoint_status(&bystander).await.as_deref(),
        Some("InService")
    );
}

/// An endpoint serving an allowed config, then updated to another; the verdict of that update,
/// naming the allowed config to roll back to, recorded and held, grace over. Returns Enforce's
/// input, the allowed config and its model.
async fn updated_endpoint(
    enforcement: &Enforcement,
    kit: &SageMakerKit,
    name: &str,
) -> (Value, String, String) {
    let model = endpoint(kit, name).await;
    let allowed = kit.settled_endpoint(name).await.1;
    // The allowed deployment: just now, after its config and model were made.
    let deployed_at = chrono::Utc::now().to_rfc3339();
    let forbidden_model = unique("m");
    kit.model(&forbidden_model, "Exec").await;
    let forbidden = unique("cfg");
    kit.endpoint_config(&forbidden, &[&forbidden_model]).await;
    kit.update_endpoint(name, &forbidden).await;
    assert_eq!(kit.settled_endpoint(name).await.1, forbidden);
    let mut verdict = violation(&unique("e"), "endpoint", name, "enforce", 0);
    verdict["eventName"] = json!("UpdateEndpoint");
    verdict["rollbackTo"] = json!({
        "eventId": "the-allowed-deployment",
        "config": {"kind": "endpoint-config", "name": allowed, "models": [model]},
        "deployedAt": deployed_at
    });
    (enforcement.input_for(&verdict).await, allowed, model)
}

#[tokio::test]
async fn a_violating_update_is_rolled_back_to_the_allowed_config_and_stays_in_service() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    let (input, allowed, _) = updated_endpoint(&enforcer, &kit, &name).await;
    let event_id = input["eventId"].as_str().unwrap().to_owned();

    let result = run(&enforcer, input.clone()).await.unwrap();

    assert_eq!(
        kit.settled_endpoint(&name).await,
        ("InService".to_owned(), allowed.clone())
    );
    let item = audit_item(&enforcer.config, &enforcer.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["state"], "enforced");
    assert_eq!(item["enforcement"]["outcome"], "rolled-back");
    assert_eq!(item["enforcement"]["restored"]["config"]["name"], allowed);
    // Written before the update, for Evaluate to know the update that follows for the guard's.
    assert_eq!(item["rollback"]["to"], allowed);
    assert_eq!(item["rollback"]["resource"], name);
    insta::assert_json_snapshot!("rolled-back", result, {
        ".resource.name" => "[endpoint]",
        ".resource.arn" => "[arn]",
        ".restored.config.name" => "[config]",
        ".restored.config.models[0]" => "[model]",
        ".restored.deployedAt" => "[time]",
    });
    // A retried step answers what was done, and does nothing again.
    assert_eq!(run(&enforcer, input).await.unwrap(), result);
}

#[tokio::test]
async fn an_endpoint_still_updating_is_rolled_back_once_the_update_ends() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    let (input, allowed, _) = updated_endpoint(&enforcer, &kit, &name).await;
    // Someone updates it again (to the same forbidden config): Updating for a second.
    let config = kit.settled_endpoint(&name).await.1;
    kit.update_endpoint(&name, &config).await;

    let busy = run(&enforcer, input.clone()).await.unwrap_err();
    assert_eq!(busy.error_type(), "ModelGuard.ResourceBusy", "{busy}");
    assert!(busy.message.contains("Updating"), "{busy}");
    kit.settled_endpoint(&name).await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "rolled-back");
    assert_eq!(kit.settled_endpoint(&name).await.1, allowed);
}

#[tokio::test]
async fn an_endpoint_whose_allowed_config_is_gone_or_made_again_is_deleted() {
    let (enforcer, kit, _) = enforcer().await;
    // The config deleted.
    let gone = unique("ep");
    let (input, allowed, _) = updated_endpoint(&enforcer, &kit, &gone).await;
    kit.delete_endpoint_config(&allowed).await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    let why = result.not_rolled_back.unwrap();
    assert!(
        why.contains(&format!("endpoint config {allowed} is gone")),
        "{why}"
    );
    assert_eq!(kit.endpoint_status(&gone).await, None);

    // A model of the allowed config deleted and made again under its name after the call: its
    // content is not what was judged.
    let remade = unique("ep");
    let (input, _, model) = updated_endpoint(&enforcer, &kit, &remade).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    kit.delete_model(&model).await;
    kit.model(&model, "Exec").await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    let why = result.not_rolled_back.unwrap();
    assert!(
        why.contains(&format!(
            "model {model} was made again after the allowed deployment"
        )),
        "{why}"
    );
    assert_eq!(kit.endpoint_status(&remade).await, None);
}

#[tokio::test]
async fn a_model_made_again_while_the_rollback_deploys_gets_the_endpoint_deleted() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    let (input, allowed, model) = updated_endpoint(&enforcer, &kit, &name).await;
    // Later than the call, so a model made now is not the one judged.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let enforcement = tokio::spawn(async move { run(&enforcer, input).await });
    // The rollback's UpdateEndpoint under way (Updating on the testbed for a second): the model
    // it deploys is deleted and made again under its name, after Enforce checked it.
    let mut updating = false;
    for _ in 0..200 {
        if kit.endpoint_status(&name).await.as_deref() == Some("Updating") {
            updating = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(updating, "the rollback never updated {name}");
    kit.delete_model(&model).await;
    kit.model(&model, "Exec").await;
    let result = enforcement.await.unwrap().unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    let why = result.not_rolled_back.unwrap();
    // Made again, or caught between its deletion and its making: either way not what was
    // allowed.
    assert!(
        why.starts_with(&format!("after the rollback: model {model} was made again"))
            || why == format!("after the rollback: model {model} is gone"),
        "{why} ({allowed})"
    );
    assert_eq!(kit.endpoint_status(&name).await, None);
}

#[tokio::test]
async fn a_rollback_sagemaker_refuses_ends_the_violation_by_deleting() {
    let (enforcer, kit, _) = enforcer().await;
    // The testbed refuses this endpoint's updates, as AWS does when a model's artifact is gone;
    // the violating update is played on the verdict only.
    let name = unique("fault-refuse-update-ep");
    let model = endpoint(&kit, &name).await;
    let allowed = kit.settled_endpoint(&name).await.1;
    // The rollback is to another config of the same model (the endpoint serves `allowed`).
    let back = unique("cfg");
    kit.endpoint_config(&back, &[&model]).await;
    let mut verdict = violation(&unique("e"), "endpoint", &name, "enforce", 0);
    verdict["eventName"] = json!("UpdateEndpoint");
    verdict["rollbackTo"] = json!({
        "eventId": "the-allowed-deployment",
        "config": {"kind": "endpoint-config", "name": back, "models": [model]},
        "deployedAt": chrono::Utc::now().to_rfc3339()
    });
    let input = enforcer.input_for(&verdict).await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?} ({allowed})");
    let why = result.not_rolled_back.unwrap();
    assert!(why.starts_with("SageMaker refused the rollback"), "{why}");
    assert!(why.contains("Could not find model data"), "{why}");
    assert_eq!(kit.endpoint_status(&name).await, None);
}

#[tokio::test]
async fn a_model_made_again_before_the_violating_update_is_never_restored() {
    // The walk-around: the allowed model is deleted and made again under its name (content
    // nobody judged: by default CreateModel only alerts), then any violating update is made, for
    // the guard to deploy the new content itself, under the allowed deployment's credit.
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    let model = endpoint(&kit, &name).await;
    let allowed = kit.settled_endpoint(&name).await.1;
    let deployed_at = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    kit.delete_model(&model).await;
    kit.model(&model, "Exec").await;
    let forbidden_model = unique("m");
    kit.model(&forbidden_model, "Exec").await;
    let forbidden = unique("cfg");
    kit.endpoint_config(&forbidden, &[&forbidden_model]).await;
    kit.update_endpoint(&name, &forbidden).await;
    kit.settled_endpoint(&name).await;
    let mut verdict = violation(&unique("e"), "endpoint", &name, "enforce", 0);
    verdict["eventName"] = json!("UpdateEndpoint");
    verdict["rollbackTo"] = json!({
        "eventId": "the-allowed-deployment",
        "config": {"kind": "endpoint-config", "name": allowed, "models": [model]},
        "deployedAt": deployed_at
    });
    let result = run(&enforcer, enforcer.input_for(&verdict).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    let why = result.not_rolled_back.unwrap();
    assert!(
        why.contains(&format!(
            "model {model} was made again after the allowed deployment"
        )),
        "{why}"
    );
    assert_eq!(kit.endpoint_status(&name).await, None);
}

#[tokio::test]
async fn a_rollback_that_did_not_take_gets_the_endpoint_deleted() {
    use model_guard_core::audit::RollbackRecord;
    use model_guard_core::ports::AuditLog;
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("ep");
    let (input, allowed, _) = updated_endpoint(&enforcer, &kit, &name).await;
    // An earlier attempt began the rollback (its record), and the endpoint was updated after
    // it to yet another config: SageMaker rolled our update back, or someone changed it since.
    let event_id = input["eventId"].as_str().unwrap();
    let record = RollbackRecord {
        resource: name.clone(),
        to: allowed.clone(),
        at: chrono::Utc::now(),
    };
    enforcer
        .ports
        .audit
        .note_rollback(event_id, event_id, &record)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let other = kit.settled_endpoint(&name).await.1;
    kit.update_endpoint(&name, &other).await;
    kit.settled_endpoint(&name).await;

    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    let why = result.not_rolled_back.unwrap();
    assert!(
        why.contains(&format!("the rollback to {allowed} begun at")),
        "{why}"
    );
    assert!(why.contains("did not take"), "{why}");
    assert_eq!(kit.endpoint_status(&name).await, None);
}

/// An inference component serving an allowed model (or bare container), then updated to
/// `forbidden`; the verdict of that update, naming the allowed specification to roll back to,
/// recorded and held, grace over. Returns Enforce's input.
async fn updated_component(
    enforcement: &Enforcement,
    kit: &SageMakerKit,
    component: &str,
    allowed: aws_sdk_sagemaker::types::InferenceComponentSpecification,
    kept: Value,
    forbidden: aws_sdk_sagemaker::types::InferenceComponentSpecification,
) -> Value {
    let endpoint_name = unique("ep");
    endpoint(kit, &endpoint_name).await;
    kit.inference_component_with(component, &endpoint_name, allowed)
        .await;
    let deployed_at = chrono::Utc::now().to_rfc3339();
    kit.update_inference_component(component, forbidden).await;
    kit.settled_component(component).await;
    let mut verdict = violation(&unique("e"), "inference-component", component, "enforce", 0);
    verdict["eventName"] = json!("UpdateInferenceComponent");
    verdict["rollbackTo"] = json!({
        "eventId": "the-allowed-deployment",
        "config": kept,
        "deployedAt": deployed_at
    });
    enforcement.input_for(&verdict).await
}

async fn model_created(kit: &SageMakerKit, model: &str) -> String {
    let t = kit
        .client
        .describe_model()
        .model_name(model)
        .send()
        .await
        .unwrap()
        .creation_time()
        .copied()
        .unwrap();
    model_guard_core::audit::timestamp::format(
        &chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap(),
    )
}

/// [`updated_component`] for a component serving an allowed model, updated to a forbidden one.
/// Returns Enforce's input, the component and the allowed model.
async fn model_updated_component(
    enforcement: &Enforcement,
    kit: &SageMakerKit,
) -> (Value, String, String) {
    let allowed = unique("m");
    kit.model(&allowed, "Exec").await;
    let forbidden = unique("m");
    kit.model(&forbidden, "Exec").await;
    let component = unique("ic");
    let kept = json!({"kind": "inference-component-spec", "model": allowed,
                      "modelCreated": model_created(kit, &allowed).await});
    let input = updated_component(
        enforcement,
        kit,
        &component,
        model_spec(&allowed),
        kept,
        model_spec(&forbidden),
    )
    .await;
    (input, component, allowed)
}

fn model_spec(model: &str) -> aws_sdk_sagemaker::types::InferenceComponentSpecification {
    aws_sdk_sagemaker::types::InferenceComponentSpecification::builder()
        .model_name(model)
        .build()
}

#[tokio::test]
async fn a_component_updated_to_a_forbidden_model_gets_its_allowed_specification_back() {
    let (enforcer, kit, _) = enforcer().await;
    let (input, component, allowed) = model_updated_component(&enforcer, &kit).await;
    let event_id = input["eventId"].as_str().unwrap().to_owned();

    let result = run(&enforcer, input.clone()).await.unwrap();

    assert_eq!(result.outcome.as_str(), "rolled-back", "{result:?}");
    let now = kit.settled_component(&component).await;
    assert_eq!(
        now.inference_component_status().map(|s| s.as_str()),
        Some("InService")
    );
    assert_eq!(
        now.specification().and_then(|s| s.model_name()),
        Some(allowed.as_str())
    );
    let item = audit_item(&enforcer.config, &enforcer.decisions, &event_id)
        .await
        .unwrap();
    assert_eq!(item["enforcement"]["restored"]["config"]["model"], allowed);
    // Written before the update: what Evaluate recognises the guard's own update by.
    assert_eq!(item["rollback"]["resource"], component);
    assert_eq!(item["rollback"]["to"], format!("model {allowed}"));
    // A retried step answers what was done, and does nothing again.
    assert_eq!(run(&enforcer, input).await.unwrap(), result);
}

/// A model deleted and made again under the allowed name since the allowed deployment has
/// content nobody judged: never restored, the component is deleted. Likewise a container whose
/// environment the violating update changed (the guard keeps only its hash).
#[tokio::test]
async fn a_component_whose_allowed_model_was_made_again_or_environment_changed_is_deleted() {
    use aws_sdk_sagemaker::types::InferenceComponentContainerSpecification;
    let (enforcer, kit, _) = enforcer().await;
    let (input, component, allowed) = model_updated_component(&enforcer, &kit).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    kit.delete_model(&allowed).await;
    kit.model(&allowed, "Exec").await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    let why = result.not_rolled_back.clone().unwrap_or_default();
    assert!(why.contains(&format!("model {allowed} was made")), "{why}");
    assert!(!kit.inference_component_exists(&component).await);

    // A bare container: its environment changed with the forbidden image.
    let container = |image: &str, value: &str| {
        aws_sdk_sagemaker::types::InferenceComponentSpecification::builder()
            .container(
                InferenceComponentContainerSpecification::builder()
                    .image(image)
                    .environment("MODEL_ID", value)
                    .build(),
            )
            .build()
    };
    let bare = unique("ic");
    let kept = json!({"kind": "inference-component-spec", "image": "allowed:1",
                      "environmentSha256": model_guard_core::contract::ComponentSpec::environment_hash([("MODEL_ID", "allowed")])});
    let input = updated_component(
        &enforcer,
        &kit,
        &bare,
        container("allowed:1", "allowed"),
        kept,
        container("forbidden:1", "forbidden"),
    )
    .await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    assert!(
        result
            .not_rolled_back
            .as_deref()
            .unwrap_or_default()
            .contains("environment is not the allowed one"),
        "{result:?}"
    );
    assert!(!kit.inference_component_exists(&bare).await);
}

/// A bare container updated to a forbidden image, its environment left as it was: the allowed
/// image comes back, with that environment.
#[tokio::test]
async fn a_bare_container_component_gets_its_allowed_image_back() {
    use aws_sdk_sagemaker::types::InferenceComponentContainerSpecification;
    let (enforcer, kit, _) = enforcer().await;
    let container = |image: &str| {
        aws_sdk_sagemaker::types::InferenceComponentSpecification::builder()
            .container(
                InferenceComponentContainerSpecification::builder()
                    .image(image)
                    .artifact_url("s3://models/llm.tar.gz")
                    .environment("MODEL_ID", "allowed")
                    .build(),
            )
            .build()
    };
    let component = unique("ic");
    let kept = json!({"kind": "inference-component-spec", "image": "allowed:1",
                      "artifactUrl": "s3://models/llm.tar.gz",
                      "environmentSha256": model_guard_core::contract::ComponentSpec::environment_hash([("MODEL_ID", "allowed")])});
    let input = updated_component(
        &enforcer,
        &kit,
        &component,
        container("allowed:1"),
        kept,
        container("forbidden:1"),
    )
    .await;
    let result = run(&enforcer, input).await.unwrap();
    assert_eq!(result.outcome.as_str(), "rolled-back", "{result:?}");
    let now = kit.settled_component(&component).await;
    let served = now.specification().and_then(|s| s.container()).unwrap();
    assert_eq!(
        served.deployed_image().and_then(|d| d.specified_image()),
        Some("allowed:1")
    );
    assert_eq!(served.artifact_url(), Some("s3://models/llm.tar.gz"));
    assert_eq!(
        served
            .environment()
            .and_then(|e| e.get("MODEL_ID"))
            .map(String::as_str),
        Some("allowed")
    );
}

/// One guard for an organization: a violation in member account B, region eu-west-1, is enforced
/// there through B's enforce member role, and the guard's own endpoint of the same name is left
/// alone. A member whose administrators deleted that role fails the enforcement naming the
/// account (the item is `failed`, with the cause, for the failure alert).
#[tokio::test]
async fn a_violation_in_a_member_account_is_enforced_there() {
    const MEMBER: &str = "210987654321";
    let (enforcer, kit, _) = enforcer().await;
    let admin = model_guard_testkit::member_account(&enforcer.config, MEMBER).await;
    let member_kit = SageMakerKit::new(&model_guard_testkit::in_region(&admin, "eu-west-1"));
    let name = unique("ep");
    endpoint(&kit, &name).await;
    endpoint(&member_kit, &name).await;
    let mut verdict = violation(&unique("e"), "endpoint", &name, "enforce", 0);
    verdict["account"] = json!(MEMBER);
    verdict["region"] = json!("eu-west-1");
    verdict["scope"] = json!(format!("{MEMBER}/eu-west-1"));
    let result = run(&enforcer, enforcer.input_for(&verdict).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    assert_eq!(member_kit.endpoint_status(&name).await, None);
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService"),
        "the guard's own endpoint of the same name is another resource"
    );

    // The guard's own account in another region: its functions' roles are scoped to their own
    // region, so there too it acts through its member role.
    let home_admin =
        model_guard_testkit::member_account(&enforcer.config, model_guard_testkit::ACCOUNT).await;
    let home_elsewhere = SageMakerKit::new(&model_guard_testkit::in_region(
        &enforcer.config,
        "eu-west-1",
    ));
    let other = unique("ep");
    endpoint(&home_elsewhere, &other).await;
    let mut elsewhere = violation(&unique("e"), "endpoint", &other, "enforce", 0);
    elsewhere["region"] = json!("eu-west-1");
    elsewhere["scope"] = json!(format!("{}/eu-west-1", model_guard_testkit::ACCOUNT));
    let result = run(&enforcer, enforcer.input_for(&elsewhere).await)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted", "{result:?}");
    assert_eq!(home_elsewhere.endpoint_status(&other).await, None);
    // Through that role, and only through it: without it, nothing is done there.
    model_guard_testkit::delete_role(&home_admin, MEMBER_ENFORCE_ROLE).await;
    let kept = unique("ep");
    endpoint(&home_elsewhere, &kept).await;
    let mut cut_off_here = violation(&unique("e"), "endpoint", &kept, "enforce", 0);
    cut_off_here["region"] = json!("eu-west-1");
    // (A container that assumed it before keeps its credentials until they expire.)
    let (fresh, _, _) = crate::enforcer().await;
    let refused = run(&fresh, fresh.input_for(&cut_off_here).await).await;
    model_guard_testkit::member_account(&enforcer.config, model_guard_testkit::ACCOUNT).await;
    assert_eq!(refused.unwrap_err().kind, ErrorKind::AccessDenied);
    assert_eq!(
        home_elsewhere.endpoint_status(&kept).await.as_deref(),
        Some("InService")
    );

    const CUT_OFF: &str = "333344445555";
    verdict["eventId"] = json!(unique("e"));
    verdict["account"] = json!(CUT_OFF);
    verdict["scope"] = json!(format!("{CUT_OFF}/eu-west-1"));
    let error = run(&enforcer, enforcer.input_for(&verdict).await)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::AccessDenied, "{error}");
    let item = audit_item(
        &enforcer.config,
        &enforcer.decisions,
        verdict["eventId"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(item["state"], "failed");
    let cause = item["failure"]["cause"].as_str().unwrap();
    assert!(
        cause.contains(&format!("cannot reach member account {CUT_OFF}")),
        "{cause}"
    );
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
}
