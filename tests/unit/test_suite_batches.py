"""Issue 17: a suite batch is sized to a time budget (4 minutes at p95) from the case latency estimate, and runs
its cases concurrently, so no batch outlives an Express child's 5 minutes whatever the model's latency."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from typing import Any

from evalgate.models.domain import Run, RunAggregates, RunStatus
from evalgate.services.runs import (
    BATCH_BUDGET_S,
    CASE_THREADS,
    MAX_BATCH,
    _rest,
    batch_items,
    batch_size_for,
    case_threads,
    map_concurrency,
    observed_case_p95,
    plan_payload,
    run_concurrently,
    run_prefix,
)


def test_batch_size_keeps_a_batch_within_the_budget() -> None:
    for p95 in (0.5, 2.0, 11.6, 30.0, 45.0, 60.0, 100.0, 200.0, 239.0):
        size = batch_size_for(p95)
        assert 1 <= size <= MAX_BATCH
        assert math.ceil(size / CASE_THREADS) * p95 <= BATCH_BUDGET_S, p95
    assert batch_size_for(2.0) == MAX_BATCH  # fast models keep the big batches (fewer invocations)
    assert batch_size_for(60.0) == 2 * CASE_THREADS  # two rounds of 8, each ~1.5 x a case's p95
    assert batch_size_for(100.0) == CASE_THREADS
    assert batch_size_for(200.0) == 1  # not even one round of 8 fits: one case per batch
    assert batch_size_for(500.0) == 1


def test_prepare_cuts_batches_at_the_budgeted_size() -> None:
    items = [{"i": i, "t": 1, "c": None, "r": 0} for i in range(400)]
    stored: list[Any] = []
    # a Distributed Map's children (here: more slots than inline batches allowed) get the time-sized batches
    payload = plan_payload(7, items, 10, None, inline_max_batches=5, put_manifest=stored.append, max_batch=8)
    assert payload["mode"] == "distributed"
    assert max(len(b["items"]) for b in stored[0]) <= 8
    assert sum(len(b["items"]) for b in stored[0]) == 400


def test_an_inline_run_gets_one_budgeted_batch_per_map_slot() -> None:
    # inline, each of the Map's slots gets one batch of its share, run within a time budget per invocation and
    # handed on (rest) until done: no fixed per-batch overhead for each few cases
    items = [{"i": i, "t": 1, "c": None, "r": 0} for i in range(200)]
    payload = plan_payload(7, items, 2, None, inline_max_batches=100, put_manifest=lambda b: {}, max_batch=8)
    assert payload["mode"] == "inline" and payload["batchCount"] == 2
    # packed: one string each, which Step Functions copies whole at every state
    assert all(isinstance(b["items"], str) for b in payload["batches"])
    assert [len(batch_items(b)) for b in payload["batches"]] == [100, 100]
    assert [i["i"] for b in payload["batches"] for i in batch_items(b)] == list(range(200))
    few = plan_payload(7, items[:1], 2, None, inline_max_batches=100, put_manifest=lambda b: {})
    assert few["batchCount"] == 1 and batch_items(few["batches"][0]) == items[:1]
    assert batch_items({"b": "7:0", "items": items[:3]}) == items[:3]  # listed: a manifest's, or an older run's


class _Clock:
    """A clock that a case moves on by its own duration (cases run one at a time here: threads=1)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_budgeted_batch_runs_a_prefix_within_its_budget() -> None:
    clock = _Clock()

    def case(seconds: float) -> Any:
        def run(item: int) -> Any:
            clock.now += seconds
            return item

        return run

    # 2 s cases, 20 s budget, one at a time: a case starts only while 3 x the mean (6 s) still fits
    done = run_prefix(case(2.0), list(range(100)), 1, 20.0, 60.0, clock=clock)
    assert done == list(range(8))  # the 8th starts at 14 s (14 + 6 <= 20), the 9th would at 16 s
    # before any case ended, the prior (60 s) stops all but the first round
    clock.now = 0.0
    assert run_prefix(case(30.0), list(range(10)), 1, 20.0, 60.0, clock=clock) == [0]
    # fast cases: all of them
    clock.now = 0.0
    assert run_prefix(case(0.01), list(range(50)), 1, 20.0, 60.0, clock=clock) == list(range(50))


def test_a_budgeted_batch_starts_its_first_round_concurrently_and_keeps_order() -> None:
    barrier = threading.Barrier(4, timeout=10)  # only 4 cases in flight together get past it
    seen: list[int] = []

    def run(item: int) -> Any:
        if item < 4:
            barrier.wait()
        return item * 10

    out = run_prefix(run, list(range(12)), 4, 20.0, 60.0, on_result=lambda r: seen.append(r))
    assert out == [n * 10 for n in range(12)]
    assert sorted(seen) == out


