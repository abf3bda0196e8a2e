"""Each addition the launcher makes to moto, tested on its own against the running testbed
(`scripts/testbed up && source .testbed/env`), with boto3 as an AWS user would call it."""

from __future__ import annotations

import io
import hashlib
import json
import os
import time
import uuid
import zipfile

import boto3
import botocore.config
import botocore.exceptions
import pytest

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Exec"


def client(service: str):
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    assert endpoint.startswith("http://127.0.0.1:"), "run against the testbed: source .testbed/env"
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sm():
    return client("sagemaker")


def endpoint(sm, endpoint_name: str) -> str:
    model = name("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    config = name("cfg")
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[{"VariantName": "v0", "ModelName": model, "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
    )
    sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config)
    return model


def training_job(sm, job: str) -> None:
    sm.create_training_job(
        TrainingJobName=job, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://b/o"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )


# --- Lambda Invoke -> cargo lambda watch ----------------------------------------------------------


def function(lam, function_name: str) -> None:
    iam = client("iam")
    role = name("fn")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    zipfile.ZipFile(code, "w").writestr("bootstrap", "served by cargo lambda watch")
    try:
        lam.create_function(FunctionName=function_name, Runtime="provided.al2023", Role=role_arn,
                            Handler="bootstrap", Code={"ZipFile": code.getvalue()})
    except lam.exceptions.ResourceConflictException:
        pass


def test_invoke_runs_the_real_binary():
    lam = client("lambda")
    function(lam, "parse-event")
    with open(os.path.join(os.path.dirname(__file__), "../events/covered-create-endpoint-violation.json")) as f:
        event = json.load(f)
    response = lam.invoke(FunctionName="parse-event", Payload=json.dumps(event))
    assert "FunctionError" not in response
    outcome = json.loads(response["Payload"].read())
    assert outcome["outcome"] == "request"
    assert outcome["request"]["principal"] == "arn:aws:iam::111122223333:role/DataScientist"


def test_a_function_error_comes_back_as_aws_reports_it():
    lam = client("lambda")
    function(lam, "enforce")
    response = lam.invoke(FunctionName="enforce", Payload=json.dumps({"version": 1, "verdict": {}}))
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ModelGuard.InvalidInput", error
    assert "not an enforce input" in error["errorMessage"], error


# --- SageMaker jobs --------------------------------------------------------------------------------


def test_jobs_start_in_progress_and_stop_as_on_aws(sm):
    job = name("tj")
    training_job(sm, job)
    assert sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "InProgress"
    sm.stop_training_job(TrainingJobName=job)
    assert sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.stop_training_job(TrainingJobName=job)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "in status Stopped" in refused.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        sm.stop_training_job(TrainingJobName=name("none"))
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound", missing.value.response
    assert "Could not find" in missing.value.response["Error"]["Message"]


def test_every_job_kind_can_be_stopped(sm):
    model = endpoint(sm, name("ep"))
    transform = name("xj")
    sm.create_transform_job(
        TransformJobName=transform, ModelName=model,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
        TransformOutput={"S3OutputPath": "s3://b/o"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    processing = name("pj")
    sm.create_processing_job(
        ProcessingJobName=processing, RoleArn=ROLE, AppSpecification={"ImageUri": "img:1"},
        ProcessingResources={"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                               "VolumeSizeInGB": 1}},
    )
    tuning = name("hj")
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning,
        HyperParameterTuningJobConfig={"Strategy": "Bayesian", "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1}},
        TrainingJobDefinition={
            "RoleArn": ROLE,
            "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    )
    checks = [
        (lambda: sm.describe_transform_job(TransformJobName=transform)["TransformJobStatus"],
         lambda: sm.stop_transform_job(TransformJobName=transform)),
        (lambda: sm.describe_processing_job(ProcessingJobName=processing)["ProcessingJobStatus"],
         lambda: sm.stop_processing_job(ProcessingJobName=processing)),
        (lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning)[
            "HyperParameterTuningJobStatus"],
         lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning)),
    ]
    for status, stop in checks:
        assert status() == "InProgress"
        stop()
        assert status() == "Stopped"
        with pytest.raises(botocore.exceptions.ClientError) as again:
            stop()
        assert again.value.response["Error"]["Code"] == "ValidationException", again.value.response
        assert "in status Stopped" in again.value.response["Error"]["Message"]
    missing = [
        lambda: sm.stop_transform_job(TransformJobName=name("none")),
        lambda: sm.stop_processing_job(ProcessingJobName=name("none")),
        lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name("none")),
    ]
    for stop in missing:
        with pytest.raises(botocore.exceptions.ClientError) as gone:
            stop()
        assert gone.value.response["Error"]["Code"] == "ResourceNotFound", gone.value.response


# --- Inference components ---------------------------------------------------------------------------


def test_inference_components_exist_and_block_their_endpoint(sm):
    endpoint_name = name("ep")
    model = endpoint(sm, endpoint_name)
    component = name("ic")
    sm.create_inference_component(
        InferenceComponentName=component, EndpointName=endpoint_name, VariantName="v0",
        Specification={"ModelName": model}, RuntimeConfig={"CopyCount": 1},
    )
    described = sm.describe_inference_component(InferenceComponentName=component)
    assert described["Specification"]["ModelName"] == model
    # CreationTime is when it was made, as a timestamp the SDKs parse.
    import datetime as dt
    age = dt.datetime.now(dt.timezone.utc) - described["CreationTime"]
    assert dt.timedelta(0) <= age < dt.timedelta(seconds=30), described["CreationTime"]
    assert described["InferenceComponentStatus"] == "InService"
    listed = sm.list_inference_components(EndpointNameEquals=endpoint_name)["InferenceComponents"]
    assert [c["InferenceComponentName"] for c in listed] == [component]

    with pytest.raises(botocore.exceptions.ClientError) as blocked:
        sm.delete_endpoint(EndpointName=endpoint_name)
    assert component in blocked.value.response["Error"]["Message"]

    sm.delete_inference_component(InferenceComponentName=component)
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        sm.describe_inference_component(InferenceComponentName=component)
    assert "Could not find inference component" in gone.value.response["Error"]["Message"]
    sm.delete_endpoint(EndpointName=endpoint_name)


def test_inference_components_are_described_as_aws_describes_them_and_update(sm):
    endpoint_name = name("ep")
    model = endpoint(sm, endpoint_name)
    bare = name("ic")
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/llm:1"
    sm.create_inference_component(
        InferenceComponentName=bare, EndpointName=endpoint_name, VariantName="v0",
        Specification={"Container": {"Image": image, "ArtifactUrl": "s3://b/m.tar.gz",
                                     "Environment": {"A": "1"}},
                       "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 1},
    )
    container = sm.describe_inference_component(InferenceComponentName=bare)["Specification"]["Container"]
    assert container["DeployedImage"]["SpecifiedImage"] == image
    assert container["DeployedImage"]["ResolvedImage"].startswith(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/llm@sha256:")
    assert (container["ArtifactUrl"], container["Environment"]) == ("s3://b/m.tar.gz", {"A": "1"})
    assert "Image" not in container

    # One specification per instance type.
    several = name("ic")
    sm.create_inference_component(
        InferenceComponentName=several, EndpointName=endpoint_name, VariantName="v0",
        Specifications=[{"InstanceType": "ml.g5.2xlarge", "ModelName": model},
                        {"InstanceType": "ml.g6.2xlarge", "Container": {"Image": image}}],
        RuntimeConfig={"CopyCount": 1},
    )
    described = sm.describe_inference_component(InferenceComponentName=several)
    assert "Specification" not in described
    assert [s.get("ModelName") for s in described["Specifications"]] == [model, None]
    assert described["Specifications"][1]["Container"]["DeployedImage"]["SpecifiedImage"] == image

    # An update: Updating for a moment with the new specification, then InService.
    before = described["LastModifiedTime"]
    time.sleep(1.1)
    sm.update_inference_component(InferenceComponentName=several, Specification={"ModelName": model})
    updating = sm.describe_inference_component(InferenceComponentName=several)
    assert updating["InferenceComponentStatus"] == "Updating"
    assert (updating["Specification"], "Specifications" in updating) == ({"ModelName": model}, False)
    assert updating["LastModifiedTime"] > before
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.update_inference_component(InferenceComponentName=several, Specification={"ModelName": model})
    assert "while its status is Updating" in refused.value.response["Error"]["Message"]
    time.sleep(1.2)
    assert sm.describe_inference_component(InferenceComponentName=several)["InferenceComponentStatus"] == "InService"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        sm.update_inference_component(InferenceComponentName=several, Specification={"ModelName": name("none")})
    assert "Could not find model" in missing.value.response["Error"]["Message"]
    for component in (bare, several):
        sm.delete_inference_component(InferenceComponentName=component)
    sm.delete_endpoint(EndpointName=endpoint_name)


def test_inference_components_scale_with_application_auto_scaling():
    autoscaling = client("application-autoscaling")
    resource = f"inference-component/{name('ic')}"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource,
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount", MinCapacity=1, MaxCapacity=2,
    )
    found = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    assert len(found["ScalableTargets"]) == 1


# --- Step Functions: states:startExecution -----------------------------------------------------------


def test_start_execution_works_and_a_duplicate_name_is_caught():
    sfn = client("stepfunctions")
    role = f"arn:aws:iam::{ACCOUNT}:role/states"
    child = sfn.create_state_machine(
        name=name("child"), roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    parent = sfn.create_state_machine(
        name=name("parent"), roleArn=role,
        definition=json.dumps({
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": {"StateMachineArn": child, "Name.$": "$.name", "Input.$": "$.input"},
                    "ResultPath": None,
                    "Catch": [{"ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"],
                               "ResultPath": "$.duplicate", "Next": "Duplicate"}],
                    "End": True,
                },
                "Duplicate": {"Type": "Pass", "Result": True, "ResultPath": "$.wasDuplicate", "End": True},
            },
        }),
    )["stateMachineArn"]
    child_name = name("evt")

    def run() -> dict:
        arn = sfn.start_execution(stateMachineArn=parent, name=name("run"),
                                  input=json.dumps({"name": child_name, "input": {"a": 1}}))["executionArn"]
        for _ in range(100):
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.1)
        raise AssertionError("the parent execution did not finish")

    first = run()
    assert first["status"] == "SUCCEEDED", first
    assert "wasDuplicate" not in json.loads(first["output"])
    second = run()
    assert second["status"] == "SUCCEEDED", second
    assert json.loads(second["output"])["wasDuplicate"] is True
    executions = sfn.list_executions(stateMachineArn=child)["executions"]
    assert [e["name"] for e in executions] == [child_name]


# --- Fault injection -------------------------------------------------------------------------------


def test_fault_throttle_throttles_twice_then_lets_through(sm):
    job = name("fault-throttle-tj")
    training_job(sm, job)  # CreateTrainingJob is throttled too: boto3 retries it
    no_retry = boto3.client("sagemaker", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                            config=botocore.config.Config(retries={"total_max_attempts": 1}))
    codes = []
    for _ in range(3):
        try:
            no_retry.describe_training_job(TrainingJobName=job)
            codes.append("ok")
        except botocore.exceptions.ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert codes == ["ThrottlingException", "ThrottlingException", "ok"]


def test_fault_denied_refuses_changes_but_not_describes(sm):
    endpoint_name = name("fault-denied-ep")
    endpoint(sm, endpoint_name)
    assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "InService"
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        sm.delete_endpoint(EndpointName=endpoint_name)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_fault_busy_endpoints_are_creating_for_a_moment(sm):
    endpoint_name = name("fault-busy-ep")
    endpoint(sm, endpoint_name)
    assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "Creating"
    with pytest.raises(botocore.exceptions.ClientError):
        sm.delete_endpoint(EndpointName=endpoint_name)
    time.sleep(3.2)
    assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "InService"
    sm.delete_endpoint(EndpointName=endpoint_name)


def post_to_testbed(path: str, body: dict) -> dict:
    import urllib.request
    request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def cloudtrail_record(event_name: str, at: str, **extra) -> dict:
    return {"eventVersion": "1.08", "eventSource": "sagemaker.amazonaws.com", "eventName": event_name,
            "eventID": str(uuid.uuid4()), "eventTime": at, "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT, "requestParameters": {"endpointName": name("ep")}, **extra}


def test_lookup_events_answers_from_registered_records_by_name_and_window_newest_first():
    import datetime as dt
    import random
    # An hour of its own (the store keeps what earlier tests registered).
    hour = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=random.randrange(200_000))
    stamp = lambda minutes: (hour + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    records = [cloudtrail_record("CreateEndpoint", stamp(m)) for m in range(60)]
    records.append(cloudtrail_record("CreateTrainingJob", stamp(30.5)))
    records.append(cloudtrail_record("CreateEndpoint", stamp(120)))
    assert post_to_testbed("/testbed/cloudtrail/records", {"records": records}) == {"registered": 62}
    ct = client("cloudtrail")
    pages = list(ct.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateEndpoint"}],
        StartTime=hour, EndTime=hour + dt.timedelta(minutes=59, seconds=59)))
    assert len(pages) == 2, "60 records come in pages of at most 50"
    events = [e for p in pages for e in p["Events"]]
    assert len(events) == 60
    assert [json.loads(e["CloudTrailEvent"])["eventTime"] for e in events[:2]] == [stamp(59), stamp(58)]
    assert {e["EventName"] for e in events} == {"CreateEndpoint"}



def test_lookup_events_answers_each_account_and_region_for_its_own_records_by_one_attribute():
    """CloudTrail answers for the account and region it is asked in: a member's records reach
    only that member's role, in that region; by EventSource as by EventName, one attribute only."""
    import datetime as dt
    import random
    hour = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=random.randrange(200_000))
    at = (hour + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    member = "444455556666"
    home = cloudtrail_record("CreateEndpoint", at)
    there = cloudtrail_record("CreateEndpoint", at, recipientAccountId=member, awsRegion="eu-west-1")
    read = cloudtrail_record("DescribeEndpoint", at, recipientAccountId=member, awsRegion="eu-west-1")
    other = cloudtrail_record("CreateBucket", at, recipientAccountId=member, awsRegion="eu-west-1",
                              eventSource="s3.amazonaws.com")
    post_to_testbed("/testbed/cloudtrail/records", {"records": [home, there, read, other]})
    admin = client("sts").assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                                      RoleSessionName="tests")["Credentials"]

    def ids(region: str, credentials: dict | None, key: str, value: str) -> set[str]:
        kwargs = {} if credentials is None else {
            "aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}
        ct = boto3.client("cloudtrail", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=region, **kwargs)
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}],
                                  StartTime=hour, EndTime=hour + dt.timedelta(minutes=59))["Events"]
        return {e["EventId"] for e in events}

    source = ("EventSource", "sagemaker.amazonaws.com")
    assert ids("eu-west-1", admin, *source) == {there["eventID"], read["eventID"]}
    assert ids("eu-west-1", admin, "EventName", "CreateEndpoint") == {there["eventID"]}
    assert ids("us-east-1", admin, *source) == set(), "another region of the member sees none"
    assert ids("us-east-1", None, *source) == {home["eventID"]}, "the home account sees only its own"
    assert ids("eu-west-1", None, *source) == set()
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateEndpoint"},
            {"AttributeKey": "EventSource", "AttributeValue": "sagemaker.amazonaws.com"}])
    assert refused.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


