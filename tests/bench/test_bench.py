"""bench/bench.py's arithmetic: item sizes by DynamoDB's rules, the logging read from the
template, and the cost model's parts. The measurements themselves run only in scripts/bench."""

from __future__ import annotations

import json
import math
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import bench  # noqa: E402


def test_item_size_follows_dynamodb_rules() -> None:
    assert bench.dynamodb_item_bytes({"pk": "abc"}) == 2 + 3
    # 12345: five significant digits, 5 // 2 + 1 bytes.
    assert bench.dynamodb_item_bytes({"n": 12345}) == 1 + 3
    assert bench.dynamodb_item_bytes({"ok": True}) == 2 + 1
    # A map: 3 bytes, plus each element's name, value and 1 byte.
    assert bench.dynamodb_item_bytes({"m": {"a": "xy"}}) == 1 + 3 + (1 + 2 + 1)
    assert bench.dynamodb_item_bytes({"l": ["ab", "c"]}) == 1 + 3 + (2 + 1) + (1 + 1)
    assert bench.dynamodb_item_bytes({"é": "ü"}) == 2 + 2  # UTF-8 bytes, not characters


def test_summary_median_and_spread() -> None:
    s = bench.summary([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["n"], s["median"], s["min"], s["max"]) == (5, 3.0, 1.0, 5.0)
    assert s["p10"] == pytest.approx(1.4) and s["p90"] == pytest.approx(4.6)
    assert bench.summary([]) == {"n": 0}
    assert bench.summary([7.0])["p99"] == 7.0


def template(tmp: pathlib.Path, triage_level: str) -> pathlib.Path:
    machines = {
        "Triage": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineType": "EXPRESS",
            "LoggingConfiguration": {"Level": triage_level, "IncludeExecutionData": True}}},
        "Enforcement": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineType": "STANDARD",
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": False}}},
        # The stack's other Standard machines, after it as in the real template: not an event's.
        "SweepMachine39A9C9F9": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineType": "STANDARD", "LoggingConfiguration": {"Level": "ERROR"}}},
        "ScanMachine7412DB93": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineType": "STANDARD", "LoggingConfiguration": {"Level": "ERROR"}}},
        "Other": {"Type": "AWS::SNS::Topic", "Properties": {}},
    }
    (tmp / "ModelGuard.template.json").write_text(json.dumps({"Resources": machines}))
    return tmp


def test_logging_comes_from_the_synthesized_template(tmp_path: pathlib.Path) -> None:
    logging = bench.machine_logging(template(tmp_path, "ALL"))
    assert logging["triage"] == {"level": "ALL", "data": True, "from": "ModelGuard.template.json"}
    assert logging["enforcement"]["level"] == "ALL" and logging["enforcement"]["data"] is False
    # No synth: the stack's defaults, said so.
    assert bench.machine_logging(tmp_path / "missing")["triage"]["from"] == "the stack's defaults"


def test_log_bytes_by_level() -> None:
    h = {"events": 10, "bytes_with_data": 5000, "bytes_without_data": 1000}
    assert bench.log_bytes(h, {"level": "ALL", "data": True}) == 5000 + 260
    assert bench.log_bytes(h, {"level": "ALL", "data": False}) == 1000 + 260
    assert bench.log_bytes(h, {"level": "ERROR", "data": True}) == 0


def measured() -> tuple[dict, dict]:
    def f(warm_ms: float) -> dict:
        return {"warm_invocation_ms": {"median": warm_ms}, "log_bytes_per_invocation": 400,
                "log_records_per_invocation": 1}
    cold = {name: f(10.2) for name in bench.FUNCTIONS}
    history = {"events": 10, "bytes_with_data": 20_000, "bytes_without_data": 5_000, "states_entered": 3}
    burst = {"audit_item_bytes": {"allowed": {"median": 1200}, "violation": {"median": 1600}},
             "triage_history_allowed": history, "triage_history_violation": history,
             "enforcement_history": history}
    return cold, burst


