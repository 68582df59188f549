"""The ingest lock of an external run: one result batch of a run is recorded at a time (a lease on the run item,
`ingestLock` + `ingestLockUntil`, so a holder that was killed blocks nobody for longer than a function can live).
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound, Throttled
from evalgate.models.domain import (
    TERMINAL,
    RunStatus,
)
from evalgate.store.table import Table

GSI1 = "GSI1"

INGEST_LEASE_SECONDS = 30  # default lease (the container passes the function timeout + 2 s)
# how long a batch waits for the batches of the same run ahead of it before answering 429: well inside the
# function timeout, long enough for a queue of concurrent uploads (twenty clients of one run, each a batch)
INGEST_WAIT_SECONDS = 20.0


class IngestLock:
    def __init__(self, table: Table, lease_seconds: float = INGEST_LEASE_SECONDS) -> None:
        self.table = table
        self.lease_seconds = lease_seconds

    def acquire(self, project_id: str, run_id: int, token: str) -> dict[str, Any]:
        """Take the run's ingest lock (a lease: `ingestLock` + `ingestLockUntil` on the run item) while the run is
        open; the run item comes back. Waits for another holder up to INGEST_WAIT_SECONDS (then 429); an ended
        run is a 409, a missing one a 404."""
        open_states = [s.value for s in RunStatus if s not in TERMINAL]
        names = {"#s": "status"}
        deadline = time.monotonic() + INGEST_WAIT_SECONDS
        delay = 0.01
        while True:
            now = time.time()
            values: dict[str, Any] = {":me": token, ":until": now + self.lease_seconds, ":now": now}
            values.update({f":o{i}": v for i, v in enumerate(open_states)})
            opened = ", ".join(f":o{i}" for i in range(len(open_states)))
            try:
                return self.table.update(
                    keys.run(project_id, run_id),
                    "SET ingestLock = :me, ingestLockUntil = :until",
                    condition=f"attribute_exists(PK) AND #s IN ({opened}) "
                    "AND (attribute_not_exists(ingestLock) OR ingestLockUntil < :now)",
                    names=names,
                    values=values,
                )
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
            item = self.table.get(keys.run(project_id, run_id), attributes=["PK", "status", "ingestLockUntil"])
            if item is None:
                raise NotFound(f"run {run_id} not found")
            if item["status"] not in open_states:
                raise Conflict(
                    f"run {run_id} has ended ({item['status']}); it takes no more results",
                    field="status",
                    details={"current": item["status"]},
                )
            if time.monotonic() >= deadline:
                left = float(item.get("ingestLockUntil") or now) - now
                raise Throttled(
                    f"another batch of run {run_id} is being recorded; retry shortly",
                    retry_after=max(1, math.ceil(left)),
                )
            time.sleep(delay * random.uniform(0.5, 1.5))  # jittered, so waiters do not poll in step
            delay = min(0.2, delay * 2)  # waiters poll gently: every poll is a read and a write on the run item

    def release(self, project_id: str, run_id: int, token: str) -> None:
        try:
            self.table.update(
                keys.run(project_id, run_id),
                "REMOVE ingestLock, ingestLockUntil",
                condition="ingestLock = :me",
                values={":me": token},
                returns="NONE",
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
