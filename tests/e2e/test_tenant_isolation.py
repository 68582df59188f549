"""Another project's key sees none of this project's resources: every GET route answers 404 for them,
every list leaves them out, and writes to them change nothing."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
import requests

from local import model
from tests.e2e.conftest import Runtime

APP = model.read()
PROTECTED = [r for r in APP.routes if not APP.functions[r.function].public]


@pytest.fixture(scope="module")
def owned(runtime: Runtime, admin: requests.Session) -> dict[str, Any]:
    """Resources of the default project: a prompt with a version, a dataset with a case, a key."""
    prompt = admin.post(runtime.url("/api/prompts"), json={"name": "tenant-a", "template": "Hi {{who}}"}).json()
    pid = prompt["id"]
    ds = admin.post(
        runtime.url(f"/api/prompts/{pid}/eval/datasets"),
        json={"name": "a-data", "cases": [{"name": "case one", "variables": {"who": "A"}}]},
    ).json()
    key = admin.post(
        runtime.url(f"/api/v1/projects/{runtime.project_id}/api-keys"), json={"name": "a key", "role": "viewer"}
    ).json()
    suite = admin.post(
        runtime.url(f"/api/prompts/{pid}/eval/suites"),
        json={
            "name": "a-suite",
            "tests": [
                {"name": "a-test", "variables": {"who": "A"}, "assertions": [{"type": "contains", "value": "A"}]}
            ],
        },
    ).json()
    run = admin.post(runtime.url(f"/api/prompts/{pid}/eval/run"), json={"suiteId": suite["id"], "versionNo": 1})
    assert run.status_code == 202, run.text
    hl = runtime.session(runtime.admin_key, header="x-api-key")
    evaluation = hl.post(
        runtime.url("/v5/evaluations"),
        json={
            "file": {"id": str(pid)},
            "name": "a-evaluation",
            "evaluators": [{"path": "a-judge", "orchestrated": False}],
        },
    ).json()
    hl_run = hl.post(runtime.url(f"/v5/evaluations/{evaluation['id']}/runs"), json={"orchestrated": False}).json()
    monitor = admin.post(
        runtime.url("/api/v1/auto-eval/monitors"),
        json={"name": "tenant-a", "target": {"model": "tenant-a-model", "prompt_id": pid}, "schedule": "rate(1 day)"},
    )
    assert monitor.status_code == 201, monitor.text
    traces = admin.post(
        runtime.url("/api/v1/traces"),
        json={"traces": [{"id": "tenant-a-trace", "model": "tenant-a-model", "output": "tenant-a"}]},
    )
    assert traces.status_code in (200, 201), traces.text
    job = admin.post(runtime.url("/api/v1/auto-eval"), json={"target": {"model": "tenant-a-model"}, "sample_count": 1})
    assert job.status_code == 202, job.text
    queue = admin.post(
        runtime.url("/api/v1/annotation-queues"),
        json={"name": "tenant-a", "criteria": [{"name": "ok", "type": "pass_fail"}]},
    ).json()
    item = admin.post(
        runtime.url(f"/api/v1/annotation-queues/{queue['id']}/items"),
        json={"items": [{"kind": "manual", "ref": "tenant-a", "output": "tenant-a"}]},
    ).json()
    rows = "q\n" + "\n".join(f"q{i}" for i in range(2_001))  # over the synchronous limit: a background import
    imported = admin.post(
        runtime.url(f"/api/prompts/{pid}/eval/datasets/import"),
        json={"name": "a-big", "format": "csv", "content": rows},
    )
    assert imported.status_code == 202, imported.text
    hl_prompt = hl.post(runtime.url("/v5/prompts"), json={"path": "tenant-a-hl", "model": "gpt-4o", "template": "x"})
    assert hl_prompt.status_code == 200, hl_prompt.text
    hl_dataset = hl.post(runtime.url("/v5/datasets"), json={"path": "tenant-a-set", "datapoints": [{"inputs": {}}]})
    assert hl_dataset.status_code == 200, hl_dataset.text
    hl_log = hl.post(runtime.url("/v5/prompts/log"), json={"path": "tenant-a-hl", "inputs": {}, "output": "x"})
    assert hl_log.status_code == 200, hl_log.text
    hl_flow = hl.post(runtime.url("/v5/flows"), json={"path": "tenant-a-flow", "attributes": {"kind": "agent"}})
    assert hl_flow.status_code == 200, hl_flow.text
    return {
        "importId": imported.json()["importId"],
        "prompt_id": hl_prompt.json()["id"],
        "dataset_id": hl_dataset.json()["id"],
        "log_id": hl_log.json()["id"],
        "flow_id": hl_flow.json()["id"],
        "promptId": str(pid),
        "datasetId": str(ds["id"]),
        "versionNo": "1",
        "name": quote("case one"),
        "projectId": runtime.project_id,
        "keyId": key["id"],
        "suiteId": str(suite["id"]),
        "testId": str(suite["tests"][0]["id"]),
        "runId": str(run.json()["id"]),
        "id": evaluation["id"],
        "run_id": hl_run["id"],
        "evaluator_version_id": evaluation["evaluators"][0]["version"]["version_id"],
        "monitorId": monitor.json()["id"],
        "jobId": job.json()["job_id"],
        "queueId": queue["id"],
        "itemId": item["item_ids"][0],
    }


def session_for(runtime: Runtime, route: model.Route, key: str) -> requests.Session:
    """/v5 routes take the key as X-API-KEY, the others as a Bearer token."""
    return runtime.session(key, header="x-api-key" if route.path.startswith("/v5/") else "bearer")


def fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method == "GET"], ids=lambda r: r.route_key)
def test_get_routes_hide_other_tenants(
    runtime: Runtime, owned: dict[str, Any], other_project: dict[str, Any], admin: requests.Session, route: model.Route
) -> None:
    intruder = session_for(runtime, route, other_project["apiKey"]["key"])
    owner = session_for(runtime, route, runtime.admin_key)
    url = runtime.url(fill(route.path, owned))
    # the owner can read it …
    assert owner.get(url).status_code == 200, route.route_key
    # … another project's admin key cannot, not even that it exists
    reply = intruder.get(url)
    if route.params:
        assert reply.status_code == 404, (route.route_key, reply.status_code, reply.text)
    else:
        assert reply.status_code == 200, (route.route_key, reply.text)
        text = reply.text
        assert "tenant-a" not in text and "a-data" not in text and owned["keyId"] not in text
        assert "a-suite" not in text and owned["id"] not in text
        listed = reply.json()
        ids = [item.get("id") for item in listed.get("items", listed.get("records", []))]
        assert int(owned["promptId"]) not in ids or route.path != "/api/prompts"


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method != "GET" and r.params], ids=lambda r: r.route_key)
def test_writes_to_other_tenants_are_404(
    runtime: Runtime, owned: dict[str, Any], other_project: dict[str, Any], admin: requests.Session, route: model.Route
) -> None:
    intruder = session_for(runtime, route, other_project["apiKey"]["key"])
    url = runtime.url(fill(route.path, owned))
    body: dict[str, Any] | None = None
    if route.method in ("POST", "PUT", "PATCH"):
        body = {"name": "hijack"}
        if route.path.endswith("/versions"):
            body = {"template": "hijacked"}
        if route.path.endswith("/import"):
            body = {"name": "hijack", "content": "a\n1\n"}
        if route.path.endswith("/uploads"):
            body = {}
        if route.path.endswith("/api-keys"):
            body = {"name": "hijack", "role": "admin"}
        if route.path.endswith("/eval/run"):
            body = {"suiteId": int(owned["suiteId"]), "versionNo": 1}
        if route.path.endswith("/explore"):
            body = {"versionNo": 1, "suiteId": int(owned["suiteId"])}
        if route.path.endswith("/cancel"):
            body = None
        if route.path == "/api/v1/evals/{runId}" and route.method == "PATCH":
            body = {"status": "running"}
        if route.path.endswith("/results"):
            body = {"results": [{"id": "hijack", "passed": True}]}
        if route.path.endswith("/eval/gate"):
            body = {"threshold": 0.1}
        if route.path.endswith("/gate/check"):
            body = {"runId": int(owned["runId"])}
        if route.path == "/v5/evaluations/{id}/evaluators":
            body = {"evaluators": [{"path": "hijack", "orchestrated": False}]}
        if route.path == "/v5/evaluations/{id}/runs":
            body = {"orchestrated": False}
        if route.path == "/v5/evaluations/{id}/runs/{run_id}":
            body = {"control": True} if route.method == "PATCH" else None
        if route.path == "/v5/evaluations/{id}/runs/{run_id}/logs":
            body = {"logs": [{"id": "hijack", "judgments": {"a-judge": 1}}]}
        if route.path == "/api/v1/annotation-queues/{queueId}/items":
            body = {"items": [{"kind": "manual", "ref": "hijack", "output": "hijack"}]}
        if route.path.endswith("/labels"):
            body = {"values": {"ok": "pass"}}
        if route.path.endswith("/claims") or route.path.endswith("/skip"):
            body = None
        if route.path.endswith("/eval/compare"):
            body = {"runIds": [int(owned["runId"]), int(owned["runId"]) + 1]}
        if route.path.endswith("/golden-set"):
            body = {"prompt_id": int(owned["promptId"]), "name": "hijack"}
    reply = intruder.request(route.method, url, json=body)
    assert reply.status_code == 404, (route.route_key, reply.status_code, reply.text)
    # and nothing changed for the owner
    prompt = admin.get(runtime.url(f"/api/prompts/{owned['promptId']}")).json()
    assert prompt["name"] == "tenant-a" and prompt["latestVersion"] == 1
    ds = admin.get(runtime.url(f"/api/prompts/{owned['promptId']}/eval/datasets/{owned['datasetId']}")).json()
    assert ds["name"] == "a-data" and [c["name"] for c in ds["cases"]] == ["case one"]
    hl = runtime.session(runtime.admin_key, header="x-api-key")
    evaluation = hl.get(runtime.url(f"/v5/evaluations/{owned['id']}")).json()
    assert evaluation["runs_count"] == 1 and [e["version"]["name"] for e in evaluation["evaluators"]] == ["a-judge"]
    (hl_run,) = hl.get(runtime.url(f"/v5/evaluations/{owned['id']}/runs")).json()["runs"]
    assert hl_run["control"] is False and hl_run["status"] == "pending" and hl_run["num_logs"] == 0
