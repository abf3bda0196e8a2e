"""End to end on the testbed: events submitted to the triage machine as EventBridge would,
through the real state machines and the real function binaries. Each scenario asserts the
resource's final state, the alerts a subscriber receives, and the audit item's terminal state."""

from __future__ import annotations

import functools
import json
import time
import uuid

import pytest

from conftest import ACCOUNT, event

MLDEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"


def test_1_an_allowed_endpoint_is_untouched_and_nobody_is_alerted(stack):
    stack.policy({"pk": "model#allowed-*", "principals": [MLDEPLOYER], "mode": "enforce"})
    _, config, endpoint = stack.endpoint("ep", "allowed")
    event_id = str(uuid.uuid4())
    triage = stack.submit(event("" + event_id, "MLDeployer", endpoint, config))
    assert triage["status"] == "SUCCEEDED", triage
    assert stack.audit(event_id)["state"] == "allowed"
    assert stack.enforcements(event_id) == []
    assert stack.endpoint_status(endpoint) == "InService"
    assert stack.messages(event_id) == []


def test_2_a_violating_endpoint_is_deleted_when_the_grace_elapses(stack):
    stack.policy({"pk": "model#graced-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 5})
    _, config, endpoint = stack.endpoint("ep", "graced")
    event_id = str(uuid.uuid4())
    triage = stack.submit(event(event_id, "DataScientist", endpoint, config))
    assert triage["status"] == "SUCCEEDED", triage
    run = stack.wait(stack.enforcement(event_id), 60)
    assert run["status"] == "SUCCEEDED", run
    assert stack.endpoint_status(endpoint) is None, stack.audit(event_id)
    kinds = [m["kind"] for m in stack.messages(event_id)]
    assert kinds == ["violation-pending", "enforced"], kinds
    item = stack.audit(event_id)
    assert item["state"] == "enforced"
    assert item["enforcement"]["outcome"] == "deleted"
    # The grace was honoured: the enforcement came no sooner than 5 s after the decision (which
    # is written before the wait starts; the pending alert is written during it).
    evaluated_at = at(next(h["at"] for h in item["history"] if h["state"] == "evaluated"))
    enforced_at = at(next(h["at"] for h in item["history"] if h["state"] == "enforced"))
    deadline = at(item["deadline"])
    assert deadline - evaluated_at >= 5.0, item
    # The Wait ends at the deadline on AWS; moto's truncates the seconds it waits
    # (`int(delta.total_seconds())`), so it may end up to 1 s before.
    assert enforced_at >= deadline - 1.0, item


def at(stamp: str) -> float:
    import datetime as dt
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_6_a_notify_only_binding_keeps_the_endpoint_with_one_alert(stack):
    stack.policy({"pk": "model#reported-*", "principals": [MLDEPLOYER], "mode": "notify"})
    _, config, endpoint = stack.endpoint("ep", "reported")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 30)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) == "InService"
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-notify-only"]
    assert stack.audit(event_id)["state"] == "notified"


def register_key(caller_arn: str) -> tuple[str, str]:
    """Access keys for `caller_arn`, registered with the testbed: the Function URL stand-in and
    STS GetCallerIdentity take signatures made with them as the caller's."""
    import os
    import urllib.request

    key_id, secret = "ASIA" + uuid.uuid4().hex[:16].upper(), uuid.uuid4().hex
    register = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/testbed/iam/keys", method="POST",
        data=json.dumps({"accessKeyId": key_id, "secretAccessKey": secret, "arn": caller_arn}).encode())
    urllib.request.urlopen(register).read()
    return key_id, secret


def approve(stack, caller_arn: str, target: str, decision: str, reason: str = "e2e") -> dict:
    """`guardctl approve` (or `enforce-now`), the real binary, run with credentials of
    `caller_arn`: it signs the Function URL request and presigns the identity proof the function
    sends to STS. Returns the function's status and answer."""
    import os
    import re
    import subprocess

    key_id, secret = register_key(caller_arn)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
    done = subprocess.run([str(guardctl()), "--json", decision, target, "--reason", reason],
                          env=env, capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        return {"status": 200, "body": json.loads(done.stdout)}
    # guardctl's error: the function's answer, then a line with the fix.
    said = re.search(r"answered (\d+) (\S+): (.*)\nhint: ", done.stderr, re.S)
    assert said, done.stderr
    return {"status": int(said.group(1)), "body": {"error": said.group(2), "reason": said.group(3).strip()}}


@pytest.fixture(scope="module", autouse=True)
def built_guardctl():
    """guardctl is built before the first scenario: a build inside one would eat its grace."""
    guardctl()


@functools.cache
def guardctl():
    import os
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[2]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    binary = target / "debug" / "guardctl"
    subprocess.run(["cargo", "build", "--quiet", "--locked", "--bin", "guardctl"], cwd=root, check=True)
    return binary


def pending(stack, event_id: str) -> None:
    import time

    for _ in range(100):
        item = stack.audit(event_id)
        if item is not None and item["state"] == "pending":
            return
        time.sleep(0.1)
    raise AssertionError(f"{event_id} never became pending: {stack.audit(event_id)}")


def violation(stack, prefix: str, grace: int, caller: str = "DataScientist") -> tuple[str, str]:
    stack.policy({"pk": f"model#{prefix}-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": grace})
    _, config, endpoint = stack.endpoint("ep", prefix)
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, caller, endpoint, config))["status"] == "SUCCEEDED"
    return event_id, endpoint


SECURITY_OPS = f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/carol"


def test_3_an_approver_keeps_the_endpoint_within_the_grace(stack):
    event_id, endpoint = violation(stack, "kept", 30)
    pending(stack, event_id)
    answer = approve(stack, SECURITY_OPS, event_id, "approve")
    assert answer["status"] == 200, answer
    assert stack.wait(stack.enforcement(event_id), 30)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) == "InService"
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "approved"]
    item = stack.audit(event_id)
    assert item["state"] == "approved"
    assert item["approval"]["by"] == f"arn:aws:iam::{ACCOUNT}:role/SecurityOps"


def test_4_self_approval_is_refused_and_the_endpoint_is_enforced(stack):
    # The deployer is an approver of this binding too; still not for their own deployment.
    stack.policy({"pk": "model#selfish-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 3,
                  "approvers": [f"arn:aws:iam::{ACCOUNT}:role/*"]})
    _, config, endpoint = stack.endpoint("ep", "selfish")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    pending(stack, event_id)
    answer = approve(stack, f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/other-session", event_id, "approve")
    assert answer["status"] == 403, answer
    assert "made the call being judged" in answer["body"]["reason"], answer
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]
    assert stack.audit(event_id)["state"] == "enforced"


def test_5_enforce_now_deletes_before_the_grace_ends(stack):
    event_id, endpoint = violation(stack, "hasty", 600)
    pending(stack, event_id)
    assert approve(stack, SECURITY_OPS, endpoint, "enforce-now")["status"] == 200
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]
    item = stack.audit(event_id)
    assert item["state"] == "enforced"
    assert item["approval"]["decision"] == "enforce-now"
    enforced_at = next(h["at"] for h in item["history"] if h["state"] == "enforced")
    assert enforced_at < item["deadline"], "enforced before the 600 s grace ended"


