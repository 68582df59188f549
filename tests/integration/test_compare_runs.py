"""POST /api/prompts/{promptId}/eval/compare in-process on moto: select-best (the scripted judge through the model
gateway) and max-score over two finished runs of an imported promptfoo suite, page by page; and every way a
comparison is refused (one run, a run still going, another project's run, other cases, a viewer)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evalgate.models.domain import Run, RunResult, RunStatus
from tests.integration.conftest import Stack, key_for

CONFIG: dict[str, Any] = {
    "description": "compare",
    "prompts": ["Hello {{name}}", "Bonjour {{name}}"],
    "providers": ["echo"],
    "defaultTest": {"options": {"provider": {"id": "evalgate:scripted:judge", "config": {"default": "1"}}}},
    "tests": [
        {"vars": {"name": "Ada"}, "assert": [{"type": "contains", "value": "Ada"}, {"type": "max-score"}]},
        {"vars": {"name": "Bob"}, "assert": [{"type": "starts-with", "value": "Hello"}]},
        {
            "vars": {"name": "Cy"},
            "assert": [{"type": "contains", "value": "Cy"}, {"type": "select-best", "value": "the warmest"}],
        },
    ],
}


def _import(stack: Stack, key: str, config: dict[str, Any] = CONFIG) -> dict[str, Any]:
    reply = stack.call("POST", "/api/v1/promptfoo/imports", key=key, body={"config": config})
    assert reply.status == 200, reply.text
    done: dict[str, Any] = reply.json()
    suite = stack.call("GET", f"/api/prompts/{done['promptId']}/eval/suites/{done['suiteId']}", key=key).json()
    done["suiteTests"] = suite["tests"]
    return done


def _finished_run(
    project_id: str, done: dict[str, Any], version_no: int, outputs: dict[str, tuple[str, float, list[dict]]], *,
    status: RunStatus = RunStatus.completed, datasets: dict[str, int] | None = None,
) -> int:  # fmt: skip
    """A suite run as the workflow leaves it: its results (one per case, in the suite's case order) counted."""
    from evalgate.services.container import container

    store = container().runs
    now = datetime.now(UTC)
    run = Run(
        id=store.new_run_id(), project_id=project_id, prompt_id=done["promptId"], suite_id=done["suiteId"],
        version_no=version_no, status=RunStatus.running, created_at=now,
        dataset_versions=datasets if datasets is not None else {str(done["datasetId"]): 1},
    )  # fmt: skip
    store.create_run(run)
    results = []
    for test in done["suiteTests"]:
        for case in test["caseNames"]:
            verdict, score, assertions = outputs[case]
            result = RunResult(
                index=len(results), name=f"{test['name']} [{case}]", test_id=test["id"], case_name=case,
                status=verdict, score=score, duration_ms=1, output=f"v{version_no} {case}", assertions=assertions,
            )  # fmt: skip
            results.append(result)
    store.set_total(project_id, run.id, len(results))
    assert store.record_batch_results(project_id, run.id, "b0", results)[0]
    if status != RunStatus.running:
        store.transition(project_id, run.id, status, allowed_from=[RunStatus.running], now=now)
    return run.id


def _passed(op: str, score: float = 1.0) -> dict[str, Any]:
    return {"operator": op, "status": "passed" if score == 1 else "failed", "score": score}


def _project(stack: Stack, key: str) -> str:
    return str(stack.call("GET", "/api/v1/me", key=key).json()["projectId"])


def test_compare_ranks_each_test_across_the_runs_page_by_page(stack: Stack, admin: str) -> None:
    member = key_for(admin, stack, "member")
    done = _import(stack, member)
    project = _project(stack, member)
    english = _finished_run(project, done, 1, {
        "001": ("passed", 1.0, [_passed("contains")]),
        "002": ("passed", 1.0, [_passed("starts-with")]),
        "003": ("passed", 1.0, [_passed("contains")]),
    })  # fmt: skip
    french = _finished_run(project, done, 2, {
        "001": ("passed", 1.0, [_passed("contains")]),
        "002": ("failed", 0.0, [_passed("starts-with", 0.0)]),
        "003": ("passed", 1.0, [_passed("contains")]),
    })  # fmt: skip
    url = f"/api/prompts/{done['promptId']}/eval/compare"

    # When the two runs are compared one case a page
    cases, cursor, pages = [], None, 0
    while True:
        body = {"runIds": [english, french], "limit": 1, **({"cursor": cursor} if cursor else {})}
        reply = stack.call("POST", url, key=member, body=body)
        assert reply.status == 200, reply.text
        cases += reply.json()["cases"]
        cursor, pages = reply.json()["nextCursor"], pages + 1
        if not cursor:
            break
    # Then only the tests with a comparison come back (002 has none), each output in runIds' order
    assert pages == 3 and [c["caseName"] for c in cases] == ["001", "003"]
    tie, judged = cases
    # max-score: a tie goes to the first run; the second loses its pass, its score becomes 0
    assert [(o["runId"], o["status"], o["score"]) for o in tie["outputs"]] == [
        (english, "passed", 1.0),
        (french, "failed", 0.0),
    ]
    assert tie["outputs"][1]["reason"] == "Not selected (score: 1.000, max: 1.000)"
    assert tie["outputs"][0]["comparisons"] == [
        {
            "operator": "max-score",
            "status": "passed",
            "score": 1.0,
            "reason": "Selected as highest scoring output (score: 1.000)",
            "namedScores": {"maxScore": 1.0, "assertionCount": 1.0, "totalWeight": 1.0},
        }
    ]
    # select-best: the scripted judge (the config's grader) answers "1": the second output is the best
    assert [(o["status"], o["comparisons"][0]["reason"]) for o in judged["outputs"]] == [
        ("failed", "Output not selected: the warmest"),
        ("passed", "Output selected as the best: the warmest"),
    ]
    # and the runs themselves are unchanged (the comparison is a view, nothing is written)
    listed = stack.call("GET", f"/api/prompts/{done['promptId']}/eval/runs/{french}", key=member).json()["results"]
    assert [r["status"] for r in listed] == ["passed", "failed", "passed"]


def test_a_comparison_is_refused_with_the_reason(stack: Stack, admin: str) -> None:
    member = key_for(admin, stack, "member")
    done = _import(stack, member)
    project = _project(stack, member)
    outputs = {case: ("passed", 1.0, [_passed("contains")]) for case in ("001", "002", "003")}
    first = _finished_run(project, done, 1, outputs)
    second = _finished_run(project, done, 2, outputs)
    running = _finished_run(project, done, 2, outputs, status=RunStatus.running)
    other_cases = _finished_run(project, done, 2, outputs, datasets={str(done["datasetId"]): 2})
    url = f"/api/prompts/{done['promptId']}/eval/compare"

    def ask(run_ids: list[int], key: str = member) -> tuple[int, str]:
        reply = stack.call("POST", url, key=key, body={"runIds": run_ids})
        return reply.status, reply.text

    assert ask([first])[0] == 422  # one output per case: nothing to compare
    assert ask([first, first])[0] == 400
    status, text = ask([first, running])
    assert status == 409 and "still running" in text
    status, text = ask([first, other_cases])
    assert status == 400 and "different dataset versions" in text
    assert ask([first, 999_999])[0] == 404
    assert ask([first, second], key=key_for(admin, stack, "viewer"))[0] == 403
    # another project's runs are not found
    from evalgate.services.projects import create_project

    _, _, stranger = create_project(None, "stranger")
    assert stack.call("POST", url, key=stranger, body={"runIds": [first, second]}).status == 404


def test_select_best_with_one_output_per_test_is_refused_at_import(stack: Stack, admin: str) -> None:
    # Given a config with one prompt and one provider (promptfoo aborts the eval at its comparison step)
    single = {**CONFIG, "prompts": ["Hello {{name}}"]}
    reply = stack.call("POST", "/api/v1/promptfoo/imports", key=admin, body={"config": single})
    # Then the import is refused before anything is written, naming the test
    assert reply.status == 400, reply.text
    assert "one prompt and one provider" in reply.json()["error"]["message"]
    assert "001" in reply.json()["error"]["field"]
    # and a single-output route refuses the type itself
    reply = stack.call(
        "POST",
        "/api/v1/evals",
        key=admin,
        body={
            "name": "x",
            "cases": [{"input": "q"}],
            "scorers": [{"type": "contains", "value": "a"}, {"type": "max-score"}],
        },
    )
    assert reply.status == 400 and reply.json()["error"]["field"] == "scorers[1].type", reply.text
    assert "several prompts or providers" in reply.json()["error"]["message"]