def test_cost_parts_add_up_and_follow_the_logging(tmp_path: pathlib.Path) -> None:
    cold, burst = measured()
    p = bench.PRICES
    error = bench.cost(cold, burst, bench.machine_logging(template(tmp_path, "ERROR")))
    assert error["allowed_usd_per_million"] == pytest.approx(sum(error["allowed_parts"].values()))
    assert error["violating_usd_per_million"] == pytest.approx(sum(error["violating_parts"].values()))
    assert error["allowed_parts"]["triage logs"] == 0
    # 1,200 bytes is two write units in the table, one in each keys-only index.
    assert error["allowed_parts"]["dynamodb"] == pytest.approx((2 + 1 + 1) * p["dynamodb_write_unit"] * 1e6)
    # A Lambda: its request, 11 ms (billed per started ms) at 128 MB, and its logs (evaluate's
    # without Lambda's own records: its system log level is WARN; claim's with them).
    lam = (p["lambda_request"] + 0.125 * 0.011 * p["lambda_arm_gb_second"]
           + (400 + 26) / 2**30 * p["logs_ingest_gb"]) * 1e6
    assert error["allowed_parts"]["evaluate"] == pytest.approx(lam)
    assert error["violating_parts"]["claim"] == pytest.approx(
        lam + bench.PLATFORM_LOG_BYTES / 2**30 * p["logs_ingest_gb"] * 1e6)
    assert error["allowed_parts"]["triage (Express)"] == pytest.approx(
        (p["express_request"] + 0.0625 * 0.1 * p["express_gb_second"]) * 1e6), "not traced"
    assert error["violating_parts"]["enforcement (Standard)"] == pytest.approx(
        (3 * p["standard_transition"] + p["xray_trace_recorded"]) * 1e6)
    every = bench.cost(cold, burst, bench.machine_logging(template(tmp_path, "ALL")))
    assert every["allowed_parts"]["triage logs"] == pytest.approx((20_000 + 260) / 2**30 * 0.5 * 1e6)
    assert every["allowed_usd_per_million"] == pytest.approx(error["triage_at_all_usd_per_million"]["allowed"])
    assert not math.isclose(every["allowed_usd_per_million"], error["allowed_usd_per_million"])


def test_the_report_names_every_figure(tmp_path: pathlib.Path) -> None:
    cold, burst = measured()
    spread = {"n": 3, "median": 2.0, "p10": 1.0, "p90": 3.0, "p99": 3.0, "min": 1.0, "max": 3.0}
    for v in cold.values():
        v.update({"spawns": 20, "invocations_per_spawn": 5, "init_ms": spread, "first_invocation_ms": spread,
                  "warm_invocation_ms": {**spread, "median": 10.2}, "peak_rss_mb": spread, "errors": 0,
                  "x86_64_bytes": 10, "x86_64_zipped_bytes": 5})
    burst.update({"events": 500, "in_flight": 64, "events_per_second": 6.0, "violations": 50, "submitted_in_s": 1.0, "terminal": 500, "unfinished": 0,
                  "states": {"allowed": 450}, "to_last_terminal_s": 9.0, "cpu_seconds": {"moto": 9, "functions": 1},
                  "allowed_to_verdict_ms": spread, "violation_to_verdict_ms": spread,
                  "violation_to_enforced_ms": spread})
    results = {"machine": "m", "date": "d", "commit": "c", "took_s": 60,
               "criterion": {"event_bytes": 3000, "benchmarks": {"serde_json_value": {
                   "median_ns": 1000, "ci95_ns": [900, 1100], "ratio_to_serde_json": 1.0}}},
               "cold_start": cold, "arm64_assets": {"evaluate": {"bytes": 9_000_000, "zipped_bytes": 4_000_000}},
               "burst": burst, "one_by_one": {"allowed": {"verdict": spread, "terminal": spread},
                                              "violation": {"verdict": spread, "terminal": spread}},
               "cost": bench.cost(cold, burst, bench.machine_logging(template(tmp_path, "ERROR")))}
    text = bench.report(results)
    for heading in ("## 1. Parse + decide", "## 2. Cold start", "## 3. A burst", "## 4. Cost per million"):
        assert heading in text
    assert "init ≤ 30 ms" in text and "largest 4.00 MB" in text and "moto 9.0 s" in text


