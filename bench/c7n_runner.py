"""Cloud Custodian's Lambda entry point, run as its Lambda would run it, for bench/custodian.py:
one fresh Python process (a cold start), `c7n.handler` imported as Lambda's init imports it, then
each event handed to `dispatch_event` in turn. Runs in .venv-c7n (c7n pins its own boto3).

Usage: c7n_runner.py CONFIG_DIR EVENTS_JSON  -> prints {"init_ms", "durations_ms", "peak_rss_mb",
"cpu_ms"} as JSON on its last line."""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time

started = time.perf_counter()
config_dir, events_file = sys.argv[1], sys.argv[2]
os.chdir(config_dir)  # dispatch_event reads config.json from the working directory, as in Lambda
# Lambda's Python runtime logs every record that reaches the root logger (c7n sets it to DEBUG), in
# this form; what it writes is billed as CloudWatch Logs ingestion.
logging.basicConfig(stream=sys.stderr, format="[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s",
                    level=logging.DEBUG)
logging.getLogger().handlers[0].addFilter(lambda record: setattr(record, "aws_request_id", "bench") or True)

import c7n.handler  # noqa: E402 - Lambda's init: the handler module imported

init_ms = (time.perf_counter() - started) * 1000


class Context:
    """What c7n reads of Lambda's context object."""

    function_name = "custodian-sagemaker-endpoint-deployer"
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:custodian-sagemaker-endpoint-deployer"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


with open(events_file) as f:
    events = json.load(f)
durations, cpu = [], []
for event in events:
    t0, c0 = time.perf_counter(), time.process_time()
    c7n.handler.dispatch_event(event, Context())
    durations.append((time.perf_counter() - t0) * 1000)
    cpu.append((time.process_time() - c0) * 1000)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"init_ms": init_ms, "durations_ms": durations, "cpu_ms": cpu, "peak_rss_mb": peak}))
