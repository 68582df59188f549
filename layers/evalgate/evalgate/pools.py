"""Thread pools kept for the life of the execution environment, used one call at a time through a scope.

A `ThreadPoolExecutor` made per call starts its threads per call: a suite batch started ~14 (its cases and its
two I/O threads) on every invocation, and each start waits for the new thread to run (~3.5 ms each on a busy
2-core machine: ~50 ms of a cached 100-case batch's ~220 ms; issue 18 item 3, fifth pass). Here the threads are
started once per process (on first use: cold start) and kept, as the layer's claim threads are. A `scope` gives
a call what `with ThreadPoolExecutor(max_workers=n) as pool` gave it: at most `n` of its tasks run at once (the
others wait in order), and leaving the scope waits for every task it submitted, whether it left normally or by
an exception. Scopes of one name share threads; in Lambda one invocation runs at a time, so they rarely meet.
Used by suite batches, POST /run and Prepare's reads, explore, scores, comparisons' judges, the monitor tick and
the auto-eval judge.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

MAX_THREADS = 64  # per name; threads are started only as tasks need them (a scope's limit bounds how many)

_lock = threading.Lock()
_executors: dict[str, ThreadPoolExecutor] = {}


def executor(name: str) -> ThreadPoolExecutor:
    """The kept executor `name` (for a task that outlives a scope: the caller waits for its future)."""
    with _lock:
        if name not in _executors:
            _executors[name] = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix=name)
        return _executors[name]


class Scope:
    """One call's view of a kept pool: `submit` as an executor's, with at most `limit` tasks running."""

    def __init__(self, executor: ThreadPoolExecutor, limit: int) -> None:
        self._executor = executor
        self._limit = max(1, limit)
        self._lock = threading.Lock()
        self._running = 0
        self._waiting: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = deque()
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            self._futures.append(future)
            self._waiting.append((future, fn, args))
        self._pump()
        return future

    def map(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
        """`fn` of each item, in order (as `list(executor.map(fn, items))`: the first error raised in order)."""
        futures = [self.submit(fn, item) for item in items]
        return [f.result() for f in futures]

    def _pump(self) -> None:
        while True:
            with self._lock:
                if self._running >= self._limit or not self._waiting:
                    return
                future, fn, args = self._waiting.popleft()
                self._running += 1
            self._executor.submit(self._run, future, fn, args)

    def _run(self, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            with self._lock:
                self._running -= 1
            self._pump()

    def wait_all(self) -> None:
        while True:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                return
            wait(pending)


@contextmanager
def scope(name: str, limit: int) -> Iterator[Scope]:
    """A scope of the kept pool `name` running at most `limit` of its tasks at once; leaving it waits for them."""
    s = Scope(executor(name), limit)
    try:
        yield s
    finally:
        s.wait_all()
