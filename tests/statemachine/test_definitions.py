"""Static checks of the three state machine definitions (their runs on the emulator are the
end-to-end tests): every `${...}` placeholder is one the CDK app and the tests fill in, every
transition leads to a state, and every Lambda task retries the errors AWS recommends retrying."""

from __future__ import annotations

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLACEHOLDERS = {
    "ParseEventFunctionArn",
    "RecordFunctionArn",
    "EvaluateFunctionArn",
    "ClaimFunctionArn",
    "EnforceFunctionArn",
    "NotifyFunctionArn",
    "EnforcementStateMachineArn",
    "DecisionsTableName",
    "SweepFunctionArn",
    "ScanFunctionArn",
}
LAMBDA_RETRIED = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    # A function whose process died (out of memory, timed out, killed): Step Functions reports it as
    # Lambda.Unknown, Lambda's Invoke answer as Runtime.ExitError (the testbed's chaos kill). Every
    # step is safe to run again, so a crash is retried, not taken as the step's answer.
    "Lambda.Unknown",
    "Runtime.ExitError",
}


def definitions():
    for name in ("triage", "enforcement", "sweep", "scan"):
        text = (ROOT / f"statemachine/{name}.asl.json").read_text()
        yield name, text, json.loads(text)


def test_placeholders_are_known():
    for name, text, _ in definitions():
        found = set(re.findall(r"\$\{([^}]*)\}", text))
        assert found <= PLACEHOLDERS, (name, found - PLACEHOLDERS)


def graphs(doc: dict):
    """A definition's state graphs: its own, and each Map's (which has its own StartAt)."""
    yield doc
    for state in doc["States"].values():
        if state["Type"] == "Map":
            yield from graphs(state.get("ItemProcessor") or state["Iterator"])


def all_states(doc: dict):
    for graph in graphs(doc):
        yield from graph["States"].items()


def test_every_transition_leads_to_a_state_and_every_state_is_reached():
    for name, _, doc in definitions():
        for graph in graphs(doc):
            states = graph["States"]
            targets = {graph["StartAt"]}
            for state in states.values():
                targets.update(t for t in [state.get("Next"), state.get("Default")] if t)
                targets.update(c["Next"] for c in state.get("Choices", []))
                targets.update(c["Next"] for c in state.get("Catch", []))
            assert targets <= set(states), (name, targets - set(states))
            assert set(states) <= targets, (name, "unreachable", set(states) - targets)


def test_every_lambda_task_retries_what_aws_recommends():
    for name, _, doc in definitions():
        for state_name, state in all_states(doc):
            if state["Type"] == "Task" and "lambda:invoke" in state["Resource"]:
                retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
                assert LAMBDA_RETRIED <= retried, (name, state_name)


