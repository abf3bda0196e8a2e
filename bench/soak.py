"""The chaos soak (scripts/soak): thousands of SageMaker calls of every family the testbed can make
real resources for, allowed and violating mixed, through the real state machines and function
binaries, while the testbed injects faults at random (tests/testbed/chaos.py): throttling and 5xx
on every AWS service the guard calls, calls held past the functions' attempt timeout, answers lost
after the call took effect, and function processes killed mid-invocation. One event in ten is
delivered twice, deliveries come in random order, and one in twenty is withheld from the rule so
that only the sweep finds it. Then it counts what must hold:

- every event reaches its terminal audit state (allowed, or enforced);
- every violating resource is enforced exactly once (one `enforced` transition) and is confirmed
  stopped or gone by SageMaker;
- no allowed resource is touched (still running, and no enforcement execution about it);
- each alert is sent once per transition; a duplicate is counted apart when a fault hit after SNS
  accepted a publish of that alert or killed a function while it was about that event;
- no execution is left running;
- no function panicked (the function logs, the killed processes' included).

It writes its figures to bench/soak.json and prints them; bench/REPORT.md quotes them.
Usage: bench/soak.py [--events N] [--seed S] [--in-flight N] [--rates JSON]"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import pathlib
import random
import re
import sys
import threading
import time
import urllib.request
import uuid

# Before any client exists: the soak's own calls carry this in their User-Agent, and the chaos
# plan spares them (tests/testbed/chaos.py SPARED_AGENT).
os.environ["AWS_SDK_UA_APP_ID"] = "model-guard-soak"

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/e2e"))
from conftest import ACCOUNT, REGION, Stack, call, not_found  # noqa: E402

DEFAULT_RATES = {"throttle": 0.03, "error5xx": 0.02, "timeout": 0.002, "after": 0.01, "kill": 0.03}
# One family per kind of resource the guard enforces on (its remedy table,
# functions/core/src/enforcement.rs), as far as the testbed can make the resource: the calls whose
# remedy is notify-only (pipelines, domains, profiles, job definitions, …) touch nothing to check.
FAMILIES = ("endpoint", "training", "processing", "transform", "tuning", "notebook", "component", "compilation",
            "automl", "cluster", "monitoring", "pipeline", "studio", "mlflow", "experiment")
TERMINAL = {"allowed": "allowed", "violating": "enforced"}
GRACE_FAMILIES = ("training", "processing")
GRACE_SECONDS = 3


def testbed(path: str, body: dict | None = None) -> dict:
    url = os.environ["AWS_ENDPOINT_URL"] + path
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="GET" if data is None else "POST")) as r:
        return json.load(r)


class Soak:
    def __init__(self, stack: Stack, seed: int) -> None:
        self.stack = stack
        self.sm = stack.sm
        self.rng = random.Random(seed)
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        deployer = f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"
        self.role = f"arn:aws:iam::{ACCOUNT}:role/SoakJobs-{tag}"
        stack.policy({"pk": f"model#soak{tag}-*", "principals": [deployer], "mode": "enforce", "graceSeconds": 0})
        stack.policy({"pk": f"role#{self.role}", "principals": [deployer], "mode": "enforce", "graceSeconds": 0})
        # A quarter of the training and processing jobs run under a role with a grace period: their
        # violations wait for an approver (the pending alert carries a KMS-sealed approval token),
        # so the faults reach KMS and the Standard machine's wait too.
        self.grace_role = f"arn:aws:iam::{ACCOUNT}:role/SoakGrace-{tag}"
        stack.policy({"pk": f"role#{self.grace_role}", "principals": [deployer], "mode": "enforce",
                      "graceSeconds": GRACE_SECONDS})
        # The transform jobs' model is bound too (unbound, the default item would judge it).
        stack.policy({"pk": f"model#soakjob{tag}-*", "principals": [deployer], "mode": "enforce", "graceSeconds": 0})
        # Made before the faults start, with their records kept as the rule delivers them: each
        # endpoint is made from this config, each transform job runs this model.
        self.model = stack.model(f"soak{tag}")
        self.config = stack.endpoint_config([self.model])
        self.job_model = stack.model(f"soakjob{tag}", role_name=f"SoakJobs-{tag}")
        sm, role = stack.sm, self.role
        # What the other families' calls name: an endpoint hosting the inference components and
        # the shadow tests, a monitoring job definition, a pipeline and a Studio user profile, all
        # under (or serving) what the policy binds. None of their own calls is delivered.
        self.host = f"soak{tag}-host"
        sm.create_endpoint(EndpointName=self.host, EndpointConfigName=self.config)
        self.definition = f"soak{tag}-dq"
        sm.create_data_quality_job_definition(
            JobDefinitionName=self.definition, RoleArn=role, DataQualityAppSpecification={"ImageUri": "img:1"},
            DataQualityJobInput={"EndpointInput": {"EndpointName": self.host, "LocalPath": "/opt/ml/processing/input"}},
            DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
                "S3Uri": "s3://b/o", "LocalPath": "/opt/ml/processing/output"}}]},
            JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}})
        self.pipeline = f"soak{tag}-pipe"
        sm.create_pipeline(PipelineName=self.pipeline, RoleArn=role, ClientRequestToken=uuid.uuid4().hex,
                           PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
        domain_arn = sm.create_domain(DomainName=f"soak{tag}", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
                                      DefaultUserSettings={"ExecutionRole": role})["DomainArn"]
        self.domain = domain_arn.rsplit("/", 1)[-1]
        self.profile = "soak"
        sm.create_user_profile(DomainId=self.domain, UserProfileName=self.profile, UserSettings={"ExecutionRole": role})
        self.arns: dict[str, str] = {}  # the resources SageMaker names by ARN only (pipeline executions)

    # --- the resources, made before the faults start (as SageMaker made them before the events came) ---

    def make(self, family: str, name: str, grace: bool = False) -> tuple[str, dict, dict | None]:
        """Makes one resource (under the grace role if `grace`); returns the call's name, request and
        response as CloudTrail logs them."""
        sm, role = self.sm, self.grace_role if grace else self.role
        arn = lambda kind: f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"  # noqa: E731
        resources = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
        if family == "endpoint":
            sm.create_endpoint(EndpointName=name, EndpointConfigName=self.config)
            return "CreateEndpoint", {"endpointName": name, "endpointConfigName": self.config}, {"endpointArn": arn("endpoint")}
        if family == "training":
            sm.create_training_job(TrainingJobName=name, RoleArn=role,
                                   AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
                                   OutputDataConfig={"S3OutputPath": "s3://b/o"}, ResourceConfig=resources,
                                   StoppingCondition={"MaxRuntimeInSeconds": 60})
            return "CreateTrainingJob", {"trainingJobName": name, "roleArn": role}, {"trainingJobArn": arn("training-job")}
        if family == "processing":
            sm.create_processing_job(ProcessingJobName=name, RoleArn=role, AppSpecification={"ImageUri": "img:1"},
                                     ProcessingResources={"ClusterConfig": resources})
            return "CreateProcessingJob", {"processingJobName": name, "roleArn": role}, {"processingJobArn": arn("processing-job")}
        if family == "transform":
            sm.create_transform_job(
                TransformJobName=name, ModelName=self.job_model,
                TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
                TransformOutput={"S3OutputPath": "s3://b/o"},
                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
            return "CreateTransformJob", {"transformJobName": name, "modelName": self.job_model}, {"transformJobArn": arn("transform-job")}
        if family == "tuning":
            sm.create_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name,
                HyperParameterTuningJobConfig={"Strategy": "Bayesian", "ResourceLimits": {
                    "MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1}},
                TrainingJobDefinition={"RoleArn": role,
                                       "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
                                       "OutputDataConfig": {"S3OutputPath": "s3://b/o"}, "ResourceConfig": resources,
                                       "StoppingCondition": {"MaxRuntimeInSeconds": 60}})
            return ("CreateHyperParameterTuningJob", {"hyperParameterTuningJobName": name, "trainingJobDefinition": {"roleArn": role}},
                    {"hyperParameterTuningJobArn": arn("hyper-parameter-tuning-job")})
        if family == "notebook":
            sm.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=role)
            return ("CreateNotebookInstance", {"notebookInstanceName": name, "instanceType": "ml.t3.medium", "roleArn": role},
                    {"notebookInstanceArn": arn("notebook-instance")})
        if family == "component":
            sm.create_inference_component(InferenceComponentName=name, EndpointName=self.host, VariantName="v0",
                                          Specification={"ModelName": self.model}, RuntimeConfig={"CopyCount": 1})
            return ("CreateInferenceComponent", {"inferenceComponentName": name, "endpointName": self.host,
                                                 "variantName": "v0", "specification": {"modelName": self.model}},
                    {"inferenceComponentArn": arn("inference-component")})
        if family == "compilation":
            sm.create_compilation_job(
                CompilationJobName=name, RoleArn=role,
                InputConfig={"S3Uri": "s3://b/model.tar.gz", "DataInputConfig": '{"x": [1, 3]}', "Framework": "PYTORCH"},
                OutputConfig={"S3OutputLocation": "s3://b/out", "TargetDevice": "ml_c5"},
                StoppingCondition={"MaxRuntimeInSeconds": 900})
            return "CreateCompilationJob", {"compilationJobName": name, "roleArn": role}, {"compilationJobArn": arn("compilation-job")}
        if family == "automl":
            sm.create_auto_ml_job_v2(
                AutoMLJobName=name, RoleArn=role,
                AutoMLJobInputDataConfig=[{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                           "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}}],
                OutputDataConfig={"S3OutputPath": "s3://b/out"},
                AutoMLProblemTypeConfig={"TabularJobConfig": {"TargetAttributeName": "y", "ProblemType": "BinaryClassification",
                                                               "CompletionCriteria": {"MaxCandidates": 1}}})
            return "CreateAutoMLJobV2", {"autoMLJobName": name, "roleArn": role}, {"autoMLJobArn": arn("automl-job")}
        if family == "cluster":
            group = {"InstanceGroupName": "workers", "InstanceType": "ml.g5.8xlarge", "InstanceCount": 1,
                     "ThreadsPerCore": 1, "ExecutionRole": role,
                     "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/hp/", "OnCreate": "on_create.sh"}}
            cluster_arn = sm.create_cluster(ClusterName=name, InstanceGroups=[group])["ClusterArn"]
            return ("CreateCluster", {"clusterName": name, "instanceGroups": [
                {"instanceGroupName": "workers", "instanceType": "ml.g5.8xlarge", "instanceCount": 1, "executionRole": role}]},
                    {"clusterArn": cluster_arn})
        if family == "monitoring":
            config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                      "MonitoringJobDefinitionName": self.definition, "MonitoringType": "DataQuality"}
            schedule_arn = sm.create_monitoring_schedule(MonitoringScheduleName=name,
                                                         MonitoringScheduleConfig=config)["MonitoringScheduleArn"]
            return ("CreateMonitoringSchedule", {"monitoringScheduleName": name, "monitoringScheduleConfig": {
                "monitoringJobDefinitionName": self.definition, "monitoringType": "DataQuality"}},
                    {"monitoringScheduleArn": schedule_arn})
        if family == "pipeline":
            execution = sm.start_pipeline_execution(PipelineName=self.pipeline,
                                                    ClientRequestToken=uuid.uuid4().hex)["PipelineExecutionArn"]
            self.arns[name] = execution
            return "StartPipelineExecution", {"pipelineName": self.pipeline}, {"pipelineExecutionArn": execution}
        if family == "studio":
            app_arn = sm.create_app(DomainId=self.domain, UserProfileName=self.profile, AppType="JupyterLab",
                                    AppName=name.lower())["AppArn"]
            return ("CreateApp", {"domainId": self.domain, "userProfileName": self.profile, "appType": "JupyterLab",
                                  "appName": name.lower()}, {"appArn": app_arn})
        if family == "mlflow":
            sm.create_mlflow_tracking_server(TrackingServerName=name, ArtifactStoreUri="s3://b/mlflow", RoleArn=role)
            return ("CreateMlflowTrackingServer", {"trackingServerName": name, "artifactStoreUri": "s3://b/mlflow",
                                                   "roleArn": role}, {"trackingServerArn": arn("mlflow-tracking-server")})
        if family == "experiment":
            infra = {"InfrastructureType": "RealTimeInference",
                     "RealTimeInferenceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}
            sm.create_inference_experiment(
                Name=name, Type="ShadowMode", RoleArn=role, EndpointName=self.host,
                ModelVariants=[{"ModelName": self.model, "VariantName": "production", "InfrastructureConfig": infra},
                               {"ModelName": self.model, "VariantName": "shadow", "InfrastructureConfig": infra}],
                ShadowModeConfig={"SourceModelVariantName": "production", "ShadowModelVariants": [
                    {"ShadowModelVariantName": "shadow", "SamplingPercentage": 50}]})
            return ("CreateInferenceExperiment", {"name": name, "type": "ShadowMode", "roleArn": role, "endpointName": self.host,
                                                  "modelVariants": [{"modelName": self.model, "variantName": "production"},
                                                                    {"modelName": self.model, "variantName": "shadow"}]},
                    {"inferenceExperimentArn": arn("inference-experiment")})
        raise ValueError(family)

    def status(self, family: str, name: str) -> str | None:
        """The resource's status as SageMaker describes it (lower case), None once it is gone."""
        sm = self.sm
        describe = {
            "endpoint": lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"],
            "training": lambda: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"],
            "processing": lambda: sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"],
            "transform": lambda: sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"],
            "tuning": lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
                "HyperParameterTuningJobStatus"],
            "notebook": lambda: sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"],
            "component": lambda: sm.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"],
            "compilation": lambda: sm.describe_compilation_job(CompilationJobName=name)["CompilationJobStatus"],
            "automl": lambda: sm.describe_auto_ml_job_v2(AutoMLJobName=name)["AutoMLJobStatus"],
            "cluster": lambda: sm.describe_cluster(ClusterName=name)["ClusterStatus"],
            "monitoring": lambda: sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"],
            "pipeline": lambda: sm.describe_pipeline_execution(PipelineExecutionArn=self.arns[name])["PipelineExecutionStatus"],
            "studio": lambda: sm.describe_app(DomainId=self.domain, UserProfileName=self.profile, AppType="JupyterLab",
                                              AppName=name.lower())["Status"],
            "mlflow": lambda: sm.describe_mlflow_tracking_server(TrackingServerName=name)["TrackingServerStatus"],
            "experiment": lambda: sm.describe_inference_experiment(Name=name)["Status"],
        }[family]
        try:
            return describe().lower()
        except sm.exceptions.ClientError as error:
            if not_found(error):
                return None
            raise


