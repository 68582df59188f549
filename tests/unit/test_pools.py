"""Kept thread pools (evalgate.pools): a scope runs at most its limit at once, leaving it waits for its tasks
(also when it is left by an exception), errors reach the caller, and the threads outlive the scope."""

from __future__ import annotations

import threading
import time

import pytest

from evalgate import pools


def test_a_scope_runs_at_most_its_limit_at_once_and_keeps_order_of_results() -> None:
    running = peak = 0
    lock = threading.Lock()

    def task(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return i * i

    with pools.scope("test-limit", 3) as pool:
        futures = [pool.submit(task, i) for i in range(12)]
        assert [f.result() for f in futures] == [i * i for i in range(12)]
    assert peak == 3


def test_leaving_a_scope_waits_for_its_tasks_even_on_an_exception() -> None:
    finished: list[int] = []

    def slow(i: int) -> None:
        time.sleep(0.02)
        finished.append(i)

    with pytest.raises(RuntimeError, match="caller failed"), pools.scope("test-wait", 2) as pool:
        for i in range(5):
            pool.submit(slow, i)
        raise RuntimeError("caller failed")
    assert sorted(finished) == [0, 1, 2, 3, 4]


def test_a_task_error_reaches_the_caller_and_the_threads_are_kept() -> None:
    def boom() -> None:
        raise ValueError("task failed")

    names: set[str] = set()
    for _ in range(3):
        with pools.scope("test-kept", 2) as pool:
            failed = pool.submit(boom)
            with pytest.raises(ValueError, match="task failed"):
                failed.result()
            for f in [pool.submit(lambda: threading.current_thread().name) for _ in range(4)]:
                names.add(f.result())
    assert names and all(n.startswith("test-kept") for n in names)
    assert len(names) <= 2 + 1  # the same few threads served all three scopes


def test_map_returns_in_order_and_raises_the_first_error_in_order() -> None:
    def slow_square(i: int) -> int:
        time.sleep(0.001 * (5 - i))  # later items end first
        if i in (3, 4):
            raise ValueError(f"item {i}")
        return i * i

    with pools.scope("test-map", 4) as pool:
        assert pool.map(slow_square, range(3)) == [0, 1, 4]
        with pytest.raises(ValueError, match="item 3"):
            pool.map(slow_square, range(5))
    with pools.scope("test-map", 2) as pool:
        assert pool.map(slow_square, []) == []
