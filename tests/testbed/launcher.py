"""The local AWS emulator for Model Guard's tests: moto in server mode, plus a few additions.

Each addition makes the emulator behave more like AWS, never less, and has a test of its own in
test_launcher.py:

- Lambda ``Invoke`` is forwarded to ``cargo lambda watch`` (moto otherwise needs Docker), so the
  real function binaries answer; a function error comes back as AWS reports it.
- So are the invocations Lambda makes itself: an SNS subscription of protocol ``lambda`` invokes
  its function asynchronously with the event AWS builds (the message's own MessageId, Timestamp,
  Subject, attributes and topic: moto's has fixed example values), and a DynamoDB stream's event
  source mapping invokes its function asynchronously with each change, once (moto would need
  Docker, and would hand every earlier record over again).
  One attempt each; a failure is logged, not retried.
- SNS ``GetTopicAttributes`` counts a topic's subscriptions as AWS does (moto's counts are always
  0): those SNS confirms at once (sqs, lambda, firehose, application, in the account) or that were
  confirmed are ``SubscriptionsConfirmed``, the others ``SubscriptionsPending``.
- SageMaker jobs start ``InProgress`` (moto creates them ``Completed``), and the stop calls moto
  lacks (StopTrainingJob, StopTransformJob, StopHyperParameterTuningJob) exist. A stop on a job that
  is no longer running is a ValidationException naming its status, as on AWS; on one that does not
  exist, ResourceNotFound (the API reference's only documented error for the stop calls).
- SageMaker inference components (moto has none): create, describe, list, update, delete; an
  endpoint that still has inference components cannot be deleted. Describe gives the
  specification (or the per-instance-type ``Specifications``) in DescribeInferenceComponent's
  shape: a container's image under ``DeployedImage`` (``SpecifiedImage``, and ``ResolvedImage``
  as for endpoints). ``UpdateInferenceComponent`` of an ``InService`` component (refused
  otherwise) keeps it ``Updating`` for UPDATE_SECONDS, describing the new specification from the
  call (what AWS describes during an update is not documented), and sets ``LastModifiedTime``.
- SageMaker ``UpdateEndpoint`` (moto has none): the endpoint is ``Updating`` for UPDATE_SECONDS,
  serving its old config, then ``InService`` on the new one (``LastModifiedTime`` set at the call
  and at the end); refused for an endpoint that is not ``InService``, as on AWS.
- DescribeEndpoint reports what SageMaker resolved each variant's ECR images to
  (``ProductionVariants[].DeployedImages[]``: ``SpecifiedImage``, ``ResolvedImage``,
  ``ResolutionTime``), as AWS does for ECR images (moto reports none): a tag resolves to
  ``REPOSITORY@sha256:<sha256 of the URI as specified>``, a digest to itself; other registries'
  images are not resolved.
- Application Auto Scaling knows inference components' scalable dimension
  (``sagemaker:inference-component:DesiredCopyCount``), as AWS does.
- ``StopExecution`` aborts at once, as on AWS: moto's only flags the run, which stays ``RUNNING``
  until the task it is in (a ``.waitForTaskToken`` wait, say) ends by itself.
- A distributed Map's ``"ExecutionType": "EXPRESS"`` child executions run as ``STANDARD`` ones:
  moto's ASL grammar accepts only ``STANDARD`` there. For a child that runs a task or two in
  seconds the two behave alike; they differ in price and history, which the testbed has none of.
- The ``states:startExecution`` integration works: moto's ASL parser hands PascalCase parameters
  to botocore, which wants lowerCamelCase.
- CloudTrail ``LookupEvents`` (moto has none) answers from the records a test registers with
  ``POST /testbed/cloudtrail/records`` (``{"records": [...]}``): each account and region sees only
  its own records (``recipientAccountId``, default the default account; ``awsRegion``, default
  us-east-1), the requester's account being its access key's (an assumed role's is the role's
  account) and its region the request's signing region; by one EventName or EventSource (more
  than one attribute is refused, as CloudTrail refuses it), by time window, newest first, in
  pages, as CloudTrail does. Nothing is recorded by itself. ``POST /testbed/cloudtrail/deny``
  (``{"account", "denied"}``) plays that account's administrators denying ``LookupEvents`` to the
  guard's role there (an explicit deny, which takes effect at once): its lookups are refused
  AccessDenied until it is lifted.
- ``POST /testbed/sagemaker/automl-deployments`` plays an AutoML job deploying to a name SageMaker
  generates (moto cannot make one): ``{"jobArn"}`` in progress with no result, then
  ``{"jobArn", "endpointName"}`` deployed there.
- A stand-in for Lambda Function URLs with AWS_IAM auth, at ``/lambda-url/<function>/``: it checks
  the request's SigV4 signature (service ``lambda``) against the keys a test registers with
  ``POST /testbed/iam/keys`` (``{"accessKeyId", "secretAccessKey", "arn"}``), answers 403 as
  Lambda does for a missing or wrong signature, and otherwise invokes the function with the
  Function URL event Lambda builds (the caller in ``requestContext.authorizer.iam``), returning
  the function's status, headers and body.
- STS ``GetCallerIdentity`` checks its SigV4 signature, in the query form (a presigned URL) and
  in the header form, against the same registered keys, as STS does (moto's accepts anything and
  reads no ``X-Amz-Credential``): a wrong signature, an unknown key, another region's or service's
  scope, or an expired request is refused 403; otherwise it names the key's registered ARN, in
  JSON when asked with ``Accept: application/json`` (as aws-iam-authenticator asks), else XML.
- STS ``AssumeRole`` of a role that does not exist in its account is refused AccessDenied, as
  STS refuses it (moto lets any ARN be assumed): a member account's administrators who delete the
  guard's member role cut it off. ``OrganizationAccountAccessRole`` is taken to be in every
  account, as AWS Organizations makes it in each account it creates, so a test can set a member
  account up through it.
- Fault injection, for tests only, by resource name (no switch in production code). "Naming it":
  a top-level string parameter of the call. Creates are spared where it says so, so a test can
  make the resource it then breaks:
  ``fault-throttle-*``          the first two SageMaker calls naming it (per action) are throttled:
                                the SDK's retries absorb them;
  ``fault-throttle-always-*``   every call naming it but a Create* is throttled;
  ``fault-5xx-*``               the first three calls naming it (per action, Create* spared) answer
                                500 InternalFailure: more than the SDK's three attempts absorb, so
                                the caller fails once and a later try succeeds;
  ``fault-denied-describe-*``   every Describe*/List* naming it is AccessDenied;
  ``fault-denied-*``            every SageMaker call that changes it is AccessDenied (describes work);
  ``fault-busy-long-*``         a new endpoint stays ``Updating`` for its first BUSY_LONG_DESCRIBES
                                DescribeEndpoint calls (more attempts than the old busy retry
                                made), then ``InService``: a resource kept busy on purpose;
  ``fault-busy-*``              a new endpoint or inference component stays ``Creating`` for
                                BUSY_SECONDS;
  ``fault-updating-*``          a new endpoint stays ``Updating`` for LASTING_SECONDS;
  ``fault-refuse-update-*``     an UpdateEndpoint of an InService endpoint, or an
                                UpdateInferenceComponent of an InService component, is refused
                                with a ValidationException, as when a model's artifact is gone;
  ``fault-slow-delete-*``       a deleted endpoint or inference component is ``Deleting`` for
                                BUSY_SECONDS, then gone;
  ``fault-slow-stop-*``         a stopped job is ``Stopping`` for BUSY_SECONDS, then ``Stopped``;
  ``fault-lost-answer-*``       the first Stop*/Delete*/Update* naming it (per action) takes effect,
                                but its answer is lost (500 InternalFailure): the SDK's retry is
                                then the second call, which SageMaker may refuse;
  ``fault-txn-*``               (a DynamoDB table) its first TransactWriteItems succeeds, every
                                later one fails with ProvisionedThroughputExceededException.

- Faults at random, for the chaos soak: ``POST /testbed/chaos`` (tests/testbed/chaos.py).

Usage: launcher.py --port PORT --lambda-url http://127.0.0.1:LAMBDA_PORT
"""

from __future__ import annotations

import argparse
import calendar
import copy
import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from chaos import Chaos, invoke_or_kill

BUSY_SECONDS = 3.0
# How long an UpdateEndpoint keeps the endpoint Updating (minutes on AWS).
UPDATE_SECONDS = 1.0
# How long `fault-updating-*` endpoints stay Updating: longer than a function's whole run, so only
# the state machine's busy retry (30 s later) finds them done.
LASTING_SECONDS = 10.0
# More describes than the old busy retry's 16 attempts made before it gave up.
BUSY_LONG_DESCRIBES = 20
THROTTLED_CALLS = 2
# More than the SDK's three attempts absorb, fewer than a state machine retry outlasts.
FAILING_CALLS = 3