def test_the_stack_shape_decides_index_writes_tracing_and_platform_logs(tmp_path: pathlib.Path) -> None:
    cold, burst = measured()
    p = bench.PRICES
    logging = bench.machine_logging(template(tmp_path, "ERROR"))
    # The layout before keys-only indexes: every index write is the item's units, and an update
    # is copied into both; a traced triage; Lambda's records everywhere.
    before = {"index_projection": {"byResource": "ALL", "byState": "ALL"}, "triage_traced": True,
              "system_log_level": {}, "from": "t"}
    old = bench.cost(cold, burst, logging, before)
    new = bench.cost(cold, burst, logging)
    w = p["dynamodb_write_unit"] * 1e6
    assert old["allowed_parts"]["dynamodb"] == pytest.approx(3 * 2 * w)
    # Evaluate's put 3×2; Claim's update 3×2; Enforce's 2 + byResource 2 + byState 2×2 +
    # byAlertOwed 2; Notify's marking the alert sent 2 + both indexes 2×2 + byAlertOwed's delete 2.
    # Keys-only: 2+1+1; 2; 2 + 0 + 2×1 + 2; 2 + 0 + 2.
    assert old["violating_parts"]["dynamodb"] == pytest.approx(
        (6 + 6 + 10 + 8) * w + 3 * p["dynamodb_read_unit"] * 1e6)
    assert new["violating_parts"]["dynamodb"] == pytest.approx(
        (4 + 2 + 6 + 4) * w + 3 * p["dynamodb_read_unit"] * 1e6)
    assert old["allowed_parts"]["triage (Express)"] - new["allowed_parts"]["triage (Express)"] == pytest.approx(
        bench.xray_share(bench.EVENT_RATE_PER_SECOND) * p["xray_trace_recorded"] * 1e6)
    assert old["allowed_parts"]["evaluate"] - new["allowed_parts"]["evaluate"] == pytest.approx(
        bench.PLATFORM_LOG_BYTES / 2**30 * p["logs_ingest_gb"] * 1e6)
    # A run that deleted a ledger entry paid a write for it, found or not.
    settled = {**burst, "triage_history_allowed": {**burst["triage_history_allowed"], "entered": ["ParseEvent", "Settle"]}}
    assert bench.cost(cold, settled, logging)["allowed_parts"]["dynamodb"] == pytest.approx(
        new["allowed_parts"]["dynamodb"] + w)


def test_the_stack_shape_comes_from_the_synthesized_template(tmp_path: pathlib.Path) -> None:
    resources = {
        "Decisions": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {"GlobalSecondaryIndexes": [
            {"IndexName": "byResource", "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "byState", "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "byAlertOwed", "Projection": {"ProjectionType": "ALL"}}]}},
        "Triage1234ABCD": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"TracingConfiguration": {"Enabled": True}}},
        "Evaluate": {"Type": "AWS::Lambda::Function", "Properties": {
            "Description": "Model Guard evaluate", "LoggingConfig": {"SystemLogLevel": "WARN"}}},
        "Claim": {"Type": "AWS::Lambda::Function", "Properties": {"Description": "Model Guard claim", "LoggingConfig": {}}},
    }
    (tmp_path / "ModelGuard.template.json").write_text(json.dumps({"Resources": resources}))
    assert bench.stack_shape(tmp_path) == {
        "index_projection": {"byResource": "KEYS_ONLY", "byState": "ALL"}, "triage_traced": True,
        "system_log_level": {"evaluate": "WARN", "claim": "INFO"}, "from": "ModelGuard.template.json"}
    assert bench.stack_shape(tmp_path / "missing") == bench.STACK_DEFAULTS


def test_lambda_duration_is_billed_at_the_128_mb_cpu_bound(tmp_path: pathlib.Path) -> None:
    cold, burst = measured()
    cold["evaluate"]["invocation_cpu_ms"] = {"n": 20, "median": 1.0}
    c = bench.cost(cold, burst, bench.machine_logging(template(tmp_path, "ERROR")))
    # 10.2 ms of wall time plus 1 ms of CPU stretched to 128/1,769 of a vCPU: 23.02 ms, billed as 24.
    assert c["warm_ms"]["evaluate"] == pytest.approx(10.2 + 1769 / 128 - 1)
    p = bench.PRICES
    assert c["allowed_parts"]["evaluate"] == pytest.approx(
        (p["lambda_request"] + 0.125 * 0.024 * p["lambda_arm_gb_second"]
         + (400 + 26) / 2**30 * p["logs_ingest_gb"]) * 1e6)


