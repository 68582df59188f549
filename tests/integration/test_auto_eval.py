"""Auto-eval jobs in-process on moto: POST/GET, the 429 slot counter, Idempotency-Key, and the SQS pipeline
driven by hand (the tests receive from the template's queues and invoke the SQS handlers with genuine
`aws:sqs` events), so redeliveries, races and partial batch failures are exercised deterministically."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evalgate.services.container import reset_container
from tests.integration.conftest import APP, FakeContext, Stack, key_for, load_function

WORKER, SCORER, ANALYZER = "AutoEvalWorkerFunction", "AutoEvalScorerFunction", "AutoEvalAnalyzerFunction"
QUEUE_OF = {WORKER: "AutoEvalJobsQueue", SCORER: "AutoEvalScoringQueue", ANALYZER: "AutoEvalAnalyzeQueue"}
BATCH_OF = {s.function: s.batch_size for s in APP.sqs_sources}
MODEL = "support-bot-1"


@pytest.fixture(autouse=True)
def _one_judge_at_a_time(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process mock_aws is not thread-safe: the scorer judges one trace at a time here; the
    e2e tier runs it with the template's concurrency against the moto server."""
    monkeypatch.setenv("AUTOEVAL_JUDGE_CONCURRENCY", "1")
    reset_container()


# -- helpers -------------------------------------------------------------------------------------------
def project_of(stack: Stack, key: str) -> str:
    return str(stack.call("GET", "/api/v1/projects", key=key).json()["items"][0]["id"])


def new_prompt(stack: Stack, key: str) -> int:
    reply = stack.call(
        "POST",
        "/api/prompts",
        key=key,
        body={"name": f"support-{uuid.uuid4().hex[:8]}", "template": "Answer: {{question}}"},
    )
    assert reply.status == 201, reply.text
    return int(reply.json()["id"])


def traces(
    n: int, prompt_id: int | str | None, *, start: int = 0, fail_every: int = 0, model: str = MODEL
) -> list[dict]:
    """n production traces, newest last; every `fail_every`-th output carries the offline judge's [[fail]]."""
    now = datetime.now(UTC)
    out = []
    for i in range(start, start + n):
        failing = fail_every and i % fail_every == 0
        out.append(
            {
                "id": f"tr-{prompt_id}-{model}-{i:05d}",
                "model": model,
                "prompt_id": prompt_id,
                "prompt_version": 1,
                "input": {"question": f"When does order {i} ship?"},
                "output": f"Order {i} ships today from the warehouse." + (" [[fail]]" if failing else ""),
                "context": [f"Order {i} ships today from the warehouse."],
                "latency_ms": 100 + i,
                "timestamp": (now - timedelta(minutes=10) + timedelta(seconds=i)).isoformat(),
                "environment": "production",
            }
        )
    return out


def ingest(stack: Stack, key: str, batch: list[dict]) -> None:
    """Through POST /api/v1/traces (Engineer T's route), 500 traces a request."""
    for i in range(0, len(batch), 500):
        reply = stack.call("POST", "/api/v1/traces", key=key, body={"traces": batch[i : i + 500]})
        assert reply.status in (200, 201, 202), reply.text


def start(stack: Stack, key: str, target: dict, sample_count: int | None = None, **kw: Any) -> Any:
    body: dict[str, Any] = {"target": target}
    if sample_count is not None:
        body["sample_count"] = sample_count
    return stack.call("POST", "/api/v1/auto-eval", key=key, body=body, **kw)


def job(stack: Stack, key: str, job_id: str) -> dict[str, Any]:
    reply = stack.call("GET", f"/api/v1/auto-eval/{job_id}", key=key)
    assert reply.status == 200, reply.text
    return dict(reply.json())


def queue_url(stack: Stack, function: str) -> str:
    return str(stack.names.refs[QUEUE_OF[function]])


