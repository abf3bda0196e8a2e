"""`guardctl scan` measured on the testbed (issue 21): 1,000 endpoints and 200 running training
jobs in a region of the bench's own, 90 % of the endpoints and every job with its call in
CloudTrail. guardctl runs under /usr/bin/time (wall time, peak RSS) and talks to the testbed
through a counting proxy (every AWS request, by service and action). Prints the figures as JSON.

    scripts/testbed up && source .testbed/env
    .venv/bin/python bench/scan.py [--guardctl PATH] [--endpoints 1000] [--jobs 200]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.server
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "testbed"))
from tables import ensure_tables  # noqa: E402

REGION = "ap-south-1"  # no test uses it
ACCOUNT = "123456789012"


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


class CountingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to the testbed and counts it by service and action."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def forward(self) -> None:
        server: CountingProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        auth = self.headers.get("Authorization", "")
        service = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
        if target:
            action = target.rsplit(".", 1)[-1]
        else:
            found = re.search(rb"Action=([A-Za-z]+)", body)
            action = found.group(1).decode() if found else self.command + " " + self.path.split("?")[0]
        with server.lock:
            server.counts[f"{service.group(1) if service else '?'}:{action}"] += 1
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(server.upstream + self.path, data=body or None,
                                         headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, payload, reply = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, reply = error.code, error.read(), error.headers
        self.send_response(status)
        for key, value in reply.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward  # noqa: N815


def populate(endpoints: int, jobs: int) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    for page in sm.get_paginator("list_endpoints").paginate():
        for e in page["Endpoints"]:
            sm.delete_endpoint(EndpointName=e["EndpointName"])
    for page in sm.get_paginator("list_training_jobs").paginate(StatusEquals="InProgress"):
        for j in page["TrainingJobSummaries"]:
            sm.stop_training_job(TrainingJobName=j["TrainingJobName"])
    tag = uuid.uuid4().hex[:6]
    configs = []
    for i, prefix in enumerate(["fraud-v3", "churn", "ranker", "vision", "speech"]):
        model = f"{prefix}-{tag}"
        sm.create_model(ModelName=model, ExecutionRoleArn=role("Exec"), PrimaryContainer={"Image": "img:1"})
        config = f"cfg{i}-{tag}"
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "v0", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
        configs.append(config)
    made = []
    for i in range(endpoints):
        name = f"ep{i}-{tag}"
        config = configs[i % len(configs)]
        sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
        made.append(("CreateEndpoint", "endpoint", name, {"endpointName": name, "endpointConfigName": config},
                     "DataScientist" if i % 2 else "MLDeployer", i % 10 != 0))
    for i in range(jobs):
        name = f"train{i}-{tag}"
        job_role = role("Prod" if i % 4 == 0 else "Exec")
        sm.create_training_job(
            TrainingJobName=name, RoleArn=job_role,
            AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
            OutputDataConfig={"S3OutputPath": "s3://b/o"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 3600})
        made.append(("CreateTrainingJob", "training-job", name, {"trainingJobName": name, "roleArn": job_role},
                     "DataScientist", True))
    time.sleep(2)  # the calls come after the resources, as real ones do
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for event_name, kind, name, params, who, recorded in made:
        if not recorded:
            continue  # the 10 % whose call is older than CloudTrail's 90 days
        arn_key = "endpointArn" if kind == "endpoint" else "trainingJobArn"
        records.append({
            "eventVersion": "1.09", "eventTime": now, "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name, "awsRegion": REGION, "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT, "requestParameters": params,
            "responseElements": {arn_key: f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"},
            "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{who}/s",
                             "accountId": ACCOUNT, "sessionContext": {"sessionIssuer": {
                                 "type": "Role", "arn": role(who), "accountId": ACCOUNT, "userName": who}}},
        })
    for start in range(0, len(records), 500):
        body = json.dumps({"records": records[start:start + 500]}).encode()
        urllib.request.urlopen(urllib.request.Request(
            os.environ["AWS_ENDPOINT_URL"] + "/testbed/cloudtrail/records", data=body, method="POST"), timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guardctl", default=str(pathlib.Path(os.environ.get(
        "CARGO_TARGET_DIR", ROOT / "target")) / "release" / "guardctl"))
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()

    tables = ("bench-scan-policy", "bench-scan-decisions", "bench-scan-records")
    ddb = boto3.client("dynamodb")
    ensure_tables(ddb, *tables)
    for item in [
        {"pk": "model#fraud-*", "principals": [role("MLDeployer")]},
        {"pk": f"role#{role('Prod')}", "principals": [role("MLDeployer")]},
        {"pk": "default", "principals": [role("MLDeployer"), role("DataScientist")]},
    ]:
        from boto3.dynamodb.types import TypeSerializer
        ddb.put_item(TableName=tables[0], Item={k: TypeSerializer().serialize(v) for k, v in item.items()})

    started = time.time()
    populate(args.endpoints, args.jobs)
    populated = time.time() - started

    proxy = CountingProxy(os.environ["AWS_ENDPOINT_URL"])
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.server_address[1]}",
           "MODEL_GUARD_POLICY_TABLE": tables[0], "MODEL_GUARD_DECISIONS_TABLE": tables[1],
           "MODEL_GUARD_RECORDS_TABLE": tables[2]}
    command = ["/usr/bin/time", "-v", args.guardctl, "--json", "scan", "--region", REGION,
               "--resource-type", "endpoint,training-job"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    proxy.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    timing = dict(re.findall(r"^\s*(Elapsed \(wall clock\) time.*?|Maximum resident set size.*?|"
                             r"User time.*?|System time.*?): (.*)$", done.stderr, re.M))
    calls = dict(sorted(proxy.counts.items()))
    print(json.dumps({
        "endpoints": args.endpoints, "jobs": args.jobs, "guardctl": args.guardctl,
        "populate_seconds": round(populated, 1),
        "listed": report["listed"], "complete": report["complete"], "counts": report["counts"],
        "wall": timing.get("Elapsed (wall clock) time (h:mm:ss or m:ss)"),
        "max_rss_kb": int(timing.get("Maximum resident set size (kbytes)", "0")),
        "user_seconds": float(timing.get("User time (seconds)", "0")),
        "system_seconds": float(timing.get("System time (seconds)", "0")),
        "aws_calls": sum(calls.values()), "aws_calls_by_action": calls,
    }, indent=2))


if __name__ == "__main__":
    main()
