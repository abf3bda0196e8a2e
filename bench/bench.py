"""Model Guard's measurements (scripts/bench runs this, with the testbed up): writes
bench/REPORT.md and bench/results.json.

1. parse + decide (criterion), against a bare serde_json parse of the same bytes, with 1,000- and
   10,000-item policies;
2. each Lambda binary (native release build, the deployed profile) started against a local Lambda
   Runtime API, repeatedly: time to its first request for work (init), its invocations against the
   testbed (the first cold, the rest warm), its CPU time, peak RSS and logged bytes;
3. a burst of events through both state machines on the testbed, and the same one at a time;
4. the cost per million events from those figures and the published prices.

Usage: bench.py --target-dir DIR [--spawns N] [--invocations N] [--burst N] [--in-flight N]
                [--skip criterion|cold|burst] [--compare-target-dir DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import http.server
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from io import BytesIO

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
FUNCTIONS = ["parse-event", "record", "evaluate", "claim", "enforce", "notify", "approve", "sweep"]
ACCOUNT = "123456789012"

# Published prices, us-east-1, from the AWS pricing pages as last read (2025; there is no internet
# here to read them again): change them here, and the report follows.
PRICES = {
    "date": "AWS list prices for us-east-1 as published in 2025",
    "lambda_arm_gb_second": 0.0000133334,  # Arm, first 7.5 billion GB-seconds a month
    "lambda_x86_gb_second": 0.0000166667,  # x86, first 6 billion GB-seconds a month (c7n's default)
    "lambda_request": 0.20 / 1e6,
    "express_request": 1.00 / 1e6,
    "express_gb_second": 0.00001667,  # first 1,000 GB-hours a month; 64 MB and 100 ms steps
    "standard_transition": 0.025 / 1000,
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, per write request unit (1 KB)
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand, per read request unit (4 KB, strongly consistent)
    "sns_publish": 0.50 / 1e6,
    "sns_email": 2.00 / 100_000,  # per e-mail delivered, per subscriber
    "logs_ingest_gb": 0.50,  # CloudWatch Logs ingestion per GB (2^30 bytes), first tier, Lambda and vended logs alike
    "xray_trace_recorded": 5.00 / 1e6,
}
# Not measurable here, so assumed: Lambda's own JSON records per invocation (platform.start and
# platform.report), and the time Express adds around its two Lambda tasks.
PLATFORM_LOG_BYTES = 700
EXPRESS_OVERHEAD_MS = 40
# Lambda gives a 128 MB function 128/1,769 of a vCPU: CPU time can take this much longer there.
CPU_STRETCH = 1769 / 128
# CloudWatch Logs bills 26 bytes per record on top of its text.
LOG_RECORD_OVERHEAD = 26
# X-Ray's default sampling rule records the first request each second, then 5% of the rest, so
# the share traced depends on the rate: the cost model states one for the triage machine, and
# takes every enforcement (violations are rare) as traced.
EVENT_RATE_PER_SECOND = 10.0


def xray_share(rate: float) -> float:
    """The share of executions X-Ray's default rule records at a steady `rate` per second."""
    return 1.0 if rate <= 1 else (1 + 0.05 * (rate - 1)) / rate
# How scripts/bench's comparison build differs from the deployed release profile.
COMPARED_PROFILE = "no LTO, 16 codegen units, not stripped, panics unwind"
# The comparison run of evaluate that reads the policy table on every invocation.
UNCACHED = "evaluate, no policy cache"


def machine_logging(template_dir: pathlib.Path) -> dict:
    """Each state machine's logging as the synthesized template configures it (scripts/cdk-synth),
    or the stack's defaults if there is no synth."""
    out = {"triage": {"level": "ERROR", "data": True, "from": "the stack's defaults"},
           "enforcement": {"level": "ALL", "data": False, "from": "the stack's defaults"}}
    for template in sorted(template_dir.glob("*.template.json")):
        resources = json.loads(template.read_text()).get("Resources", {})
        for logical_id, resource in resources.items():
            if resource.get("Type") != "AWS::StepFunctions::StateMachine":
                continue
            # By logical ID: the stack has other Standard machines (the sweep, the scan), whose
            # logging is not an event's cost.
            name = next((n for n in ("triage", "enforcement") if logical_id.lower().startswith(n)), None)
            if name is None:
                continue
            props = resource["Properties"]
            config = props.get("LoggingConfiguration", {})
            out[name] = {"level": config.get("Level", "OFF"), "data": bool(config.get("IncludeExecutionData")),
                         "from": template.name}
    return out


# What the stack's template decides of an event's cost besides the logging levels: how the two
# indexes that hold every audit item project it, whether the triage is traced, and which functions
# leave out Lambda's start and report records (system log level WARN). The stack's defaults.
STACK_DEFAULTS = {"index_projection": {"byResource": "KEYS_ONLY", "byState": "KEYS_ONLY"},
                  "triage_traced": False,
                  "system_log_level": {"parse-event": "WARN", "record": "WARN", "evaluate": "WARN"},
                  "from": "the stack's defaults"}


def stack_shape(template_dir: pathlib.Path) -> dict:
    """The cost-relevant settings of the synthesized template (STACK_DEFAULTS' keys), or the
    stack's defaults if there is no synth."""
    for template in sorted(template_dir.glob("*.template.json")):
        resources = json.loads(template.read_text()).get("Resources", {})
        out = {"index_projection": {}, "triage_traced": True, "system_log_level": {}, "from": template.name}
        for logical_id, resource in resources.items():
            props = resource.get("Properties", {})
            kind = resource.get("Type")
            if kind == "AWS::DynamoDB::GlobalTable":
                for index in props.get("GlobalSecondaryIndexes", []):
                    if index["IndexName"] in ("byResource", "byState"):
                        out["index_projection"][index["IndexName"]] = index["Projection"]["ProjectionType"]
            elif kind == "AWS::StepFunctions::StateMachine" and logical_id.lower().startswith("triage"):
                out["triage_traced"] = bool(props.get("TracingConfiguration", {}).get("Enabled"))
            elif kind == "AWS::Lambda::Function" and str(props.get("Description", "")).startswith("Model Guard "):
                name = props["Description"].removeprefix("Model Guard ")
                out["system_log_level"][name] = props.get("LoggingConfig", {}).get("SystemLogLevel", "INFO")
        if out["index_projection"]:
            return out
    return STACK_DEFAULTS


def log_bytes(h: dict, logging: dict) -> float:
    """What a successful execution's log records cost in bytes at `logging`'s level: all its
    history at ALL (with or without the data), nothing at ERROR or below."""
    if logging["level"] != "ALL" or not h:
        return 0.0
    return (h["bytes_with_data"] if logging["data"] else h["bytes_without_data"]) + LOG_RECORD_OVERHEAD * h["events"]


def summary(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"n": len(values), "median": statistics.median(values), "p10": q[9], "p90": q[89],
            "p99": q[98], "min": values[0], "max": values[-1]}


# --- 1. criterion -----------------------------------------------------------------------------------


