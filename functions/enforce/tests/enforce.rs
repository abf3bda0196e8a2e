//! Enforce against the testbed: real SageMaker resources in the emulator, really deleted or
//! stopped; busy, denied and throttled paths through the testbed's fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use model_guard_aws::sagemaker::SageMakerEnforcer;
use model_guard_core::ErrorKind;
use model_guard_testkit::{SageMakerKit, config, unique, violation};
use serde_json::{Value, json};

async fn enforcer() -> (
    SageMakerEnforcer,
    SageMakerKit,
    aws_sdk_applicationautoscaling::Client,
) {
    let config = config().await;
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&config);
    (
        SageMakerEnforcer::new(aws_sdk_sagemaker::Client::new(&config), autoscaling.clone()),
        SageMakerKit::new(&config),
        autoscaling,
    )
}

fn input(resource_type: &str, name: &str) -> Value {
    json!({"version": 1, "verdict": violation("e-1", resource_type, name, "enforce", 0)})
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

    let result = enforce::handle(input("endpoint", &name), &enforcer)
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
    let mut input = input("endpoint", &name);
    input["verdict"]["eventTime"] = json!(
        (chrono::Utc::now() - chrono::Duration::hours(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let result = enforce::handle(input, &enforcer).await.unwrap();
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
    let result = enforce::handle(input("endpoint", &unique("never-made")), &enforcer)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "already-gone");
}

#[tokio::test]
async fn a_creating_endpoint_is_busy_until_it_settles() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-busy-ep");
    endpoint(&kit, &name).await;
    let busy = enforce::handle(input("endpoint", &name), &enforcer)
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
    let result = enforce::handle(input("endpoint", &name), &enforcer)
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
    let busy = enforce::handle(input("inference-component", &component), &enforcer)
        .await
        .unwrap_err();
    assert_eq!(busy.kind, ErrorKind::ResourceBusy, "{busy}");
    // Deleting the endpoint waits for its components too.
    let busy = enforce::handle(input("endpoint", &endpoint_name), &enforcer)
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
    let result = enforce::handle(input("inference-component", &component), &enforcer)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "deleted");
    assert!(!kit.inference_component_exists(&component).await);
    assert_eq!(
        kit.endpoint_status(&endpoint_name).await.as_deref(),
        Some("InService"),
        "only the component goes"
    );
    let again = enforce::handle(input("inference-component", &component), &enforcer)
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
        let result = enforce::handle(input(resource_type, name), &enforcer)
            .await
            .unwrap();
        assert_eq!(result.outcome.as_str(), "stopped", "{kind}");
        assert_eq!(kit.job_status(kind, name).await, "Stopped", "{kind}");

        let again = enforce::handle(input(resource_type, name), &enforcer)
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
        let result = enforce::handle(input(resource_type, &unique("nope")), &enforcer)
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
    let denied = enforce::handle(input("endpoint", &name), &enforcer)
        .await
        .unwrap_err();
    assert_eq!(denied.error_type(), "ModelGuard.AccessDenied", "{denied}");
    assert!(denied.message.contains("DeleteEndpoint"), "{denied}");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-throttle-tj");
    kit.training_job(&name, "Exec").await;
    // The testbed throttles the first two StopTrainingJob calls; the SDK's standard retry
    // (three attempts) gets through on the third.
    let result = enforce::handle(input("training-job", &name), &enforcer)
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
    let mut notify_only = input("endpoint", &name);
    notify_only["verdict"]["action"] = json!("notify");
    let mut allowed = input("endpoint", &name);
    allowed["verdict"]["decision"] = json!("allow");
    allowed["verdict"]["action"] = json!("none");
    for bad in [notify_only, allowed, json!({"version": 2}), json!("text")] {
        let refused = enforce::handle(bad.clone(), &enforcer).await.unwrap_err();
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
    let throttled = enforce::handle(input("training-job", &name), &enforcer)
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
    let unavailable = enforce::handle(input("training-job", &name), &enforcer)
        .await
        .unwrap_err();
    assert_eq!(
        unavailable.error_type(),
        "ModelGuard.Unavailable",
        "{unavailable}"
    );
    // The testbed fails three calls; the SDK made three attempts, so the next try goes through.
    let result = enforce::handle(input("training-job", &name), &enforcer)
        .await
        .unwrap();
    assert_eq!(result.outcome.as_str(), "stopped");
}

#[tokio::test]
async fn a_denied_describe_fails_closed_and_is_never_taken_for_gone() {
    let (enforcer, kit, _) = enforcer().await;
    let name = unique("fault-denied-describe-ep");
    endpoint(&kit, &name).await;
    let denied = enforce::handle(input("endpoint", &name), &enforcer)
        .await
        .unwrap_err();
    assert_eq!(denied.error_type(), "ModelGuard.AccessDenied", "{denied}");
    assert!(denied.message.contains("DescribeEndpoint"), "{denied}");
    for resource_type in ["training-job", "inference-component"] {
        let name = unique("fault-denied-describe-x");
        let refused = enforce::handle(input(resource_type, &name), &enforcer)
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
    let busy = enforce::handle(input("endpoint", &name), &enforcer)
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
    let first = enforce::handle(input("endpoint", &name), &enforcer)
        .await
        .unwrap();
    assert_eq!(first.outcome.as_str(), "deleted");
    assert_eq!(
        kit.endpoint_status(&name).await.as_deref(),
        Some("Deleting")
    );
    // A retry (or a second delivery) while SageMaker deletes it: nothing more to do.
    let again = enforce::handle(input("endpoint", &name), &enforcer)
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
    let result = enforce::handle(input("endpoint", &endpoint_name), &enforcer)
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
    let first = enforce::handle(input("training-job", &name), &enforcer)
        .await
        .unwrap();
    assert_eq!(first.outcome.as_str(), "stopped");
    assert_eq!(kit.job_status("training", &name).await, "Stopping");
    let again = enforce::handle(input("training-job", &name), &enforcer)
        .await
        .unwrap();
    assert_eq!(again.outcome.as_str(), "already-stopped");
    assert_eq!(again.status.as_deref(), Some("Stopping"));
}
