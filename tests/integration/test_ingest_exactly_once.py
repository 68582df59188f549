"""Issue 9: results are counted once and only once, whatever crashes between the counting steps, however a retry
re-chunks the results, and a batch that cannot be counted stores nothing that is listed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from evalgate.store import runs as runs_store
from tests.integration.conftest import Stack
from tests.integration.test_evals_api import new_run, results


class Crash(Exception):
    """What a killed worker leaves behind: the steps before the fault point done, none after."""


@pytest.fixture
def crash_at(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    """crash_at(point): the next pass through that fault point raises (as a kill -9 there would leave things);
    claims are taken over after a short lease, so the retry also proves a dead writer's claims are freed."""
    armed: dict[str, Any] = {"point": None}

    def hook(point: str) -> None:
        if point == armed["point"]:
            armed["point"] = None
            raise Crash(point)

    monkeypatch.setattr(runs_store, "fault_hook", hook)
    from evalgate.services.container import container

    monkeypatch.setattr(container().runs, "claim_lease_seconds", 0.3)

    def arm(point: str) -> None:
        armed["point"] = point

    return arm


def _figures(stack: Stack, key: str, run_id: str) -> tuple[int, int, int, int]:
    summary = stack.call("GET", f"/api/v1/evals/{run_id}", key=key).json()["summary"]
    stats = stack.call("GET", f"/api/v1/evals/{run_id}/stats", key=key).json()
    listed = stack.call("GET", f"/api/v1/evals/{run_id}/results", key=key, query="limit=1000").json()["items"]
    return summary["total"], summary["passed"], stats["scorers"]["exact"]["count"], len(listed)


@pytest.mark.parametrize("point", ["after-results", "after-marker", "after-scorers"])
def test_a_crash_between_counting_steps_then_a_rechunked_retry_counts_once(
    stack: Stack, admin: str, crash_at: Any, point: str
) -> None:
    for trial, size in enumerate((7, 30)):
        run = new_run(stack, admin)
        url = f"/api/v1/evals/{run['id']}/results"
        everything = results(30)
        crash_at(point)
        assert stack.call("POST", url, key=admin, body={"results": everything}).status == 500
        # the retry re-chunks the same results into other batches
        for start in range(0, 30, size):
            reply = stack.call("POST", url, key=admin, body={"results": everything[start : start + size]})
            assert reply.status == 200, (trial, reply.text)
        assert _figures(stack, admin, run["id"]) == (30, 15, 30, 30), (point, size)


def test_an_interrupted_batch_is_completed_by_a_batch_holding_only_part_of_it(
    stack: Stack, admin: str, crash_at: Any
) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    crash_at("after-scorers")
    assert stack.call("POST", url, key=admin, body={"results": results(20)}).status == 500
    # one result of the interrupted batch, sent alone: the whole interrupted batch is counted, once
    assert stack.call("POST", url, key=admin, body={"results": results(1, start=3)}).status == 200
    assert _figures(stack, admin, run["id"]) == (20, 10, 20, 20)


def test_an_interrupted_batch_lists_nothing_it_did_not_count(stack: Stack, admin: str, crash_at: Any) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    crash_at("after-results")
    assert stack.call("POST", url, key=admin, body={"results": results(10)}).status == 500
    assert stack.call("GET", url, key=admin).json()["items"] == []
    assert stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()["summary"]["total"] == 0


@pytest.mark.parametrize(
    ("field", "patch"),
    [
        ("results[3].tokenUsage.prompt", {"tokenUsage": {"prompt": 10**400}}),
        ("results[3].tokenUsage.completion", {"tokenUsage": {"completion": 1e300}}),
        ("results[3].scorerResults.exact", {"scorerResults": {"exact": 1e200}}),
        ("results[3].scorerResults.exact", {"scorerResults": {"exact": {"score": -1e300}}}),
        ("results[3].latency", {"latency": 1e100}),
    ],
)
def test_a_number_that_would_overflow_an_aggregate_is_refused_before_anything_is_stored(
    stack: Stack, admin: str, field: str, patch: dict[str, Any]
) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    batch = results(5)
    batch[3] = {**batch[3], **patch}
    reply = stack.call("POST", url, key=admin, body={"results": batch})
    assert reply.status == 400, reply.text
    assert reply.json()["error"]["field"] == field
    assert stack.call("GET", url, key=admin).json()["items"] == []
    # the corrected batch is taken and counted in full
    assert stack.call("POST", url, key=admin, body={"results": results(5)}).status == 200
    assert _figures(stack, admin, run["id"]) == (5, 3, 5, 5)