def criterion(target: pathlib.Path) -> dict:
    subprocess.run(["cargo", "bench", "-p", "model-guard-core", "--bench", "parse_decide", "--",
                    "--noplot"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return criterion_group(target, "create_endpoint")


def criterion_group(target: pathlib.Path, group: str) -> dict:
    """One criterion group's medians, and each one's ratio to its bare serde_json parse."""
    out = {}
    for estimates in sorted((target / "criterion" / group).glob("*/new/estimates.json")):
        e = json.loads(estimates.read_text())
        name = estimates.parent.parent.name
        out[name] = {"median_ns": e["median"]["point_estimate"],
                     "ci95_ns": [e["median"]["confidence_interval"]["lower_bound"],
                                 e["median"]["confidence_interval"]["upper_bound"]]}
    base = out.get("serde_json_value", {}).get("median_ns")
    for v in out.values():
        if base:
            v["ratio_to_serde_json"] = v["median_ns"] / base
    return out


# --- 2. cold start ------------------------------------------------------------------------------------


def cpu_ms(pid: int | None) -> float | None:
    """CPU time a process's live threads have used, in ms (schedstat: nanoseconds on a CPU)."""
    if pid is None:
        return None
    total = 0
    try:
        tasks = list(pathlib.Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended while being read
    return total / 1e6


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """The Lambda Runtime API for one process: hands out its events one by one, records when each
    was asked for and answered, and keeps the process's next ask waiting once they are used up."""

    server_version = "bench"

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def do_GET(self) -> None:  # noqa: N802
        s = self.server
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        now = time.perf_counter()
        if s.first_ask is None:
            s.first_ask = now
            s.pid_known.wait(5)  # set right after the spawn returns; the process may ask first
            s.init_cpu_ms = cpu_ms(s.pid)
        if s.next_index >= len(s.events):
            s.done.set()
            s.done_all.wait(30)  # until the process is killed
            return
        index = s.next_index
        s.next_index += 1
        body = json.dumps(s.events[index]).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"bench-{index}-{uuid.uuid4()}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{s.function}")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # Timed before the body goes out: the answer can come back before this thread runs again.
        s.handed_cpu[index] = cpu_ms(s.pid)
        s.handed[index] = time.perf_counter()
        self.wfile.write(body)
        self.wfile.flush()

    def do_POST(self) -> None:  # noqa: N802
        s = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        at = time.perf_counter()
        cpu_at = cpu_ms(s.pid)
        # .../invocation/<request-id>/response or /error, or /init/error
        parts = self.path.split("/")
        if "init" in parts:
            s.init_error = body.decode(errors="replace")
            s.done.set()
        else:
            index = int(parts[parts.index("invocation") + 1].split("-")[1])
            s.answers[index] = (at, body.decode(errors="replace"), parts[-1] == "error")
            s.answered_cpu[index] = cpu_at
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def spawn_once(binary: pathlib.Path, function: str, events: list, env: dict) -> dict:
    """Starts `binary` as Lambda would, hands it `events` one after another, and measures: spawn
    to first ask (init), each invocation's duration, peak RSS (VmHWM) and the bytes it logged."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.function, server.events, server.next_index = function, events, 0
    server.first_ask, server.init_error, server.pid, server.init_cpu_ms = None, None, None, None
    server.pid_known = threading.Event()
    server.handed, server.answers, server.handed_cpu, server.answered_cpu = {}, {}, {}, {}
    server.done, server.done_all = threading.Event(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    run_env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
               "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
               "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
               # As the stack configures them: JSON logs at INFO (ApplicationLogLevel INFO).
               "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    run_env.pop("RUST_LOG", None)
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen([str(binary)], env=run_env, stdout=log, stderr=subprocess.STDOUT)
        server.pid = process.pid
        server.pid_known.set()
        finished = server.done.wait(120)
        end_cpu_ms = cpu_ms(process.pid)
        peak_kb = None
        try:
            for line in pathlib.Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = int(line.split()[1])
        except OSError:
            pass
        process.kill()
        process.wait()
        server.done_all.set()
        server.shutdown()
        server.server_close()
        log.seek(0)
        logged = log.read()
    if server.init_error is not None:
        raise RuntimeError(f"{function}: init failed: {server.init_error}")
    if not finished or len(server.answers) != len(events):
        raise RuntimeError(f"{function}: {len(server.answers)} of {len(events)} invocations answered; "
                           f"its log: {logged[-2000:].decode(errors='replace')}")
    durations = [(server.answers[i][0] - server.handed[i]) * 1000 for i in range(len(events))]
    # CPU used while each invocation was out: read at hand-out and at the answer.
    invocation_cpu = [server.answered_cpu[i] - server.handed_cpu[i] for i in range(len(events))
                      if server.answered_cpu.get(i) is not None and server.handed_cpu.get(i) is not None]
    return {"init_ms": (server.first_ask - started) * 1000, "durations_ms": durations,
            "init_cpu_ms": server.init_cpu_ms, "invocation_cpu_ms": invocation_cpu,
            "process_cpu_ms": end_cpu_ms,
            "peak_rss_mb": peak_kb / 1024 if peak_kb else None,
            "errors": [server.answers[i][1] for i in range(len(events)) if server.answers[i][2]],
            "answers": [server.answers[i][1] for i in range(len(events))],
            "log_bytes": len(logged), "log_records": logged.count(b"\n")}


def approval_request(target: str) -> dict:
    """A Function URL request as Lambda hands it over, from SecurityOps as guardctl sends it: with a
    nonce and an identity proof (a presigned GetCallerIdentity, signed with keys registered with the
    testbed) that the function sends to STS."""
    import hashlib
    import urllib.request

    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    key_id, secret = "ASIA" + uuid.uuid4().hex[:16].upper(), uuid.uuid4().hex
    urllib.request.urlopen(urllib.request.Request(endpoint + "/testbed/iam/keys", method="POST", data=json.dumps(
        {"accessKeyId": key_id, "secretAccessKey": secret,
         "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/b"}).encode())).read()
    nonce = uuid.uuid4().hex
    # functions/core/src/proof.rs `binding`: SHA-256 of the fields as a JSON array.
    fields = json.dumps(["model-guard-approval/1", target, "", "approve", "bench", nonce], separators=(",", ":"))
    signed = AWSRequest(method="GET", url=endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15",
                        headers={"x-model-guard-approval": hashlib.sha256(fields.encode()).hexdigest()})
    SigV4QueryAuth(Credentials(key_id, secret), "sts", "us-east-1", expires=300).add_auth(signed)
    proof = signed.url.split("?", 1)[1]
    return {"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {},
            "requestContext": {"http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": "bench"},
                               "authorizer": {"iam": {"userArn": f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/b",
                                                      "accountId": ACCOUNT, "accessKey": "A",
                                                      "callerId": "b", "userId": "b"}},
                               "accountId": ACCOUNT, "requestId": "r", "stage": "$default",
                               "time": "", "timeEpoch": 0, "domainName": "", "apiId": ""},
            "body": json.dumps({"target": target, "decision": "approve", "reason": "bench",
                                "nonce": nonce, "proof": proof}),
            "isBase64Encoded": False}


def certificate_init(target: pathlib.Path, spawns: int) -> dict:
    """Evaluate's init with the root certificates as found here (on Debian a bundle and a directory
    of 140-odd files), with the bundle only, and with none: what loading them costs."""
    empty_dir = pathlib.Path(tempfile.mkdtemp())
    empty_file = empty_dir / "none.pem"
    empty_file.write_text("")
    env = dict(os.environ)
    cases = {"as found": {}, "the bundle only (SSL_CERT_DIR empty)": {"SSL_CERT_DIR": str(empty_dir)},
             "none (both empty)": {"SSL_CERT_DIR": str(empty_dir), "SSL_CERT_FILE": str(empty_file)}}
    out = {}
    for name, extra in cases.items():
        # An empty event: evaluate answers it with an error at once; only the init is of interest.
        runs = [spawn_once(target / "release" / "evaluate", "evaluate", [{}], {**env, **extra}) for _ in range(spawns)]
        out[name] = {"init_ms": summary([r["init_ms"] for r in runs]),
                     "init_cpu_ms": summary([r["init_cpu_ms"] for r in runs if r["init_cpu_ms"] is not None])}
        print(f"  evaluate's init, certificates {name}: {fmt(out[name]['init_ms'], ' ms')}, "
              f"CPU {fmt(out[name]['init_cpu_ms'], ' ms')}", flush=True)
    return out


def cold_starts(stack, target: pathlib.Path, spawns: int, per_spawn: int, first_two_only: bool = False) -> dict:
    """Each function spawned `spawns` times, each process given `per_spawn` invocations: the
    first is the cold one, the rest warm. The events are the pipeline's own: parse-event's answers
    are evaluate's events, evaluate's verdicts go to enforce (a real endpoint on the testbed each),
    and enforce's results to notify, as the state machines pass them."""
    from conftest import event  # noqa: PLC0415

    release = target / "release"
    env = dict(os.environ)
    env.pop("POLICY_CACHE_SECONDS", None)  # the deployed default (the testbed's is 0)
    stack.policy({"pk": "model#benchcold-*", "principals": [f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"],
                  "mode": "enforce", "graceSeconds": 0})
    total = spawns * per_spawn
    endpoints = [stack.endpoint("bench-cold", "benchcold") for _ in range(total)]
    inputs = {"parse-event": [event(str(uuid.uuid4()), "DataScientist", endpoint, config)
                              for _, config, endpoint in endpoints]}
    out = {}

    def run(function: str, label: str | None = None, extra_env: dict | None = None) -> list[str]:
        events = inputs[label or function]
        run_env = {**env, **(extra_env or {})}
        runs = [spawn_once(release / function, function, events[i * per_spawn:(i + 1) * per_spawn], run_env)
                for i in range(spawns)]
        binary = release / function
        zipped = BytesIO()
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("bootstrap", binary.read_bytes())
        errors = [e for r in runs for e in r["errors"]]
        out[label or function] = {
            "spawns": spawns, "invocations_per_spawn": per_spawn,
            "init_ms": summary([r["init_ms"] for r in runs]),
            "first_invocation_ms": summary([r["durations_ms"][0] for r in runs]),
            "warm_invocation_ms": summary([d for r in runs for d in r["durations_ms"][1:]]),
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in runs if r["peak_rss_mb"]]),
            "init_cpu_ms": summary([r["init_cpu_ms"] for r in runs if r["init_cpu_ms"] is not None]),
            "first_invocation_cpu_ms": summary([r["invocation_cpu_ms"][0] for r in runs if r["invocation_cpu_ms"]]),
            "invocation_cpu_ms": summary([c for r in runs for c in r["invocation_cpu_ms"][1:]]),
            "log_bytes_per_invocation": sum(r["log_bytes"] for r in runs) / total,
            "log_records_per_invocation": sum(r["log_records"] for r in runs) / total,
            "errors": len(errors), "first_error": errors[0][:500] if errors else None,
            "example_answer": runs[-1]["answers"][-1][:400],
            "x86_64_bytes": binary.stat().st_size,
            "x86_64_zipped_bytes": zipped.getbuffer().nbytes,
        }
        v = out[label or function]
        print(f"  {label or function}: init {fmt(v['init_ms'], ' ms')}, first {fmt(v['first_invocation_ms'], ' ms')}, "
              f"warm {fmt(v['warm_invocation_ms'], ' ms')}, RSS {fmt(v['peak_rss_mb'], ' MB')}", flush=True)
        return [a for r in runs for a in r["answers"]]

    parsed = run("parse-event")
    inputs["evaluate"] = [json.loads(a) for a in parsed]
    # The same calls under new eventIDs, for evaluate without its policy cache (a Scan per event).
    inputs[UNCACHED] = [json.loads(a.replace(e["detail"]["eventID"], str(uuid.uuid4())))
                        for a, e in zip(parsed, inputs["parse-event"])]
    verdicts = [json.loads(a) for a in run("evaluate")]
    if first_two_only:
        return out
    run("evaluate", UNCACHED, {"POLICY_CACHE_SECONDS": "0"})
    # The enforcement machine's steps for each violation Evaluate recorded: Claim takes the item,
    # Enforce acts on the recorded verdict (and records what it did), Notify announces it.
    inputs["claim"] = [{"version": 1, "execution": v["eventId"], "input": {"version": 1, "eventId": v["eventId"]}}
                       for v in verdicts]
    run("claim")
    inputs["enforce"] = [{"version": 1, "eventId": v["eventId"], "execution": v["eventId"]} for v in verdicts]
    run("enforce")
    inputs["notify"] = [{"version": 1, "kind": "enforced", "eventId": v["eventId"]} for v in verdicts]
    run("notify")
    # An approver, proven by STS, naming a target that has no pending decision: GetCallerIdentity,
    # the nonce's PutItem, a GetItem and a Query, 404.
    inputs["approve"] = [approval_request(f"bench-unknown-{i}") for i in range(total)]
    run("approve")
    # The schedule's event: one LookupEvents per covered call, the checkpoint read and written.
    inputs["sweep"] = [{"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}] * total
    run("sweep")
    # ParseEvent's record of a CreateModel: one PutItem.
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    inputs["record"] = [{"outcome": "record", "record": {
        "version": 1, "kind": "model", "name": f"bench-model-{i}", "op": "create",
        "eventId": str(uuid.uuid4()), "eventTime": now,
        "principal": f"arn:aws:iam::{ACCOUNT}:role/MLDeployer",
        "content": {"executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/Exec",
                    "given": {"modelName": f"bench-model-{i}", "primaryContainer": {"image": "img:1"}}}}}
        for i in range(total)]
    run("record")
    return out


# --- 3. burst -------------------------------------------------------------------------------------------


def dynamodb_item_bytes(item: dict) -> int:
    """An item's size by DynamoDB's rules (attribute names plus values; numbers about 1 byte per
    two digits plus 1; a map or list 3 bytes plus 1 per element), which decide the write units."""
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415

    def size(value: dict) -> int:
        (kind, v), = value.items()
        if kind in ("S", "B"):
            return len(v.encode() if isinstance(v, str) else v)
        if kind == "N":
            return len(v.lstrip("-").replace(".", "")) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + size(x) + 1 for k, x in v.items())
        if kind == "L":
            return 3 + sum(size(x) + 1 for x in v)
        return sum(len(str(x)) for x in v)  # sets
    serializer = TypeSerializer()
    return sum(len(k.encode()) + size(serializer.serialize(v)) for k, v in item.items())


def history(stack, execution_arn: str) -> dict:
    """An execution's history as its CloudWatch Logs records would carry it: the states entered
    (Standard bills one transition each), and the bytes with and without execution data."""
    events = []
    token = None
    while True:
        page = stack.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                               **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break

    def without_data(e: dict) -> dict:
        out = {}
        for key, value in e.items():
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k not in ("input", "output", "inputDetails", "outputDetails")}
            out[key] = value
        return out
    return {"events": len(events),
            "states_entered": sum(e["type"].endswith("StateEntered") for e in events),
            "entered": [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")],
            "bytes_with_data": sum(len(json.dumps(e, default=str)) for e in events),
            "bytes_without_data": sum(len(json.dumps(without_data(e), default=str)) for e in events)}


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) used so far by the testbed's processes: moto, and the function
    processes cargo lambda watch runs, by name."""
    tick = os.sysconf("SC_CLK_TCK")
    moto_pid = (ROOT / ".testbed" / "moto.pid").read_text().strip() if (ROOT / ".testbed" / "moto.pid").exists() else None
    out: dict[str, float] = {"moto": 0.0, "functions": 0.0}
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if proc.name == moto_pid:
            out["moto"] += used
        elif name in FUNCTIONS:
            out["functions"] += used
    return out


def one_by_one(stack, n: int) -> dict:
    """`n` events submitted one at a time, each waited for: the pipeline's latency with nothing
    queued ahead of it. Every other one a violation with grace 0."""
    from conftest import event  # noqa: PLC0415

    _, ok_config, _ = stack.endpoint("bench-ok", "benchok")
    times: dict[str, dict[str, list[float]]] = {"allowed": {"verdict": [], "terminal": []},
                                                 "violation": {"verdict": [], "terminal": []}}
    for i in range(n):
        kind = "violation" if i % 2 else "allowed"
        event_id = str(uuid.uuid4())
        if kind == "violation":
            _, config, endpoint = stack.endpoint("bench-bad", "benchbad")
            ev = event(event_id, "DataScientist", endpoint, config)
        else:
            ev = event(event_id, "MLDeployer", f"bench-ok-{i}", ok_config)
        at = time.time()
        stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"s-{uuid.uuid4().hex}",
                                  input=json.dumps(ev))
        terminal = {"allowed": {"allowed"}, "violation": {"enforced", "failed"}}[kind]
        deadline = at + 60
        seen_verdict = None
        # Timed when the reader first sees the item (read every 10 ms or so): the items' own
        # timestamps are taken when evaluate and notify start, before their writes.
        while time.time() < deadline:
            item = stack.audit(event_id)
            now = time.time()
            if item and seen_verdict is None:
                seen_verdict = now
                times[kind]["verdict"].append((now - at) * 1000)
            if item and item["state"] in terminal:
                times[kind]["terminal"].append((now - at) * 1000)
                break
            time.sleep(0.01)
    return {kind: {k: summary(v) for k, v in t.items()} for kind, t in times.items()}


def burst(stack, n: int, in_flight: int) -> dict:
    """`n` CreateEndpoint events started on the triage machine as fast as the testbed takes them,
    at most `in_flight` unfinished at a time (cargo lambda watch stops handing out invocations once
    a few hundred wait for one function, which real Lambda answers by scaling out): nine in ten by
    the allowed deployer, one in ten by someone else, grace 0, each of those a real endpoint on the
    testbed that enforcement deletes."""
    from conftest import event  # noqa: PLC0415

    if in_flight < 1:
        raise ValueError("--in-flight must be at least 1")
    deployer = f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"
    stack.policy({"pk": "model#benchok-*", "principals": [deployer], "mode": "enforce"})
    stack.policy({"pk": "model#benchbad-*", "principals": [deployer], "mode": "enforce", "graceSeconds": 0})
    _, ok_config, _ = stack.endpoint("bench-ok", "benchok")
    plan = []
    for i in range(n):
        if i % 10 == 9:
            _, config, endpoint = stack.endpoint("bench-bad", "benchbad")
            plan.append(("violation", event(str(uuid.uuid4()), "DataScientist", endpoint, config)))
        else:
            plan.append(("allowed", event(str(uuid.uuid4()), "MLDeployer", f"bench-ok-{i}", ok_config)))
    kinds = {ev["detail"]["eventID"]: kind for kind, ev in plan}
    terminal = {"allowed": {"allowed"}, "violation": {"enforced", "failed"}}
    submitted: dict[str, float] = {}
    executions: dict[str, str] = {}
    done: dict[str, dict] = {}
    given_up: list[str] = []
    slots = threading.Semaphore(in_flight)
    lock = threading.Lock()
    finished_submitting = threading.Event()

    def watch() -> None:
        # Reads the oldest unfinished items, a few at a time: the latencies come from the items'
        # own timestamps, so polling only has to notice the end and free a slot, and must not
        # load the emulator it is measuring. An event unfinished after 120 s is given up on.
        while True:
            with lock:
                outstanding = [e for e in submitted if e not in done and e not in given_up]
            if not outstanding and finished_submitting.is_set():
                return
            unfinished = 0
            for event_id in outstanding:
                try:
                    item = stack.audit(event_id)
                except Exception as error:  # noqa: BLE001 - the emulator busy or gone; the deadline still applies
                    print(f"   reading {event_id}: {error}", flush=True)
                    item = None
                if item and item["state"] in terminal[kinds[event_id]]:
                    with lock:
                        done[event_id] = item
                    slots.release()
                elif time.time() - submitted[event_id] > 120:
                    with lock:
                        given_up.append(event_id)
                    slots.release()
                else:
                    unfinished += 1
                    if unfinished >= 8:
                        break
            time.sleep(0.2)

    cpu_before = cpu_seconds()
    started = time.time()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    def submit(item):  # noqa: ANN001, ANN202
        _, ev = item
        if not slots.acquire(timeout=300):  # the watcher frees a slot within 120 s unless it is gone
            raise RuntimeError("no slot freed in 300 s: the watcher stopped")
        event_id = ev["detail"]["eventID"]
        with lock:
            submitted[event_id] = time.time()
        executions[event_id] = stack.sfn.start_execution(
            stateMachineArn=stack.triage_arn, name=f"b-{uuid.uuid4().hex}", input=json.dumps(ev))["executionArn"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(submit, plan))
    submitted_in = time.time() - started
    finished_submitting.set()
    watcher.join(timeout=900)
    last = max((parse_time(i["updatedAt"]) for i in done.values()), default=started)
    cpu_after = cpu_seconds()

    def latency(kind: str, field: str) -> dict:
        return summary([(parse_time(done[e][field]) - submitted[e]) * 1000 for e in done if kinds[e] == kind])

    def example(kind: str) -> str | None:
        return next((e for e in done if kinds[e] == kind), None)
    allowed_id, violation_id = example("allowed"), example("violation")
    return {"events": n, "in_flight": in_flight, "violations": sum(k == "violation" for k in kinds.values()),
            "submitted_in_s": submitted_in, "terminal": len(done), "unfinished": n - len(done),
            "states": {s: sum(1 for i in done.values() if i["state"] == s) for s in ("allowed", "enforced", "failed")},
            "to_last_terminal_s": last - started,
            "events_per_second": len(done) / max(last - started, 1e-9),
            "cpu_seconds": {k: cpu_after[k] - cpu_before[k] for k in cpu_after},
            "allowed_to_verdict_ms": latency("allowed", "decidedAt"),
            "violation_to_verdict_ms": latency("violation", "decidedAt"),
            "violation_to_enforced_ms": latency("violation", "updatedAt"),
            "audit_item_bytes": {k: summary([dynamodb_item_bytes(i) for e, i in done.items() if kinds[e] == k])
                                 for k in ("allowed", "violation")},
            "triage_history_allowed": history(stack, executions[allowed_id]) if allowed_id else None,
            "triage_history_violation": history(stack, executions[violation_id]) if violation_id else None,
            "enforcement_history": history(stack, stack.enforcement(violation_id)) if violation_id else None}


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- 4. cost ---------------------------------------------------------------------------------------------


def cost(cold: dict, b: dict | None, logging: dict, shape: dict | None = None) -> dict:
    """Per million events, from the measured warm durations at the stack's 128 MB, the measured
    audit item sizes and state-machine histories, the synthesized logging levels and `shape`
    (`stack_shape`), and PRICES."""
    p = PRICES
    shape = shape or STACK_DEFAULTS
    gb = 128 / 1024
    # Billed at the 128 MB bound: the wall time measured here plus its CPU time stretched to
    # 128/1,769 of a vCPU (CPU_STRETCH), where the CPU time was measured.
    warm = {f: cold[f]["warm_invocation_ms"]["median"]
            + (CPU_STRETCH - 1) * ((cold[f].get("invocation_cpu_ms") or {}).get("median") or 0) for f in cold}

    def lam(f: str) -> dict:
        v = cold[f]
        logged = v["log_bytes_per_invocation"] + LOG_RECORD_OVERHEAD * v["log_records_per_invocation"]
        # Lambda's own start and report records, unless the function's system log level is WARN.
        platform = 0 if shape["system_log_level"].get(f, "INFO") == "WARN" else PLATFORM_LOG_BYTES
        return {"requests": p["lambda_request"],
                "duration": gb * math.ceil(warm[f]) / 1000 * p["lambda_arm_gb_second"],
                "logs": (logged + platform) / 2**30 * p["logs_ingest_gb"]}

    def units(item_bytes: float) -> int:
        return max(1, math.ceil(item_bytes / 1024))

    b = b or {}
    item = b.get("audit_item_bytes", {})
    allowed_bytes = item.get("allowed", {}).get("median", 1024)
    violation_bytes = item.get("violation", {}).get("median", 1024)
    enforcement = b.get("enforcement_history") or {}
    # Express bills 64 MB and 100 ms steps: the two functions plus the service's own overhead.
    triage_ms = warm["parse-event"] + warm["evaluate"] + EXPRESS_OVERHEAD_MS
    express = {"requests": p["express_request"],
               "duration": 0.0625 * math.ceil(triage_ms / 100) * 0.1 * p["express_gb_second"],
               "tracing": xray_share(EVENT_RATE_PER_SECOND) * p["xray_trace_recorded"] if shape["triage_traced"] else 0.0}

    def index_units(item_bytes: float) -> int:
        """The write units of one audit item write in the two indexes that hold every item: a
        keys-only entry (four short keys) is one unit, a fully projected one the item's."""
        return sum(1 if shape["index_projection"].get(i, "ALL") == "KEYS_ONLY" else units(item_bytes)
                   for i in ("byResource", "byState"))

    def rewritten(item_bytes: float) -> int:
        """An update that changes no index key: only a fully projected index copies it."""
        return sum(0 if shape["index_projection"].get(i, "ALL") == "KEYS_ONLY" else units(item_bytes)
                   for i in ("byResource", "byState"))

    def changed(item_bytes: float) -> int:
        """Enforce's move to enforced in the two indexes: byState's entry moves (a delete and a
        put), byResource's is rewritten only where it holds the whole item."""
        by_state = 2 * (1 if shape["index_projection"].get("byState", "ALL") == "KEYS_ONLY" else units(item_bytes))
        by_resource = 0 if shape["index_projection"].get("byResource", "ALL") == "KEYS_ONLY" else units(item_bytes)
        return by_state + by_resource

    def settles(kind: str) -> int:
        """The triage's ledger deletes in the measured run: a delete that finds nothing is still
        a write unit."""
        return (b.get(f"triage_history_{kind}") or {}).get("entered", []).count("Settle")

    def triage_logs(kind: str, level: dict) -> dict:
        return {"logs": log_bytes(b.get(f"triage_history_{kind}") or {}, level) / 2**30 * p["logs_ingest_gb"]}

    def parts(triage_level: dict) -> tuple[dict, dict]:
        allowed = {
            "parse-event": lam("parse-event"), "evaluate": lam("evaluate"), "triage (Express)": express,
            "triage logs": triage_logs("allowed", triage_level),
            # The audit item: the table and its two indexes (byResource, byState) each write it;
            # and the ledger's delete, where the triage made one.
            "dynamodb": {"writes": (units(allowed_bytes) + index_units(allowed_bytes) + settles("allowed"))
                         * p["dynamodb_write_unit"]},
        }
        transitions = enforcement.get("states_entered", 0)
        violating = {
            "parse-event": lam("parse-event"), "evaluate": lam("evaluate"), "triage (Express)": express,
            "triage logs": triage_logs("violation", triage_level),
            "enforcement (Standard)": {"transitions": transitions * p["standard_transition"],
                                       "tracing": p["xray_trace_recorded"]},
            "enforcement logs": {"logs": log_bytes(enforcement, logging["enforcement"]) / 2**30 * p["logs_ingest_gb"]},
            "claim": lam("claim"), "enforce": lam("enforce"), "notify": lam("notify"),
            # Evaluate's put (the table and both indexes); Claim's update (the table, and a fully
            # projected index, whose copy changes; a keys-only one does not); Enforce's move to
            # enforced (the table, byResource as Claim's, byState twice: its key changes), which
            # owes its alert (the sparse, fully projected byAlertOwed takes the item, and gives it
            # up when Notify's write marks it sent: the table again, and the index's delete); the
            # ledger's delete where the triage made one; a consistent GetItem each by Claim,
            # Enforce, Notify.
            "dynamodb": {"writes": (units(violation_bytes) + index_units(violation_bytes)
                                    + units(violation_bytes) + rewritten(violation_bytes)
                                    + units(violation_bytes) + changed(violation_bytes) + units(violation_bytes)
                                    + units(violation_bytes) + rewritten(violation_bytes) + units(violation_bytes)
                                    + settles("violation")) * p["dynamodb_write_unit"],
                         "reads": 3 * max(1, math.ceil(violation_bytes / 4096)) * p["dynamodb_read_unit"]},
            "sns": {"publish": p["sns_publish"]},
        }
        return allowed, violating

    def total(group: dict) -> float:
        return sum(v for part in group.values() for v in part.values()) * 1e6

    def per_million(group: dict) -> dict:
        return {k: sum(v.values()) * 1e6 for k, v in group.items()}
    allowed, violating = parts(logging["triage"])
    all_allowed, all_violating = parts({"level": "ALL", "data": True})
    return {"prices": p, "warm_ms": warm, "logging": logging, "shape": shape,
            "assumed": {"express_overhead_ms": EXPRESS_OVERHEAD_MS, "platform_log_bytes": PLATFORM_LOG_BYTES,
                        "event_rate_per_second": EVENT_RATE_PER_SECOND,
                        "triage_traced_share": xray_share(EVENT_RATE_PER_SECOND), "standard_transitions": enforcement.get("states_entered", 0)},
            "allowed_usd_per_million": total(allowed), "allowed_parts": per_million(allowed),
            "violating_usd_per_million": total(violating), "violating_parts": per_million(violating),
            "triage_at_all_usd_per_million": {"allowed": total(all_allowed), "violating": total(all_violating)},
            "email_per_subscriber_usd_per_million": p["sns_email"] * 1e6}