DEFAULT_ACCOUNT = "123456789012"  # moto's, the one a test's own credentials act in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lambda-url", required=True, help="where `cargo lambda watch` listens")
    args = parser.parse_args()

    # moto's Step Functions integrations call back to the server on MOTO_PORT: it must be this
    # server's own port, set before moto is imported.
    os.environ["MOTO_PORT"] = str(args.port)

    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False

    forward_lambda_invoke(args.lambda_url)
    lambda_event_sources(args.lambda_url)
    topic_subscription_counts()
    jobs_start_in_progress()
    add_job_stop_calls()
    add_inference_components()
    busy_endpoints()
    deployed_images()
    inference_component_autoscaling()
    pipeline_executions()
    studio()
    list_tags_of_every_resource()
    monitoring_schedules()
    mlflow_tracking_servers()
    inference_experiments()
    fix_start_execution_parameters()
    stop_execution_aborts_at_once()
    refuse_assuming_missing_roles()

    app = Chaos(TestbedRoutes(FaultInjection(DomainDispatcherApplication(create_backend_app)), args.lambda_url))
    print(f"testbed: moto on 127.0.0.1:{args.port}, Lambda -> {args.lambda_url}", flush=True)
    run_simple("127.0.0.1", args.port, app, threaded=True)


# --- Lambda Invoke -> cargo lambda watch ---------------------------------------------------------


def emulator_error(message: str) -> bytes:
    return json.dumps({"errorType": "Runtime.EmulatorError", "errorMessage": message}).encode()


def forward_lambda_invoke(lambda_url: str) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self, function_name, qualifier, body, headers, response_headers):  # noqa: ANN001
        # `cargo lambda watch` serves each binary under its bare name.
        name = function_name.split(":function:")[-1].split(":")[0]
        data = body.encode() if isinstance(body, str) else (body or b"{}")
        killed = invoke_or_kill(name, data, response_headers)
        if killed is not None:
            return killed
        request = urllib.request.Request(
            f"{lambda_url}/2015-03-31/functions/{name}/invocations",
            data=data,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            # A handler error: AWS answers 200 with X-Amz-Function-Error and the error document.
            payload = error.read()
            response_headers["x-amz-function-error"] = "Unhandled"
            try:
                json.loads(payload)
                return payload
            except ValueError:
                return emulator_error(payload.decode(errors="replace"))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return emulator_error(f"cargo lambda watch at {lambda_url} did not answer: {error}")

    LambdaSimpleBackend.invoke = invoke


def invoke_binary(lambda_url: str, name: str, body: str) -> None:
    """An asynchronous invocation Lambda makes for an event source: one attempt, its failure
    logged."""
    request = urllib.request.Request(
        f"{lambda_url}/2015-03-31/functions/{name}/invocations",
        data=body.encode(), headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            response.read()
    except urllib.error.HTTPError as error:
        print(f"testbed: {name} failed on an event source's event: {error.read()[:2000]!r}", flush=True)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        print(f"testbed: {name} could not be invoked: {error}", flush=True)


def lambda_event_sources(lambda_url: str) -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.sns.models import Subscription

    def invoke(self, body, request_headers, response_headers):  # noqa: ANN001
        # Lambda invoking a function for an event source: the real binary, asynchronously.
        threading.Thread(target=invoke_binary, args=(lambda_url, self.function_name, body), daemon=True).start()
        # Accepted: moto's stream shard then forgets the records it handed over, so each change is
        # delivered once, as Lambda's poller does (an empty answer made moto send them all again).
        return b"{}"

    LambdaFunction.invoke = invoke

    original_publish = Subscription.publish

    def publish(self, message, message_id, subject=None, message_attributes=None,  # noqa: ANN001
                group_id=None, deduplication_id=None, message_structure=None):
        if self.protocol != "lambda":
            return original_publish(self, message, message_id, subject, message_attributes, group_id,
                                    deduplication_id, message_structure)
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
                message_attributes, message):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        now = time.time()
        event = {"Records": [{
            "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": self.arn,
            "Sns": {
                "Type": "Notification", "MessageId": message_id, "TopicArn": self.topic.arn,
                "Subject": subject, "Message": message,
                "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
                "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE",
                "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {k: {"Type": v["Type"], "Value": v["Value"]}
                                      for k, v in (message_attributes or {}).items()},
            },
        }]}
        name = self.endpoint.split(":function:")[-1].split(":")[0]
        threading.Thread(target=invoke_binary, args=(lambda_url, name, json.dumps(event)), daemon=True).start()
        return None

    Subscription.publish = publish


# Protocols SNS confirms at once for an endpoint of the topic's own account.
CONFIRMED_AT_ONCE = ("sqs", "lambda", "firehose", "application")


def topic_subscription_counts() -> None:
    from moto.sns.models import Topic

    def counts(topic) -> tuple[int, int]:  # noqa: ANN001
        subscriptions = [s for s in topic.sns_backend.subscriptions.values() if s.topic is topic]
        confirmed = sum(1 for s in subscriptions if s.protocol in CONFIRMED_AT_ONCE or s.confirmed)
        return confirmed, len(subscriptions) - confirmed

    # moto assigns both in Topic.__init__ and never changes them: properties that ignore the
    # assignment and count instead.
    Topic.subscriptions_confimed = property(lambda self: counts(self)[0], lambda self, value: None)
    Topic.subscriptions_pending = property(lambda self: counts(self)[1], lambda self, value: None)


# --- SageMaker jobs: InProgress, and the stop calls ------------------------------------------------

JOB_KINDS = {
    # kind: (model class name, status attribute, backend dict, name parameter)
    "training": ("FakeTrainingJob", "training_job_status", "training_jobs", "TrainingJobName"),
    "transform": ("FakeTransformJob", "transform_job_status", "transform_jobs", "TransformJobName"),
    "processing": ("FakeProcessingJob", "processing_job_status", "processing_jobs", "ProcessingJobName"),
    "tuning": (
        "HyperParameterTuningJob",
        "hyper_parameter_tuning_job_status",
        "hyper_parameter_tuning_jobs",
        "HyperParameterTuningJobName",
    ),
    "compilation": ("CompilationJob", "compilation_job_status", "compilation_jobs", "CompilationJobName"),
    "automl": ("AutoMLJob", "auto_ml_job_status", "auto_ml_jobs", "AutoMLJobName"),
}
# The backend's describe, where it is not `describe_<job>` (moto describes AutoML jobs by V2 only).
DESCRIBE_NAMES = {"automl": "describe_auto_ml_job_v2"}
# How each kind spells running, stopping and stopped (compilation jobs in capitals, as on AWS).
STATUS_WORDS = {"compilation": ("INPROGRESS", "STOPPING", "STOPPED")}
DEFAULT_STATUS_WORDS = ("InProgress", "Stopping", "Stopped")


def jobs_start_in_progress() -> None:
    from moto.sagemaker import models

    for kind, (class_name, status_attribute, _, _) in JOB_KINDS.items():
        cls = getattr(models, class_name)
        original_init = cls.__init__
        running = STATUS_WORDS.get(kind, DEFAULT_STATUS_WORDS)[0]

        def init(self, *a, __original=original_init, __status=status_attribute, __running=running, **kw):  # noqa: ANN001
            __original(self, *a, **kw)
            setattr(self, __status, __running)
            if hasattr(self, "secondary_status"):
                self.secondary_status = "Training"

        cls.__init__ = init

    # The tuning job's describe builds its status from the constructor's value; keep it current.
    original_describe = models.HyperParameterTuningJob.describe

    def describe(self):  # noqa: ANN001
        result = original_describe(self)
        result["HyperParameterTuningJobStatus"] = self.hyper_parameter_tuning_job_status
        return result

    models.HyperParameterTuningJob.describe = describe


def add_job_stop_calls() -> None:
    from moto.core.responses import EmptyResult
    from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def make_stop(kind: str):
        _, status_attribute, jobs_attribute, name_parameter = JOB_KINDS[kind]
        running, stopping, stopped = STATUS_WORDS.get(kind, DEFAULT_STATUS_WORDS)
        label = {"tuning": "hyper parameter tuning"}.get(kind, kind)

        def stop_backend(self, name: str) -> None:
            job = getattr(self, jobs_attribute).get(name)
            if job is None:
                # The API reference lists ResourceNotFound as every Stop*Job's only error.
                raise ResourceNotFound(message=f"Could not find {label} job '{name}'.")
            settle_stop(job, status_attribute)
            status = getattr(job, status_attribute)
            if status != running:
                # AWS refuses to stop a job that has finished, naming its status.
                raise ValidationError(
                    message=f"The request was rejected because the {label} job is in status {status}."
                )
            if name.startswith("fault-slow-stop-"):
                setattr(job, status_attribute, stopping)
                job._model_guard_stopping = (time.time(), stopped)
            else:
                setattr(job, status_attribute, stopped)

        def stop_response(self):  # noqa: ANN001
            getattr(self.sagemaker_backend, f"stop_{jobs_attribute[:-1]}")(self._get_param(name_parameter))
            return EmptyResult()

        return stop_backend, stop_response

    for kind, (_, status_attribute, jobs_attribute, _) in JOB_KINDS.items():
        backend_method, response_method = make_stop(kind)
        action = f"stop_{jobs_attribute[:-1]}"
        setattr(SageMakerModelBackend, action, backend_method)
        setattr(SageMakerResponse, action, response_method)
        # A `fault-slow-stop-*` job is Stopping for BUSY_SECONDS after its stop, then Stopped.
        describe_name = DESCRIBE_NAMES.get(kind, f"describe_{jobs_attribute[:-1]}")
        original_describe = getattr(SageMakerModelBackend, describe_name)

        def describe(self, *a, __original=original_describe, __jobs=jobs_attribute,  # noqa: ANN001
                     __status=status_attribute, **kw):
            # moto passes the name by position for some kinds and by keyword for others.
            job_name = a[0] if a else next(iter(kw.values()), None)
            job = getattr(self, __jobs).get(job_name)
            if job is not None:
                settle_stop(job, __status)
            return __original(self, *a, **kw)

        setattr(SageMakerModelBackend, describe_name, describe)


