"""DRAFT (issue 7 in progress): only the cold-start part has been tried, with 3 spawns. Model Guard's measurements (scripts/bench runs this): writes bench/REPORT.md and bench/results.json.

1. parse + decide (criterion), against a bare serde_json parse of the same bytes, with 1,000- and
   10,000-item policies;
2. each Lambda binary (native release build, the deployed profile) started against a local Lambda
   Runtime API: time to its first request for work (init), its first invocation against the
   testbed, and its peak RSS, over repeated spawns;
3. a burst of events through the triage machine on the testbed: time to the last terminal audit
   item, latency from submission to verdict and to enforcement;
4. the cost per million events from the measured durations and the published prices.

Usage: bench.py --target-dir DIR [--spawns N] [--burst N]   (the testbed must be up: scripts/bench)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import http.server
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from io import BytesIO

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
FUNCTIONS = ["parse-event", "evaluate", "enforce", "notify", "approve", "sweep"]
ACCOUNT = "123456789012"

# Published prices, us-east-1, as listed on the AWS pricing pages (checked 2025; no account or
# internet here to check again): change them here.
PRICES = {
    "date": "2025 list prices, us-east-1",
    "lambda_arm_gb_second": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "express_request": 1.00 / 1e6,
    "express_gb_second": 0.00001667,  # first 1,000 GB-hours a month
    "standard_transition": 0.025 / 1000,
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, per write request unit
    "dynamodb_read_unit": 0.125 / 1e6,
    "sns_publish": 0.50 / 1e6,
}


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
    out = {}
    for estimates in sorted((target / "criterion" / "create_endpoint").glob("*/new/estimates.json")):
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


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """One invocation of the Lambda Runtime API: hands out `event`, records when."""

    server_version = "bench"

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def do_GET(self) -> None:  # noqa: N802
        s = self.server
        if self.path.endswith("/invocation/next"):
            if s.asked_at is None:
                s.asked_at = time.perf_counter()
            else:  # the second ask: the first answer was sent; keep it waiting until it is killed
                s.done.wait(30)
                return
            body = json.dumps(s.event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{s.function}")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            s.handed_at = time.perf_counter()

    def do_POST(self) -> None:  # noqa: N802
        s = self.server
        length = int(self.headers.get("Content-Length") or 0)
        s.answer = self.rfile.read(length)
        s.answered_at = time.perf_counter()
        s.error = "/error" in self.path
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        s.done.set()


def spawn_once(binary: pathlib.Path, function: str, event: dict, env: dict) -> dict:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.function, server.event = function, event
    server.asked_at = server.handed_at = server.answered_at = None
    server.answer, server.error, server.done = None, False, threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    run_env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
               "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
               "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "RUST_LOG": "warn"}
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.done.wait(60)
    peak_kb = None
    try:
        for line in pathlib.Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak_kb = int(line.split()[1])
    except OSError:
        pass
    process.kill()
    process.wait()
    server.shutdown()
    if server.asked_at is None or server.answered_at is None:
        raise RuntimeError(f"{function}: no invocation completed")
    return {"init_ms": (server.asked_at - started) * 1000,
            "first_invocation_ms": (server.answered_at - server.handed_at) * 1000,
            "peak_rss_mb": peak_kb / 1024 if peak_kb else None, "error": server.error,
            "answer": server.answer.decode(errors="replace")}


def invocation_events() -> dict:
    """A representative first event for each function, all of them touching the testbed."""
    fixture = json.loads((EVENTS / "covered-create-endpoint-violation.json").read_text())
    verdict = {"version": 1, "eventId": f"bench-{uuid.uuid4()}", "eventName": "CreateEndpoint",
               "account": ACCOUNT, "region": "us-east-1", "decision": "violation", "action": "enforce",
               "graceSeconds": 0, "principal": f"arn:aws:iam::{ACCOUNT}:role/DataScientist",
               "resource": {"type": "endpoint", "name": "bench-no-such-endpoint", "arn": None},
               "subjects": [], "approvers": [], "reasons": ["bench"]}
    return {
        # ParseEvent: a covered CreateEndpoint (no AWS call).
        "parse-event": fixture,
        # Evaluate: the same call; its endpoint config is not in the testbed, so SageMaker is
        # asked, the policy table read, and the fail-closed verdict recorded.
        "evaluate": None,  # filled from parse-event's answer
        # Enforce: an endpoint that is already gone (DescribeEndpoint, then "already-gone").
        "enforce": {"version": 1, "verdict": verdict},
        # Notify: a notify-only alert (SNS publish; the audit item is missing, which it reports).
        "notify": {"version": 1, "kind": "violation-notify", "verdict": {**verdict, "action": "notify"}},
        # Approve: a signed-in caller asking for an unknown target (a DynamoDB query, then 404).
        "approve": {"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {},
                    "requestContext": {"http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                                                "sourceIp": "127.0.0.1", "userAgent": "bench"},
                                       "authorizer": {"iam": {"userArn": f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/b",
                                                              "accountId": ACCOUNT, "accessKey": "A",
                                                              "callerId": "b", "userId": "b"}},
                                       "accountId": ACCOUNT, "requestId": "r", "stage": "$default",
                                       "time": "", "timeEpoch": 0, "domainName": "", "apiId": ""},
                    "body": json.dumps({"target": "bench-unknown", "decision": "approve", "reason": "bench"}),
                    "isBase64Encoded": False},
        # Sweep: a scheduled event (8 LookupEvents, the checkpoint).
        "sweep": {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
    }


def cold_starts(target: pathlib.Path, spawns: int) -> dict:
    release = target / "release"
    env = {k: v for k, v in os.environ.items()}
    events = invocation_events()
    out = {}
    for function in FUNCTIONS:
        event = events[function]
        if function == "evaluate":
            first = spawn_once(release / "parse-event", "parse-event", events["parse-event"], env)
            event = json.loads(first["answer"]) if not first["error"] else events["parse-event"]
        runs = [spawn_once(release / function, function, event, env) for _ in range(spawns)]
        binary = release / function
        zipped = BytesIO()
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("bootstrap", binary.read_bytes())
        out[function] = {
            "init_ms": summary([r["init_ms"] for r in runs]),
            "first_invocation_ms": summary([r["first_invocation_ms"] for r in runs]),
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in runs if r["peak_rss_mb"]]),
            "errors": sum(r["error"] for r in runs),
            "answer": runs[-1]["answer"][:300],
            "x86_64_bytes": binary.stat().st_size,
            "x86_64_zipped_bytes": zipped.getbuffer().nbytes,
        }
    return out


# --- 3. burst -------------------------------------------------------------------------------------------


def burst(n: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from conftest import Stack, event  # noqa: PLC0415

    stack = Stack()
    deployer = f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"
    stack.policy({"pk": "model#benchok-*", "principals": [deployer], "mode": "enforce"})
    stack.policy({"pk": "model#benchbad-*", "principals": [deployer], "mode": "enforce", "graceSeconds": 0})
    _, ok_config, _ = stack.endpoint("bench-ok", "benchok")
    violations = max(1, n // 10)
    plan = []
    for i in range(n):
        if i % 10 == 9 and len([p for p in plan if p[0] == "violation"]) < violations:
            _, config, endpoint = stack.endpoint("bench-bad", "benchbad")
            plan.append(("violation", event(str(uuid.uuid4()), "DataScientist", endpoint, config), endpoint))
        else:
            plan.append(("allowed", event(str(uuid.uuid4()), "MLDeployer", f"bench-ok-{i}", ok_config), None))

    submitted: dict[str, float] = {}

    def submit(item):  # noqa: ANN001, ANN202
        kind, ev, _ = item
        at = time.time()
        stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"b-{uuid.uuid4().hex}",
                                  input=json.dumps(ev))
        return ev["detail"]["eventID"], at

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for event_id, at in pool.map(submit, plan):
            submitted[event_id] = at
    submitted_in = time.time() - started
    kinds = {ev["detail"]["eventID"]: kind for kind, ev, _ in plan}
    pending = set(submitted)
    done: dict[str, dict] = {}
    deadline = time.time() + 600
    while pending and time.time() < deadline:
        for event_id in list(pending):
            item = stack.audit(event_id)
            terminal = {"allowed": {"allowed"}, "violation": {"enforced", "failed"}}[kinds[event_id]]
            if item and item["state"] in terminal:
                done[event_id] = item
                pending.discard(event_id)
        time.sleep(0.5)
    last = max((parse_time(i["updatedAt"]) for i in done.values()), default=started)

    def latency(kind: str, field: str) -> dict:
        return summary([(parse_time(done[e][field]) - submitted[e]) * 1000 for e in done if kinds[e] == kind])

    return {"events": n, "violations": violations, "submitted_in_s": submitted_in,
            "terminal": len(done), "unfinished": len(pending),
            "to_last_terminal_s": last - started,
            "allowed_to_verdict_ms": latency("allowed", "decidedAt"),
            "violation_to_verdict_ms": latency("violation", "decidedAt"),
            "violation_to_enforced_ms": latency("violation", "updatedAt")}


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- 4. cost ---------------------------------------------------------------------------------------------


def cost(cold: dict, assets: dict | None) -> dict:
    """Per million events, from the measured warm durations (the first invocation's median stands
    in for a warm one, an overestimate) at 128 MB, billed per ms."""
    gb = 128 / 1024
    ms = {f: cold[f]["first_invocation_ms"]["median"] for f in cold}
    p = PRICES
    lam = lambda f: p["lambda_request"] + gb * ms[f] / 1000 * p["lambda_arm_gb_second"]  # noqa: E731
    # Triage (Express): 2 Lambda tasks; billed per 100 ms of duration at 64 MB minimum.
    triage_ms = ms["parse-event"] + ms["evaluate"] + 50
    express = p["express_request"] + 0.0625 * max(100, triage_ms) / 1000 * p["express_gb_second"]
    allowed = lam("parse-event") + lam("evaluate") + express + p["dynamodb_write_unit"] + p["dynamodb_read_unit"] / 60
    # A grace-0 violation: StartExecution, Standard transitions (start, Enforce, Notify, end ≈ 5),
    # enforce + notify, two DynamoDB updates, one SNS publish.
    violating = (allowed + 5 * p["standard_transition"] + lam("enforce") + lam("notify")
                 + 2 * p["dynamodb_write_unit"] + p["sns_publish"])
    return {"prices": p, "per_million_allowed_usd": allowed * 1e6,
            "per_million_violating_usd": violating * 1e6, "assumed_ms": ms}


# --- report ----------------------------------------------------------------------------------------------


def fmt(s: dict, unit: str = "", digits: int = 1) -> str:
    if not s or not s.get("n"):
        return "–"
    return (f"{s['median']:.{digits}f}{unit} (p10 {s['p10']:.{digits}f}, p90 {s['p90']:.{digits}f}, "
            f"n={s['n']})")


def report(results: dict) -> str:
    lines = [f"# Model Guard performance report", "",
             f"Machine: {results['machine']}. Date: {results['date']}. "
             f"Re-run: `scripts/bench` ({results['took_s'] / 60:.0f} min this time).", ""]
    c = results.get("criterion")
    if c:
        lines += ["## 1. Parse + decide (criterion, median with 95% interval)", "",
                  "| benchmark | median | 95% interval | × serde_json |", "|---|---|---|---|"]
        for name, v in c.items():
            lines.append(f"| {name} | {v['median_ns'] / 1000:.2f} µs | {v['ci95_ns'][0] / 1000:.2f}–"
                         f"{v['ci95_ns'][1] / 1000:.2f} µs | {v.get('ratio_to_serde_json', 0):.2f} |")
        lines.append("")
    cold = results.get("cold_start")
    if cold:
        lines += ["## 2. Cold start, first invocation, memory, size (native x86_64 release; medians over spawns)", "",
                  "| function | init (spawn → first `next`) | first invocation | peak RSS | binary / zipped (x86_64) | arm64 zipped |",
                  "|---|---|---|---|---|---|"]
        arm = results.get("arm64_assets") or {}
        for f, v in cold.items():
            a = arm.get(f)
            arm_zipped = f"{a['zipped_bytes'] / 1e6:.2f} MB" if a else "–"
            lines.append(f"| {f} | {fmt(v['init_ms'], ' ms')} | {fmt(v['first_invocation_ms'], ' ms')} | "
                         f"{fmt(v['peak_rss_mb'], ' MB')} | {v['x86_64_bytes'] / 1e6:.2f} / "
                         f"{v['x86_64_zipped_bytes'] / 1e6:.2f} MB | {arm_zipped} |")
        lines += ["", "Targets: init ≤ 30 ms, peak RSS ≤ 25 MB, zipped arm64 ≤ 6 MB.", ""]
    b = results.get("burst")
    if b:
        lines += ["## 3. Burst through the testbed (moto + cargo lambda watch, debug binaries)", "",
                  f"{b['events']} events ({b['violations']} violations with grace 0), submitted in "
                  f"{b['submitted_in_s']:.1f} s; {b['terminal']} reached a terminal state "
                  f"({b['unfinished']} did not) — the last {b['to_last_terminal_s']:.1f} s after the first submission.", "",
                  f"- allowed, submission → verdict: {fmt(b['allowed_to_verdict_ms'], ' ms', 0)}",
                  f"- violation, submission → verdict: {fmt(b['violation_to_verdict_ms'], ' ms', 0)}",
                  f"- violation, submission → enforced: {fmt(b['violation_to_enforced_ms'], ' ms', 0)}", ""]
    k = results.get("cost")
    if k:
        lines += ["## 4. Cost per million events", "",
                  f"- allowed: **${k['per_million_allowed_usd']:.2f}**",
                  f"- violating (grace 0, enforced, one alert): **${k['per_million_violating_usd']:.2f}**", "",
                  f"Prices ({k['prices']['date']}): " + ", ".join(f"{n} {v:.3g}" for n, v in k["prices"].items() if n != "date")
                  + ". Durations: the first-invocation medians above, at 128 MB, billed per ms.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target-dir", required=True, type=pathlib.Path)
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--skip", action="append", default=[], help="criterion | cold | burst")
    args = parser.parse_args()
    started = time.time()
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                     "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if "criterion" not in args.skip:
        results["criterion"] = criterion(args.target_dir)
    if "cold" not in args.skip:
        results["cold_start"] = cold_starts(args.target_dir, args.spawns)
    assets = ROOT / "cdk" / "cdk.out" / "asset-sizes.json"
    results["arm64_assets"] = json.loads(assets.read_text()) if assets.exists() else None
    if "burst" not in args.skip:
        results["burst"] = burst(args.burst)
    if "cold_start" in results:
        results["cost"] = cost(results["cold_start"], results["arm64_assets"])
    results["took_s"] = time.time() - started
    out = ROOT / "bench"
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "REPORT.md").write_text(report(results) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
