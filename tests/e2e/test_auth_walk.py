"""Every route of template.yaml, over HTTP on the local runtime, refuses callers without a valid key."""

from __future__ import annotations

import re

import pytest
import requests

from local import model
from tests.e2e.conftest import Runtime

APP = model.read()
PROTECTED = [r for r in APP.routes if not APP.functions[r.function].public]
PUBLIC = [r for r in APP.routes if APP.functions[r.function].public]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_template_has_routes() -> None:
    assert len(PROTECTED) >= 20
    assert {(r.method, r.path) for r in PUBLIC} == {
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/console"),  # the web console's files (its data comes from the API with the user's key)
        ("GET", "/console/{proxy+}"),
        ("GET", "/api/v1/version"),  # what is deployed, for smoke tests without a key
    }


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.route_key)
def test_route_needs_a_key(runtime: Runtime, route: model.Route) -> None:
    url = runtime.url(concrete(route.path))
    body = {"name": "x"} if route.method in ("POST", "PUT", "PATCH") else None
    # Given no key / When the route is called / Then 401 with the error shape
    reply = requests.request(route.method, url, json=body, timeout=30)
    assert reply.status_code == 401, (route.route_key, reply.text)
    assert reply.json()["error"]["code"] == "unauthorized"
    # a wrong key, or the right key in the wrong header family, is no better
    header = "X-API-KEY" if route.path.startswith("/v5/") else "Authorization"
    bad = "Bearer eg_not-a-key" if header == "Authorization" else "eg_not-a-key"
    reply = requests.request(route.method, url, json=body, headers={header: bad}, timeout=30)
    assert reply.status_code == 401, (route.route_key, reply.text)
    wrong_family = (
        {"X-API-KEY": runtime.admin_key}
        if header == "Authorization"
        else {"Authorization": f"Bearer {runtime.admin_key}"}
    )
    reply = requests.request(route.method, url, json=body, headers=wrong_family, timeout=30)
    assert reply.status_code == 401, (route.route_key, reply.text)


def test_public_routes_are_served(runtime: Runtime) -> None:
    spec = requests.get(runtime.url("/openapi.json"), timeout=30)
    assert spec.status_code == 200
    doc = spec.json()
    assert doc["openapi"].startswith("3.1")
    templated = {(r.method.lower(), r.path) for r in PROTECTED} | {("get", "/api/v1/version")}  # public, documented
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert templated == documented
    docs = requests.get(runtime.url("/docs"), timeout=30)
    assert docs.status_code == 200
    assert "text/html" in docs.headers["Content-Type"]
    assert "swagger" in docs.text.lower()


def test_unknown_route_is_404(runtime: Runtime) -> None:
    reply = requests.get(runtime.url("/api/nothing-here"), timeout=30)
    assert reply.status_code == 404
