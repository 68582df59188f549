"""Shared fixtures. The layer is on the path through pyproject's pythonpath (as in Lambda).

`runtime` is the local runtime (`python -m local`) started once per session for the e2e and browser tiers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from local import cfn

# The files that call every route besides schemathesis: each cold-starts every function of the runtime it talks
# to. On one pytest-xdist worker they share one warm runtime. test_schemathesis.py is not among them: with bytecode
# cached a cold start is cheap, and schemathesis (the longest file) in its own unit runs beside them.
ALL_ROUTES = ("tests/e2e/test_auth_walk.py", "tests/e2e/test_tenant_isolation.py")
# The slowest files (junit of a full run), handed out first so that none of them starts last and holds up the end
# of the run; the other files follow in collection order. (pytest-xdist's own reordering puts the units with the
# most tests first, which sent schemathesis, one long test, out last.)
SLOW_FIRST = (
    "tests/e2e/test_schemathesis.py",
    "tests/e2e/test_auth_walk.py",
    "tests/e2e/test_local_restart.py",
    "tests/integration/test_auto_eval.py",
    "tests/integration/test_datasets_api.py",
    "tests/e2e/test_auto_eval.py",
    "tests/integration/test_monitors.py",
    "tests/integration/test_traces.py",
    "tests/e2e/test_exactly_once.py",
    "tests/e2e/test_release_gate.py",
    "tests/e2e/test_otlp.py",
    "tests/integration/test_humanloop.py",
    "tests/e2e/test_humanloop_sdk.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SLOW_FIRST files first (a stable sort: the rest keep their order)."""
    rank = {path: n for n, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(SLOW_FIRST)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, except that the ALL_ROUTES files are one unit (pytest-xdist's own `loadgroup` cannot
    be used: it renames items through an attribute pytest 9 no longer reads)."""
    if getattr(config.option, "dist", None) != "loadfile":
        return None
    config.option.loadscopereorder = False  # the order of pytest_collection_modifyitems above
    # lazy: pytest-xdist is loaded only when the suite runs in several processes
    from xdist.scheduler import LoadFileScheduling

    class Scheduler(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "all-routes" if path in ALL_ROUTES else path

    return Scheduler(config, log)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account: fake credentials, a fixed region, no endpoint leaks."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "evalgate")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "evalgate")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", os.environ.get("TEST_LOG_LEVEL", "WARNING"))


@dataclass
class Runtime:
    base_url: str
    admin_key: str
    project_id: str
    moto_url: str

    def session(self, key: str | None = None, header: str = "bearer") -> requests.Session:
        s = requests.Session()
        if key:
            if header == "bearer":
                s.headers["Authorization"] = f"Bearer {key}"
            else:
                s.headers["X-API-KEY"] = key
        return s

    def url(self, path: str) -> str:
        return self.base_url + path


def start_runtime(env: dict[str, str], log: Any, *, timeout: float) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`python -m local` on a free port with `env`, its stderr appended to `log`; (process, its ready line)."""
    with log.open("a") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", "0", "--ready-json", "--tick", "0.2"],
            cwd=cfn.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("{"):
            return proc, dict(json.loads(line))
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the local runtime did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("EVALGATE_ADMIN_KEY", None)
    env["EVALGATE_EPHEMERAL"] = "1"  # in memory: fast and isolated (durability has its own tests)
    # runs of more than 4 batches take the Distributed Map path (S3 manifest), so e2e covers both paths
    env["EVALGATE_PARAMETER_InlineMapMaxBatches"] = "4"
    # and an inline batch hands its rest on after 0.3 s, so e2e runs go round the state machine's loop too
    env["EVALGATE_PARAMETER_SuiteInvocationBudgetSeconds"] = "0.3"
    log = tmp_path_factory.mktemp("runtime") / "runtime.log"
    proc, info = start_runtime(env, log, timeout=60)
    try:
        yield Runtime(info["baseUrl"], info["adminKey"], info["projectId"], info["motoUrl"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def admin(runtime: Runtime) -> requests.Session:
    return runtime.session(runtime.admin_key)
