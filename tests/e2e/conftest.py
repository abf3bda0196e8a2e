"""The deployed shape on the testbed: functions, tables, topic and both state machines, created
from the real files in statemachine/ with the placeholders filled in as the CDK app fills them."""

from __future__ import annotations

import io
import json
import os
import pathlib
import sys
import time
import uuid
import zipfile

import boto3
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "testbed"))
from tables import ensure_tables  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTIONS = ["parse-event", "record", "evaluate", "claim", "enforce", "notify", "approve", "sweep", "health", "watch", "scan"]
# The rule and trail the health check looks at (HEALTH_TARGETS in .testbed/env).
RULE = "model-guard-SageMakerCalls"
TRAIL = "model-guard-trail"


def client(service: str):
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    assert endpoint.startswith("http://127.0.0.1:"), "run against the testbed: source .testbed/env"
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def substitute(text: str, values: dict[str, str]) -> str:
    """What the CDK's definitionSubstitutions does: `${Name}` replaced, every one of them."""
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text, "a placeholder is left"
    return text


def role(name: str) -> str:
    iam = client("iam")
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def camel(value):
    """SageMaker's PascalCase parameters as CloudTrail logs them (lowerCamelCase keys)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


class Stack:
    def __init__(self) -> None:
        self.ddb = client("dynamodb")
        self.sm = client("sagemaker")
        self.sfn = client("stepfunctions")
        self.lam = client("lambda")
        self.sqs = client("sqs")
        self.policy_table = os.environ["POLICY_TABLE"]
        self.decisions_table = os.environ["DECISIONS_TABLE"]
        self.records_table = os.environ["RECORDS_TABLE"]
        self.topic_arn = os.environ["TOPIC_ARN"]
        self.inbox: dict[str, list[dict]] = {}

        code = io.BytesIO()
        zipfile.ZipFile(code, "w").writestr("bootstrap", "served by cargo lambda watch")
        function_role = role("model-guard-function")
        for name in FUNCTIONS:
            try:
                self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=function_role,
                                         Handler="bootstrap", Code={"ZipFile": code.getvalue()}, Timeout=900)
            except self.lam.exceptions.ResourceConflictException:
                pass
        self.tables()
        self.guard_topic_arn = os.environ["GUARD_TOPIC_ARN"]
        self.watch_policy_stream()
        # One queue subscribed to both topics; each message says which topic it came by.
        queue = f"e2e-{uuid.uuid4().hex[:8]}"
        self.queue_url = self.sqs.create_queue(QueueName=queue)["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
        for topic in (self.topic_arn, self.guard_topic_arn):
            self.mend_topic(topic)

        arns = {f"{''.join(p.title() for p in n.split('-'))}FunctionArn":
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{n}" for n in FUNCTIONS}
        self.token_key()
        states_role = role("model-guard-states")
        # Both machines under the fixed names the functions are configured with (the sweep
        # watches ENFORCEMENT_STATE_MACHINE_ARN), made afresh for this session.
        self.enforcement_arn = os.environ["ENFORCEMENT_STATE_MACHINE_ARN"]
        try:
            self.sfn.delete_state_machine(stateMachineArn=self.enforcement_arn)
        except self.sfn.exceptions.ClientError:
            pass
        self.sfn.create_state_machine(
            name=self.enforcement_arn.rsplit(":", 1)[1], roleArn=states_role, type="STANDARD",
            definition=substitute((ROOT / "statemachine/enforcement.asl.json").read_text(), arns),
        )
        # The triage machine under the fixed name the sweep is configured with (TRIAGE_STATE_MACHINE_ARN),
        # made afresh so it starts this session's enforcement machine (moto's UpdateStateMachine
        # keeps the old definition running).
        triage = substitute((ROOT / "statemachine/triage.asl.json").read_text(),
                            {**arns, "EnforcementStateMachineArn": self.enforcement_arn,
                             "DecisionsTableName": self.decisions_table})
        self.triage_arn = os.environ["TRIAGE_STATE_MACHINE_ARN"]
        try:
            self.sfn.delete_state_machine(stateMachineArn=self.triage_arn)
        except self.sfn.exceptions.ClientError:
            pass
        self.sfn.create_state_machine(name=self.triage_arn.rsplit(":", 1)[1], roleArn=states_role,
                                      type="EXPRESS", definition=triage)
        # The sweep machine, made afresh: the schedule starts it.
        sweep = substitute((ROOT / "statemachine/sweep.asl.json").read_text(), arns)
        self.sweep_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:model-guard-sweep"
        try:
            self.sfn.delete_state_machine(stateMachineArn=self.sweep_arn)
        except self.sfn.exceptions.ClientError:
            pass
        self.sfn.create_state_machine(name="model-guard-sweep", roleArn=states_role, type="STANDARD",
                                      definition=sweep)
        # The drift scan machine, made afresh: its schedule starts it.
        self.scan_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:model-guard-scan"
        try:
            self.sfn.delete_state_machine(stateMachineArn=self.scan_arn)
        except self.sfn.exceptions.ClientError:
            pass
        self.sfn.create_state_machine(name="model-guard-scan", roleArn=states_role, type="STANDARD",
                                      definition=substitute((ROOT / "statemachine/scan.asl.json").read_text(), arns))
        self.member_roles()
        self.rule_and_trail()

    @staticmethod
    def member_roles() -> None:
        """The member accounts (MEMBER_ACCOUNTS) as the member stack sets them up: their two roles,
        made through the role AWS Organizations makes in every account it creates; and the guard's
        own account's, through which it acts in its other regions."""
        for name in ("ModelGuardMember", "ModelGuardMemberEnforce"):
            role(name)
        for account in os.environ.get("MEMBER_ACCOUNTS", "").split(","):
            if len(account) != 12:  # none, or "organization": the organization's accounts are a bench's
                continue
            iam = member_client("iam", account, REGION)
            for name in ("ModelGuardMember", "ModelGuardMemberEnforce"):
                try:
                    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
                except iam.exceptions.EntityAlreadyExistsException:
                    pass

    def watch_policy_stream(self) -> None:
        """The policy table's stream to the watch function, as the stack maps it."""
        stream = self.ddb.describe_table(TableName=self.policy_table)["Table"]["LatestStreamArn"]
        mapped = self.lam.list_event_source_mappings(EventSourceArn=stream, FunctionName="watch")
        if not mapped["EventSourceMappings"]:
            self.lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="watch",
                                                 StartingPosition="TRIM_HORIZON", BatchSize=1)

    def rule_and_trail(self) -> None:
        """The SageMaker rule (delivering to the triage machine) and the trail, as the stack makes
        them: what the health check looks at. (moto's EventBridge does not deliver to Step
        Functions: the scenarios start the triage themselves.)"""
        events = client("events")
        events.put_rule(Name=RULE, EventPattern=(ROOT / "statemachine/event-pattern.json").read_text())
        events.put_targets(Rule=RULE, Targets=[{"Id": "triage", "Arn": self.triage_arn}])
        s3, cloudtrail = client("s3"), client("cloudtrail")
        bucket = "model-guard-trail-bucket"
        s3.create_bucket(Bucket=bucket)
        if not any(t["Name"] == TRAIL for t in cloudtrail.describe_trails()["trailList"]):
            cloudtrail.create_trail(Name=TRAIL, S3BucketName=bucket)
        cloudtrail.put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=[
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                {"Field": "readOnly", "Equals": ["false"]}]},
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
                                {"Field": "readOnly", "Equals": ["false"]},
                                {"Field": "resources.ARN", "Equals": [
                                    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.policy_table}"]}]},
        ])
        cloudtrail.start_logging(Name=TRAIL)

    def mend_topic(self, topic_arn: str) -> None:
        """The topic, created (again) under its name, with this session's queue subscribed (and the
        watch function, to the guard topic, as the stack subscribes it)."""
        client("sns").create_topic(Name=topic_arn.rsplit(":", 1)[1])
        client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self.queue_arn)
        if topic_arn == os.environ["GUARD_TOPIC_ARN"]:
            client("sns").subscribe(TopicArn=topic_arn, Protocol="lambda",
                                    Endpoint=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:watch")

    def break_topic(self, topic_arn: str) -> None:
        """What someone with sns:DeleteTopic does to the alert path."""
        client("sns").delete_topic(TopicArn=topic_arn)

    @staticmethod
    def token_key() -> None:
        """The key that seals task tokens, under the alias the functions use (TOKEN_KEY_ID)."""
        kms = client("kms")
        alias = os.environ["TOKEN_KEY_ID"]
        if not any(a["AliasName"] == alias for a in kms.list_aliases()["Aliases"]):
            key = kms.create_key(Description="task tokens")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key)

    def tables(self) -> None:
        ensure_tables(self.ddb, self.policy_table, self.decisions_table, self.records_table)

    # --- what a scenario does ---------------------------------------------------------------

    def policy(self, item: dict) -> None:
        from boto3.dynamodb.types import TypeSerializer
        serializer = TypeSerializer()
        self.ddb.put_item(TableName=self.policy_table,
                          Item={k: serializer.serialize(v) for k, v in item.items()})

    def endpoint(self, prefix: str, model_prefix: str, caller: str = "MLDeployer") -> tuple[str, str, str]:
        """A model, an endpoint config and an endpoint; returns their names. The CreateModel and
        CreateEndpointConfig calls reach the triage as EventBridge delivers them, so their records
        are kept (a deployment within the second of its config's creation is judged by them)."""
        model = self.model(model_prefix, caller)
        config = self.endpoint_config([model], caller)
        endpoint = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        return model, config, endpoint

    def model(self, prefix: str, caller: str = "MLDeployer", role_name: str = "Exec",
              container: dict | None = None) -> str:
        """A model (its container as SageMaker's API takes it, PascalCase), and its CreateModel
        through the triage as EventBridge delivers it (camelCase, as CloudTrail logs it): recorded,
        then judged."""
        model = f"{prefix}-{uuid.uuid4().hex[:6]}"
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
        container = container or {"Image": "img:1"}
        self.sm.create_model(ModelName=model, ExecutionRoleArn=role_arn, PrimaryContainer=container)
        recorded = self.submit(call(str(uuid.uuid4()), caller, "CreateModel",
                                    {"modelName": model, "executionRoleArn": role_arn,
                                     "primaryContainer": camel(container)},
                                    {"modelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{model}"}))
        assert recorded["status"] == "SUCCEEDED", recorded
        return model

    def endpoint_config(self, models: list[str], caller: str = "MLDeployer", name: str | None = None,
                        record: bool = True) -> str:
        config = name or f"cfg-{uuid.uuid4().hex[:6]}"
        variants = [{"VariantName": f"v{i}", "ModelName": m, "InitialInstanceCount": 1,
                     "InstanceType": "ml.m5.large"} for i, m in enumerate(models)]
        self.sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=variants)
        if record:
            self.record_config(config, models, caller)
        return config

    def record_config(self, config: str, models: list[str], caller: str = "MLDeployer", event_name: str = "CreateEndpointConfig") -> None:
        """The CreateEndpointConfig (or DeleteEndpointConfig) event, through the triage."""
        params = {"endpointConfigName": config}
        response = None
        if event_name == "CreateEndpointConfig":
            params["productionVariants"] = [{"variantName": f"v{i}", "modelName": m} for i, m in enumerate(models)]
            response = {"endpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{config}"}
        recorded = self.submit(call(str(uuid.uuid4()), caller, event_name, params, response))
        assert recorded["status"] == "SUCCEEDED", recorded

    def records(self, kind: str, name: str) -> list[dict]:
        from boto3.dynamodb.types import TypeDeserializer
        items = self.ddb.query(TableName=self.records_table, KeyConditionExpression="pk = :k",
                               ExpressionAttributeValues={":k": {"S": f"{kind}#{name.lower()}"}},
                               ConsistentRead=True)["Items"]
        return [{k: TypeDeserializer().deserialize(v) for k, v in i.items()} for i in items]

    def endpoint_status(self, name: str) -> str | None:
        """The endpoint's status; None only when SageMaker says it does not exist (a throttled
        or failed describe is no proof of a deletion, and fails the test)."""
        try:
            return self.sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except self.sm.exceptions.ClientError as error:
            if not_found(error):
                return None
            raise

    def submit(self, event: dict) -> dict:
        """Starts the triage machine as the EventBridge rule would, and waits for it."""
        arn = self.sfn.start_execution(stateMachineArn=self.triage_arn, name=f"t-{uuid.uuid4().hex}",
                                       input=json.dumps(event))["executionArn"]
        return self.wait(arn, 60)

    def describe(self, execution_arn: str) -> dict:
        return self.sfn.describe_execution(executionArn=execution_arn)

    def wait(self, execution_arn: str, seconds: float) -> dict:
        deadline = time.time() + seconds
        while True:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING" or time.time() > deadline:
                return described
            time.sleep(0.2)

    def settled(self, event_id: str, seconds: float) -> dict | None:
        """The audit item once it is in a terminal state (or as it is after `seconds`): an
        enforcement may go on in continuations (`<eventID>_<n>`), so its first execution's end says
        little."""
        deadline = time.time() + seconds
        while True:
            item = self.audit(event_id)
            if item is not None and item["state"] not in ("evaluated", "pending") or time.time() > deadline:
                return item
            time.sleep(0.5)

    def enforcement(self, event_id: str) -> str:
        return f"{self.enforcement_arn.replace(':stateMachine:', ':execution:')}:{event_id}"

    def swept_enforcement(self, event_id: str, seconds: float = 60) -> dict:
        """The enforcement of an event the sweep submitted, once it ends: the triage it started runs
        on its own, so wait for the execution to appear first."""
        deadline = time.time() + 30
        while not self.enforcements(event_id) and time.time() < deadline:
            time.sleep(0.2)
        return self.wait(self.enforcement(event_id), seconds)

    def enforcements(self, event_id: str) -> list[dict]:
        """Every enforcement execution about an event, whatever it is named: its restarts
        (`<eventID>_<n>`) and any execution whose input names it (Step Functions keeps names
        unique, so looking one up by name could never find a second)."""
        found = []
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.enforcement_arn):
            for execution in page["executions"]:
                described = self.sfn.describe_execution(executionArn=execution["executionArn"])
                named = execution["name"] == event_id or execution["name"].startswith(event_id + "_")
                if named or json.loads(described.get("input") or "{}").get("eventId") == event_id:
                    found.append(described)
        return found

    def health(self) -> dict:
        """Runs the health check once, as its schedule does; returns its report."""
        response = self.lam.invoke(FunctionName="health", Payload=json.dumps(
            {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}))
        payload = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, payload
        return payload

    def sweep(self) -> dict:
        """Runs the sweep machine once, as its schedule does, and returns its report: the chores'
        (its output), with `submitted`, the events its places' look-ins submitted to the triage
        (the executions they started, `sweep-<ms>-<eventID>`, less the ledger's retries)."""
        import re

        def sweeps() -> set[str]:
            names = set()
            for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.triage_arn):
                names.update(e["name"] for e in page["executions"] if e["name"].startswith("sweep-"))
            return names

        before = sweeps()
        run = self.sfn.start_execution(stateMachineArn=self.sweep_arn, name=f"sweep-{uuid.uuid4()}", input=json.dumps(
            {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}))["executionArn"]
        ended = self.wait(run, 120)
        assert ended["status"] == "SUCCEEDED", ended
        report = json.loads(ended["output"])
        started = {re.sub(r"^sweep-\d+-", "", name) for name in sweeps() - before}
        report["submitted"] = sorted(started - set(report["retried"]))
        return report

    def drift_scan(self, wait: float = 600) -> dict:
        """Runs the drift scan machine once, as its schedule does, and returns how it ended."""
        run = self.sfn.start_execution(stateMachineArn=self.scan_arn, name=f"scan-{uuid.uuid4()}", input=json.dumps(
            {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}))["executionArn"]
        return self.wait(run, wait)

    def every_message(self, wait: float = 5.0) -> list[dict]:
        """Every alert read so far, whatever it is about."""
        self.messages("(none)", wait)
        return [m for about in self.inbox.values() for m in about]

    def history(self, execution_arn: str) -> list[dict]:
        """An execution's events, oldest first."""
        events = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def task_errors(self, execution_arn: str) -> list[str]:
        """The error of every failed task attempt in an execution (the retried ones included)."""
        errors = []
        for e in self.history(execution_arn):
            for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails"):
                if key in e:
                    errors.append(e[key].get("error", ""))
        return errors

    def audit(self, event_id: str) -> dict | None:
        from boto3.dynamodb.types import TypeDeserializer
        item = self.ddb.get_item(TableName=self.decisions_table, Key={"eventId": {"S": event_id}},
                                 ConsistentRead=True).get("Item")
        return None if item is None else {k: TypeDeserializer().deserialize(v) for k, v in item.items()}

    def messages(self, event_id: str, wait: float = 2.0) -> list[dict]:
        """The alerts about one event, as an SQS subscriber reads them, oldest first."""
        deadline = time.time() + wait
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            for message in got:
                envelope = json.loads(message["Body"])
                document = json.loads(envelope["Message"])
                about = (document.get("verdict") or {}).get("eventId") \
                    or (document.get("tamper") or {}).get("eventId") \
                    or ("policy:" + document["policyChange"]["pk"] if document.get("policyChange") else None) \
                    or ("health" if document.get("kind") == "health" else "no-event")
                self.inbox.setdefault(about, []).append(
                    {"subject": envelope.get("Subject"), "kind": document["kind"], "document": document,
                     "topic": envelope.get("TopicArn")})
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not got and time.time() > deadline:
                return self.inbox.get(event_id, [])
            if not got:
                time.sleep(0.2)


