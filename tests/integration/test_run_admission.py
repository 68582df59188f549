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
