"""Browser tier: headless Chromium (Debian's `chromium`, installed by `make test` when missing) driven by
Playwright against the session runtime, with data seeded through the public API in a project of its own."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from local import cfn
from tests.conftest import Runtime

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = cfn.ROOT / "test-artifacts" / "console"

MODEL_V1 = {
    "provider": "scripted",
    "model": "console-bot",
    "latency_ms": 5,
    "responses": [
        {"match": "desk lamp", "output": "Thanks for buying the desk lamp! It ships sometime next month, maybe."},
        {"match": "coffee grinder", "output": "Thanks for buying the coffee grinder! Your order ships today."},
        {"match": "kettle", "output": "Thanks for buying the kettle! Your order ships today."},
        {"match": "mug", "output": "We cannot help with that."},
    ],
    "default": "Hello!",
}
MODEL_V2 = {
    **MODEL_V1,
    "responses": [
        {"match": "desk lamp", "output": "Thanks for buying the desk lamp! Your order ships today."},
        {"match": "coffee grinder", "output": "Sorry, the coffee grinder is out of stock."},
        {"match": "kettle", "output": "Thanks for buying the kettle! Your order ships today."},
        {"match": "mug", "output": "Thanks for buying the mug! Your order ships today."},
    ],
}
CSV = (
    "name,product,expected_output\n"
    "lamp,desk lamp,Thanks for buying the desk lamp! Your order ships today.\n"
    "grinder,coffee grinder,Thanks for buying the coffee grinder! Your order ships today.\n"
    "kettle,kettle,Thanks for buying the kettle! Your order ships today.\n"
    "mug,mug,Thanks for buying the mug! Your order ships today.\n"
)


@dataclass
class Seeded:
    base_url: str
    project_id: str
    admin_key: str
    viewer_key: str
    prompt_id: int
    dataset_id: int
    suite_id: int
    run_v1: int
    run_v2: int
    external_run: str
    evaluation_id: str
    job_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def _poll(fetch: Any, done: Any, what: str, deadline_s: float = 60) -> Any:
    deadline = time.monotonic() + deadline_s
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not finish: {value}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def seeded(runtime: Runtime, admin: requests.Session) -> Seeded:
    """A project of its own (so the e2e tier's listings are untouched) with two runs of one suite, an external
    run, a gate, a Humanloop evaluation, traces, an auto-eval job and a monitor."""
    created = admin.post(runtime.url("/api/v1/projects"), json={"name": "console"})
    assert created.status_code == 201, created.text
    project_id, key = created.json()["id"], created.json()["apiKey"]["key"]
    s = runtime.session(key)
    url = runtime.url

    def ok(reply: requests.Response) -> Any:
        assert reply.status_code < 300, (reply.request.method, reply.request.url, reply.text)
        return reply.json() if reply.content else None

    viewer = ok(s.post(url(f"/api/v1/projects/{project_id}/api-keys"), json={"name": "viewer", "role": "viewer"}))
    prompt = ok(
        s.post(
            url("/api/prompts"),
            json={"name": "console-prompt", "template": "Confirm the order of {{product}}.", "modelConfig": MODEL_V1},
        )
    )
    pid = prompt["id"]
    ok(
        s.post(
            url(f"/api/prompts/{pid}/versions"),
            json={"template": "Confirm the order of {{product}}, politely.", "modelConfig": MODEL_V2, "message": "v2"},
        )
    )
    dataset = ok(
        s.post(
            url(f"/api/prompts/{pid}/eval/datasets/import"), json={"name": "orders", "format": "csv", "content": CSV}
        )
    )
    suite = ok(
        s.post(
            url(f"/api/prompts/{pid}/eval/suites"),
            json={
                "name": "console-suite",
                "tests": [
                    {
                        "name": "Confirmation",
                        "datasetId": dataset["id"],
                        "assertions": [
                            {"type": "icontains", "value": "thanks"},
                            {"type": "contains", "value": "ships today"},
                        ],
                    }
                ],
            },
        )
    )

    def suite_runs() -> list[int]:
        runs = []
        for version in (1, 2):
            run = ok(s.post(url(f"/api/prompts/{pid}/eval/run"), json={"suiteId": suite["id"], "versionNo": version}))
            runs.append(run["id"])
        for rid in runs:
            _poll(
                lambda rid=rid: s.get(url(f"/api/prompts/{pid}/eval/runs/{rid}/status")).json(),
                lambda st: st["status"] in ("completed", "failed", "cancelled"),
                f"run {rid}",
            )
        ok(s.put(url(f"/api/prompts/{pid}/eval/gate"), json={"metric": "pass_rate", "threshold": 0.5, "minSamples": 1}))
        return runs

    def external_runs() -> tuple[str, str]:
        external = ok(s.post(url("/api/v1/evals"), json={"name": "nightly-external", "model": "ext-model"}))
        ok(
            s.post(
                url(f"/api/v1/evals/{external['id']}/results"),
                json={
                    "results": [
                        {"id": f"ext-{i}", "input": {"q": f"question {i}"}, "expectedOutput": f"answer {i}",
                         "actualOutput": f"answer {i}" if i % 3 else "wrong", "score": 1.0 if i % 3 else 0.0,
                         "passed": bool(i % 3), "latency": 12.5}
                        for i in range(6)
                    ]
                },
            )
        )  # fmt: skip
        ok(s.patch(url(f"/api/v1/evals/{external['id']}"), json={"status": "passed"}))
        hl = runtime.session(key, header="x-api-key")
        evaluation = ok(
            hl.post(
                url("/v5/evaluations"),
                json={
                    "file": {"id": str(pid)},
                    "name": "console-eval",
                    "evaluators": [{"path": "judge", "orchestrated": False}],
                },
            )
        )
        return str(external["id"]), str(evaluation["id"])

    def production() -> str:
        traces = [
            {
                "id": f"console-{i:03d}",
                "model": "console-bot",
                "prompt_id": pid,
                "input": {"product": "mug"},
                "output": "Thanks for buying the mug!" + (" [[fail]]" if i % 4 == 0 else ""),
                "context": ["Policy: thank the customer."],
                "latency_ms": 100 + i,
            }
            for i in range(12)
        ]
        ok(s.post(url("/api/v1/traces"), json={"traces": traces}))
        target = {"model": "console-bot", "prompt_id": pid}
        job = ok(s.post(url("/api/v1/auto-eval"), json={"target": target, "sample_count": 12}))
        _poll(
            lambda: s.get(url(f"/api/v1/auto-eval/{job['job_id']}")).json(),
            lambda j: j["status"] in ("completed", "failed"),
            "auto-eval job",
        )
        ok(
            s.post(
                url("/api/v1/auto-eval/monitors"),
                json={"name": "console-monitor", "target": target, "schedule": "rate(1 day)"},
            )
        )
        return str(job["job_id"])

    # three independent chains at once: their functions' cold starts overlap
    with ThreadPoolExecutor(max_workers=3) as pool:
        f_runs, f_ext, f_prod = pool.submit(suite_runs), pool.submit(external_runs), pool.submit(production)
        runs, (external_id, evaluation_id), job_id = f_runs.result(), f_ext.result(), f_prod.result()
    return Seeded(
        base_url=runtime.base_url,
        project_id=project_id,
        admin_key=key,
        viewer_key=viewer["key"],
        prompt_id=pid,
        dataset_id=dataset["id"],
        suite_id=suite["id"],
        run_v1=runs[0],
        run_v2=runs[1],
        external_run=external_id,
        evaluation_id=evaluation_id,
        job_id=job_id,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()
