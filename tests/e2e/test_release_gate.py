"""The release gate in CI (issue 16) on the local runtime: a dataset edited between two runs (versions differ, the
comparison says so and pairs only the unchanged cases), `evalgate run` with a passing and a failing change (exit
codes, JUnit, Markdown), the gate refusing to compare when told to, and the SDK's `evaluate()` (200 cases with
errors; model-graded scorers scored on the server)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from evalgate.cli.context import Context
from evalgate.cli.main import run
from tests.conftest import Runtime

pytestmark = pytest.mark.e2e


def cli(runtime: Runtime, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(
        stdout=out,
        stderr=err,
        env={"EVALGATE_URL": runtime.base_url, "EVALGATE_API_KEY": runtime.admin_key},
        sleep=lambda s: time.sleep(min(s, 0.2)),
    )
    code = run(list(argv), ctx)
    return code, out.getvalue(), err.getvalue()


def wait_for(admin: requests.Session, url: str) -> dict[str, Any]:
    deadline = time.time() + 120
    while time.time() < deadline:
        body = dict(admin.get(url).json())
        if body["status"] in ("completed", "failed", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"run did not end: {url}")


def test_dataset_versions_and_evalgate_run(runtime: Runtime, admin: requests.Session, tmp_path: Path) -> None:
    prompt = admin.post(
        runtime.url("/api/prompts"),
        json={
            "name": "release-gate",
            "template": "Hello {{name}}!",
            "modelConfig": {"provider": "scripted", "model": "scripted-1"},  # echoes the rendered prompt
        },
    ).json()
    pid = prompt["id"]
    base = runtime.url(f"/api/prompts/{pid}/eval")
    cases = [{"name": f"n{i}", "variables": {"name": f"P{i}"}} for i in range(10)]
    ds = admin.post(f"{base}/datasets", json={"name": "people", "cases": cases}).json()
    assert ds["version"] == 1
    suite = admin.post(
        f"{base}/suites",
        json={
            "name": "greets",
            "tests": [{"name": "greet", "datasetId": ds["id"], "assertions": [{"type": "contains", "value": "Hello"}]}],
        },
    ).json()
    # Given a control run on dataset version 1
    control = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    assert control["datasetVersions"] == {str(ds["id"]): 1}
    assert wait_for(admin, f"{base}/runs/{control['id']}/status")["status"] == "completed"
    gate = {"mode": "non-inferiority", "margin": 0.45, "minSamples": 5, "controlRunId": control["id"]}
    assert admin.put(f"{base}/gate", json=gate).status_code == 200
    # When the dataset is edited (one case changed, one added): version 3
    case_url = f"{base}/datasets/{ds['id']}/cases"
    assert admin.put(f"{case_url}/n0", json={"variables": {"name": "Changed"}}).status_code == 200
    assert admin.post(case_url, json={"name": "n10", "variables": {"name": "New"}}).status_code == 201
    old = admin.get(f"{base}/datasets/{ds['id']}", params={"version": 1}).json()
    assert old["version"] == 1 and len(old["cases"]) == 10 and old["cases"][0]["variables"] == {"name": "P0"}

    # And `evalgate run` tests the same version (a passing change)
    report = tmp_path / "pass.md"
    code, out, err = cli(
        runtime, "run", "--prompt", str(pid), "--suite", str(suite["id"]), "--version", "1",
        "--markdown", str(report), "--junit", str(tmp_path / "pass.xml"), "--json", str(tmp_path / "pass.json"),
        "--interval", "0.2",
    )  # fmt: skip
    # Then it passes, and says the dataset versions differ
    assert code == 0, out + err
    summary = json.loads((tmp_path / "pass.json").read_text())
    assert summary["run"]["datasetVersions"] == {str(ds["id"]): 3}
    assert summary["run"]["configHash"] != control["configHash"]
    datasets = summary["gate"]["datasets"]
    assert datasets["same"] is False and datasets["changedCases"] == 2
    assert set(datasets["changedSample"]) == {"n0", "n10"}
    assert summary["comparison"]["sharedCases"] == 9  # the unchanged cases only
    assert "dataset versions differ" in summary["comparison"]["datasets"]["message"]
    assert "note: dataset versions differ" in out and "gate: PASSED" in out
    markdown = report.read_text()
    assert "evalgate-report prompt=" in markdown and "**PASSED**" in markdown and "Datasets:" in markdown
    assert ET.parse(tmp_path / "pass.xml").getroot().get("failures") == "0"
    assert "started run" in err and "cases" in err  # plain progress lines (stderr is not a terminal)

    # When the change breaks the prompt (a template file): the gate fails, exit 1, with the failures and regressions
    bad = tmp_path / "bad.txt"
    bad.write_text("Bye {{name}}!")
    code, out, err = cli(
        runtime, "run", "--prompt", str(pid), "--suite", str(suite["id"]), "--template", str(bad),
        "--markdown", str(tmp_path / "fail.md"), "--junit", str(tmp_path / "fail.xml"), "--interval", "0.2",
    )  # fmt: skip
    assert code == 1, out + err
    assert "gate: FAILED" in out, out
    assert "failures (11)" in out and "contains" in out, out
    failed_md = (tmp_path / "fail.md").read_text()
    assert "**FAILED**" in failed_md and "Top regressions (9 passed on the control" in failed_md
    junit = ET.parse(tmp_path / "fail.xml").getroot()
    assert junit.get("failures") == "12"  # the gate and 11 failing cases
    # When the gate is told to refuse different dataset versions, the check answers 409 with the reason
    assert admin.put(f"{base}/gate", json={**gate, "onDatasetChange": "refuse"}).status_code == 200
    refused = admin.post(f"{base}/gate/check", json={"runId": summary["run"]["id"]})
    assert refused.status_code == 409 and "dataset versions differ" in refused.json()["error"]["message"]
    # and a run pinned to the control's dataset version compares every case
    pinned = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1, "datasetVersion": 1}).json()
    assert pinned["datasetVersions"] == {str(ds["id"]): 1} and pinned["configHash"] == control["configHash"]
    wait_for(admin, f"{base}/runs/{pinned['id']}/status")
    check = admin.post(f"{base}/gate/check", json={"runId": pinned["id"]}).json()
    assert check["verdict"] == "passed" and check["datasets"]["same"] is True


# -- the GitHub Action's script, with a fake GITHUB_* environment and a stub GitHub API --------------------------
class StubGitHub:
    """Issue comments of one repository, in memory; every request recorded."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = [{"id": 1, "body": "an unrelated comment"}]
        self.requests: list[tuple[str, str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *_: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _record(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                stub.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
                return body

            def do_GET(self) -> None:
                self._record()
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                page = int(query.get("page", ["1"])[0])
                self._answer(200, stub.comments[(page - 1) * 100 : page * 100])

            def do_POST(self) -> None:
                body = self._record()
                comment = {"id": 100 + len(stub.comments), "body": body["body"]}
                stub.comments.append(comment)
                self._answer(201, comment)

            def do_PATCH(self) -> None:
                body = self._record()
                comment_id = int(self.path.rsplit("/", 1)[1])
                comment = next(c for c in stub.comments if c["id"] == comment_id)
                comment["body"] = body["body"]
                self._answer(200, comment)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_action_script_posts_then_updates_one_comment(
    runtime: Runtime, admin: requests.Session, tmp_path: Path
) -> None:
    pid = admin.post(
        runtime.url("/api/prompts"),
        json={"name": "action", "template": "Hello {{name}}!", "modelConfig": {"provider": "scripted", "model": "s"}},
    ).json()["id"]
    base = runtime.url(f"/api/prompts/{pid}/eval")
    cases = [{"name": f"c{i}", "variables": {"name": str(i)}} for i in range(12)]
    ds = admin.post(f"{base}/datasets", json={"name": "d", "cases": cases}).json()
    github = StubGitHub()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    summary = tmp_path / "step_summary.md"
    outputs = tmp_path / "github_output"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "EVALGATE_URL": runtime.base_url,
        "EVALGATE_API_KEY": runtime.admin_key,
        "INPUT_PROMPT": str(pid),
        "INPUT_DATASET": str(ds["id"]),
        "INPUT_SCORERS": "contains:Hello\nnot-contains:Bye",
        "INPUT_VERSION": "1",
        "INPUT_INTERVAL": "0.2",
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": "ghs_fake_token_value",
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "RUNNER_TEMP": str(tmp_path),
    }
    script = Path(__file__).resolve().parents[2] / "action" / "run.sh"
    try:
        first = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "comment posted on #7" in first.stderr
        assert "verdict=passed" in outputs.read_text() and "exit-code=0" in outputs.read_text()
        # a failing change: the same action again, the comment updated in place
        bad = tmp_path / "bad.txt"
        bad.write_text("Bye {{name}}")
        second = subprocess.run(
            ["bash", str(script)], env={**env, "INPUT_VERSION": "", "INPUT_TEMPLATE": str(bad)},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert second.returncode == 1, second.stdout + second.stderr
        assert "comment 101 updated on #7" in second.stderr
    finally:
        github.server.shutdown()
    ours = [c for c in github.comments if "evalgate-report" in c["body"]]
    assert len(ours) == 1 and "**FAILED**" in ours[0]["body"]
    assert "| c1 | failed | 0.00 | contains: The output does not contain 'Hello'. |" in ours[0]["body"]
    methods = [m for m, _, _ in github.requests]
    assert methods == ["GET", "POST", "GET", "PATCH"]
    assert all(auth == "Bearer ghs_fake_token_value" for _, _, auth in github.requests)
    assert summary.read_text().count("evalgate-report") == 2  # the job summary got both reports
    assert "ghs_fake_token_value" not in first.stderr + second.stderr


# -- the Python SDK ------------------------------------------------------------------------------------------------
def test_sdk_evaluate_uploads_200_cases_with_errors_and_gets_the_verdict(runtime: Runtime) -> None:
    import evalgate

    client = evalgate.Client(runtime.base_url, api_key=runtime.admin_key)
    pid = client.create_prompt("sdk")["id"]
    client.set_gate(pid, mode="threshold", threshold=0.8, minSamples=50)

    def task(question: str) -> str:
        n = int(question.split()[1])
        if n % 17 == 0:
            raise ConnectionError(f"backend hiccup on {n}")
        return f"answer {n}"

    data = [{"id": f"q{i}", "input": f"question {i}", "expected": str(i)} for i in range(200)]
    result = evalgate.evaluate(
        data, task, ["contains", lambda output: len(output) < 20], prompt_id=pid, client=client, progress=False
    )
    assert result.errors == 12 and result.passed == 188  # 0, 17, ..., 187 raised
    assert result.run_id is not None
    assert result.stats["count"] == 200 and result.stats["errors"] == 12 and result.stats["passed"] == 188
    # the pass rate clears the threshold, but a run with errored cases never passes the gate (issue 10), and says so
    assert result.gate is not None and result.gate.run_id == result.run_id
    assert result.gate.verdict == "failed" and "12 of 200 cases errored" in result.gate.reason, result.gate.reason
    stored = client.request("GET", "api", "v1", "evals", result.run_id)
    assert stored["status"] == "failed" and stored["summary"]["total"] == 200  # not every case passed
    errored = [r for r in client.pages("api", "v1", "evals", result.run_id, "results") if r.get("error")]
    assert len(errored) == 12 and errored[0]["error"].startswith("ConnectionError: backend hiccup")


# model-graded scorers: scored on the server (POST /api/v1/scores) by a scripted stub judge; this follows the
# 200-case test in this file so the eval routes it shares are warm on this runtime
SCRIPTED_JUDGE = {
    "provider": "scripted",
    "model": "judge-1",
    "params": {
        "responses": [
            {"match": "(?s)<output>\\nmumble", "output": "I would rather not say"},
            {"match": "(?s)<output>\\nPolite", "output": '{"reason": "kind", "score": 0.9, "pass": true}'},
        ],
        "default": '{"reason": "rude", "score": 0.1, "pass": false}',
    },
}


def test_evaluate_scores_llm_rubric_on_the_server_and_uploads_the_scores(runtime: Runtime) -> None:
    import evalgate

    client = evalgate.Client(runtime.base_url, api_key=runtime.admin_key)

    def task(question: str) -> str:
        n = int(question.split()[1])
        if n == 7:
            raise TimeoutError("the app timed out")
        if n == 5:
            return "mumble"
        return f"Polite answer {n}" if n % 3 else f"Go away {n}"

    data = [{"id": f"q{i}", "input": f"question {i}", "expected": str(i)} for i in range(12)]
    scorers = [{"type": "llm-rubric", "value": "The answer is polite", "metric": "polite"}, "contains"]
    result = evalgate.evaluate(data, task, scorers, client=client, judge=SCRIPTED_JUDGE, progress=False)
    by_id = {c.id: c for c in result.cases}
    rude = {"q0", "q3", "q6", "q9"}
    assert {c.id for c in result.cases if c.status == "errored"} == {"q5", "q7"}
    assert {c.id for c in result.cases if c.status == "failed"} == rude
    assert by_id["q1"].status == "passed" and by_id["q1"].scorers["polite"]["score"] == 0.9
    assert by_id["q1"].scorers["contains"]["passed"] is True  # the deterministic assertion, graded with it
    assert "not JSON" in (by_id["q5"].error or "") and by_id["q7"].error == "TimeoutError: the app timed out"

    # the external run carries the judge's scores per case, and its statistics count them
    assert result.run_id is not None
    stored = {r["id"]: r for r in client.pages("api", "v1", "evals", result.run_id, "results")}
    assert len(stored) == 12
    assert stored["q1"]["scorerResults"]["polite"] == {"score": 0.9, "passed": True, "reason": "kind"}
    assert stored["q0"]["passed"] is False and stored["q0"]["scorerResults"]["polite"]["score"] == 0.1
    assert "not JSON" in stored["q5"]["error"] and stored["q5"].get("passed") is None
    assert result.stats["count"] == 12 and result.stats["errors"] == 2 and result.stats["passed"] == 6
