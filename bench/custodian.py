"""Model Guard beside Cloud Custodian, in one run on the same testbed and the same CloudTrail
CreateEndpoint event (scripts/bench runs it; issue 25).

Cloud Custodian: a `cloudtrail`-mode policy on `sagemaker-endpoint` that deletes an endpoint
whose creator is not the allowed deployer, run through c7n's own Lambda entry point
(`c7n.handler.dispatch_event`) in a fresh Python process per cold start (bench/c7n_runner.py, in
.venv-c7n: c7n pins its own boto3). Model Guard: the evaluate release binary for an allowed call;
evaluate, then enforce, for a violating one (claim runs between them, as the enforcement machine
runs it, and is reported apart), each spawned against a local Lambda Runtime API (bench.py's
spawn_once).

Before any timing counts, both sides must have deleted the violator and spared the allowed
endpoint: c7n resolves the event's resource by listing every endpoint and matching ARNs, and a
mismatch would make it find nothing and look fast.

Measured for each side: cold (fresh process: init plus the first event), warm per event, peak
RSS, CPU per warm event, AWS calls per event (counted by the testbed, by client), and warm time
with 250 and 2,500 unrelated endpoints in the account."""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
C7N_PYTHON = ROOT / ".venv-c7n/bin/python"
C7N_VERSION = "0.9.53"


def requests(reset: bool = False) -> dict:
    url = os.environ["AWS_ENDPOINT_URL"] + "/testbed/requests"
    request = urllib.request.Request(url, data=b"{}", method="POST") if reset else url
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def calls(client: str) -> int:
    return sum(requests().get(client, {}).values())


def serving_ms(client: str) -> float:
    """The milliseconds the emulator spent serving `client` since the last reset: the floor under
    its time, which no client of this emulator can go below."""
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/testbed/requests/ms") as answer:
        return float(json.load(answer).get(client, 0.0))


def policy(account: str) -> dict:
    return {
        "name": "sagemaker-endpoint-deployer",
        "resource": "sagemaker-endpoint",
        "mode": {"type": "cloudtrail", "events": [
            {"source": "sagemaker.amazonaws.com", "event": "CreateEndpoint", "ids": "responseElements.endpointArn"}]},
        "filters": [{"not": [{"type": "event", "key": "detail.userIdentity.sessionContext.sessionIssuer.arn",
                              "value": f"arn:aws:iam::{account}:role/MLDeployer"}]}],
        "actions": ["delete"],
    }