@pytest.mark.parametrize("final", ["passed", "failed", "error"])
def test_an_ended_run_takes_no_results(stack: Stack, admin: str, final: str) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    assert stack.call("POST", url, key=admin, body={"results": results(4)}).status == 200
    assert stack.call("PATCH", f"/api/v1/evals/{run['id']}", key=admin, body={"status": final}).status == 200
    late = stack.call("POST", url, key=admin, body={"results": results(4, start=4)})
    assert late.status == 409, late.text
    assert late.json()["error"]["field"] == "status"
    assert _figures(stack, admin, run["id"]) == (4, 2, 4, 4)


def test_a_suite_batch_refused_by_a_cancelled_run_is_neither_counted_nor_listed(stack: Stack, admin: str) -> None:
    from evalgate.models.domain import Run, RunResult, RunStatus
    from evalgate.services.container import container

    project_id = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    store = container().runs
    now = datetime.now(UTC)
    run = Run(id=store.new_run_id(), project_id=project_id, status=RunStatus.running, created_at=now)
    store.create_run(run)

    def batch(first: int) -> list[RunResult]:
        return [
            RunResult(
                index=i,
                name=f"case {i}",
                status="passed",
                score=1.0,
                duration_ms=3,
                assertions=[{"type": "equals", "status": "passed", "score": 1.0}],
            )
            for i in range(first, first + 5)
        ]

    assert store.record_batch_results(project_id, run.id, "b0", batch(0))[0] is True
    store.transition(project_id, run.id, RunStatus.cancelled, allowed_from=[RunStatus.running], now=now)
    assert store.record_batch_results(project_id, run.id, "b1", batch(5))[0] is False
    listed = store.list_results(project_id, run.id, limit=100, cursor=None).items
    assert [r.index for r in listed] == [0, 1, 2, 3, 4]
    assert store.get_run(project_id, run.id).aggregates.done == 5
    assert [a.count for a in store.scorer_aggregates(project_id, run.id)] == [5]


def test_a_key_left_in_progress_by_a_killed_worker_is_free_after_the_function_timeout(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 13: the lease of an Idempotency-Key in progress is the function timeout (+2 s), not a minute."""
    import hashlib
    import time as real_time

    from evalgate.services.container import container
    from evalgate.store import idempotency as idem_store

    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    project_id = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    store = container().idempotency
    assert store.lease_seconds == container().settings.function_timeout_seconds + 2 == 30
    # a request that claimed the key, then its worker was killed (no release, no completion)
    body = {"results": results(3)}
    key_hash = hashlib.sha256(b"k-crash").hexdigest()
    assert store.begin(project_id, f"results:{int(run['id'])}", key_hash, "whatever") is None
    busy = stack.call("POST", url, key=admin, body=body, headers={"Idempotency-Key": "k-crash"})
    assert busy.status in (409, 422), busy.text  # still leased (or another body: the hash differs)

    class Later:
        @staticmethod
        def time() -> float:
            return real_time.time() + store.lease_seconds + 1

    monkeypatch.setattr(idem_store, "time", Later)
    retry = stack.call("POST", url, key=admin, body=body, headers={"Idempotency-Key": "k-crash"})
    assert retry.status == 200, retry.text
    assert stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()["summary"]["total"] == 3


@pytest.mark.parametrize("size", [1, 12])
def test_a_batch_killed_after_it_began_counting_and_never_retried_is_finished_when_its_run_ends(
    stack: Stack, admin: str, crash_at: Any, size: int
) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    assert stack.call("POST", url, key=admin, body={"results": results(4, start=100)}).status == 200
    # the worker dies right after its counter updates (before a done item; a one-result batch has neither a
    # marker nor a done item)
    crash_at("after-scorers")
    assert stack.call("POST", url, key=admin, body={"results": results(size)}).status == 500
    # no retry comes: while the run is open the interrupted batch is counted but not yet listed (a one-result
    # batch has no done item: its count is all it writes, so it is whole, and listed, once that landed)
    total, _, _, listed = _figures(stack, admin, run["id"])
    assert (total, listed) == (4 + size, 4 + size if size == 1 else 4)
    # ending the run finishes it: counted once, and listed
    assert stack.call("PATCH", f"/api/v1/evals/{run['id']}", key=admin, body={"status": "passed"}).status == 200
    passed = 2 + (size + 1) // 2
    assert _figures(stack, admin, run["id"]) == (4 + size, passed, 4 + size, 4 + size)


def test_a_batch_killed_before_it_began_counting_stays_out_when_its_run_ends(
    stack: Stack, admin: str, crash_at: Any
) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    crash_at("after-marker")
    assert stack.call("POST", url, key=admin, body={"results": results(6)}).status == 500
    assert stack.call("PATCH", f"/api/v1/evals/{run['id']}", key=admin, body={"status": "passed"}).status == 200
    assert stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()["summary"]["total"] == 0
    assert stack.call("GET", url, key=admin).json()["items"] == []
