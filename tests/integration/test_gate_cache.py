"""Issue 17: the paired gate and comparison are computed once when a run ends (the paired-gate queue's worker) and
answered from the cache; a result counted since or a changed gate setting recomputes them, never a stale answer."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from evalgate.services import container as container_module
from evalgate.services import paired_cache
from tests.integration.conftest import FakeContext, Stack, load_function

WORKER = "PairedGateWorkerFunction"
CASES = 60


def _rows(prefix: str, shift: float, seed: int, cases: range) -> list[dict[str, Any]]:
    r = random.Random(seed)
    rows = []
    for i in cases:
        score = min(1.0, max(0.0, (i % 10) / 10 + shift + r.gauss(0.0, 0.05)))
        rows.append({"id": f"{prefix}-{i}", "caseId": f"case-{i}", "score": round(score, 4), "passed": score > 0.3})
    return rows


def _run(stack: Stack, key: str, pid: int, rows: list[dict[str, Any]], *, end: bool) -> int:
    run = stack.call("POST", "/api/v1/evals", key=key, body={"name": "r", "promptId": pid}).json()
    reply = stack.call("POST", f"/api/v1/evals/{run['id']}/results", key=key, body={"results": rows})
    assert reply.status == 200, reply.text
    if end:
        assert stack.call("PATCH", f"/api/v1/evals/{run['id']}", key=key, body={"status": "passed"}).status == 200
    return int(run["id"])


def _messages(stack: Stack) -> list[str]:
    url = stack.names.refs["PairedGateQueue"]
    reply = stack.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [m["Body"] for m in reply.get("Messages") or []]


def _deliver(body: str) -> set[str]:
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "h",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "1",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:paired",
        "awsRegion": "us-east-1",
    }
    result = load_function(WORKER).lambda_handler({"Records": [record]}, FakeContext())
    return {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures") or []}


class Reads:
    """Counts the per-case reads of runs (what the cache saves); `fail` makes any such read an error."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[int] = []
        self.fail = False
        real = paired_cache.case_figures_of

        def spy(project_id: str, run: Any, **kwargs: Any) -> Any:
            if self.fail:
                raise AssertionError(f"run {run.id}'s results were read: the answer was not served from the cache")
            self.runs.append(run.id)
            return real(project_id, run, **kwargs)

        monkeypatch.setattr(paired_cache, "case_figures_of", spy)


def _check(stack: Stack, key: str, pid: int, run_id: int) -> dict[str, Any]:
    reply = stack.call("POST", f"/api/prompts/{pid}/eval/gate/check", key=key, body={"runId": run_id})
    assert reply.status == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _gate(stack: Stack, key: str, pid: int, control: int, **extra: Any) -> None:
    body = {"mode": "non-inferiority", "metric": "score", "margin": 0.05, "controlRunId": control, "minSamples": 10}
    reply = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=key, body={**body, **extra})
    assert reply.status == 200, reply.text


@pytest.fixture
def prompt(stack: Stack, admin: str) -> int:
    reply = stack.call("POST", "/api/prompts", key=admin, body={"name": f"cached-{uuid.uuid4().hex[:6]}"})
    return int(reply.json()["id"])


