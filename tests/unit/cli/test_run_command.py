"""`evalgate run` against a stub service: progress on a terminal and off it, the failures table, exit codes from
the gate's verdict and the run's end, the outputs, and Ctrl-C cancelling the run."""

from __future__ import annotations

import io
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from evalgate.cli.context import Context
from evalgate.cli.main import run
from evalgate.cli.report import render_markdown
from tests.unit.cli.conftest import KEY, Answer, Cli, Recorded, Stub

RESULTS = [
    {"name": "greet [ada]", "caseName": "ada", "status": "passed", "score": 1.0, "assertions": []},
    {
        "name": "greet [bo]",
        "caseName": "bo",
        "status": "failed",
        "score": 0.0,
        "variables": {"name": "Bo"},
        "assertions": [{"operator": "contains", "status": "failed", "reason": "output lacks 'Hello' | pipes"}],
    },
    {"name": "greet [cy]", "caseName": "cy", "status": "errored", "score": 0.0, "error": "model call failed"},
]
STATS = {
    "count": 3,
    "passed": 1,
    "failed": 1,
    "errors": 1,
    "passRate": {"value": 1 / 3},
    "score": {"mean": 1 / 3},
    "comparison": None,
}


def service(stub: Stub, statuses: list[str], *, gate: dict[str, Any] | None = None, control: int | None = None) -> None:
    polls = iter(statuses)
    stats = dict(STATS)
    if control is not None:
        stats["comparison"] = {
            "controlRunId": str(control),
            "verdict": "worse",
            "verdictReason": "fewer cases pass",
            "sharedCases": 3,
            "passRate": {"current": 1 / 3, "control": 1.0, "delta": -2 / 3, "ci": [-0.9, -0.2]},
            "mcnemar": {"pValue": 0.25},
            "score": {"current": 0.33, "control": 1.0, "meanDelta": -0.67, "ci": None},
            "datasets": {"same": False, "message": "dataset versions differ: the run read dataset 4 v3"},
        }

    def respond(request: Recorded, _: int) -> Answer | None:
        path = request.path.split("?")[0]
        if request.method == "POST" and path == "/api/prompts/5/eval/run":
            return Answer(202, {"id": 9, "status": "pending"})
        if path == "/api/prompts/5/eval/runs/9/status":
            status = next(polls, statuses[-1])
            done = {"running": 2, "completed": 3, "failed": 1}.get(status, 0)
            body = {"id": 9, "status": status, "progress": {"done": done, "total": 3}, "configHash": "abc"}
            body["datasetVersions"] = {"4": 3}
            body["error"] = "the workflow failed" if status == "failed" else None
            return Answer(200, body)
        if path == "/api/prompts/5/eval/runs/9/cancel":
            return Answer(200, {"id": 9, "status": "cancelled"})
        if path == "/api/prompts/5/eval/gate/check":
            return Answer(200, gate or {"verdict": "failed", "passed": False, "reason": "pass rate 0.33 < 0.9"})
        if path == "/api/prompts/5/eval/gate":
            return Answer(200, {"controlRunId": control})
        if path == "/api/v1/evals/9/stats":
            return Answer(200, stats)
        if path == "/api/prompts/5/eval/runs/9":
            return Answer(200, {"results": RESULTS, "nextCursor": None})
        if path == f"/api/prompts/5/eval/runs/{control}":
            return Answer(200, {"results": [{**r, "status": "passed"} for r in RESULTS], "nextCursor": None})
        return None

    stub.responder = respond


