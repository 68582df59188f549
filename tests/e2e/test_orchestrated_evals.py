"""POST /api/v1/evals with cases, a template and scorers: evalgate runs them like a suite run."""

from __future__ import annotations

from typing import Any

import requests

from tests.e2e.conftest import Runtime
from tests.e2e.test_suite_runs import wait_for


def test_orchestrated_eval_runs_inline_cases(runtime: Runtime, admin: requests.Session) -> None:
    reply = admin.post(
        runtime.url("/api/v1/evals"),
        json={
            "name": "capitals",
            "model": "scripted-1",
            "provider": "scripted",
            "modelParams": {
                "responses": [
                    {"match": "France", "output": "Paris"},
                    {"match": "Japan", "output": "Kyoto"},
                ]
            },
            "promptTemplate": "Capital of {{input}}? One word.",
            "cases": [
                {"name": "fr", "input": "France", "expectedOutput": "Paris"},
                {"name": "jp", "input": "Japan", "expectedOutput": "Tokyo"},
                {"variables": {"input": "Peru"}, "expectedOutput": "Lima"},
            ],
            "scorers": ["equals", {"type": "contains", "value": "a"}],
            "metadata": {"ci": "yes"},
        },
    )
    assert reply.status_code == 201, reply.text
    run = reply.json()
    assert run["status"] == "pending"  # the start's reply, even when its workflow's first state came first
    assert run["metadata"] == {"ci": "yes"}
    done = wait_for(admin, runtime.url(f"/api/v1/evals/{run['id']}"), until={"passed", "failed", "error"})
    assert done["status"] == "failed", done  # 1 of 3 cases equals its expected output
    assert done["summary"]["total"] == 3
    assert done["summary"]["passed"] == 1
    results = admin.get(runtime.url(f"/api/v1/evals/{run['id']}/results")).json()["items"]
    outputs = sorted(r["actualOutput"] for r in results)
    assert outputs == ["Capital of Peru? One word.", "Kyoto", "Paris"]
    stats = admin.get(runtime.url(f"/api/v1/evals/{run['id']}/stats")).json()
    assert stats["count"] == 3 and stats["passed"] == 1


def test_orchestrated_eval_rejects_bad_specs(runtime: Runtime, admin: requests.Session) -> None:
    def post(body: dict[str, Any]) -> requests.Response:
        return admin.post(runtime.url("/api/v1/evals"), json={"name": "bad", **body})

    no_scorers = post({"promptTemplate": "x", "cases": [{"input": "a"}]})
    assert no_scorers.status_code == 400 and no_scorers.json()["error"]["field"] == "scorers"
    no_cases = post({"promptTemplate": "x", "scorers": ["equals"]})
    assert no_cases.status_code == 400 and no_cases.json()["error"]["field"] == "cases"
    bad_scorer = post({"promptTemplate": "x", "cases": [{"input": "a"}], "scorers": ["no-such-scorer"]})
    assert bad_scorer.status_code == 400 and bad_scorer.json()["error"]["field"].startswith("scorers[0]")
    no_template = post({"cases": [{"input": "a"}], "scorers": ["equals"]})
    assert no_template.status_code == 400 and no_template.json()["error"]["field"] == "promptTemplate"
