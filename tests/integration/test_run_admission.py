"""Issue 17, tenancy: a project may have at most N suite runs open at once (429 with Retry-After above it); a
slot comes back by itself once its run has ended, and one project's runs never take another's slots."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Stack


def test_open_runs_are_admitted_up_to_the_limit_per_project(stack: Stack) -> None:
    from evalgate.errors import Throttled
    from evalgate.services.container import container
    from evalgate.store.run_slots import RunSlots

    slots = RunSlots(container().table)
    open_runs = {1, 2}

    def open_among(ids: list[int]) -> set[int]:
        return {i for i in ids if i in open_runs}

    slots.admit("p-a", 1, 2, open_among=open_among)
    slots.admit("p-a", 2, 2, open_among=open_among)
    slots.admit("p-a", 2, 2, open_among=open_among)  # a retried start of an admitted run
    with pytest.raises(Throttled) as refused:
        slots.admit("p-a", 3, 2, open_among=open_among)
    assert refused.value.retry_after == 30 and slots.held("p-a") == [1, 2]
    # another project has its own slots
    slots.admit("p-b", 3, 2, open_among=open_among)
    # run 1 ends: its slot is found free at the next admission, with no release call
    open_runs.discard(1)
    slots.admit("p-a", 4, 2, open_among=open_among)
    assert slots.held("p-a") == [2, 4]
    slots.release("p-a", [4, 4, 99])  # idempotent
    assert slots.held("p-a") == [2]


def test_a_full_project_reads_its_held_runs_once_and_in_one_round_trip(stack: Stack) -> None:
    """A refused `_add` looks up which held runs ended: one `open_among` call for all of them (it had been called
    once per held run, each reading every held run: ~100 run reads at the default limit of 10), and the store
    answers it with one BatchGetItem of the runs' statuses."""
    from datetime import UTC, datetime

    from evalgate.models.domain import Run, RunStatus
    from evalgate.services.container import container
    from evalgate.store.run_slots import RunSlots

    c = container()
    now = datetime.now(UTC)
    statuses = [RunStatus.pending, RunStatus.running, RunStatus.completed, RunStatus.failed, RunStatus.cancelled]
    ids = []
    for status in statuses:
        run = Run(id=c.runs.new_run_id(), project_id="p-open", status=status, created_at=now)
        c.runs.create_run(run)
        ids.append(run.id)
    gone = max(ids) + 7  # never created (or deleted): not open
    assert c.runs.open_runs("p-open", [*ids, gone]) == set(ids[:2])
    assert c.runs.open_runs("p-other", ids) == set()  # another project's runs are not this one's

    slots = RunSlots(c.table)
    calls: list[list[int]] = []

    def open_among(held: list[int]) -> set[int]:
        calls.append(held)
        return c.runs.open_runs("p-open", held)

    for i in [*ids, gone]:
        slots.admit("p-open", i, 6, open_among=open_among)
    assert calls == []  # below the limit: no reads
    newest = gone + 1
    slots.admit("p-open", newest, 6, open_among=open_among)  # full: the 3 ended runs and the missing one go
    assert len(calls) == 1 and sorted(calls[0]) == sorted([*ids, gone])
    assert slots.held("p-open") == sorted([*ids[:2], newest])
