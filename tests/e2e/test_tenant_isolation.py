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
    return {
        "promptId": str(pid),
        "datasetId": str(ds["id"]),
        "versionNo": "1",
        "name": quote("case one"),
        "projectId": runtime.project_id,
        "keyId": key["id"],
        "suiteId": str(suite["id"]),
        "testId": str(suite["tests"][0]["id"]),
        "runId": str(run.json()["id"]),
    }


def fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method == "GET"], ids=lambda r: r.route_key)
def test_get_routes_hide_other_tenants(
    runtime: Runtime, owned: dict[str, Any], other_project: dict[str, Any], admin: requests.Session, route: model.Route
) -> None:
    intruder = runtime.session(other_project["apiKey"]["key"])
    url = runtime.url(fill(route.path, owned))
    # the owner can read it …
    assert admin.get(url).status_code == 200, route.route_key
    # … another project's admin key cannot, not even that it exists
    reply = intruder.get(url)
    if route.params:
        assert reply.status_code == 404, (route.route_key, reply.status_code, reply.text)
    else:
        assert reply.status_code == 200, (route.route_key, reply.text)
        text = reply.text
        assert "tenant-a" not in text and "a-data" not in text and owned["keyId"] not in text
        assert "a-suite" not in text
        ids = [item.get("id") for item in reply.json()["items"]]
        assert int(owned["promptId"]) not in ids or route.path != "/api/prompts"


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method != "GET" and r.params], ids=lambda r: r.route_key)
def test_writes_to_other_tenants_are_404(
    runtime: Runtime, owned: dict[str, Any], other_project: dict[str, Any], admin: requests.Session, route: model.Route
) -> None:
    intruder = runtime.session(other_project["apiKey"]["key"])
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
    reply = intruder.request(route.method, url, json=body)
    assert reply.status_code == 404, (route.route_key, reply.status_code, reply.text)
    # and nothing changed for the owner
    prompt = admin.get(runtime.url(f"/api/prompts/{owned['promptId']}")).json()
    assert prompt["name"] == "tenant-a" and prompt["latestVersion"] == 1
    ds = admin.get(runtime.url(f"/api/prompts/{owned['promptId']}/eval/datasets/{owned['datasetId']}")).json()
    assert ds["name"] == "a-data" and [c["name"] for c in ds["cases"]] == ["case one"]