def signed_post(url: str, body: bytes, key_id: str, secret: str, region: str = "us-east-1",
                service: str = "lambda", skew: float = 0, send: bytes | None = None):
    """POSTs `body` signed with SigV4 (for `service` in `region`, `skew` seconds off the clock);
    `send` replaces the body after signing."""
    import datetime as dt
    import urllib.error
    import urllib.request
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    signed_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=skew)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)
    prepared = urllib.request.Request(url, data=send if send is not None else body,
                                      headers=dict(request.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(prepared) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_function_url_stand_in_checks_the_signature_and_passes_the_caller():
    function(client("lambda"), "approve")
    key_id = "AKIA" + uuid.uuid4().hex[:16].upper()
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/carol"
    post_to_testbed("/testbed/iam/keys", {"accessKeyId": key_id, "secretAccessKey": "s3cret", "arn": arn})
    url = os.environ["AWS_ENDPOINT_URL"] + "/lambda-url/approve/"
    # Signed right: the real approve binary answers (its 400: the body is no approval request).
    status, body = signed_post(url, b'{"target": 7}', key_id, "s3cret")
    assert status == 400 and body["error"] == "bad-request", body
    # A wrong secret, an unknown key, no signature at all: refused before the function runs.
    assert signed_post(url, b"{}", key_id, "wrong")[0] == 403
    assert signed_post(url, b"{}", "AKIAUNKNOWN0000000000", "s3cret")[0] == 403
    assert signed_post(url, b"{}", key_id, "s3cret", region="eu-west-1")[0] == 403, "signed for another region"
    assert signed_post(url, b"{}", key_id, "s3cret", service="sagemaker")[0] == 403, "signed for another service"
    assert signed_post(url, b"{}", key_id, "s3cret", skew=-16 * 60)[0] == 403, "signed 16 minutes ago"
    assert signed_post(url, b"{}", key_id, "s3cret", skew=16 * 60)[0] == 403, "signed 16 minutes ahead"
    assert signed_post(url, b'{"target": 7}', key_id, "s3cret", skew=-10 * 60)[0] == 400, "10 minutes is within"
    # The signature covers the body: the same signed request with another body is refused.
    assert signed_post(url, b'{"target": 7}', key_id, "s3cret", send=b'{"target": 8}')[0] == 403
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"))
    assert unsigned.value.code == 403


def component(sm, prefix: str) -> tuple[str, str]:
    """An endpoint with one inference component named `prefix-…`; returns both names."""
    endpoint_name = name("ep")
    model = endpoint(sm, endpoint_name)
    component_name = name(prefix)
    sm.create_inference_component(
        InferenceComponentName=component_name, EndpointName=endpoint_name, VariantName="v0",
        Specification={"ModelName": model}, RuntimeConfig={"CopyCount": 1},
    )
    return endpoint_name, component_name


def test_fault_busy_inference_components_are_creating_for_a_moment(sm):
    _, busy = component(sm, "fault-busy-ic")
    assert sm.describe_inference_component(InferenceComponentName=busy)["InferenceComponentStatus"] == "Creating"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.delete_inference_component(InferenceComponentName=busy)
    assert "while its status is Creating" in refused.value.response["Error"]["Message"]
    time.sleep(3.2)
    assert sm.describe_inference_component(InferenceComponentName=busy)["InferenceComponentStatus"] == "InService"


def unretried(service: str):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def codes(call, times: int) -> list[str]:
    found = []
    for _ in range(times):
        try:
            call()
            found.append("ok")
        except botocore.exceptions.ClientError as e:
            found.append(f"{e.response['ResponseMetadata']['HTTPStatusCode']} {e.response['Error']['Code']}")
    return found


def test_fault_throttle_always_throttles_every_call_but_the_create(sm):
    job = name("fault-throttle-always-tj")
    training_job(unretried("sagemaker"), job)  # the create is spared, at the first attempt
    describe = lambda: unretried("sagemaker").describe_training_job(TrainingJobName=job)  # noqa: E731
    assert codes(describe, 5) == ["400 ThrottlingException"] * 5
    stop = lambda: unretried("sagemaker").stop_training_job(TrainingJobName=job)  # noqa: E731
    assert codes(stop, 1) == ["400 ThrottlingException"]


def test_fault_5xx_fails_three_calls_with_500_then_lets_through(sm):
    job = name("fault-5xx-tj")
    training_job(unretried("sagemaker"), job)
    describe = lambda: unretried("sagemaker").describe_training_job(TrainingJobName=job)  # noqa: E731
    assert codes(describe, 4) == ["500 InternalFailure"] * 3 + ["ok"]
    # Counted per action: the stop has three failures of its own.
    stop = lambda: unretried("sagemaker").stop_training_job(TrainingJobName=job)  # noqa: E731
    assert codes(stop, 4) == ["500 InternalFailure"] * 3 + ["ok"]


def test_fault_lost_answer_serves_the_first_change_and_answers_500(sm):
    server = name("fault-lost-answer-mlf")
    sm.create_mlflow_tracking_server(TrackingServerName=server, ArtifactStoreUri="s3://b/mlflow",
                                     RoleArn="arn:aws:iam::123456789012:role/Exec")
    stop = lambda: unretried("sagemaker").stop_mlflow_tracking_server(TrackingServerName=server)  # noqa: E731
    # The first stop took effect (the server is stopping) though it answered 500: the second,
    # as the SDK's retry would be, is refused for the state the first left.
    assert codes(stop, 2) == ["500 InternalFailure", "400 ConflictException"]
    assert sm.describe_mlflow_tracking_server(TrackingServerName=server)["TrackingServerStatus"] == "Stopping"


def test_fault_denied_describe_refuses_describes_and_lists(sm):
    endpoint_name = name("fault-denied-describe-ep")
    endpoint(sm, endpoint_name)  # created: creates are not refused
    describe = lambda: sm.describe_endpoint(EndpointName=endpoint_name)  # noqa: E731
    listed = lambda: sm.list_inference_components(EndpointNameEquals=endpoint_name)  # noqa: E731
    assert codes(describe, 1) == codes(listed, 1) == ["400 AccessDeniedException"]
    other = name("ep")
    endpoint(sm, other)
    assert sm.describe_endpoint(EndpointName=other)["EndpointStatus"] == "InService"


def test_fault_updating_endpoints_stay_updating_past_a_functions_run(sm):
    endpoint_name = name("fault-updating-ep")
    endpoint(sm, endpoint_name)
    time.sleep(3.2)  # longer than fault-busy-* lasts
    assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "Updating"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.delete_endpoint(EndpointName=endpoint_name)
    assert "while its status is Updating" in refused.value.response["Error"]["Message"]


def test_fault_busy_long_endpoints_stay_updating_for_more_describes_than_the_old_retry_made(sm):
    endpoint_name = name("fault-busy-long-ep")
    endpoint(sm, endpoint_name)
    for _ in range(19):
        assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "Updating"
    with pytest.raises(botocore.exceptions.ClientError):
        sm.delete_endpoint(EndpointName=endpoint_name)
    assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "InService"
    sm.delete_endpoint(EndpointName=endpoint_name)


def test_fault_slow_delete_endpoints_are_deleting_for_a_moment_then_gone(sm):
    endpoint_name = name("fault-slow-delete-ep")
    endpoint(sm, endpoint_name)
    sm.delete_endpoint(EndpointName=endpoint_name)
    assert sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "Deleting"
    # Every page: a testbed that benchmarks ran on holds thousands of endpoints.
    listed = [e["EndpointName"] for page in sm.get_paginator("list_endpoints").paginate() for e in page["Endpoints"]]
    assert endpoint_name in listed
    with pytest.raises(botocore.exceptions.ClientError) as again:
        sm.delete_endpoint(EndpointName=endpoint_name)
    assert "while its status is Deleting" in again.value.response["Error"]["Message"]
    time.sleep(3.2)
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        sm.describe_endpoint(EndpointName=endpoint_name)
    assert "Could not find endpoint" in gone.value.response["Error"]["Message"]


def test_fault_slow_delete_inference_components_block_their_endpoint_until_gone(sm):
    endpoint_name, slow = component(sm, "fault-slow-delete-ic")
    sm.delete_inference_component(InferenceComponentName=slow)
    assert sm.describe_inference_component(InferenceComponentName=slow)["InferenceComponentStatus"] == "Deleting"
    listed = sm.list_inference_components(EndpointNameEquals=endpoint_name)["InferenceComponents"]
    assert [(c["InferenceComponentName"], c["InferenceComponentStatus"]) for c in listed] == [(slow, "Deleting")]
    with pytest.raises(botocore.exceptions.ClientError) as blocked:
        sm.delete_endpoint(EndpointName=endpoint_name)
    assert slow in blocked.value.response["Error"]["Message"]
    time.sleep(3.2)
    assert sm.list_inference_components(EndpointNameEquals=endpoint_name)["InferenceComponents"] == []
    sm.delete_endpoint(EndpointName=endpoint_name)


def test_fault_slow_stop_jobs_are_stopping_for_a_moment_then_stopped(sm):
    job = name("fault-slow-stop-tj")
    training_job(sm, job)
    sm.stop_training_job(TrainingJobName=job)
    assert sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopping"
    with pytest.raises(botocore.exceptions.ClientError) as again:
        sm.stop_training_job(TrainingJobName=job)
    assert "in status Stopping" in again.value.response["Error"]["Message"]
    time.sleep(3.2)
    assert sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"


def test_fault_txn_tables_take_one_transaction_then_refuse_every_other():
    ddb = unretried("dynamodb")
    tables = {}
    for prefix in ("fault-txn-t", "t"):
        tables[prefix] = name(prefix)
        ddb.create_table(TableName=tables[prefix], BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])

    def write(table: str, key: str):
        return lambda: ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": key}}}}])

    faulty = tables["fault-txn-t"]
    results = [codes(write(faulty, f"k{i}"), 1)[0] for i in range(3)]
    assert results == ["ok", "400 ProvisionedThroughputExceededException",
                       "400 ProvisionedThroughputExceededException"]
    assert [codes(write(tables["t"], f"k{i}"), 1)[0] for i in range(3)] == ["ok"] * 3
    # Only the first write happened.
    assert ddb.scan(TableName=faulty)["Count"] == 1


def register_key(arn: str) -> tuple[str, str]:
    key_id, secret = "ASIA" + uuid.uuid4().hex[:16].upper(), uuid.uuid4().hex
    post_to_testbed("/testbed/iam/keys", {"accessKeyId": key_id, "secretAccessKey": secret, "arn": arn})
    return key_id, secret


def presigned_caller_identity(key_id: str, secret: str, headers: dict | None = None, region: str = "us-east-1",
                              expires: int = 300) -> tuple[str, dict]:
    """A presigned GetCallerIdentity, as botocore's SigV4 query signer makes it: (url, headers to send)."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = os.environ["AWS_ENDPOINT_URL"] + "/?Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method="GET", url=url, headers=dict(headers or {}))
    SigV4QueryAuth(Credentials(key_id, secret), "sts", region, expires=expires).add_auth(request)
    return request.url, dict(headers or {})


def get(url: str, headers: dict) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def test_sts_get_caller_identity_checks_a_presigned_signature_and_names_the_registered_caller():
    arn = "arn:aws:sts::123456789012:assumed-role/SecurityOps/carol"
    key_id, secret = register_key(arn)
    binding = {"x-model-guard-approval": "abc"}
    url, headers = presigned_caller_identity(key_id, secret, binding)
    status, body = get(url, {**headers, "Accept": "application/json"})
    assert status == 200, body
    result = json.loads(body)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    assert result["Arn"] == arn and result["Account"] == "123456789012"
    # Without Accept: application/json, STS answers XML.
    status, body = get(url, headers)
    assert status == 200 and b"<Arn>" + arn.encode() + b"</Arn>" in body
    # A signed header changed, or left out: the signature no longer matches.
    assert get(url, {"x-model-guard-approval": "abd"})[0] == 403
    assert get(url, {})[0] == 403
    # Another key, an unknown key, a forged signature, another region's scope, an expired URL.
    other_id, _ = register_key("arn:aws:sts::123456789012:assumed-role/DataScientist/dan")
    assert get(presigned_caller_identity(other_id, secret, binding)[0], headers)[0] == 403
    unknown = presigned_caller_identity("ASIAUNKNOWN", secret, binding)[0]
    status, body = get(unknown, headers)
    assert status == 403 and b"InvalidClientTokenId" in body
    forged = url[: url.index("X-Amz-Signature=") + len("X-Amz-Signature=")] + "0" * 64
    status, body = get(forged, headers)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert get(presigned_caller_identity(key_id, secret, binding, region="eu-west-1")[0], headers)[0] == 403
    expired, _ = presigned_caller_identity(key_id, secret, binding, expires=1)
    time.sleep(2.1)
    status, body = get(expired, headers)
    assert status == 403 and b"expired" in body


def test_sts_get_caller_identity_checks_a_header_signature_too():
    arn = "arn:aws:iam::123456789012:user/alice"
    key_id, secret = register_key(arn)
    sts = boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id=key_id, aws_secret_access_key=secret)
    assert sts.get_caller_identity()["Arn"] == arn
    wrong = boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                         aws_access_key_id=key_id, aws_secret_access_key="not-" + secret)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        wrong.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_stop_execution_aborts_a_run_waiting_on_a_task_token_at_once():
    sfn = client("stepfunctions")
    definition = {"StartAt": "Wait", "States": {"Wait": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken", "TimeoutSeconds": 30,
        "Parameters": {"TopicArn": client("sns").create_topic(Name=name("t"))["TopicArn"], "Message.$": "$$.Task.Token"},
        "Next": "After"}, "After": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name=name("waits"), roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
                                       definition=json.dumps(definition))["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=machine, name=name("run"), input="{}")["executionArn"]
    time.sleep(1)
    assert sfn.describe_execution(executionArn=run)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=run, error="Stopped", cause="by a test")
    assert sfn.describe_execution(executionArn=run)["status"] == "ABORTED"


# --- Lambda's own invocations: SNS subscriptions and DynamoDB streams -----------------------------


def decisions_item(event_id: str, wait: float = 10.0) -> dict | None:
    """The item under `event_id` in the functions' decisions table, once it is there."""
    ddb = client("dynamodb")
    deadline = time.time() + wait
    while True:
        item = ddb.get_item(TableName=os.environ["DECISIONS_TABLE"], Key={"eventId": {"S": event_id}},
                            ConsistentRead=True).get("Item")
        if item is not None or time.time() > deadline:
            return item
        time.sleep(0.2)


def guard_tables() -> None:
    from tables import ensure_tables
    ensure_tables(client("dynamodb"), os.environ["POLICY_TABLE"], os.environ["DECISIONS_TABLE"],
                  os.environ["RECORDS_TABLE"])


def test_an_sns_subscription_invokes_the_real_binary_with_the_event_aws_builds():
    # The watch binary keeps each message of a topic it is subscribed to under its MessageId:
    # moto's own event would give every message the same example MessageId.
    guard_tables()
    lam, sns = client("lambda"), client("sns")
    function(lam, "watch")
    topic = sns.create_topic(Name=name("guard"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda",
                  Endpoint=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:watch")
    ids = [sns.publish(TopicArn=topic, Subject=f"subject {i}", Message=json.dumps(
        {"kind": "tamper", "tamper": {"what": "guard-changed", "eventId": f"e-{i}", "detail": "d"}}))["MessageId"]
        for i in range(2)]
    assert ids[0] != ids[1]
    for i, message_id in enumerate(ids):
        item = decisions_item(f"guard-alert#{message_id}")
        assert item is not None, "the binary did not keep the message"
        assert item["summary"]["S"] == f"subject {i}"
        assert item["about"]["S"] == f"e-{i}"
        # SNS's Timestamp, now: not moto's 1970.
        assert item["decidedAt"]["S"] >= time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))


def test_a_dynamodb_stream_mapping_invokes_the_real_binary_with_each_change():
    # The watch binary alerts a change to a table whose stream is mapped to it on GUARD_TOPIC_ARN.
    guard_tables()
    lam, ddb, sns, sqs = client("lambda"), client("dynamodb"), client("sns"), client("sqs")
    function(lam, "watch")
    sns.create_topic(Name=os.environ["GUARD_TOPIC_ARN"].rsplit(":", 1)[1])
    queue = name("heard")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    sns.subscribe(TopicArn=os.environ["GUARD_TOPIC_ARN"], Protocol="sqs",
                  Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}")
    table = name("streamed")
    stream = ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="watch", StartingPosition="LATEST")
    pk = name("model#launcher-test")
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "principals": {"L": []}})
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "principals": {"L": [{"S": "*"}]}})
    deadline, changed = time.time() + 15, []
    while time.time() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            document = json.loads(json.loads(message["Body"])["Message"])
            if document.get("kind") == "policy-changed" and document["policyChange"]["pk"] == pk:
                changed.append(document["policyChange"]["change"])
        if len(changed) >= 2:
            time.sleep(2)  # long enough for a duplicate to show
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                document = json.loads(json.loads(message["Body"])["Message"])
                if document.get("kind") == "policy-changed" and document["policyChange"]["pk"] == pk:
                    changed.append(document["policyChange"]["change"])
            break
    # Each change once, in order.
    assert sorted(changed) == ["created", "modified"], changed