def test_a_busy_resource_is_never_given_up_and_each_execution_stays_under_the_history_cap():
    # The attack: keep an endpoint Updating (long health checks, repeated updates) until the
    # guard gives up. No Retry on ResourceBusy, whose MaxAttempts would end it; a loop through a
    # Wait of the interval Claim gives (the stack's busyRetrySeconds), counted down, then a
    # hand-over to a fresh execution, which the machine starts itself.
    _, _, doc = next(d for d in definitions() if d[0] == "enforcement")
    states = doc["States"]
    enforce = states["Enforce"]
    assert not any("ModelGuard.ResourceBusy" in r["ErrorEquals"] for r in enforce["Retry"])
    busy = next(c for c in enforce["Catch"] if c["ErrorEquals"] == ["ModelGuard.ResourceBusy"])
    assert enforce["Catch"].index(busy) == 0, "caught before the catch-all that fails the enforcement"
    assert busy["Next"] == "AttemptsLeft?"
    left = states["AttemptsLeft?"]
    assert left["Choices"] == [{"Variable": "$.busy.attemptsLeft", "NumericLessThanEquals": 1, "Next": "HandOver"}]
    assert left["Default"] == "CountAttempt"
    assert states["CountAttempt"]["Parameters"]["attemptsLeft.$"] == "States.MathAdd($.busy.attemptsLeft, -1)"
    assert states["CountAttempt"]["Next"] == "WaitWhileBusy"
    assert states["WaitWhileBusy"] == {"Type": "Wait", "SecondsPath": "$.busy.retrySeconds", "Next": "Enforce"}
    assert states["HandOver"]["Parameters"]["Payload"]["handOver"] == {"error.$": "$.busyError"}
    assert states["HandedOver?"]["Choices"][0]["Next"] == "StartContinuation"
    start = states["StartContinuation"]
    assert start["Parameters"]["StateMachineArn.$"] == "$$.StateMachine.Id"
    # Claim's whole output (a "next" it leaves out when it stands would be a States.Runtime error,
    # which no Catch takes).
    assert states["HandOver"]["ResultSelector"] == {"claim.$": "$.Payload"}
    assert states["HandedOver?"]["Choices"][0]["Variable"] == "$.handOver.claim.proceed"
    assert start["Parameters"]["Name.$"] == "$.handOver.claim.next"
    assert start["Parameters"]["Input"] == {"version": 1, "eventId.$": "$.eventId"}
    # Whatever fails in the hand-over ends the execution as failed: the sweep restarts it.
    for name in ("HandOver", "StartContinuation"):
        assert [c["Next"] for c in states[name]["Catch"]] == ["ContinuationNotStarted"], name
    assert states["ContinuationNotStarted"]["Type"] == "Fail"

    # The history one execution can reach: Claim and the wait's states, plus per busy attempt
    # Enforce (4 events, 3 more per retry it allows), the Choice, the Pass and the Wait (2 each).
    custody = (ROOT / "functions/core/src/custody.rs").read_text()
    most = int(re.search(r"MAX_ATTEMPTS_PER_EXECUTION: u32 = (\d+);", custody).group(1))
    per_attempt = 4 + 3 * sum(r["MaxAttempts"] for r in enforce["Retry"]) + 3 * 2
    before = 200  # Claim with every retry, the approval wait, the Notify steps
    assert before + most * per_attempt < 25_000, (most, per_attempt)


def retry_waits(state: dict) -> float:
    return sum(
        retry["IntervalSeconds"] * retry["BackoffRate"] ** i
        for retry in state.get("Retry", [])
        for i in range(retry["MaxAttempts"])
    )


def test_triage_retries_fit_in_an_express_run():
    # Express executions end after 300 s; retries that outlast it would lose the event. Each
    # path through the triage (a record, or a deployment) is one run.
    _, _, doc = next(d for d in definitions() if d[0] == "triage")
    states = doc["States"]
    # A failing path ends by writing the ledger entry; a settled one by deleting it.
    paths = {"record": ["ParseEvent", "Record", "Settle"],
             "deployment": ["ParseEvent", "Evaluate", "StartEnforcement", "Settle"],
             "failed record": ["ParseEvent", "Record", "NoteUndecided"],
             "failed deployment": ["ParseEvent", "Evaluate", "StartEnforcement", "NoteUndecided"]}
    for name, path in paths.items():
        worst = sum(retry_waits(states[s]) for s in path)
        assert worst < 240, f"{name}: {worst} s of retry waits leave too little of the 300 s for the work"


