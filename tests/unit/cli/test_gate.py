"""evalgate gate check: the verdict as an exit code, a readable summary, a JUnit report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from evalgate.cli import junit
from tests.unit.cli.conftest import Cli, Stub

FAILED: dict[str, Any] = {
    "passed": False,
    "verdict": "failed",
    "reason": "pass rate 0.82 (n=120) is below the threshold 0.9",
    "runId": 9,
    "figures": {"metric": "pass_rate", "threshold": 0.9, "n": 120, "value": 0.82, "allowInconclusive": False},
}
INCONCLUSIVE: dict[str, Any] = {
    "passed": False,
    "verdict": "inconclusive",
    "reason": "only 12 cases (minimum 30), too few to decide",
    "runId": 10,
    "figures": {"n": 12, "min_samples": 30, "allowInconclusive": False},
}


def _suite(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()  # parses: the report is well-formed XML
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    assert suites[0].get("name") == "evalgate quality gate"
    return suites[0]


def _properties(suite: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}


def test_passed_exits_0_and_checks_the_latest_run(cli: Cli, stub: Stub) -> None:
    # Given a gate that passes / When checked without --run
    outcome = cli("gate", "check", "--prompt", "pr_1")
    # Then exit 0; the request names the prompt and no run (the server picks the latest completed one)
    assert outcome.code == 0
    (request,) = stub.requests
    assert request.path == "/api/prompts/pr_1/eval/gate/check"
    assert request.json == {}
    assert request.headers["content-type"] == "application/json"
    # and the verdict, the reason and the figures are printed
    assert "gate check: PASSED (prompt pr_1, run 17)" in outcome.out  # the run the server picked
    assert "reason: pass rate 0.95 (n=120) meets the threshold 0.9" in outcome.out
    # the figures line is compact: scalars, no nulls, no long texts, nothing the verdict line says
    assert "figures: metric=pass_rate  mode=threshold  threshold=0.9  n=120  value=0.95  unit=cases\n" in outcome.out


def test_failed_exits_1_and_sends_the_run_id(cli: Cli, stub: Stub) -> None:
    stub.gate_answer = FAILED
    outcome = cli("gate", "check", "--prompt", "12", "--run", "9")
    assert outcome.code == 1
    assert stub.requests[0].json == {"runId": 9}  # the service's run ids are integers
    assert "gate check: FAILED (prompt 12, run 9)" in outcome.out
    assert "below the threshold" in outcome.out


def test_a_non_numeric_run_id_is_sent_as_given(cli: Cli, stub: Stub) -> None:
    cli("gate", "check", "--prompt", "12", "--run", "run_9")
    assert stub.requests[0].json == {"runId": "run_9"}


def test_ids_are_percent_encoded_in_the_path(cli: Cli, stub: Stub) -> None:
    cli("gate", "check", "--prompt", "a/b c")
    assert stub.requests[0].path == "/api/prompts/a%2Fb%20c/eval/gate/check"


@pytest.mark.parametrize(
    ("flag", "allow_in_figures", "code"),
    [(False, False, 2), (True, False, 0), (False, True, 0)],
)
def test_inconclusive_exits_2_unless_allowed(
    cli: Cli, stub: Stub, flag: bool, allow_in_figures: bool, code: int
) -> None:
    # Given an inconclusive verdict, allowed by the flag, by the gate's own setting, or not at all
    stub.gate_answer = {**INCONCLUSIVE, "figures": {**INCONCLUSIVE["figures"], "allowInconclusive": allow_in_figures}}
    argv = ["gate", "check", "--prompt", "pr_1"] + (["--allow-inconclusive"] if flag else [])
    # When checked / Then exit 2, or 0 when allowed
    outcome = cli(*argv)
    assert outcome.code == code
    assert "gate check: INCONCLUSIVE" in outcome.out
    assert ("inconclusive is allowed" in outcome.out) == (code == 0)


def test_verdict_falls_back_to_passed_flag(cli: Cli, stub: Stub) -> None:
    stub.gate_answer = {"passed": False, "reason": "no verdict field"}
    assert cli("gate", "check", "--prompt", "pr_1").code == 1


@pytest.mark.parametrize("answer", [{"verdict": "maybe"}, ["passed"], {"reason": "nothing"}])
def test_unreadable_answer_exits_3(cli: Cli, stub: Stub, answer: Any) -> None:
    stub.gate_answer = answer
    outcome = cli("gate", "check", "--prompt", "pr_1")
    assert outcome.code == 3
    assert "evalgate: error:" in outcome.err


def test_server_error_is_retried_then_succeeds(cli: Cli, stub: Stub) -> None:
    # Given a server that fails twice, then answers
    stub.queue(503, {"error": {"code": "unavailable", "message": "try later", "field": None}}, times=2)
    # When checked / Then the verdict arrives after two waits
    outcome = cli("gate", "check", "--prompt", "pr_1")
    assert outcome.code == 0
    assert len(stub.requests) == 3
    assert len(outcome.waits) == 2
    assert "retrying in" in outcome.err


@pytest.mark.parametrize(
    ("answer", "failures", "skipped"),
    [(None, 0, 0), (FAILED, 1, 0), (INCONCLUSIVE, 0, 1)],
)
def test_junit_report_counts(
    cli: Cli, stub: Stub, tmp_path: Path, answer: dict[str, Any] | None, failures: int, skipped: int
) -> None:
    # Given a verdict / When checked with --junit into a directory that does not exist yet
    if answer:
        stub.gate_answer = answer
    report = tmp_path / "reports" / "gate.xml"
    cli("gate", "check", "--prompt", "pr_1", "--junit", str(report))
    # Then the report parses and counts one test, failed or skipped as the verdict says
    suite = _suite(report)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "1",
        str(failures),
        str(skipped),
        "0",
    )
    (case,) = suite.findall("testcase")
    assert len(case.findall("failure")) == failures
    assert len(case.findall("skipped")) == skipped
    reason = stub.gate_answer["reason"]
    for element in case.findall("failure") + case.findall("skipped"):
        assert element.get("message") == reason
    properties = _properties(suite)
    assert properties["evalgate.promptId"] == "pr_1"
    assert properties["evalgate.verdict"] == stub.gate_answer["verdict"]
    assert properties["evalgate.runId"] == str(stub.gate_answer["runId"])
    for name, value in stub.gate_answer["figures"].items():
        assert name in properties
        assert properties[name] == (json.dumps(value) if value is None or isinstance(value, bool) else str(value))


def test_junit_escapes_markup_and_control_characters(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given a reason and figures full of markup, quotes, newlines and characters XML cannot hold
    reason = 'Score < 0.5 & "drift" > limit\n\x00\x1b[31m <failure/> ]]>'
    stub.gate_answer = {
        "verdict": "failed",
        "reason": reason,
        "figures": {"note": "<b>&amp;</b>", "nested": {"a": 1, "b": [1, 2]}, "empty": None},
    }
    report = tmp_path / "gate.xml"
    outcome = cli("gate", "check", "--prompt", "<pr&1>", "--junit", str(report))
    assert outcome.code == 1
    # When the report is parsed / Then the text comes back intact, the forbidden characters replaced
    suite = _suite(report)
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == reason.replace("\x00", "\ufffd").replace("\x1b", "\ufffd")
    properties = _properties(suite)
    assert properties["note"] == "<b>&amp;</b>"
    assert properties["nested.a"] == "1"
    assert properties["nested.b"] == "[1,2]"
    assert properties["empty"] == "null"
    assert properties["evalgate.promptId"] == "<pr&1>"


def test_junit_records_an_error_when_the_check_cannot_run(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given a server failing every attempt / When checked with --junit
    stub.queue(500, {"error": {"code": "internal", "message": "boom", "field": None}}, times=6)
    report = tmp_path / "gate.xml"
    outcome = cli("gate", "check", "--prompt", "pr_1", "--junit", str(report))
    # Then exit 3, and the report holds one errored test with the message
    assert outcome.code == 3
    assert "500 internal: boom (gave up after 6 attempts)" in outcome.err
    suite = _suite(report)
    assert suite.get("errors") == "1"
    error = suite.find("testcase/error")
    assert error is not None
    assert "boom" in (error.get("message") or "")


def test_unwritable_junit_path_exits_3(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    outcome = cli("gate", "check", "--prompt", "pr_1", "--junit", str(blocker / "gate.xml"))
    assert outcome.code == 3
    assert "cannot write the JUnit report" in outcome.err


def test_render_several_checks() -> None:
    # the writer takes a list: one testcase per gate check
    xml = junit.render(
        [
            junit.CheckRecord("a", "passed", "ok", 0.1),
            junit.CheckRecord("b", "failed", "no", 0.2),
            junit.CheckRecord("c", "inconclusive", "?", 0.3),
        ]
    )
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "skipped", "errors", "time")] == ["3", "1", "1", "0", "0.600"]
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