def member_client(service: str, account: str, region: str):  # noqa: ANN201
    """A client of `service` in a member account, as its administrators (the role AWS
    Organizations makes in every account it creates)."""
    admin = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                      RoleSessionName="e2e-setup")["Credentials"]
    return boto3.client(service, endpoint_url=client("sts").meta.endpoint_url, region_name=region,
                        aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"],
                        aws_session_token=admin["SessionToken"])


def not_found(error) -> bool:  # noqa: ANN001
    """SageMaker's answer for what does not exist, and nothing else."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ResourceNotFound" or (
        details.get("Code") == "ValidationException" and "could not find" in details.get("Message", "").lower())


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack()


def event(event_id: str, caller_role: str, endpoint: str, config: str) -> dict:
    """A CreateEndpoint call by `caller_role`, now, as EventBridge delivers it."""
    return call(event_id, caller_role, "CreateEndpoint",
                {"endpointName": endpoint, "endpointConfigName": config},
                {"endpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint.lower()}"})


def call(event_id: str, caller_role: str, event_name: str, request: dict, response: dict | None) -> dict:
    """A SageMaker call by `caller_role`, now, as EventBridge delivers it."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker", "account": ACCOUNT, "time": now, "region": REGION, "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole", "principalId": "AROAEXAMPLE:s",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{caller_role}/s", "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                                                     "arn": f"arn:aws:iam::{ACCOUNT}:role/{caller_role}",
                                                     "accountId": ACCOUNT, "userName": caller_role}},
            },
            "eventTime": now, "eventSource": "sagemaker.amazonaws.com", "eventName": event_name,
            "awsRegion": REGION, "requestParameters": request, "responseElements": response,
            "eventID": event_id, "readOnly": False, "eventType": "AwsApiCall",
            "managementEvent": True, "recipientAccountId": ACCOUNT,
        },
    }