def test_7_a_duplicate_delivery_makes_one_enforcement_and_one_set_of_alerts(stack):
    stack.policy({"pk": "model#twice-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("ep", "twice")
    event_id = str(uuid.uuid4())
    delivered = event(event_id, "DataScientist", endpoint, config)
    assert stack.submit(delivered)["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    again = stack.submit(delivered)
    assert again["status"] == "SUCCEEDED", again
    assert "ExecutionAlreadyExists" in json.loads(again["output"])["duplicate"]["Error"], again
    # Every enforcement execution whose input is about this event, whatever its name: one.
    assert len(stack.enforcements(event_id)) == 1
    assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"]
    assert stack.endpoint_status(endpoint) is None
    item = stack.audit(event_id)
    assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "deleted"), item
    assert [h["state"] for h in item["history"]].count("enforced") == 1, item["history"]


def test_10_an_enforcement_that_keeps_failing_alerts_and_fails(stack):
    stack.policy({"pk": "model#doomed-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("fault-denied-ep", "doomed")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    run = stack.wait(stack.enforcement(event_id), 60)
    assert run["status"] == "FAILED", run
    assert run.get("error") == "ModelGuard.EnforcementFailed", run
    assert stack.endpoint_status(endpoint) == "InService"
    messages = stack.messages(event_id)
    assert [m["kind"] for m in messages] == ["enforcement-failed"]
    item = stack.audit(event_id)
    assert item["state"] == "failed"
    assert item["failure"]["error"] == "ModelGuard.AccessDenied"


def test_11_a_model_deleted_right_after_the_call_is_enforced_whatever_the_default_says(stack):
    # The attack: deploy, then delete a model the guard has no record of (SageMaker allows it and
    # the endpoint keeps serving), so that it cannot be resolved. The default item here is
    # notify-only; what the guard cannot see is enforced anyway, as quickly as the quickest
    # binding of what it could see (2 s).
    stack.policy({"pk": "model#known-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})
    stack.policy({"pk": "default", "principals": [MLDEPLOYER], "mode": "notify"})
    known = stack.model("known")
    unknown = f"unrecorded-{uuid.uuid4().hex[:6]}"
    stack.sm.create_model(ModelName=unknown, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/Exec",
                          PrimaryContainer={"Image": "img:1"})
    config = stack.endpoint_config([known, unknown])
    endpoint = f"ep-{uuid.uuid4().hex[:6]}"
    stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    delivered = event(str(uuid.uuid4()), "MLDeployer", endpoint, config)
    stack.sm.delete_model(ModelName=unknown)
    event_id = delivered["detail"]["eventID"]
    assert stack.submit(delivered)["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    verdict = item["verdict"]
    assert (verdict["decision"], verdict["action"], verdict["graceSeconds"]) == ("violation", "enforce", 2), verdict
    gone = next(s for s in verdict["subjects"] if s["name"] == unknown)
    assert (gone["binding"], gone["resolved"]) == ("unresolved", False), gone
    assert item["state"] == "enforced"
    assert stack.endpoint_status(endpoint) is None
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]


def test_13_a_config_re_created_with_allowed_content_after_the_call_is_judged_as_deployed(stack):
    # The attack: deploy a config serving a forbidden model, then delete the config and create it
    # again under the same name with an allowed model, before Evaluate describes it.
    stack.policy({"pk": "model#racy-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    stack.policy({"pk": "model#fine-*", "principals": [f"arn:aws:iam::{ACCOUNT}:role/DataScientist"]})
    forbidden = stack.model("racy", "DataScientist")
    allowed = stack.model("fine", "DataScientist")
    config = stack.endpoint_config([forbidden], "DataScientist")
    endpoint = f"ep-{uuid.uuid4().hex[:6]}"
    stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    delivered = event(str(uuid.uuid4()), "DataScientist", endpoint, config)
    stack.sm.delete_endpoint_config(EndpointConfigName=config)
    stack.record_config(config, [], "DataScientist", "DeleteEndpointConfig")
    stack.endpoint_config([allowed], "DataScientist", name=config)
    assert stack.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"] == allowed
    assert len(stack.records("endpoint-config", config)) == 3

    event_id = delivered["detail"]["eventID"]
    assert stack.submit(delivered)["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    verdict = stack.audit(event_id)["verdict"]
    assert (verdict["decision"], verdict["action"]) == ("violation", "enforce"), verdict
    assert forbidden in [s["name"] for s in verdict["subjects"]], verdict
    assert stack.endpoint_status(endpoint) is None
    assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"]


def test_14_a_pipeline_within_one_second_stays_allowed(stack):
    # The near-miss: CreateModel, CreateEndpointConfig and CreateEndpoint in the same second.
    # Describing the config shows it was created within the call's second; its records say it
    # is what the call used.
    stack.policy({"pk": "model#quick-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    for _ in range(3):
        _, config, endpoint = stack.endpoint("ep", "quick")
        created = stack.sm.describe_endpoint_config(EndpointConfigName=config)["CreationTime"]
        delivered = event(str(uuid.uuid4()), "MLDeployer", endpoint, config)
        if delivered["detail"]["eventTime"] == created.strftime("%Y-%m-%dT%H:%M:%SZ"):
            break
    else:
        raise AssertionError("three tries and never within one second")
    event_id = delivered["detail"]["eventID"]
    assert stack.submit(delivered)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert item["state"] == "allowed", item["verdict"]["reasons"]
    assert any("judged by what it was at the call" in r for r in item["verdict"]["reasons"]), item["verdict"]["reasons"]
    assert stack.endpoint_status(endpoint) == "InService"
    assert stack.messages(event_id) == []


def test_8_violating_jobs_are_stopped(stack):
    from conftest import call

    role_name = f"jobs-{uuid.uuid4().hex[:6]}"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    stack.policy({"pk": f"role#{role_arn}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    sm = stack.sm
    model = stack.model("jobs-model", role_name=role_name)
    name = lambda p: f"{p}-{uuid.uuid4().hex[:6]}"  # noqa: E731
    training, transform, processing, tuning = name("tj"), name("xj"), name("pj"), name("hj")
    compilation = name("cj")
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
    sm.create_training_job(TrainingJobName=training, RoleArn=role_arn,
                           AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
                           OutputDataConfig={"S3OutputPath": "s3://b/o"}, ResourceConfig=resources,
                           StoppingCondition={"MaxRuntimeInSeconds": 60})
    sm.create_transform_job(TransformJobName=transform, ModelName=model,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
                            TransformOutput={"S3OutputPath": "s3://b/o"},
                            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    sm.create_processing_job(ProcessingJobName=processing, RoleArn=role_arn, AppSpecification={"ImageUri": "img:1"},
                             ProcessingResources={"ClusterConfig": resources})
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning,
        HyperParameterTuningJobConfig={"Strategy": "Bayesian", "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1}},
        TrainingJobDefinition={"RoleArn": role_arn,
                               "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
                               "OutputDataConfig": {"S3OutputPath": "s3://b/o"}, "ResourceConfig": resources,
                               "StoppingCondition": {"MaxRuntimeInSeconds": 60}})
    # One of the other jobs that run code under a role (issue 20), spelling its statuses in capitals.
    sm.create_compilation_job(
        CompilationJobName=compilation, RoleArn=role_arn,
        InputConfig={"S3Uri": "s3://b/model.tar.gz", "DataInputConfig": '{"x": [1, 3]}', "Framework": "PYTORCH"},
        OutputConfig={"S3OutputLocation": "s3://b/out", "TargetDevice": "ml_c5"},
        StoppingCondition={"MaxRuntimeInSeconds": 900})
    automl = name("aj")
    sm.create_auto_ml_job_v2(
        AutoMLJobName=automl, RoleArn=role_arn,
        AutoMLJobInputDataConfig=[{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}}],
        OutputDataConfig={"S3OutputPath": "s3://b/out"},
        AutoMLProblemTypeConfig={"TabularJobConfig": {
            "TargetAttributeName": "y", "ProblemType": "BinaryClassification",
            "CompletionCriteria": {"MaxCandidates": 1}}})
    arn = lambda kind, n: f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind}/{n}"  # noqa: E731
    calls = [
        ("CreateTrainingJob", {"trainingJobName": training, "roleArn": role_arn},
         {"trainingJobArn": arn("training-job", training)},
         lambda: sm.describe_training_job(TrainingJobName=training)["TrainingJobStatus"]),
        ("CreateTransformJob", {"transformJobName": transform, "modelName": model},
         {"transformJobArn": arn("transform-job", transform)},
         lambda: sm.describe_transform_job(TransformJobName=transform)["TransformJobStatus"]),
        ("CreateProcessingJob", {"processingJobName": processing, "roleArn": role_arn},
         {"processingJobArn": arn("processing-job", processing)},
         lambda: sm.describe_processing_job(ProcessingJobName=processing)["ProcessingJobStatus"]),
        ("CreateHyperParameterTuningJob", {"hyperParameterTuningJobName": tuning,
                                           "trainingJobDefinition": {"roleArn": role_arn}},
         {"hyperParameterTuningJobArn": arn("hyper-parameter-tuning-job", tuning)},
         lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning)[
             "HyperParameterTuningJobStatus"]),
        ("CreateCompilationJob", {"compilationJobName": compilation, "roleArn": role_arn},
         {"compilationJobArn": arn("compilation-job", compilation)},
         lambda: sm.describe_compilation_job(CompilationJobName=compilation)["CompilationJobStatus"]),
        ("CreateAutoMLJobV2", {"autoMLJobName": automl, "roleArn": role_arn},
         {"autoMLJobArn": arn("automl-job", automl)},
         lambda: sm.describe_auto_ml_job_v2(AutoMLJobName=automl)["AutoMLJobStatus"]),
    ]
    for event_name, request, response, status in calls:
        assert status().lower() == "inprogress", event_name
        event_id = str(uuid.uuid4())
        assert stack.submit(call(event_id, "DataScientist", event_name, request, response))["status"] == "SUCCEEDED"
        assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED", event_name
        assert status().lower() == "stopped", event_name
        assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"], event_name
        item = stack.audit(event_id)
        assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "stopped"), event_name


def test_9_a_failed_call_and_a_malformed_event_touch_nothing(stack):
    _, config, endpoint = stack.endpoint("ep", "untouched")
    failed_id = str(uuid.uuid4())
    failed = event(failed_id, "DataScientist", endpoint, config)
    failed["detail"]["errorCode"] = "ValidationException"
    failed["detail"]["errorMessage"] = "Cannot create already existing endpoint"
    malformed_id = str(uuid.uuid4())
    malformed = event(malformed_id, "DataScientist", endpoint, config)
    del malformed["detail"]["requestParameters"]["endpointName"]
    del malformed["detail"]["responseElements"]
    for event_id, delivered in [(failed_id, failed), (malformed_id, malformed)]:
        triage = stack.submit(delivered)
        assert triage["status"] == "SUCCEEDED", triage
        # Ignored: not audited (DESIGN.md), no enforcement, no alert.
        assert stack.audit(event_id) is None
        assert stack.enforcements(event_id) == []
        assert stack.messages(event_id, wait=0.5) == []
    assert stack.endpoint_status(endpoint) == "InService"


def sweep(stack) -> dict:
    return stack.sweep()


def test_12_a_call_eventbridge_never_delivered_is_found_by_the_sweep_and_enforced(stack):
    import os
    import urllib.request

    stack.policy({"pk": "model#missed-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("ep", "missed")
    event_id = str(uuid.uuid4())
    # CloudTrail recorded the call; EventBridge never delivered it (nothing is submitted here).
    record = event(event_id, "DataScientist", endpoint, config)["detail"]
    urllib.request.urlopen(urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/testbed/cloudtrail/records",
        data=json.dumps({"records": [record]}).encode(), method="POST"))
    assert stack.audit(event_id) is None

    report = sweep(stack)
    assert event_id in report["submitted"], report
    run = stack.swept_enforcement(event_id)
    assert run["status"] == "SUCCEEDED", run
    assert stack.endpoint_status(endpoint) is None
    assert stack.audit(event_id)["state"] == "enforced"
    assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"]

    # The next sweep overlaps the last window: it finds the event audited and submits nothing.
    again = sweep(stack)
    assert event_id not in again["submitted"], again


def test_15_a_5xx_that_outlasts_the_sdk_is_retried_by_the_state_machine(stack):
    # The testbed fails the first three calls of each action naming the endpoint with a 500: the
    # SDK's three attempts give up, Enforce fails with ModelGuard.Unavailable, and the state
    # machine's retry finishes the job.
    stack.policy({"pk": "model#flaky-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("fault-5xx-ep", "flaky")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    run = stack.wait(stack.enforcement(event_id), 120)
    assert run["status"] == "SUCCEEDED", run
    errors = stack.task_errors(run["executionArn"])
    assert "ModelGuard.Unavailable" in errors, errors
    assert stack.endpoint_status(endpoint) is None
    assert stack.audit(event_id)["state"] == "enforced"
    assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"]


def test_15b_a_step_whose_process_is_killed_is_run_again_not_taken_as_failed(stack):
    # Lambda ends an invocation whose runtime dies (out of memory, timed out, killed) with
    # Runtime.ExitError, which Step Functions reports as Lambda.Unknown. Before the retry lists
    # named them, a killed Enforce was caught as a failed enforcement: the violating endpoint was
    # kept and "enforcement failed" alerted. The testbed kills Enforce's first invocation as it
    # asks for the event (the soak kills at random moments within the invocation).
    import os
    import urllib.request

    def chaos(plan: dict) -> dict:
        url = os.environ["AWS_ENDPOINT_URL"] + "/testbed/chaos"
        urllib.request.urlopen(urllib.request.Request(url, data=json.dumps(plan).encode(), method="POST"))
        with urllib.request.urlopen(url) as answer:
            return json.load(answer)

    stack.policy({"pk": "model#killed-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("ep", "killed")
    event_id = str(uuid.uuid4())
    chaos({"seed": 1, "kill": 1.0, "killWindow": 0.0, "killOnly": ["enforce"], "killLimit": 1})
    try:
        assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
        run = stack.wait(stack.enforcement(event_id), 120)
        report = chaos({"off": True})
    finally:
        chaos({"off": True})
    assert [k["function"] for k in report["killed"]] == ["enforce"], report
    assert run["status"] == "SUCCEEDED", run
    assert "Runtime.ExitError" in stack.task_errors(run["executionArn"])
    assert stack.endpoint_status(endpoint) is None
    item = stack.audit(event_id)
    assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "deleted"), item
    assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"]


def test_16_a_model_the_guard_may_not_describe_fails_closed(stack):
    # Evaluate is refused DescribeModel on one of the config's models (and it has no record of
    # it): what it cannot see is a violation, enforced as fast as the binding it could see.
    stack.policy({"pk": "model#seen-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    seen = stack.model("seen")
    hidden = f"fault-denied-describe-m-{uuid.uuid4().hex[:6]}"
    stack.sm.create_model(ModelName=hidden, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/Exec",
                          PrimaryContainer={"Image": "img:1"})
    config = stack.endpoint_config([seen, hidden])
    endpoint = f"ep-{uuid.uuid4().hex[:6]}"
    stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "MLDeployer", endpoint, config))["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    subject = next(s for s in item["verdict"]["subjects"] if s["name"] == hidden)
    assert (subject["binding"], subject["resolved"]) == ("unresolved", False), subject
    assert any("AccessDenied" in r for r in item["verdict"]["reasons"]), item["verdict"]["reasons"]
    assert item["state"] == "enforced"
    assert stack.endpoint_status(endpoint) is None


def test_17_an_endpoint_busy_updating_is_deleted_by_the_busy_retry(stack):
    # Updating for 10 s: Enforce answers ModelGuard.ResourceBusy, and the state machine tries
    # again every BUSY_RETRY_SECONDS (1 s here) until it is InService.
    stack.policy({"pk": "model#busy-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("fault-updating-ep", "busy")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    item = stack.settled(event_id, 120)
    assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "deleted"), item
    assert item["enforcement"]["confirmed"] == "gone", item["enforcement"]
    run = stack.wait(stack.enforcement(event_id), 30)
    assert run["status"] == "SUCCEEDED", run
    assert stack.task_errors(run["executionArn"]).count("ModelGuard.ResourceBusy") >= 1, run
    assert stack.endpoint_status(endpoint) is None


def test_18_inference_components_are_waited_for_and_a_deleting_endpoint_is_deleted(stack):
    # The component is Deleting for 3 s after its delete, and the testbed refuses to delete the
    # endpoint meanwhile: Enforce waits for it, then deletes the endpoint, which stays Deleting
    # for 3 s more.
    stack.policy({"pk": "model#slow-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    model, config, endpoint = stack.endpoint("fault-slow-delete-ep", "slow")
    component = f"fault-slow-delete-ic-{uuid.uuid4().hex[:6]}"
    stack.sm.create_inference_component(InferenceComponentName=component, EndpointName=endpoint,
                                        VariantName="v0", Specification={"ModelName": model},
                                        RuntimeConfig={"CopyCount": 1})
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 90)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "deleted"), item
    assert item["enforcement"]["deletedInferenceComponents"] == [component], item["enforcement"]
    assert stack.endpoint_status(endpoint) in ("Deleting", None)


def test_19_a_job_left_stopping_is_stopped(stack):
    from conftest import call

    role_name = f"slow-{uuid.uuid4().hex[:6]}"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    stack.policy({"pk": f"role#{role_arn}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    job = f"fault-slow-stop-tj-{uuid.uuid4().hex[:6]}"
    stack.sm.create_training_job(
        TrainingJobName=job, RoleArn=role_arn,
        AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://b/o"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60})
    event_id = str(uuid.uuid4())
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{job}"
    assert stack.submit(call(event_id, "DataScientist", "CreateTrainingJob",
                             {"trainingJobName": job, "roleArn": role_arn},
                             {"trainingJobArn": arn}))["status"] == "SUCCEEDED"
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopping"
    item = stack.audit(event_id)
    assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "stopped"), item


# --- Attacks on the approval and enforcement paths (each fails against the code before the fix) ---


def function_url_event(caller_arn: str, body: dict) -> dict:
    """The Function URL event Lambda builds, with a caller of one's choosing: what anyone allowed
    lambda:InvokeFunction on the approval function can send it directly."""
    return {"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {"content-type": "application/json"},
            "requestContext": {"accountId": ACCOUNT, "apiId": "x", "domainName": "x", "http": {
                "method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1", "userAgent": "x"},
                "authorizer": {"iam": {"accessKey": "ASIAX", "accountId": ACCOUNT, "callerId": "x",
                                       "userArn": caller_arn, "userId": "x"}},
                "requestId": "r", "stage": "$default", "time": "02/Dec/2026:12:00:00 +0000", "timeEpoch": 0},
            "body": json.dumps(body), "isBase64Encoded": False}


def test_20_a_direct_invoke_of_approve_with_a_made_up_approver_approves_nothing(stack):
    event_id, endpoint = violation(stack, "forged", 8)
    pending(stack, event_id)
    lam = stack.lam
    attempts = [
        {"target": event_id, "decision": "approve", "reason": "me"},
        {"target": event_id, "decision": "approve", "reason": "me", "nonce": uuid.uuid4().hex,
         "proof": "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                  f"&X-Amz-Credential=ASIAFAKE%2F{uuid.uuid4().hex[:0]}20261202%2Fus-east-1%2Fsts%2Faws4_request"},
    ]
    for body in attempts:
        answer = json.loads(lam.invoke(FunctionName="approve",
                                       Payload=json.dumps(function_url_event(SECURITY_OPS, body)))["Payload"].read())
        assert answer["statusCode"] in (400, 403), answer
    assert stack.audit(event_id).get("approval") is None
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    assert stack.audit(event_id)["state"] == "enforced"
    refused = [m for m in stack.messages("no-event")
               if (m["document"].get("tamper") or {}).get("what") == "approval-proof-refused"
               and event_id in m["document"]["tamper"]["detail"]]
    assert len(refused) == 1, refused


def awaited_token(stack, event_id: str) -> str:
    """The task token as anyone who may read the enforcement execution's history finds it (on
    AWS the machine's customer-managed key keeps it from them; moto does not encrypt)."""
    for e in stack.history(stack.enforcement(event_id)):
        scheduled = e.get("taskScheduledEventDetails")
        if scheduled and "taskToken" in scheduled.get("parameters", ""):
            return json.loads(scheduled["parameters"])["Payload"]["taskToken"]
    raise AssertionError("no AwaitApproval task in the history")


def test_21_a_task_success_not_from_the_approval_function_is_enforced_and_alerted(stack):
    event_id, endpoint = violation(stack, "replayed", 8)
    pending(stack, event_id)
    stack.sfn.send_task_success(taskToken=awaited_token(stack, event_id), output=json.dumps({"approval": "me"}))
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    item = stack.audit(event_id)
    assert (item["state"], item.get("approval")) == ("enforced", None), item
    kinds = [m["kind"] for m in stack.messages(event_id)]
    assert kinds == ["violation-pending", "tamper", "enforced"], kinds


def test_22_a_task_failure_with_any_other_error_is_enforced(stack):
    event_id, endpoint = violation(stack, "cancelled", 8)
    pending(stack, event_id)
    stack.sfn.send_task_failure(taskToken=awaited_token(stack, event_id), error="Cancelled", cause="by me")
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    assert stack.audit(event_id)["state"] == "enforced"
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]


def test_23_a_direct_invoke_of_enforce_with_a_made_up_verdict_touches_nothing(stack):
    stack.policy({"pk": "model#innocent-*", "principals": [MLDEPLOYER], "mode": "enforce"})
    _, config, endpoint = stack.endpoint("ep", "innocent")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "MLDeployer", endpoint, config))["status"] == "SUCCEEDED"
    assert stack.audit(event_id)["state"] == "allowed"
    verdict = {"version": 1, "eventId": event_id, "eventName": "CreateEndpoint", "eventTime": None,
               "account": ACCOUNT, "region": "us-east-1", "decision": "violation", "action": "enforce",
               "graceSeconds": 0, "principal": "x", "resource": {"type": "endpoint", "name": endpoint, "arn": None},
               "subjects": [], "approvers": [], "reasons": ["made up"]}
    for payload in ({"version": 1, "verdict": verdict}, {"version": 1, "eventId": event_id, "execution": event_id}):
        response = stack.lam.invoke(FunctionName="enforce", Payload=json.dumps(payload))
        assert response.get("FunctionError") == "Unhandled", response
    assert stack.endpoint_status(endpoint) == "InService"
    assert stack.audit(event_id)["state"] == "allowed"


def test_24_an_execution_squatted_under_the_event_id_enforces_the_recorded_verdict(stack):
    stack.policy({"pk": "model#squat-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("ep", "squat")
    event_id = str(uuid.uuid4())
    # Started first, under the eventID, with an input that says "allowed": the guard's own start
    # then finds the name taken (the triage takes that as a duplicate).
    forged = {"version": 1, "verdict": {"eventId": event_id, "decision": "allow", "action": "none"}}
    stack.sfn.start_execution(stateMachineArn=stack.enforcement_arn, name=event_id, input=json.dumps(forged))
    triage = stack.submit(event(event_id, "DataScientist", endpoint, config))
    assert triage["status"] == "SUCCEEDED", triage
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    assert stack.audit(event_id)["state"] == "enforced"
    kinds = [m["kind"] for m in stack.messages(event_id)]
    assert kinds == ["tamper", "enforced"], kinds


def test_25_a_stopped_enforcement_is_restarted_by_the_sweep_and_still_enforces(stack):
    event_id, endpoint = violation(stack, "stopped", 20)
    pending(stack, event_id)
    stack.sfn.stop_execution(executionArn=stack.enforcement(event_id), error="Stopped", cause="by me")
    assert stack.describe(stack.enforcement(event_id))["status"] == "ABORTED"
    report = stack.sweep()
    assert f"{event_id}_1" in report["restarted"], report
    restart = stack.enforcement(f"{event_id}_1")
    assert stack.wait(restart, 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    item = stack.audit(event_id)
    assert (item["state"], item["execution"]) == ("enforced", f"{event_id}_1"), item
    kinds = [m["kind"] for m in stack.messages(event_id)]
    assert kinds == ["violation-pending", "tamper", "violation-pending", "enforced"], kinds


def test_26_a_broken_alert_topic_cancels_no_enforcement_and_the_alert_is_sent_once_mended(stack):
    # The attack: delete the violations topic (or break its policy or key), so that an
    # enforcement's notification fails and, before, cancelled the enforcement or lost the alert.
    stack.break_topic(stack.topic_arn)
    try:
        event_id, endpoint = violation(stack, "unheard", 3)
        ended = stack.wait(stack.enforcement(event_id), 60)
        assert (ended["status"], ended.get("error")) == ("FAILED", "ModelGuard.AlertOwed"), ended
        assert stack.endpoint_status(endpoint) is None, "enforced all the same"
        item = stack.audit(event_id)
        assert (item["state"], item.get("alertOwed")) == ("enforced", "enforced"), item
        # The guard's own topic still works: an execution squatted under a restart name is
        # alerted while the violations topic is gone.
        squat = stack.sfn.start_execution(stateMachineArn=stack.enforcement_arn, name=f"{event_id}_9",
                                          input=json.dumps({"version": 1, "eventId": event_id}))
        assert stack.wait(squat["executionArn"], 60)["status"] == "SUCCEEDED"
        tamper = stack.messages(event_id)
        assert [(m["kind"], m["topic"]) for m in tamper] == [("tamper", stack.guard_topic_arn)], tamper
    finally:
        stack.mend_topic(stack.topic_arn)
    report = stack.sweep()
    assert event_id in report["alertsSent"], report
    assert stack.audit(event_id).get("alertOwed") is None
    sent = stack.messages(event_id)[1:]
    assert [(m["kind"], m["topic"]) for m in sent] == [("enforced", stack.topic_arn)], sent


def test_27_an_endpoint_kept_busy_past_the_old_cap_is_deleted_by_executions_that_hand_over(stack):
    # The attack: keep the endpoint Updating (long health checks, blue/green waits, repeated
    # UpdateEndpointWeightsAndCapacities) for longer than the guard's busy retry lasts. Before, 16
    # attempts and the enforcement failed for good; a failed update then rolls back to the
    # forbidden config with no new event. Here (the testbed's 1 s interval, 4 attempts per
    # execution) the endpoint is Updating for its first 20 describes: the enforcement hands over
    # from execution to execution, alerting each time, and deletes it once it is free.
    import time

    stack.policy({"pk": "model#starved-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, config, endpoint = stack.endpoint("fault-busy-long-ep", "starved")
    event_id = str(uuid.uuid4())
    assert stack.submit(event(event_id, "DataScientist", endpoint, config))["status"] == "SUCCEEDED"
    deadline = time.time() + 180
    while (stack.audit(event_id) or {}).get("state") != "enforced" and time.time() < deadline:
        time.sleep(1)
    item = stack.audit(event_id)
    assert item["state"] == "enforced", item
    assert stack.endpoint_status(endpoint) is None
    runs = sorted(stack.enforcements(event_id), key=lambda r: r["startDate"])
    names = [r["name"] for r in runs]
    assert names == [event_id] + [f"{event_id}_{n}" for n in range(1, len(runs))], names
    assert len(runs) >= 5, names
    assert item["execution"] == names[-1], item
    for run in runs[:-1]:
        assert stack.wait(run["executionArn"], 30)["status"] == "SUCCEEDED", run
    attempts = sum(stack.task_errors(r["executionArn"]).count("ModelGuard.ResourceBusy") for r in runs)
    assert attempts > 16, f"{attempts} busy attempts: no more than the old cap"
    kinds = [m["kind"] for m in stack.messages(event_id)]
    assert kinds == ["enforcement-delayed"] * (len(runs) - 1) + ["enforced"], kinds


def test_28_a_direct_invoke_of_notify_cannot_settle_a_violation_as_failed(stack):
    # The attack: lambda:InvokeFunction on Notify (PowerUserAccess has it) with
    # `enforcement-failed` and a made-up error. Before, the item became `failed` and Enforce then
    # refused to act: the endpoint stayed. Only Enforce records a failure now.
    event_id, endpoint = violation(stack, "forgedfail", 6)
    pending(stack, event_id)
    forged = {"version": 1, "kind": "enforcement-failed", "eventId": event_id,
              "error": {"Error": "ModelGuard.AccessDenied", "Cause": "made up"}}
    response = stack.lam.invoke(FunctionName="notify", Payload=json.dumps(forged))
    assert response.get("FunctionError") == "Unhandled", response
    assert stack.audit(event_id)["state"] == "pending"
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    assert stack.endpoint_status(endpoint) is None
    assert stack.audit(event_id)["state"] == "enforced"
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]


def test_29_a_change_to_an_endpoint_awaiting_enforcement_is_a_violation_of_that_ones_bindings(stack):
    # The attack: while a violation on the endpoint waits out its grace, keep the endpoint busy
    # with capacity changes (UpdateEndpointWeightsAndCapacities), which alone decide nothing.
    # Made meanwhile, it is a violation of the awaiting one's bindings, and alerted as one.
    from conftest import call

    event_id, endpoint = violation(stack, "kept-busy", 30)
    pending(stack, event_id)
    change_id = str(uuid.uuid4())
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{endpoint}"
    capacity = call(change_id, "MLDeployer", "UpdateEndpointWeightsAndCapacities",
                    {"endpointName": endpoint,
                     "desiredWeightsAndCapacities": [{"variantName": "v0", "desiredInstanceCount": 2}]},
                    {"endpointArn": arn})
    assert stack.submit(capacity)["status"] == "SUCCEEDED"
    item = stack.audit(change_id)
    assert item is not None and item["verdict"]["decision"] == "violation", item
    assert event_id in item["verdict"]["reasons"][0], item["verdict"]["reasons"]
    assert item["verdict"]["graceSeconds"] <= 30
    pending(stack, change_id)
    assert [m["kind"] for m in stack.messages(change_id)] == ["violation-pending"]
    # The near-miss: the same change to an endpoint with nothing awaiting enforcement.
    _, _, other = stack.endpoint("ep", "calm")
    calm_id = str(uuid.uuid4())
    calm = call(calm_id, "MLDeployer", "UpdateEndpointWeightsAndCapacities",
                {"endpointName": other, "desiredWeightsAndCapacities": [{"variantName": "v0", "desiredInstanceCount": 2}]},
                {"endpointArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{other}"})
    assert stack.submit(calm)["status"] == "SUCCEEDED"
    assert stack.audit(calm_id) is None
    assert stack.endpoint_status(other) == "InService"


def ledger_entry(stack, event_id: str) -> dict | None:
    """The ledger's entry for an event (`undecided#<eventID>` in the decisions table), if any."""
    return stack.audit(f"undecided#{event_id}")


def register_cloudtrail(records: list[dict]) -> None:
    import os
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/testbed/cloudtrail/records",
        data=json.dumps({"records": records}).encode(), method="POST"))


def test_30_evaluations_failing_for_longer_than_the_old_window_are_all_decided_once_fixed(stack):
    import datetime
    import subprocess
    import time

    stack.policy({"pk": "model#ledger-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    _, delivered_config, delivered_endpoint = stack.endpoint("ep", "ledger")
    _, missed_config, missed_endpoint = stack.endpoint("ep", "ledger")
    # CloudTrail has both calls; EventBridge delivered one.
    delivered_id, missed_id = str(uuid.uuid4()), str(uuid.uuid4())
    delivered = event(delivered_id, "DataScientist", delivered_endpoint, delivered_config)
    missed = event(missed_id, "DataScientist", missed_endpoint, missed_config)
    register_cloudtrail([delivered["detail"], missed["detail"]])

    def checkpoint(minutes: float) -> None:
        """The sweep's checkpoint, as if its last window had ended `minutes` from now."""
        at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
        stack.ddb.put_item(TableName=stack.decisions_table, Item={
            "eventId": {"S": "sweep#checkpoint"}, "sweptUntil": {"S": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}})

    # The last sweep ended a quarter of an hour ago, so the next one's window reaches the calls.
    checkpoint(-15)

    # A bad policy item: every evaluation fails until someone fixes it.
    stack.policy({"pk": "model#broken-*", "principals": "not a list", "mode": "enforce"})
    try:
        run = stack.submit(delivered)
        assert run["status"] == "FAILED" and run.get("error") == "ModelGuard.TriageFailed", run
        entry = ledger_entry(stack, delivered_id)
        assert entry is not None, "the failed triage left no ledger entry: the event would be lost"
        assert entry["failure"]["error"] == "ModelGuard.PolicyInvalid", entry
        assert json.loads(entry["envelope"]) == delivered, "the entry keeps the event as it was delivered"

        def failed_since(event_id: str, since: str) -> dict:
            deadline = time.time() + 60
            while time.time() < deadline:
                entry = ledger_entry(stack, event_id)
                if entry and entry.get("failedAt", "") >= since:
                    return entry
                time.sleep(0.3)
            raise AssertionError(f"no failed triage of {event_id} since {since}: {ledger_entry(stack, event_id)}")

        # Someone who read the eventID starts the triage with it and content of their own, which
        # is ignored: that run ends well, and settles nothing.
        forged = {**delivered, "id": str(uuid.uuid4()),
                  "detail": {**delivered["detail"], "eventSource": "s3.amazonaws.com"}}
        assert stack.submit(forged)["status"] == "SUCCEEDED"
        assert ledger_entry(stack, delivered_id) is not None, "a forged run deleted the ledger entry"

        # The sweep finds the missed call and submits it; its triage fails too.
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        first = sweep(stack)
        assert missed_id in first["submitted"], first
        assert delivered_id in first["retried"], first
        failed_since(missed_id, started)
        failed_since(delivered_id, started)

        # Half an hour of failing evaluations later, the window has moved past them (the
        # checkpoint stands for the clock here): the old sweep forgot them. The ledger does not.
        checkpoint(+30)
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        second = sweep(stack)
        # CloudTrail's eventTime is whole seconds: the window starts at or after the calls' second
        # (a string comparison would put "…13.953Z" before "…13Z").
        assert not {missed_id, delivered_id} & set(second["submitted"]), second
        assert {missed_id, delivered_id} <= set(second["retried"]), second
        assert {missed_id, delivered_id} <= set(second["undecided"]), "the alarm's count names them"
        failed_since(missed_id, started)
        failed_since(delivered_id, started)
        # Visibly: guardctl lists both, with the cause.
        listed = subprocess.run([str(guardctl()), "undecided"], capture_output=True, text=True, check=True).stdout
        for event_id in (delivered_id, missed_id):
            line = next(line for line in listed.splitlines() if event_id in line)
            assert "ModelGuard.PolicyInvalid" in line and "CreateEndpoint" in line, listed
        assert stack.endpoint_status(delivered_endpoint) == "InService"
    finally:
        stack.ddb.delete_item(TableName=stack.policy_table, Key={"pk": {"S": "model#broken-*"}})

    # Fixed: the next sweep submits both again, and both are decided and enforced.
    third = sweep(stack)
    assert {missed_id, delivered_id} <= set(third["retried"]), third
    for event_id, endpoint in ((delivered_id, delivered_endpoint), (missed_id, missed_endpoint)):
        item = stack.settled(event_id, 60)
        assert item is not None and item["state"] == "enforced", item
        assert stack.endpoint_status(endpoint) is None
        assert ledger_entry(stack, event_id) is None, "a settled event leaves the ledger"
        assert [m["kind"] for m in stack.messages(event_id)] == ["enforced"]
    fourth = sweep(stack)
    assert not {missed_id, delivered_id} & set(fourth["retried"] + fourth["undecided"]), fourth
    checkpoint(0)


def test_30b_only_the_sweeps_runs_delete_ledger_entries_so_a_delivered_event_costs_no_delete(stack):
    """Issue 25 (cost): a delete that finds nothing is still a write on every event. A run the rule
    started does not look for a ledger entry; a run the sweep submitted (named `sweep-…`) settles
    its event's entry, only the one holding its very input."""
    stack.policy({"pk": "model#settle-*", "principals": [MLDEPLOYER], "mode": "enforce"})
    _, config, endpoint = stack.endpoint("ep", "settle")
    event_id = str(uuid.uuid4())
    allowed = event(event_id, "MLDeployer", endpoint, config)

    def entered(run: dict) -> list[str]:
        history = stack.sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]

    delivered = stack.submit(allowed)
    assert delivered["status"] == "SUCCEEDED", delivered
    assert stack.audit(event_id)["state"] == "allowed"
    assert "Settle" not in entered(delivered), entered(delivered)
    # An entry a failed run left (as NoteUndecided writes it): a delivered duplicate leaves it to
    # the sweep, and the sweep's own run of the same input takes it out.
    # The text as the sweep stores it (serde_json: compact, keys sorted), which Settle compares
    # with JsonToString of the run's input.
    envelope = json.dumps(allowed, separators=(",", ":"), sort_keys=True)
    key = {"eventId": {"S": f"undecided#{event_id}"}}
    stack.ddb.put_item(TableName=stack.decisions_table, Item={
        **key, "undecided": {"S": event_id}, "envelope": {"S": envelope},
        "firstSeenAt": {"S": "2026-01-01T00:00:00.000Z"}})
    assert stack.submit(allowed)["status"] == "SUCCEEDED"
    assert "Item" in stack.ddb.get_item(TableName=stack.decisions_table, Key=key, ConsistentRead=True), \
        "a delivered run leaves the entry to the sweep"
    arn = stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"sweep-1-{event_id}",
                                    input=envelope)["executionArn"]
    by_sweep = stack.wait(arn, 60)
    assert by_sweep["status"] == "SUCCEEDED", by_sweep
    assert "Settle" in entered(by_sweep), entered(by_sweep)
    assert "Item" not in stack.ddb.get_item(TableName=stack.decisions_table, Key=key, ConsistentRead=True), \
        "the sweep's run settles the entry"
    assert stack.audit(event_id)["state"] == "allowed" and stack.endpoint_status(endpoint) == "InService"


def test_31_the_guard_switched_off_around_its_users_is_found_alerted_and_shown_by_guardctl_status(stack):
    """Issue 17. Someone disables the SageMaker rule, stops the trail and throttles enforce to zero
    (each is also alerted at once by a tamper rule: moto emits no CloudTrail events, so
    tests/testbed/test_tamper_rules.py plays those records through the rules' patterns). The
    health check finds each, the guard topic hears of it once, and `guardctl status` shows the
    failing checks and exits 4; mended, both say so. A policy change is alerted field by field
    (the table's stream through the watch function), and every guard-topic alert is listed."""
    import subprocess
    import time

    from conftest import RULE, TRAIL, client

    def status() -> tuple[int, str, dict]:
        text = subprocess.run([str(guardctl()), "status"], capture_output=True, text=True)
        as_json = subprocess.run([str(guardctl()), "--json", "status"], capture_output=True, text=True)
        assert text.returncode == as_json.returncode, (text.stderr, as_json.stderr)
        return text.returncode, text.stdout, json.loads(as_json.stdout)

    def health_alerts(n: int) -> list[dict]:
        deadline = time.time() + 10
        while len(stack.messages("health", wait=0.5)) < n and time.time() < deadline:
            pass
        return stack.messages("health")

    sweep(stack)  # a sweep that finished just now
    before = stack.health()
    assert [c["name"] for c in before["checks"] if c["status"] != "pass"] == [], before
    code, _, shown = status()
    assert code == 0 and shown["healthy"], shown
    alerts_before = len(stack.messages("health"))

    events, cloudtrail, lam = client("events"), client("cloudtrail"), client("lambda")
    try:
        events.disable_rule(Name=RULE)
        cloudtrail.stop_logging(Name=TRAIL)
        lam.put_function_concurrency(FunctionName="enforce", ReservedConcurrentExecutions=0)
        broken = stack.health()
        failing = [c["name"] for c in broken["checks"] if c["status"] == "fail"]
        assert failing == ["rules", "trail", "policy-writers", "functions"], broken
        alerts = health_alerts(alerts_before + 1)
        assert len(alerts) == alerts_before + 1, alerts
        alert = alerts[-1]
        assert alert["topic"] == stack.guard_topic_arn
        assert alert["document"]["health"]["failing"] == failing
        assert "FAILING" in alert["subject"]
        # Still broken at the next run: no second alert.
        stack.health()
        assert len(health_alerts(alerts_before + 2)) == alerts_before + 1

        code, text, shown = status()
        assert code == 4, text
        assert not shown["healthy"]
        for line in ("model-guard-SageMakerCalls is DISABLED", "model-guard-trail is not logging",
                     "enforce is throttled to zero"):
            assert line in text, text
        # The health alert reached the guard topic's log (the watch function is subscribed).
        deadline = time.time() + 10
        while time.time() < deadline and not any(
                a["kind"] == "health" and "FAILING" in a["summary"] for a in shown["guardAlertsLast24h"]):
            time.sleep(0.5)
            _, text, shown = status()
        assert any(a["kind"] == "health" and "FAILING" in a["summary"] for a in shown["guardAlertsLast24h"]), shown
        assert "Guard alerts, last 24 h:" in text
    finally:
        events.enable_rule(Name=RULE)
        cloudtrail.start_logging(Name=TRAIL)
        lam.delete_function_concurrency(FunctionName="enforce")

    mended = stack.health()
    assert [c["name"] for c in mended["checks"] if c["status"] == "fail"] == [], mended
    alerts = health_alerts(alerts_before + 2)
    assert "every check passes again" in alerts[-1]["subject"], alerts[-1]
    code, text, _ = status()
    assert code == 0, text
    assert "every check passes" in text

    # A policy change, field by field, on the guard topic: a binding opened to everyone.
    pk = "model#status-check-*"
    stack.policy({"pk": pk, "principals": ["arn:aws:iam::123456789012:role/MLDeployer"], "mode": "enforce"})
    stack.policy({"pk": pk, "principals": ["*"], "mode": "enforce"})
    deadline = time.time() + 15
    while len(stack.messages(f"policy:{pk}", wait=0.5)) < 2 and time.time() < deadline:
        pass
    changes = [m["document"]["policyChange"] for m in stack.messages(f"policy:{pk}")]
    assert [c["change"] for c in changes] == ["created", "modified"], changes
    assert changes[1]["fields"] == [{"field": "principals", "before": ["arn:aws:iam::123456789012:role/MLDeployer"],
                                     "after": ["*"]}]
    assert any("anyone may now deploy" in w for w in changes[1]["warnings"]), changes[1]
    stack.ddb.delete_item(TableName=stack.policy_table, Key={"pk": {"S": pk}})


def test_32_an_unapproved_package_version_on_an_endpoint_is_deleted_after_its_grace(stack):
    # The attack: a model is just a name; what it runs can come from the model registry. A
    # version nobody approved is deployed under a model name the deployer may use. The package
    # binding requires an approved version whoever deploys it; the approved version next to it
    # is the near miss that stays.
    group = f"fraud-models-{uuid.uuid4().hex[:6]}"
    stack.sm.create_model_package_group(ModelPackageGroupName=group)

    def version(status: str) -> str:
        return stack.sm.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus=status,
            InferenceSpecification={"Containers": [{"Image": "img:fraud", "ModelDataUrl": "s3://artifacts/fraud/model.tar.gz"}],
                                    "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]

    approved, pending = version("Approved"), version("PendingManualApproval")
    stack.policy({"pk": "model#registry-*", "principals": [MLDEPLOYER], "mode": "enforce"})
    stack.policy({"pk": f"package#{group}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 3})
    outcomes = {}
    for arn in (approved, pending):
        model = stack.model("registry", container={"ModelPackageName": arn})
        config = stack.endpoint_config([model])
        endpoint = f"ep-{uuid.uuid4().hex[:6]}"
        stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        delivered = event(str(uuid.uuid4()), "MLDeployer", endpoint, config)
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        outcomes[arn] = (delivered["detail"]["eventID"], endpoint)

    event_id, endpoint = outcomes[approved]
    assert stack.audit(event_id)["state"] == "allowed", stack.audit(event_id)["verdict"]["reasons"]
    assert stack.endpoint_status(endpoint) == "InService"

    event_id, endpoint = outcomes[pending]
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    verdict = item["verdict"]
    assert [a["binding"] for a in verdict["approvers"]] == [f"package#{group}"], verdict
    assert (verdict["action"], verdict["graceSeconds"]) == ("enforce", 3), verdict
    package = next(s for s in verdict["subjects"] if s["kind"] == "package")
    assert (package["name"], package["allowed"]) == (pending, False), package
    assert any("PendingManualApproval" in r for r in verdict["reasons"]), verdict["reasons"]
    assert item["state"] == "enforced"
    assert stack.endpoint_status(endpoint) is None
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]


def test_33_a_notebook_instance_started_with_a_bound_role_by_someone_not_allowed_is_stopped(stack):
    # The route around a role# binding: no training job, just a notebook instance that runs
    # under the production role. StartNotebookInstance names no role; the instance's own is
    # described. The same start by someone allowed is the near miss that stays.
    from conftest import call
    prod = f"arn:aws:iam::{ACCOUNT}:role/NotebookProd-{uuid.uuid4().hex[:6]}"
    stack.policy({"pk": f"role#{prod}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})
    outcomes = {}
    for caller in ("MLDeployer", "DataScientist"):
        name = f"nb-{uuid.uuid4().hex[:6]}"
        stack.sm.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=prod)
        stack.sm.stop_notebook_instance(NotebookInstanceName=name)
        stack.sm.start_notebook_instance(NotebookInstanceName=name)
        delivered = call(str(uuid.uuid4()), caller, "StartNotebookInstance", {"notebookInstanceName": name}, None)
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        outcomes[caller] = (delivered["detail"]["eventID"], name)

    def status(name: str) -> str:
        return stack.sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]

    event_id, name = outcomes["MLDeployer"]
    assert stack.audit(event_id)["state"] == "allowed", stack.audit(event_id)["verdict"]["reasons"]
    assert status(name) == "InService"

    event_id, name = outcomes["DataScientist"]
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    verdict = item["verdict"]
    assert [a["binding"] for a in verdict["approvers"]] == [f"role#{prod}"], verdict
    assert any("StartNotebookInstance names no role" in r for r in verdict["reasons"]), verdict["reasons"]
    assert item["state"] == "enforced"
    assert item["enforcement"]["outcome"] == "stopped", item["enforcement"]
    assert status(name) in ("Stopping", "Stopped")
    assert [m["kind"] for m in stack.messages(event_id)] == ["violation-pending", "enforced"]


def test_34_a_pipeline_started_by_someone_not_allowed_is_stopped_and_a_step_answers_to_who_started_it(stack):
    # A pipeline whose role is bound: StartPipelineExecution names no role, the pipeline's is
    # described (at the execution's version). The start by someone not allowed is stopped; the
    # same start by someone allowed is the near miss that stays.
    import os

    import boto3
    from conftest import REGION, call

    def as_caller(role: str):
        key_id, secret = register_key(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s")
        return boto3.client("sagemaker", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=REGION,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def pipeline(role_arn: str) -> str:
        name = f"pipe-{uuid.uuid4().hex[:6]}"
        stack.sm.create_pipeline(PipelineName=name, RoleArn=role_arn, ClientRequestToken=uuid.uuid4().hex,
                                 PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
        return name

    def start(caller: str, name: str) -> tuple[str, str]:
        arn = as_caller(caller).start_pipeline_execution(
            PipelineName=name, ClientRequestToken=uuid.uuid4().hex)["PipelineExecutionArn"]
        delivered = call(str(uuid.uuid4()), caller, "StartPipelineExecution", {"pipelineName": name},
                         {"pipelineExecutionArn": arn})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        return delivered["detail"]["eventID"], arn

    def status(arn: str) -> str:
        return stack.sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]

    suffix = uuid.uuid4().hex[:6]
    prod = f"arn:aws:iam::{ACCOUNT}:role/PipelineProd-{suffix}"
    runner = f"PipelineRunner-{suffix}"
    research = f"arn:aws:iam::{ACCOUNT}:role/Research-{suffix}"
    for item in ({"pk": f"role#{prod}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2},
                 {"pk": f"role#arn:aws:iam::{ACCOUNT}:role/{runner}", "principals": ["*"]},
                 {"pk": f"role#{research}", "principals": [f"arn:aws:iam::{ACCOUNT}:role/DataScientist"],
                  "mode": "enforce", "graceSeconds": 2}):
        stack.policy(item)
    prod_pipeline = pipeline(prod)
    allowed_id, allowed_arn = start("MLDeployer", prod_pipeline)
    stopped_id, stopped_arn = start("DataScientist", prod_pipeline)
    assert stack.audit(allowed_id)["state"] == "allowed", stack.audit(allowed_id)["verdict"]["reasons"]
    assert status(allowed_arn) == "Executing"
    assert stack.wait(stack.enforcement(stopped_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(stopped_id)
    assert [a["binding"] for a in item["verdict"]["approvers"]] == [f"role#{prod}"], item["verdict"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "stopped", item
    assert status(stopped_arn) in ("Stopping", "Stopped")

    # Steps: the pipeline's role creates each step's job, passing the research role. moto runs no
    # steps, so the test plays SageMaker's part: it creates the job and lists it among the
    # execution's steps. A step of an execution a data scientist started is theirs, and allowed;
    # one of an execution a contractor started answers to the contractor, and is stopped.
    import urllib.request

    steps_pipeline = pipeline(f"arn:aws:iam::{ACCOUNT}:role/{runner}")
    children = {}
    for starter in ("DataScientist", "Contractor"):
        start_id, execution = start(starter, steps_pipeline)
        assert stack.audit(start_id)["state"] == "allowed"
        job = f"pipelines-{execution.rsplit('/', 1)[-1]}-train-{uuid.uuid4().hex[:6]}"
        job_arn = stack.sm.create_training_job(
            TrainingJobName=job, RoleArn=research,
            AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
            OutputDataConfig={"S3OutputPath": "s3://b/o"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60})["TrainingJobArn"]
        urllib.request.urlopen(urllib.request.Request(
            os.environ["AWS_ENDPOINT_URL"] + "/testbed/sagemaker/pipeline-steps", method="POST",
            data=json.dumps({"executionArn": execution, "stepName": "Train",
                             "metadata": {"TrainingJob": {"Arn": job_arn}}}).encode())).read()
        delivered = call(str(uuid.uuid4()), runner, "CreateTrainingJob",
                         {"trainingJobName": job, "roleArn": research,
                          "tags": [{"key": "sagemaker:pipeline-execution-arn", "value": execution}]},
                         {"trainingJobArn": job_arn})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        children[starter] = (delivered["detail"]["eventID"], job, execution)

    event_id, job, execution = children["DataScientist"]
    item = stack.audit(event_id)
    assert item["state"] == "allowed", item["verdict"]["reasons"]
    assert item["verdict"]["startedBy"] == {
        "parent": execution, "principal": f"arn:aws:iam::{ACCOUNT}:role/DataScientist",
        "session": "s", "allowed": True}, item["verdict"]
    assert stack.sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "InProgress"

    event_id, job, execution = children["Contractor"]
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert item["verdict"]["startedBy"]["principal"] == f"arn:aws:iam::{ACCOUNT}:role/Contractor", item["verdict"]
    assert any(f"which arn:aws:iam::{ACCOUNT}:role/Contractor (session s) started" in r
               for r in item["verdict"]["reasons"]), item["verdict"]["reasons"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "stopped", item
    assert stack.sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] in ("Stopping", "Stopped")


def test_35_a_studio_app_of_a_profile_with_a_bound_role_created_by_someone_not_allowed_is_deleted(stack):
    # The Studio route: a user profile runs under the production role; CreateApp names no role,
    # the profile's is described. The app created by someone not allowed is deleted; the same call
    # by someone allowed is the near miss that stays. A profile that sets no role runs under its
    # domain's default.
    from conftest import call

    suffix = uuid.uuid4().hex[:6]
    prod = f"arn:aws:iam::{ACCOUNT}:role/StudioProd-{suffix}"
    stack.policy({"pk": f"role#{prod}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})
    domain_arn = stack.sm.create_domain(
        DomainName=f"studio-{suffix}", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
        DefaultUserSettings={"ExecutionRole": prod})["DomainArn"]
    domain = domain_arn.rsplit("/", 1)[-1]
    stack.sm.create_user_profile(DomainId=domain, UserProfileName="fraud-deployer",
                                 UserSettings={"ExecutionRole": prod})
    stack.sm.create_user_profile(DomainId=domain, UserProfileName="inherits")
    apps = {}
    for caller, profile in (("MLDeployer", "fraud-deployer"), ("DataScientist", "fraud-deployer"),
                            ("DataScientist", "inherits")):
        app = {"DomainId": domain, "UserProfileName": profile, "AppType": "JupyterLab",
               "AppName": f"{caller.lower()}-lab"}
        app_arn = stack.sm.create_app(**app)["AppArn"]
        delivered = call(str(uuid.uuid4()), caller, "CreateApp",
                         {"domainId": domain, "userProfileName": profile, "appType": "JupyterLab",
                          "appName": app["AppName"]}, {"appArn": app_arn})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        apps[(caller, profile)] = (delivered["detail"]["eventID"], app)

    event_id, app = apps[("MLDeployer", "fraud-deployer")]
    assert stack.audit(event_id)["state"] == "allowed", stack.audit(event_id)["verdict"]["reasons"]
    assert stack.sm.describe_app(**app)["Status"] == "InService"

    for key in (("DataScientist", "fraud-deployer"), ("DataScientist", "inherits")):
        event_id, app = apps[key]
        assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
        item = stack.audit(event_id)
        assert [a["binding"] for a in item["verdict"]["approvers"]] == [f"role#{prod}"], item["verdict"]
        assert item["verdict"]["resource"]["name"] == f"{domain}/user-profile/{key[1]}/JupyterLab/{app['AppName']}"
        assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "deleted", item
        assert stack.sm.describe_app(**app)["Status"] in ("Deleting", "Deleted")
    reasons = stack.audit(apps[("DataScientist", "inherits")][0])["verdict"]["reasons"]
    assert any("sets none" in r and "default" in r for r in reasons), reasons


def test_36_a_monitoring_schedule_running_a_bound_role_created_by_someone_not_allowed_is_stopped(stack):
    # Model monitoring as a route to a role: the schedule names a job definition, whose role its
    # jobs run under (described). The schedule created by someone not allowed is stopped; the same
    # call by someone allowed is the near miss that stays.
    from conftest import call

    suffix = uuid.uuid4().hex[:6]
    prod = f"arn:aws:iam::{ACCOUNT}:role/MonitorProd-{suffix}"
    stack.policy({"pk": f"role#{prod}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})
    definition = f"dq-{suffix}"
    stack.sm.create_data_quality_job_definition(
        JobDefinitionName=definition, RoleArn=prod,
        DataQualityAppSpecification={"ImageUri": "img:1"},
        DataQualityJobInput={"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input"}},
        DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
            "S3Uri": "s3://b/o", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}})
    schedules = {}
    for caller in ("MLDeployer", "DataScientist"):
        name = f"ms-{caller.lower()}-{suffix}"
        config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                  "MonitoringJobDefinitionName": definition, "MonitoringType": "DataQuality"}
        arn = stack.sm.create_monitoring_schedule(MonitoringScheduleName=name,
                                                  MonitoringScheduleConfig=config)["MonitoringScheduleArn"]
        delivered = call(str(uuid.uuid4()), caller, "CreateMonitoringSchedule",
                         {"monitoringScheduleName": name, "monitoringScheduleConfig": {
                             "monitoringJobDefinitionName": definition, "monitoringType": "DataQuality"}},
                         {"monitoringScheduleArn": arn})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        schedules[caller] = (delivered["detail"]["eventID"], name)

    def status(name: str) -> str:
        return stack.sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"]

    event_id, name = schedules["MLDeployer"]
    assert stack.audit(event_id)["state"] == "allowed", stack.audit(event_id)["verdict"]["reasons"]
    assert status(name) == "Scheduled"
    event_id, name = schedules["DataScientist"]
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert [a["binding"] for a in item["verdict"]["approvers"]] == [f"role#{prod}"], item["verdict"]
    assert any(f"job definition {definition}" in r for r in item["verdict"]["reasons"]), item["verdict"]["reasons"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "stopped", item
    assert status(name) == "Stopped"


def test_37_a_hyperpod_cluster_with_a_group_under_a_bound_role_created_by_someone_not_allowed_is_deleted(stack):
    # HyperPod as a route to a role: each instance group's nodes run under its execution role. The
    # cluster created by someone not allowed is deleted whole (not its group scaled to zero); the
    # same call by someone allowed stays; an update that only deletes a group starts nothing.
    from conftest import call

    suffix = uuid.uuid4().hex[:6]
    prod = f"arn:aws:iam::{ACCOUNT}:role/HyperPodProd-{suffix}"
    stack.policy({"pk": f"role#{prod}", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})

    def group(name: str) -> dict:
        return {"InstanceGroupName": name, "InstanceType": "ml.g5.8xlarge", "InstanceCount": 1,
                "ThreadsPerCore": 1, "ExecutionRole": prod,
                "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/hp/", "OnCreate": "on_create.sh"}}

    clusters = {}
    for caller in ("MLDeployer", "DataScientist"):
        name = f"hp-{caller.lower()}-{suffix}"
        arn = stack.sm.create_cluster(ClusterName=name, InstanceGroups=[group("workers")])["ClusterArn"]
        delivered = call(str(uuid.uuid4()), caller, "CreateCluster",
                         {"clusterName": name, "instanceGroups": [
                             {"instanceGroupName": "workers", "instanceType": "ml.g5.8xlarge", "instanceCount": 1,
                              "executionRole": prod}]},
                         {"clusterArn": arn})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        clusters[caller] = (delivered["detail"]["eventID"], name, arn)

    def exists(name: str) -> bool:
        return any(c["ClusterName"] == name for c in stack.sm.list_clusters()["ClusterSummaries"])

    event_id, name, arn = clusters["MLDeployer"]
    assert stack.audit(event_id)["state"] == "allowed", stack.audit(event_id)["verdict"]["reasons"]
    assert exists(name)
    # Someone not allowed deleting a group of the allowed cluster starts nothing under its role.
    delivered = call(str(uuid.uuid4()), "DataScientist", "UpdateCluster",
                     {"clusterName": arn, "instanceGroups": [], "instanceGroupsToDelete": ["spare"]},
                     {"clusterArn": arn})
    result = stack.submit(delivered)
    assert result["status"] == "SUCCEEDED", result
    assert stack.audit(delivered["detail"]["eventID"]) is None, "ignored calls are not audited"
    event_id, name, arn = clusters["DataScientist"]
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert item["verdict"]["resource"]["name"] == arn, item["verdict"]
    assert [a["binding"] for a in item["verdict"]["approvers"]] == [f"role#{prod}"], item["verdict"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "deleted", item
    assert not exists(name)
    assert exists(clusters["MLDeployer"][1])


def test_38_a_shadow_test_of_a_bound_model_started_by_someone_not_allowed_is_stopped_keeping_production(stack):
    # An inference experiment as a route to a model: SageMaker puts its shadow variant beside a live
    # endpoint's production variant. The experiment by someone not allowed the shadow model is
    # stopped with the shadow removed and production retained; the same experiment by someone
    # allowed stays; a stop that promotes nothing deploys nothing.
    from conftest import call

    suffix = uuid.uuid4().hex[:6]
    scientist = f"arn:aws:iam::{ACCOUNT}:role/DataScientist"
    role_name = f"IeExec-{suffix}"
    role = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    stack.policy({"pk": f"role#{role}", "principals": [MLDEPLOYER, scientist], "mode": "enforce"})
    stack.policy({"pk": f"model#ieprod-{suffix}*", "principals": [MLDEPLOYER, scientist], "mode": "enforce"})
    stack.policy({"pk": f"model#ieshadow-{suffix}*", "principals": [MLDEPLOYER], "mode": "enforce",
                  "graceSeconds": 10})
    production = stack.model(f"ieprod-{suffix}", role_name=role_name)
    config = stack.endpoint_config([production])
    endpoint = f"ie-{suffix}"
    stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    shadow = stack.model(f"ieshadow-{suffix}", role_name=role_name)
    infra = {"InfrastructureType": "RealTimeInference",
             "RealTimeInferenceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}
    variants = [{"ModelName": production, "VariantName": "production", "InfrastructureConfig": infra},
                {"ModelName": shadow, "VariantName": "shadow", "InfrastructureConfig": infra}]
    shadow_mode = {"SourceModelVariantName": "production",
                   "ShadowModelVariants": [{"ShadowModelVariantName": "shadow", "SamplingPercentage": 50}]}
    experiments = {}
    for caller in ("MLDeployer", "DataScientist"):
        name = f"ie-{caller.lower()}-{suffix}"
        arn = stack.sm.create_inference_experiment(
            Name=name, Type="ShadowMode", RoleArn=role, EndpointName=endpoint, ModelVariants=variants,
            ShadowModeConfig=shadow_mode)["InferenceExperimentArn"]
        delivered = call(str(uuid.uuid4()), caller, "CreateInferenceExperiment",
                         {"name": name, "type": "ShadowMode", "roleArn": role, "endpointName": endpoint,
                          "modelVariants": [{"modelName": production, "variantName": "production"},
                                            {"modelName": shadow, "variantName": "shadow"}]},
                         {"inferenceExperimentArn": arn})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        experiments[caller] = (delivered["detail"]["eventID"], name, arn)

    def described(name: str) -> dict:
        return stack.sm.describe_inference_experiment(Name=name)

    event_id, name, _ = experiments["MLDeployer"]
    assert stack.audit(event_id)["state"] == "allowed", stack.audit(event_id)["verdict"]["reasons"]
    assert described(name)["Status"] == "Running"
    event_id, name, arn = experiments["DataScientist"]
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert [a["binding"] for a in item["verdict"]["approvers"]] == [f"model#ieshadow-{suffix}*"], item["verdict"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "stopped", item
    after = described(name)
    assert after["Status"] == "Cancelled"
    assert [(v["VariantName"], v["Status"]) for v in after["ModelVariants"]] == [
        ("production", "InService"), ("shadow", "Deleted")]
    assert stack.endpoint_status(endpoint) == "InService"
    # The near miss: stopping the allowed experiment without a promotion deploys nothing.
    _, allowed, allowed_arn = experiments["MLDeployer"]
    stop = call(str(uuid.uuid4()), "DataScientist", "StopInferenceExperiment",
                {"name": allowed, "modelVariantActions": {"production": "Retain", "shadow": "Remove"}},
                {"inferenceExperimentArn": allowed_arn})
    assert stack.submit(stop)["status"] == "SUCCEEDED"
    assert stack.audit(stop["detail"]["eventID"]) is None, "a stop that promotes nothing is ignored"
    # The attack: promote the shadow the caller may not deploy onto the live endpoint, then
    # delete the experiment during the grace, so that nothing names the endpoint any more. The
    # verdict is about the endpoint itself (the experiment's describe named it at evaluation),
    # so the endpoint is deleted as for a violating UpdateEndpoint.
    promoted = f"ie-promoted-{suffix}"
    promoted_arn = stack.sm.create_inference_experiment(
        Name=promoted, Type="ShadowMode", RoleArn=role, EndpointName=endpoint, ModelVariants=variants,
        ShadowModeConfig=shadow_mode)["InferenceExperimentArn"]
    actions = {"production": "Remove", "shadow": "Promote"}
    stack.sm.stop_inference_experiment(Name=promoted, ModelVariantActions=actions, DesiredState="Completed")
    promote = call(str(uuid.uuid4()), "DataScientist", "StopInferenceExperiment",
                   {"name": promoted, "modelVariantActions": actions, "desiredState": "Completed"},
                   {"inferenceExperimentArn": promoted_arn})
    assert stack.submit(promote)["status"] == "SUCCEEDED"
    event_id = promote["detail"]["eventID"]
    # Meanwhile the endpoint is in the promotion's custody: a capacity change to it, which alone
    # decides nothing, is a violation of the promotion's bindings.
    change_id = str(uuid.uuid4())
    capacity = call(change_id, "DataScientist", "UpdateEndpointWeightsAndCapacities",
                    {"endpointName": endpoint,
                     "desiredWeightsAndCapacities": [{"variantName": "shadow", "desiredInstanceCount": 2}]},
                    {"endpointArn": promoted_arn.replace(f"inference-experiment/{promoted}", f"endpoint/{endpoint}")})
    assert stack.submit(capacity)["status"] == "SUCCEEDED"
    change = stack.audit(change_id)
    assert change is not None and change["verdict"]["decision"] == "violation", change
    assert event_id in change["verdict"]["reasons"][0], change["verdict"]["reasons"]
    # So is a promotion onto it by someone the shadow is allowed for: the change lands on the
    # endpoint in custody, not on the experiment it names.
    second = f"ie-second-{suffix}"
    second_arn = stack.sm.create_inference_experiment(
        Name=second, Type="ShadowMode", RoleArn=role, EndpointName=endpoint, ModelVariants=variants,
        ShadowModeConfig=shadow_mode)["InferenceExperimentArn"]
    stack.sm.stop_inference_experiment(Name=second, ModelVariantActions=actions, DesiredState="Completed")
    allowed_promote = call(str(uuid.uuid4()), "MLDeployer", "StopInferenceExperiment",
                           {"name": second, "modelVariantActions": actions, "desiredState": "Completed"},
                           {"inferenceExperimentArn": second_arn})
    assert stack.submit(allowed_promote)["status"] == "SUCCEEDED"
    second_item = stack.audit(allowed_promote["detail"]["eventID"])
    assert second_item is not None and second_item["verdict"]["decision"] == "violation", second_item
    assert any(event_id in r or change_id in r for r in second_item["verdict"]["reasons"][:1]), second_item["verdict"]["reasons"]
    assert described(promoted)["Status"] == "Completed"
    stack.sm.delete_inference_experiment(Name=promoted)
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert item["verdict"]["resource"]["type"] == "endpoint" and item["verdict"]["resource"]["name"] == endpoint, item["verdict"]
    # The capacity change's enforcement may reach the endpoint first: deleted either way.
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] in ("deleted", "already-gone"), item
    assert stack.endpoint_status(endpoint) is None


def test_39_an_endpoint_an_automl_job_deploys_answers_to_who_created_the_job_and_a_borrowed_name_does_not(stack):
    # AutoML deploys its best candidate itself (ModelDeployConfig), under the job's role: that
    # endpoint is the job's child, allowed because the person who created the job may deploy it
    # (the guard's own record of the CreateAutoMLJobV2 says who). Someone else creating the
    # endpoint another job names, as themselves, borrows nothing: deleted.
    from conftest import REGION, call

    suffix = uuid.uuid4().hex[:6]
    scientist = f"arn:aws:iam::{ACCOUNT}:role/DataScientist"
    exec_role = f"AutoExec-{suffix}"
    exec_arn = f"arn:aws:iam::{ACCOUNT}:role/{exec_role}"
    for pk in (f"role#{exec_arn}", f"model#apbest-{suffix}*"):
        stack.policy({"pk": pk, "principals": [scientist], "mode": "enforce", "graceSeconds": 2})
    endpoints = {}
    for job_suffix in ("own", "borrowed", "raced"):
        job, endpoint = f"ap-{job_suffix}-{suffix}", f"ap-{job_suffix}-ep-{suffix}"
        arn = stack.sm.create_auto_ml_job_v2(
            AutoMLJobName=job, RoleArn=exec_arn,
            AutoMLJobInputDataConfig=[{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                       "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}}],
            OutputDataConfig={"S3OutputPath": "s3://b/out"},
            AutoMLProblemTypeConfig={"TabularJobConfig": {
                "TargetAttributeName": "y", "ProblemType": "BinaryClassification",
                "CompletionCriteria": {"MaxCandidates": 1}}},
            ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": endpoint})["AutoMLJobArn"]
        created = call(str(uuid.uuid4()), "DataScientist", "CreateAutoMLJobV2",
                       {"autoMLJobName": job, "roleArn": exec_arn,
                        "modelDeployConfig": {"autoGenerateEndpointName": False, "endpointName": endpoint}},
                       {"autoMLJobArn": arn})
        assert stack.submit(created)["status"] == "SUCCEEDED"
        assert stack.audit(created["detail"]["eventID"])["state"] == "allowed"
        endpoints[job_suffix] = (endpoint, arn)

    def deploy(endpoint: str, caller: str, container: dict | None = None) -> str:
        model = stack.model(f"apbest-{suffix}", caller=caller, role_name=exec_role, container=container)
        config = stack.endpoint_config([model], caller=caller)
        stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        event_id = str(uuid.uuid4())
        delivered = call(event_id, caller, "CreateEndpoint",
                         {"endpointName": endpoint, "endpointConfigName": config},
                         {"endpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}"})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        return event_id

    def best_candidate(job_arn: str) -> dict:
        """The container AutoML deploys: its best candidate's, as the job's describe gives it."""
        described = stack.sm.describe_auto_ml_job_v2(AutoMLJobName=job_arn.rsplit("/", 1)[1])
        first = described["BestCandidate"]["InferenceContainers"][0]
        return {"Image": first["Image"], "ModelDataUrl": first["ModelDataUrl"]}

    # The job's own deployment: under its role, as AutoML makes it, serving its best candidate.
    endpoint, job_arn = endpoints["own"]
    event_id = deploy(endpoint, exec_role, best_candidate(job_arn))
    item = stack.audit(event_id)
    assert item["state"] == "allowed", item["verdict"]["reasons"]
    assert item["verdict"]["startedBy"]["parent"] == job_arn, item["verdict"]
    assert item["verdict"]["startedBy"]["principal"] == scientist, item["verdict"]
    assert stack.endpoint_status(endpoint) == "InService"
    # The other job's endpoint name, taken first by a contractor calling as themselves.
    endpoint, _ = endpoints["borrowed"]
    event_id = deploy(endpoint, "Contractor")
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert "startedBy" not in item["verdict"], item["verdict"]
    assert any("not by the job's role" in r for r in item["verdict"]["reasons"]), item["verdict"]["reasons"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "deleted", item
    assert stack.endpoint_status(endpoint) is None
    # Someone who can act as the job's role (a notebook running under it) takes the endpoint a
    # third job will deploy, before it does, serving a model of their own: not the job's
    # deployment, judged as the role itself, and deleted.
    endpoint, _ = endpoints["raced"]
    event_id = deploy(endpoint, exec_role, {"Image": "img:1", "ModelDataUrl": f"s3://b/mine-{suffix}/model.tar.gz"})
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert "startedBy" not in item["verdict"], item["verdict"]
    assert any("not the job's best candidate" in r for r in item["verdict"]["reasons"]), item["verdict"]["reasons"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "deleted", item
    assert stack.endpoint_status(endpoint) is None


def test_40_a_monitoring_run_answers_to_who_set_its_schedule(stack):
    # A schedule starts a processing job under its definition's role on every run: the run is the
    # schedule's child, allowed because the person who set the schedule may use that role (the
    # guard's record of the CreateMonitoringSchedule says who). A job that merely runs under the
    # same role, which no schedule's run it is, answers for itself: stopped.
    import json
    import os
    import urllib.request

    from conftest import REGION, call

    suffix = uuid.uuid4().hex[:6]
    scientist = f"arn:aws:iam::{ACCOUNT}:role/DataScientist"
    exec_role = f"MonExec-{suffix}"
    exec_arn = f"arn:aws:iam::{ACCOUNT}:role/{exec_role}"
    stack.policy({"pk": f"role#{exec_arn}", "principals": [scientist], "mode": "enforce", "graceSeconds": 2})
    schedule = f"ms-{suffix}"
    config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
              "MonitoringJobDefinition": {
                  "MonitoringInputs": [{"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input"}}],
                  "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                      "S3Uri": "s3://b/o", "LocalPath": "/opt/ml/processing/output"}}]},
                  "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                            "VolumeSizeInGB": 1}},
                  "MonitoringAppSpecification": {"ImageUri": "img:1"}, "RoleArn": exec_arn}}
    schedule_arn = stack.sm.create_monitoring_schedule(
        MonitoringScheduleName=schedule, MonitoringScheduleConfig=config)["MonitoringScheduleArn"]
    created = call(str(uuid.uuid4()), "DataScientist", "CreateMonitoringSchedule",
                   {"monitoringScheduleName": schedule, "monitoringScheduleConfig": {
                       "monitoringJobDefinition": {"roleArn": exec_arn}}},
                   {"monitoringScheduleArn": schedule_arn})
    assert stack.submit(created)["status"] == "SUCCEEDED"
    assert stack.audit(created["detail"]["eventID"])["state"] == "allowed"

    def run(job: str, of_schedule: bool) -> str:
        stack.sm.create_processing_job(
            ProcessingJobName=job, RoleArn=exec_arn, AppSpecification={"ImageUri": "img:1"},
            ProcessingResources={"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                                   "VolumeSizeInGB": 1}})
        if of_schedule:
            urllib.request.urlopen(urllib.request.Request(
                os.environ["AWS_ENDPOINT_URL"] + "/testbed/sagemaker/monitoring-runs", method="POST",
                data=json.dumps({"processingJobName": job, "scheduleArn": schedule_arn}).encode())).read()
        event_id = str(uuid.uuid4())
        delivered = call(event_id, exec_role, "CreateProcessingJob", {"processingJobName": job, "roleArn": exec_arn},
                         {"processingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{job}"})
        assert stack.submit(delivered)["status"] == "SUCCEEDED"
        return event_id

    def status(job: str) -> str:
        return stack.sm.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"]

    job = f"model-monitoring-{suffix}"
    item = stack.audit(run(job, of_schedule=True))
    assert item["state"] == "allowed", item["verdict"]["reasons"]
    assert item["verdict"]["startedBy"]["parent"] == schedule_arn, item["verdict"]
    assert item["verdict"]["startedBy"]["principal"] == scientist, item["verdict"]
    assert status(job) == "InProgress"
    other = f"not-a-run-{suffix}"
    event_id = run(other, of_schedule=False)
    assert stack.wait(stack.enforcement(event_id), 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert "startedBy" not in item["verdict"], item["verdict"]
    assert item["state"] == "enforced" and item["enforcement"]["outcome"] == "stopped", item
    assert status(other) == "Stopped"


def test_41_an_automl_endpoint_with_a_generated_name_is_waited_for_not_judged_as_the_role(stack):
    # AutoML deploying to a name SageMaker generates writes the name to the job's describe only
    # once deployed. The endpoint the job's role creates meanwhile is not judged as the role's
    # (which would delete a legitimate deployment): Evaluate waits, as for a record, and once the
    # job names the endpoint it answers to the job's creator.
    import json
    import os
    import time
    import urllib.request

    from conftest import REGION, call

    suffix = uuid.uuid4().hex[:6]
    scientist = f"arn:aws:iam::{ACCOUNT}:role/DataScientist"
    exec_role = f"AutoGen-{suffix}"
    exec_arn = f"arn:aws:iam::{ACCOUNT}:role/{exec_role}"
    for pk in (f"role#{exec_arn}", f"model#apgen-{suffix}*"):
        stack.policy({"pk": pk, "principals": [scientist], "mode": "enforce", "graceSeconds": 2})
    job = f"apgen-{suffix}"
    job_arn = stack.sm.create_auto_ml_job_v2(
        AutoMLJobName=job, RoleArn=exec_arn,
        AutoMLJobInputDataConfig=[{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}}],
        OutputDataConfig={"S3OutputPath": "s3://b/out"},
        AutoMLProblemTypeConfig={"TabularJobConfig": {"TargetAttributeName": "y", "ProblemType": "BinaryClassification",
                                                       "CompletionCriteria": {"MaxCandidates": 1}}},
        ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": "placeholder"})["AutoMLJobArn"]

    def play(**deployment) -> None:
        urllib.request.urlopen(urllib.request.Request(
            os.environ["AWS_ENDPOINT_URL"] + "/testbed/sagemaker/automl-deployments", method="POST",
            data=json.dumps({"jobArn": job_arn, **deployment}).encode())).read()

    play()
    created = call(str(uuid.uuid4()), "DataScientist", "CreateAutoMLJobV2",
                   {"autoMLJobName": job, "roleArn": exec_arn, "modelDeployConfig": {"autoGenerateEndpointName": True}},
                   {"autoMLJobArn": job_arn})
    assert stack.submit(created)["status"] == "SUCCEEDED"
    # The deployment, under the job's role, of its best candidate, to a generated name.
    best = stack.sm.describe_auto_ml_job_v2(AutoMLJobName=job)["BestCandidate"]["InferenceContainers"][0]
    model = stack.model(f"apgen-{suffix}", caller=exec_role, role_name=exec_role,
                        container={"Image": best["Image"], "ModelDataUrl": best["ModelDataUrl"]})
    config = stack.endpoint_config([model], caller=exec_role)
    endpoint = f"{job}-endpoint-{uuid.uuid4().hex[:8]}"
    stack.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    event_id = str(uuid.uuid4())
    delivered = call(event_id, exec_role, "CreateEndpoint", {"endpointName": endpoint, "endpointConfigName": config},
                     {"endpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}"})
    execution = stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"t-{uuid.uuid4().hex}",
                                          input=json.dumps(delivered))["executionArn"]
    # It waits (the job names no endpoint yet), and nothing is decided meanwhile.
    deadline = time.time() + 30
    while not any(e.get("stateEnteredEventDetails", {}).get("name") == "WaitForRecords"
                  for e in stack.history(execution)):
        assert time.time() < deadline, stack.history(execution)
        time.sleep(0.2)
    assert stack.audit(event_id) is None, "decided before the job named its endpoint"
    # SageMaker writes the generated name to the job's describe.
    play(endpointName=endpoint)
    assert stack.wait(execution, 60)["status"] == "SUCCEEDED"
    item = stack.audit(event_id)
    assert item["state"] == "allowed", item["verdict"]["reasons"]
    assert item["verdict"]["startedBy"]["parent"] == job_arn, item["verdict"]
    assert item["verdict"]["startedBy"]["principal"] == scientist, item["verdict"]
    assert stack.endpoint_status(endpoint) == "InService"


def run_guardctl(*args: str) -> tuple[int, str, str]:
    """guardctl, the real binary, with the testbed's names (.testbed/env) and credentials."""
    import subprocess
    done = subprocess.run([str(guardctl()), *args], capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout, done.stderr


def test_42_observe_mode_alerts_what_it_would_delete_and_keeps_it_until_switched_to_enforce(stack):
    stack.policy({"pk": "model#observed-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 0})
    code, out, err = run_guardctl("enforcement", "observe")
    assert code == 0, err
    assert "only observes" not in out and "observe" in out, out
    try:
        assert run_guardctl("enforcement")[1].startswith("observe:")
        # Observing: the violation is decided, audited and alerted as would-delete; nothing is deleted.
        _, config, kept = stack.endpoint("ep", "observed")
        observed = str(uuid.uuid4())
        assert stack.submit(event(observed, "DataScientist", kept, config))["status"] == "SUCCEEDED"
        assert stack.wait(stack.enforcement(observed), 30)["status"] == "SUCCEEDED"
        assert stack.endpoint_status(kept) == "InService"
        sent = stack.messages(observed)
        assert [m["kind"] for m in sent] == ["violation-notify-only"], sent
        assert "observe mode: would delete" in sent[0]["subject"], sent[0]["subject"]
        item = stack.audit(observed)
        assert item["state"] == "notified"
        assert (item["verdict"]["action"], item["verdict"].get("observed")) == ("notify", True)

        # Switched to enforce (no deploy): the next violation is enforced.
        code, out, err = run_guardctl("enforcement", "enforce")
        assert code == 0, err
        _, config, deleted = stack.endpoint("ep", "observed")
        enforced = str(uuid.uuid4())
        assert stack.submit(event(enforced, "DataScientist", deleted, config))["status"] == "SUCCEEDED"
        assert stack.wait(stack.enforcement(enforced), 60)["status"] == "SUCCEEDED"
        assert stack.endpoint_status(deleted) is None, stack.audit(enforced)
        assert stack.audit(enforced)["state"] == "enforced"
        # The one decided while observing stays as it was decided.
        assert stack.endpoint_status(kept) == "InService"
    finally:
        run_guardctl("policy", "rm", "enforcement")


def test_43_guardctl_scan_enforce_asks_the_scan_function(stack):
    # The guard's own function scans (here one type, which no scenario makes) and answers.
    code, out, err = run_guardctl("scan", "--enforce", "--resource-type", "compilation-job")
    assert code == 0, err
    assert "Scanned 0 resource(s)" in out and "Complete." in out, out
    assert "Enforcement: 0 started now" in out, out
    # What is not the scan's to list is refused before anything is asked.
    code, _, err = run_guardctl("scan", "--enforce", "--resource-type", "domain")
    assert code == 2 and "does not list domains" in err, err


# The enforce function's role on the testbed (ENFORCE_ROLE_ARN in scripts/testbed).
ENFORCER_ROLE = "ModelGuard-EnforceRole-testbed"


def update_endpoint_call(event_id: str, caller: str, endpoint: str, config: str) -> dict:
    from conftest import REGION, call

    return call(event_id, caller, "UpdateEndpoint", {"endpointName": endpoint, "endpointConfigName": config},
                {"endpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint.lower()}"})


def violating_update(stack, prefix: str) -> tuple[str, str, str, str]:
    """An endpoint deployed by MLDeployer (allowed), then updated by DataScientist to a config of
    another model the binding keeps to MLDeployer; both calls through the triage. Returns the
    endpoint, the allowed config, the forbidden one and the update's event."""
    stack.policy({"pk": f"model#{prefix}-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})
    _, allowed_config, endpoint = stack.endpoint("ep", prefix)
    created = str(uuid.uuid4())
    assert stack.submit(event(created, "MLDeployer", endpoint, allowed_config))["status"] == "SUCCEEDED"
    assert stack.audit(created)["state"] == "allowed"
    forbidden = stack.endpoint_config([stack.model(prefix)])
    stack.sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=forbidden)
    updated = str(uuid.uuid4())
    assert stack.submit(update_endpoint_call(updated, "DataScientist", endpoint, forbidden))["status"] == "SUCCEEDED"
    assert stack.audit(updated)["verdict"]["rollbackTo"]["eventId"] == created, stack.audit(updated)
    return endpoint, allowed_config, forbidden, updated


def serving(stack, endpoint: str) -> tuple[str, str]:
    import time

    for _ in range(50):
        described = stack.sm.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] != "Updating":
            return described["EndpointStatus"], described["EndpointConfigName"]
        time.sleep(0.2)
    raise AssertionError(f"{endpoint} is still Updating")


def test_44_a_violating_update_is_rolled_back_and_the_guards_own_update_starts_nothing(stack):
    endpoint, allowed_config, _, updated = violating_update(stack, "rollback")
    run = stack.wait(stack.enforcement(updated), 60)
    assert run["status"] == "SUCCEEDED", run
    # Production keeps serving: back on the allowed config, InService.
    assert serving(stack, endpoint) == ("InService", allowed_config)
    item = stack.audit(updated)
    assert item["state"] == "enforced"
    assert item["enforcement"]["outcome"] == "rolled-back"
    assert item["enforcement"]["restored"]["config"]["name"] == allowed_config
    assert item["rollback"]["to"] == allowed_config
    messages = stack.messages(updated)
    assert [m["kind"] for m in messages] == ["violation-pending", "enforced"], messages
    assert "roll back" in messages[0]["subject"], messages[0]
    assert messages[1]["subject"].endswith(": rolled-back"), messages[1]
    assert messages[1]["document"]["enforcement"]["restored"]["config"]["name"] == allowed_config, messages[1]

    # The guard's own UpdateEndpoint arrives as an event like any other: allowed, nothing started.
    own = str(uuid.uuid4())
    assert stack.submit(update_endpoint_call(own, ENFORCER_ROLE, endpoint, allowed_config))["status"] == "SUCCEEDED"
    assert stack.audit(own)["state"] == "allowed", stack.audit(own)
    assert "own rollback" in stack.audit(own)["verdict"]["reasons"][0]
    assert stack.enforcements(own) == []
    assert stack.messages(own) == []

    # A forged "rollback" by anyone else: judged as any update (DataScientist may not deploy it).
    forged = str(uuid.uuid4())
    assert stack.submit(update_endpoint_call(forged, "DataScientist", endpoint, allowed_config))["status"] == "SUCCEEDED"
    assert stack.audit(forged)["verdict"]["decision"] == "violation", stack.audit(forged)


def test_45_a_violating_update_whose_allowed_config_is_gone_is_deleted(stack):
    endpoint, allowed_config, _, updated = violating_update(stack, "nogoback")
    stack.sm.delete_endpoint_config(EndpointConfigName=allowed_config)
    run = stack.wait(stack.enforcement(updated), 60)
    assert run["status"] == "SUCCEEDED", run
    assert stack.endpoint_status(endpoint) is None
    item = stack.audit(updated)
    assert item["enforcement"]["outcome"] == "deleted"
    assert f"endpoint config {allowed_config} is gone" in item["enforcement"]["notRolledBack"], item
    messages = stack.messages(updated)
    assert [m["kind"] for m in messages] == ["violation-pending", "enforced"], messages
    assert messages[1]["document"]["enforcement"]["notRolledBack"] == item["enforcement"]["notRolledBack"], messages[1]


def component_call(event_id: str, caller: str, event_name: str, component: str, endpoint: str,
                   model: str) -> dict:
    from conftest import REGION, call

    params = {"inferenceComponentName": component, "specification": {"modelName": model}}
    if event_name == "CreateInferenceComponent":
        params |= {"endpointName": endpoint, "variantName": "v0"}
    return call(event_id, caller, event_name, params,
                {"inferenceComponentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{component.lower()}"})


def settled_component(stack, component: str) -> dict:
    import time

    for _ in range(50):
        described = stack.sm.describe_inference_component(InferenceComponentName=component)
        if described["InferenceComponentStatus"] != "Updating":
            return described
        time.sleep(0.2)
    raise AssertionError(f"{component} is still Updating")


def test_46_an_inference_component_updated_to_a_forbidden_model_gets_its_old_specification_back(stack):
    prefix = "icroll"
    stack.policy({"pk": f"model#{prefix}-*", "principals": [MLDEPLOYER], "mode": "enforce", "graceSeconds": 2})
    allowed, _, endpoint = stack.endpoint("ep", prefix)
    stack.sm.create_inference_component(InferenceComponentName=(component := f"ic-{uuid.uuid4().hex[:6]}"),
                                        EndpointName=endpoint, VariantName="v0",
                                        Specification={"ModelName": allowed,
                                                       "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
                                        RuntimeConfig={"CopyCount": 1})
    created = str(uuid.uuid4())
    assert stack.submit(component_call(created, "MLDeployer", "CreateInferenceComponent", component, endpoint,
                                       allowed))["status"] == "SUCCEEDED"
    assert stack.audit(created)["state"] == "allowed"
    assert stack.audit(created)["verdict"]["restorable"]["model"] == allowed, stack.audit(created)

    forbidden = stack.model(prefix)
    stack.sm.update_inference_component(InferenceComponentName=component, Specification={"ModelName": forbidden})
    settled_component(stack, component)
    updated = str(uuid.uuid4())
    assert stack.submit(component_call(updated, "DataScientist", "UpdateInferenceComponent", component, endpoint,
                                       forbidden))["status"] == "SUCCEEDED"
    assert stack.audit(updated)["verdict"]["rollbackTo"]["eventId"] == created, stack.audit(updated)
    run = stack.wait(stack.enforcement(updated), 60)
    assert run["status"] == "SUCCEEDED", run
    # It keeps serving, on the allowed specification (its compute requirements too).
    now = settled_component(stack, component)
    assert now["InferenceComponentStatus"] == "InService"
    assert now["Specification"]["ModelName"] == allowed, now
    assert now["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 1024, now
    item = stack.audit(updated)
    assert (item["state"], item["enforcement"]["outcome"]) == ("enforced", "rolled-back"), item
    assert item["rollback"] == {"resource": component, "to": f"model {allowed}", "at": item["rollback"]["at"]}
    messages = stack.messages(updated)
    assert [m["kind"] for m in messages] == ["violation-pending", "enforced"], messages
    assert "roll back" in messages[0]["subject"], messages[0]
    assert messages[1]["document"]["enforcement"]["restored"]["config"]["model"] == allowed, messages[1]

    # The guard's own update arrives as an event like any other: allowed, nothing started.
    own = str(uuid.uuid4())
    assert stack.submit(component_call(own, ENFORCER_ROLE, "UpdateInferenceComponent", component, endpoint,
                                       allowed))["status"] == "SUCCEEDED"
    assert stack.audit(own)["state"] == "allowed", stack.audit(own)
    assert "own rollback" in stack.audit(own)["verdict"]["reasons"][0]
    assert stack.enforcements(own) == []
    # A forged "rollback" by anyone else is judged as any update.
    forged = str(uuid.uuid4())
    assert stack.submit(component_call(forged, "DataScientist", "UpdateInferenceComponent", component, endpoint,
                                       allowed))["status"] == "SUCCEEDED"
    assert stack.audit(forged)["verdict"]["decision"] == "violation", stack.audit(forged)


MEMBER = "210987654321"  # MEMBER_ACCOUNTS on the testbed
MEMBER_REGION = "eu-west-1"


def in_member(call_event: dict, account: str = MEMBER) -> dict:
    """The same call made in another account and region, as EventBridge delivers it there (a
    member's rule forwards it to the guard's bus unchanged)."""
    return json.loads(json.dumps(call_event).replace(ACCOUNT, account).replace('"us-east-1"', f'"{MEMBER_REGION}"')
                      .replace(":us-east-1:", f":{MEMBER_REGION}:"))



def deploy_in(stack, there, prefix: str) -> tuple[str, str]:  # noqa: ANN001
    """A model and a config made in member B by its MLDeployer, their calls delivered to the guard."""
    from conftest import call

    model, config = f"{prefix}-{uuid.uuid4().hex[:6]}", f"cfg-{uuid.uuid4().hex[:6]}"
    role_arn = f"arn:aws:iam::{MEMBER}:role/Exec"
    there.create_model(ModelName=model, ExecutionRoleArn=role_arn, PrimaryContainer={"Image": "img:1"})
    there.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "v0", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    for recorded in (
        call(str(uuid.uuid4()), "MLDeployer", "CreateModel",
             {"modelName": model, "executionRoleArn": role_arn, "primaryContainer": {"image": "img:1"}}, None),
        call(str(uuid.uuid4()), "MLDeployer", "CreateEndpointConfig",
             {"endpointConfigName": config,
              "productionVariants": [{"variantName": "v0", "modelName": model}]}, None),
    ):
        assert stack.submit(in_member(recorded))["status"] == "SUCCEEDED"
    return model, config


def test_47_a_violation_in_a_member_account_and_region_is_enforced_there_from_the_central_account(stack):
    """One guard for an organization. Account B (a member) in eu-west-1: a forbidden deployment is
    deleted there through B's member role, while the central account's endpoint of the same name
    is left alone; B's own deployer, allowed by B's binding, is untouched; a call from an account
    that is no member is ignored saying why."""
    member_deployer = f"arn:aws:iam::{MEMBER}:role/MLDeployer"
    stack.policy({"pk": f"model#orgfraud-*@{MEMBER}", "principals": [member_deployer],
                  "mode": "enforce", "graceSeconds": 0})
    from conftest import member_client

    there = member_client("sagemaker", MEMBER, MEMBER_REGION)

    def deploy_in_member(caller: str) -> tuple[str, str]:
        assert caller == "MLDeployer"
        return deploy_in(stack, there, "orgfraud")

    # The forbidden deployment, under a name the central account uses too.
    _, home_config, endpoint = stack.endpoint("ep", "orgfraud")
    _, config = deploy_in_member("MLDeployer")
    there.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    event_id = str(uuid.uuid4())
    triage = stack.submit(in_member(event(event_id, "DataScientist", endpoint, config)))
    assert triage["status"] == "SUCCEEDED", triage
    item = stack.audit(event_id)
    assert (item["verdict"]["account"], item["verdict"]["region"]) == (MEMBER, MEMBER_REGION), item
    assert item["resourceKey"] == f"{endpoint.lower()}@{MEMBER}/{MEMBER_REGION}"
    run = stack.wait(stack.enforcement(event_id), 60)
    assert run["status"] == "SUCCEEDED", run
    item = stack.audit(event_id)
    assert item["state"] == "enforced", item
    with pytest.raises(there.exceptions.ClientError):
        there.describe_endpoint(EndpointName=endpoint)
    assert stack.endpoint_status(endpoint) == "InService", "the central account's endpoint is another one"
    messages = stack.messages(event_id)
    assert [m["kind"] for m in messages][-1] == "enforced", messages
    assert all(MEMBER in json.dumps(m) and MEMBER_REGION in json.dumps(m) for m in messages), messages

    # B's deployer, allowed by B's binding.
    _, config = deploy_in_member("MLDeployer")
    allowed_endpoint = f"ep-{uuid.uuid4().hex[:6]}"
    there.create_endpoint(EndpointName=allowed_endpoint, EndpointConfigName=config)
    allowed_id = str(uuid.uuid4())
    assert stack.submit(in_member(event(allowed_id, "MLDeployer", allowed_endpoint, config)))["status"] == "SUCCEEDED"
    assert stack.audit(allowed_id)["state"] == "allowed"
    assert there.describe_endpoint(EndpointName=allowed_endpoint)["EndpointStatus"] == "InService"

    # An account that is no member: ignored, with the reason, and nothing kept.
    outsider_id = str(uuid.uuid4())
    ignored = stack.submit(in_member(event(outsider_id, "DataScientist", endpoint, home_config), "999988887777"))
    assert ignored["status"] == "SUCCEEDED", ignored
    output = json.loads(ignored["output"])
    assert "account 999988887777 is not guarded here" in json.dumps(output), output
    assert stack.audit(outsider_id) is None
    assert stack.enforcements(outsider_id) == []


def test_48_a_call_in_a_member_account_eventbridge_never_delivered_is_found_by_the_sweep_machine(stack):
    """The sweep of an organization (statemachine/sweep.asl.json on the testbed's ASL interpreter):
    a forbidden deployment in member B, eu-west-1, whose event never reached the guard, is found in
    B's CloudTrail through B's member role and enforced there. A member whose administrators
    deny the guard's role LookupEvents is alerted on the guard topic, naming it, and the other
    places are swept all the same."""
    from conftest import member_client

    member_deployer = f"arn:aws:iam::{MEMBER}:role/MLDeployer"
    stack.policy({"pk": f"model#orgswept-*@{MEMBER}", "principals": [member_deployer],
                  "mode": "enforce", "graceSeconds": 0})
    there = member_client("sagemaker", MEMBER, MEMBER_REGION)
    _, config = deploy_in(stack, there, "orgswept")
    endpoint = f"ep-{uuid.uuid4().hex[:6]}"
    there.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    event_id = str(uuid.uuid4())
    # B's CloudTrail recorded the call; its forwarding rule never delivered it.
    register_cloudtrail([in_member(event(event_id, "DataScientist", endpoint, config))["detail"]])
    # The other member's administrators deny the guard's role there LookupEvents (an explicit
    # deny works at once; a deleted role, once its credentials expire, within the hour).
    gone = "111122223333"
    deny_lookups(gone, True)
    try:
        report = stack.sweep()
        assert event_id in report["submitted"], report
        run = stack.swept_enforcement(event_id)
        assert run["status"] == "SUCCEEDED", run
        item = stack.audit(event_id)
        assert (item["state"], item["verdict"]["account"], item["verdict"]["region"]) == \
            ("enforced", MEMBER, MEMBER_REGION), item
        with pytest.raises(there.exceptions.ClientError):
            there.describe_endpoint(EndpointName=endpoint)
        alerts = [m for m in stack.messages("no-event")
                  if (m["document"].get("tamper") or {}).get("what") == "place-unreachable"]
        named = sorted(m["document"]["tamper"]["detail"].split(":")[0] for m in alerts)
        assert named == [f"the sweep cannot look in account {gone} region eu-west-1",
                         f"the sweep cannot look in account {gone} region us-east-1"], alerts
        assert all(m["topic"] == stack.guard_topic_arn for m in alerts), alerts
    finally:
        deny_lookups(gone, False)


def deny_lookups(account: str, denied: bool) -> None:
    import os
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/testbed/cloudtrail/deny",
        data=json.dumps({"account": account, "denied": denied}).encode(), method="POST"))


def test_49_the_drift_scan_machine_scans_each_member_place_through_its_role(stack):
    """The drift scan of an organization (statemachine/scan.asl.json on the testbed's ASL
    interpreter): an endpoint in member B, eu-west-1, that violates the policy now and whose call
    the guard never saw, is found by the child that scans B's place through B's member role and
    alerted once, as B's (its account, region and B's own binding)."""
    from conftest import member_client

    member_deployer = f"arn:aws:iam::{MEMBER}:role/MLDeployer"
    stack.policy({"pk": f"model#orgscanned-*@{MEMBER}", "principals": [member_deployer],
                  "mode": "enforce", "graceSeconds": 0})
    there = member_client("sagemaker", MEMBER, MEMBER_REGION)
    _, config = deploy_in(stack, there, "orgscanned")
    endpoint = f"ep-{uuid.uuid4().hex[:6]}"
    there.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    time.sleep(1.1)
    event_id = str(uuid.uuid4())
    # B's CloudTrail keeps who made it (DataScientist, whom B's binding does not name); the
    # guard never saw the call.
    register_cloudtrail([in_member(event(event_id, "DataScientist", endpoint, config))["detail"]])
    ended = stack.drift_scan()
    assert ended["status"] == "SUCCEEDED", ended
    found = [m for m in stack.every_message()
             if m["kind"] == "drift-found" and (m["document"]["verdict"].get("resource") or {}).get("name") == endpoint]
    assert len(found) == 1, found
    verdict = found[0]["document"]["verdict"]
    assert (verdict["account"], verdict["region"], verdict["decision"]) == (MEMBER, MEMBER_REGION, "violation"), verdict
    assert verdict["principal"] == f"arn:aws:iam::{MEMBER}:role/DataScientist", verdict
    assert any(s["binding"] == f"model#orgscanned-*@{MEMBER}" for s in verdict["subjects"]), verdict
    # A second run tells nothing new of it.
    ended = stack.drift_scan()
    assert ended["status"] == "SUCCEEDED", ended
    again = [m for m in stack.every_message(2.0)
             if m["kind"] == "drift-found" and (m["document"]["verdict"].get("resource") or {}).get("name") == endpoint]
    assert len(again) == 1, again