def test_topic_attributes_count_subscriptions_as_aws_does():
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name=name("counted"))["TopicArn"]

    def counts() -> tuple[str, str]:
        attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
        return attributes["SubscriptionsConfirmed"], attributes["SubscriptionsPending"]

    assert counts() == ("0", "0")
    queue = name("q")
    sqs.create_queue(QueueName=queue)
    sqs_subscription = sns.subscribe(TopicArn=topic, Protocol="sqs",
                                     Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}")["SubscriptionArn"]
    # An e-mail address confirms by mail: pending until then.
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    assert counts() == ("1", "1")
    sns.unsubscribe(SubscriptionArn=sqs_subscription)
    assert counts() == ("0", "1")


def test_describe_endpoint_reports_the_ecr_images_sagemaker_resolved(sm):
    ecr = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
    digest = "sha256:" + "ab" * 32
    model = name("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, Containers=[
        {"Image": f"{ecr}/fraud:v3"}, {"Image": f"{ecr}/side@{digest}"}, {"Image": "docker.io/library/nginx:1"}])
    config = name("cfg")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "v0", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    endpoint_name = name("ep")
    sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config)
    [variant] = sm.describe_endpoint(EndpointName=endpoint_name)["ProductionVariants"]
    images = {i["SpecifiedImage"]: i["ResolvedImage"] for i in variant["DeployedImages"]}
    tag_digest = hashlib.sha256(f"{ecr}/fraud:v3".encode()).hexdigest()
    # A tag resolves to a digest of its repository, a digest to itself; another registry's image
    # is not resolved (SageMaker reports ECR images only).
    assert images == {f"{ecr}/fraud:v3": f"{ecr}/fraud@sha256:{tag_digest}",
                      f"{ecr}/side@{digest}": f"{ecr}/side@{digest}"}
    # An endpoint whose model has no ECR image has no DeployedImages.
    plain = name("ep")
    endpoint(sm, plain)
    assert "DeployedImages" not in sm.describe_endpoint(EndpointName=plain)["ProductionVariants"][0]