def test_a_failing_run_prints_the_failures_writes_every_output_and_exits_1(
    cli: Cli, stub: Stub, tmp_path: Path
) -> None:
    service(stub, ["pending", "running", "completed"], control=3)
    outcome = cli(
        "run", "--prompt", "5", "--suite", "2", "--version", "4", "--markdown", "r.md", "--junit", "j.xml",
        "--json", "s.json",
    )  # fmt: skip
    assert outcome.code == 1, outcome.err
    assert "failures (2):" in outcome.out and "contains: output lacks 'Hello'" in outcome.out
    assert "model call failed" in outcome.out and "gate: FAILED: pass rate 0.33 < 0.9" in outcome.out
    assert "note: dataset versions differ" in outcome.out
    # plain progress lines off a terminal, one per status or tenth
    assert "run pending: 0/3 cases" in outcome.err and "run completed: 3/3 cases" in outcome.err
    assert outcome.waits == [1.0, 1.0]
    sent = next(r for r in stub.requests if r.path.endswith("/eval/run"))
    assert sent.json == {"suiteId": 2, "versionNo": 4}
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["verdict"] == "failed" and summary["failureCount"] == 2
    assert [r["name"] for r in summary["regressions"]] == ["bo", "cy"]
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.startswith("<!-- evalgate-report prompt=5 -->")
    assert "| pass rate | 33.3% (1/3) | 100.0% | -66.7 pts (95% CI -90.0 to -20.0; McNemar p=0.25) |" in markdown
    assert "Top regressions (2 passed on the control" in markdown and "\\| pipes" in markdown
    assert "⚠️ **Datasets:** dataset versions differ" in markdown
    junit = ET.parse(tmp_path / "j.xml").getroot()
    assert junit.get("tests") == "3" and junit.get("failures") == "2" and junit.get("errors") == "1"
    suite = junit.find("testsuite")
    assert suite is not None
    kinds = [(c.get("name"), [e.tag for e in c]) for c in suite.findall("testcase")]
    assert kinds == [("quality gate", ["failure"]), ("bo", ["failure"]), ("cy", ["error"])]


@pytest.mark.parametrize(
    ("gate", "statuses", "flags", "code"),
    [
        ({"verdict": "passed", "passed": True, "reason": "ok"}, ["completed"], [], 0),
        ({"verdict": "inconclusive", "passed": False, "reason": "too few"}, ["completed"], [], 2),
        ({"verdict": "inconclusive", "passed": False, "reason": "too few"}, ["completed"], ["--allow-inconclusive"], 0),
        (None, ["running", "failed"], [], 3),
    ],
)
def test_exit_codes_follow_the_verdict(
    cli: Cli, stub: Stub, gate: dict[str, Any] | None, statuses: list[str], flags: list[str], code: int
) -> None:
    service(stub, statuses, gate=gate)
    outcome = cli("run", "--prompt", "5", "--suite", "2", "--version", "1", *flags)
    assert outcome.code == code, outcome.out + outcome.err
    if code == 3:
        assert "gate: ERROR: run 9 ended failed: the workflow failed" in outcome.out
        assert not any(r.path.endswith("/gate/check") for r in stub.requests)


def test_a_terminal_gets_a_redrawn_bar(cli: Cli, stub: Stub) -> None:
    service(stub, ["running", "completed"], gate={"verdict": "passed", "passed": True, "reason": "ok"})
    outcome = cli("run", "--prompt", "5", "--suite", "2", "--version", "1", tty=True)
    assert outcome.code == 0
    assert "\r[###################---------] 2/3 cases  running\x1b[K" in outcome.err
    assert "\r[############################] 3/3 cases  completed\x1b[K\n" in outcome.err


def test_ctrl_c_cancels_the_run(stub: Stub) -> None:
    service(stub, ["running"])

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    out, err = io.StringIO(), io.StringIO()
    ctx = Context(
        stdout=out, stderr=err, env={"EVALGATE_URL": stub.url, "EVALGATE_API_KEY": KEY}, sleep=interrupted,
        rng=random.Random(1),
    )  # fmt: skip
    code = run(["run", "--prompt", "5", "--suite", "2", "--version", "1"], ctx)
    assert code == 130
    assert [r.path for r in stub.requests if r.method == "POST"][-1] == "/api/prompts/5/eval/runs/9/cancel"
    assert "cancelling run 9" in err.getvalue() and "run 9 cancelled" in err.getvalue()


def test_usage_errors(cli: Cli) -> None:
    assert "exactly one of --suite" in cli("run", "--prompt", "5").err
    assert cli("run", "--prompt", "5", "--suite", "1").code == 3  # no version
    assert "--scorer" in cli("run", "--prompt", "5", "--dataset", "3", "--version", "1").err


def test_markdown_without_a_control_or_figures_still_renders() -> None:
    text = render_markdown({"prompt": 1, "run": {"id": 2}, "gate": {"verdict": "error", "reason": "boom"}})
    assert "gate **ERROR**" in text and "| pass rate | n/a (None/None) |" in text and "boom" in text


def test_dataset_version_pins_one_dataset_or_several() -> None:
    from evalgate.cli.context import UsageError
    from evalgate.cli.run import _dataset_versions

    assert _dataset_versions(["3"]) == 3
    assert _dataset_versions(["4=3", " 7 = 1"]) == {"4": 3, "7": 1}
    for bad in (["3", "4"], ["x=1"], ["4=v2"], ["=2"]):
        with pytest.raises(UsageError, match="DATASET_ID=N"):
            _dataset_versions(bad)
