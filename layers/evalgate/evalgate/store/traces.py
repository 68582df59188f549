"""Production traces: idempotent batch ingest, time-ordered reads per target and per project, TTL retention.

Items (keys in evalgate.keys):
- the trace: PK ``PROJECT#p#TRACE#<id>``, SK ``TRACE`` (a re-sent id lands on the same item); no index key,
  so no index copies the body (issue 17: the old GSI1 copy cost 3 of 7 write units per trace);
- two small index items per trace, holding the filter attributes only, each in one of ``TRACE_SHARDS`` (16)
  write shards chosen by a hash of the id: PK ``PROJECT#p#TRACETGT@<shard>#<environment>#<model>#<prompt>``
  (one target's traces, which auto-eval samples from) and PK ``PROJECT#p#TRACES@<shard>`` (every trace of a
  project), SK ``<timestamp>#<id>``. A hot target therefore writes to 16 partitions, not one; readers query
  every shard and merge newest first (`_merged`), resuming from the last sort key returned.
Every item carries ``ttl`` (epoch seconds) so DynamoDB expires them together; reads also skip expired items, as
TTL deletion lags. A body (input, output, context, metadata) over BODY_INLINE_MAX bytes of JSON goes to the
artifacts bucket with a pointer in the item (never rely on items being under 400 KB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import InvalidInput
from evalgate.models.prompt_ref import legacy_number
from evalgate.models.traces import Trace, TracePage
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table, decode_cursor, encode_cursor

BODY_INLINE_MAX = 50_000  # bytes of body JSON kept in the item; larger bodies go to S3
PREVIEW_CHARS = 2_000  # of the output, kept in the item when the body is in S3


def time_key(moment: datetime) -> str:
    """Fixed-width UTC time with microseconds: lexical order is time order. A naive time is UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
        then the trace items, 25 per BatchWriteItem (enforced by the table layer).
        A trace item therefore exists only once its index item
        and body do, so a retry after a crash (which sees the trace as missing) completes it."""
        index_items: list[dict[str, Any]] = []
        trace_items: list[dict[str, Any]] = []
        for t in traces:
            stamp = time_key(t.timestamp)
            ref = {"traceId": t.id, "ttl": ttl[t.id]}
            index_items.append(
                {
                    **keys.trace_index(t.project_id, stamp, t.id),
                    "type": "traceIndex",
                    **ref,
                    "model": t.model,
                    "promptId": t.prompt_id,
                    "environment": t.environment,
                }
            )
            target = keys.trace_target(t.project_id, t.environment, t.model, t.prompt_id, stamp, t.id)
            index_items.append({**target, "type": "traceTarget", **ref})
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
        The target's index shards (never a Scan), then the traces (an S3 read for the rare large body). With no
        model: every model's traces of the environment (and prompt), from the project's index shards, filtered."""
        ids = self.recent_ids(
            project_id, model=model, prompt_id=prompt_id, environment=environment, limit=limit, before=before
        )
        found = self.get_many(project_id, ids)
        return [found[i] for i in ids if i in found]

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
        """As `recent`, the ids only (index items only): to sample first and `get_many` the chosen."""
        filters: dict[str, Any] | None = None
        shards: list[str | tuple[str, Mapping[str, Any]]]
        if model is not None:
            base = keys.trace_target_list(project_id, environment, model, prompt_id)
            shards = [keys.trace_target_partition(project_id, environment, model, prompt_id, n) for n in _SHARDS]
            shards += _legacy(project_id, model=model, prompt_id=prompt_id, environment=environment)
        else:
            base = keys.trace_index_list(project_id)
            filters = {"environment": environment}
            if prompt_id is not None:
                filters["promptId"] = _prompt_filter(prompt_id)
            shards = [*(keys.trace_index_partition(project_id, n) for n in _SHARDS), (base, filters)]
        out: list[str] = []
        cursor: str | None = None
        while len(out) < limit:
            refs, cursor = self._merged(
                base,
                shards,
                low=None,
                high=time_key(before) if before else None,
                limit=min(1000, max(limit - len(out), 25)),
                cursor=cursor,
                filters=filters,
            )
            out += [str(r["traceId"]) for r in refs]
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

        When model, prompt id and environment are all given the page is one target's index shards; otherwise
        the project's index shards, filtered (a page may then come back short, with a cursor). Bodies are
        loaded until `byte_budget` is spent (a Lambda response is at most 6 MB): the page then ends early, its
        cursor just after the last trace returned; a single body above the budget comes back truncated."""
        low = time_key(since) if since else None
        high = time_key(until) if until else None
        filters: dict[str, Any] = {}
        shards: list[str | tuple[str, Mapping[str, Any]]]
        if model is not None and prompt_id is not None and environment is not None:
            base = keys.trace_target_list(project_id, environment, model, prompt_id)
            shards = [keys.trace_target_partition(project_id, environment, model, prompt_id, n) for n in _SHARDS]
            shards += _legacy(project_id, model=model, prompt_id=prompt_id, environment=environment)
        else:
            base = keys.trace_index_list(project_id)
            given = {
                "model": model,
                "promptId": _prompt_filter(prompt_id) if prompt_id is not None else None,
                "environment": environment,
            }
            filters = {k: v for k, v in given.items() if v is not None}
            shards = [*(keys.trace_index_partition(project_id, n) for n in _SHARDS), (base, filters)]
        refs, nxt = self._merged(base, shards, low=low, high=high, limit=limit, cursor=cursor, filters=filters)
        by_id = {
            str(i["id"]): i for i in self.table.batch_get([keys.trace(project_id, str(r["traceId"])) for r in refs])
        }
        # an index item whose trace is gone (expired, or a crashed write never completed) is skipped
        pairs = [(r, by_id[str(r["traceId"])]) for r in refs if str(r["traceId"]) in by_id]
        out: list[Trace] = []
        spent = 0
        for n, (_, item) in enumerate(pairs):
            size = int(item.get("bodyBytes") or 0)
            if out and spent + size > byte_budget:
                return TracePage(out, _cursor_at(base, str(pairs[n - 1][0][keys.SK])))
            spent += size
            out.append(self._trace(item, load_body=size <= byte_budget))
        return TracePage(out, nxt)

    def _merged(
        self,
        base: str,
        shards: Sequence[str | tuple[str, Mapping[str, Any]]],
        *,
        low: str | None,
        high: str | None,
        limit: int,
        cursor: str | None,
        filters: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a sharded list, newest first within [low, high): every shard is queried (in parallel)
        for up to `limit` items and the answers merged by sort key. A shard that stopped early (Limit, or 1 MB)
        has read down to its last evaluated key; the largest of those is the horizon: every item at or above it
        is known, below it not yet, so the page keeps only items at or above it and the cursor resumes below the
        last item returned (or below the horizon when a filtered page came back short). Sort keys are unique
        across shards (they end with the trace id, whose hash picks the shard). The cursor is the sort key,
        bound to the logical list `base` (a cursor of another list or tenant is refused by decode_cursor)."""
        after = decode_cursor(cursor, base)
        resume = str(after[keys.SK]["S"]) if after and isinstance(after.get(keys.SK), dict) else None
        if after is not None and resume is None:
            raise InvalidInput("cursor is not valid for this list", field="cursor")
        top = min(high, resume) if high and resume else (resume or high)

        def one(shard: str | tuple[str, Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
            # one more than the page: the item at `resume` itself may come back first (the sort-key condition is
            # inclusive) and is dropped, so a shard that stops early always stops strictly below `resume`
            partition, own = shard if isinstance(shard, tuple) else (shard, filters)
            return self._query(partition, low=low, high=top, limit=limit + 1, filters=own)

        answers = list(_pool().map(one, shards))
        stops = [stop for _, stop in answers if stop is not None]
        horizon = max(stops) if stops else None
        merged = sorted(
            (i for items, _ in answers for i in items if resume is None or str(i[keys.SK]) < resume),
            key=lambda i: str(i[keys.SK]),
            reverse=True,
        )
        if horizon is not None:
            merged = [i for i in merged if str(i[keys.SK]) >= horizon]
        page = merged[:limit]
        if len(merged) > limit:
            return page, _cursor_at(base, str(page[-1][keys.SK]))
        if horizon is not None:
            return page, _cursor_at(base, horizon)
        return page, None

    def _query(
        self,
        partition: str,
        *,
        low: str | None,
        high: str | None,
        limit: int,
        filters: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first within [low, high] of one partition's sort key, unexpired items only (`high` is either a
        bare time, which no sort key equals, or a sort key the caller drops); the last evaluated sort key if the
        partition has more."""
        names = {"#pk": keys.PK, "#ttl": "ttl"}
        values: dict[str, Any] = {":pk": {"S": partition}, ":now": {"N": str(int(datetime.now(UTC).timestamp()))}}
        condition = "#pk = :pk"
        if low or high:
            names["#sk"] = keys.SK
            if low and high:
                condition += " AND #sk BETWEEN :lo AND :hi"
            else:
                condition += " AND #sk >= :lo" if low else " AND #sk <= :hi"
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
        try:
            resp = self.table.client.query(**kwargs)
        except ClientError as exc:
            self.table.raise_throttled(exc)
            raise
        items = [self.table.codec.load(raw) for raw in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return items, (str(last[keys.SK]["S"]) if last else None)

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


def _legacy(
    project_id: str, *, model: str, prompt_id: str | None, environment: str
) -> list[tuple[str, Mapping[str, Any]]]:
    """The unsharded project index partition that traces stored before the index was sharded are listed in
    (same sort keys, same filter attributes), filtered to one target. A target without a prompt cannot be told
    apart there from the model's other prompts by a filter, so its old traces are left out (they expire with
    their retention)."""
    if prompt_id is None:
        return []
    target = {"model": model, "environment": environment, "promptId": _prompt_filter(prompt_id)}
    return [(keys.trace_index_list(project_id), target)]


def _prompt_filter(prompt_id: str) -> str | tuple[str, int]:
    """A prompt identifier as an index filter: a digit identifier also matches the items written when identifiers
    were stored as numbers."""
    ref = str(prompt_id)  # callers in the layer may still hold an integer id
    legacy = legacy_number(ref)
    return (ref, legacy) if legacy is not None else ref


def _cursor_at(base: str, sort_key: str) -> str | None:
    """The cursor that resumes a sharded list just below `sort_key`."""
    return encode_cursor({keys.PK: {"S": base}, keys.SK: {"S": sort_key}})


_SHARDS = range(keys.TRACE_SHARDS)
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Threads for querying a list's shards at once (boto3 clients are thread-safe); built on first use."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="trace-shards")
    return _POOL