# --- SageMaker pipelines ---------------------------------------------------------------------------


def pipeline(sm, pipeline_name: str) -> None:
    sm.create_pipeline(
        PipelineName=pipeline_name, RoleArn=ROLE, ClientRequestToken=uuid.uuid4().hex,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
    )


def test_a_pipeline_execution_runs_until_stopped_and_names_who_started_it(sm):
    pipeline_name = name("pipe")
    pipeline(sm, pipeline_name)
    starter = "arn:aws:sts::123456789012:assumed-role/DataScientist/bob"
    key_id, secret = register_key(starter)
    as_bob = boto3.client("sagemaker", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=key_id, aws_secret_access_key=secret)
    arn = as_bob.start_pipeline_execution(PipelineName=pipeline_name,
                                          ClientRequestToken=uuid.uuid4().hex)["PipelineExecutionArn"]
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Executing"
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == starter
    # A caller the testbed has no key for is not named, as moto leaves it.
    other = sm.start_pipeline_execution(PipelineName=pipeline_name,
                                        ClientRequestToken=uuid.uuid4().hex)["PipelineExecutionArn"]
    assert "IamIdentity" not in sm.describe_pipeline_execution(PipelineExecutionArn=other)["CreatedBy"]
    sm.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=uuid.uuid4().hex)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopping"
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopped"
    with pytest.raises(botocore.exceptions.ClientError, match="in status Stopped"):
        sm.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=uuid.uuid4().hex)


