"""The official Humanloop SDK against the /v5 handlers in-process (an httpx transport routes its requests
through the template like API Gateway; calls are serialised, as in-process moto loses updates under
threads): every `client.evaluations` method, the log store (prompts/log, evaluators/log, logs.get,
add_logs_to_run by id) and Humanloop's 422 shape (`evaluations.run()`, which polls from threads, is driven
over HTTP in tests/e2e/test_humanloop_sdk.py). Every response body is validated against the SDK's own models
(tests/humanloop_wire.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from humanloop import Humanloop

from tests.humanloop_sdk_walk import walk_every_evaluations_method
from tests.humanloop_wire import Recorder
from tests.integration.conftest import Stack

BASE = "https://evalgate.test/v5"


def sdk(stack: Stack, key: str, recorder: Recorder) -> Humanloop:
    lock = threading.Lock()

    def handle(request: httpx.Request) -> httpx.Response:
        with lock:
            reply = stack.call(
                request.method,
                request.url.path,
                query=request.url.query.decode(),
                headers={k: v for k, v in request.headers.items() if k.lower() in ("x-api-key", "content-type")},
                raw_body=request.read(),
            )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.text.encode(), request=request)

    http = httpx.Client(transport=httpx.MockTransport(handle), event_hooks={"response": [recorder.hook]})
    return Humanloop(api_key=key, base_url=BASE, httpx_client=http)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(stack: Stack, admin: str, recorder: Recorder) -> Iterator[Humanloop]:
    yield sdk(stack, admin, recorder)


def test_every_evaluations_method(stack: Stack, client: Humanloop, recorder: Recorder) -> None:
    # lazy: a second project, made the way the admin fixture makes the first
    from evalgate.services.projects import create_project

    def another_project() -> Humanloop:
        _, _, other_key = create_project(None, "another tenant")
        return sdk(stack, other_key, Recorder())

    walk_every_evaluations_method(client, recorder, another_project)
