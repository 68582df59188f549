"""Issue 17 on the local runtime: a run that ends is announced on the template's paired-gate queue, the worker
(an SQS-triggered function, polled by the runtime) caches its gate against the control run, and gate/check
answers what the cache holds."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.e2e
STACK = "evalgate-local"  # the runtime's physical names: <stack>-<logical id>


def _run(runtime: Runtime, admin: requests.Session, prompt: int, shift: float) -> int:
    run = admin.post(runtime.url("/api/v1/evals"), json={"name": "r", "promptId": prompt}).json()
    rows = [
        {"id": f"r{i}", "caseId": f"case-{i}", "score": min(1.0, (i % 10) / 10 + shift), "passed": i % 10 > 2}
        for i in range(40)
    ]
    assert admin.post(runtime.url(f"/api/v1/evals/{run['id']}/results"), json={"results": rows}).status_code == 200
    assert admin.patch(runtime.url(f"/api/v1/evals/{run['id']}"), json={"status": "passed"}).status_code == 200
    return int(run["id"])


def _cached(runtime: Runtime, run_id: int) -> dict[str, Any]:
    ddb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=runtime.moto_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    found: dict[str, Any] = {}
    deadline = time.time() + 60
    while time.time() < deadline and "compare" not in found:  # the worker stores the gate, then the comparison
        items = ddb.query(
            TableName=f"{STACK}-Table",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": f"PROJECT#{runtime.project_id}#RUN#{run_id}"},
                ":sk": {"S": "PAIRED#"},
            },
        )["Items"]
        found = {i["SK"]["S"].split("#")[1]: json.loads(i["body"]["S"]) for i in items}
        if "compare" not in found:
            time.sleep(0.2)
    return found


def test_the_worker_caches_a_finished_runs_gate(runtime: Runtime, admin: requests.Session) -> None:
    reply = admin.post(runtime.url("/api/prompts"), json={"name": f"gc-{uuid.uuid4().hex[:6]}", "template": "{{q}}"})
    prompt = reply.json()["id"]
    control = _run(runtime, admin, prompt, 0.0)
    gate = {"mode": "non-inferiority", "metric": "score", "margin": 0.05, "controlRunId": control, "minSamples": 10}
    assert admin.put(runtime.url(f"/api/prompts/{prompt}/eval/gate"), json=gate).status_code == 200
    run = _run(runtime, admin, prompt, 0.01)
    cached = _cached(runtime, run)
    assert set(cached) == {"gate", "compare"}, cached
    check = admin.post(runtime.url(f"/api/prompts/{prompt}/eval/gate/check"), json={"runId": run})
    assert check.status_code == 200, check.text
    body = check.json()
    assert (body["verdict"], body["reason"]) == (cached["gate"]["verdict"], cached["gate"]["reason"])
    assert {k: v for k, v in body["figures"].items() if k != "allowInconclusive"} == cached["gate"]["figures"]
    assert body["verdict"] == "passed" and body["figures"]["shared_scored_cases"] == 40
    stats = admin.get(runtime.url(f"/api/v1/evals/{run}/stats"), params={"controlRunId": control}).json()
    assert stats["comparison"]["verdictReason"] == cached["compare"]["verdict_reason"]
    assert stats["comparison"]["sharedCases"] == cached["compare"]["shared_cases"] == 40
