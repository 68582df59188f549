"""`evalgate.evaluate` scoring locally (upload=False): bounded concurrency, a task that raises, evalgate's
deterministic assertion types and Python scorers; and `import evalgate` staying light."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import evalgate
from evalgate.sdk import EvalgateError, EvaluationResult


def test_evaluate_runs_bounded_records_errors_and_scores() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def task(question: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.002)
            n = int(question.split()[1])
            if n % 10 == 3:
                raise RuntimeError(f"backend down for {n}")
            return f"the answer is {n}" if n % 10 != 5 else "no idea"
        finally:
            with lock:
                running -= 1

    data = [{"id": f"q{i}", "input": f"question {i}", "expected": str(i)} for i in range(60)]
    progress = io.StringIO()
    result = evalgate.evaluate(
        data,
        task,
        ["contains", {"type": "not-contains", "value": "idea"}, lambda output: output.startswith("the")],
        upload=False,
        max_concurrency=4,
        progress=progress,
    )
    assert isinstance(result, EvaluationResult) and len(result.cases) == 60
    assert 1 < peak <= 4
    assert [c.id for c in result.cases] == [f"q{i}" for i in range(60)]  # the data's order, whatever finished first
    by_id = {c.id: c for c in result.cases}
    assert by_id["q3"].status == "errored" and by_id["q3"].error == "RuntimeError: backend down for 3"
    assert by_id["q3"].to_result()["error"] and "score" not in by_id["q3"].to_result()
    assert by_id["q5"].status == "failed" and by_id["q5"].scorers["contains"]["passed"] is False
    assert by_id["q1"].status == "passed" and by_id["q1"].score == 1.0
    assert (result.passed, result.errors) == (48, 6)
    assert result.verdict == "failed" and result.pass_rate == 0.8
    assert progress.getvalue().count("cases\n") == 10  # a line per tenth off a terminal


def test_scorers_are_checked_before_anything_runs() -> None:
    calls: list[str] = []

    def task(value: str) -> str:
        calls.append(value)
        return value

    with pytest.raises(EvalgateError, match="needs a model"):
        evalgate.evaluate(["a"], task, [{"type": "llm-rubric", "value": "polite"}], upload=False)
    with pytest.raises(ValueError, match="two cases have the id"):
        evalgate.evaluate([{"id": 1, "input": "a"}, {"id": 1, "input": "b"}], task, ["is-json"], upload=False)
    with pytest.raises(ValueError, match="at least one scorer"):
        evalgate.evaluate(["a"], task, [], upload=False)
    assert calls == []


def test_a_scorer_that_raises_errors_its_case_only() -> None:
    def picky(output: str, case: dict) -> float:
        if case["input"] == "boom":
            raise ValueError("cannot score")
        return 0.75

    result = evalgate.evaluate(["ok", "boom"], str.upper, [picky], upload=False, progress=False)
    assert [c.status for c in result.cases] == ["passed", "errored"]
    assert result.cases[0].score == 0.75 and result.cases[1].scorers["picky"]["error"] == "ValueError: cannot score"


def test_importing_evalgate_does_not_load_the_sdk() -> None:
    code = "import sys, evalgate; print('evalgate.sdk' in sys.modules, 'evalgate.scoring' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_pytest_plugin_runs_an_eval_as_a_test(tmp_path: Path) -> None:
    (tmp_path / "test_eval.py").write_text(
        "def test_ok(evalgate_eval):\n"
        "    result = evalgate_eval(['a', 'b'], task=str.upper, scorers=[lambda out: out.isupper()])\n"
        "    assert result.verdict == 'passed' and result.run_id is None\n"
        "def test_bad(evalgate_eval):\n"
        "    result = evalgate_eval(['a'], task=str.lower, scorers=[lambda out: out.isupper()])\n"
        "    assert result.verdict == 'passed', 'the eval failed'\n"
        "def test_needs_the_service(evalgate_client):\n"
        "    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALGATE_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the venv's other plugins take seconds to load; ours is named
    plugin = ["-p", "evalgate.sdk.pytest_plugin", "-p", "no:cacheprovider", "-q", "-rs"]
    local = subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "--evalgate-local", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert "1 failed, 1 passed, 1 skipped" in local.stdout, local.stdout + local.stderr
    assert "the eval failed" in local.stdout and "no service URL" in local.stdout


class _ScoringClient:
    """Stands in for `Client.score` (no service): grades `llm-rubric` by a word, refuses the request with case c4."""

    def __init__(self) -> None:
        self.requests: list[tuple[list[dict], list[dict], dict | None]] = []

    def score(self, assertions: list[dict], items: list[dict], *, judge: dict | None = None) -> list[dict]:
        self.requests.append((assertions, items, judge))  # list.append is atomic: requests come from threads
        if any(item["id"] == "c4" for item in items):
            raise EvalgateError("the service said 503")
        out = []
        for item in items:
            ok = "good" in item["output"]
            rubric = {
                "operator": "llm-rubric",
                "metric": "tone",
                "status": "passed" if ok else "failed",
                "score": 0.8 if ok else 0.1,
                "reason": "r",
            }
            contains = {"operator": "contains", "status": "passed", "score": 1.0, "reason": "c"}
            if item["output"].endswith("3"):
                rubric = {**rubric, "status": "errored", "score": 0.0, "reason": "The judge's reply is not JSON"}
            statuses = [rubric["status"], contains["status"]]
            status = "errored" if "errored" in statuses else ("failed" if "failed" in statuses else "passed")
            out.append(
                {
                    "id": item["id"],
                    "status": status,
                    "score": (rubric["score"] + 1.0) / 2,
                    "assertions": [rubric, contains],
                }
            )
        return out


def test_model_graded_scorers_are_scored_on_the_server_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalgate.sdk import evaluation

    monkeypatch.setattr(evaluation, "SCORE_ITEMS_PER_REQUEST", 4)
    client = _ScoringClient()
    data = [{"id": f"c{i}", "input": f"q{i}", "expected": "x"} for i in range(10)]

    def task(question: str) -> str:
        n = int(question[1:])
        if n == 9:
            raise RuntimeError("task broke")
        return f"{'good' if n % 2 == 0 else 'bad'} answer {n}"

    scorers = [{"type": "llm-rubric", "value": "polite", "metric": "tone"}, "contains", lambda out: len(out) < 100]
    judge = {"provider": "scripted", "model": "j"}
    result = evalgate.evaluate(data, task, scorers, upload=False, client=client, judge=judge, progress=False)  # type: ignore[arg-type]
    # every assertion went to the server (the deterministic one too), in batches of 4 of the 9 answered cases
    assert sorted(len(items) for _, items, _ in client.requests) == [1, 4, 4]
    assert all(j == judge and [a["type"] for a in a_] == ["llm-rubric", "contains"] for a_, _, j in client.requests)
    first = next(items[0] for _, items, _ in client.requests if items[0]["id"] == "c0")
    assert first == {
        "id": "c0",
        "output": "good answer 0",
        "variables": {"input": "q0"},
        "latencyMs": first["latencyMs"],
        "expectedOutput": "x",
        "prompt": "q0",
    }
    by_id = {c.id: c for c in result.cases}
    assert by_id["c0"].status == "passed" and by_id["c0"].scorers["tone"] == {
        "score": 0.8,
        "passed": True,
        "reason": "r",
    }
    assert by_id["c0"].score == pytest.approx((0.9 + 1.0) / 2)  # the server's verdict and the Python scorer, averaged
    assert by_id["c1"].status == "failed" and by_id["c1"].scorers["tone"]["passed"] is False
    assert by_id["c3"].status == "errored" and "not JSON" in (by_id["c3"].error or "")  # the judge's failure, per item
    # the refused request errors its four cases, with the reason; the others are untouched
    for cid in ("c4", "c5", "c6", "c7"):
        assert by_id[cid].status == "errored" and "503" in (by_id[cid].error or ""), by_id[cid]
    assert by_id["c8"].status == "passed" and by_id["c9"].error == "RuntimeError: task broke"
    assert by_id["c3"].to_result()["error"] and "passed" not in by_id["c3"].to_result()