def c7n_spawn(config_dir: str, events: list[dict]) -> dict:
    """One c7n process (a cold start) handed `events` in turn; its figures and AWS calls."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(events, f)
    env = {**os.environ, "AWS_SDK_UA_APP_ID": "c7n-bench", "C7N_CATCH_ERR": "no"}
    requests(reset=True)
    done = subprocess.run([str(C7N_PYTHON), str(ROOT / "bench/c7n_runner.py"), config_dir, f.name],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    os.unlink(f.name)
    if done.returncode != 0:
        raise RuntimeError(f"c7n failed: {done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["calls"] = calls("c7n-bench")
    figures["serving_ms"] = serving_ms("c7n-bench")
    figures["log_bytes"] = len(done.stderr) + len(done.stdout)
    return figures


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def side_by_side(stack, target: pathlib.Path, spawn_once, event, spawns: int = 5, warm: int = 20,  # noqa: ANN001, PLR0913, PLR0915
                 crowds: tuple[int, ...] = (250, 2500)) -> dict:
    from conftest import ACCOUNT  # noqa: PLC0415

    release = target / "release"
    env = dict(os.environ)
    env.pop("POLICY_CACHE_SECONDS", None)  # the deployed default (the testbed's is 0)
    # The binaries' calls counted apart from any other Rust SDK client on the testbed (its own
    # functions, set off by a policy write).
    env["AWS_SDK_UA_APP_ID"] = "guard-bench"
    tag = uuid.uuid4().hex[:6]
    stack.policy({"pk": f"model#sbs{tag}-*", "principals": [f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"],
                  "mode": "enforce", "graceSeconds": 0})
    model = stack.model(f"sbs{tag}")
    config = stack.endpoint_config([model])
    config_dir = tempfile.mkdtemp(prefix="c7n-")
    pathlib.Path(config_dir, "config.json").write_text(json.dumps({
        "execution-options": {"region": "us-east-1", "account_id": ACCOUNT, "output_dir": config_dir,
                              "metrics_enabled": False, "log_group": None},
        "policies": [policy(ACCOUNT)]}))

    def endpoint(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"  # lower case: the ARN in the event is lower-cased
        stack.sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
        return name

    def call(caller: str, name: str) -> dict:
        return event(str(uuid.uuid4()), caller, name, config)

    # --- 0. both sides must act right before anything is timed ------------------------------------
    bad, good = endpoint("sbs-bad"), endpoint("sbs-good")
    c7n_spawn(config_dir, [call("DataScientist", bad), call("MLDeployer", good)])
    assert stack.endpoint_status(bad) is None, "c7n did not delete the violating endpoint: it found nothing"
    assert stack.endpoint_status(good) == "InService", "c7n touched the allowed endpoint"

    def guard_violating(events: list[dict]) -> dict:
        parse = spawn_once(release / "parse-event", "parse-event", events, env)
        parsed = parse["answers"]
        requests(reset=True)
        evaluated = spawn_once(release / "evaluate", "evaluate", [json.loads(a) for a in parsed], env)
        evaluate_calls = calls("guard-bench")
        verdicts = [json.loads(a) for a in evaluated["answers"]]
        claimed = spawn_once(release / "claim", "claim", [{"version": 1, "execution": v["eventId"],
                                                 "input": {"version": 1, "eventId": v["eventId"]}} for v in verdicts], env)
        requests(reset=True)
        enforced = spawn_once(release / "enforce", "enforce",
                              [{"version": 1, "eventId": v["eventId"], "execution": v["eventId"]} for v in verdicts], env)
        return {"evaluate": evaluated, "enforce": enforced, "calls": evaluate_calls + calls("guard-bench"),
                "claim": claimed, "parse-event": parse,
                "verdicts": verdicts, "results": [json.loads(a) for a in enforced["answers"]]}

    def guard_allowed(events: list[dict]) -> dict:
        parsed = spawn_once(release / "parse-event", "parse-event", events, env)["answers"]
        requests(reset=True)
        evaluated = spawn_once(release / "evaluate", "evaluate", [json.loads(a) for a in parsed], env)
        evaluated["calls"] = calls("guard-bench")
        evaluated["serving_ms"] = serving_ms("guard-bench")
        evaluated["verdicts"] = [json.loads(a) for a in evaluated["answers"]]
        return evaluated

    bad, good = endpoint("sbs-bad"), endpoint("sbs-good")
    checked = guard_violating([call("DataScientist", bad)])
    assert checked["verdicts"][0]["decision"] == "violation", checked["verdicts"][0]
    assert stack.endpoint_status(bad) is None, f"Model Guard did not delete the violator: {checked['results']}"
    allowed = guard_allowed([call("MLDeployer", good)])
    assert allowed["verdicts"][0]["decision"] == "allow", allowed["verdicts"][0]
    assert stack.endpoint_status(good) == "InService"

    out: dict = {"c7n_version": C7N_VERSION, "spawns": spawns, "warm_events": warm}

    # --- 1. cold: a fresh process, its first event ---------------------------------------------------
    cold = {"c7n": {"allowed": [], "violating": []}, "guard": {"allowed": [], "violating": []}}
    for _ in range(spawns):
        run = c7n_spawn(config_dir, [call("MLDeployer", good)])
        cold["c7n"]["allowed"].append({"ms": run["init_ms"] + run["durations_ms"][0], "calls": run["calls"],
                                       "rss": run["peak_rss_mb"]})
        name = endpoint("sbs-bad")
        run = c7n_spawn(config_dir, [call("DataScientist", name)])
        assert stack.endpoint_status(name) is None
        cold["c7n"]["violating"].append({"ms": run["init_ms"] + run["durations_ms"][0], "calls": run["calls"],
                                         "rss": run["peak_rss_mb"]})
        run = guard_allowed([call("MLDeployer", good)])
        cold["guard"]["allowed"].append({"ms": run["init_ms"] + run["durations_ms"][0], "calls": run["calls"],
                                         "rss": run["peak_rss_mb"]})
        name = endpoint("sbs-bad")
        run = guard_violating([call("DataScientist", name)])
        assert stack.endpoint_status(name) is None
        cold["guard"]["violating"].append({
            "ms": sum(run[s]["init_ms"] + run[s]["durations_ms"][0] for s in ("evaluate", "enforce")),
            "with_parse_and_claim_ms": sum(run[s]["init_ms"] + run[s]["durations_ms"][0]
                                           for s in ("parse-event", "evaluate", "claim", "enforce")),
            "calls": run["calls"], "rss": max(run[s]["peak_rss_mb"] for s in ("evaluate", "enforce"))})
    out["cold"] = {side: {kind: {"ms": mean([r["ms"] for r in runs]), "calls": mean([r["calls"] for r in runs]),
                                 "peak_rss_mb": max(r["rss"] for r in runs)}
                          for kind, runs in kinds.items()} for side, kinds in cold.items()}
    out["cold"]["guard"]["violating"]["with_parse_and_claim_ms"] = mean(
        [r["with_parse_and_claim_ms"] for r in cold["guard"]["violating"]])
    assert all(r["calls"] > 0 for side in cold.values() for runs in side.values() for r in runs), \
        "a side made no AWS call the testbed counted: its client is not what the count expects"

    # --- 2. warm: the events after the first, in one process ------------------------------------------
    def warm_figures(crowd: int) -> dict:
        if crowd:  # both must still find and act on the one endpoint among the crowd
            for side in ("c7n", "guard"):
                name = endpoint("sbs-bad")
                (c7n_spawn(config_dir, [call("DataScientist", name)]) if side == "c7n"
                 else guard_violating([call("DataScientist", name)]))
                assert stack.endpoint_status(name) is None, f"{side} missed the violator among {crowd} endpoints"
        events = [call("MLDeployer", good) for _ in range(warm + 1)]
        c7n_run = c7n_spawn(config_dir, events)
        c7n_first = c7n_spawn(config_dir, events[:1])
        guard_run = guard_allowed(events)
        guard_first = guard_allowed(events[:1])
        assert all(v["decision"] == "allow" for v in guard_run["verdicts"])
        assert stack.endpoint_status(good) == "InService"
        # The emulator's own time per warm event (the first event's run taken away, as for the
        # calls), and each side's time above it: what the client itself adds.
        c7n_serving = (c7n_run["serving_ms"] - c7n_first["serving_ms"]) / warm
        guard_serving = (guard_run["serving_ms"] - guard_first["serving_ms"]) / warm
        c7n_ms, guard_ms = mean(c7n_run["durations_ms"][1:]), mean(guard_run["durations_ms"][1:])
        return {"endpoints": crowd,
                "c7n": {"ms": c7n_ms, "cpu_ms": mean(c7n_run["cpu_ms"][1:]),
                        "calls": (c7n_run["calls"] - c7n_first["calls"]) / warm, "peak_rss_mb": c7n_run["peak_rss_mb"],
                        "log_bytes_per_event": (c7n_run["log_bytes"] - c7n_first["log_bytes"]) / warm,
                        "serving_ms": c7n_serving, "above_floor_ms": c7n_ms - c7n_serving},
                "guard": {"ms": guard_ms, "cpu_ms": mean(guard_run["invocation_cpu_ms"][1:]),
                          "calls": (guard_run["calls"] - guard_first["calls"]) / warm, "peak_rss_mb": guard_run["peak_rss_mb"],
                          "serving_ms": guard_serving, "above_floor_ms": guard_ms - guard_serving}}

    out["warm"] = [warm_figures(0)]
    made = 0
    for crowd in crowds:
        for _ in range(crowd - made):
            endpoint("sbs-crowd")
        made = crowd
        out["warm"].append(warm_figures(crowd))
    return out


def report(r: dict) -> str:
    cold, warm = r["cold"], r["warm"]

    def ratio(guard: float, c7n: float) -> str:
        return f"1/{c7n / guard:.1f}" if guard > 0 else "n/a"

    lines = [f"Cloud Custodian {r['c7n_version']} (`cloudtrail` mode, its Lambda entry point in-process, a fresh "
             f"Python process per cold start) against Model Guard's release binaries, on the same testbed and the "
             f"same CreateEndpoint event; {r['spawns']} cold starts a side, {r['warm_events']} warm events. Both "
             f"sides were checked to delete the violator and spare the allowed endpoint before anything was timed.",
             "",
             "| | Model Guard | Cloud Custodian | ratio |", "|---|---|---|---|"]
    for kind, label in (("violating", "cold, violating (MG: evaluate + enforce)"), ("allowed", "cold, allowed (MG: evaluate)")):
        g, c = cold["guard"][kind], cold["c7n"][kind]
        lines.append(f"| {label} | {g['ms']:.1f} ms | {c['ms']:.1f} ms | {ratio(g['ms'], c['ms'])} |")
        lines.append(f"| AWS calls, cold {kind} | {g['calls']:.1f} | {c['calls']:.1f} | |")
        if kind == "violating":
            lines.append(f"| cold, violating, MG's four Lambdas (parse-event, evaluate, claim, enforce) | "
                         f"{g['with_parse_and_claim_ms']:.1f} ms | {c['ms']:.1f} ms | {ratio(g['with_parse_and_claim_ms'], c['ms'])} |")
    base = warm[0]
    lines.append(f"| warm, allowed, per event | {base['guard']['ms']:.2f} ms | {base['c7n']['ms']:.2f} ms | "
                 f"{ratio(base['guard']['ms'], base['c7n']['ms'])} |")
    if "above_floor_ms" in base["guard"]:
        lines.append(f"| the emulator's own time per warm allowed event (the floor) | {base['guard']['serving_ms']:.2f} ms | "
                     f"{base['c7n']['serving_ms']:.2f} ms | |")
        lines.append(f"| warm, allowed, time above that floor | {base['guard']['above_floor_ms']:.2f} ms | "
                     f"{base['c7n']['above_floor_ms']:.2f} ms | {ratio(base['guard']['above_floor_ms'], base['c7n']['above_floor_ms'])} |")
    lines.append(f"| CPU per warm allowed event | {base['guard']['cpu_ms']:.2f} ms | {base['c7n']['cpu_ms']:.2f} ms | |")
    lines.append(f"| AWS calls per warm allowed event | {base['guard']['calls']:.2f} | {base['c7n']['calls']:.2f} | |")
    rss_g = max(cold["guard"]["allowed"]["peak_rss_mb"], cold["guard"]["violating"]["peak_rss_mb"])
    rss_c = max(cold["c7n"]["allowed"]["peak_rss_mb"], cold["c7n"]["violating"]["peak_rss_mb"])
    lines.append(f"| peak RSS | {rss_g:.1f} MiB | {rss_c:.1f} MiB | {ratio(rss_g, rss_c)} |")
    for w in warm[1:]:
        lines.append(f"| warm, allowed, {w['endpoints']:,} other endpoints | {w['guard']['ms']:.2f} ms "
                     f"({w['guard']['calls']:.2f} calls) | {w['c7n']['ms']:.2f} ms ({w['c7n']['calls']:.2f} calls) | "
                     f"{ratio(w['guard']['ms'], w['c7n']['ms'])} |")
    return "\n".join(lines)


def main() -> None:
    """The side-by-side alone (scripts/bench runs it as its part 5): writes bench/custodian.json."""
    import argparse  # noqa: PLC0415
    import sys  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--target-dir", required=True, type=pathlib.Path)
    parser.add_argument("--spawns", type=int, default=5)
    parser.add_argument("--warm", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests/e2e"))
    sys.path.insert(0, str(ROOT / "bench"))
    import bench  # noqa: PLC0415
    from conftest import Stack, event  # noqa: PLC0415

    result = side_by_side(Stack(), args.target_dir, bench.spawn_once, event, args.spawns, args.warm)
    result["c7n_usd_per_million_allowed"] = bench.c7n_cost(result)
    (ROOT / "bench/custodian.json").write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    print(json.dumps(result["c7n_usd_per_million_allowed"], indent=2))


if __name__ == "__main__":
    main()
