"""Issue 15's loop closed with a real judge: humans label a queue, the golden set is exported, a suite run re-runs an
`llm-rubric` judge (a scripted stub model) on it, and the queue's agreement route compares each re-run with the
humans, so a rubric change shows run to run. The suite run's workflow steps (Prepare, RunCases per batch, Finalize)
are invoked in-process as Step Functions would call them."""

from __future__ import annotations

from typing import Any

import pytest

from evalgate.stats.agreement import categorical_agreement
from tests.integration.conftest import FakeContext, Stack, load_function

N = 10  # the fewest items agreement reports a kappa on
SLOPPY = {5, 6}  # bad answers a lenient rubric lets through


def _output(i: int) -> str:
    if i < N // 2:
        return f"answer good {i}"
    return f"answer bad sloppy {i}" if i in SLOPPY else f"answer bad {i}"


def _drive(stack: Stack, project_id: str, run_id: int) -> None:
    """What the state machine does, step by step (in-process moto runs no workflow)."""
    task = {"projectId": project_id, "runId": run_id}
    prep = load_function("PrepareRunFunction").lambda_handler(task, FakeContext())
    assert prep["mode"] == "inline", prep
    for batch in prep["batches"]:
        body = {**task, "config": prep["config"], "batch": batch}
        load_function("RunCasesFunction").lambda_handler(body, FakeContext())
    load_function("FinalizeRunFunction").lambda_handler(task, FakeContext())


def _judge(rubric: str, passes: str) -> dict[str, Any]:
    """A scripted judge: passes the outputs matching `passes` when graded against `rubric`, fails the rest."""
    verdict = '{{"reason": "scripted", "score": {s}, "pass": {p}}}'
    return {
        "judgeProvider": "scripted",
        "judgeModel": "judge-1",
        "judgeParams": {
            "responses": [
                {"match": f"(?s)<rubric>\\n{rubric}.*<output>\\n{passes}", "output": verdict.format(s=0.9, p="true")}
            ],
            "default": verdict.format(s=0.1, p="false"),
        },
    }


def _suite_run(stack: Stack, key: str, pid: int, dataset_id: int, rubric: str, passes: str) -> int:
    base = f"/api/prompts/{pid}/eval"
    test = {
        "name": "judge",
        "datasetId": dataset_id,
        "assertions": [{"type": "llm-rubric", "value": rubric, "metric": "rubric"}],
    }
    suite = stack.call(
        "POST", f"{base}/suites", key=key, body={"name": rubric, "config": _judge(rubric, passes), "tests": [test]}
    )
    assert suite.status == 201, suite.text
    started = stack.call("POST", f"{base}/run", key=key, body={"suiteId": suite.json()["id"], "versionNo": 1})
    assert started.status == 202, started.text
    return int(started.json()["id"])


def test_a_judge_rerun_on_the_golden_set_is_compared_with_the_humans_run_to_run(stack: Stack, admin: str) -> None:
    project = str(stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"])
    queue = {"name": "rubric review", "criteria": [{"name": "correct", "type": "pass_fail", "judge": "rubric"}]}
    qid = stack.call("POST", "/api/v1/annotation-queues", key=admin, body=queue).json()["id"]
    truth = {i: i < N // 2 for i in range(N)}
    recorded = {i: truth[i] or i in SLOPPY for i in range(N)}  # the judge in production: the lenient rubric
    items = [
        {
            "kind": "manual",
            "ref": f"m{i}",
            "input": {"question": f"q{i}"},
            "output": _output(i),
            "judge": {"rubric": recorded[i]},
        }
        for i in range(N)
    ]
    added = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body={"items": items})
    assert added.status == 201, added.text
    item_of = dict(zip(range(N), added.json()["item_ids"], strict=True))
    for i, item_id in item_of.items():
        url = f"/api/v1/annotation-queues/{qid}/items/{item_id}/labels"
        body = {"values": {"correct": "pass" if truth[i] else "fail"}}
        assert stack.call("PUT", url, key=admin, body=body).status == 200

    # the golden set, under a prompt that echoes the recorded output, so the suite's judge grades exactly it
    prompt = {"name": "golden", "template": "{{output}}", "modelConfig": {"provider": "echo", "model": "echo"}}
    pid = stack.call("POST", "/api/prompts", key=admin, body=prompt).json()["id"]
    golden = stack.call(
        "POST", f"/api/v1/annotation-queues/{qid}/golden-set", key=admin, body={"prompt_id": pid, "name": "golden"}
    )
    assert golden.status == 201, golden.text
    dataset_id = golden.json()["dataset_id"]

    # two real suite runs on it: the old lenient rubric, then the rubric after a change
    lenient = _suite_run(stack, admin, pid, dataset_id, "rubric-v1 polite", "answer (good|bad sloppy)")
    strict = _suite_run(stack, admin, pid, dataset_id, "rubric-v2 correct", "answer good")
    for run_id in (lenient, strict):
        _drive(stack, project, run_id)
        run = stack.call("GET", f"/api/prompts/{pid}/eval/runs/{run_id}", key=admin).json()
        assert run["status"] == "completed" and run["summary"]["total"] == N, run
        assert all(r["assertions"][0]["operator"] == "llm-rubric" for r in run["results"])
        assert {r["output"] for r in run["results"]} == {_output(i) for i in range(N)}  # the echoed recorded outputs

    def rerun(run_id: int) -> dict[str, Any]:
        reply = stack.call("GET", f"/api/v1/annotation-queues/{qid}/agreement", key=admin, query=f"run_id={run_id}")
        assert reply.status == 200, reply.text
        assert reply.json()["run_id"] == run_id
        return dict(reply.json()["criteria"][0])

    order = list(range(N))
    human = ["pass" if truth[i] else "fail" for i in order]
    lenient_judge = ["pass" if recorded[i] else "fail" for i in order]
    want = categorical_agreement(lenient_judge, human, labels=["fail", "pass"], positive="fail").to_dict()

    first, second = rerun(lenient), rerun(strict)
    # the lenient re-run repeats the recorded judge's mistakes; the changed rubric agrees with the humans
    assert first["rerun_vs_humans"]["n"] == N and second["rerun_vs_humans"]["n"] == N
    assert first["rerun_vs_humans"]["kappa"] == pytest.approx(want["kappa"])
    assert first["rerun_vs_humans"]["confusion_matrix"] == want["confusion_matrix"]
    assert first["judge_vs_humans"]["kappa"] == pytest.approx(want["kappa"])  # the recorded verdicts, beside
    assert second["rerun_vs_humans"]["kappa"] == pytest.approx(1.0)
    assert second["rerun_vs_humans"]["observed_agreement"] == pytest.approx(1.0)
    assert second["rerun_vs_humans"]["kappa"] > first["rerun_vs_humans"]["kappa"]
    # the judge's fail verdict: the lenient rubric misses the sloppy answers (recall 3/5), the strict one does not
    assert first["rerun_vs_humans"]["recall"]["value"] == pytest.approx(0.6)
    assert second["rerun_vs_humans"]["recall"]["value"] == pytest.approx(1.0)

    # another project's run is a 404, not figures
    from evalgate.services.projects import create_project

    _, _, other = create_project(None, "other")
    theirs = stack.call("POST", "/api/v1/annotation-queues", key=other, body=queue).json()["id"]
    stranger = stack.call("GET", f"/api/v1/annotation-queues/{theirs}/agreement", key=other, query=f"run_id={strict}")
    assert stranger.status == 404, stranger.text
    assert stack.call("GET", f"/api/v1/annotation-queues/{qid}/agreement", key=other).status == 404