def test_no_step_of_the_triage_can_lose_an_event():
    # Every step that can fail ends, after its retries, in the ledger write and a failed run;
    # every run that ends well deletes the entry. The key and the fields are the ones the sweep
    # reads (functions/aws/src/lib.rs, functions/core/src/ledger.rs).
    _, _, doc = next(d for d in definitions() if d[0] == "triage")
    states = doc["States"]
    ledger = {"NoteUndecided", "Settle"}
    for name, state in states.items():
        if state["Type"] == "Task" and name not in ledger:
            catch_all = [c for c in state.get("Catch", []) if c["ErrorEquals"] == ["States.ALL"]]
            assert catch_all and catch_all[-1]["Next"] == "Failed?", name
            assert catch_all[-1]["ResultPath"] == "$.error", name
    assert states["Failed?"]["Choices"][0]["Next"] == "NoteUndecided"
    assert states["NoteUndecided"]["Next"] == "Undecided" and states["Undecided"]["Type"] == "Fail"
    # Only the ledger's own steps end a run well: nothing reaches Done without passing Settled?.
    into_done = {n for n, st in states.items()
                 if "Done" in [st.get("Next"), st.get("Default")] + [c["Next"] for c in st.get("Catch", [])]}
    assert into_done == {"Settled?", "Settle"}, into_done
    assert states["Settled?"]["Choices"][0]["Next"] == "Settle"
    # Only the sweep's resubmissions look for an entry to settle (a delete that finds nothing still
    # costs a write on every delivered event): the prefix is the one the sweep names its runs by.
    by_name = [c for c in states["Settled?"]["Choices"][0]["And"] if c["Variable"] == "$$.Execution.Name"]
    assert by_name == [{"Variable": "$$.Execution.Name", "StringMatches": "sweep-*"}], by_name
    assert 'execution_name(&format!("sweep-{}-{event_id}"' in (ROOT / "functions/sweep/src/lib.rs").read_text()
    # A run settles only the entry that holds its very input, and no later failure rewrites the
    # event an entry holds: a run started with someone's eventID and other content neither
    # deletes nor replaces it.
    settle = states["Settle"]["Parameters"]
    assert settle["ConditionExpression"] == "envelope = :envelope", settle
    assert settle["ExpressionAttributeValues"][":envelope"]["S.$"] == "States.JsonToString($$.Execution.Input)"
    assert "envelope = if_not_exists(envelope, :envelope)" in states["NoteUndecided"]["Parameters"]["UpdateExpression"]
    prefix = re.search(r'UNDECIDED_PREFIX: &str = "([^"]+)";', (ROOT / "functions/aws/src/lib.rs").read_text()).group(1)
    for name in ledger:
        key = states[name]["Parameters"]["Key"]["eventId"]["S.$"]
        assert key == f"States.Format('{prefix}{{}}', $$.Execution.Input.detail.eventID)", (name, key)
    written = re.findall(r"(\w+) = ", states["NoteUndecided"]["Parameters"]["UpdateExpression"])
    source = (ROOT / "functions/core/src/ledger.rs").read_text()
    fields = {"undecided"} | {
        re.sub(r"_(\w)", lambda m: m.group(1).upper(), f)
        for f in re.findall(r"pub (\w+):", source.split("pub struct LedgerEntry")[1].split("\n}")[0])}
    assert set(written) <= fields, (written, fields)
    assert {"undecided", "envelope", "firstSeenAt", "failedAt", "failure"} <= set(written), written


def test_records_are_waited_for_in_a_wait_state_inside_an_express_run():
    # Evaluate answers its input back with waitForRecords until RECORD_WAIT_SECONDS (at most
    # MAX_RECORD_WAIT_SECONDS) after the call, then decides: the loop is bounded by Evaluate's
    # clock. With every retry on the way, it must end well inside the 300 s of an Express run.
    source = (ROOT / "functions/evaluate/src/lib.rs").read_text()
    longest = int(re.search(r"MAX_RECORD_WAIT_SECONDS: u32 = (\d+);", source).group(1))
    default = int(re.search(r"pub const RECORD_WAIT_SECONDS: u32 = (\d+);", source).group(1))
    _, _, doc = next(d for d in definitions() if d[0] == "triage")
    states = doc["States"]
    assert states["Evaluate"]["Next"] == "Records?"
    assert states["Records?"]["Choices"] == [
        {"Variable": "$.waitForRecords", "IsPresent": True, "Next": "WaitForRecords"}]
    assert states["WaitForRecords"] == {"Type": "Wait", "SecondsPath": "$.waitForRecords.seconds", "Next": "Evaluate"}
    retries = sum(retry_waits(states[s]) for s in ["ParseEvent", "Evaluate", "StartEnforcement"])
    # The last wait ends at most 30 s past the wait's end (Evaluate's largest step).
    assert default <= longest and longest + 30 + retries < 270, (default, longest, retries)
    assert not any("ModelGuard.RecordsPending" in r["ErrorEquals"] for r in states["Evaluate"]["Retry"])


