"""Production traces: idempotent batch ingest, time-ordered reads per target and per project, TTL retention.

Items (keys in evalgate.keys):
- the trace: PK ``PROJECT#p#TRACE#<id>``, SK ``TRACE`` (a re-sent id lands on the same item), with GSI1
  ``PROJECT#p#TRACES#<environment>#<model>#<prompt_id or ->`` / ``<timestamp>#<id>``: a target's traces
  newest first, which auto-eval samples from (`recent`);
- a small index item per trace: PK ``PROJECT#p#TRACES``, SK ``<timestamp>#<id>``, holding the filter
  attributes only: every trace of a project newest first, for the list route when the filters do not name
  one target.
Both carry ``ttl`` (epoch seconds) so DynamoDB expires them together; reads also skip expired items, as
TTL deletion lags. A body (input, output, context, metadata) over BODY_INLINE_MAX bytes of JSON goes to the
artifacts bucket with a pointer in the item (never rely on items being under 400 KB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.models.prompt_ref import legacy_number
from evalgate.models.traces import Trace, TracePage
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table, decode_cursor, encode_cursor

GSI1 = "GSI1"
BODY_INLINE_MAX = 50_000  # bytes of body JSON kept in the item; larger bodies go to S3
PREVIEW_CHARS = 2_000  # of the output, kept in the item when the body is in S3


def time_key(moment: datetime) -> str:
    """Fixed-width UTC time with microseconds: lexical order is time order. A naive time is UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _target_gsi(t: Trace) -> str:
    return keys.trace_target_gsi(t.project_id, t.environment, t.model, t.prompt_id)


