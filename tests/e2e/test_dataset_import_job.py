"""A dataset import above the synchronous limit (2,000 cases) runs as a job on the local stack: 202, progress
to poll, then the dataset with every case (the worker is the template's SQS-triggered function)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.e2e
CASES = 2_100


def test_a_big_import_is_polled_to_completion(runtime: Runtime, admin: requests.Session) -> None:
    pid = admin.post(runtime.url("/api/prompts"), json={"name": f"big-{uuid.uuid4().hex[:6]}", "template": "{{q}}"})
    assert pid.status_code == 201, pid.text
    prompt = pid.json()["id"]
    content = "q,expected\n" + "\n".join(f"question {i},answer {i}" for i in range(CASES))
    reply = admin.post(
        runtime.url(f"/api/prompts/{prompt}/eval/datasets/import"),
        json={"name": "big", "format": "csv", "content": content, "expectedColumn": "expected"},
    )
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert job["total"] == CASES and job["status"] in ("queued", "running")
    url = runtime.url(f"/api/prompts/{prompt}/eval/datasets/imports/{job['importId']}")
    deadline = time.time() + 120
    seen = job
    while time.time() < deadline and seen["status"] not in ("completed", "failed"):
        time.sleep(0.3)
        seen = admin.get(url).json()
    assert seen["status"] == "completed" and seen["done"] == CASES, seen
    dataset = admin.get(runtime.url(f"/api/prompts/{prompt}/eval/datasets/{job['datasetId']}?limit=5")).json()
    assert dataset["caseCount"] == CASES and dataset["name"] == "big"