# The functions that call AWS, and so can fail with what may pass (functions/core/src/error.rs):
# every task that invokes one retries ModelGuard.Throttled and ModelGuard.Unavailable for long
# enough to outlast a throttling burst. ParseEvent calls nothing. (The sweep's look-in, inside a
# Map, is bounded by its Express child instead: test_the_sweep_looks_in_every_place_….)
CALLS_AWS = {"RecordFunctionArn", "EvaluateFunctionArn", "ClaimFunctionArn", "EnforceFunctionArn", "NotifyFunctionArn",
             "SweepFunctionArn"}
TRANSIENT = {"ModelGuard.Throttled", "ModelGuard.Unavailable"}
# What never passes by itself: retrying it only delays the alert.
PERMANENT = {"ModelGuard.AccessDenied", "ModelGuard.InvalidInput", "ModelGuard.AwsError",
             "ModelGuard.EnforcementFailed", "States.ALL", "States.TaskFailed"}


def function_of(state: dict) -> str | None:
    name = state.get("Parameters", {}).get("FunctionName", "")
    found = re.fullmatch(r"\$\{(\w+)\}", name)
    return found.group(1) if found else None


def test_every_task_that_calls_aws_retries_throttling_and_unavailability():
    seen = set()
    for name, _, doc in definitions():
        for state_name, state in doc["States"].items():
            function = function_of(state)
            if state["Type"] != "Task" or function not in CALLS_AWS:
                continue
            seen.add(function)
            retries = [r for r in state.get("Retry", []) if TRANSIENT & set(r["ErrorEquals"])]
            retried = {e for r in retries for e in r["ErrorEquals"]}
            assert TRANSIENT <= retried, (name, state_name, retried)
            waited = sum(r["IntervalSeconds"] * r.get("BackoffRate", 2) ** i
                         for r in retries for i in range(r["MaxAttempts"]))
            assert waited >= 30, (name, state_name, f"{waited} s of retries outlast no throttling burst")
    assert seen == CALLS_AWS, CALLS_AWS - seen


def test_nothing_permanent_is_retried():
    for name, _, doc in definitions():
        for state_name, state in all_states(doc):
            for retry in state.get("Retry", []):
                assert not PERMANENT & set(retry["ErrorEquals"]), (name, state_name, retry["ErrorEquals"])


def test_error_types_in_the_definitions_are_ones_the_functions_raise():
    source = (ROOT / "functions/core/src/error.rs").read_text()
    raised = set(re.findall(r'"(ModelGuard\.\w+)"', source))
    for name, text, _ in definitions():
        # The machine's own Fail states' errors.
        used = set(re.findall(r'"(ModelGuard\.\w+)"', text)) - {"ModelGuard.EnforcementFailed", "ModelGuard.AlertOwed",
                                                                       "ModelGuard.ContinuationNotStarted",
                                                                       "ModelGuard.TriageFailed",
                                                                       "ModelGuard.SweepIncomplete",
                                                                       "ModelGuard.ChoresFailed"}
        assert used <= raised, (name, used - raised)


