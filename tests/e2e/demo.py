"""The demo's story, played on the testbed through the real pipeline: the example policy is
loaded, four deployments happen, and what Model Guard did is printed as a timeline, with the
alerts a subscriber receives. Run by scripts/demo (which starts and stops the testbed)."""

from __future__ import annotations

import threading
import time
import uuid

from conftest import ACCOUNT, Stack, event
from test_scenarios import approve

ROLE = f"arn:aws:iam::{ACCOUNT}:role"
POLICY = [
    {"pk": "model#fraud-*", "principals": [f"{ROLE}/MLDeployer"], "mode": "enforce", "graceSeconds": 8,
     "approvers": [f"{ROLE}/SecurityOps*"],
     "description": "Fraud models reach production only through the deployment pipeline."},
    {"pk": "model#llama-*", "principals": [f"{ROLE}/MLPlatformAdmin"], "mode": "notify",
     "description": "LLMs: platform admins deploy them; others are reported."},
    {"pk": "default", "principals": [f"{ROLE}/MLDeployer"], "mode": "notify"},
]

started = time.time()
lock = threading.Lock()


def say(text: str) -> None:
    with lock:
        print(f"  t+{time.time() - started:5.1f}s  {text}", flush=True)


def main() -> None:
    stack = Stack()
    print("\nThe policy (DynamoDB, as an operator would store it):")
    for item in POLICY:
        stack.policy(item)
        print(f"  {item['pk']:<16} principals {', '.join(p.rsplit('/', 1)[1] for p in item['principals']) or '-'}"
              f"; mode {item['mode']}" + (f"; grace {item['graceSeconds']} s" if "graceSeconds" in item else ""))

    print("\nThe story (CloudTrail events, as EventBridge delivers them to the triage machine):")
    runs = []

    def deploy(who: str, model_prefix: str, endpoint_prefix: str, what: str) -> tuple[str, str]:
        _, config, endpoint = stack.endpoint(endpoint_prefix, model_prefix)
        event_id = str(uuid.uuid4())
        say(f"{who} creates endpoint {endpoint} ({what})")
        triage = stack.submit(event(event_id, who, endpoint, config))
        verdict = stack.audit(event_id)["verdict"]
        say(f"  verdict: {verdict['decision']}, action {verdict['action']}"
            + (f", grace {verdict['graceSeconds']} s" if verdict["decision"] == "violation" else "")
            + f" (triage {triage['status'].lower()})")
        runs.append((event_id, endpoint, what))
        return event_id, endpoint

    deploy("MLDeployer", "fraud-v3", "fraud-prod", "the pipeline deploys fraud-v3")
    _, scratch_endpoint = deploy("DataScientist", "fraud-v3", "fraud-scratch", "a data scientist copies fraud-v3")
    shadow, shadow_endpoint = deploy("DataScientist", "fraud-v4", "fraud-shadow", "a shadow test of fraud-v4")
    deploy("DataScientist", "llama-3", "llama-chat", "an LLM under a notify-only binding")

    for _ in range(50):
        if (stack.audit(shadow) or {}).get("state") == "pending":
            break
        time.sleep(0.1)
    say(f"SecurityOps (carol) approves {shadow_endpoint}: \"shadow test agreed with the risk team\"")
    answer = approve(stack, f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/carol", shadow_endpoint, "approve",
                     "shadow test agreed with the risk team")
    say(f"  approval function: {answer['status']} {answer['body'].get('outcome', answer['body'].get('reason'))}")

    say(f"... nobody approves {scratch_endpoint}; its {POLICY[0]['graceSeconds']} s grace period runs out")
    for event_id, _, _ in runs:
        if stack.enforcements(event_id):
            stack.wait(stack.enforcement(event_id), 60)
    say("every enforcement execution has ended")

    print("\nWhat a subscriber received (SNS → SQS; e-mail subscribers get the same as readable text):")
    for event_id, endpoint, what in runs:
        for message in stack.messages(event_id):
            document = message["document"]
            extra = ""
            if document.get("approval"):
                extra += f" — approved by {document['approval']['by'].rsplit('/', 1)[1]}: {document['approval']['reason']}"
            if document.get("enforcement"):
                extra += f" — outcome {document['enforcement']['outcome']}"
            print(f"  [{document['kind']}] {message['subject']}{extra}")

    print("\nWhere everything ended:")
    for event_id, endpoint, what in runs:
        status = stack.endpoint_status(endpoint) or "deleted"
        print(f"  {endpoint:<22} {status:<10} audit: {stack.audit(event_id)['state']:<9} ({what})")
    print(f"\nThe story took {time.time() - started:.1f} s on the testbed.")


if __name__ == "__main__":
    main()
