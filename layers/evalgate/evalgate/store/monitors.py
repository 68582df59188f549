"""Auto-eval monitors: their items, the global due index, claims by the scheduler, webhook secrets.

- A monitor: PK ``PROJECT#p``, SK ``MONITOR#<id>`` (ids sort by creation time). While enabled it also sits in
  the GSI1 partition ``MONITORS#DUE`` sorted by ``<nextRunAt>#<project>#<id>``: every project's monitors in
  one partition, read only by the scheduler function (`due`), the one cross-tenant read of the service.
- A claim moves ``nextRunAt`` forward on the condition that it still holds the due time the scheduler read:
  two overlapping ticks cannot both claim (and enqueue) one due time.
- The webhook secret: its own item (``PROJECT#p#MONITOR#<id>`` / ``WEBHOOKSECRET``), so no monitor read ever
  loads it; only `webhook_secret` (for evalgate.services.alerts) does. The table is encrypted at rest (SSE).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound
from evalgate.models.domain import Page
from evalgate.models.monitors import JudgeSpec, Monitor, MonitorTarget
from evalgate.store.table import Table

GSI1 = "GSI1"
SECRET_REF_PREFIX = "monitor:"  # a monitor's webhook_secret_ref: "monitor:<id>" (the secret item of that monitor)
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
NEVER_AGAIN = "the schedule never fires again; the monitor was disabled"


def stamp(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime(_STAMP)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


def secret_ref(monitor_id: str) -> str:
    return f"{SECRET_REF_PREFIX}{monitor_id}"


class MonitorStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- CRUD -------------------------------------------------------------------------------------
    def create(self, monitor: Monitor, *, webhook_secret: str | None) -> None:
        ops: list[dict[str, Any]] = [
            {"Put": {"Item": self._item(monitor), "ConditionExpression": "attribute_not_exists(PK)"}}
        ]
        if webhook_secret is not None:
            ops.append({"Put": {"Item": self._secret_item(monitor.project_id, monitor.id, webhook_secret)}})
        self.table.transact(ops)

    def get(self, project_id: str, monitor_id: str) -> Monitor:
        item = self.table.get(keys.monitor(project_id, monitor_id))
        if not item:
            raise NotFound(f"monitor {monitor_id} not found")
        return _monitor(item)

    def list_page(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.monitors_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[_monitor(i) for i in items], next_cursor=nxt)

    def replace(
        self, monitor: Monitor, *, expected_version: int, reschedule: bool, webhook_secret: str | None
    ) -> Monitor:
        """Write the user-editable fields of `monitor` if nobody changed it since `expected_version` was read
        (409 otherwise). `nextRunAt` and the due index move only when `reschedule` (schedule or enabled
        changed): a concurrent scheduler claim is never undone by an unrelated edit."""
        sets: dict[str, Any] = {
            "name": monitor.name,
            "target": monitor.target.model_dump_json(),
            "sampleCount": monitor.sample_count,
            "schedule": monitor.schedule,
            "scorers": json.dumps(monitor.scorers, separators=(",", ":")),
            "criteria": json.dumps(monitor.criteria),
            "judge": monitor.judge.model_dump_json() if monitor.judge else "null",
            "rubric": monitor.rubric if monitor.rubric is not None else "",
            "thresholds": json.dumps(monitor.thresholds),
            "dailySpendCapUsd": monitor.daily_spend_cap_usd if monitor.daily_spend_cap_usd is not None else 0,
            "webhookUrl": monitor.webhook_url or "",
            "webhookSecretRef": monitor.webhook_secret_ref or "",
            "enabled": monitor.enabled,
            "baselineJobId": monitor.baseline_job_id or "",
            "updatedAt": monitor.updated_at.isoformat(),
            "version": expected_version + 1,
        }
        removes: list[str] = []
        if reschedule:
            sets["nextRunAt"] = stamp(monitor.next_run_at)
            if monitor.enabled:
                sets[keys.GSI1PK] = keys.monitors_due_gsi(monitor.project_id)
                sets[keys.GSI1SK] = keys.monitor_due_sort(sets["nextRunAt"], monitor.project_id, monitor.id)
            else:
                removes += [keys.GSI1PK, keys.GSI1SK]
        names = {f"#a{i}": name for i, name in enumerate(sets)}
        values: dict[str, Any] = {f":a{i}": value for i, value in enumerate(sets.values())}
        expr = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(sets)))
        if removes:
            names |= {f"#r{i}": name for i, name in enumerate(removes)}
            expr += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        names["#v"] = "version"
        values[":expected"] = expected_version
        update = {
            "Update": {
                "Key": keys.monitor(monitor.project_id, monitor.id),
                "UpdateExpression": expr,
                "ConditionExpression": "attribute_exists(PK) AND #v = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        ops: list[dict[str, Any]] = [update]
        if webhook_secret is not None:
            ops.append({"Put": {"Item": self._secret_item(monitor.project_id, monitor.id, webhook_secret)}})
        try:
            self.table.transact(ops)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = Table.cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                self.get(monitor.project_id, monitor.id)  # NotFound when it was deleted meanwhile
                raise Conflict(f"monitor {monitor.id} was changed by another request; read it again and retry") from exc
            raise
        return self.get(monitor.project_id, monitor.id)

    def delete(self, project_id: str, monitor_id: str) -> None:
        self.table.delete_existing(keys.monitor(project_id, monitor_id), missing=f"monitor {monitor_id} not found")
        self.table.delete(keys.monitor_webhook_secret(project_id, monitor_id))

    def webhook_secret(self, project_id: str, monitor_id: str) -> str | None:
        item = self.table.get(keys.monitor_webhook_secret(project_id, monitor_id))
        return str(item["secret"]) if item and item.get("secret") else None

    # -- the scheduler ----------------------------------------------------------------------------
    def due(self, now: datetime, *, limit: int, partition: str = keys.MONITORS_DUE_GSI) -> list[Monitor]:
        """Enabled monitors (of every project) of one due-index partition whose next run is at or before `now`,
        oldest due first."""
        out: list[Monitor] = []
        for page in self.due_pages(now, partition=partition, page_size=min(100, limit)):
            out += page
            if len(out) >= limit:
                break
        return out[:limit]

    def due_pages(self, now: datetime, *, partition: str, page_size: int = 100) -> Iterator[list[Monitor]]:
        """The due monitors of one due-index partition, a page at a time (following the index's own cursor,
        so monitors given back for a retry are not read again in the same tick)."""
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table.name,
                "IndexName": GSI1,
                "KeyConditionExpression": "#pk = :pk AND #sk <= :hi",
                "ExpressionAttributeNames": {"#pk": keys.GSI1PK, "#sk": keys.GSI1SK},
                "ExpressionAttributeValues": {
                    ":pk": {"S": partition},
                    ":hi": {"S": stamp(now) + "#\uffff"},
                },
                "Limit": page_size,
                "ScanIndexForward": True,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                resp = self.table.client.query(**kwargs)
            except ClientError as exc:
                self.table.raise_throttled(exc)
                raise
            yield [_monitor(self.table.codec.load(raw)) for raw in resp.get("Items", [])]
            start = resp.get("LastEvaluatedKey")
            if not start:
                return

    def claim(self, monitor: Monitor, next_run_at: datetime | None, now: datetime) -> bool:
        """Take `monitor`'s due time for this tick: move nextRunAt to `next_run_at` (None: the schedule never
        fires again, so the monitor is disabled) if it still is the due time read and the monitor is enabled.
        False when another tick (or an edit) got there first."""
        due = stamp(monitor.next_run_at)
        values: dict[str, Any] = {":due": due, ":on": True, ":now": now.isoformat()}
        if next_run_at is not None:
            nxt = stamp(next_run_at)
            expr = "SET nextRunAt = :next, GSI1SK = :sk, lastRunAt = :now"
            values |= {":next": nxt, ":sk": keys.monitor_due_sort(nxt, monitor.project_id, monitor.id)}
        else:
            expr = "SET enabled = :off, lastRunAt = :now, lastError = :why REMOVE GSI1PK, GSI1SK"
            values |= {":off": False, ":why": NEVER_AGAIN}
        try:
            self.table.update(
                keys.monitor(monitor.project_id, monitor.id),
                expr,
                condition="nextRunAt = :due AND enabled = :on",
                values=values,
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def release(self, monitor: Monitor, claimed_next: datetime) -> bool:
        """Undo a claim whose job could not be enqueued, so the next tick tries again (if nothing moved it)."""
        due = stamp(monitor.next_run_at)
        try:
            self.table.update(
                keys.monitor(monitor.project_id, monitor.id),
                "SET nextRunAt = :due, GSI1SK = :sk",
                condition="nextRunAt = :claimed AND enabled = :on",
                values={
                    ":due": due,
                    ":sk": keys.monitor_due_sort(due, monitor.project_id, monitor.id),
                    ":claimed": stamp(claimed_next),
                    ":on": True,
                },
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def record_run(self, project_id: str, monitor_id: str, *, job_id: str | None, error: str | None) -> None:
        """The outcome of a claimed run: the job enqueued, and/or a note on what went wrong (None clears it)."""
        sets, values = [], {}
        if job_id is not None:
            sets.append("lastJobId = :job")
            values[":job"] = job_id
        if error is not None:
            sets.append("lastError = :err")
            values[":err"] = error[:500]
        expr = "SET " + ", ".join(sets) if sets else ""
        if error is None:
            expr += " REMOVE lastError"
        try:
            self.table.update(
                keys.monitor(project_id, monitor_id), expr, condition="attribute_exists(PK)", values=values
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):  # deleted meanwhile: nothing to record on
                raise

    # -- items ------------------------------------------------------------------------------------
    def _item(self, m: Monitor) -> dict[str, Any]:
        next_run = stamp(m.next_run_at)
        item: dict[str, Any] = {
            **keys.monitor(m.project_id, m.id),
            "type": "monitor",
            "id": m.id,
            "projectId": m.project_id,
            "name": m.name,
            "target": m.target.model_dump_json(),
            "sampleCount": m.sample_count,
            "schedule": m.schedule,
            "scorers": json.dumps(m.scorers, separators=(",", ":")),
            "criteria": json.dumps(m.criteria),
            "judge": m.judge.model_dump_json() if m.judge else "null",
            "rubric": m.rubric or "",
            "thresholds": json.dumps(m.thresholds),
            "dailySpendCapUsd": m.daily_spend_cap_usd or 0,
            "webhookUrl": m.webhook_url or "",
            "webhookSecretRef": m.webhook_secret_ref or "",
            "enabled": m.enabled,
            "baselineJobId": m.baseline_job_id or "",
            "nextRunAt": next_run,
            "createdAt": m.created_at.isoformat(),
            "updatedAt": m.updated_at.isoformat(),
            "version": m.version,
        }
        if m.enabled:
            item[keys.GSI1PK] = keys.monitors_due_gsi(m.project_id)
            item[keys.GSI1SK] = keys.monitor_due_sort(next_run, m.project_id, m.id)
        return item

    @staticmethod
    def _secret_item(project_id: str, monitor_id: str, secret: str) -> dict[str, Any]:
        return {**keys.monitor_webhook_secret(project_id, monitor_id), "type": "webhookSecret", "secret": secret}


def _monitor(item: dict[str, Any]) -> Monitor:
    judge = json.loads(item.get("judge") or "null")
    cap = item.get("dailySpendCapUsd")
    return Monitor(
        id=item["id"],
        project_id=item["projectId"],
        name=item.get("name", ""),
        target=MonitorTarget.model_validate_json(item["target"]),
        sample_count=item["sampleCount"],
        schedule=item["schedule"],
        scorers=json.loads(item.get("scorers") or "[]"),
        criteria=json.loads(item.get("criteria") or "[]"),
        judge=JudgeSpec.model_validate(judge) if judge else None,
        rubric=item.get("rubric") or None,
        thresholds=json.loads(item.get("thresholds") or "{}"),
        daily_spend_cap_usd=float(cap) if cap else None,
        webhook_url=item.get("webhookUrl") or None,
        webhook_secret_ref=item.get("webhookSecretRef") or None,
        enabled=bool(item.get("enabled")),
        baseline_job_id=item.get("baselineJobId") or None,
        next_run_at=_parse(item["nextRunAt"]),
        last_run_at=datetime.fromisoformat(item["lastRunAt"]) if item.get("lastRunAt") else None,
        last_job_id=item.get("lastJobId"),
        last_error=item.get("lastError"),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
        version=int(item.get("version", 1)),
    )