def settle_stop(job, status_attribute: str) -> None:  # noqa: ANN001
    stopping = getattr(job, "_model_guard_stopping", None)
    if stopping is not None and time.time() - stopping[0] >= BUSY_SECONDS:
        setattr(job, status_attribute, stopping[1])
        job._model_guard_stopping = None


# --- SageMaker inference components ---------------------------------------------------------------


def inference_components(backend) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    """The inference components, kept on the backend instance so /moto-api/reset clears them with
    everything else; one whose slow deletion has run its time is gone."""
    if not hasattr(backend, "_model_guard_inference_components"):
        backend._model_guard_inference_components = {}
    found = backend._model_guard_inference_components
    for name_, component in list(found.items()):
        deleting = component.get("_deleting")
        if deleting is not None and time.time() - deleting >= BUSY_SECONDS:
            del found[name_]
    return found


def refuse_if_components(backend, endpoint_name: str) -> None:  # noqa: ANN001
    """An endpoint that still has inference components cannot be deleted."""
    from moto.sagemaker.exceptions import ValidationError

    blocking = [c for c in inference_components(backend).values() if c["EndpointName"] == endpoint_name]
    if blocking:
        raise ValidationError(
            message=f"Endpoint {endpoint_name} has inference components; delete them first: "
            + ", ".join(c["InferenceComponentName"] for c in blocking)
        )


def inference_component_status(component: dict[str, Any]) -> str:
    if component.get("_deleting") is not None:
        return "Deleting"
    updating = component.get("_updating")
    if updating is not None and time.time() - updating < UPDATE_SECONDS:
        return "Updating"
    if component["InferenceComponentName"].startswith("fault-busy-") and (
        time.time() - component["CreationTime"] < BUSY_SECONDS
    ):
        return "Creating"
    return "InService"


def add_inference_components() -> None:
    """Create, describe, list, delete. `fault-busy-*` components are Creating for BUSY_SECONDS;
    a `fault-slow-delete-*` one is Deleting for BUSY_SECONDS after DeleteInferenceComponent."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    components = inference_components
    status = inference_component_status

    def not_found(name: str) -> ValidationError:
        return ValidationError(message=f'Could not find inference component "{name}".')

    def arn(backend, name: str) -> str:  # noqa: ANN001
        return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"

    def public(component: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in component.items() if not k.startswith("_")}

    def create(self):  # noqa: ANN001
        backend = self.sagemaker_backend
        name = self._get_param("InferenceComponentName")
        endpoint_name = self._get_param("EndpointName")
        if name in components(backend):
            raise ValidationError(message=f'Cannot create already existing inference component "{arn(backend, name)}".')
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
        now = time.time()
        copies = (self._get_param("RuntimeConfig") or {}).get("CopyCount", 1)
        components(backend)[name] = {
            "InferenceComponentName": name,
            "InferenceComponentArn": arn(backend, name),
            "EndpointName": endpoint_name,
            "EndpointArn": endpoint.arn,
            "VariantName": self._get_param("VariantName"),
            **specified(self, backend, now),
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        return ActionResult({"InferenceComponentArn": arn(backend, name)})

    def specified(self, backend, now: float) -> dict[str, Any]:  # noqa: ANN001
        """The call's Specification or Specifications, as DescribeInferenceComponent gives them
        (its models checked to exist, as SageMaker does)."""
        single = self._get_param("Specification")
        several = self._get_param("Specifications")
        for spec in ([single] if single else []) + list(several or []):
            model_name = spec.get("ModelName")
            if model_name is not None and model_name not in backend._models:
                raise ValidationError(message=f'Could not find model "{model_name}".')
        if several:
            return {"Specifications": [described(spec, now) for spec in several]}
        return {"Specification": described(single or {}, now)}

    def described(spec: dict[str, Any], now: float) -> dict[str, Any]:
        out = copy.deepcopy(spec)
        container = out.get("Container")
        if container is not None and "Image" in container:
            image = container.pop("Image")
            resolved = resolved_image(image)
            container["DeployedImage"] = {"SpecifiedImage": image, "ResolutionTime": now} | (
                {"ResolvedImage": resolved} if resolved else {}
            )
        return out

    def update(self):  # noqa: ANN001
        backend = self.sagemaker_backend
        name = self._get_param("InferenceComponentName")
        component = components(backend).get(name)
        if component is None:
            raise not_found(name)
        if status(component) != "InService":
            raise ValidationError(
                message=f"Cannot update inference component {name} while its status is {status(component)}."
            )
        if name.startswith("fault-refuse-update-"):
            raise ValidationError(message=f"Could not update inference component {name}: its model data is gone.")
        now = time.time()
        if self._get_param("Specification") is not None or self._get_param("Specifications") is not None:
            new = specified(self, backend, now)
            component.pop("Specification", None)
            component.pop("Specifications", None)
            component.update(new)
        runtime = self._get_param("RuntimeConfig")
        if runtime and "CopyCount" in runtime:
            component["RuntimeConfig"] = {"DesiredCopyCount": runtime["CopyCount"], "CurrentCopyCount": runtime["CopyCount"]}
        component["LastModifiedTime"] = now
        component["_updating"] = now
        return ActionResult({"InferenceComponentArn": arn(backend, name)})

    def describe(self):  # noqa: ANN001
        name = self._get_param("InferenceComponentName")
        component = components(self.sagemaker_backend).get(name)
        if component is None:
            raise not_found(name)
        return ActionResult({**public(component), "InferenceComponentStatus": status(component)})

    def delete(self):  # noqa: ANN001
        name = self._get_param("InferenceComponentName")
        component = components(self.sagemaker_backend).get(name)
        if component is None:
            raise not_found(name)
        if status(component) in ("Creating", "Deleting"):
            raise ValidationError(
                message=f"Cannot delete inference component {name} while its status is {status(component)}."
            )
        if name.startswith("fault-slow-delete-"):
            component["_deleting"] = time.time()
        else:
            del components(self.sagemaker_backend)[name]
        return EmptyResult()

    def list_(self):  # noqa: ANN001
        endpoint_name = self._get_param("EndpointNameEquals")
        found = [
            {
                key: component[key]
                for key in (
                    "InferenceComponentName",
                    "InferenceComponentArn",
                    "EndpointName",
                    "EndpointArn",
                    "VariantName",
                    "CreationTime",
                    "LastModifiedTime",
                )
            }
            | {"InferenceComponentStatus": status(component)}
            for component in components(self.sagemaker_backend).values()
            if endpoint_name is None or component["EndpointName"] == endpoint_name
        ]
        return ActionResult({"InferenceComponents": found})

    SageMakerResponse.create_inference_component = create
    SageMakerResponse.describe_inference_component = describe
    SageMakerResponse.delete_inference_component = delete
    SageMakerResponse.update_inference_component = update
    SageMakerResponse.list_inference_components = list_

    original_delete_endpoint = SageMakerModelBackend.delete_endpoint

    def delete_endpoint(self, endpoint_name: str) -> None:  # noqa: ANN001
        refuse_if_components(self, endpoint_name)
        original_delete_endpoint(self, endpoint_name)

    SageMakerModelBackend.delete_endpoint = delete_endpoint


def busy_endpoints() -> None:
    """Endpoints that are busy as real ones are for minutes: `fault-busy-*` Creating for
    BUSY_SECONDS, `fault-updating-*` Updating for LASTING_SECONDS (both after creation), and a
    `fault-slow-delete-*` one Deleting for BUSY_SECONDS after DeleteEndpoint, then gone. And
    UpdateEndpoint (moto has none): Updating for UPDATE_SECONDS, serving the old config until then
    (DescribeEndpoint's EndpointConfigName names it), then InService on the new one; refused, as
    on AWS, for an endpoint that is not InService or a config that does not exist."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    original_init = FakeEndpoint.__init__

    def init(self, *a, **kw):  # noqa: ANN001
        original_init(self, *a, **kw)
        self._model_guard_created = time.time()
        self._model_guard_deleting = None
        self._model_guard_describes = 0
        if self.endpoint_name.startswith("fault-busy-long-"):
            self.endpoint_status = "Updating"
        elif self.endpoint_name.startswith("fault-busy-"):
            self.endpoint_status = "Creating"
        elif self.endpoint_name.startswith("fault-updating-"):
            self.endpoint_status = "Updating"

    FakeEndpoint.__init__ = init

    def settle(backend, endpoint_name: str) -> None:  # noqa: ANN001
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            return
        update = getattr(endpoint, "_model_guard_update", None)
        if update is not None:
            # An UpdateEndpoint under way: the old config serves until it is done.
            began, config = update
            if time.time() - began >= UPDATE_SECONDS:
                endpoint.endpoint_config_name = config["EndpointConfigName"]
                endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
                endpoint.endpoint_status = "InService"
                endpoint.last_modified_time = utcnow()
                endpoint._model_guard_update = None
            return
        age = time.time() - endpoint._model_guard_created
        if endpoint.endpoint_name.startswith("fault-busy-long-"):
            if endpoint.endpoint_status == "Updating" and endpoint._model_guard_describes >= BUSY_LONG_DESCRIBES:
                endpoint.endpoint_status = "InService"
        elif endpoint.endpoint_status == "Creating" and age >= BUSY_SECONDS or \
                endpoint.endpoint_status == "Updating" and age >= LASTING_SECONDS:
            endpoint.endpoint_status = "InService"
        deleting = endpoint._model_guard_deleting
        if deleting is not None and time.time() - deleting >= BUSY_SECONDS:
            del backend.endpoints[endpoint_name]

    original_describe = SageMakerModelBackend.describe_endpoint

    def describe_endpoint(self, endpoint_name: str):  # noqa: ANN001
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is not None:
            endpoint._model_guard_describes += 1
        settle(self, endpoint_name)
        return original_describe(self, endpoint_name)

    SageMakerModelBackend.describe_endpoint = describe_endpoint

    original_list = SageMakerModelBackend.list_endpoints

    def list_endpoints(self, *a, **kw):  # noqa: ANN001
        for endpoint_name in list(self.endpoints):
            settle(self, endpoint_name)
        return original_list(self, *a, **kw)

    SageMakerModelBackend.list_endpoints = list_endpoints

    previous_delete = SageMakerModelBackend.delete_endpoint

    def delete_endpoint(self, endpoint_name: str) -> None:  # noqa: ANN001
        settle(self, endpoint_name)
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is not None:
            if endpoint.endpoint_status in ("Creating", "Updating", "Deleting"):
                # The wording is ours; what matters is that AWS refuses it.
                raise ValidationError(
                    message=f"Cannot delete endpoint {endpoint_name} while its status is {endpoint.endpoint_status}."
                )
            if endpoint_name.startswith("fault-slow-delete-"):
                refuse_if_components(self, endpoint_name)
                endpoint.endpoint_status = "Deleting"
                endpoint._model_guard_deleting = time.time()
                return
        previous_delete(self, endpoint_name)

    SageMakerModelBackend.delete_endpoint = delete_endpoint

    def update_endpoint(self, endpoint_name: str, endpoint_config_name: str) -> str:  # noqa: ANN001
        settle(self, endpoint_name)
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint \"{endpoint_name}\".")
        if endpoint.endpoint_status != "InService":
            # AWS refuses an update of an endpoint that is not InService (one under way included).
            raise ValidationError(
                message=f"Cannot update in-progress endpoint \"{endpoint.arn}\"."
                if endpoint.endpoint_status == "Updating"
                else f"Cannot update endpoint {endpoint_name} while its status is {endpoint.endpoint_status}."
            )
        config = self.describe_endpoint_config(endpoint_config_name)
        if endpoint_name.startswith("fault-refuse-update-"):
            # What AWS answers when a model's artifact is gone (the wording is ours).
            raise ValidationError(message="Could not find model data at s3://testbed/removed/model.tar.gz.")
        endpoint.endpoint_status = "Updating"
        endpoint.last_modified_time = utcnow()
        endpoint._model_guard_update = (time.time(), config)
        return endpoint.arn

    def update_response(self):  # noqa: ANN001
        arn = self.sagemaker_backend.update_endpoint(
            self._get_param("EndpointName"), self._get_param("EndpointConfigName"))
        return ActionResult({"EndpointArn": arn})

    SageMakerModelBackend.update_endpoint = update_endpoint
    SageMakerResponse.update_endpoint = update_response


