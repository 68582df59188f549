"""Humanloop-compatible Evaluations end to end on the local runtime, over HTTP with X-API-KEY: an evaluation of
a prompt, two orchestrated runs (version 1 against version 2 on one dataset, through Step Functions), an
external run fed with inline logs, the control run, stats with the paired comparison, logs, clean-up."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.e2e.conftest import Runtime

SCRIPTED = {"provider": "scripted", "model": "scripted-1"}


def wait_for_runs(hl: requests.Session, url: str, run_ids: set[str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.time() + timeout
    runs: dict[str, Any] = {}
    while time.time() < deadline:
        runs = {r["id"]: r for r in hl.get(url).json()["runs"]}
        if all(runs[i]["status"] in ("completed", "cancelled") for i in run_ids):
            return runs
        time.sleep(0.3)
    raise AssertionError(f"runs not finished after {timeout}s: {runs}")


def test_humanloop_evaluation_flow(runtime: Runtime, admin: requests.Session) -> None:
    # Given a prompt with two versions (version 2 knows one capital more) and a dataset of four countries
    prompt = admin.post(
        runtime.url("/api/prompts"),
        json={
            "name": "capitals-hl",
            "template": "Capital of {{country}}?",
            "modelConfig": {
                **SCRIPTED,
                "responses": [{"match": "France", "output": "Paris"}, {"match": "Japan", "output": "Tokyo"}],
                "default": "I do not know",
            },
        },
    )
    assert prompt.status_code == 201, prompt.text
    pid = prompt.json()["id"]
    v2 = admin.post(
        runtime.url(f"/api/prompts/{pid}/versions"),
        json={
            "template": "Capital of {{country}}?",
            "modelConfig": {
                **SCRIPTED,
                "responses": [
                    {"match": "France", "output": "Paris"},
                    {"match": "Japan", "output": "Tokyo"},
                    {"match": "Peru", "output": "Lima"},
                ],
                "default": "I do not know",
            },
        },
    )
    assert v2.status_code == 201, v2.text
    countries = {
        "fr": ("France", "Paris"),
        "jp": ("Japan", "Tokyo"),
        "pe": ("Peru", "Lima"),
        "ke": ("Kenya", "Nairobi"),
    }
    ds = admin.post(
        runtime.url(f"/api/prompts/{pid}/eval/datasets"),
        json={
            "name": "countries",
            "cases": [
                {"name": k, "variables": {"country": c}, "expectedOutput": city} for k, (c, city) in countries.items()
            ],
        },
    )
    assert ds.status_code == 201, ds.text
    hl = runtime.session(runtime.admin_key, header="x-api-key")
    v5 = runtime.url("/v5/evaluations")
    assert requests.get(v5, timeout=30).status_code == 401
    assert admin.get(v5).status_code == 401  # a Bearer token is the other API family's header

    # When an evaluation with an evaluator evalgate runs (contains: the expected city) and an external one
    created = hl.post(
        v5,
        json={
            "file": {"path": "capitals-hl"},
            "name": "capitals e2e",
            "evaluators": [{"path": "contains"}, {"path": "Team/polite", "orchestrated": False}],
        },
    )
    assert created.status_code == 200, created.text
    ev = created.json()
    versions = {e["version"]["name"]: e["version"]["version_id"] for e in ev["evaluators"]}
    runs_url = f"{v5}/{ev['id']}/runs"

    # and two orchestrated runs, version 1 and version 2, on the dataset
    first = hl.post(runs_url, json={"dataset": {"id": str(ds.json()["id"])}, "version": {"version_id": "1"}})
    second = hl.post(runs_url, json={"dataset": {"path": "countries"}, "version": {"version_id": "2"}})
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    a, b = first.json(), second.json()
    assert a["orchestrated"] is True and a["status"] == "pending" and a["dataset"]["datapoints_count"] == 4
    done = wait_for_runs(hl, runs_url, {a["id"], b["id"]})
    assert done[a["id"]]["status"] == "completed" and done[a["id"]]["evalgate_status"] == "completed"
    assert done[a["id"]]["num_logs"] == 4 and done[b["id"]]["num_logs"] == 4
    # a finished run cannot be cancelled any more
    late = hl.patch(f"{runs_url}/{a['id']}", json={"status": "cancelled"})
    assert late.status_code == 409, late.text

    # and an external run whose logs (with the polite judgments) are sent inline, twice
    ext = hl.post(runs_url, json={"orchestrated": False, "version": {"version_id": "2"}})
    assert ext.status_code == 200, ext.text
    ext_id = ext.json()["id"]
    logs = [
        {
            "id": f"ext-{k}",
            "datapoint_id": k,
            "inputs": {"country": c},
            "output": city if k != "ke" else "no idea",
            "target": city,
            "judgments": {"polite": k != "pe"},
        }
        for k, (c, city) in countries.items()
    ]
    for _ in range(2):
        sent = hl.post(f"{runs_url}/{ext_id}/logs", json={"logs": logs})
        assert sent.status_code == 200, sent.text
    assert sent.json()["num_logs"] == 4 and sent.json()["status"] == "running"
    completed = hl.patch(f"{runs_url}/{ext_id}", json={"status": "completed"})
    assert completed.status_code == 200 and completed.json()["status"] == "completed"

    # and version 1's run is the control
    control = hl.patch(f"{runs_url}/{a['id']}", json={"control": True})
    assert control.status_code == 200 and control.json()["control"] is True

    # Then the stats: per run the logs and each evaluator's figures, version 2 compared with version 1
    stats = hl.get(f"{v5}/{ev['id']}/stats")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["status"] == "completed" and body["control_run_id"] == a["id"]
    by_run = {r["run_id"]: r for r in body["run_stats"]}
    assert [by_run[i]["num_logs"] for i in (a["id"], b["id"], ext_id)] == [4, 4, 4]

    def figures(run_id: str, name: str) -> dict[str, Any]:
        return next(s for s in by_run[run_id]["evaluator_stats"] if s["evaluator_version_id"] == versions[name])

    assert (figures(a["id"], "contains")["num_true"], figures(a["id"], "contains")["num_false"]) == (2, 2)
    assert (figures(b["id"], "contains")["num_true"], figures(b["id"], "contains")["num_false"]) == (3, 1)
    assert figures(ext_id, "contains")["num_true"] == 3  # scored by evalgate on the inline logs
    assert (figures(ext_id, "polite")["num_true"], figures(ext_id, "polite")["num_false"]) == (3, 1)
    assert figures(a["id"], "polite")["total_logs"] == 0  # nobody judged the orchestrated runs' politeness
    comparison = by_run[b["id"]]["comparison"]
    assert comparison["control_run_id"] == a["id"] and comparison["shared_cases"] == 4
    assert comparison["pass_rate"]["delta"] == 0.25
    assert comparison["mcnemar"]["current_only_passed"] == 1 and comparison["mcnemar"]["control_only_passed"] == 0
    assert by_run[a["id"]]["comparison"] is None

    # and the logs, paginated, with the judgments of each
    page = hl.get(f"{v5}/{ev['id']}/logs", params={"run_id": b["id"], "size": 3})
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 4 and len(page.json()["records"]) == 3
    rest = hl.get(f"{v5}/{ev['id']}/logs", params={"run_id": b["id"], "size": 3, "page": 2}).json()["records"]
    records = page.json()["records"] + rest
    assert sorted(r["datapoint"]["id"] for r in records) == ["fr", "jp", "ke", "pe"]
    peru = next(r for r in records if r["datapoint"]["id"] == "pe")
    assert peru["log"]["output"] == "Lima"
    assert [(j["evaluator"]["version_id"], j["judgment"]) for j in peru["evaluator_logs"]] == [
        (versions["contains"], 1.0)
    ]
    everything = hl.get(f"{v5}/{ev['id']}/logs", params={"size": 100}).json()
    assert everything["total"] == 12 and len(everything["records"]) == 12

    # Finally: taking a run out keeps it; deleting the evaluation keeps every run
    assert hl.delete(f"{runs_url}/{ext_id}").status_code == 204
    assert [r["id"] for r in hl.get(runs_url).json()["runs"]] == [a["id"], b["id"]]
    assert hl.delete(f"{v5}/{ev['id']}").status_code == 204
    assert hl.get(f"{v5}/{ev['id']}").status_code == 404
    assert admin.get(runtime.url(f"/api/v1/evals/{ext_id}")).json()["summary"]["total"] == 4
