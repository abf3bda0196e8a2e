"""The EventBridge rule's pattern (statemachine/event-pattern.json) against every event fixture,
with moto's EventPattern matcher (moto's EventBridge does not route to Step Functions, but its
matcher implements the pattern language). ParseEvent, the real binary behind the testbed's
Lambda API, says what each fixture is.

Failed calls are filtered by the rule (`errorCode` must not exist): they create nothing, so they
cost no triage run. ParseEvent ignores them as well, for events that reach it another way."""

from __future__ import annotations

import json
import pathlib

from moto.events.models import EventPattern

from test_launcher import client, function

ROOT = pathlib.Path(__file__).resolve().parents[2]
PATTERN = EventPattern.load((ROOT / "statemachine/event-pattern.json").read_text())


def fixtures():
    for path in sorted((ROOT / "tests/events").glob("*.json")):
        try:
            yield path.name, json.loads(path.read_text())
        except ValueError:
            continue  # not JSON: EventBridge never delivers such a thing


def test_exactly_the_covered_successful_calls_match():
    lam = client("lambda")
    function(lam, "parse-event")
    seen = {"request": 0, "matched-but-malformed": 0, "not-matched": 0}
    for name, event in fixtures():
        matched = isinstance(event, dict) and PATTERN.matches_event(event)
        response = lam.invoke(FunctionName="parse-event", Payload=json.dumps(event))
        outcome = json.loads(response["Payload"].read())["outcome"]
        if outcome in ("request", "record"):
            # Never lose a covered call, or a call a later deployment is judged by, at the rule.
            assert matched, f"{name}: a covered or recorded call that the rule would drop"
            seen["request"] += 1
        elif matched:
            # What the rule lets through and ParseEvent ignores is only what no pattern can see:
            # a covered, successful call whose fields are broken.
            assert name.startswith("malformed-"), f"{name}: matched, yet ParseEvent ignores it"
            seen["matched-but-malformed"] += 1
        else:
            seen["not-matched"] += 1
        if name.startswith("failed-"):
            assert not matched, f"{name}: failed calls are filtered by the rule"
    assert seen["request"] >= 30 and seen["not-matched"] >= 10, seen
