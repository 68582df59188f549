"""A pytest plugin (entry point `evalgate`): an eval as a test.

    def test_answers(evalgate_eval):
        result = evalgate_eval(DATA, task=answer, scorers=["contains"], prompt_id=12)
        assert result.verdict == "passed", result.gate.reason if result.gate else result

Fixtures: `evalgate_client` (an `evalgate.Client` from EVALGATE_URL / EVALGATE_API_KEY; the test is skipped when
they are not set, or fails with `--evalgate-required`) and `evalgate_eval` (`evalgate.evaluate` bound to that
client, named after the test). `--evalgate-local` scores without uploading (no service needed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from evalgate.sdk.client import Client, EvalgateError
from evalgate.sdk.evaluation import EvaluationResult, evaluate


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("evalgate")
    group.addoption("--evalgate-local", action="store_true", help="evalgate_eval: score locally, upload nothing")
    group.addoption(
        "--evalgate-required", action="store_true", help="fail (not skip) evalgate tests when the service is not set"
    )


@pytest.fixture
def evalgate_client(request: pytest.FixtureRequest) -> Client:
    try:
        return Client()
    except EvalgateError as error:
        if request.config.getoption("--evalgate-required"):
            pytest.fail(f"evalgate: {error}")
        pytest.skip(f"evalgate: {error}")


@pytest.fixture
def evalgate_eval(request: pytest.FixtureRequest) -> Callable[..., EvaluationResult]:
    if request.config.getoption("--evalgate-local"):
        return functools.partial(evaluate, upload=False, progress=False, name=request.node.nodeid)
    client: Client = request.getfixturevalue("evalgate_client")

    def run(*args: Any, **kwargs: Any) -> EvaluationResult:
        kwargs.setdefault("name", request.node.nodeid)
        kwargs.setdefault("progress", False)
        return evaluate(*args, client=client, **kwargs)

    return run