def receive(stack: Stack, function: str, limit: int = 10) -> list[dict]:
    reply = stack.client("sqs").receive_message(
        QueueUrl=queue_url(stack, function),
        MaxNumberOfMessages=min(10, limit),
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["All"],
    )
    return list(reply.get("Messages") or [])


def record(stack: Stack, function: str, body: str, *, attempt: int = 1, message_id: str | None = None) -> dict:
    """One record of a genuine aws:sqs event, as the Lambda poller builds it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(attempt),
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDATEST",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": stack.names.attrs[(QUEUE_OF[function], "Arn")],
        "awsRegion": "us-east-1",
    }


def invoke(function: str, records: Iterable[dict]) -> set[str]:
    """Invoke an SQS handler; the message ids it reports failed."""
    result = load_function(function).lambda_handler({"Records": list(records)}, FakeContext())
    return {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures") or []}


def deliver(stack: Stack, function: str, messages: list[dict]) -> set[str]:
    """Hand received messages to their function; delete the ones it did not report failed (as the poller)."""
    records = [
        {**record(stack, function, m["Body"], message_id=m["MessageId"]), "attributes": m.get("Attributes", {})}
        for m in messages
    ]
    failed = invoke(function, records)
    sqs = stack.client("sqs")
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url(stack, function), ReceiptHandle=m["ReceiptHandle"])
    return failed


def drain(stack: Stack, *, only: Iterable[str] = (WORKER, SCORER, ANALYZER), rounds: int = 50) -> None:
    """Run the pipeline until its queues are empty (failed messages stay in flight, as in SQS)."""
    for _ in range(rounds):
        busy = False
        for function in only:
            messages = receive(stack, function, BATCH_OF[function])
            if messages:
                busy = True
                deliver(stack, function, messages)
        if not busy:
            return
    raise AssertionError("the pipeline did not settle")


def counts(stack: Stack, function: str) -> int:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(stack, function),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def active_jobs(stack: Stack, key: str) -> int:
    from evalgate.services.container import container

    return container().jobs.active_jobs(project_of(stack, key))


# -- the API ---------------------------------------------------------------------------------------------
def test_post_checks_the_target_the_body_and_the_role(stack: Stack, admin: str) -> None:
    prompt_id = new_prompt(stack, admin)
    viewer = key_for(admin, stack, "viewer")
    denied = start(stack, viewer, {"model": MODEL})
    assert denied.status == 403 and denied.json()["error"]["message"] == "insufficient role for this operation"
    assert start(stack, "eg_not-a-key", {"model": MODEL}).status == 401
    assert stack.call("POST", "/api/v1/auto-eval", body={"target": {"model": MODEL}}).status == 401

    cases = [
        ({"model": "   "}, "target.model"),
        ({"model": 7}, "target.model"),
        ({"model": MODEL, "prompt_id": 0}, "target.prompt_id"),
        ({"model": MODEL, "prompt_id": "has space"}, "target.prompt_id"),
        ({"model": MODEL, "prompt_id": "x" * 129}, "target.prompt_id"),
        ({"model": MODEL, "prompt_id": True}, "target.prompt_id"),
        ({"model": MODEL, "project_id": "prj_someone_else"}, "target.project_id"),
        ({"model": MODEL, "dataset": 1}, "target.dataset"),
        ({"model": MODEL, "environment": "prod uction"}, "target.environment"),
    ]
    for target, field in cases:
        reply = start(stack, admin, target)
        assert reply.status == 400, (target, reply.text)
        assert reply.json()["error"]["field"] == field, (target, reply.text)
    # schema errors are 400 here, as EvalGuard's document lists (same error body)
    for body in ({"target": {"model": MODEL}, "sample_count": 0}, {"target": {"model": MODEL}, "sample_count": 5001}):
        assert stack.call("POST", "/api/v1/auto-eval", key=admin, body=body).status == 400
    assert stack.call("POST", "/api/v1/auto-eval", key=admin, body={"sample_count": 5}).status == 400
    extra = stack.call("POST", "/api/v1/auto-eval", key=admin, body={"target": {"model": MODEL}, "x": 1})
    assert extra.status == 400 and extra.json()["error"]["code"] == "validation_error"
    # nothing was queued by any refused request
    assert counts(stack, WORKER) == 0 and active_jobs(stack, admin) == 0

    # the caller's own project id and a prompt of the project are a good target; sample_count defaults to 100
    ok = start(stack, admin, {"model": MODEL, "prompt_id": prompt_id, "project_id": project_of(stack, admin)})
    assert ok.status == 202, ok.text
    assert set(ok.json()) == {"job_id"}
    got = job(stack, admin, ok.json()["job_id"])
    assert got["status"] == "queued" and got["sample_count"] == 100
    assert got["target"] == {
        "model": MODEL,
        "prompt_id": str(prompt_id),
        "project_id": project_of(stack, admin),
        "environment": "production",
    }
    assert got["progress"] == {"sampled": 0, "scored": 0, "skipped": 0, "failed": 0, "total": None}
    assert got["report"] is None and got["spend_capped"] is False and got["monitor_id"] is None
    assert counts(stack, WORKER) == 1


def test_get_is_for_the_jobs_own_project_only(stack: Stack, admin: str) -> None:
    from evalgate.services.projects import create_project

    job_id = start(stack, admin, {"model": MODEL}, 5).json()["job_id"]
    viewer = key_for(admin, stack, "viewer")
    assert job(stack, viewer, job_id)["job_id"] == job_id
    _, _, other = create_project(None, "another tenant")
    assert stack.call("GET", f"/api/v1/auto-eval/{job_id}", key=other).status == 404
    assert stack.call("GET", f"/api/v1/auto-eval/{uuid.uuid4()}", key=admin).status == 404
    assert stack.call("GET", "/api/v1/auto-eval/not-a-job", key=admin).status == 404
    assert stack.call("GET", f"/api/v1/auto-eval/{job_id}").status == 401


def test_list_pages_a_projects_jobs_newest_first_with_progress(stack: Stack, admin: str) -> None:
    from evalgate.services.projects import create_project

    prompt_id = new_prompt(stack, admin)
    ingest(stack, admin, traces(6, prompt_id))
    done = start(stack, admin, {"model": MODEL, "prompt_id": prompt_id}, 4).json()["job_id"]
    drain(stack)
    queued = [start(stack, admin, {"model": MODEL}, 5).json()["job_id"] for _ in range(2)]
    viewer = key_for(admin, stack, "viewer")
    listed = stack.call("GET", "/api/v1/auto-eval", key=viewer).json()
    assert [j["job_id"] for j in listed["items"]] == [*reversed(queued), done] and listed["nextCursor"] is None
    finished = listed["items"][2]
    assert finished["status"] == "completed" and finished["progress"]["scored"] == 4 and finished["report"] is None
    assert listed["items"][0]["status"] == "queued" and listed["items"][0]["progress"]["scored"] == 0
    # paged, and a status filter is the data store's, bound into the cursor
    first = stack.call("GET", "/api/v1/auto-eval", key=admin, query="limit=1&status=queued").json()
    assert [j["job_id"] for j in first["items"]] == [queued[1]] and first["nextCursor"]
    cur = first["nextCursor"]
    second = stack.call("GET", "/api/v1/auto-eval", key=admin, query=f"limit=1&status=queued&cursor={cur}").json()
    assert [j["job_id"] for j in second["items"]] == [queued[0]]
    refused = stack.call("GET", "/api/v1/auto-eval", key=admin, query=f"limit=1&status=completed&cursor={cur}")
    assert refused.status == 400 and refused.json()["error"]["field"] == "cursor"
    assert stack.call("GET", "/api/v1/auto-eval", key=admin, query="status=done").status in (400, 422)
    assert stack.call("GET", "/api/v1/auto-eval", key=admin, query="limit=0").status in (400, 422)
    # another project sees none of them; no key, no list
    _, _, other = create_project(None, "another tenant")
    assert stack.call("GET", "/api/v1/auto-eval", key=other).json() == {"items": [], "nextCursor": None}
    assert stack.call("GET", "/api/v1/auto-eval").status == 401


def test_idempotency_key_replays_the_first_job(stack: Stack, admin: str) -> None:
    headers = {"Idempotency-Key": "nightly-1"}
    first = start(stack, admin, {"model": MODEL}, 10, headers=headers)
    again = start(stack, admin, {"model": MODEL}, 10, headers=headers)
    assert first.status == again.status == 202
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    clash = start(stack, admin, {"model": MODEL}, 11, headers=headers)
    assert clash.status == 422 and clash.json()["error"]["field"] == "Idempotency-Key"
    assert counts(stack, WORKER) == 1 and active_jobs(stack, admin) == 1


def test_too_many_active_jobs_is_429_until_one_ends(stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from evalgate.services.jobs import common

    monkeypatch.setenv("AUTOEVAL_MAX_ACTIVE_JOBS", "2")
    reset_container()
    first = start(stack, admin, {"model": MODEL}, 5).json()["job_id"]
    start(stack, admin, {"model": MODEL}, 5)
    refused = start(stack, admin, {"model": MODEL}, 5)
    assert refused.status == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert "2 auto-eval jobs" in refused.json()["error"]["message"]
    assert counts(stack, WORKER) == 2 and active_jobs(stack, admin) == 2
    # a job that fails gives its slot back, exactly once
    project = project_of(stack, admin)
    assert common.fail_job(project, first, "failed: cancelled by the test") is True
    assert common.fail_job(project, first, "failed: again") is False
    assert active_jobs(stack, admin) == 1
    assert job(stack, admin, first)["status"] == "failed" and job(stack, admin, first)["note"].endswith("test")
    assert start(stack, admin, {"model": MODEL}, 5).status == 202
    assert start(stack, admin, {"model": MODEL}, 5).status == 429
    # completed jobs give their slots back too (no traffic: they complete at once)
    drain(stack)
    assert active_jobs(stack, admin) == 0
    assert start(stack, admin, {"model": MODEL}, 5).status == 202


def test_a_lost_job_gives_its_slot_back_when_the_project_is_full(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job whose function died on its last delivery never ends by itself; when the project is at its limit,
    jobs open for longer than STALE_AFTER are failed (with a reason) and their slots reused."""
    from datetime import timedelta

    from evalgate.services.container import utcnow
    from evalgate.services.jobs import enqueue

    monkeypatch.setenv("AUTOEVAL_MAX_ACTIVE_JOBS", "1")
    reset_container()
    lost = start(stack, admin, {"model": MODEL}, 5).json()["job_id"]
    assert start(stack, admin, {"model": MODEL}, 5).status == 429  # not stale yet: a plain 429
    later = utcnow() + enqueue.STALE_AFTER + timedelta(minutes=1)
    monkeypatch.setattr(enqueue, "utcnow", lambda: later)
    fresh = start(stack, admin, {"model": MODEL}, 5)
    assert fresh.status == 202, fresh.text
    given_up = job(stack, admin, lost)
    assert given_up["status"] == "failed" and "made no progress" in given_up["note"]
    assert active_jobs(stack, admin) == 1  # the lost job's slot went to the new one, counted once