def test_xray_share_follows_the_default_rule() -> None:
    # The first request each second, then 5% of the rest.
    assert bench.xray_share(0.5) == 1.0
    assert bench.xray_share(1.0) == 1.0
    assert bench.xray_share(10.0) == pytest.approx((1 + 0.05 * 9) / 10)
    assert bench.xray_share(1000.0) == pytest.approx(0.05, abs=0.001)


def test_custodian_is_billed_as_one_512_mb_x86_invocation_per_event() -> None:
    side = {"warm": [{"endpoints": 0, "c7n": {"ms": 40.0, "cpu_ms": 10.0, "calls": 3, "peak_rss_mb": 70,
                                              "log_bytes_per_event": 1300.0}}]}
    cost = bench.c7n_cost(side)
    # 40 ms plus its 10 ms of CPU stretched to 512/1,769 of a vCPU: 40 + (1769/512 - 1) * 10.
    assert cost["billed_ms"] == pytest.approx(40 + (1769 / 512 - 1) * 10)
    p = bench.PRICES
    assert cost["parts"]["duration"] == pytest.approx(0.5 * math.ceil(cost["billed_ms"]) / 1000 * p["lambda_x86_gb_second"] * 1e6)
    assert cost["parts"]["requests"] == pytest.approx(0.20)
    assert cost["parts"]["logs"] == pytest.approx((1300 + bench.PLATFORM_LOG_BYTES) / 2**30 * 0.50 * 1e6)
    assert cost["total"] == pytest.approx(sum(cost["parts"].values()))


def test_the_report_shows_the_side_by_side_as_ratios() -> None:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
    import custodian  # noqa: PLC0415
    side = {"c7n_version": "0.9.53", "spawns": 5, "warm_events": 20,
            "cold": {"guard": {"allowed": {"ms": 20.0, "calls": 3, "peak_rss_mb": 11.0},
                               "violating": {"ms": 40.0, "calls": 6, "peak_rss_mb": 12.0,
                                             "with_parse_and_claim_ms": 50.0}},
                     "c7n": {"allowed": {"ms": 660.0, "calls": 4, "peak_rss_mb": 70.0},
                             "violating": {"ms": 800.0, "calls": 5, "peak_rss_mb": 75.0}}},
            "warm": [{"endpoints": 0, "guard": {"ms": 5.0, "cpu_ms": 0.5, "calls": 2.0, "peak_rss_mb": 11,
                                                "serving_ms": 3.0, "above_floor_ms": 2.0},
                      "c7n": {"ms": 40.0, "cpu_ms": 20.0, "calls": 3.0, "peak_rss_mb": 70,
                              "serving_ms": 4.0, "above_floor_ms": 36.0}},
                     {"endpoints": 250, "guard": {"ms": 5.0, "cpu_ms": 0.5, "calls": 2.0, "peak_rss_mb": 11},
                      "c7n": {"ms": 80.0, "cpu_ms": 40.0, "calls": 6.0, "peak_rss_mb": 70}}]}
    text = custodian.report(side)
    assert "| cold, violating (MG: evaluate + enforce) | 40.0 ms | 800.0 ms | 1/20.0 |" in text
    assert "| cold, allowed (MG: evaluate) | 20.0 ms | 660.0 ms | 1/33.0 |" in text
    assert "| warm, allowed, 250 other endpoints | 5.00 ms (2.00 calls) | 80.00 ms (6.00 calls) | 1/16.0 |" in text
    assert "| peak RSS | 12.0 MiB | 75.0 MiB | 1/6.2 |" in text
    assert "(parse-event, evaluate, claim, enforce) | 50.0 ms | 800.0 ms | 1/16.0 |" in text
    assert "| warm, allowed, time above that floor | 2.00 ms | 36.00 ms | 1/18.0 |" in text