ECR_IMAGE = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def resolved_image(specified: str) -> str | None:
    """What SageMaker would resolve an ECR image to here: a digest stays, a tag resolves to a
    digest derived from the URI (so a test can compute it); other registries: not resolved."""
    if not ECR_IMAGE.match(specified):
        return None
    name, _, digest = specified.partition("@")
    last = name.rfind("/")
    colon = name.rfind(":")
    repository = name[:colon] if colon > last else name
    if digest:
        return f"{repository}@{digest}"
    return f"{repository}@sha256:{hashlib.sha256(specified.encode()).hexdigest()}"


def deployed_images() -> None:
    """DescribeEndpoint's DeployedImages, from the endpoint config's variants' models."""
    from moto.sagemaker.models import SageMakerModelBackend

    previous_describe = SageMakerModelBackend.describe_endpoint

    def describe_endpoint(self, endpoint_name: str):  # noqa: ANN001
        response = copy.deepcopy(previous_describe(self, endpoint_name))
        config = self.endpoint_configs.get(response.get("EndpointConfigName", ""))
        if config is None:
            return response
        models = {v.get("VariantName"): v.get("ModelName") for v in config.production_variants}
        for variant in response.get("ProductionVariants", []):
            model = self._models.get(models.get(variant.get("VariantName")) or "")
            if model is None:
                continue
            containers = ([model.primary_container] if model.primary_container else []) + list(model.containers)
            images = []
            for container in containers:
                specified = (container or {}).get("Image")
                resolved = resolved_image(specified) if specified else None
                if resolved:
                    images.append({"SpecifiedImage": specified, "ResolvedImage": resolved,
                                   "ResolutionTime": response.get("CreationTime")})
            if images:
                variant["DeployedImages"] = images
        return response

    SageMakerModelBackend.describe_endpoint = describe_endpoint


# --- SageMaker pipelines --------------------------------------------------------------------------

# Who is calling, per request thread: the SigV4 key's registered principal (TestbedRoutes sets it),
# for what SageMaker records as an execution's CreatedBy.
CALLER = threading.local()