def test_the_enforcement_trusts_nothing_in_its_input():
    # Claim comes first and reads the verdict by the execution's own name; no later state reads
    # the input's verdict (every one reads Claim's output, from the decisions table); Enforce is
    # asked by eventID and execution name, never handed a verdict.
    _, text, doc = next(d for d in definitions() if d[0] == "enforcement")
    states = doc["States"]
    assert doc["StartAt"] == "Claim"
    claim = states["Claim"]["Parameters"]["Payload"]
    assert claim["execution.$"] == "$$.Execution.Name" and states["Claim"]["OutputPath"] == "$.Payload"
    assert states["Enforce"]["Parameters"]["Payload"] == {
        "version": 1, "eventId.$": "$.eventId", "execution.$": "$$.Execution.Name"}
    for state_name, state in states.items():
        payload = state.get("Parameters", {}).get("Payload", {})
        assert "verdict.$" not in payload, (state_name, "Notify reads the verdict from the audit item")
    triage = next(d for d in definitions() if d[0] == "triage")[2]["States"]
    assert triage["StartEnforcement"]["Parameters"]["Input"] == {"version": 1, "eventId.$": "$.eventId"}


def test_every_end_of_the_wait_but_an_approval_leads_to_enforcement():
    _, _, doc = next(d for d in definitions() if d[0] == "enforcement")
    states = doc["States"]
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["AwaitApproval"]["Catch"]}
    assert catches == {("ModelGuard.EnforceNow",): "Enforce", ("States.ALL",): "WaitOutGrace"}, catches
    assert states["WaitOutGrace"] == {**states["WaitOutGrace"], "Type": "Wait", "TimestampPath": "$.deadline",
                                      "Next": "Enforce"}
    # A task success counts only if NotifyApproved finds the approval function's record: without
    # it the machine alerts and enforces.
    assert states["AwaitApproval"]["Next"] == "NotifyApproved"
    forged = {tuple(c["ErrorEquals"]): c["Next"] for c in states["NotifyApproved"]["Catch"]}
    assert forged == {("ModelGuard.ApprovalNotRecorded",): "NotifyForgedApproval", ("States.ALL",): "AlertOwed"}
    assert states["NotifyForgedApproval"]["Next"] == "WaitOutGrace"
    assert all(c["Next"] == "WaitOutGrace" for c in states["NotifyForgedApproval"]["Catch"])


def test_a_failing_alert_cancels_no_enforcement_and_is_left_owed():
    # Every Notify task: the one before the wait leads on to enforcement whatever happens; those
    # after an outcome was recorded end in a Fail that says the alert is owed (the audit item
    # records it, the sweep sends it), never in a state that undoes or skips the outcome.
    _, _, doc = next(d for d in definitions() if d[0] == "enforcement")
    states = doc["States"]
    notify = {n: s for n, s in states.items()
              if s.get("Type") == "Task" and s["Parameters"].get("FunctionName") == "${NotifyFunctionArn}"}
    assert set(notify) == {"NotifyViolation", "AwaitApproval", "NotifyApproved", "NotifyForgedApproval",
                           "NotifyEnforced", "NotifyFailed"}
    for name, state in notify.items():
        catch_all = [c["Next"] for c in state.get("Catch", []) if c["ErrorEquals"] == ["States.ALL"]]
        assert len(catch_all) == 1, (name, "a failing alert must be caught")
        expected = {"AwaitApproval": "WaitOutGrace", "NotifyForgedApproval": "WaitOutGrace",
                    "NotifyFailed": "EnforcementFailed"}.get(name, "AlertOwed")
        assert catch_all[0] == expected, (name, catch_all)
    assert states["AlertOwed"]["Type"] == "Fail" and states["AlertOwed"]["Error"] == "ModelGuard.AlertOwed"
    # Enforce comes before its alert, and its outcome is recorded by Enforce itself.
    assert states["Enforce"]["Next"] == "NotifyEnforced"


