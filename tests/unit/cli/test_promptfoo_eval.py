"""`evalgate eval -c`: the import request, one run per version, promptfoo's exit codes and results file,
against a stub service (no sockets beyond loopback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.unit.cli.conftest import Answer, Cli, Recorded, Stub

CONFIG_DIR = Path(__file__).parents[2] / "e2e/data/promptfoo"
TESTS = ["001 capital of France", "002 case-insensitive", "003 negated", "004 greets in English",
         "005 mentions both cities", "005 mentions both cities #2"]  # fmt: skip
FAILING = {("003 negated", 1), ("003 negated", 2), ("004 greets in English", 2), ("005 mentions both cities", 2),
           ("005 mentions both cities #2", 2)}  # fmt: skip


def service(request: Recorded, _: int) -> Answer | None:
    """The service's answers: the import, run starts (ids 1 and 2), finished statuses, one page of results."""
    path = request.path.split("?")[0]
    if path == "/api/v1/promptfoo/imports":
        versions = [
            {"versionNo": n, "label": f"[echo] p{n}", "promptLabel": f"p{n}", "providerLabel": "echo", "created": True}
            for n in (1, 2)
        ]
        body = {"promptId": 5, "datasetId": 6, "suiteId": 7, "versions": versions, "tests": TESTS,
                "created": ["prompt 5 'x'"], "reused": [], "replaced": []}  # fmt: skip
        return Answer(200, body)
    if path == "/api/prompts/5/eval/run":
        run_id = request.json["versionNo"]
        return Answer(202, {"id": run_id, "status": "pending", "progress": {"done": 0, "total": 6}})
    if path.endswith("/status"):
        return Answer(200, {"status": "completed", "progress": {"done": 6, "total": 6}})
    if path.startswith("/api/prompts/5/eval/runs/"):
        run_id = int(path.rsplit("/", 1)[1])
        results = [
            {
                "name": name,
                "caseName": name,
                "status": "failed" if (name, run_id) in FAILING else "passed",
                "score": 0.5 if (name, run_id) in FAILING else 1.0,
                "output": f"output {run_id}",
                "durationMs": 3.0,
                "inputTokens": 2,
                "outputTokens": 3,
                "assertions": [
                    {"operator": "contains", "status": "passed", "score": 1.0, "reason": "ok.", "expected": "x"}
                ],
            }
            for name in TESTS
        ]
        return Answer(200, {"id": run_id, "status": "completed", "results": results, "nextCursor": None})
    return None


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    for item in CONFIG_DIR.iterdir():
        shutil.copy(item, tmp_path / item.name)
    return tmp_path / "promptfooconfig.yaml"


@pytest.mark.parametrize(
    ("env", "code"),
    [({}, 100), ({"PROMPTFOO_PASS_RATE_THRESHOLD": "55"}, 0), ({"PROMPTFOO_FAILED_TEST_EXIT_CODE": "7"}, 7)],
)
def test_eval_exits_as_promptfoo_does(cli: Cli, stub: Stub, config: Path, env: dict[str, str], code: int) -> None:
    stub.responder = service
    outcome = cli("eval", "-c", str(config), env=env)
    assert outcome.code == code, (outcome.out, outcome.err)
    assert "Successes: 7  Failures: 5  Errors: 0  Pass Rate: 58.33%" in outcome.out
    # the config went to the service with its files inlined: two prompts, the CSV's rows as tests
    [imported] = [r for r in stub.requests if r.path == "/api/v1/promptfoo/imports"]
    sent: dict[str, Any] = imported.json
    assert "file://" not in json.dumps(sent)
    assert [p["raw"] for p in sent["config"]["prompts"]] == ["Hello {{name}}, welcome to {{city}}.",
                                                              "Bonjour {{name}} ({{city}})"]  # fmt: skip
    assert [r.json["versionNo"] for r in stub.requests if r.path.endswith("/eval/run")] == [1, 2]


def test_eval_writes_promptfoo_results_json(cli: Cli, stub: Stub, config: Path, tmp_path: Path) -> None:
    stub.responder = service
    out = tmp_path / "results.json"
    assert cli("eval", "-c", str(config), "-o", str(out)).code == 100
    doc = json.loads(out.read_text())
    results = doc["results"]
    assert results["version"] == 3 and results["stats"]["successes"] == 7 and results["stats"]["failures"] == 5
    first = results["results"][0]
    assert (first["testIdx"], first["promptIdx"], first["success"]) == (0, 0, True)
    assert first["vars"] == {"name": "Ada", "city": "Paris"} and first["prompt"]["label"].startswith("Hello")
    assert first["response"]["tokenUsage"] == {"prompt": 2, "completion": 3, "total": 5}
    assert first["gradingResult"]["componentResults"][0]["assertion"]["type"] == "contains"
    assert [r["promptIdx"] for r in results["results"]] == [0] * 6 + [1] * 6


def test_a_config_error_is_exit_3_naming_it(cli: Cli, stub: Stub, config: Path) -> None:
    config.write_text(config.read_text().replace("file://tests.csv", "file://missing.csv"))
    outcome = cli("import", "promptfoo", str(config))
    assert outcome.code == 3 and "missing.csv" in outcome.err
    assert stub.requests == []  # nothing sent