def pipeline_executions() -> None:
    """Executions run until stopped (moto marks them Succeeded at once), record who started them
    as SageMaker's CreatedBy.IamIdentity does, can be stopped (Stopping, then Stopped at the next
    describe), and list the steps the testbed played for them (moto runs no steps:
    `/testbed/sagemaker/pipeline-steps` records what a step made, as SageMaker's step list would)."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker import models
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemaker.utils import get_pipeline_execution_from_arn

    original_init = models.FakePipelineExecution.__init__

    def init(self, *a, **kw):  # noqa: ANN001
        original_init(self, *a, **kw)
        self.pipeline_execution_status = "Executing"
        self.model_guard_steps = []
        caller = getattr(CALLER, "arn", None)
        if caller is not None:
            identity = {"Arn": caller, "PrincipalId": "AROATESTBED:" + caller.rsplit("/", 1)[-1]}
            self.created_by = {"IamIdentity": identity}
            self.last_modified_by = {"IamIdentity": identity}

    models.FakePipelineExecution.__init__ = init

    def settle(execution) -> None:  # noqa: ANN001
        if execution.pipeline_execution_status == "Stopping":
            execution.pipeline_execution_status = "Stopped"

    original_describe = models.SageMakerModelBackend.describe_pipeline_execution

    def describe(self, pipeline_execution_arn: str):  # noqa: ANN001
        result = original_describe(self, pipeline_execution_arn)
        settle(get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn))
        return result

    models.SageMakerModelBackend.describe_pipeline_execution = describe

    def stop(self):  # noqa: ANN001
        arn = self._get_param("PipelineExecutionArn")
        execution = get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
        if execution.pipeline_execution_status not in ("Executing", "Stopping"):
            # AWS refuses to stop an execution that has ended, naming its status.
            raise ValidationError(
                message=f"Pipeline execution {arn} is in status {execution.pipeline_execution_status}."
            )
        execution.pipeline_execution_status = "Stopping"
        return ActionResult({"PipelineExecutionArn": arn})

    def list_steps(self):  # noqa: ANN001
        arn = self._get_param("PipelineExecutionArn")
        execution = get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
        return ActionResult({"PipelineExecutionSteps": list(execution.model_guard_steps)})

    SageMakerResponse.stop_pipeline_execution = stop
    SageMakerResponse.list_pipeline_execution_steps = list_steps

    # AWS moves a pipeline's LastModifiedTime on UpdatePipeline; moto leaves it at its creation.
    original_update = models.SageMakerModelBackend.update_pipeline

    def update_pipeline(self, pipeline_name: str, **kwargs):  # noqa: ANN001
        arn = original_update(self, pipeline_name, **kwargs)
        self.pipelines[pipeline_name].last_modified_time = utcnow()
        return arn

    models.SageMakerModelBackend.update_pipeline = update_pipeline


# --- SageMaker Studio -----------------------------------------------------------------------------


def studio() -> None:
    """User profiles and apps (moto has domains only): CreateUserProfile, DescribeUserProfile,
    CreateApp (InService at once), DescribeApp and DeleteApp (Deleting, then Deleted at the next
    describe, as AWS reports a deleted app for a while)."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    def store(backend, kind: str) -> dict:  # noqa: ANN001
        # Kept on the backend instance so /moto-api/reset clears them with everything else.
        attribute = f"_model_guard_{kind}"
        if not hasattr(backend, attribute):
            setattr(backend, attribute, {})
        return getattr(backend, attribute)

    def domain(self, domain_id: str):  # noqa: ANN001
        found = self.sagemaker_backend.domains.get(domain_id)
        if found is None:
            raise ValidationError(message=f"Could not find domain '{domain_id}'.")
        return found

    def arn(backend, kind: str, path: str) -> str:  # noqa: ANN001
        return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{path}"

    def create_user_profile(self):  # noqa: ANN001
        domain_id, name = self._get_param("DomainId"), self._get_param("UserProfileName")
        domain(self, domain_id)
        profiles = store(self.sagemaker_backend, "user_profiles")
        if (domain_id, name) in profiles:
            raise ValidationError(message=f"User profile {name} already exists in domain {domain_id}.")
        profile_arn = arn(self.sagemaker_backend, "user-profile", f"{domain_id}/{name}")
        profiles[(domain_id, name)] = {
            "DomainId": domain_id, "UserProfileName": name, "UserProfileArn": profile_arn,
            "Status": "InService", "UserSettings": self._get_param("UserSettings") or {},
            "CreationTime": time.time(), "LastModifiedTime": time.time(),
        }
        return ActionResult({"UserProfileArn": profile_arn})

    def describe_user_profile(self):  # noqa: ANN001
        key = (self._get_param("DomainId"), self._get_param("UserProfileName"))
        profile = store(self.sagemaker_backend, "user_profiles").get(key)
        if profile is None:
            raise ResourceNotFound(message=f"User profile {key[1]} does not exist in domain {key[0]}.")
        return ActionResult(profile)

    def app_key(self) -> tuple:  # noqa: ANN001
        return (self._get_param("DomainId"), self._get_param("UserProfileName"), self._get_param("SpaceName"),
                self._get_param("AppType"), self._get_param("AppName"))

    def settle(app: dict) -> None:
        if app["Status"] == "Deleting":
            app["Status"] = "Deleted"

    def create_app(self):  # noqa: ANN001
        key = app_key(self)
        domain_id, profile, space, app_type, name = key
        domain(self, domain_id)
        if profile is not None and (domain_id, profile) not in store(self.sagemaker_backend, "user_profiles"):
            raise ResourceNotFound(message=f"User profile {profile} does not exist in domain {domain_id}.")
        apps = store(self.sagemaker_backend, "apps")
        if key in apps and apps[key]["Status"] not in ("Deleted", "Failed"):
            raise ValidationError(message=f"App {name} already exists.")
        app_arn = arn(self.sagemaker_backend, "app",
                      f"{domain_id}/{profile or space}/{app_type.lower()}/{name.lower()}")
        apps[key] = {
            "AppArn": app_arn, "AppType": app_type, "AppName": name, "DomainId": domain_id,
            **({"UserProfileName": profile} if profile else {"SpaceName": space}),
            "Status": "InService", "CreationTime": time.time(),
        }
        return ActionResult({"AppArn": app_arn})

    def describe_app(self):  # noqa: ANN001
        app = store(self.sagemaker_backend, "apps").get(app_key(self))
        if app is None:
            raise ResourceNotFound(message="App does not exist.")
        result = dict(app)
        settle(app)
        return ActionResult(result)

    def delete_app(self):  # noqa: ANN001
        app = store(self.sagemaker_backend, "apps").get(app_key(self))
        if app is None or app["Status"] in ("Deleted", "Deleting"):
            raise ResourceNotFound(message="App does not exist.")
        app["Status"] = "Deleting"
        return EmptyResult()

    SageMakerResponse.create_user_profile = create_user_profile
    SageMakerResponse.describe_user_profile = describe_user_profile
    SageMakerResponse.create_app = create_app
    SageMakerResponse.describe_app = describe_app
    SageMakerResponse.delete_app = delete_app


def monitoring_schedules() -> None:
    """Create, describe and stop a monitoring schedule (moto has none): Scheduled once created,
    Stopped once stopped; a stop of one that is not scheduled is refused, as on AWS."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    def schedules(backend) -> dict:  # noqa: ANN001
        if not hasattr(backend, "_model_guard_schedules"):
            backend._model_guard_schedules = {}
        return backend._model_guard_schedules

    def create(self):  # noqa: ANN001
        backend = self.sagemaker_backend
        name = self._get_param("MonitoringScheduleName")
        if name in schedules(backend):
            raise ValidationError(message=f"Monitoring schedule {name} already exists.")
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:monitoring-schedule/{name}"
        config = self._get_param("MonitoringScheduleConfig") or {}
        schedules(backend)[name] = {
            "MonitoringScheduleArn": arn, "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": "Scheduled", "MonitoringScheduleConfig": config,
            "MonitoringType": config.get("MonitoringType", "DataQuality"),
            "CreationTime": time.time(), "LastModifiedTime": time.time(),
        }
        return ActionResult({"MonitoringScheduleArn": arn})

    def found(self) -> dict:  # noqa: ANN001
        name = self._get_param("MonitoringScheduleName")
        schedule = schedules(self.sagemaker_backend).get(name)
        if schedule is None:
            raise ResourceNotFound(message=f"Monitoring schedule {name} does not exist.")
        return schedule

    def describe(self):  # noqa: ANN001
        return ActionResult(dict(found(self)))

    def stop(self):  # noqa: ANN001
        schedule = found(self)
        if schedule["MonitoringScheduleStatus"] != "Scheduled":
            raise ValidationError(
                message=f"Monitoring schedule is in status {schedule['MonitoringScheduleStatus']}.")
        schedule["MonitoringScheduleStatus"] = "Stopped"
        return EmptyResult()

    SageMakerResponse.create_monitoring_schedule = create
    SageMakerResponse.describe_monitoring_schedule = describe
    SageMakerResponse.stop_monitoring_schedule = stop


def mlflow_tracking_servers() -> None:
    """Create, describe and stop an MLflow tracking server (moto has none): Created once made,
    Stopping after a stop, then Stopped at the next describe; a stop of one not running is
    refused, as on AWS."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ConflictException, ResourceNotFound
    from moto.sagemaker.responses import SageMakerResponse

    def servers(backend) -> dict:  # noqa: ANN001
        if not hasattr(backend, "_model_guard_tracking_servers"):
            backend._model_guard_tracking_servers = {}
        return backend._model_guard_tracking_servers

    def create(self):  # noqa: ANN001
        backend = self.sagemaker_backend
        name = self._get_param("TrackingServerName")
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:mlflow-tracking-server/{name}"
        servers(backend)[name] = {
            "TrackingServerArn": arn, "TrackingServerName": name, "TrackingServerStatus": "Created",
            "RoleArn": self._get_param("RoleArn"), "ArtifactStoreUri": self._get_param("ArtifactStoreUri"),
            "CreationTime": time.time(),
        }
        return ActionResult({"TrackingServerArn": arn})

    def found(self) -> dict:  # noqa: ANN001
        name = self._get_param("TrackingServerName")
        server = servers(self.sagemaker_backend).get(name)
        if server is None:
            raise ResourceNotFound(message=f"Tracking server {name} does not exist.")
        return server

    def describe(self):  # noqa: ANN001
        server = found(self)
        result = dict(server)
        if server["TrackingServerStatus"] == "Stopping":
            server["TrackingServerStatus"] = "Stopped"
        return ActionResult(result)

    def stop(self):  # noqa: ANN001
        server = found(self)
        if server["TrackingServerStatus"] not in ("Created", "Started", "Updated"):
            # StopMlflowTrackingServer's modelled refusal (the SDK's error enum): ConflictException.
            raise ConflictException(f"Tracking server is in status {server['TrackingServerStatus']}.")
        server["TrackingServerStatus"] = "Stopping"
        return ActionResult({"TrackingServerArn": server["TrackingServerArn"]})

    SageMakerResponse.create_mlflow_tracking_server = create
    SageMakerResponse.describe_mlflow_tracking_server = describe
    SageMakerResponse.stop_mlflow_tracking_server = stop