def test_a_finished_runs_gate_and_comparison_are_served_from_the_cache(
    stack: Stack, admin: str, prompt: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(monkeypatch)
    control = _run(stack, admin, prompt, _rows("ctl", 0.0, 1, range(CASES)), end=True)
    _gate(stack, admin, prompt, control)
    _messages(stack)  # the control ended before the gate named it: nothing to cache for it
    # When the run ends, its gate (against the control) is announced, and the worker computes and caches it
    run = _run(stack, admin, prompt, _rows("cur", -0.01, 2, range(CASES)), end=True)
    [message] = _messages(stack)
    assert _deliver(message) == set()
    assert sorted(reads.runs) == sorted([run, control])  # both runs read once for the gate and the comparison
    # Then gate/check and the comparison answer without reading a single result
    reads.fail = True
    cached = _check(stack, admin, prompt, run)
    stats = stack.call("GET", f"/api/v1/evals/{run}/stats", key=admin, query=f"controlRunId={control}")
    assert stats.status == 200, stats.text
    # ... the same bodies as a computation without the cache
    reads.fail = False
    monkeypatch.setattr(container_module.container().paired_results, "get", lambda *a, **k: None)
    fresh = _check(stack, admin, prompt, run)
    fresh_stats = stack.call("GET", f"/api/v1/evals/{run}/stats", key=admin, query=f"controlRunId={control}")
    assert cached == fresh
    assert stats.json()["comparison"] == fresh_stats.json()["comparison"]
    assert cached["figures"]["shared_scored_cases"] == CASES and cached["verdict"] in ("passed", "inconclusive")
    assert stats.json()["comparison"]["sharedCases"] == CASES


def test_a_new_result_or_a_changed_gate_recomputes(
    stack: Stack, admin: str, prompt: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(monkeypatch)
    control = _run(stack, admin, prompt, _rows("ctl", 0.0, 3, range(CASES)), end=True)
    _gate(stack, admin, prompt, control)
    run = _run(stack, admin, prompt, _rows("cur", 0.0, 4, range(CASES - 10)), end=False)  # still open
    first = _check(stack, admin, prompt, run)  # computed and cached on the first request
    assert first["figures"]["shared_scored_cases"] == CASES - 10
    reads.runs.clear()
    assert _check(stack, admin, prompt, run) == first and reads.runs == []  # from the cache
    # a result counted since: recomputed, never the stale answer
    more = _rows("cur", 0.0, 4, range(CASES - 10, CASES))
    assert stack.call("POST", f"/api/v1/evals/{run}/results", key=admin, body={"results": more}).status == 200
    second = _check(stack, admin, prompt, run)
    assert second["figures"]["shared_scored_cases"] == CASES and sorted(reads.runs) == sorted([run, control])
    reads.runs.clear()
    assert _check(stack, admin, prompt, run) == second and reads.runs == []
    # a changed gate setting: recomputed with it (a margin of 0.0001 cannot pass a run with noise)
    _gate(stack, admin, prompt, control, margin=0.0001)
    strict = _check(stack, admin, prompt, run)
    assert sorted(reads.runs) == sorted([run, control]) and strict["figures"]["margin"] == 0.0001
    assert strict["verdict"] != "passed" and second["verdict"] == "passed"
    # and back: the first setting's answer is still valid (same runs, same results), served without a read
    reads.runs.clear()
    _gate(stack, admin, prompt, control)
    assert _check(stack, admin, prompt, run) == second and reads.runs == []
    # the comparison: cached on the first request, recomputed after a new result
    url = f"/api/v1/evals/{run}/stats"
    compared = stack.call("GET", url, key=admin, query=f"controlRunId={control}").json()["comparison"]
    reads.runs.clear()
    assert stack.call("GET", url, key=admin, query=f"controlRunId={control}").json()["comparison"] == compared
    assert reads.runs == []
    extra = [{"id": "cur-extra", "caseId": "case-0", "score": 0.0, "passed": False}]  # a repeat of case-0
    assert stack.call("POST", f"/api/v1/evals/{run}/results", key=admin, body={"results": extra}).status == 200
    again = stack.call("GET", url, key=admin, query=f"controlRunId={control}").json()["comparison"]
    assert (
        sorted(reads.runs) == sorted([run, control]) and again["score"]["meanDelta"] != compared["score"]["meanDelta"]
    )


def test_a_gate_recomputed_after_the_run_ended_loads_the_runs_kept_columns(
    stack: Stack, admin: str, prompt: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker keeps each run's case columns when the run ends; a gate recomputed later (a new setting) loads
    them instead of streaming every outcome again, and answers what a computation from the markers answers."""
    control = _run(stack, admin, prompt, _rows("ctl", 0.0, 7, range(CASES)), end=True)
    _gate(stack, admin, prompt, control)
    _messages(stack)
    run = _run(stack, admin, prompt, _rows("cur", -0.01, 8, range(CASES)), end=True)
    [message] = _messages(stack)
    assert _deliver(message) == set()
    runs = container_module.container().runs
    real = runs.iter_case_outcomes
    streamed: list[int] = []

    def stream(project_id: str, run_id: int) -> Any:
        streamed.append(run_id)
        return real(project_id, run_id)

    monkeypatch.setattr(runs, "iter_case_outcomes", stream)
    _gate(stack, admin, prompt, control, margin=0.0001)  # nothing cached for this setting
    kept = _check(stack, admin, prompt, run)
    assert streamed == [] and kept["figures"]["margin"] == 0.0001  # both runs' columns loaded
    # the same answer from the markers (no kept columns, no cached answer)
    monkeypatch.setattr(paired_cache, "_kept_columns", lambda where: None)
    monkeypatch.setattr(container_module.container().paired_results, "get", lambda *a, **k: None)
    fresh = _check(stack, admin, prompt, run)
    assert fresh == kept and sorted(streamed) == sorted([run, control])


def test_a_partial_read_is_answered_but_not_cached(
    stack: Stack, admin: str, prompt: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a batch half-way through being counted (its counters added, its done item not yet written) is missing from
    # the outcomes streamed: the answer is given without it, but not cached under the run's counts
    control = _run(stack, admin, prompt, _rows("ctl", 0.0, 5, range(CASES)), end=True)
    _gate(stack, admin, prompt, control)
    run = _run(stack, admin, prompt, _rows("cur", 0.0, 6, range(CASES)), end=False)
    runs = container_module.container().runs
    real = runs.iter_case_outcomes

    def missing_one(project_id: str, run_id: int) -> Any:
        rows = list(real(project_id, run_id))
        return iter(rows[1:] if run_id == run else rows)

    with monkeypatch.context() as m:
        m.setattr(runs, "iter_case_outcomes", missing_one)
        partial = _check(stack, admin, prompt, run)
    assert partial["figures"]["shared_scored_cases"] == CASES - 1
    full = _check(stack, admin, prompt, run)  # not the partial answer: computed again, from every result
    assert full["figures"]["shared_scored_cases"] == CASES


def test_a_run_without_a_paired_gate_is_not_announced(stack: Stack, admin: str, prompt: int) -> None:
    _messages(stack)
    _run(stack, admin, prompt, _rows("solo", 0.0, 7, range(12)), end=True)  # default gate: threshold, no control
    assert _messages(stack) == []
    # a message for a run that is gone (deleted after it ended) is done with, not retried
    assert _deliver('{"projectId": "prj_gone", "runId": 987654321}') == set()
