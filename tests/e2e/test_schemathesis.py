"""Property-based run of schemathesis against /openapi.json on the local runtime: no input gives a 5xx, including
the hostile bodies and queries that tests/e2e/schemathesis_hooks.py adds to every operation (JSON nested
thousands deep, integers and query values of thousands of digits)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.conftest import Runtime

# Three schemathesis processes, one worker thread each, over complementary parts of the API: the parallelism
# of `--workers 3` without its threads (CPython 3.11's compile() can fail under threads inside hypothesis:
# "AST constructor recursion depth mismatch"). Keys and projects are left out: fuzzing them would revoke the key.
PARTS = [
    ["--include-path-regex", "^/api/prompts"],
    ["--include-path-regex", "^/v5/"],
    ["--exclude-path-regex", "^/api/prompts|^/v5/|api-keys|/api/v1/projects$"],
]
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


def test_no_server_errors_from_generated_requests(runtime: Runtime, admin: requests.Session, tmp_path: Path) -> None:
    # Given a prompt and a dataset, so generated ids sometimes hit real resources
    pid = admin.post(runtime.url("/api/prompts"), json={"name": "fuzz", "template": "{{a}}"}).json()["id"]
    admin.post(runtime.url(f"/api/prompts/{pid}/eval/datasets"), json={"name": "fuzz"})
    st = Path(sys.executable).with_name("st")
    # the spec from the runtime, read once with a generous timeout (st's own 10 s read timeout fails on a busy
    # machine while the spec function cold-starts)
    spec = tmp_path / "openapi.json"
    reply = requests.get(runtime.url("/openapi.json"), timeout=120)
    assert reply.status_code == 200, reply.text
    spec.write_text(reply.text)
    # When schemathesis sends generated requests to every operation
    procs = []
    for n, selection in enumerate(PARTS):
        procs.append(
            subprocess.Popen(
                [
                    str(st),
                    "run",
                    str(spec),
                    "--url",
                    runtime.base_url,
                    "-H",
                    f"Authorization: Bearer {runtime.admin_key}",
                    "-H",
                    f"X-API-KEY: {runtime.admin_key}",  # the /v5 (Humanloop) routes take the key in this header
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance",
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--max-examples",
                    os.environ.get("SCHEMATHESIS_EXAMPLES", "12"),
                    "--workers",
                    "1",
                    "--seed",
                    "1",
                    "--request-timeout",
                    "30",
                    "--report",
                    "junit",
                    "--report-dir",
                    str(tmp_path / f"report-{n}"),
                    *selection,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": str(HOOKS),
                    "EVALGATE_ST_HOSTILE_COUNTS": str(tmp_path / f"hostile-{n}.json"),
                },
            )
        )
    outputs = [proc.communicate(timeout=600) for proc in procs]
    # Then no check failed (in particular: no 5xx) in any part
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-6000:] + err[-2000:]
        assert "generated" in out and " 0 generated" not in out, out[-2000:]
    # And the hostile values were really among what was sent, in each part
    for n in range(len(PARTS)):
        sent = json.loads((tmp_path / f"hostile-{n}.json").read_text())
        assert all(sent.get(kind, 0) >= 3 for kind in ("deep-object", "deep-array", "huge-number", "huge-query")), sent
