"""A promptfoo config run as it is: `evalgate import promptfoo` and `evalgate eval -c` against the local stack.

The config (tests/e2e/data/promptfoo) has two prompts (inline and file://), the echo provider, a defaultTest
assertion, a CSV test file with __expected columns, inline tests with mixed assertions (weight 0, threshold,
comma-separated values) and an array var that expands into two tests.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from evalgate.cli.context import Context
from evalgate.cli.main import run
from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.e2e
DATA = Path(__file__).with_name("data") / "promptfoo"

# (test name, verdict of prompt 1 "Hello {{name}}, welcome to {{city}}.", of prompt 2 "Bonjour {{name}} ({{city}})")
EXPECTED = [
    ("001 capital of France", "passed", "passed"),
    ("002 case-insensitive", "passed", "passed"),
    ("003 negated", "failed", "failed"),  # not-contains Rome
    ("004 greets in English", "passed", "failed"),  # starts-with Hello; is-json has weight 0
    ("005 mentions both cities", "passed", "failed"),  # rouge-n 1.0 vs 0.33 (threshold 0.6)
    ("005 mentions both cities #2", "passed", "failed"),  # rouge-n 0.857 vs 0.33
]


def cli(runtime: Runtime, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(
        stdout=out,
        stderr=err,
        env={"EVALGATE_URL": runtime.base_url, "EVALGATE_API_KEY": runtime.admin_key, **(env or {})},
        sleep=lambda s: time.sleep(min(s, 0.2)),  # poll briskly; retries of 429/5xx stay short
    )
    code = run(list(argv), ctx)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    for item in DATA.iterdir():
        shutil.copy(item, tmp_path / item.name)
    return tmp_path / "promptfooconfig.yaml"


def test_promptfoo_config_imports_runs_and_reimports_without_duplicates(runtime: Runtime, config: Path) -> None:
    name = "e2e promptfoo import"
    # When the config is imported
    code, out, err = cli(runtime, "import", "promptfoo", str(config), "--name", name)
    assert code == 0, err
    assert "created   prompt" in out and out.count("created   version") == 2, out
    assert "created   dataset" in out and "(6 cases)" in out and "created   suite" in out, out

    # and run: import again (nothing new), one run per prompt x provider, the table, promptfoo's exit code
    results = config.parent / "results.json"
    code, out, err = cli(runtime, "eval", "-c", str(config), "--name", name, "-o", str(results))
    assert code == 100, (out, err)  # 7 of 12 passed: below promptfoo's default pass-rate threshold of 100 %
    # (the exit code under PROMPTFOO_PASS_RATE_THRESHOLD is checked in tests/unit/cli/test_promptfoo_eval.py)
    assert "created" not in out and out.count("reused    version") == 2, out
    assert "Successes: 7  Failures: 5  Errors: 0  Pass Rate: 58.33%" in out, out

    # Then each verdict is the one promptfoo gives for the same outputs and assertions
    exported: dict[str, Any] = json.loads(results.read_text())
    rows = exported["results"]["results"]
    got = {(r["testIdx"], r["promptIdx"]): r for r in rows}
    for test_idx, (_, first, second) in enumerate(EXPECTED):
        for prompt_idx, want in enumerate((first, second)):
            row = got[(test_idx, prompt_idx)]
            assert row["success"] is (want == "passed"), (test_idx, prompt_idx, row["gradingResult"])
    assert exported["results"]["stats"]["successes"] == 7 and exported["results"]["stats"]["failures"] == 5
    first_row = got[(0, 0)]
    assert first_row["response"]["output"] == "Hello Ada, welcome to Paris."
    assert first_row["vars"] == {"name": "Ada", "city": "Paris"}
    assert [c["assertion"]["type"] for c in first_row["gradingResult"]["componentResults"]] == [
        "contains",
        "contains",
    ]

    # and re-importing created nothing twice
    admin = runtime.session(runtime.admin_key)
    prompts = [p for p in _all(admin, runtime.url("/api/prompts")) if p["name"] == name]
    assert len(prompts) == 1
    pid = prompts[0]["id"]
    assert len(_all(admin, runtime.url(f"/api/prompts/{pid}/versions"))) == 2
    assert len(_all(admin, runtime.url(f"/api/prompts/{pid}/eval/datasets"))) == 1
    assert len(_all(admin, runtime.url(f"/api/prompts/{pid}/eval/suites"))) == 1

    # and a finished run exports on its own in the same shape: the first prompt's run gives the same rows
    [started] = [line for line in out.splitlines() if line.startswith("started 2 run(s): ")]
    first_run = started.split(": ", 1)[1].split(", ")[0]
    alone = config.parent / "run.json"
    code, out, err = cli(runtime, "export", first_run, "--prompt", str(pid), "-o", str(alone))
    assert code == 0, err
    single: dict[str, Any] = json.loads(alone.read_text())["results"]
    assert single["version"] == 3 and single["prompts"][0]["raw"] == "Hello {{name}}, welcome to {{city}}."
    assert single["stats"]["successes"] == 5 and single["stats"]["failures"] == 1  # prompt 1: only 003 fails
    mine = {r["testCase"]["description"]: r for r in single["results"]}
    for test_idx, (test_name, want, _) in enumerate(EXPECTED):
        row = mine[test_name]
        assert row["success"] is (want == "passed"), row["gradingResult"]
        assert row["response"]["output"] == got[(test_idx, 0)]["response"]["output"]
        assert row["vars"] == got[(test_idx, 0)]["vars"]
        assert row["score"] == pytest.approx(got[(test_idx, 0)]["score"])


def test_an_unmappable_provider_is_a_clear_error(runtime: Runtime, config: Path) -> None:
    config.write_text(config.read_text().replace("  - echo", "  - vertex:gemini-pro"))
    code, _, err = cli(runtime, "import", "promptfoo", str(config), "--name", "e2e promptfoo bad provider")
    assert code == 3
    assert "vertex:gemini-pro" in err and "no evalgate counterpart" in err


def _all(session: requests.Session, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = session.get(url, params={"limit": 100, **({"cursor": cursor} if cursor else {})}, timeout=30).json()
        items += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return items