def test_the_steps_played_for_an_execution_are_listed_as_sagemaker_lists_them(sm):
    pipeline_name = name("pipe")
    pipeline(sm, pipeline_name)
    arn = sm.start_pipeline_execution(PipelineName=pipeline_name,
                                      ClientRequestToken=uuid.uuid4().hex)["PipelineExecutionArn"]
    assert sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"] == []
    job_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{name('step')}"
    post_to_testbed("/testbed/sagemaker/pipeline-steps",
                    {"executionArn": arn, "stepName": "Train", "metadata": {"TrainingJob": {"Arn": job_arn}}})
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["Metadata"]["TrainingJob"]["Arn"]) for s in steps] == [("Train", job_arn)]


def test_an_update_moves_a_pipelines_last_modified_time_as_on_aws(sm):
    pipeline_name = name("pipe")
    pipeline(sm, pipeline_name)
    created = sm.describe_pipeline(PipelineName=pipeline_name)["LastModifiedTime"]
    time.sleep(1.1)
    sm.update_pipeline(PipelineName=pipeline_name, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Other")
    described = sm.describe_pipeline(PipelineName=pipeline_name)
    assert described["RoleArn"].endswith("role/Other")
    assert described["LastModifiedTime"] > created


# --- SageMaker Studio ------------------------------------------------------------------------------


def test_studio_profiles_and_apps_behave_as_on_aws(sm):
    domain_id = sm.create_domain(
        DomainName=name("dom"), AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=["subnet-1"], VpcId="vpc-1")["DomainArn"].rsplit("/", 1)[-1]
    prod = f"arn:aws:iam::{ACCOUNT}:role/Prod"
    profile_arn = sm.create_user_profile(DomainId=domain_id, UserProfileName="alice",
                                         UserSettings={"ExecutionRole": prod})["UserProfileArn"]
    assert profile_arn.endswith(f":user-profile/{domain_id}/alice")
    assert sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["UserSettings"] == {
        "ExecutionRole": prod}
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.describe_user_profile(DomainId=domain_id, UserProfileName="nobody")
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.create_app(DomainId=domain_id, UserProfileName="nobody", AppType="JupyterLab", AppName="default")
    app = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterLab", "AppName": "default"}
    assert sm.create_app(**app)["AppArn"].endswith(f":app/{domain_id}/alice/jupyterlab/default")
    assert sm.describe_app(**app)["Status"] == "InService"
    sm.delete_app(**app)
    assert sm.describe_app(**app)["Status"] == "Deleting"
    assert sm.describe_app(**app)["Status"] == "Deleted"
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.delete_app(**app)


def test_list_tags_answers_for_every_resource_as_aws_does(sm):
    job = name("tj")
    training_job(sm, job)
    arn = sm.describe_training_job(TrainingJobName=job)["TrainingJobArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagemaker:pipeline-execution-arn", "Value": "x"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "sagemaker:pipeline-execution-arn", "Value": "x"}]
    transform = name("xj")
    sm.create_transform_job(
        TransformJobName=transform, ModelName=endpoint(sm, name("ep2")),
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
        TransformOutput={"S3OutputPath": "s3://b/o"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    transform_arn = sm.describe_transform_job(TransformJobName=transform)["TransformJobArn"]
    assert sm.list_tags(ResourceArn=transform_arn)["Tags"] == []
    missing = arn.replace(job, name("never"))
    with pytest.raises(botocore.exceptions.ClientError, match="ValidationException"):
        sm.list_tags(ResourceArn=missing)


def test_a_compilation_job_runs_until_stopped_in_capitals_as_on_aws(sm):
    job = name("cj")
    sm.create_compilation_job(
        CompilationJobName=job, RoleArn=ROLE,
        InputConfig={"S3Uri": "s3://b/model.tar.gz", "DataInputConfig": '{"data": [1, 3, 224, 224]}',
                     "Framework": "PYTORCH"},
        OutputConfig={"S3OutputLocation": "s3://b/out", "TargetDevice": "ml_c5"},
        StoppingCondition={"MaxRuntimeInSeconds": 900})

    def status() -> str:
        return sm.describe_compilation_job(CompilationJobName=job)["CompilationJobStatus"]

    assert status() == "INPROGRESS"
    sm.stop_compilation_job(CompilationJobName=job)
    assert status() == "STOPPED"
    with pytest.raises(botocore.exceptions.ClientError, match="in status STOPPED"):
        sm.stop_compilation_job(CompilationJobName=job)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.stop_compilation_job(CompilationJobName=name("none"))


def create_automl_job(sm, job: str, role: str) -> None:  # noqa: ANN001
    sm.create_auto_ml_job_v2(
        AutoMLJobName=job, RoleArn=role,
        AutoMLJobInputDataConfig=[{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}}],
        OutputDataConfig={"S3OutputPath": "s3://b/out"},
        AutoMLProblemTypeConfig={"TabularJobConfig": {
            "TargetAttributeName": "y", "ProblemType": "BinaryClassification",
            "CompletionCriteria": {"MaxCandidates": 1}}})


def test_an_automl_job_runs_until_stopped_as_on_aws(sm):
    job = name("aj")
    create_automl_job(sm, job, ROLE)

    def status() -> str:
        return sm.describe_auto_ml_job_v2(AutoMLJobName=job)["AutoMLJobStatus"]

    assert status() == "InProgress"
    sm.stop_auto_ml_job(AutoMLJobName=job)
    assert status() == "Stopped"
    with pytest.raises(botocore.exceptions.ClientError, match="in status Stopped"):
        sm.stop_auto_ml_job(AutoMLJobName=job)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.stop_auto_ml_job(AutoMLJobName=name("none"))

def test_a_monitoring_schedule_is_scheduled_until_stopped_as_on_aws(sm):
    schedule = name("ms")
    config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
              "MonitoringJobDefinitionName": "dq", "MonitoringType": "DataQuality"}
    arn = sm.create_monitoring_schedule(MonitoringScheduleName=schedule,
                                        MonitoringScheduleConfig=config)["MonitoringScheduleArn"]
    assert arn.endswith(f":monitoring-schedule/{schedule}")
    described = sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == "dq"
    sm.stop_monitoring_schedule(MonitoringScheduleName=schedule)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)["MonitoringScheduleStatus"] == "Stopped"
    with pytest.raises(botocore.exceptions.ClientError, match="in status Stopped"):
        sm.stop_monitoring_schedule(MonitoringScheduleName=schedule)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.describe_monitoring_schedule(MonitoringScheduleName=name("none"))


