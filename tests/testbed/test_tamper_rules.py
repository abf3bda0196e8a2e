"""The tamper rules (statemachine/tamper-rules.json) against a CloudTrail record of each tampering
act, with moto's EventBridge pattern matcher and input-transformer parser (moto cannot emit
CloudTrail events itself). The patterns are filled with the names in tests/events/tamper/values.json
as the CDK app fills them with the stack's own (cdk/lib/tamper.ts; cdk/test/tamper.test.ts pins
that the synthesized rules are these).

A fixture `<Rule>.<act>.json` must raise exactly that rule's alert, a JSON document naming the
event and the caller; `near-miss.<act>.json` (the same calls on what is not the guard's, reads,
another service) must raise none."""

from __future__ import annotations

import copy
import json
import pathlib
import re

import pytest
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILE = json.loads((ROOT / "statemachine/tamper-rules.json").read_text())
FIXTURES = ROOT / "tests/events/tamper"
VALUES = {k: v for k, v in json.loads((FIXTURES / "values.json").read_text()).items() if k != "comment"}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


def fill(value, values):  # noqa: ANN001, ANN201
    """The file's placeholder rule, as cdk/lib/tamper.ts `fillPattern` applies it: None when a
    list-valued placeholder has no values (the rule is not made)."""
    empty = False

    def names(v) -> list[str]:  # noqa: ANN001
        return PLACEHOLDER.findall(json.dumps(v))

    def replace(v, name, by):  # noqa: ANN001, ANN202
        if isinstance(v, str):
            return v.replace("${" + name + "}", by)
        if isinstance(v, list):
            return [replace(x, name, by) for x in v]
        if isinstance(v, dict):
            return {k: replace(x, name, by) for k, x in v.items()}
        return v

    def go(v):  # noqa: ANN001, ANN202
        nonlocal empty
        if isinstance(v, list):
            out = []
            for element in v:
                listed = [n for n in names(element) if isinstance(values.get(n), list)]
                if not listed:
                    out.append(go(element))
                    continue
                if not values[listed[0]]:
                    empty = True
                out.extend(go(replace(element, listed[0], one)) for one in values[listed[0]])
            return out
        if isinstance(v, str):
            def scalar(m: re.Match) -> str:
                given = values[m.group(1)]
                assert isinstance(given, str), f"{m.group(0)} is a list outside a list"
                return given
            return PLACEHOLDER.sub(scalar, v)
        if isinstance(v, dict):
            return {k: go(x) for k, x in v.items()}
        return v

    filled = go(value)
    return None if empty else filled


RULES = {name: EventPattern.load(json.dumps(fill(spec["pattern"], VALUES))) for name, spec in FILE["rules"].items()}


def fixtures():
    return sorted(p for p in FIXTURES.glob("*.json") if p.name != "values.json")


def matching(event: dict) -> list[str]:
    return sorted(name for name, pattern in RULES.items() if pattern.matches_event(event))


def alert(rule: str, event: dict) -> dict:
    """What the guard topic receives: the rule's target input transformer applied to the event."""
    transformer_input = copy.deepcopy(event)
    transformer_input["ingestion-time"] = event["time"]  # EventBridge's own, which moto's parser reads
    return EventTemplateParser.parse(
        input_template=FILE["inputTemplates"][FILE["rules"][rule]["what"]],
        input_paths_map=FILE["inputPathsMap"],
        event=transformer_input,
    )


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_each_tampering_act_raises_its_alert_and_each_near_miss_none(path: pathlib.Path):
    event = json.loads(path.read_text())
    expected = path.name.split(".")[0]
    if expected == "near-miss":
        assert matching(event) == [], f"{path.name} would be alerted as tampering"
        return
    assert matching(event) == [expected], f"{path.name}"
    document = alert(expected, event)
    detail = event["detail"]
    kind = "tamper" if FILE["rules"][expected]["what"] == "guard-changed" else FILE["rules"][expected]["what"]
    assert document["version"] == 1 and document["kind"] == kind
    assert detail["eventName"] in document["summary"] and detail["userIdentity"]["arn"] in document["summary"]
    if kind == "tamper":
        assert document["tamper"] == {
            "what": "guard-changed", "eventId": detail["eventID"],
            "detail": f"{detail['eventName']} ({detail['eventSource']}) by {detail['userIdentity']['arn']}",
        }
    else:
        assert document["write"]["eventId"] == detail["eventID"]
        assert document["write"]["caller"] == detail["userIdentity"]["arn"]
    # The whole CloudTrail record rides along: what was changed, and how.
    assert document["event"]["detail"] == detail


def test_every_rule_has_acts_and_every_service_has_near_misses():
    acts = {p.name.split(".")[0] for p in fixtures()}
    assert set(FILE["rules"]) <= acts, f"rules without a fixture: {set(FILE['rules']) - acts}"
    near = [json.loads(p.read_text())["source"] for p in fixtures() if p.name.startswith("near-miss.")]
    sources = {spec["pattern"]["source"][0] for spec in FILE["rules"].values()}
    assert sources - {"aws.cloudtrail", "aws.states"} <= set(near), sources - set(near)


def test_lambda_event_names_carry_api_versions_and_are_matched_by_prefix():
    # Lambda's CloudTrail eventNames end in the API version (UpdateFunctionCode20150331v2): an
    # exact name in the pattern would never match.
    functions = FILE["rules"]["Functions"]["pattern"]["detail"]["eventName"]
    assert all(set(m) == {"prefix"} for m in functions), functions


def test_without_the_stacks_trail_no_rule_about_its_bucket():
    assert fill(FILE["rules"]["TrailBucket"]["pattern"], {**VALUES, "TrailBucketNames": []}) is None
    assert fill(FILE["rules"]["Trails"]["pattern"], {**VALUES, "TrailBucketNames": []}) is not None