# -- the pipeline ----------------------------------------------------------------------------------------
def test_pipeline_samples_judges_and_reports(stack: Stack, admin: str) -> None:
    # the app names its prompt its own way (no evalgate prompt has this id); another prompt's traffic is not sampled
    prompt_id = "checkout/answer@v3"
    ingest(stack, admin, traces(60, prompt_id) + traces(30, "checkout/answer@v4"))
    job_id = start(stack, admin, {"model": MODEL, "prompt_id": prompt_id}, 45).json()["job_id"]

    drain(stack, only=[WORKER])
    running = job(stack, admin, job_id)
    assert running["status"] == "running" and running["started_at"]
    assert running["progress"] == {"sampled": 45, "scored": 0, "skipped": 0, "failed": 0, "total": 45}
    assert counts(stack, SCORER) == 3  # 45 traces, 20 per scoring message

    drain(stack)
    done = job(stack, admin, job_id)
    assert done["status"] == "completed" and done["finished_at"], done
    assert done["progress"] == {"sampled": 45, "scored": 45, "skipped": 0, "failed": 0, "total": 45}
    assert done["judge_calls"] == 45  # one judge call per sample, for all four criteria
    report = done["report"]
    for field in ("has_drift", "overall_delta", "metric_deltas", "regressions", "hallucinations", "alerts", "verdict"):
        assert field in report, field
    assert report["has_drift"] is False and report["verdict"] == "inconclusive"  # no baseline yet
    assert done["baseline_job_id"] is None and done["note"] is None
    assert active_jobs(stack, admin) == 0
    # the sample: 45 distinct traces of the target, each recorded once
    from evalgate.services.container import container

    samples = container().jobs.samples(project_of(stack, admin), job_id)
    assert len(samples) == 45 and len({s.trace_id for s in samples}) == 45
    assert all(s.trace_id.startswith("tr-checkout/answer@v3-") for s in samples)
    assert all(s.status == "scored" and set(s.scores) >= {"rubric", "hallucination"} for s in samples)


