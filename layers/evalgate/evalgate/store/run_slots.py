"""Per-project admission of suite runs (issue 17): at most N open (pending or running) runs per project, so 50
concurrent suite runs from a few projects cannot take every worker from the others.

One small item per project (``PROJECT#p`` / ``RUNSLOTS``) holds the open runs' ids as a number set; a run is
admitted by a conditional ``ADD`` (size below the limit, or the id already in: a retried start is admitted
again). Nothing has to remember to give a slot back: when a project is at its limit, the ids whose runs have
ended are removed (``DELETE``, idempotent) and the admission is tried once more. The item never holds more than
the limit's ids, so it stays under 1 KB whatever the project does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Throttled
from evalgate.store.table import Table

RETRY_AFTER_SECONDS = 30


class RunSlots:
    def __init__(self, table: Table) -> None:
        self.table = table

    def admit(self, project_id: str, run_id: int, limit: int, *, open_among: Callable[[list[int]], set[int]]) -> None:
        """Take a slot for `run_id`, or raise Throttled (429, Retry-After) when `limit` runs are open.
        `open_among(ids)` says which of the listed runs are still pending or running."""
        if self._add(project_id, run_id, limit):
            return
        held = self.held(project_id)
        still_open = open_among(held)  # once: it reads every held run
        ended = [i for i in held if i not in still_open]
        if ended:
            self.release(project_id, ended)
            if self._add(project_id, run_id, limit):
                return
        raise Throttled(
            f"this project already has {limit} suite runs pending or running; retry when one finishes",
            retry_after=RETRY_AFTER_SECONDS,
        )

    def held(self, project_id: str) -> list[int]:
        item = self.table.get(keys.run_slots(project_id))
        return sorted(int(i) for i in (item or {}).get("ids") or ())

    def release(self, project_id: str, run_ids: Iterable[int]) -> None:
        ids = [str(i) for i in run_ids]
        if not ids:
            return
        self.table.client.update_item(
            TableName=self.table.name,
            Key={k: {"S": v} for k, v in keys.run_slots(project_id).items()},
            UpdateExpression="DELETE ids :ids",
            ExpressionAttributeValues={":ids": {"NS": ids}},
        )

    def _add(self, project_id: str, run_id: int, limit: int) -> bool:
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key={k: {"S": v} for k, v in keys.run_slots(project_id).items()},
                UpdateExpression="ADD ids :id",
                ConditionExpression="attribute_not_exists(ids) OR size(ids) < :max OR contains(ids, :one)",
                ExpressionAttributeValues={
                    ":id": {"NS": [str(run_id)]},
                    ":one": {"N": str(run_id)},
                    ":max": {"N": str(limit)},
                },
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            self.table.raise_throttled(exc)
            raise
        return True