def inference_experiments() -> None:
    """Create, describe, stop and delete an inference experiment (moto has none): Running once made,
    Stopping after a stop, then the stop's desired state (Cancelled or Completed) at the next
    describe; a variant the stop removes is Deleted, one it retains or promotes stays InService. A stop must give every variant an action, and one not running is refused, as on
    AWS. Only an ended (Completed or Cancelled) one can be deleted here, else a ConflictException
    (the error the API documents; whether AWS lets a running one go is not documented, and the
    guard depends on neither). The endpoint is not changed: moto's endpoints do not run
    experiments."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ConflictException, ResourceNotFound, ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    def experiments(backend) -> dict:  # noqa: ANN001
        if not hasattr(backend, "_model_guard_inference_experiments"):
            backend._model_guard_inference_experiments = {}
        return backend._model_guard_inference_experiments

    def create(self):  # noqa: ANN001
        backend = self.sagemaker_backend
        name = self._get_param("Name")
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-experiment/{name}"
        variants = [dict(v, Status="InService") for v in self._get_param("ModelVariants") or []]
        experiments(backend)[name] = {
            "Arn": arn, "Name": name, "Type": self._get_param("Type"), "Status": "Running",
            "RoleArn": self._get_param("RoleArn"),
            "EndpointMetadata": {"EndpointName": self._get_param("EndpointName")},
            "ModelVariants": variants, "ShadowModeConfig": self._get_param("ShadowModeConfig"),
            "CreationTime": time.time(),
        }
        return ActionResult({"InferenceExperimentArn": arn})

    def found(self) -> dict:  # noqa: ANN001
        name = self._get_param("Name")
        experiment = experiments(self.sagemaker_backend).get(name)
        if experiment is None:
            raise ResourceNotFound(message=f"Inference experiment {name} does not exist.")
        return experiment

    def describe(self):  # noqa: ANN001
        experiment = found(self)
        result = dict(experiment)
        result.pop("_desired", None)
        if experiment["Status"] == "Stopping":
            experiment["Status"] = experiment.get("_desired") or "Completed"
        return ActionResult(result)

    def stop(self):  # noqa: ANN001
        experiment = found(self)
        if experiment["Status"] not in ("Created", "Running"):
            raise ValidationError(message=f"Inference experiment is in status {experiment['Status']}.")
        actions = self._get_param("ModelVariantActions") or {}
        names = {v["VariantName"] for v in experiment["ModelVariants"]}
        if set(actions) != names:
            raise ValidationError(message="ModelVariantActions must name every variant.")
        for variant in experiment["ModelVariants"]:
            variant["Status"] = "Deleted" if actions[variant["VariantName"]] == "Remove" else "InService"
        experiment["Status"] = "Stopping"
        experiment["_desired"] = self._get_param("DesiredState")
        return ActionResult({"InferenceExperimentArn": experiment["Arn"]})

    def delete(self):  # noqa: ANN001
        experiment = found(self)
        if experiment["Status"] not in ("Completed", "Cancelled"):
            raise ConflictException(f"Inference experiment is in status {experiment['Status']}.")
        del experiments(self.sagemaker_backend)[experiment["Name"]]
        return ActionResult({"InferenceExperimentArn": experiment["Arn"]})

    SageMakerResponse.create_inference_experiment = create
    SageMakerResponse.describe_inference_experiment = describe
    SageMakerResponse.stop_inference_experiment = stop
    SageMakerResponse.delete_inference_experiment = delete


def list_tags_of_every_resource() -> None:
    """ListTags answers for every resource it knows, as AWS does: moto fails with a 500 on a
    resource kept without tags (transform jobs) or one it does not find, where AWS answers the
    tags (none) or a ValidationException."""
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    def list_tags(self, arn: str, **_: Any) -> tuple[list, None]:  # noqa: ANN001
        try:
            resource = self._get_resource_from_arn(arn)
        except (AttributeError, ValueError):
            resource = None
        if resource is None:
            raise ValidationError(message=f"Could not find resource {arn}.")
        return list(getattr(resource, "tags", None) or []), None

    SageMakerModelBackend.list_tags = list_tags


def play_pipeline_step(request: dict) -> dict:
    """Records a step of an execution as SageMaker lists it: `{"executionArn", "stepName",
    "metadata": {"TrainingJob": {"Arn": ...}}}`."""
    from moto.backends import get_backend
    from moto.sagemaker.utils import get_pipeline_execution_from_arn

    arn = request["executionArn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    backend = get_backend("sagemaker")[account][region]
    execution = get_pipeline_execution_from_arn(backend.pipelines, arn)
    execution.model_guard_steps.append({
        "StepName": request["stepName"],
        "StepStatus": "Executing",
        "StartTime": time.time(),
        "Metadata": request["metadata"],
    })
    return {"steps": len(execution.model_guard_steps)}


def play_monitoring_run(request: dict) -> dict:
    """Marks a processing job as a run of a monitoring schedule, as SageMaker does for the jobs a
    schedule starts (DescribeProcessingJob's `MonitoringScheduleArn`, which no caller can set):
    `{"processingJobName", "scheduleArn"}`."""
    from moto.backends import get_backend

    arn = request["scheduleArn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    backend = get_backend("sagemaker")[account][region]
    job = backend.processing_jobs[request["processingJobName"]]
    job.monitoring_schedule_arn = arn
    return {"processingJob": request["processingJobName"], "scheduleArn": arn}

def play_automl_deployment(request: dict) -> dict:
    """An AutoML job deploying its best candidate to a name SageMaker generates, as its describe
    shows it (moto cannot create one): `{"jobArn"}` in progress with no result yet, then
    `{"jobArn", "endpointName"}` deployed there."""
    from moto.backends import get_backend

    arn = request["jobArn"]
    _, _, _, region, account, resource = arn.split(":", 5)
    backend = get_backend("sagemaker")[account][region]
    job = backend.auto_ml_jobs[resource.split("/", 1)[1]]
    job.model_deploy_config = {"AutoGenerateEndpointName": True}
    endpoint = request.get("endpointName")
    job.auto_ml_job_status = "InProgress" if endpoint is None else "Completed"
    job.model_deploy_result = None if endpoint is None else {"EndpointName": endpoint}
    return {"job": arn, "endpointName": endpoint}


def inference_component_autoscaling() -> None:
    from enum import Enum

    from moto.applicationautoscaling import models, responses

    members = {m.name: m.value for m in models.ScalableDimensionValueSet}
    members["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = "sagemaker:inference-component:DesiredCopyCount"
    extended = Enum("ScalableDimensionValueSet", members)
    models.ScalableDimensionValueSet = extended
    responses.ScalableDimensionValueSet = extended


# --- Step Functions: states:startExecution ----------------------------------------------------------


def refuse_assuming_missing_roles() -> None:
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends
    from moto.sts.models import STSBackend

    class AccessDenied(ServiceException):
        code = "AccessDenied"

    original = STSBackend.assume_role

    def assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):  # noqa: ANN001, PLR0913
        parts = role_arn.split(":")
        if len(parts) != 6 or not parts[5].startswith("role/") or len(parts[4]) != 12:
            raise AccessDenied(f"Not a role ARN: {role_arn}")
        if parts[5] != "role/OrganizationAccountAccessRole":
            roles = iam_backends[parts[4]][parts[1]].get_roles()
            if not any(role.arn == role_arn for role in roles):
                raise AccessDenied(f"User: {self.account_id} is not authorized to perform: "
                                   f"sts:AssumeRole on resource: {role_arn}")
        return original(self, region_name, role_session_name, role_arn, policy, duration, external_id)

    STSBackend.assume_role = assume_role


def stop_execution_aborts_at_once() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend.execution import Execution

    original = Execution.stop

    def stop(self, stop_date, error, cause):  # noqa: ANN001
        original(self, stop_date=stop_date, error=error, cause=cause)
        # The worker still ends the run when its task returns; nothing after it runs.
        self.exec_status = ExecutionStatus.ABORTED
        self.stop_date = stop_date

    Execution.stop = stop


def fix_start_execution_parameters() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn,
    )

    original = sfn.StateTaskServiceSfn._normalise_parameters

    def normalise(self, parameters, boto_service_name=None, service_action_name=None):  # noqa: ANN001
        original(self, parameters, boto_service_name, service_action_name)
        for key in list(parameters):
            if key[:1].isupper():
                parameters[key[:1].lower() + key[1:]] = parameters.pop(key)

    sfn.StateTaskServiceSfn._normalise_parameters = normalise


# --- Fault injection --------------------------------------------------------------------------------

# What fault-denied-* refuses: the calls that change a resource (creating one in a test must work).
MUTATING_PREFIXES = ("Delete", "Stop", "Update")
# What fault_for answers for a `fault-lost-answer-*` call: serve it, then lose its answer.
LOST_ANSWER = "LostAnswer"


class FaultInjection:
    """WSGI middleware: SageMaker calls naming a `fault-*` resource fail as AWS would fail them."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.throttled: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target == "DynamoDB_20120810.TransactWriteItems":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            tables = {next(iter(action.values()), {}).get("TableName", "")
                      for action in json.loads(body or b"{}").get("TransactItems", [])}
            for table in sorted(t for t in tables if t.startswith("fault-txn-")):
                with self.lock:
                    seen = self.throttled.get(("TransactWriteItems", table), 0)
                    self.throttled[("TransactWriteItems", table)] = seen + 1
                if seen >= 1:
                    kind = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
                    payload = json.dumps({"__type": kind, "message": "The level of configured provisioned "
                                          "throughput for the table was exceeded."}).encode()
                    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"),
                                                       ("Content-Length", str(len(payload)))])
                    return [payload]
        if target.startswith("SageMaker."):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            fault = self.fault_for(target.split(".", 1)[1], body)
            if fault is not None:
                kind, message = fault
                if kind == LOST_ANSWER:
                    # The call is served (it takes effect); the caller gets a 500 instead of its answer.
                    served = self.app(environ, lambda status, headers, exc_info=None: (lambda data: None))
                    try:
                        for _ in served:
                            pass
                    finally:
                        getattr(served, "close", lambda: None)()
                    kind, message = "InternalFailure", "We encountered an internal error. Please try again."
                payload = json.dumps({"__type": kind, "message": message}).encode()
                start_response(
                    "500 Internal Server Error" if kind == "InternalFailure" else "400 Bad Request",
                    [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", kind),
                     ("Content-Length", str(len(payload)))],
                )
                return [payload]
        if environ.get("PATH_INFO") == "/moto-api/reset":
            with self.lock:
                self.throttled.clear()
        return self.app(environ, start_response)

    def fault_for(self, action: str, body: bytes) -> tuple[str, str] | None:
        try:
            parameters = json.loads(body or b"{}")
        except ValueError:
            return None
        names = [v for v in parameters.values() if isinstance(v, str) and v.startswith("fault-")] if isinstance(parameters, dict) else []
        changing = not action.startswith("Create")
        for name in names:
            if name.startswith("fault-throttle-always-") and changing:
                return "ThrottlingException", "Rate exceeded"
            if name.startswith("fault-5xx-") and changing:
                with self.lock:
                    seen = self.throttled.get((action, name), 0)
                    self.throttled[(action, name)] = seen + 1
                if seen < FAILING_CALLS:
                    return "InternalFailure", "We encountered an internal error. Please try again."
            if name.startswith("fault-denied-describe-") and action.startswith(("Describe", "List")):
                return (
                    "AccessDeniedException",
                    f"User: arn:aws:sts::123456789012:assumed-role/evaluate/x is not authorized to perform: sagemaker:{action} on resource {name}",
                )
            if name.startswith("fault-throttle-") and not name.startswith("fault-throttle-always-"):
                with self.lock:
                    seen = self.throttled.get((action, name), 0)
                    self.throttled[(action, name)] = seen + 1
                if seen < THROTTLED_CALLS:
                    return "ThrottlingException", "Rate exceeded"
            if name.startswith("fault-lost-answer-") and action.startswith(MUTATING_PREFIXES):
                with self.lock:
                    seen = self.throttled.get((action, name), 0)
                    self.throttled[(action, name)] = seen + 1
                if seen == 0:
                    return LOST_ANSWER, ""
            if name.startswith("fault-denied-") and action.startswith(MUTATING_PREFIXES):
                return (
                    "AccessDeniedException",
                    f"User: arn:aws:sts::123456789012:assumed-role/enforce/x is not authorized to perform: sagemaker:{action} on resource {name}",
                )
        return None