def test_second_job_uses_unjudged_traces_and_compares_with_the_first(stack: Stack, admin: str) -> None:
    prompt_id = new_prompt(stack, admin)
    target = {"model": MODEL, "prompt_id": prompt_id}
    ingest(stack, admin, traces(40, prompt_id))
    baseline = start(stack, admin, target, 40).json()["job_id"]
    drain(stack)
    assert job(stack, admin, baseline)["progress"]["scored"] == 40
    # newer traffic, half of it failing, sent with the id's string form: the same identifier as the integer
    ingest(stack, admin, traces(60, str(prompt_id), start=1000, fail_every=2))
    current = start(stack, admin, {**target, "prompt_id": str(prompt_id)}, 40).json()["job_id"]
    drain(stack)
    done = job(stack, admin, current)
    assert done["status"] == "completed" and done["baseline_job_id"] == baseline
    from evalgate.services.container import container

    project = project_of(stack, admin)
    first = {s.trace_id for s in container().jobs.samples(project, baseline)}
    second = {s.trace_id for s in container().jobs.samples(project, current)}
    assert len(second) == 40 and not first & second  # the same target never judges a trace twice
    report = done["report"]
    assert report["has_drift"] is True and report["verdict"] == "drift", report
    assert report["baseline_n"] == 40 and report["current_n"] == 40
    assert any(m["significant"] and m["delta"] < 0 for m in report["metric_deltas"])
    assert report["hallucinations"] and all(h["trace_id"] in second for h in report["hallucinations"])