def c7n_cost(side: dict) -> dict:
    """Cloud Custodian's cost per million allowed events, from the same PRICES: one invocation of a
    512 MB Python Lambda (x86, c7n's default) per event, billed for its measured warm time (where
    Model Guard's is stretched for its 128 MB share of a vCPU, c7n's 512 MB share is 512/1,769 and
    its CPU time is stretched the same way), and the bytes it logged per event."""
    p = PRICES
    warm = side["warm"][0]["c7n"]
    billed_ms = warm["ms"] + (1769 / 512 - 1) * warm["cpu_ms"]
    logged = side["warm"][0]["c7n"].get("log_bytes_per_event", 0) + PLATFORM_LOG_BYTES
    parts = {"requests": p["lambda_request"], "duration": 0.5 * math.ceil(billed_ms) / 1000 * p["lambda_x86_gb_second"],
             "logs": logged / 2**30 * p["logs_ingest_gb"]}
    return {"billed_ms": billed_ms, "parts": {k: v * 1e6 for k, v in parts.items()}, "total": sum(parts.values()) * 1e6}


# --- report ----------------------------------------------------------------------------------------------


def fmt(s: dict, unit: str = "", digits: int = 1) -> str:
    if not s or not s.get("n"):
        return "–"
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f}, n={s['n']})"