# --- CloudTrail LookupEvents, and the Function URL stand-in ----------------------------------------


def parse_time(value: Any) -> float | None:
    """LookupEvents' StartTime/EndTime: epoch seconds (the JSON protocol) or ISO 8601."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    from datetime import datetime
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def record_time(record: dict) -> float:
    return parse_time(record.get("eventTime")) or 0.0


class TestbedRoutes:
    """WSGI middleware: the testbed's own routes, CloudTrail LookupEvents and Function URLs."""

    # boto sends the long form, the Rust SDK the short one.
    LOOKUP_TARGETS = ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
                      "CloudTrail_20131101.LookupEvents")
    PAGE = 50
    DEFINITION_TARGETS = ("AWSStepFunctions.CreateStateMachine", "AWSStepFunctions.UpdateStateMachine")

    def __init__(self, app, lambda_url: str) -> None:  # noqa: ANN001
        self.app = app
        self.lambda_url = lambda_url
        self.records: list[dict] = []
        self.denied_lookups: set[str] = set()
        self.keys: dict[str, tuple[str, str]] = {}  # access key id -> (secret, principal ARN)
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001
        path = environ.get("PATH_INFO", "")
        if path == "/testbed/cloudtrail/records" and environ["REQUEST_METHOD"] == "POST":
            records = json.loads(self.body(environ) or b"{}").get("records", [])
            with self.lock:
                self.records.extend(records)
            return self.answer(start_response, 200, {"registered": len(records)})
        if path == "/testbed/cloudtrail/deny" and environ["REQUEST_METHOD"] == "POST":
            deny = json.loads(self.body(environ) or b"{}")
            with self.lock:
                (self.denied_lookups.add if deny.get("denied", True) else self.denied_lookups.discard)(deny["account"])
            return self.answer(start_response, 200, {"denied": sorted(self.denied_lookups)})
        if path == "/testbed/iam/keys" and environ["REQUEST_METHOD"] == "POST":
            key = json.loads(self.body(environ))
            with self.lock:
                self.keys[key["accessKeyId"]] = (key["secretAccessKey"], key["arn"])
            return self.answer(start_response, 200, {"registered": key["accessKeyId"]})
        if path == "/testbed/sagemaker/pipeline-steps" and environ["REQUEST_METHOD"] == "POST":
            return self.answer(start_response, 200, play_pipeline_step(json.loads(self.body(environ))))
        if path == "/testbed/sagemaker/monitoring-runs" and environ["REQUEST_METHOD"] == "POST":
            return self.answer(start_response, 200, play_monitoring_run(json.loads(self.body(environ))))
        if path == "/testbed/sagemaker/automl-deployments" and environ["REQUEST_METHOD"] == "POST":
            return self.answer(start_response, 200, play_automl_deployment(json.loads(self.body(environ))))
        if path.startswith("/lambda-url/"):
            return self.function_url(environ, start_response)
        if self.sts_scoped(environ):
            body = self.body(environ)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            if self.action(environ, body) == "GetCallerIdentity":
                return self.caller_identity(environ, body, start_response)
        if environ.get("HTTP_X_AMZ_TARGET") in self.DEFINITION_TARGETS:
            self.express_children_as_standard(environ)
        if environ.get("HTTP_X_AMZ_TARGET") in self.LOOKUP_TARGETS:
            return self.lookup_events(json.loads(self.body(environ) or b"{}"), self.requester(environ),
                                      start_response)
        if path == "/moto-api/reset":
            with self.lock:
                self.denied_lookups.clear()
                self.records.clear()
                self.keys.clear()
        CALLER.arn = self.signer(environ)
        return self.app(environ, start_response)

    def signer(self, environ) -> str | None:  # noqa: ANN001
        """The registered principal of the request's SigV4 access key (not verified: what
        SageMaker would record as the caller, for calls the testbed plays)."""
        found = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if found is None:
            return None
        with self.lock:
            key = self.keys.get(found.group(1))
        return key[1] if key else None

    @staticmethod
    def body(environ) -> bytes:  # noqa: ANN001
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return environ["wsgi.input"].read(length) if length else b""

    @staticmethod
    def answer(start_response, status: int, body: Any, content_type: str = "application/json",
               headers: dict | None = None):  # noqa: ANN001
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Status")
        start_response(f"{status} {reason}", [("Content-Type", content_type),
                                              ("Content-Length", str(len(payload))),
                                              *(headers or {}).items()])
        return [payload]

    @staticmethod
    def sts_scoped(environ) -> bool:  # noqa: ANN001
        from urllib.parse import parse_qs
        credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
        return "/sts/aws4_request" in credential or "/sts/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")

    @staticmethod
    def action(environ, body: bytes) -> str:  # noqa: ANN001
        from urllib.parse import parse_qs
        found = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
        if not found and environ.get("REQUEST_METHOD") == "POST":
            found = parse_qs(body.decode(errors="replace")).get("Action")
        return (found or [""])[0]

    def caller_identity(self, environ, body: bytes, start_response):  # noqa: ANN001
        arn, error = self.verify_sigv4(environ, body)
        if arn is None:
            code, message = error
            xml = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                   f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>")
            return self.answer(start_response, 403, xml.encode(), "text/xml")
        account = arn.split(":")[4]
        user_id = "AROATESTBED:" + arn.rsplit("/", 1)[-1] if ":assumed-role/" in arn else "AIDATESTBED"
        if "application/json" in environ.get("HTTP_ACCEPT", ""):
            return self.answer(start_response, 200, {"GetCallerIdentityResponse": {
                "GetCallerIdentityResult": {"Account": account, "Arn": arn, "UserId": user_id},
                "ResponseMetadata": {"RequestId": str(time.time_ns())}}})
        xml = ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
               f"<Arn>{arn}</Arn><UserId>{user_id}</UserId><Account>{account}</Account></GetCallerIdentityResult>"
               "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>")
        return self.answer(start_response, 200, xml.encode(), "text/xml")

    def verify_sigv4(self, environ, body: bytes) -> tuple[str | None, tuple[str, str]]:  # noqa: ANN001
        """SigV4 as STS checks it: the registered key's ARN, or the error STS would answer."""
        import hashlib
        import hmac
        from urllib.parse import parse_qsl, quote

        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        query = dict(params)
        bad = ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        if "X-Amz-Signature" in query:  # the query form: a presigned URL
            credential, amz_date = query.get("X-Amz-Credential", ""), query.get("X-Amz-Date", "")
            signed, signature = query.get("X-Amz-SignedHeaders", ""), query["X-Amz-Signature"]
            canonical_params = [(k, v) for k, v in params if k != "X-Amz-Signature"]
            token = query.get("X-Amz-Security-Token")
            try:
                expires = int(query.get("X-Amz-Expires", ""))
            except ValueError:
                return None, ("AuthorizationQueryParametersError", "X-Amz-Expires must be a number")
        else:  # the header form
            fields = dict(part.strip().split("=", 1) for part in
                          headers.get("authorization", "").removeprefix("AWS4-HMAC-SHA256 ").split(",") if "=" in part)
            credential, amz_date = fields.get("Credential", ""), headers.get("x-amz-date", "")
            signed, signature = fields.get("SignedHeaders", ""), fields.get("Signature", "")
            canonical_params, token, expires = params, headers.get("x-amz-security-token"), 900
        scope = credential.split("/")
        try:
            signed_at = float(calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")))
        except ValueError:
            return None, ("IncompleteSignature", "X-Amz-Date is missing or malformed")
        region = os.environ.get("AWS_REGION", "us-east-1")
        if len(scope) != 5 or scope[2] != region or scope[3] != "sts" or scope[4] != "aws4_request" \
                or not amz_date.startswith(scope[1]):
            return None, ("SignatureDoesNotMatch", f"Credential should be scoped to a valid region ({region}) and service (sts)")
        if time.time() > signed_at + expires or signed_at - time.time() > 900:
            return None, ("ExpiredToken" if "X-Amz-Signature" in query else "SignatureDoesNotMatch",
                          "Request has expired" if "X-Amz-Signature" in query else "Signature expired")
        with self.lock:
            key = self.keys.get(scope[0])
        if key is None:
            return None, ("InvalidClientTokenId", "The security token included in the request is invalid.")
        secret, arn = key
        del token  # signed like any other parameter or header; the key decides who it is

        def encode(text: str) -> str:
            return quote(text, safe="-_.~")

        canonical_query = "&".join(f"{k}={v}" for k, v in sorted((encode(k), encode(v)) for k, v in canonical_params))
        names = [h for h in signed.split(";") if h]
        if "host" not in names:
            return None, bad
        canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in names)
        canonical = "\n".join([environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", canonical_query,
                               canonical_headers, signed, hashlib.sha256(body).hexdigest()])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join(scope[1:]),
                             hashlib.sha256(canonical.encode()).hexdigest()])

        def mac(key_bytes: bytes, message: str) -> bytes:
            return hmac.new(key_bytes, message.encode(), hashlib.sha256).digest()

        signing_key = mac(mac(mac(mac(("AWS4" + secret).encode(), scope[1]), scope[2]), "sts"), "aws4_request")
        expected = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return None, bad
        return arn, ("", "")

    def express_children_as_standard(self, environ) -> None:  # noqa: ANN001
        """The definition as moto's grammar takes it: a distributed Map's EXPRESS children as STANDARD."""
        body = json.loads(self.body(environ) or b"{}")
        if isinstance(body.get("definition"), str):
            definition = json.loads(body["definition"])

            def standard(node: Any) -> None:
                if isinstance(node, dict):
                    config = node.get("ProcessorConfig")
                    if isinstance(config, dict) and config.get("ExecutionType") == "EXPRESS":
                        config["ExecutionType"] = "STANDARD"
                    for value in node.values():
                        standard(value)
                elif isinstance(node, list):
                    for value in node:
                        standard(value)

            standard(definition)
            body["definition"] = json.dumps(definition)
        data = json.dumps(body).encode()
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))

    @staticmethod
    def requester(environ) -> tuple[str, str]:  # noqa: ANN001
        """The account (its access key's) and region (the signing scope's) a request is made in."""
        from moto.iam.models import get_account_id_from

        found = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if found is None:
            return DEFAULT_ACCOUNT, "us-east-1"
        return get_account_id_from(found.group(1)), found.group(2)

    LOOKUP_FIELDS = {"EventName": "eventName", "EventSource": "eventSource", "EventId": "eventID"}

    def lookup_events(self, request: dict, requester: tuple[str, str], start_response):  # noqa: ANN001
        attributes = request.get("LookupAttributes", [])
        if len(attributes) > 1:
            return self.answer(start_response, 400, {
                "__type": "InvalidLookupAttributesException",
                "message": "You cannot specify more than one lookup attribute."}, "application/x-amz-json-1.1")
        wanted = [(self.LOOKUP_FIELDS.get(a.get("AttributeKey")), a.get("AttributeValue")) for a in attributes]
        if any(field is None for field, _ in wanted):
            return self.answer(start_response, 400, {
                "__type": "InvalidLookupAttributesException",
                "message": f"The testbed looks up by {', '.join(self.LOOKUP_FIELDS)} only."},
                "application/x-amz-json-1.1")
        start, end = parse_time(request.get("StartTime")), parse_time(request.get("EndTime"))
        account, region = requester
        with self.lock:
            records = list(self.records)
            denied = account in self.denied_lookups
        if denied:
            return self.answer(start_response, 400, {
                "__type": "AccessDeniedException",
                "message": f"User in account {account} is not authorized to perform: cloudtrail:LookupEvents "
                           "with an explicit deny in an identity-based policy"}, "application/x-amz-json-1.1")
        found = []
        for record in records:
            at = record_time(record)
            if start is not None and at < start or end is not None and at > end:
                continue
            # CloudTrail answers for the account and region it is asked in.
            if (record.get("recipientAccountId") or DEFAULT_ACCOUNT) != account \
                    or (record.get("awsRegion") or "us-east-1") != region:
                continue
            if any(record.get(field) != value for field, value in wanted):
                continue
            found.append(record)
        found.sort(key=record_time, reverse=True)  # newest first, as CloudTrail answers
        page = min(int(request.get("MaxResults") or self.PAGE), self.PAGE)
        offset = int(request.get("NextToken") or 0)
        events = [{
            "EventId": r.get("eventID"), "EventName": r.get("eventName"), "ReadOnly": "false",
            "EventTime": record_time(r), "EventSource": r.get("eventSource"),
            "Username": (r.get("userIdentity") or {}).get("arn", ""), "Resources": [],
            "CloudTrailEvent": json.dumps(r),
        } for r in found[offset:offset + page]]
        body: dict[str, Any] = {"Events": events}
        if offset + page < len(found):
            body["NextToken"] = str(offset + page)
        return self.answer(start_response, 200, body, "application/x-amz-json-1.1")

    def function_url(self, environ, start_response):  # noqa: ANN001
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        function = environ["PATH_INFO"].split("/")[2]
        body = self.body(environ)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        authorization = headers.get("authorization", "")
        fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
                      if "=" in part)
        credential = fields.get("Credential", "").split("/")
        with self.lock:
            key = self.keys.get(credential[0]) if credential else None
        forbidden = {"Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
                                "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}
        # Lambda checks the scope (this region, the lambda service) and the clock (15 minutes).
        region = os.environ.get("AWS_REGION", "us-east-1")
        try:
            signed_at = float(calendar.timegm(time.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")))
        except ValueError:
            signed_at = 0.0
        if not authorization.startswith("AWS4-HMAC-SHA256 ") or key is None or len(credential) != 5 \
                or credential[2] != region or credential[3] != "lambda" or abs(time.time() - signed_at) > 900:
            return self.answer(start_response, 403, forbidden)
        secret, arn = key
        # Sign the same request again with the registered secret; the signatures must agree.
        signed = fields.get("SignedHeaders", "").split(";")
        query = environ.get("QUERY_STRING", "")
        url = f"http://{headers.get('host', '')}{environ['PATH_INFO']}" + (f"?{query}" if query else "")
        again = AWSRequest(method=environ["REQUEST_METHOD"], url=url, data=body,
                           headers={h: headers.get(h, "") for h in signed})
        again.context["timestamp"] = headers.get("x-amz-date", "")
        auth = SigV4Auth(Credentials(credential[0], secret, headers.get("x-amz-security-token")),
                         "lambda", credential[2])
        canonical = auth.canonical_request(again)
        expected = auth.signature(auth.string_to_sign(again, canonical), again)
        if expected != fields.get("Signature"):
            return self.answer(start_response, 403, forbidden)
        account = arn.split(":")[4]
        event = {
            "version": "2.0", "rawPath": environ["PATH_INFO"][len(f"/lambda-url/{function}"):] or "/",
            "rawQueryString": query, "headers": {k: v for k, v in headers.items() if k != "authorization"},
            "requestContext": {
                "accountId": account, "apiId": function, "domainName": headers.get("host", ""),
                "http": {"method": environ["REQUEST_METHOD"], "path": "/", "protocol": "HTTP/1.1",
                         "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"), "userAgent": headers.get("user-agent", "")},
                "authorizer": {"iam": {"accessKey": credential[0], "accountId": account,
                                       "callerId": arn.rsplit("/", 1)[-1], "userArn": arn,
                                       "userId": arn.rsplit("/", 1)[-1]}},
                "requestId": str(time.time_ns()), "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "body": body.decode(errors="replace"), "isBase64Encoded": False,
        }
        request = urllib.request.Request(f"{self.lambda_url}/2015-03-31/functions/{function}/invocations",
                                         data=json.dumps(event).encode(), headers={"Content-Type": "application/json"},
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                result = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
            return self.answer(start_response, 502, {"Message": f"the function failed: {error}"})
        out = result.get("body") or ""
        return self.answer(start_response, int(result.get("statusCode", 200)), out.encode(),
                           (result.get("headers") or {}).get("content-type", "application/json"))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