def test_an_empty_target_judges_every_models_production_traffic(stack: Stack, admin: str) -> None:
    # EvalGuard's own example sends "target": {}: the project's production traffic, whatever the model or prompt
    staging = [{**t, "environment": "staging"} for t in traces(3, None, model="staging-model")]
    ingest(stack, admin, traces(5, "app/a", model="model-a") + traces(4, None, model="model-b") + staging)
    reply = stack.call("POST", "/api/v1/auto-eval", key=admin, body={"target": {}, "sample_count": 100})
    assert reply.status == 202, reply.text
    job_id = reply.json()["job_id"]
    drain(stack)
    done = job(stack, admin, job_id)
    assert done["status"] == "completed" and done["target"]["model"] is None
    assert done["progress"]["sampled"] == 9 and done["progress"]["scored"] == 9
    from evalgate.services.container import container

    sampled = {s.trace_id for s in container().jobs.samples(project_of(stack, admin), job_id)}
    assert not any("staging-model" in t for t in sampled)
    # and with only a prompt id: that prompt's traffic on any model
    reply = stack.call("POST", "/api/v1/auto-eval", key=admin, body={"target": {"prompt_id": "app/a"}})
    assert reply.status == 202, reply.text
    drain(stack)
    assert job(stack, admin, reply.json()["job_id"])["progress"]["sampled"] == 5