class TraceStore:
    def __init__(self, table: Table, blobs: Blobs) -> None:
        self.table = table
        self.blobs = blobs

    # -- writes -----------------------------------------------------------------------------------
    def existing_ids(self, project_id: str, trace_ids: Sequence[str]) -> set[str]:
        """The ids among `trace_ids` already stored (consistent reads, 100 keys per BatchGetItem, the id only:
        a re-sent batch reads no bodies)."""
        found = self.table.batch_get([keys.trace(project_id, i) for i in dict.fromkeys(trace_ids)], attributes=["id"])
        return {str(item["id"]) for item in found}

    def put_new(self, traces: Sequence[Trace], *, ttl: Mapping[str, int], received_at: datetime) -> int:
        """Write traces the caller found new (see `existing_ids`): bodies to S3 first, then every index item,
        then the trace items, 25 per BatchWriteItem. A trace item therefore exists only once its index item
        and body do, so a retry after a crash (which sees the trace as missing) completes it."""
        index_items: list[dict[str, Any]] = []
        trace_items: list[dict[str, Any]] = []
        for t in traces:
            stamp = time_key(t.timestamp)
            index_items.append(
                {
                    **keys.trace_index(t.project_id, stamp, t.id),
                    "type": "traceIndex",
                    "traceId": t.id,
                    "model": t.model,
                    "promptId": t.prompt_id,
                    "environment": t.environment,
                    "ttl": ttl[t.id],
                }
            )
            trace_items.append(self._item(t, stamp, ttl[t.id], received_at))
        self.table.batch_write(puts=[*index_items, *trace_items])
        return len(trace_items)

    def _item(self, t: Trace, stamp: str, ttl: int, received_at: datetime) -> dict[str, Any]:
        body = json.dumps(
            {"input": t.input, "output": t.output, "context": t.context, "metadata": t.metadata},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        size = len(body.encode())
        item: dict[str, Any] = {
            **keys.trace(t.project_id, t.id),
            keys.GSI1PK: _target_gsi(t),
            keys.GSI1SK: keys.trace_time_sort(stamp, t.id),
            "type": "trace",
            "id": t.id,
            "projectId": t.project_id,
            "model": t.model,
            "promptId": t.prompt_id,
            "versionNo": t.version_no,
            "environment": t.environment,
            "timestamp": stamp,
            "latencyMs": t.latency_ms,
            "inputTokens": t.input_tokens,
            "outputTokens": t.output_tokens,
            "costUsd": t.cost_usd,
            "receivedAt": received_at.isoformat(),
            "bodyBytes": size,
            "ttl": ttl,
        }
        if size > BODY_INLINE_MAX:
            blob_key = keys.trace_body(t.project_id, t.id)
            self.blobs.put_json(blob_key, json.loads(body))
            item["bodyKey"] = blob_key
            item["outputPreview"] = t.output[:PREVIEW_CHARS]
        else:
            item["body"] = body
        return item

    # -- reads ------------------------------------------------------------------------------------
    def get_many(self, project_id: str, trace_ids: list[str]) -> dict[str, Trace]:
        """The stored traces among `trace_ids`, by id (missing ids are left out), bodies loaded."""
        items = self.table.batch_get([keys.trace(project_id, i) for i in dict.fromkeys(trace_ids)])
        return {str(i["id"]): self._trace(i) for i in items}

    def recent(
        self,
        project_id: str,
        *,
        model: str | None,
        prompt_id: str | None,
        environment: str = "production",
        limit: int,
        before: datetime | None = None,
    ) -> list[Trace]:
        """Up to `limit` unexpired traces of one target, newest first, strictly before `before` if given.
        One GSI1 partition (never a Scan); bodies are loaded (an S3 read for the rare large one). With no model:
        every model's traces of the environment (the project's index partition, filtered)."""
        if model is None:
            ids = self.recent_ids(
                project_id, model=None, prompt_id=prompt_id, environment=environment, limit=limit, before=before
            )
            found = self.get_many(project_id, ids)
            return [found[i] for i in ids if i in found]
        return [self._trace(i) for i in self._target_items(project_id, model, prompt_id, environment, limit, before)]

    def recent_ids(
        self,
        project_id: str,
        *,
        model: str | None,
        prompt_id: str | None,
        environment: str = "production",
        limit: int,
        before: datetime | None = None,
    ) -> list[str]:
        """As `recent`, the ids only (nothing loaded from S3): to sample first and `get_many` the chosen."""
        if model is None:
            return self._any_model_ids(project_id, prompt_id, environment, limit, before)
        return [str(i["id"]) for i in self._target_items(project_id, model, prompt_id, environment, limit, before)]

    def _any_model_ids(
        self, project_id: str, prompt_id: str | None, environment: str, limit: int, before: datetime | None
    ) -> list[str]:
        """Trace ids of every model of an environment (and prompt), newest first: the index partition, filtered."""
        partition = keys.trace_index_partition(project_id)
        filters: dict[str, Any] = {"environment": environment}
        if prompt_id is not None:
            legacy = legacy_number(prompt_id)
            filters["promptId"] = (prompt_id, legacy) if legacy is not None else prompt_id
        out: list[str] = []
        cursor: str | None = None
        while len(out) < limit:
            items, cursor = self._query(
                partition,
                high=time_key(before) if before else None,
                limit=min(1000, max(limit - len(out), 25)),
                cursor=cursor,
                filters=filters,
            )
            out += [str(i["traceId"]) for i in items]
            if not cursor:
                break
        return out[:limit]

    def _target_items(
        self,
        project_id: str,
        model: str,
        prompt_id: str | None,
        environment: str,
        limit: int,
        before: datetime | None,
    ) -> list[dict[str, Any]]:
        partition = keys.trace_target_gsi(project_id, environment, model, prompt_id)
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(out) < limit:
            items, cursor = self._query(
                partition,
                index=GSI1,
                high=time_key(before) if before else None,
                limit=min(1000, max(limit - len(out), 25)),
                cursor=cursor,
            )
            out += items
            if not cursor:
                break
        return out[:limit]

    def list_page(
        self,
        project_id: str,
        *,
        model: str | None,
        prompt_id: str | None,
        environment: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        cursor: str | None,
        byte_budget: int = 4_000_000,
    ) -> TracePage:
        """One page of a project's traces, newest first, `since` <= timestamp < `until`.

        When model, prompt id and environment are all given the page is one target's GSI1 partition; otherwise
        the project's index partition, filtered (a page may then come back short, with a cursor). Bodies are
        loaded until `byte_budget` is spent (a Lambda response is at most 6 MB): the page then ends early, its
        cursor just after the last trace returned; a single body above the budget comes back truncated."""
        low = time_key(since) if since else None
        high = time_key(until) if until else None
        if model is not None and prompt_id is not None and environment is not None:
            partition = keys.trace_target_gsi(project_id, environment, model, prompt_id)
            items, nxt = self._query(partition, index=GSI1, low=low, high=high, limit=limit, cursor=cursor)
            return self._budgeted(items, nxt, byte_budget, index=GSI1, partition=partition)
        partition = keys.trace_index_partition(project_id)
        # a digit identifier also matches the index items written when identifiers were stored as numbers
        legacy = legacy_number(prompt_id)
        filters: dict[str, Any] = {
            "model": model,
            "promptId": (prompt_id, legacy) if legacy is not None else prompt_id,
            "environment": environment,
        }
        refs, nxt = self._query(
            partition,
            low=low,
            high=high,
            limit=limit,
            cursor=cursor,
            filters={k: v for k, v in filters.items() if v is not None},
        )
        by_id = {
            str(i["id"]): i for i in self.table.batch_get([keys.trace(project_id, str(r["traceId"])) for r in refs])
        }
        # an index item whose trace is gone (expired, or a crashed write never completed) is skipped
        pairs = [(r, by_id[str(r["traceId"])]) for r in refs if str(r["traceId"]) in by_id]
        return self._budgeted(
            [t for _, t in pairs], nxt, byte_budget, partition=partition, cursor_items=[r for r, _ in pairs]
        )

    def _budgeted(
        self,
        items: list[dict[str, Any]],
        nxt: str | None,
        budget: int,
        *,
        partition: str,
        index: str | None = None,
        cursor_items: list[dict[str, Any]] | None = None,
    ) -> TracePage:
        out: list[Trace] = []
        spent = 0
        for n, item in enumerate(items):
            size = int(item.get("bodyBytes") or 0)
            if out and spent + size > budget:
                last = (cursor_items or items)[n - 1]
                return TracePage(out, _cursor_after(last, partition, index))
            spent += size
            out.append(self._trace(item, load_body=size <= budget))
        return TracePage(out, nxt)

    def _query(
        self,
        partition: str,
        *,
        index: str | None = None,
        low: str | None = None,
        high: str | None = None,
        limit: int,
        cursor: str | None,
        filters: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first within [low, high) of the sort key, unexpired items only. Cursors are bound to the
        partition (a cursor of another list or tenant is refused by decode_cursor)."""
        pk_name, sk_name = (keys.GSI1PK, keys.GSI1SK) if index else (keys.PK, keys.SK)
        names = {"#pk": pk_name, "#ttl": "ttl"}
        values: dict[str, Any] = {":pk": {"S": partition}, ":now": {"N": str(int(datetime.now(UTC).timestamp()))}}
        condition = "#pk = :pk"
        if low or high:
            names["#sk"] = sk_name
            if low and high:
                condition += " AND #sk BETWEEN :lo AND :hi"  # no sort key equals `high` (it has an #id suffix)
            else:
                condition += " AND #sk >= :lo" if low else " AND #sk < :hi"
            if low:
                values[":lo"] = {"S": low}
            if high:
                values[":hi"] = {"S": high}
        clauses = ["#ttl > :now"]
        for n, (name, value) in enumerate((filters or {}).items()):
            names[f"#f{n}"] = name
            alternatives = value if isinstance(value, tuple) else (value,)  # a tuple: any of these values
            either = []
            for m, one in enumerate(alternatives):
                values[f":f{n}_{m}"] = self.table.codec.value(one)
                either.append(f"#f{n} = :f{n}_{m}")
            clauses.append(either[0] if len(either) == 1 else "(" + " OR ".join(either) + ")")
        kwargs: dict[str, Any] = {
            "TableName": self.table.name,
            "KeyConditionExpression": condition,
            "FilterExpression": " AND ".join(clauses),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": False,
        }
        if index:
            kwargs["IndexName"] = index
        start = Table._decode_index_cursor(cursor, partition) if index else decode_cursor(cursor, partition)
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            resp = self.table.client.query(**kwargs)
        except ClientError as exc:
            self.table.raise_throttled(exc)
            raise
        items = [self.table.codec.load(raw) for raw in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        if index and last:
            last = {keys.PK: {"S": partition}, "_k": last}
        return items, encode_cursor(last)

    def _trace(self, item: dict[str, Any], *, load_body: bool = True) -> Trace:
        truncated = False
        if item.get("bodyKey"):
            if load_body:
                body = self.blobs.get_json(item["bodyKey"])
            else:
                body = {"output": item.get("outputPreview", "")}
                truncated = True
        else:
            body = json.loads(item.get("body") or "{}")
        ttl = item.get("ttl")
        return Trace(
            id=str(item["id"]),
            project_id=item["projectId"],
            model=item["model"],
            prompt_id=item.get("promptId"),
            version_no=item.get("versionNo"),
            input=body.get("input") or {},
            output=body.get("output") or "",
            context=body.get("context"),
            latency_ms=item.get("latencyMs"),
            input_tokens=item.get("inputTokens"),
            output_tokens=item.get("outputTokens"),
            cost_usd=item.get("costUsd"),
            timestamp=datetime.strptime(item["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
            environment=item.get("environment", "production"),
            metadata=body.get("metadata") or {},
            expires_at=datetime.fromtimestamp(ttl, UTC) if isinstance(ttl, int) else None,
            truncated=truncated,
        )


def _cursor_after(item: dict[str, Any], partition: str, index: str | None) -> str | None:
    """The cursor that resumes a list just after `item` (its key, as DynamoDB's LastEvaluatedKey would be)."""
    key = {keys.PK: {"S": item[keys.PK]}, keys.SK: {"S": item[keys.SK]}}
    if index:
        key |= {keys.GSI1PK: {"S": item[keys.GSI1PK]}, keys.GSI1SK: {"S": item[keys.GSI1SK]}}
        return encode_cursor({keys.PK: {"S": partition}, "_k": key})
    return encode_cursor(key)
