"""One central guard for an organization, measured on the testbed (issue 23): a burst of calls
from `--accounts` member accounts (made in moto's AWS Organizations) in 3 regions, delivered to
the triage machine as the central bus delivers them, each judged in its own account and region
through the member roles; then one run of the sweep machine over every place, with calls
EventBridge never delivered in some of them. Prints the figures as JSON.

    TESTBED_MEMBER_ACCOUNTS=organization TESTBED_MEMBER_REGIONS=eu-west-1,ap-southeast-2 \\
        scripts/testbed up && source .testbed/env
    .venv/bin/python bench/organization.py [--accounts 20] [--per-place 5] [--missed 10]

The testbed is one moto process and one instance of each function (cargo lambda watch): it
measures that the fan-out works and what it costs per event in requests, not AWS's throughput.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import pathlib
import sys
import threading
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "testbed"))
from conftest import ACCOUNT, REGION, Stack, call, client, event, member_client  # noqa: E402

REGIONS = [REGION, "eu-west-1", "ap-southeast-2"]


def in_place(ev: dict, account: str, region: str) -> dict:
    """The same call made in `account` and `region`, as EventBridge delivers it there."""
    return json.loads(json.dumps(ev).replace(ACCOUNT, account).replace(f'"{REGION}"', f'"{region}"')
                      .replace(f":{REGION}:", f":{region}:"))


def organization(n: int) -> list[str]:
    """`n` member accounts in moto's organization, each with the member stack's roles."""
    org = client("organizations")
    try:
        org.create_organization(FeatureSet="ALL")
    except org.exceptions.AlreadyInOrganizationException:
        pass
    accounts = []
    for _ in range(n):
        status = org.create_account(AccountName=f"bench-{uuid.uuid4().hex[:6]}",
                                    Email=f"{uuid.uuid4().hex[:8]}@example.com")["CreateAccountStatus"]
        account = status["AccountId"]
        iam = member_client("iam", account, REGION)
        for role in ("ModelGuardMember", "ModelGuardMemberEnforce"):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")
        accounts.append(account)
    return accounts


def prepare(stack: Stack, account: str, region: str) -> dict:
    """In one place: an allowed config (the deployer's model) and a violating endpoint, their
    CreateModel and CreateEndpointConfig calls delivered so their records are kept."""
    sm = member_client("sagemaker", account, region)
    made = {}
    for kind in ("ok", "bad"):
        model, config = f"orgbench-{kind}-{uuid.uuid4().hex[:6]}", f"cfg-{uuid.uuid4().hex[:6]}"
        exec_role = f"arn:aws:iam::{account}:role/Exec"
        sm.create_model(ModelName=model, ExecutionRoleArn=exec_role, PrimaryContainer={"Image": "img:1"})
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
            {"VariantName": "v0", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
        for recorded in (
            call(str(uuid.uuid4()), "MLDeployer", "CreateModel",
                 {"modelName": model, "executionRoleArn": exec_role, "primaryContainer": {"image": "img:1"}}, None),
            call(str(uuid.uuid4()), "MLDeployer", "CreateEndpointConfig",
                 {"endpointConfigName": config, "productionVariants": [{"variantName": "v0", "modelName": model}]},
                 None),
        ):
            run = stack.submit(in_place(recorded, account, region))
            assert run["status"] == "SUCCEEDED", run
        made[kind] = config
    made["endpoint"] = f"orgbench-bad-{uuid.uuid4().hex[:6]}"
    sm.create_endpoint(EndpointName=made["endpoint"], EndpointConfigName=made["bad"])
    made["sagemaker"] = sm
    return made


def summary(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {"n": len(values), "p50": round(pick(0.5)), "p90": round(pick(0.9)), "p99": round(pick(0.99)),
            "max": round(values[-1])}


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def burst(stack: Stack, places: dict, per_place: int, in_flight: int) -> dict:
    """`per_place` CreateEndpoint calls in each place: one by DataScientist (a violation, grace 0,
    of a real endpoint there), the rest by the allowed deployer."""
    plan = []
    for (account, region), made in places.items():
        plan.append(("violation", account, region, in_place(
            event(str(uuid.uuid4()), "DataScientist", made["endpoint"], made["bad"]), account, region)))
        for i in range(per_place - 1):
            plan.append(("allowed", account, region, in_place(
                event(str(uuid.uuid4()), "MLDeployer", f"orgbench-ok-{i}", made["ok"]), account, region)))
    terminal = {"allowed": {"allowed"}, "violation": {"enforced", "failed"}}
    submitted: dict[str, float] = {}
    done: dict[str, dict] = {}
    slots = threading.Semaphore(in_flight)
    lock = threading.Lock()

    def run(item) -> None:  # noqa: ANN001
        kind, _, _, ev = item
        slots.acquire()
        event_id = ev["detail"]["eventID"]
        with lock:
            submitted[event_id] = time.time()
        try:
            stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"o-{uuid.uuid4().hex}",
                                      input=json.dumps(ev))
            deadline = time.time() + 180
            while time.time() < deadline:
                audit = stack.audit(event_id)
                if audit and audit["state"] in terminal[kind]:
                    with lock:
                        done[event_id] = audit
                    return
                time.sleep(0.25)
        finally:
            slots.release()

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(run, plan))
    kinds = {ev["detail"]["eventID"]: kind for kind, _, _, ev in plan}
    last = max((parse_time(i["updatedAt"]) for i in done.values()), default=started)
    wrong_place = [e for e, item in done.items()
                   if (item["verdict"].get("account"), item["verdict"].get("region")) not in places]
    deleted = sum(1 for made in places.values() if endpoint_gone(made["sagemaker"], made["endpoint"]))
    return {"events": len(plan), "places": len(places), "terminal": len(done),
            "states": {s: sum(1 for i in done.values() if i["state"] == s) for s in ("allowed", "enforced", "failed")},
            "judged_in_another_place": len(wrong_place), "violating_endpoints_deleted_in_their_place": deleted,
            "to_last_terminal_s": round(last - started, 1),
            "events_per_second": round(len(done) / max(last - started, 1e-9), 2),
            "allowed_to_verdict_ms": summary([(parse_time(done[e]["decidedAt"]) - submitted[e]) * 1000
                                              for e in done if kinds[e] == "allowed"]),
            "violation_to_enforced_ms": summary([(parse_time(done[e]["updatedAt"]) - submitted[e]) * 1000
                                                 for e in done if kinds[e] == "violation"])}


def endpoint_gone(sm, name: str) -> bool:  # noqa: ANN001
    try:
        sm.describe_endpoint(EndpointName=name)
    except sm.exceptions.ClientError:
        return True
    return False


def sweep(stack: Stack, places: dict, missed: int) -> dict:
    """Calls EventBridge never delivered in `missed` places, in their CloudTrail; one run of the
    sweep machine over every place."""
    records = []
    expected = []
    for (account, region), made in list(places.items())[:missed]:
        ev = in_place(event(str(uuid.uuid4()), "MLDeployer", "orgbench-missed", made["ok"]), account, region)
        records.append(ev["detail"])
        expected.append(ev["detail"]["eventID"])
    urllib.request.urlopen(urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/testbed/cloudtrail/records",
        data=json.dumps({"records": records}).encode(), method="POST"))
    started = time.time()
    report = stack.sweep()
    took = time.time() - started
    deadline = time.time() + 120
    while time.time() < deadline and not all(stack.audit(e) for e in expected):
        time.sleep(0.5)
    # The places the run looked in: the machine's first answer, asked again.
    answer = stack.lam.invoke(FunctionName="sweep", Payload=json.dumps({"step": "places"}))
    listed = json.loads(answer["Payload"].read())
    return {"places": len(listed["places"]), "membership": listed["membership"], "missed": missed,
            "submitted": len(set(report["submitted"]) & set(expected)),
            "decided": sum(1 for e in expected if stack.audit(e)), "run_s": round(took, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--per-place", type=int, default=5)
    parser.add_argument("--missed", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    if os.environ.get("MEMBER_ACCOUNTS") != "organization":
        sys.exit("start the testbed with TESTBED_MEMBER_ACCOUNTS=organization (see the docstring)")
    stack = Stack()
    stack.policy({"pk": "model#orgbench-ok-*", "principals": ["arn:aws:iam::*:role/MLDeployer"],
                  "mode": "enforce", "graceSeconds": 0})
    stack.policy({"pk": "model#orgbench-bad-*", "principals": ["arn:aws:iam::*:role/MLDeployer"],
                  "mode": "enforce", "graceSeconds": 0})
    t = time.time()
    accounts = organization(args.accounts)
    places = {}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        made = pool.map(lambda p: (p, prepare(stack, *p)), [(a, r) for a in accounts for r in REGIONS])
        places = dict(made)
    setup_s = time.time() - t
    result = {"accounts": len(accounts), "regions": REGIONS, "setup_s": round(setup_s, 1),
              "burst": burst(stack, places, args.per_place, args.in_flight),
              "sweep": sweep(stack, places, args.missed)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
