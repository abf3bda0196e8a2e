"""Times one violation's path with grace 0, from submitting the event to the triage machine to
the endpoint's deletion (seen by polling DescribeEndpoint every 50 ms), on the testbed.

    scripts/testbed up && source .testbed/env && cd tests/e2e && ../../.venv/bin/python time_violation.py [RUNS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid

from conftest import ACCOUNT, Stack, event


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    stack = Stack()
    stack.policy({"pk": "model#timed-*", "principals": [f"arn:aws:iam::{ACCOUNT}:role/MLDeployer"],
                  "mode": "enforce", "graceSeconds": 0})
    times = []
    for _ in range(runs):
        _, config, endpoint = stack.endpoint("ep", "timed")
        event_id = str(uuid.uuid4())
        started = time.perf_counter()
        stack.sfn.start_execution(stateMachineArn=stack.triage_arn, name=f"t-{uuid.uuid4().hex}",
                                  input=json.dumps(event(event_id, "DataScientist", endpoint, config)))
        while stack.endpoint_status(endpoint) is not None:
            if time.perf_counter() - started > 60:
                raise AssertionError(f"{endpoint} still there after 60 s")
            time.sleep(0.05)
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"grace-0 violation, submission to deletion over {runs} runs: median {statistics.median(times):.2f} s, "
          f"min {times[0]:.2f} s, max {times[-1]:.2f} s")


if __name__ == "__main__":
    main()