def test_an_mlflow_tracking_server_runs_until_stopped_as_on_aws(sm):
    server = name("mlf")
    sm.create_mlflow_tracking_server(TrackingServerName=server, ArtifactStoreUri="s3://b/mlflow", RoleArn=ROLE)

    def status() -> str:
        return sm.describe_mlflow_tracking_server(TrackingServerName=server)["TrackingServerStatus"]

    assert status() == "Created"
    assert sm.describe_mlflow_tracking_server(TrackingServerName=server)["RoleArn"] == ROLE
    sm.stop_mlflow_tracking_server(TrackingServerName=server)
    assert status() == "Stopping"
    assert status() == "Stopped"
    with pytest.raises(botocore.exceptions.ClientError, match="in status Stopped"):
        sm.stop_mlflow_tracking_server(TrackingServerName=server)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.describe_mlflow_tracking_server(TrackingServerName=name("none"))


def experiment_variants() -> list[dict]:
    infra = {"InfrastructureType": "RealTimeInference",
             "RealTimeInferenceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}
    return [{"ModelName": "prod-model", "VariantName": "production", "InfrastructureConfig": infra},
            {"ModelName": "shadow-model", "VariantName": "shadow", "InfrastructureConfig": infra}]


def test_an_inference_experiment_runs_until_stopped_and_a_removed_variant_is_deleted(sm):
    experiment = name("ie")
    sm.create_inference_experiment(
        Name=experiment, Type="ShadowMode", RoleArn=ROLE, EndpointName="ep",
        ModelVariants=experiment_variants(),
        ShadowModeConfig={"SourceModelVariantName": "production",
                          "ShadowModelVariants": [{"ShadowModelVariantName": "shadow", "SamplingPercentage": 50}]})

    def described() -> dict:
        return sm.describe_inference_experiment(Name=experiment)

    assert described()["Status"] == "Running"
    assert described()["EndpointMetadata"]["EndpointName"] == "ep"
    with pytest.raises(botocore.exceptions.ClientError, match="every variant"):
        sm.stop_inference_experiment(Name=experiment, ModelVariantActions={"shadow": "Remove"})
    sm.stop_inference_experiment(Name=experiment, ModelVariantActions={"production": "Retain", "shadow": "Remove"},
                                 DesiredState="Cancelled")
    assert described()["Status"] == "Stopping"
    after = described()
    assert after["Status"] == "Cancelled"
    assert [v["Status"] for v in after["ModelVariants"]] == ["InService", "Deleted"]
    with pytest.raises(botocore.exceptions.ClientError, match="in status Cancelled"):
        sm.stop_inference_experiment(Name=experiment, ModelVariantActions={"production": "Retain", "shadow": "Remove"})
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.describe_inference_experiment(Name=name("none"))
    # Only an ended experiment can be deleted, as on AWS; then nothing describes it.
    running = name("ie-running")
    sm.create_inference_experiment(
        Name=running, Type="ShadowMode", RoleArn=ROLE, EndpointName="ep", ModelVariants=experiment_variants(),
        ShadowModeConfig={"SourceModelVariantName": "production",
                          "ShadowModelVariants": [{"ShadowModelVariantName": "shadow", "SamplingPercentage": 50}]})
    with pytest.raises(botocore.exceptions.ClientError, match="ConflictException"):
        sm.delete_inference_experiment(Name=running)
    sm.delete_inference_experiment(Name=experiment)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        sm.describe_inference_experiment(Name=experiment)


def test_an_automl_job_played_as_deploying_to_a_generated_name_names_it_only_once_deployed(sm):
    job = name("ap-auto")
    arn = sm.create_auto_ml_job_v2(
        AutoMLJobName=job, RoleArn=ROLE,
        AutoMLJobInputDataConfig=[{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}}],
        OutputDataConfig={"S3OutputPath": "s3://b/out"},
        AutoMLProblemTypeConfig={"TabularJobConfig": {"TargetAttributeName": "y", "ProblemType": "BinaryClassification",
                                                       "CompletionCriteria": {"MaxCandidates": 1}}},
        ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": "placeholder"})["AutoMLJobArn"]
    post_to_testbed("/testbed/sagemaker/automl-deployments", {"jobArn": arn})
    deploying = sm.describe_auto_ml_job_v2(AutoMLJobName=job)
    assert deploying["AutoMLJobStatus"] == "InProgress"
    assert deploying["ModelDeployConfig"] == {"AutoGenerateEndpointName": True}
    assert "ModelDeployResult" not in deploying
    post_to_testbed("/testbed/sagemaker/automl-deployments", {"jobArn": arn, "endpointName": "ap-auto-ep"})
    deployed = sm.describe_auto_ml_job_v2(AutoMLJobName=job)
    assert deployed["AutoMLJobStatus"] == "Completed"
    assert deployed["ModelDeployResult"] == {"EndpointName": "ap-auto-ep"}


def test_a_processing_job_played_as_a_monitoring_run_names_its_schedule_as_sagemaker_does(sm):
    job = name("mon-run")
    sm.create_processing_job(ProcessingJobName=job, RoleArn=ROLE, AppSpecification={"ImageUri": "img:1"},
                             ProcessingResources={"ClusterConfig": {
                                 "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}})
    assert "MonitoringScheduleArn" not in sm.describe_processing_job(ProcessingJobName=job)
    schedule = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:monitoring-schedule/{name('ms')}"
    post_to_testbed("/testbed/sagemaker/monitoring-runs", {"processingJobName": job, "scheduleArn": schedule})
    assert sm.describe_processing_job(ProcessingJobName=job)["MonitoringScheduleArn"] == schedule


def test_update_endpoint_serves_the_old_config_while_updating_then_the_new_one(sm):
    endpoint_name = name("ep")
    endpoint(sm, endpoint_name)
    old = sm.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    model = name("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/Exec",
                    PrimaryContainer={"Image": "img:2"})
    new = name("cfg")
    sm.create_endpoint_config(EndpointConfigName=new, ProductionVariants=[
        {"VariantName": "v", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    before = sm.describe_endpoint(EndpointName=endpoint_name)["LastModifiedTime"]
    time.sleep(1.1)
    sm.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=new)
    updating = sm.describe_endpoint(EndpointName=endpoint_name)
    assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", old)
    assert updating["LastModifiedTime"] > before
    # AWS refuses an update while one is under way, and of a config that does not exist.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=old)
    assert "Cannot update in-progress endpoint" in refused.value.response["Error"]["Message"]
    time.sleep(1.2)
    done = sm.describe_endpoint(EndpointName=endpoint_name)
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", new)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        sm.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=name("no-such-cfg"))
    assert "Could not find endpoint configuration" in missing.value.response["Error"]["Message"]


def test_only_a_role_that_exists_in_its_account_can_be_assumed():
    """A member's administrators who delete the guard's member role cut it off, as on AWS; the
    role Organizations makes in every account it creates is there from the start."""
    sts = client("sts")
    member = "444455556666"
    missing = f"arn:aws:iam::{member}:role/{name('Gone')}"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sts.assume_role(RoleArn=missing, RoleSessionName="tests")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert missing in refused.value.response["Error"]["Message"]

    admin = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                            RoleSessionName="tests")["Credentials"]
    iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"],
                       aws_session_token=admin["SessionToken"])
    role = name("Member")
    made = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    assert made == f"arn:aws:iam::{member}:role/{role}"
    assert sts.assume_role(RoleArn=made, RoleSessionName="tests")["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{member}:assumed-role/{role}/")
    # A role of that name in another account is not this one.
    client("iam").create_role(RoleName=role + "-x", AssumeRolePolicyDocument="{}")
    with pytest.raises(botocore.exceptions.ClientError):
        sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/{role}-x", RoleSessionName="tests")
    iam.delete_role(RoleName=role)
    with pytest.raises(botocore.exceptions.ClientError):
        sts.assume_role(RoleArn=made, RoleSessionName="tests")


# --- faults at random, for the chaos soak ------------------------------------------------------------


def chaos(plan: dict) -> dict:
    import urllib.request
    request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/testbed/chaos", data=json.dumps(plan).encode(),
                                     method="POST")
    with urllib.request.urlopen(request) as answer:
        json.load(answer)
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/testbed/chaos") as answer:
        return json.load(answer)


def soak_client(service: str):
    """A client as scripts/soak makes them: spared by the chaos plan."""
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        config=botocore.config.Config(user_agent_appid="model-guard-soak",
                                                      retries={"total_max_attempts": 1}))


def test_chaos_throttles_and_fails_each_service_as_it_would_and_spares_the_soak():
    plain = lambda service: boto3.client(  # noqa: E731
        service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
        config=botocore.config.Config(retries={"total_max_attempts": 1}))
    try:
        chaos({"seed": 1, "throttle": 1.0})
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            plain("dynamodb").list_tables()
        assert refused.value.response["Error"]["Code"] == "ThrottlingException"
        assert refused.value.response["ResponseMetadata"]["RequestId"]  # moto's Step Functions reads it
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            plain("sns").list_topics()
        assert (refused.value.response["Error"]["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) \
            == ("Throttled", 429)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            plain("sts").get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "Throttling"
        soak_client("dynamodb").list_tables()  # spared
        report = chaos({"seed": 1, "error5xx": 1.0})
        assert report["injected"] == {}  # a new plan starts its counts afresh
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            plain("sagemaker").list_endpoints()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        report = chaos({"off": True})
        assert report["injected"] == {"sagemaker/error5xx": 1}, report
        assert report["rates"] is None
        plain("sagemaker").list_endpoints()  # off: served
    finally:
        chaos({"off": True})


def test_chaos_after_serves_the_call_then_loses_the_answer_and_counts_the_alert_it_published():
    sns, sqs = soak_client("sns"), soak_client("sqs")
    topic = sns.create_topic(Name=name("chaos"))["TopicArn"]
    queue = sqs.create_queue(QueueName=name("chaos"))["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue.rsplit('/', 1)[1]}")
    plain = boto3.client("sns", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                         config=botocore.config.Config(retries={"total_max_attempts": 1}))
    try:
        chaos({"seed": 2, "after": 1.0})
        message = json.dumps({"kind": "enforced", "verdict": {"eventId": "e-1"}})
        with pytest.raises(botocore.exceptions.ClientError) as lost:
            # As the guard publishes: one message per protocol, the document as the default.
            plain.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": message}))
        assert lost.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        report = chaos({"off": True})
    finally:
        chaos({"off": True})
    assert report["publishedThenFailed"] == {"e-1:enforced": 1}, report
    assert list(report["published"]) == ["e-1:enforced"], report  # SNS accepted it, when
    assert [f["fault"] for f in report["faultsAbout"]["e-1"]] == ["sns/after"], report
    delivered = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", [])
    assert [json.loads(m["Body"])["Message"] for m in delivered] == [message]


def test_chaos_kill_ends_an_invocation_as_lambda_ends_a_killed_runtime_and_the_next_one_runs():
    lam = soak_client("lambda")
    function(lam, "parse-event")
    with open(os.path.join(os.path.dirname(__file__), "../events/covered-create-endpoint-violation.json")) as f:
        event = json.load(f)
    try:
        # Killed the moment it takes the event: it never answers.
        chaos({"seed": 3, "kill": 1.0, "killWindow": 0.0})
        # The soak's own client is spared request faults, not kills: a kill is drawn per invocation.
        response = lam.invoke(FunctionName="parse-event", Payload=json.dumps(event))
        report = chaos({"off": True})
    finally:
        chaos({"off": True})
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Runtime.ExitError", error
    assert "signal: killed" in error["errorMessage"]
    assert report["killed"] == [{"function": "parse-event", "eventId": event["detail"]["eventID"], "afterMs": 0}], report
    # cargo lambda watch's own instance was never touched: the next invocation runs as usual.
    response = lam.invoke(FunctionName="parse-event", Payload=json.dumps(event))
    assert "FunctionError" not in response


def test_requests_are_counted_by_client_and_service():
    import urllib.request
    url = os.environ["AWS_ENDPOINT_URL"] + "/testbed/requests"
    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"))
    app = f"count-{uuid.uuid4().hex[:6]}"  # this test's own: nothing else on the testbed sends it
    counted_client = lambda service: boto3.client(  # noqa: E731
        service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
        config=botocore.config.Config(user_agent_appid=app))
    counted_client("sagemaker").list_endpoints()
    counted_client("sagemaker").list_models()
    counted_client("dynamodb").list_tables()
    with urllib.request.urlopen(url) as answer:
        counted = json.load(answer)
    assert counted[app] == {"sagemaker": 2, "dynamodb": 1}, counted
    # And the time the emulator spent serving them: the floor under a benchmark's time.
    with urllib.request.urlopen(url + "/ms") as answer:
        serving = json.load(answer)
    assert 0 < serving[app] < 5000, serving
    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"))
    with urllib.request.urlopen(url + "/ms") as answer:
        assert app not in json.load(answer)


def test_chaos_counts_a_held_publish_as_one_that_may_come_twice():
    # The caller gives up on a Publish held past its timeout and retries; SNS then serves the held
    # one too. The soak explains a repeated alert by this count.
    sns = soak_client("sns")
    topic = sns.create_topic(Name=name("chaos"))["TopicArn"]
    plain = boto3.client("sns", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                         config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=1))
    message = json.dumps({"default": json.dumps({"kind": "enforced", "verdict": {"eventId": "e-2"}})})
    try:
        chaos({"seed": 4, "timeout": 1.0})
        with pytest.raises(botocore.exceptions.ReadTimeoutError):
            plain.publish(TopicArn=topic, MessageStructure="json", Message=message)
        import chaos as plan  # noqa: PLC0415 - the hold's length, from the plan's own module
        time.sleep(plan.HOLD_SECONDS)
        report = chaos({"off": True})
    finally:
        chaos({"off": True})
    assert report["publishedThenFailed"] == {"e-2:enforced": 1}, report
    assert [f["fault"] for f in report["faultsAbout"]["e-2"]] == ["sns/timeout"], report