def test_the_rest_of_a_budgeted_batch_is_named_by_its_offset() -> None:
    items = [{"i": i} for i in range(10)]
    assert _rest("7:0", items, 10) is None
    first = _rest("7:0", items, 4)
    assert first is not None and first["b"] == "7:0@4" and batch_items(first) == items[4:]
    second = _rest(first["b"], batch_items(first), 3)
    assert second is not None and second["b"] == "7:0@7" and batch_items(second) == items[7:]


def test_cases_of_a_batch_run_concurrently_in_order() -> None:
    # every one of CASE_THREADS cases waits for all the others: only a concurrent run gets past the barrier
    barrier = threading.Barrier(CASE_THREADS, timeout=10)

    def run(spec: Any) -> Any:
        barrier.wait()
        return spec * 10

    assert run_concurrently(run, list(range(CASE_THREADS))) == [n * 10 for n in range(CASE_THREADS)]
    assert run_concurrently(lambda s: s, [3]) == [3]


def test_cases_in_flight_stay_within_the_suites_max_concurrency() -> None:
    for limit in (1, 2, 5, 8, 10, 17, 100):
        assert case_threads(limit) * map_concurrency(limit) <= limit
        assert case_threads(limit) * map_concurrency(limit) > limit // 2  # and use at least half of it
    # the whole concurrency where it divides: 10 = 2 batches x 5 cases (it was 1 x 8: 8 in flight, no overlap)
    for limit in (1, 2, 5, 8, 10, 16, 24, 40):
        assert case_threads(limit) * map_concurrency(limit) == limit, limit
    assert (map_concurrency(10), case_threads(10)) == (2, 5)
    assert case_threads(1) == 1 and batch_size_for(60.0, case_threads(1)) == 4  # one at a time: 4 x 60 s
    assert run_concurrently(lambda s: s * 2, [1, 2, 3], threads=1) == [2, 4, 6]


def _run(
    run_id: int,
    *,
    status: RunStatus = RunStatus.completed,
    suite: int = 1,
    config: str = "h1",
    done: int = 10,
    latency_ms: float = 500.0,
) -> Run:
    return Run(
        id=run_id,
        project_id="p",
        prompt_id=1,
        suite_id=suite,
        status=status,
        config_hash=config,
        aggregates=RunAggregates(done=done, latency_ms_sum=latency_ms * done),
        created_at=datetime.now(UTC),
    )


def test_a_rerun_sizes_its_batches_from_the_same_configurations_last_run() -> None:
    new = _run(9, status=RunStatus.running, done=0)
    # the newest completed run of the same suite and config hash: 3 x its mean case duration
    recent = [new, _run(8, status=RunStatus.failed), _run(7, config="h2"), _run(6, suite=2), _run(5, latency_ms=2000)]
    assert observed_case_p95(new, recent) == 6.0
    assert observed_case_p95(new, [new, _run(4, done=0)]) is None  # nothing counted: no evidence
    assert observed_case_p95(new, [new]) is None  # a first run: the setting's prior
    assert observed_case_p95(new, [_run(3, latency_ms=0.0)]) == 0.05  # a cached run: a floor, not zero
    assert observed_case_p95(_run(9, config=""), [_run(2)]) is None
    # from cached re-runs (ms per case) the batches are full; from a slow model they stay small
    assert batch_size_for(observed_case_p95(new, [_run(1, latency_ms=60)]) or 60.0, 5) == MAX_BATCH
    assert batch_size_for(observed_case_p95(new, [_run(1, latency_ms=30_000)]) or 60.0, 5) == 5


def test_a_packed_batch_is_validated_item_by_item_at_the_task_edge() -> None:
    import pytest
    from pydantic import ValidationError

    from evalgate.models.workflow import BatchTask
    from evalgate.services.runs import pack_items

    items = [{"i": 0, "t": 5, "c": "a", "r": 0}, {"i": 1, "t": 5, "c": None, "r": 1}]
    task = BatchTask.model_validate({"projectId": "p", "runId": 1, "batch": {"b": "1:0", "items": pack_items(items)}})
    assert task.batch.model_dump()["items"] == items
    listed = BatchTask.model_validate({"projectId": "p", "runId": 1, "batch": {"b": "1:0", "items": items}})
    assert listed == task  # an execution started before items were packed reads the same
    for bad in ("[{", pack_items([{"i": -1, "t": 5}]), pack_items([{"i": 0, "t": 5, "x": 1}])):
        with pytest.raises(ValidationError) as refused:
            BatchTask.model_validate({"projectId": "p", "runId": 1, "batch": {"b": "1:0", "items": bad}})
        assert "items" in str(refused.value)
