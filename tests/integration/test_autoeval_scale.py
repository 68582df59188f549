"""Issue 17, auto-eval at scale: a sample is counted on one of the job's counter shards (the job item is never
written per sample), the sampled ids live in S3 (never inline), and a judge provider's rate limit is one
DynamoDB window shared by every scorer instance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evalgate import keys
from tests.integration.conftest import Stack
from tests.integration.test_traces import project_of, raw_item


def _job(project: str, job_id: str) -> Any:
    from evalgate.models.jobs import AutoEvalJob

    return AutoEvalJob(
        id=job_id,
        project_id=project,
        status="running",
        target={"model": "m"},
        sample_count=30,
        config={},
        created_at=datetime.now(UTC),
        requested_by="test",
    )


def test_samples_count_on_shards_not_the_job_item(stack: Stack, admin: str) -> None:
    from evalgate.models.jobs import SampleRecord
    from evalgate.services.container import container, utcnow

    project = project_of(stack, admin)
    store = container().jobs
    job = _job(project, "00000000-0000-4000-8000-000000000017")
    store.create_job(job)
    before = raw_item(stack, keys.autoeval_job(project, job.id))
    # Given 30 samples recorded (one twice), scored, skipped and failed
    statuses = ["scored"] * 20 + ["skipped"] * 6 + ["failed"] * 4
    for n, status in enumerate(statuses):
        sample = SampleRecord(trace_id=f"t-{n}", status=status, judge_calls=1 if status == "scored" else 0)
        sample.judge_cost_usd = 0.5 if status == "scored" else 0.0
        assert store.record_sample(job, sample, judged_scope=None, now=utcnow()) is True
    again = SampleRecord(trace_id="t-0", status="scored", judge_calls=1, judge_cost_usd=0.5)
    assert store.record_sample(job, again, judged_scope=None, now=utcnow()) is False
    # Then the job item was never written, the counts are spread over the shards, and a read adds them up once
    assert raw_item(stack, keys.autoeval_job(project, job.id)) == before
    shards = [raw_item(stack, keys.autoeval_counter(project, job.id, n)) for n in range(keys.AUTOEVAL_COUNT_SHARDS)]
    assert sum(1 for s in shards if s) >= 4
    got = store.get_job(project, job.id)
    assert (got.progress.scored, got.progress.skipped, got.progress.failed) == (20, 6, 4)
    assert got.judge_calls == 20 and got.judge_cost_usd == 10.0
    # another project sees no such job
    assert store.find_job("someone-else", job.id) is None


def test_sampled_ids_go_to_s3_once(stack: Stack, admin: str) -> None:
    from evalgate.services.container import container, utcnow

    project = project_of(stack, admin)
    store = container().jobs
    job = _job(project, "00000000-0000-4000-8000-000000000018")
    store.create_job(job)
    ids = [f"trace-{n:05d}-{'x' * 30}" for n in range(5000)]  # a 5,000-sample job: ~200 KB of ids
    assert store.record_sample_ids(job, ids, utcnow()) is True
    # a late second delivery with another sample loses, and does not overwrite what the first fanned out
    assert store.record_sample_ids(job, ids[:10], utcnow()) is False
    item = raw_item(stack, keys.autoeval_job(project, job.id))
    assert "sampleIds" not in item and "sampleIdsKey" in item
    assert sum(len(k) + len(str(v)) for k, v in item.items()) < 2_000  # the job item stays small
    got = store.get_job(project, job.id)
    assert store.sample_ids(got) == ids and got.progress.total == 5000


def test_a_judge_rate_limit_is_shared_by_every_instance(stack: Stack, admin: str) -> None:
    from evalgate.services.container import container
    from evalgate.store.rate_limits import RateLimiter

    now = [1_000.25]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    table = container().table
    # Given two scorer instances with their own limiter objects and one shared limit of 4 calls a second
    one, two = (RateLimiter(table, clock=lambda: now[0], sleep=sleep) for _ in range(2))
    admitted = [lim.try_acquire("judge#p1", 4) for lim in (one, two, one, two, one, two)]
    # Then 4 calls are admitted in the window in all, the others are told to wait for the next one
    assert admitted.count(0.0) == 4
    assert sorted(admitted)[-1] == 0.75
    # a limit of another provider is its own
    assert two.try_acquire("judge#p2", 4) == 0.0
    # acquire waits for the next window (and no longer than its timeout)
    assert one.acquire("judge#p1", 4, timeout=0.5) is False and not slept
    assert one.acquire("judge#p1", 4, timeout=5.0) is True
    assert 0.75 <= sum(slept) <= 0.85 and int(now[0]) == 1_001
