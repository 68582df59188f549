"""Property-based run of schemathesis against /openapi.json on the local runtime: no input gives a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.conftest import Runtime


def test_no_server_errors_from_generated_requests(runtime: Runtime, admin: requests.Session, tmp_path: Path) -> None:
    # Given a prompt and a dataset, so generated ids sometimes hit real resources
    pid = admin.post(runtime.url("/api/prompts"), json={"name": "fuzz", "template": "{{a}}"}).json()["id"]
    admin.post(runtime.url(f"/api/prompts/{pid}/eval/datasets"), json={"name": "fuzz"})
    st = Path(sys.executable).with_name("st")
    report = tmp_path / "report"
    # When schemathesis sends generated requests to every operation
    proc = subprocess.run(
        [
            str(st),
            "run",
            runtime.url("/openapi.json"),
            "--url",
            runtime.base_url,
            "-H",
            f"Authorization: Bearer {runtime.admin_key}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            os.environ.get("SCHEMATHESIS_EXAMPLES", "25"),
            "--workers",
            "2",
            "--seed",
            "1",
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-dir",
            str(report),
            "--exclude-path-regex",
            "api-keys|/api/v1/projects$",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    # Then no check failed (in particular: no 5xx)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