def test_no_traffic_completes_with_an_inconclusive_report(stack: Stack, admin: str) -> None:
    job_id = start(stack, admin, {"model": "never-called"}, 10).json()["job_id"]
    drain(stack)
    done = job(stack, admin, job_id)
    assert done["status"] == "completed"
    assert done["progress"] == {"sampled": 0, "scored": 0, "skipped": 0, "failed": 0, "total": 0}
    assert "no production traces" in done["note"]
    assert done["report"]["verdict"] == "inconclusive" and done["report"]["has_drift"] is False
    assert active_jobs(stack, admin) == 0


def test_redelivered_job_message_neither_resamples_nor_refans(stack: Stack, admin: str) -> None:
    ingest(stack, admin, traces(50, None, model="redeliver-model"))
    job_id = start(stack, admin, {"model": "redeliver-model"}, 50).json()["job_id"]
    (message,) = receive(stack, WORKER)
    body = message["Body"]
    assert invoke(WORKER, [record(stack, WORKER, body)]) == set()
    before = job(stack, admin, job_id)
    assert counts(stack, SCORER) == 3
    assert invoke(WORKER, [record(stack, WORKER, body, attempt=2)]) == set()
    assert job(stack, admin, job_id) == before and counts(stack, SCORER) == 3


def test_the_same_scoring_message_twice_counts_its_samples_once(stack: Stack, admin: str) -> None:
    ingest(stack, admin, traces(30, None, model="twice-model"))
    job_id = start(stack, admin, {"model": "twice-model"}, 30).json()["job_id"]
    drain(stack, only=[WORKER])
    first, second = receive(stack, SCORER)[:2]
    ids = json.loads(first["Body"])["trace_ids"]
    assert invoke(SCORER, [record(stack, SCORER, first["Body"])]) == set()
    after_one = job(stack, admin, job_id)
    assert after_one["progress"]["scored"] == len(ids) and after_one["judge_calls"] == len(ids)
    # the redelivery: same body, a later receive; nothing is judged or counted again
    assert invoke(SCORER, [record(stack, SCORER, first["Body"], attempt=2)]) == set()
    assert job(stack, admin, job_id)["progress"] == after_one["progress"]
    assert job(stack, admin, job_id)["judge_calls"] == len(ids)
    # the other message completes the job; the analysis is queued once
    assert invoke(SCORER, [record(stack, SCORER, second["Body"])]) == set()
    assert counts(stack, ANALYZER) == 1
    drain(stack)
    assert job(stack, admin, job_id)["progress"]["scored"] == 30


def test_a_sample_recorded_twice_is_counted_once(stack: Stack, admin: str) -> None:
    """Two deliveries judging the same trace at once both pass the "already recorded?" read; the conditional
    put in the counting transaction lets only one of them count."""
    from evalgate.models.jobs import SampleRecord
    from evalgate.services.container import container, utcnow

    job_id = start(stack, admin, {"model": MODEL}, 5).json()["job_id"]
    store = container().jobs
    found = store.get_job(project_of(stack, admin), job_id)
    sample = SampleRecord(trace_id="t-1", status="scored", scores={"rubric": 1.0}, passed={"rubric": True})
    sample.judge_calls, sample.judge_cost_usd = 1, 0.25
    assert store.record_sample(found, sample, judged_scope="TARGET#x", now=utcnow()) is True
    assert store.record_sample(found, sample, judged_scope="TARGET#x", now=utcnow()) is False
    got = job(stack, admin, job_id)
    assert got["progress"]["scored"] == 1 and got["judge_calls"] == 1 and got["judge_cost_usd"] == 0.25
    assert store.judged_among(found.project_id, "TARGET#x", ["t-1", "t-2"]) == {"t-1"}


