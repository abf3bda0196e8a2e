"""Faults at random, for the chaos soak (scripts/soak): the testbed's fault mechanism, switched on
by ``POST /testbed/chaos`` and off by ``POST /testbed/chaos {"off": true}``; nothing in the guard's
code knows of it.

Every request but the soak's own (its User-Agent names ``model-guard-soak``) and the testbed's
routes draws once from a seeded generator (each rate is a share of requests, ``seed`` seeds it):

- ``throttle``: refused as the service refuses a request over its rate (JSON services
  ``ThrottlingException``, Lambda 429 ``TooManyRequestsException``, SNS 429 ``Throttled``, STS and
  IAM ``Throttling``), before it has any effect;
- ``error5xx``: 500 ``InternalFailure`` (Lambda ``ServiceException``), before any effect;
- ``timeout``: held for HOLD_SECONDS, longer than the functions' per-attempt timeout, then served
  (the caller gave up; the call took effect late, as a slow AWS does);
- ``after``: served, then answered 500 as though the answer was lost: the call took effect and the
  caller does not know. A Publish answered so, or held so, can make a duplicate alert: each is
  counted by the alert it carried (``publishedThenFailed``);
- ``kill`` (Lambda invocations only, made by Step Functions): the function's binary is run as
  Lambda would for this one invocation and SIGKILLed at a random moment within KILL_WINDOW
  seconds (``killWindow``) of taking the event; if it died before answering, the answer is Lambda's for a runtime
  that exited (``Runtime.ExitError``). Its output goes to the launcher's log. ``killOnly`` (function
  names) and ``killLimit`` (a count) narrow the kills, for a test that kills one step once.

``GET /testbed/requests`` counts every AWS request served, by client (the ``app/<id>`` of its
User-Agent, else ``guard`` for the Rust SDK's, else ``other``) and service, since the last
``POST /testbed/requests`` (which zeroes it): the benchmarks' AWS calls per event. ``GET
/testbed/requests/ms`` gives, by client, the milliseconds the emulator spent serving them (with no
faults planned): the floor under a benchmark's time.

``GET /testbed/chaos`` gives what was injected: per ``<service>/<kind>``, the invocations killed
(and those that answered before the kill landed), each fault by the event its request named
(``faultsAbout``, with its time), and when SNS accepted each publish of an alert
(``published``, by ``<eventId>:<kind>``): a repeated alert is explained by a fault about its event
between its first publish and its last.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import pathlib
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from urllib.parse import parse_qs

SPARED_AGENT = "model-guard-soak"
# Longer than the functions' per-attempt timeout (functions/aws/src/lambda.rs ATTEMPT_TIMEOUT).
HOLD_SECONDS = 6.0
KILL_WINDOW = 0.25
KINDS = ("throttle", "error5xx", "timeout", "after")
ROOT = pathlib.Path(__file__).resolve().parents[2]


class Plan:
    """The rates in force and what they injected, shared by the middleware and Lambda's invoke."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rates: dict[str, float] | None = None
        self.rng = random.Random(0)
        self.counts: Counter[str] = Counter()
        self.published_then_failed: Counter[str] = Counter()
        self.published: dict[str, list[float]] = {}
        self.faults_about: dict[str, list[dict]] = {}
        self.killed: list[dict] = []
        self.answered_before_kill = 0
        self.kill_window = KILL_WINDOW
        self.kill_only: set[str] = set()
        self.kills_left: int | None = None

    def set(self, request: dict) -> dict:
        with self.lock:
            if request.get("off"):
                self.rates = None
            else:
                self.rates = {kind: float(request.get(kind, 0.0)) for kind in (*KINDS, "kill")}
                self.kill_window = float(request.get("killWindow", KILL_WINDOW))
                self.kill_only = set(request.get("killOnly") or [])
                self.kills_left = request.get("killLimit")
                self.rng = random.Random(request.get("seed", 0))
                self.counts.clear()
                self.published_then_failed.clear()
                self.published.clear()
                self.faults_about.clear()
                self.killed.clear()
                self.answered_before_kill = 0
            return {"rates": self.rates}

    def report(self) -> dict:
        with self.lock:
            return {"rates": self.rates, "injected": dict(self.counts),
                    "publishedThenFailed": dict(self.published_then_failed),
                    "published": dict(self.published), "faultsAbout": dict(self.faults_about),
                    "killed": list(self.killed), "answeredBeforeKill": self.answered_before_kill}

    def draw(self) -> str | None:
        """One of KINDS, or None for a request served as usual."""
        with self.lock:
            if self.rates is None:
                return None
            roll = self.rng.random()
            for kind in KINDS:
                roll -= self.rates[kind]
                if roll < 0:
                    return kind
            return None

    def draw_kill(self, function: str) -> float | None:
        """When to kill this invocation of `function` (seconds after it took the event), or None."""
        with self.lock:
            if self.rates is None or self.kill_only and function not in self.kill_only or self.kills_left == 0:
                return None
            if self.rng.random() >= self.rates["kill"]:
                return None
            if self.kills_left is not None:
                self.kills_left -= 1
            return self.rng.uniform(0.0, self.kill_window)

    def count(self, key: str, event_id: str | None) -> None:
        with self.lock:
            self.counts[key] += 1
            if event_id:
                self.faults_about.setdefault(event_id, []).append({"at": time.time(), "fault": key})


