"""Integration tier: handlers in-process on moto's mock_aws, resources built from template.yaml."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws

from evalgate import aws
from evalgate.services import container as container_module
from local import cfn, model, moto_index, moto_speed, resources
from local.http_front import build_event

APP = model.read()
moto_speed.install()  # what moto pays per request for nothing (local/moto_speed.py): same answers, faster
moto_index.install()  # a Query reads its partition, as the local runtime's moto does

# One boto3 client per service for the whole test session (speed only). Creating a client costs ~15 ms
# (botocore copies its event hooks and lists its service models), and the stack fixture asked for one per
# resource of the template and evalgate for a few more per test: 30 % of this tier's time. moto's stubber
# hooks every botocore client whatever mock_aws context it was created in, and every test has the same
# region and fake credentials, so a client can outlive the test that created it.
_TEST_CLIENTS: dict[str, Any] = {}
_EVALGATE_CLIENTS: dict[str, Any] = {}
_BUILD_CLIENT = aws.client.__wrapped__


class _SharedClients:
    """Stands in for ``evalgate.aws.client`` in the stack fixture: built as it builds them, once per session."""

    def __init__(self, build: Any) -> None:
        self.build = build

    def __call__(self, service: str) -> Any:
        if service not in _EVALGATE_CLIENTS:
            _EVALGATE_CLIENTS[service] = self.build(service)
        return _EVALGATE_CLIENTS[service]

    def cache_clear(self) -> None:
        """``reset_container`` forgets settings and secrets; the clients stay (same region, same mock)."""


def _test_client(service: str) -> Any:
    if service not in _TEST_CLIENTS:
        _TEST_CLIENTS[service] = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
    return _TEST_CLIENTS[service]


def emulator_client(service: str, url: str) -> Any:
    """A boto3 client of a moto server this test started (its own session: safe to build in any thread)."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class FakeContext:
    function_name = "test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


_modules: dict[str, ModuleType] = {}


def load_function(logical_id: str) -> ModuleType:
    """Import a function's app.py by path under a unique module name (every function has an app.py)."""
    if logical_id not in _modules:
        fn = APP.functions[logical_id]
        module_name, _, _ = fn.handler.rpartition(".")
        path = fn.code_dir / f"{module_name}.py"
        spec = importlib.util.spec_from_file_location(f"fn_{logical_id}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _modules[logical_id] = module
    return _modules[logical_id]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class Stack:
    names: cfn.Names

    def client(self, service: str) -> Any:
        return _test_client(service)

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        raw_body: bytes | None = None,
    ) -> Reply:
        """Route like API Gateway (from the template) and invoke the handler in-process."""
        matched = APP.match(method, path.split("?")[0])
        assert matched, f"no route for {method} {path} in template.yaml"
        route, params = matched
        all_headers = dict(headers or {})
        if key is not None:
            if path.startswith("/v5/"):
                all_headers.setdefault("x-api-key", key)
            else:
                all_headers.setdefault("authorization", f"Bearer {key}")
        payload = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
        if body is not None:
            all_headers.setdefault("content-type", "application/json")
        event = build_event(
            method, path, query, list(all_headers.items()), payload, route.route_key, params, "127.0.0.1", "localhost"
        )
        result = load_function(route.function).lambda_handler(event, FakeContext())
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")


@pytest.fixture(autouse=True, scope="session")
def _reuse_botocore_data() -> Iterator[None]:
    """Speed only: moto resets boto3's default session for every test, and each new botocore session
    re-parses the same bundled service-model JSON files. Parse each file once per test session."""
    from botocore import loaders

    original = loaders.JSONFileLoader.load_file
    memo: dict[str, Any] = {}

    def load_file(self: loaders.JSONFileLoader, file_path: str) -> Any:
        if file_path not in memo:
            memo[file_path] = original(self, file_path)
        return memo[file_path]

    loaders.JSONFileLoader.load_file = load_file  # type: ignore[method-assign]
    yield
    loaders.JSONFileLoader.load_file = original  # type: ignore[method-assign]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Every resource of template.yaml on mock_aws, and the functions' environment (all share it)."""
    with mock_aws():
        names = cfn.Names()
        resources.declare_names(APP, names)
        resources.create(APP, names, _test_client)
        envs = [resources.function_environment(APP, names, fid) for fid in APP.functions]
        merged: dict[str, str] = {}
        for env in envs:
            for k, v in env.items():
                assert merged.get(k, v) == v, f"functions disagree on {k}; test them one at a time"
                merged[k] = v
        for k, v in merged.items():
            monkeypatch.setenv(k, v)
        monkeypatch.setattr(aws, "client", _SharedClients(_BUILD_CLIENT))
        container_module.reset_container()
        yield Stack(names)
        container_module.reset_container()


@pytest.fixture
def admin(stack: Stack) -> str:
    """The admin key of a fresh project."""
    from evalgate.services.projects import create_project

    _, _, secret = create_project(None, "test project")
    return secret


def key_for(admin_key: str, stack: Stack, role: str) -> str:
    project_id = stack.call("GET", "/api/v1/projects", key=admin_key).json()["items"][0]["id"]
    reply = stack.call(
        "POST", f"/api/v1/projects/{project_id}/api-keys", key=admin_key, body={"name": f"{role} key", "role": role}
    )
    assert reply.status == 201, reply.text
    return str(reply.json()["key"])


def q(name: str) -> str:
    return quote(name, safe="")
