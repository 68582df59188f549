"""The release gate in CI (issue 16) on the local runtime: a dataset edited between two runs (versions differ, the
comparison says so and pairs only the unchanged cases), `evalgate run` with a passing and a failing change (exit
codes, JUnit, Markdown), and the gate refusing to compare when told to."""

from __future__ import annotations

import io
import json
import time
import xml.etree.ElementTree as ET
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
    Path("/tmp/eg16-fail-out.txt").write_text(out + "\n----\n" + err)
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