PLAN = Plan()


def service_of(environ: dict) -> str:
    """The SigV4 scope's service (`.../us-east-1/sns/aws4_request`), as AWS routes by it."""
    found = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else "unknown"


def refusal(environ: dict, service: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """What `service` answers for a throttled request (kind "throttle") or an internal error."""
    throttled = kind == "throttle"
    request_id = str(uuid.uuid4())  # every AWS answer carries one; callers (moto's Step Functions) read it
    if environ.get("HTTP_X_AMZ_TARGET"):  # the JSON protocols: DynamoDB, SageMaker, KMS, Step Functions, CloudTrail
        code = "ThrottlingException" if throttled else "InternalFailure"
        body = json.dumps({"__type": code, "message": "Rate exceeded" if throttled else "Internal failure"}).encode()
        status = "400 Bad Request" if throttled else "500 Internal Server Error"
        return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code),
                        ("x-amzn-RequestId", request_id)], body
    if service == "lambda":
        code = "TooManyRequestsException" if throttled else "ServiceException"
        body = json.dumps({"Type": "User" if throttled else "Service", "message": "Rate exceeded"}).encode()
        status = "429 Too Many Requests" if throttled else "500 Internal Server Error"
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                        ("x-amzn-RequestId", request_id)], body
    # The query protocols (SNS, STS, IAM): an XML ErrorResponse.
    if throttled:
        code, status = ("Throttled", "429 Too Many Requests") if service == "sns" else ("Throttling", "400 Bad Request")
    else:
        code, status = "InternalFailure", "500 Internal Server Error"
    body = (f"<ErrorResponse><Error><Type>{'Sender' if throttled else 'Receiver'}</Type><Code>{code}</Code>"
            f"<Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body


def client_of(agent: str) -> str:
    found = re.search(r"\bapp/([^ ]+)", agent)
    if found:
        return found.group(1)
    return "guard" if "aws-sdk-rust" in agent else "other"


class Chaos:
    """WSGI middleware: the faults of the plan in force (none until one is posted), and the count of
    requests served."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.requests: Counter[tuple[str, str]] = Counter()
        # Milliseconds the emulator spent serving each client's requests (chaos off): the floor
        # under a benchmark's time, which no client can go below.
        self.serving_ms: Counter[str] = Counter()

    def __call__(self, environ, start_response):  # noqa: ANN001
        path = environ.get("PATH_INFO", "")
        if path in ("/testbed/requests", "/testbed/requests/ms"):
            with PLAN.lock:
                if environ["REQUEST_METHOD"] == "POST":
                    self.requests.clear()
                    self.serving_ms.clear()
                counted: dict[str, dict[str, int]] = {}
                for (client, service), n in self.requests.items():
                    counted.setdefault(client, {})[service] = n
                answer = dict(self.serving_ms) if path.endswith("/ms") else counted
            payload = json.dumps(answer).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        client = None
        if not path.startswith(("/testbed/", "/moto-api", "/lambda-url/")):
            client = client_of(environ.get("HTTP_USER_AGENT", ""))
            with PLAN.lock:
                self.requests[(client, service_of(environ))] += 1
        if path == "/testbed/chaos":
            if environ["REQUEST_METHOD"] == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                answer = PLAN.set(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            else:
                answer = PLAN.report()
            payload = json.dumps(answer).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        if client is None:
            return self.app(environ, start_response)
        if SPARED_AGENT in environ.get("HTTP_USER_AGENT", ""):
            return self.timed(client, environ, start_response)
        service = service_of(environ)
        if PLAN.rates is None and service != "sns":
            return self.timed(client, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(request)
        kind = PLAN.draw()
        if kind is None:
            return self.served(environ, start_response, service, request)
        about = event_named(request)
        if kind in ("throttle", "error5xx"):
            PLAN.count(f"{service}/{kind}", about)
            status, headers, body = refusal(environ, service, kind)
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        if kind == "timeout":
            time.sleep(HOLD_SECONDS)
            answer = self.served(environ, start_response, service, request)
            PLAN.count(f"{service}/{kind}", about)  # stamped once served: the caller has given up by then
            self.note_lost_publish(service, request)  # the caller retried it meanwhile: a second publish
            return answer
        # "after": served in full, then the answer is lost.
        b"".join(self.served(environ, lambda *_args, **_kw: None, service, request))
        PLAN.count(f"{service}/{kind}", about)
        self.note_lost_publish(service, request)
        status, headers, body = refusal(environ, service, "error5xx")
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def timed(self, client: str, environ, start_response) -> list[bytes]:  # noqa: ANN001
        """Serves the request in full (moto answers whole bodies), counting the time it took."""
        started = time.perf_counter()
        answer = self.app(environ, start_response)
        try:
            body = [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()
        with PLAN.lock:
            self.serving_ms[client] += (time.perf_counter() - started) * 1000
        return body

    @staticmethod
    def note_lost_publish(service: str, request: bytes) -> None:
        """A publish SNS accepted whose answer the caller never had: its alert may come twice."""
        alert = published_alert(request) if service == "sns" else None
        if alert:
            with PLAN.lock:
                PLAN.published_then_failed[alert] += 1

    def served(self, environ, start_response, service: str, request: bytes):  # noqa: ANN001, ANN201
        """Serves the request; a Publish SNS accepts is noted with its time, by the alert it carried."""
        statuses = []
        answer = self.app(environ, lambda status, *a, **kw: statuses.append(status) or start_response(status, *a, **kw))
        if service == "sns":
            body = b"".join(answer)
            alert = published_alert(request)
            if alert and statuses and statuses[0].startswith("200"):
                with PLAN.lock:
                    PLAN.published.setdefault(alert, []).append(time.time())
            return [body]
        return answer


EVENT_ID = re.compile(r'"eventI[dD]"\s*:\s*(?:\{\s*"S"\s*:\s*)?"([^"]+)"')


def event_named(request: bytes) -> str | None:
    """The event a request is about, where it names one: a DynamoDB key, a step's input, an alert."""
    alert = published_alert(request)
    if alert:
        return alert.rsplit(":", 1)[0]
    found = EVENT_ID.search(request.decode(errors="replace"))
    return found.group(1) if found else None


def published_alert(request: bytes) -> str | None:
    """`<eventId>:<kind>` of the alert a Publish carried, if it carried one (with
    `MessageStructure=json`, the document is the `default` protocol's message)."""
    form = parse_qs(request.decode(errors="replace"))
    if form.get("Action", [""])[0] != "Publish":
        return None
    try:
        document = json.loads(form.get("Message", ["{}"])[0])
        if form.get("MessageStructure", [""])[0] == "json" and isinstance(document, dict):
            document = json.loads(document.get("default", "{}"))
    except (ValueError, TypeError):
        return None
    verdict = document.get("verdict") if isinstance(document, dict) else None
    event_id = verdict.get("eventId") if isinstance(verdict, dict) else None
    return f"{event_id}:{document.get('kind')}" if isinstance(event_id, str) else None


# --- a function process killed mid-invocation --------------------------------------------------


def binary(name: str) -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return target / ("release" if os.environ.get("TESTBED_PROFILE") == "release" else "debug") / name


def killed_invocation(name: str, body: bytes, after: float, response_headers: dict) -> bytes:
    """Runs `name`'s binary for this one invocation, as Lambda runs a fresh sandbox, and kills it
    `after` seconds after it takes the event. Returns what Lambda answers."""
    taken, ended, answered = threading.Event(), threading.Event(), {}

    class RuntimeApi(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

        def do_GET(self) -> None:  # noqa: N802
            if after == 0:  # killed as it asks for the event: never answers, whatever the machine's load
                taken.set()
                ended.wait(60)
                return
            if taken.is_set():  # the next invocation never comes: the sandbox is killed while it waits
                ended.wait(60)
                return
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             f"arn:aws:lambda:us-east-1:123456789012:function:{name}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            taken.set()

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            answered["body"] = self.rfile.read(length)
            answered["error"] = self.path.endswith("/error")
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
           "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
           "AWS_LAMBDA_LOG_STREAM_NAME": "chaos"}
    try:
        process = subprocess.Popen([str(binary(name))], env=env)
        if taken.wait(30):
            time.sleep(after)
        process.send_signal(signal.SIGKILL)
        process.wait()
    except OSError as error:  # the binary is not built: Lambda's answer for a function that cannot start
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": str(error)}).encode()
    finally:
        ended.set()
        server.shutdown()
        server.server_close()
    if "body" in answered:
        with PLAN.lock:
            PLAN.answered_before_kill += 1
        if answered["error"]:
            response_headers["x-amz-function-error"] = "Unhandled"
        return answered["body"]
    with PLAN.lock:
        event_id = event_named(body)
        PLAN.killed.append({"function": name, "eventId": event_id, "afterMs": round(after * 1000)})
        if event_id:
            PLAN.faults_about.setdefault(event_id, []).append({"at": time.time(), "fault": f"lambda/kill {name}"})
    response_headers["x-amz-function-error"] = "Unhandled"
    request_id = uuid.uuid4()
    return json.dumps({"errorType": "Runtime.ExitError",
                       "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"}).encode()


def invoke_or_kill(name: str, body: bytes, response_headers: dict) -> bytes | None:
    """A killed invocation's answer when the plan draws a kill for this one; else None."""
    after = PLAN.draw_kill(name)
    if after is None:
        return None
    return killed_invocation(name, body, after, response_headers)