RUNNING = {"inservice", "inprogress", "pending", "creating", "scheduled", "executing", "created", "running"}
STOPPED = {None, "stopped", "stopping", "deleting", "deleted", "cancelled"}


def log_offsets() -> dict[str, int]:
    return {name: (ROOT / ".testbed" / name).stat().st_size for name in ("lambda.log", "moto.log")}


def panics(since: dict[str, int]) -> list[str]:
    found = []
    for name, offset in since.items():
        with open(ROOT / ".testbed" / name, "rb") as log:
            log.seek(offset)
            found += [line.decode(errors="replace")[:300] for line in log if b"panicked" in line]
    return found


def running(stack: Stack) -> dict[str, int]:
    counts = {}
    for label, arn in (("triage", stack.triage_arn), ("enforcement", stack.enforcement_arn), ("sweep", stack.sweep_arn)):
        n = 0
        for page in stack.sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
            n += len(page["executions"])
        counts[label] = n
    return counts


def enforcement_names(stack: Stack) -> collections.Counter:
    """Enforcement executions per event ID (the first is named for it, continuations `<id>_<n>`)."""
    names: collections.Counter = collections.Counter()
    for page in stack.sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.enforcement_arn):
        for execution in page["executions"]:
            names[re.sub(r"_\d+$", "", execution["name"])] += 1
    return names


