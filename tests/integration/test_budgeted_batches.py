"""Issue 18: an inline suite batch runs its cases within a time budget per invocation and hands the rest on; each
part is counted once however often an invocation is retried, and a retry of a recorded part runs nothing again."""

from __future__ import annotations

from typing import Any

import pytest

from evalgate.services import container as container_module
from evalgate.services.runs import batch_items
from tests.integration.conftest import FakeContext, Stack, load_function


def _start(stack: Stack, key: str, cases: int) -> tuple[int, str, int]:
    pid = stack.call(
        "POST",
        "/api/prompts",
        key=key,
        body={"name": "budgeted", "template": "Say {{n}}", "modelConfig": {"provider": "scripted", "model": "s"}},
    ).json()["id"]
    base = f"/api/prompts/{pid}/eval"
    rows = [{"name": f"c{i:02d}", "variables": {"n": i}} for i in range(cases)]
    ds = stack.call("POST", f"{base}/datasets", key=key, body={"name": "d", "cases": rows}).json()
    suite = stack.call(
        "POST",
        f"{base}/suites",
        key=key,
        body={
            "name": "s",
            "config": {"maxConcurrency": 2},
            "tests": [{"name": "t", "datasetId": ds["id"], "assertions": [{"type": "regex", "value": "^Say \\d+$"}]}],
        },
    ).json()
    started = stack.call("POST", f"{base}/run", key=key, body={"suiteId": suite["id"], "versionNo": 1})
    assert started.status == 202, started.text
    project = str(stack.call("GET", "/api/v1/projects", key=key).json()["items"][0]["id"])
    return pid, project, int(started.json()["id"])


def test_a_budgeted_batch_goes_round_until_done_and_counts_each_part_once(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a budget nothing fits in: each invocation runs its first round (2 cases at a time) and hands the rest on
    monkeypatch.setenv("EVALGATE_SUITE_INVOCATION_BUDGET_SECONDS", "0.000001")
    container_module.reset_container()
    pid, project, run_id = _start(stack, admin, 9)
    task = {"projectId": project, "runId": run_id}
    prep = load_function("PrepareRunFunction").lambda_handler(task, FakeContext())
    assert prep["mode"] == "inline" and prep["batchCount"] == 1  # one Map slot (maxConcurrency 2 = 1 x 2)
    run_cases = load_function("RunCasesFunction").lambda_handler
    event: dict[str, Any] = {**task, "config": prep["config"], "budgeted": True, "batch": prep["batches"][0]}
    labels, invocations = [], 0
    while True:
        out = run_cases(event, FakeContext())
        invocations += 1
        labels.append(out["batch"])
        assert out["cases"] == min(2, len(batch_items(event["batch"])))
        # a retry of the same invocation (its reply lost): the same rest, nothing run or counted again
        again = run_cases(event, FakeContext())
        assert again["rest"] == out["rest"] and again["cases"] == out["cases"] and again["counted"] is False
        if out["rest"] is None:
            break
        event = {**event, "batch": out["rest"]}
    assert invocations == 5
    assert labels == [f"{run_id}:0", f"{run_id}:0@2", f"{run_id}:0@4", f"{run_id}:0@6", f"{run_id}:0@8"]
    load_function("FinalizeRunFunction").lambda_handler(task, FakeContext())
    run = stack.call("GET", f"/api/prompts/{pid}/eval/runs/{run_id}", key=admin, query="limit=100").json()
    assert run["status"] == "completed", run
    assert run["summary"] == {"total": 9, "passed": 9, "failed": 0, "errored": 0}
    assert sorted(r["name"] for r in run["results"]) == [f"t [c{i:02d}]" for i in range(9)]


def test_an_unbudgeted_batch_writes_its_results_as_they_end_and_counts_them_once(stack: Stack, admin: str) -> None:
    # several chunks of results (CHUNK = 25) and of case reads (25, then READ_CHUNK = 100 at a time): some results
    # are written while the others run, each case runs with its own variables, and all are counted once
    pid, project, run_id = _start(stack, admin, 240)
    task = {"projectId": project, "runId": run_id}
    prep = load_function("PrepareRunFunction").lambda_handler(task, FakeContext())
    run_cases = load_function("RunCasesFunction").lambda_handler
    for batch in prep["batches"]:
        body = {**task, "config": prep["config"], "batch": batch}
        first = run_cases(body, FakeContext())
        assert first["counted"] is True and first["rest"] is None and first["cases"] == len(batch_items(batch))
        assert run_cases(body, FakeContext())["counted"] is False
    assert max(len(batch_items(b)) for b in prep["batches"]) > 225  # reached a third read chunk
    load_function("FinalizeRunFunction").lambda_handler(task, FakeContext())
    run = stack.call("GET", f"/api/prompts/{pid}/eval/runs/{run_id}", key=admin, query="limit=500").json()
    assert run["summary"] == {"total": 240, "passed": 240, "failed": 0, "errored": 0}
    results = run["results"]
    assert sorted(r["name"] for r in results) == sorted(f"t [c{i:02d}]" for i in range(240))
    # each case ran with its own variables ("Say {{n}}" with the case's n)
    assert all(r["output"] == f"Say {int(r['name'][4:-1])}" for r in results), results[:3]
