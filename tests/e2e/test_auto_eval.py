"""Auto-eval on the local runtime, over HTTP: traces in, jobs through the three SQS queues (the runtime's
pollers honour batch size, visibility, batchItemFailures and the DLQ redrive), reports out. The queues are
inspected with boto3 against the runtime's moto server."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import Runtime

STACK = "evalgate-local"  # the runtime's physical names: <stack>-<logical id>


def aws(runtime: Runtime, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name="us-east-1",
        endpoint_url=runtime.moto_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def queue_url(runtime: Runtime, logical_id: str) -> str:
    return str(aws(runtime, "sqs").get_queue_url(QueueName=f"{STACK}-{logical_id}")["QueueUrl"])


def traces(model: str, n: int, *, start: int = 0, fail_every: int = 0) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": f"{model}-{i:05d}",
            "model": model,
            "prompt_id": None,
            "input": {"question": f"When does order {i} ship?"},
            "output": f"Order {i} ships today from the warehouse."
            + (" [[fail]]" if fail_every and i % fail_every == 0 else ""),
            "context": [f"Order {i} ships today from the warehouse."],
            "latency_ms": 120,
            "timestamp": (now - timedelta(minutes=5) + timedelta(seconds=i)).isoformat(),
            "environment": "production",
        }
        for i in range(start, start + n)
    ]


def ingest(runtime: Runtime, admin: requests.Session, batch: list[dict[str, Any]]) -> None:
    reply = admin.post(runtime.url("/api/v1/traces"), json={"traces": batch})
    assert reply.status_code in (200, 201, 202), reply.text


def run_job(runtime: Runtime, admin: requests.Session, target: dict[str, Any], sample_count: int) -> str:
    reply = admin.post(runtime.url("/api/v1/auto-eval"), json={"target": target, "sample_count": sample_count})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["job_id"])


def wait_for(runtime: Runtime, admin: requests.Session, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        reply = admin.get(runtime.url(f"/api/v1/auto-eval/{job_id}"))
        if reply.status_code in (429, 503):  # throttled or busy (a loaded machine): ask again
            seen.append(reply.status_code)
            time.sleep(0.5)
            continue
        assert reply.status_code == 200, reply.text
        body = reply.json()
        seen.append(body["status"])
        if body["status"] in ("completed", "failed"):
            return dict(body)
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {seen[-1:]}")


def test_auto_eval_end_to_end(runtime: Runtime, admin: requests.Session) -> None:
    model = f"e2e-{uuid.uuid4().hex[:8]}"
    ingest(runtime, admin, traces(model, 40))
    baseline_id = run_job(runtime, admin, {"model": model}, 40)
    first = admin.get(runtime.url(f"/api/v1/auto-eval/{baseline_id}")).json()
    assert first["status"] in ("queued", "running", "completed")
    baseline = wait_for(runtime, admin, baseline_id)
    assert baseline["status"] == "completed", baseline
    assert baseline["progress"] == {"sampled": 40, "scored": 40, "skipped": 0, "failed": 0, "total": 40}
    assert baseline["judge_calls"] == 40
    assert baseline["report"]["verdict"] == "inconclusive"  # the first job of a target has no baseline

    # newer traffic, half of it failing: the next job samples only traces not judged before
    ingest(runtime, admin, traces(model, 60, start=1000, fail_every=2))
    current = wait_for(runtime, admin, run_job(runtime, admin, {"model": model}, 40))
    assert current["status"] == "completed" and current["baseline_job_id"] == baseline_id
    assert current["progress"]["scored"] == 40
    report = current["report"]
    assert set(report) >= {"has_drift", "overall_delta", "metric_deltas", "regressions", "hallucinations", "alerts"}
    assert report["has_drift"] is True and report["verdict"] == "drift"
    for row in report["metric_deltas"]:
        assert set(row) >= {"metric", "baseline", "current", "delta", "test", "p_value", "significant"}
    assert report["hallucinations"] and all(h["trace_id"].startswith(model) for h in report["hallucinations"])
    assert all(int(h["trace_id"].rsplit("-", 1)[1]) >= 1000 for h in report["hallucinations"])
    assert current["started_at"] and current["finished_at"] and current["spend_capped"] is False


def test_poison_message_reaches_the_dlq_while_its_batch_succeeds(runtime: Runtime, admin: requests.Session) -> None:
    """A malformed scoring message fails on every receive and SQS moves it to the DLQ after maxReceiveCount
    (3); a good message sent in the same SendMessageBatch (a redelivered scoring message of a finished job)
    succeeds, is deleted, and changes nothing on its job (a redelivery creates no duplicate)."""
    model = f"e2e-poison-{uuid.uuid4().hex[:8]}"
    ingest(runtime, admin, traces(model, 20, fail_every=4))
    done = wait_for(runtime, admin, run_job(runtime, admin, {"model": model}, 20))
    assert done["status"] == "completed"
    sampled = [h["trace_id"] for h in done["report"]["hallucinations"]]
    assert sampled

    sqs = aws(runtime, "sqs")
    scoring = queue_url(runtime, "AutoEvalScoringQueue")
    dlq = queue_url(runtime, "AutoEvalScoringDLQ")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=scoring, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert policy["maxReceiveCount"] == 3
    visibility = sqs.get_queue_attributes(QueueUrl=scoring, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert int(visibility["VisibilityTimeout"]) >= 6 * 300  # 6 x the scorer's timeout, as in the template
    # the template's 30 minutes would make three receives take 1.5 hours: shorten it for this test only
    sqs.set_queue_attributes(QueueUrl=scoring, Attributes={"VisibilityTimeout": "2"})
    time.sleep(2.5)  # a receive already waiting (the poller long-polls 1 s) still carries the old timeout
    try:
        good = {"project_id": runtime.project_id, "job_id": done["job_id"], "trace_ids": sampled}
        poison = "{this is not a scoring message"
        sent = sqs.send_message_batch(
            QueueUrl=scoring,
            Entries=[{"Id": "poison", "MessageBody": poison}, {"Id": "good", "MessageBody": json.dumps(good)}],
        )
        assert not sent.get("Failed")
        deadline = time.time() + 60
        dead: list[dict[str, Any]] = []
        while time.time() < deadline and not dead:
            dead = sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
        assert [m["Body"] for m in dead] == [poison], dead
        assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 3
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=dead[0]["ReceiptHandle"])
        left = sqs.get_queue_attributes(
            QueueUrl=scoring, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        assert left == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    finally:
        sqs.set_queue_attributes(QueueUrl=scoring, Attributes={"VisibilityTimeout": "1800"})
    after = admin.get(runtime.url(f"/api/v1/auto-eval/{done['job_id']}")).json()
    assert after["progress"] == done["progress"] and after["judge_calls"] == done["judge_calls"]


def test_spend_cap_stops_judging_and_says_so(runtime: Runtime, admin: requests.Session) -> None:
    """A monitor with a tiny daily judge-spend cap, due at once (`run_now`); the scheduler function runs as
    EventBridge Scheduler would invoke it (through the runtime's Lambda Invoke endpoint, rather than waiting up
    to a minute for the ticker) and enqueues the job. The offline judge costs $0, so the monitor prices its
    judge calls through the judge params."""
    model = f"e2e-capped-{uuid.uuid4().hex[:8]}"
    ingest(runtime, admin, traces(model, 40))
    created = admin.post(
        runtime.url("/api/v1/auto-eval/monitors"),
        json={
            "name": "capped",
            "target": {"model": model},
            "sample_count": 40,
            "schedule": "rate(1 minute)",
            "judge": {"provider": "offline-judge", "model": "judge-1", "params": {"input_cost_per_mtok": 100}},
            "daily_spend_cap_usd": 0.0001,
            "run_now": True,
        },
    )
    assert created.status_code == 201, created.text
    monitor_id = created.json()["id"]
    monitor_url = runtime.url(f"/api/v1/auto-eval/monitors/{monitor_id}")
    try:
        invoked = requests.post(
            f"{runtime.moto_url}/2015-03-31/functions/RunDueMonitorsFunction/invocations",
            json={"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}},
            timeout=60,
        )
        assert invoked.status_code == 200, invoked.text
        deadline = time.time() + 90  # the ticker may have enqueued it first; either way it is enqueued once
        job_id = None
        while time.time() < deadline and not job_id:
            job_id = admin.get(monitor_url).json().get("last_job_id")
            if not job_id:
                time.sleep(1)
    finally:
        admin.delete(monitor_url)  # no further runs
    if not job_id:
        pytest.fail("the monitor's scheduler did not enqueue its job")
    done = wait_for(runtime, admin, job_id)
    assert done["status"] == "completed" and done["monitor_id"] == monitor_id
    assert done["spend_capped"] is True
    assert done["note"] == "judging stopped: the daily judge-spend cap of $0.0001 was reached"
    progress = done["progress"]
    assert progress["skipped"] > 0 and progress["scored"] >= 1
    assert progress["scored"] + progress["skipped"] + progress["failed"] == progress["total"] == 40
    assert done["judge_calls"] == progress["scored"]  # skipped samples made no judge call