def main() -> None:  # noqa: C901, PLR0912, PLR0915 - one run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--rates", default=json.dumps(DEFAULT_RATES))
    parser.add_argument("--deadline", type=float, default=1800, help="seconds to wait for every event to settle")
    parser.add_argument("--out", default=str(ROOT / "bench/soak.json"))
    args = parser.parse_args()
    rates = json.loads(args.rates)
    began = time.time()

    stack = Stack()
    stack.every_message(0)  # whatever an earlier run left in the queue is not this run's
    soak = Soak(stack, args.seed)
    rng = soak.rng

    # 1. The cases: one resource and one call each, families in turn, three in ten violating.
    cases = []
    for i in range(args.events):
        family = FAMILIES[i % len(FAMILIES)]
        violating = rng.random() < 0.3
        name = f"soak{soak.tag}-{family}-{i}"
        grace = family in GRACE_FAMILIES and rng.random() < 0.25
        event_name, request, response = soak.make(family, name, grace)
        caller = "DataScientist" if violating else "MLDeployer"
        delivered = call(str(uuid.uuid4()), caller, event_name, request, response)
        cases.append({"family": family, "name": name, "kind": "violating" if violating else "allowed", "grace": grace,
                      "event": delivered, "id": delivered["detail"]["eventID"]})
    print(f"soak: {len(cases)} resources made in {time.time() - began:.0f} s", flush=True)

    # 2. Deliveries: one in twenty withheld (CloudTrail has it; the rule never delivers it), one
    #    in ten of the rest delivered twice, all in random order.
    withheld = [c for c in cases if rng.random() < 0.05]
    withheld_ids = {c["id"] for c in withheld}
    deliveries = [c for c in cases if c["id"] not in withheld_ids]
    twice = [c for c in deliveries if rng.random() < 0.10]
    deliveries = deliveries + twice
    rng.shuffle(deliveries)
    testbed("/testbed/cloudtrail/records", {"records": [c["event"]["detail"] for c in withheld]})

    offsets = log_offsets()
    testbed("/testbed/chaos", {"seed": args.seed, **rates})
    by_id = {c["id"]: c for c in cases}
    settled: dict[str, dict] = {}
    lock = threading.Lock()
    slots = threading.Semaphore(args.in_flight)
    outstanding: dict[str, float] = {}

    def watch(stop: threading.Event) -> None:
        # Frees a slot when an event settles (or after 120 s: a slow one still counts at the end).
        while not stop.is_set():
            with lock:
                waiting = list(outstanding.items())
            for event_id, since in waiting[:16]:
                try:
                    item = stack.audit(event_id)
                except Exception as error:  # noqa: BLE001 - the emulator busy: the 120 s still frees the slot
                    print(f"soak: reading {event_id}: {error}", flush=True)
                    item = None
                if item and item["state"] == TERMINAL[by_id[event_id]["kind"]] or time.time() - since > 120:
                    with lock:
                        if outstanding.pop(event_id, None) is not None:
                            slots.release()
            time.sleep(0.2)

    def deliver(case: dict) -> None:
        if not slots.acquire(timeout=300):  # the watcher frees one within 120 s while it runs
            raise RuntimeError("no slot freed in 300 s: the watcher stopped")
        with lock:
            if case["id"] in outstanding:  # its first delivery is still out: this one goes in anyway
                slots.release()
            outstanding[case["id"]] = time.time()
        stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"soak-{uuid.uuid4().hex}",
                                  input=json.dumps(case["event"]))

    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,), daemon=True)
    watcher.start()
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, deliveries))
    delivered_in = time.time() - started
    print(f"soak: {len(deliveries)} deliveries in {delivered_in:.0f} s", flush=True)

    def unsettled() -> list[str]:
        left = []
        for case in cases:
            if case["id"] in settled:
                continue
            item = stack.audit(case["id"])
            if item and item["state"] == TERMINAL[case["kind"]]:
                settled[case["id"]] = item
            else:
                left.append(case["id"])
        return left

    # 3. The sweep, as its schedule runs it (every 15 minutes in the stack): it finds the withheld
    #    calls, and re-submits or restarts what a fault left undecided or stopped. Run again, as
    #    the schedule would, while anything is left.
    deadline = started + args.deadline
    sweeps = []
    while time.time() < deadline:
        time.sleep(5)
        left = unsettled()
        if not left:
            break
        if len(sweeps) < 8 and (not sweeps or time.time() - sweeps[-1]["at"] > 60):
            run = stack.sfn.start_execution(stateMachineArn=stack.sweep_arn, name=f"soak-sweep-{uuid.uuid4().hex}",
                                            input=json.dumps({"source": "aws.events", "detail-type": "Scheduled Event",
                                                              "detail": {}}))["executionArn"]
            ended = stack.wait(run, 300)
            sweeps.append({"at": time.time(), "status": ended["status"], "left_before": len(left)})
            print(f"soak: sweep {len(sweeps)} {ended['status']} with {len(left)} unsettled", flush=True)
    settled_in = time.time() - started
    stop.set()
    testbed("/testbed/chaos", {"off": True})
    # What faults left running ends by itself or never: give stragglers (a retry's backoff) a moment.
    for _ in range(60):
        if not any(running(stack).values()):
            break
        time.sleep(2)
    chaos = testbed("/testbed/chaos")  # after the stragglers: their publishes are noted too
    left = unsettled()

    # 4. The invariants.
    enforcements = enforcement_names(stack)
    messages = collections.Counter()
    for message in stack.every_message(5.0):
        about = (message["document"].get("verdict") or {}).get("eventId")
        if about in by_id:
            messages[(about, message["kind"])] += 1
    explained_by: collections.Counter = collections.Counter()
    problems = collections.defaultdict(list)
    duplicates_explained = 0
    for case in cases:
        event_id, item = case["id"], settled.get(case["id"]) or stack.audit(case["id"])
        state = soak.status(case["family"], case["name"])
        if event_id in left:
            problems["not terminal"].append((event_id, case["family"], item and item["state"]))
            continue
        kinds = {k: n for (e, k), n in messages.items() if e == event_id}
        if case["kind"] == "allowed":
            if state not in RUNNING:
                problems["allowed resource touched"].append((case["name"], state))
            if enforcements[event_id]:
                problems["allowed event has an enforcement"].append(event_id)
            if kinds:
                problems["alert about an allowed event"].append((event_id, kinds))
            continue
        history = [h["state"] for h in item.get("history", [])]
        if history.count("enforced") != 1:
            problems["not enforced exactly once"].append((event_id, history))
        outcome = (item.get("enforcement") or {}).get("outcome")
        # already-*: a retry found the resource already stopped or gone, by the guard's own first
        # attempt whose answer a fault lost (SageMaker confirms the state either way).
        if state not in STOPPED or outcome not in ("deleted", "stopped", "already-gone", "already-stopped"):
            problems["violating resource not confirmed stopped or gone"].append((case["name"], state, outcome))
        if kinds.get("enforced", 0) == 0:
            problems["enforced alert missing"].append(event_id)
        # Grace 0: no pending alert. With a grace: one pending alert first. Any other is a failure's.
        expected = {"violation-pending", "enforced"} if case["grace"] else {"enforced"}
        if case["grace"] and kinds.get("violation-pending", 0) == 0:
            problems["pending alert missing"].append(event_id)
        if set(kinds) - expected:
            problems["alert of another kind about a violation"].append((event_id, kinds))
        for kind, n in kinds.items():
            if n > 1:
                # Explained only by a fault that hit after SNS first accepted the alert and can make
                # its invocation fail after the publish: an answer lost after the call took effect
                # ("after", on any service: the publish itself, the alert's record, the invocation),
                # a call held past its timeout, or a killed process. A throttle or 5xx is retried by
                # the SDK and explains nothing.
                published = sorted(chaos["published"].get(f"{event_id}:{kind}", []))
                after = [f for f in chaos["faultsAbout"].get(event_id, [])
                         if published and published[0] <= f["at"] <= published[-1]
                         and f["fault"].split("/", 1)[1].split()[0] in ("after", "timeout", "kill")]
                if after or chaos["publishedThenFailed"].get(f"{event_id}:{kind}"):
                    duplicates_explained += n - 1
                    explained_by.update(f["fault"] for f in after[:1])
                else:
                    problems["duplicate alert with no fault to explain it"].append((event_id, kind, n, published))
    left_running = running(stack)
    if any(left_running.values()):
        problems["executions left running"].append(left_running)
    panicked = panics(offsets)
    if panicked:
        problems["panics in the functions' logs"].extend(panicked)

    violating = [c for c in cases if c["kind"] == "violating"]
    allowed = [c for c in cases if c["kind"] == "allowed"]
    failing = {key: {p if isinstance(p, str) else str(p[0]) for p in found} for key, found in problems.items()}

    def held(group: list[dict], *keys: str, by: str = "id") -> str:
        bad = set().union(*(failing.get(k, set()) for k in keys)) | {c[by] for c in group if c["id"] in left}
        return f"{sum(1 for c in group if c[by] not in bad)} of {len(group)}"
    checked = {
        "events in their terminal audit state": f"{len(cases) - len(left)} of {len(cases)}",
        "violating resources enforced exactly once": held(violating, "not enforced exactly once"),
        "violating resources confirmed stopped or gone": held(violating, "violating resource not confirmed stopped or gone", by="name"),
        "allowed resources untouched": held(allowed, "allowed resource touched", by="name"),
        "allowed events with no enforcement and no alert": held(allowed, "allowed event has an enforcement", "alert about an allowed event"),
        "violations with exactly one alert per transition (or a repeat a fault explains)": held(
            violating, "enforced alert missing", "pending alert missing", "duplicate alert with no fault to explain it",
            "alert of another kind about a violation"),
        "executions left running": sum(left_running.values()),
        "panics in the functions' logs": len(panicked),
    }
    result = {
        "checked": checked,
        "events": len(cases), "seed": args.seed, "rates": rates,
        "families": dict(collections.Counter(c["family"] for c in cases)),
        "violating": sum(c["kind"] == "violating" for c in cases),
        "violating_with_grace": sum(c["kind"] == "violating" and c["grace"] for c in cases),
        "withheld": len(withheld), "delivered_twice": len(twice), "deliveries": len(deliveries),
        "delivered_in_s": round(delivered_in, 1), "settled_in_s": round(settled_in, 1),
        "sweeps": [{k: v for k, v in s.items() if k != "at"} for s in sweeps],
        "terminal": len(cases) - len(left),
        "states": dict(collections.Counter((settled.get(c["id"]) or {}).get("state", "none") for c in cases)),
        "faults": chaos["injected"], "faults_total": sum(chaos["injected"].values()),
        "killed": len(chaos["killed"]), "killed_by_function": dict(collections.Counter(k["function"] for k in chaos["killed"])),
        "answered_before_kill": chaos["answeredBeforeKill"],
        "published_then_failed": sum(chaos["publishedThenFailed"].values()),
        "events_faults_named": len(chaos["faultsAbout"]),
        "alerts": sum(messages.values()), "duplicate_alerts_explained": duplicates_explained,
        "duplicates_explained_by": dict(explained_by),
        "outcomes": dict(collections.Counter(((settled.get(c["id"]) or {}).get("enforcement") or {}).get("outcome")
                                             for c in violating)),
        "problems": {k: len(v) for k, v in problems.items() if v},
        "examples": {k: v[:5] for k, v in problems.items() if v},
        "seconds": round(time.time() - began, 1),
    }
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))
    sys.exit(1 if any(problems.values()) else 0)


if __name__ == "__main__":
    main()