def test_racing_last_messages_trigger_the_analyzer_once(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalgate.services.container import container
    from evalgate.services.jobs import worker

    ingest(stack, admin, traces(20, None, model="race-model"))
    job_id = start(stack, admin, {"model": "race-model"}, 20).json()["job_id"]
    drain(stack, only=[WORKER])
    (last,) = receive(stack, SCORER)
    # two deliveries of the last message (a redelivery racing the first): both see every sample counted
    assert (
        invoke(SCORER, [record(stack, SCORER, last["Body"]), record(stack, SCORER, last["Body"], attempt=2)]) == set()
    )
    project = project_of(stack, admin)
    assert worker.maybe_queue_analysis(project, job_id) is False  # and any later caller loses too
    # a caller that read the job before the claim (both saw every sample counted) loses the conditional SET
    store = container().jobs
    stale = dataclasses.replace(store.get_job(project, job_id), analyze_queued=False)
    monkeypatch.setattr(store, "get_job", lambda *_: stale)
    assert worker.maybe_queue_analysis(project, job_id) is False
    monkeypatch.undo()
    assert counts(stack, ANALYZER) == 1
    (message,) = receive(stack, ANALYZER)
    # the analyzer delivered twice completes the job and releases the slot once
    assert invoke(ANALYZER, [record(stack, ANALYZER, message["Body"])]) == set()
    assert invoke(ANALYZER, [record(stack, ANALYZER, message["Body"], attempt=2)]) == set()
    assert job(stack, admin, job_id)["status"] == "completed"
    assert active_jobs(stack, admin) == 0


def test_poison_message_fails_alone_in_its_batch(stack: Stack, admin: str) -> None:
    ingest(stack, admin, traces(20, None, model="poison-model"))
    job_id = start(stack, admin, {"model": "poison-model"}, 20).json()["job_id"]
    drain(stack, only=[WORKER])
    (good,) = receive(stack, SCORER)
    poison = [
        record(stack, SCORER, "{not json"),
        record(stack, SCORER, json.dumps({"project_id": project_of(stack, admin), "job_id": job_id})),
        record(stack, SCORER, json.dumps({"project_id": "prj_x", "job_id": str(uuid.uuid4()), "trace_ids": ["t"]})),
    ]
    failed = invoke(SCORER, [poison[0], record(stack, SCORER, good["Body"], message_id="good"), *poison[1:]])
    assert failed == {p["messageId"] for p in poison}
    assert job(stack, admin, job_id)["progress"]["scored"] == 20
    # a batch of poison only still answers batchItemFailures (no invocation error)
    assert invoke(SCORER, poison[:1]) == {poison[0]["messageId"]}


def test_unparsable_judgments_are_retried_then_recorded_failed(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALGATE_JUDGE_PROVIDER", "scripted")
    monkeypatch.setenv("EVALGATE_JUDGE_PARAMS", json.dumps({"default": "I think it is fine."}))
    reset_container()
    ingest(stack, admin, traces(5, None, model="garbled-model"))
    job_id = start(stack, admin, {"model": "garbled-model"}, 5).json()["job_id"]
    drain(stack, only=[WORKER])
    (message,) = receive(stack, SCORER)
    for attempt in (1, 2):
        failed = invoke(SCORER, [record(stack, SCORER, message["Body"], attempt=attempt, message_id="m")])
        assert failed == {"m"}
        assert job(stack, admin, job_id)["progress"]["failed"] == 0
    # the last delivery (maxReceiveCount 3) records them failed, so the job can complete
    assert invoke(SCORER, [record(stack, SCORER, message["Body"], attempt=3, message_id="m")]) == set()
    assert job(stack, admin, job_id)["progress"] == {"sampled": 5, "scored": 0, "skipped": 0, "failed": 5, "total": 5}
    drain(stack)
    done = job(stack, admin, job_id)
    assert done["status"] == "completed" and done["report"]["verdict"] == "inconclusive"
    assert done["note"] == "no sample could be judged, so the report is inconclusive"
    from evalgate.services.container import container

    samples = container().jobs.samples(project_of(stack, admin), job_id)
    assert all(s.status == "failed" and "JudgeParseError" in (s.error or "") for s in samples)


def test_a_worker_failing_on_its_last_delivery_fails_the_job(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalgate.services.container import container

    job_id = start(stack, admin, {"model": MODEL}, 5).json()["job_id"]
    (message,) = receive(stack, WORKER)

    def broken(*args: Any, **kwargs: Any) -> list[str]:
        raise RuntimeError("the traces index is unavailable")

    monkeypatch.setattr(container().traces, "recent_ids", broken)
    assert invoke(WORKER, [record(stack, WORKER, message["Body"], message_id="w")]) == {"w"}
    assert job(stack, admin, job_id)["status"] == "running" and active_jobs(stack, admin) == 1
    assert invoke(WORKER, [record(stack, WORKER, message["Body"], attempt=3, message_id="w")]) == {"w"}
    failed = job(stack, admin, job_id)
    assert failed["status"] == "failed" and "the traces index is unavailable" in failed["note"]
    assert failed["finished_at"] and active_jobs(stack, admin) == 0


def test_spend_cap_stops_judging_and_says_so(stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A monitor job with a tiny daily cap: the first judge call (priced through the judge's params, as the
    offline judge costs $0) exceeds it; the rest of the samples are skipped without a judge call."""
    from evalgate.models.monitors import JudgeSpec, Monitor, MonitorTarget
    from evalgate.services.container import container
    from evalgate.services.jobs import enqueue

    project = project_of(stack, admin)
    ingest(stack, admin, traces(30, None, model="capped-model"))
    now = datetime.now(UTC)
    monitor = Monitor(
        id=f"mon_{uuid.uuid4().hex[:12]}",
        project_id=project,
        target=MonitorTarget(model="capped-model"),
        sample_count=30,
        schedule="rate(1 day)",
        judge=JudgeSpec(provider="offline-judge", model="judge-1", params={"input_cost_per_mtok": 100.0}),
        daily_spend_cap_usd=0.0001,
        next_run_at=now,
        created_at=now,
        updated_at=now,
    )
    job_id = enqueue.enqueue_job(project, target={}, sample_count=30, monitor=monitor, requested_by="schedule")
    drain(stack)
    done = job(stack, admin, job_id)
    assert done["monitor_id"] == monitor.id and done["status"] == "completed"
    assert done["spend_capped"] is True
    assert done["note"] == "judging stopped: the daily judge-spend cap of $0.0001 was reached"
    assert done["progress"]["scored"] == 1 and done["progress"]["skipped"] == 29
    assert done["judge_calls"] == 1 and done["judge_cost_usd"] > 0.0001
    day = datetime.now(UTC).date().isoformat()
    assert container().jobs.spend_today(project, monitor.id, day) == pytest.approx(done["judge_cost_usd"])


def test_send_all_uses_batches_of_ten(stack: Stack) -> None:
    from evalgate import aws
    from evalgate.adapters.queue import Queue

    url = stack.names.refs["AutoEvalScoringQueue"]
    calls = Queue(url, aws.client("sqs")).send_all([{"n": i} for i in range(25)])
    assert calls == 3
    assert counts(stack, SCORER) == 25