def spread(s: dict, unit: str = "", digits: int = 0) -> str:
    if not s or not s.get("n"):
        return "–"
    return (f"p50 {s['median']:.{digits}f}{unit}, p90 {s['p90']:.{digits}f}{unit}, p99 {s['p99']:.{digits}f}{unit} "
            f"(min {s['min']:.{digits}f}, max {s['max']:.{digits}f}, n={s['n']})")


def report(r: dict) -> str:
    lines = ["# Model Guard performance report", "",
             f"Machine: {r['machine']}. Date: {r['date']}. Commit: {r['commit']}. "
             f"Re-run with `scripts/bench` (this run took {r['took_s'] / 60:.1f} min, the release build "
             "before it not counted). Raw numbers: `bench/results.json`.", ""]
    c = r.get("criterion")
    if c:
        lines += ["## 1. Parse + decide (criterion)", "",
                  *([f"Not measured again in this run: the figures of the run at {c['kept_from']}.", ""]
                    if c.get("kept_from") else []),
                  "A typical CreateEndpoint event (`tests/events/covered-create-endpoint-allowed.json`, "
                  f"{c['event_bytes']:,} bytes): `serde_json_value` is a bare `serde_json::from_slice::<Value>` of the "
                  "same bytes; `parse_only` parses it into the call; `parse_decide_N` parses and decides against an "
                  "N-item policy (the subjects from the example catalog). Median and criterion's 95% interval of the median.", "",
                  "| benchmark | median | 95% interval | × serde_json |", "|---|---|---|---|"]
        order = ["serde_json_value", "parse_only", "parse_decide_1000", "parse_decide_10000"]
        for name, v in sorted(c["benchmarks"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
            lines.append(f"| {name} | {v['median_ns'] / 1000:.2f} µs | {v['ci95_ns'][0] / 1000:.2f}–"
                         f"{v['ci95_ns'][1] / 1000:.2f} µs | {v.get('ratio_to_serde_json', 0):.2f} |")
        lines.append("")
        if c.get("content"):
            lines += ["A deployment judged by its content too (`tests/events/covered-content-package-approved.json`, "
                      f"{c['content_event_bytes']:,} bytes: a model from a registry package, with `package#`, `image#` "
                      "and `data#` keys in the policy): the same measurements.", "",
                      "| benchmark | median | 95% interval | × serde_json |", "|---|---|---|---|"]
            for name, v in sorted(c["content"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
                lines.append(f"| {name} | {v['median_ns'] / 1000:.2f} µs | {v['ci95_ns'][0] / 1000:.2f}–"
                             f"{v['ci95_ns'][1] / 1000:.2f} µs | {v.get('ratio_to_serde_json', 0):.2f} |")
            lines.append("")
    cold = r.get("cold_start")
    if cold:
        any_f = next(iter(cold.values()))
        lines += ["## 2. Cold start, invocations, memory, size", "",
                  f"Each function's release binary (the deployed profile, native x86_64) spawned {any_f['spawns']} times "
                  "against a local Lambda Runtime API with the stack's settings (128 MB, JSON logs at INFO), "
                  f"{any_f['invocations_per_spawn']} invocations per process against the testbed: the first is the cold one, "
                  "the others warm. Init is spawn → the first request for work. The events are the pipeline's own "
                  "(parse-event's answers are evaluate's events, evaluate's verdicts enforce's; enforce deletes a real "
                  "endpoint each time). Median (min–max, n).", "",
                  "| function | init | first invocation | warm invocation | peak RSS | log bytes / invocation | errors |",
                  "|---|---|---|---|---|---|---|"]
        for f, v in cold.items():
            lines.append(f"| {f} | {fmt(v['init_ms'], ' ms')} | {fmt(v['first_invocation_ms'], ' ms')} | "
                         f"{fmt(v['warm_invocation_ms'], ' ms')} | {fmt(v['peak_rss_mb'], ' MB')} | "
                         f"{v['log_bytes_per_invocation']:.0f} | {v['errors']} |")
        lines += ["", "CPU time the process used (its threads' schedstat), median (min–max): before its first request "
                  "for work, during the first invocation, and during each warm one. Lambda gives a 128 MB function "
                  "128/1,769 of a vCPU, so CPU time spent in one stretch can take up to 13.8× as long there. The last "
                  "column applies that to a warm invocation: its wall time here plus 12.8× its CPU time. It is an "
                  "estimate, not a bound: the waiting in it is the emulator's on this machine, and the CPU time is "
                  "x86_64's.", "",
                  "| function | init CPU | first invocation CPU | warm invocation CPU | warm invocation at 128 MB, estimated |",
                  "|---|---|---|---|---|"]
        for f, v in cold.items():
            cpu = v.get("invocation_cpu_ms") or {}
            estimate = (f"{v['warm_invocation_ms']['median'] + (CPU_STRETCH - 1) * cpu['median']:.1f} ms"
                        if cpu.get("n") else "–")
            lines.append(f"| {f} | {fmt(v.get('init_cpu_ms'), ' ms')} | {fmt(v.get('first_invocation_cpu_ms'), ' ms', 2)} | "
                         f"{fmt(cpu, ' ms', 2)} | {estimate} |")
        certs = r.get("certificate_init")
        if certs:
            lines += ["", "Evaluate's init with the certificate store as this machine has it, and pointed elsewhere "
                      "(`SSL_CERT_DIR`, `SSL_CERT_FILE`; rustls-native-certs reads both):", "",
                      "| certificate store | init | init CPU |", "|---|---|---|"]
            for name, v in certs.items():
                lines.append(f"| {name} | {fmt(v['init_ms'], ' ms')} | {fmt(v['init_cpu_ms'], ' ms')} |")
        arm = r.get("arm64_assets") or {}
        lines += ["", "| function | x86_64 binary | x86_64 zipped | arm64 bootstrap (deployed) | arm64 zipped |",
                  "|---|---|---|---|---|"]
        for f, v in cold.items():
            if f == UNCACHED:
                continue
            a = arm.get(f)
            lines.append(f"| {f} | {v['x86_64_bytes'] / 1e6:.2f} MB | {v['x86_64_zipped_bytes'] / 1e6:.2f} MB | "
                         + (f"{a['bytes'] / 1e6:.2f} MB | {a['zipped_bytes'] / 1e6:.2f} MB |" if a else
                            "– | – (run `scripts/cdk-synth` first) |"))
        compared = r.get("compared_build")
        if compared:
            lines += ["", f"The same two functions built with cargo's default release profile ({COMPARED_PROFILE}), "
                      "against the deployed profile above:", "",
                      "| function | init | warm invocation | peak RSS | x86_64 binary | zipped |", "|---|---|---|---|---|---|"]
            for f, v in compared.items():
                lines.append(f"| {f} | {fmt(v['init_ms'], ' ms')} | {fmt(v['warm_invocation_ms'], ' ms')} | "
                             f"{fmt(v['peak_rss_mb'], ' MB')} | {v['x86_64_bytes'] / 1e6:.2f} MB | "
                             f"{v['x86_64_zipped_bytes'] / 1e6:.2f} MB |")
        worst = lambda key: max(v[key]["median"] for v in cold.values())  # noqa: E731
        worst_zip = max((a["zipped_bytes"] for a in arm.values()), default=None)
        lines += ["", f"Targets: init ≤ 30 ms (worst median here {worst('init_ms'):.1f} ms), peak RSS ≤ 25 MB "
                  f"(worst median {worst('peak_rss_mb'):.1f} MB), zipped arm64 ≤ 6 MB ("
                  + (f"largest {worst_zip / 1e6:.2f} MB" if worst_zip else "not measured in this run") + ").", ""]
    b = r.get("burst")
    if b:
        lines += ["## 3. A burst through the state machines on the testbed", "",
                  f"{b['events']} CreateEndpoint events ({b['violations']} of them violations with grace 0, each a real "
                  f"endpoint) started on the triage machine as fast as the testbed took them, at most {b['in_flight']} "
                  f"unfinished at a time, all started within {b['submitted_in_s']:.1f} s. {b['terminal']} reached their "
                  f"terminal audit state ({b['states']}; {b['unfinished']} did not), the last "
                  f"{b['to_last_terminal_s']:.1f} s after the first submission: {b['events_per_second']:.1f} events a second. "
                  "The testbed is moto (its Step Functions interpreter) and cargo lambda watch running "
                  f"{r.get('testbed_profile', 'debug')} builds, one instance per function, all on this machine: the "
                  "latencies below are mostly the time an event waited in the emulator.", "",
                  "From submission to the audit item's own timestamps (`decidedAt`, taken as evaluate starts deciding; "
                  "`updatedAt` of the enforced item, taken as Enforce records the outcome, after the endpoint's "
                  "deletion and before the alert):", "",
                  f"- allowed, submission → verdict: {spread(b['allowed_to_verdict_ms'], ' ms')}",
                  f"- violation, submission → verdict: {spread(b['violation_to_verdict_ms'], ' ms')}",
                  f"- violation, submission → enforced: {spread(b['violation_to_enforced_ms'], ' ms')}", "",
                  f"CPU time used from the first submission to the last terminal item: moto {b['cpu_seconds']['moto']:.1f} s, "
                  f"Model Guard's function processes {b['cpu_seconds']['functions']:.1f} s "
                  f"({b['cpu_seconds']['functions'] * 1000 / max(b['terminal'], 1):.1f} ms per event, all functions together). The queue is in the emulator "
                  "(one Python process, and cargo lambda watch runs one instance of each function), not in the functions.", ""]
        o = r.get("one_by_one")
        if o:
            lines += ["The same one event at a time (each waited for before the next; nothing queued), timed when a "
                      "reader polling every 10 ms first sees the audit item, and sees it enforced (written by Enforce "
                      "once the deletion was accepted, before the alert):", "",
                      f"- allowed, submission → verdict recorded: {spread(o['allowed']['verdict'], ' ms')}",
                      f"- violation, submission → verdict recorded: {spread(o['violation']['verdict'], ' ms')}",
                      f"- violation, submission → recorded enforced (endpoint deleted): {spread(o['violation']['terminal'], ' ms')}", ""]
    k = r.get("cost")
    if k:
        lines += ["## 4. Cost per million events", "",
                  f"- **allowed: ${k['allowed_usd_per_million']:.2f}**",
                  f"- **violating** (grace 0, enforced, one alert): **${k['violating_usd_per_million']:.2f}**, "
                  f"plus ${k['email_per_subscriber_usd_per_million']:.0f} per e-mail subscriber", "",
                  "| part | allowed | violating |", "|---|---|---|"]
        parts = list(dict.fromkeys([*k["allowed_parts"], *k["violating_parts"]]))
        for part in parts:
            a, v = k["allowed_parts"].get(part), k["violating_parts"].get(part)
            lines.append(f"| {part} | {'–' if a is None else f'${a:.3f}'} | {'–' if v is None else f'${v:.3f}'} |")
        lg = k["logging"]
        at_all = k["triage_at_all_usd_per_million"]
        lines += ["", f"The state machines' logging as {lg['triage']['from']} sets it: triage {lg['triage']['level']}"
                  f"{' with' if lg['triage']['data'] else ' without'} execution data, enforcement {lg['enforcement']['level']}"
                  f"{' with' if lg['enforcement']['data'] else ' without'}. With the triage machine at ALL with its data "
                  f"(the stack's setting before this report) an allowed event would cost ${at_all['allowed']:.2f} and a "
                  f"violating one ${at_all['violating']:.2f}.", "",
                  "From the measured warm durations as estimated for 128 MB (section 2; billed per ms), the bytes each function logged, the audit "
                  "items' sizes (by DynamoDB's item-size rules), the Standard "
                  f"machine's states entered ({k['assumed']['standard_transitions']}, one billed transition each), the "
                  "executions' histories as their log records, and the ledger deletes the triage made (a delete that "
                  f"finds nothing is still a write). As {k['shape']['from']} sets them: byResource and byState project "
                  f"{', '.join(f'{i} {v}' for i, v in k['shape']['index_projection'].items())} (a keys-only entry is one "
                  "write unit; a fully projected one the item's, and rewritten by every update); the triage machine is "
                  f"{'traced' if k['shape']['triage_traced'] else 'not traced'}; Lambda's own start and report records are "
                  "left out (system log level WARN) for "
                  f"{', '.join(f for f, v in k['shape']['system_log_level'].items() if v == 'WARN') or 'no function'}. "
                  f"Assumed: {k['assumed']['platform_log_bytes']} bytes of Lambda's own log records per invocation where they are kept, "
                  f"{k['assumed']['express_overhead_ms']} ms of Express overhead, and for X-Ray a steady "
                  f"{k['assumed']['event_rate_per_second']:.0f} events a second, at which its default "
                  f"rule (the first each second, then 5%) would record {k['assumed']['triage_traced_share']:.1%} of triage "
                  "runs were the triage traced; every enforcement is taken as traced. Free, so not counted: CloudTrail's first copy of "
                  "management events, EventBridge's delivery of AWS service events, SageMaker's Describe calls. Not per "
                  "event: the policy Scan (once per container per cache period) and the sweep (a schedule).",
                  "", "Prices (" + k["prices"]["date"] + "): "
                  + ", ".join(f"{n} ${v:.4g}" for n, v in k["prices"].items() if n != "date") + ".", ""]
    if r.get("custodian"):
        import custodian  # noqa: PLC0415
        side = r["custodian"]
        lines += ["## 5. Beside Cloud Custodian", "", custodian.report(side), ""]
        c7n = side.get("c7n_usd_per_million_allowed")
        if c7n and k:
            lines += [f"Cost per million allowed events, from the same prices: Model Guard ${k['allowed_usd_per_million']:.2f} "
                      f"(section 4: the whole triage, its audit item and its logs), Cloud Custodian ${c7n['total']:.2f} "
                      f"(one 512 MB x86 Lambda invocation per event billed {c7n['billed_ms']:.0f} ms — its warm time with its "
                      "CPU time stretched for 512/1,769 of a vCPU — and the log lines it wrote: "
                      + ", ".join(f"{n} ${v:.2f}" for n, v in c7n["parts"].items()) + "). Cloud Custodian keeps no audit "
                      "trail and sends no alert for this.", ""]
    return "\n".join(lines)


def criterion_results(target: pathlib.Path) -> dict:
    out = criterion(target)
    return {"event_bytes": (EVENTS / "covered-create-endpoint-allowed.json").stat().st_size, "benchmarks": out,
            "content_event_bytes": (EVENTS / "covered-content-package-approved.json").stat().st_size,
            "content": criterion_group(target, "content")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target-dir", required=True, type=pathlib.Path)
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--invocations", type=int, default=5, help="per spawned process")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=64, help="the burst's most unfinished events at a time")
    parser.add_argument("--skip", action="append", default=[], help="criterion | cold | burst | custodian")
    parser.add_argument("--compare-target-dir", type=pathlib.Path,
                        help="also start parse-event and evaluate from this target dir's release builds "
                             "(built with another profile) and report them side by side")
    args = parser.parse_args()
    started = time.time()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                     "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
                     "testbed_profile": os.environ.get("TESTBED_PROFILE", "debug")}
    out = ROOT / "bench"

    def save() -> None:  # after each part, so a later failure keeps what was measured
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if "criterion" not in args.skip:
        print("1. parse + decide (criterion)", flush=True)
        results["criterion"] = criterion_results(args.target_dir)
        save()
    elif (out / "results.json").exists():
        # Skipped: the last run's figures stay in the report, said to be that run's.
        last = json.loads((out / "results.json").read_text())
        if last.get("criterion"):
            results["criterion"] = {**last["criterion"],
                                    "kept_from": last["criterion"].get("kept_from") or f"{last['commit']}, {last['date']}"}
    stack = None
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from conftest import Stack  # noqa: PLC0415
    if "cold" not in args.skip or "burst" not in args.skip:
        stack = Stack()
    if "cold" not in args.skip:
        print(f"2. cold start: {args.spawns} spawns per function", flush=True)
        results["cold_start"] = cold_starts(stack, args.target_dir, args.spawns, args.invocations)
        results["certificate_init"] = certificate_init(args.target_dir, args.spawns)
        save()
    if args.compare_target_dir:
        print(f"2b. the builds in {args.compare_target_dir}", flush=True)
        results["compared_build"] = cold_starts(stack, args.compare_target_dir, args.spawns, args.invocations, True)
        save()
    assets = ROOT / "cdk" / "cdk.out" / "asset-sizes.json"
    # Written by scripts/cdk-synth (scripts/bench runs it first): the deployed arm64 assets.
    results["arm64_assets"] = json.loads(assets.read_text()) if assets.exists() else None
    if "burst" not in args.skip:
        print(f"3. a burst of {args.burst} events", flush=True)
        results["burst"] = burst(stack, args.burst, args.in_flight)
        print("   and 20 one at a time", flush=True)
        results["one_by_one"] = one_by_one(stack, 20)
        save()
    if "cold_start" in results and "burst" in results:  # the cost needs both
        results["cost"] = cost(results["cold_start"], results.get("burst"), machine_logging(ROOT / "cdk" / "cdk.out"),
                               stack_shape(ROOT / "cdk" / "cdk.out"))
    if "custodian" not in args.skip:
        import custodian  # noqa: PLC0415
        from conftest import event  # noqa: PLC0415
        print("5. beside Cloud Custodian", flush=True)
        results["custodian"] = custodian.side_by_side(stack or Stack(), args.target_dir, spawn_once, event)
        results["custodian"]["c7n_usd_per_million_allowed"] = c7n_cost(results["custodian"])
        save()
    results["took_s"] = time.time() - started
    save()
    # The addenda (measurements made by hand for one issue) are kept below the regenerated report.
    previous = (out / "REPORT.md").read_text() if (out / "REPORT.md").exists() else ""
    addenda = previous[previous.index("\n## Addendum"):] if "\n## Addendum" in previous else ""
    (out / "REPORT.md").write_text(report(results) + "\n" + addenda.rstrip("\n") + ("\n" if addenda else ""))
    print(report(results))


if __name__ == "__main__":
    main()