def test_the_sweep_looks_in_every_place_and_one_place_stops_no_other():
    """Each place in an Express child of a distributed Map (an organization's 17,000 places
    outgrow an inline Map's 25,000-event history); nothing per place is gathered into the run's
    state (256 KB); a place that fails is alerted and the others go on; the chores run first, as
    before there were places, and their failure stops no look-in; either failure fails the run,
    which its alarm reports."""
    _, _, doc = next(d for d in definitions() if d[0] == "sweep")
    states = doc["States"]
    assert doc["StartAt"] == "Chores"
    assert states["Chores"]["Parameters"]["Payload"] == {"step": "chores"}
    assert [(c["ErrorEquals"], c["Next"]) for c in states["Chores"]["Catch"]] == [(["States.ALL"], "Places")]
    assert states["Places"]["Parameters"]["Payload"] == {"step": "places"}
    each = states["LookInEachPlace"]
    assert each["ItemsPath"] == "$.list.places"
    assert each["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert each["ResultPath"] is None, "17,000 places' reports would not fit the run's 256 KB"
    children = each["ItemProcessor"]["States"]
    assert children["LookIn"]["Parameters"]["Payload"] == {"step": "lookIn", "place.$": "$"}
    assert [(c["ErrorEquals"], c["Next"]) for c in children["LookIn"]["Catch"]] == [(["States.ALL"], "Unreachable")]
    assert children["Unreachable"]["Parameters"]["Payload"]["step"] == "unreachable"
    assert "Catch" not in children["Unreachable"], "an alert that cannot go out fails the run"
    failed = {c["Variable"]: c["Next"] for c in states["Failed?"]["Choices"]}
    assert failed == {"$.lookInFailed": "LookInFailed", "$.choresFailed": "ChoresFailed"}
    assert {states[s]["Type"] for s in failed.values()} == {"Fail"}
    assert states["Report"]["OutputPath"] == "$.chores.report"
    # A child runs at most 300 s: one run of the function (its timeout) and the retries of an
    # invocation Lambda did not run fit in it.
    stack = (ROOT / "cdk/lib/model-guard-stack.ts").read_text()
    timeout = int(re.search(r"sweep: \{ memoryMb: \d+, timeoutSeconds: (\d+) \}", stack).group(1))
    assert timeout + retry_waits(children["LookIn"]) < 300, (timeout, retry_waits(children["LookIn"]))
    assert all(set(r["ErrorEquals"]) <= LAMBDA_RETRIED for r in children["LookIn"]["Retry"])


def test_the_drift_scan_scans_every_place_and_one_place_stops_no_other():
    """Each place in a Standard child of a distributed Map (a scan may take the scan function's
    15 minutes; an Express child ends at 5); nothing per place is gathered into the run's state;
    a place that fails is told of on the guard topic and the others go on; an alert that cannot
    go out fails the run. The Map's concurrency is the scan function's reserved concurrency, so a
    child is not throttled for want of it."""
    _, _, doc = next(d for d in definitions() if d[0] == "scan")
    states = doc["States"]
    assert doc["StartAt"] == "Places"
    assert states["Places"]["Parameters"]["Payload"] == {"step": "places"}
    each = states["ScanEachPlace"]
    assert each["ItemsPath"] == "$.list.places"
    assert each["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert each["ResultPath"] is None
    children = each["ItemProcessor"]["States"]
    assert children["ScanPlace"]["Parameters"]["Payload"] == {"mode": "drift", "place.$": "$"}
    assert [(c["ErrorEquals"], c["Next"]) for c in children["ScanPlace"]["Catch"]] == [(["States.ALL"], "NotScanned")]
    assert children["NotScanned"]["Parameters"]["Payload"]["step"] == "notScanned"
    assert "Catch" not in children["NotScanned"], "an alert that cannot go out fails the run"
    assert "Catch" not in each, "a failed child's failed alert fails the run"
    assert all(set(r["ErrorEquals"]) <= LAMBDA_RETRIED for r in children["ScanPlace"]["Retry"])
    stack = (ROOT / "cdk/lib/model-guard-stack.ts").read_text()
    reserved = int(re.search(r"const SCAN_CONCURRENCY = (\d+);", stack).group(1))
    assert each["MaxConcurrency"] == reserved, (each["MaxConcurrency"], reserved)
