"""Bounds what moto keeps in memory and never lets go of (issue 9 item 12: the runtime grew to 13.6 GB).

What grows without bound in a long-running moto server, and what is done about it:

* Step Functions keeps every execution (each Distributed Map child too) with its whole event history and its
  worker's environment, and scans that list on every StartExecution (the name idempotency check) and every
  DescribeExecution: memory and time grow with every suite run. Finished executions are dropped once more than
  ``keep_executions`` of a state machine have finished and they ended more than ``grace_seconds`` ago;
  running ones are never touched.
* SQS remembers every receipt handle of every deleted message (``deleted_messages``, so that a second delete
  of the same handle succeeds quietly) and every old receipt handle of a message received many times. Both are
  trimmed to ``keep_handles`` (a message's old handles to its last 10).

Everything else that grows is data the user stored (items, objects), which a durable runtime keeps on disk too.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

KEEP_EXECUTIONS = 200
KEEP_HANDLES = 2_000
GRACE_SECONDS = 300.0


def prune_executions(
    backend: Any, *, keep: int = KEEP_EXECUTIONS, grace_seconds: float = GRACE_SECONDS, now: datetime | None = None
) -> int:
    """Drop finished executions beyond the newest ``keep`` per state machine; returns how many were dropped."""
    now = now or datetime.now(UTC)
    dropped = 0
    for machine in list(getattr(backend, "state_machines", [])):
        executions = machine.executions
        finished = [e for e in list(executions) if _stop_date(e) is not None]
        if len(finished) <= keep:
            continue
        finished.sort(key=lambda e: _stop_date(e) or now)
        old = {
            id(e)
            for e in finished[: len(finished) - keep]
            if (now - (_stop_date(e) or now)).total_seconds() > grace_seconds
        }
        if not old:
            continue
        # replace the list in one assignment (moto's threads iterate it; they see the old or the new list)
        machine.executions = [e for e in executions if id(e) not in old]
        dropped += len(old)
    return dropped


def _stop_date(execution: Any) -> datetime | None:
    stop = getattr(execution, "stop_date", None)
    if stop is None:
        return None
    if isinstance(stop, datetime):
        return stop if stop.tzinfo else stop.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(stop))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def prune_receipt_handles(backend: Any, *, keep: int = KEEP_HANDLES) -> int:
    """Trim SQS's memory of receipt handles; returns how many were forgotten."""
    dropped = 0
    for queue in list(getattr(backend, "queues", {}).values()):
        deleted = queue.deleted_messages
        if len(deleted) > keep:
            dropped += len(deleted) - keep
            queue.deleted_messages = set(list(deleted)[-keep:])
        for message in list(queue._messages):
            old = message._old_receipt_handles
            if len(old) > 10:
                dropped += len(old) - 10
                message._old_receipt_handles = old[-10:]
    return dropped


class Janitor:
    """Runs the pruning every ``interval`` seconds on the runtime's moto backends."""

    def __init__(
        self,
        account: str,
        region: str,
        interval: float = 30.0,
        *,
        keep_executions: int = KEEP_EXECUTIONS,
        grace_seconds: float = GRACE_SECONDS,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self.region = region
        self.interval = interval
        self.keep_executions = keep_executions
        self.grace_seconds = grace_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="janitor", daemon=True)
        self.dropped = 0
        self.on_dropped = on_dropped  # called after a sweep that dropped executions (cyclic garbage: the gc pacer)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> int:
        from moto.sqs.models import sqs_backends  # lazy: moto is loaded by the runtime already
        from moto.stepfunctions.models import stepfunctions_backends  # lazy: as above
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # lazy: as above

        dropped = 0
        # the parser backend is the one that executes state machines (execute_state_machine is on locally)
        for backends in (stepfunctions_parser_backends, stepfunctions_backends):
            dropped += prune_executions(
                backends[self.account][self.region], keep=self.keep_executions, grace_seconds=self.grace_seconds
            )
        if dropped and self.on_dropped is not None:
            self.on_dropped()
        dropped += prune_receipt_handles(sqs_backends[self.account][self.region])
        self.dropped += dropped
        return dropped

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # the janitor never takes the runtime down
                traceback.print_exc(file=sys.stderr)
