"""Production traces: batch ingest (idempotent per trace id, TTL retention) and the filtered, paginated list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from evalgate.errors import InvalidInput, PayloadTooLarge
from evalgate.models.domain import Principal
from evalgate.models.traces import Trace, TracePage
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.settings import MAX_TRACE_RETENTION_DAYS as MAX_RETENTION_DAYS

MAX_TRACES_PER_BATCH = 500
FUTURE_SKEW = timedelta(days=1)  # a trace may be stamped this far ahead of our clock (client clock skew)
_FIELDS = (
    "model",
    "prompt_id",
    "prompt_version",
    "input",
    "output",
    "context",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "timestamp",
    "environment",
    "metadata",
)


@dataclass(frozen=True)
class IngestResult:
    received: int
    new: int
    duplicate: int
    ids: list[str]  # of every trace in request order (derived ids included)
    duplicate_ids: list[str]
    retention_days: int


def default_retention_days() -> int:
    """TRACE_RETENTION_DAYS (from the template's TraceRetentionDays); required where traces are written,
    never silently defaulted."""
    return int(container().settings.required("trace_retention_days"))


def derived_id(fields: Mapping[str, Any]) -> str:
    """A stable id for a trace sent without one: the SHA-256 of its content as sent (canonical JSON of every
    field but `id`; a missing timestamp stays missing), so re-sending the same trace is recognised."""
    content = {name: fields.get(name) for name in _FIELDS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return "h_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def ingest(principal: Principal, traces: Sequence[Mapping[str, Any]], *, retention_days: int | None) -> IngestResult:
    """Store the traces whose ids the project has not seen (the first report of an id wins); say how many
    were new and how many duplicates (sent before, or twice in this batch). The batch is validated whole
    before anything is written: a 4xx stores nothing."""
    if len(traces) > MAX_TRACES_PER_BATCH:
        raise PayloadTooLarge(
            f"a batch holds at most {MAX_TRACES_PER_BATCH} traces; this one has {len(traces)}: split it",
            field="traces",
            details={"limit": MAX_TRACES_PER_BATCH, "received": len(traces)},
        )
    days = retention_days if retention_days is not None else default_retention_days()
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"retention_days must be 1-{MAX_RETENTION_DAYS}", field="retention_days")
    now = utcnow()
    oldest = now - timedelta(days=days)
    ids: list[str] = []
    batch: dict[str, Trace] = {}
    for n, fields in enumerate(traces):
        trace_id = fields.get("id") or derived_id(fields)
        stamp = fields.get("timestamp") or now
        stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
        if stamp > now + FUTURE_SKEW:
            raise InvalidInput(
                f"traces[{n}].timestamp {stamp.isoformat()} is more than a day in the future",
                field=f"traces[{n}].timestamp",
            )
        if stamp <= oldest:
            raise InvalidInput(
                f"traces[{n}].timestamp {stamp.isoformat()} is older than the retention window ({days} days): it "
                f"would expire at once; send retention_days (at most {MAX_RETENTION_DAYS}) to keep older traces",
                field=f"traces[{n}].timestamp",
            )
        ids.append(trace_id)
        if trace_id in batch:
            continue  # the first occurrence in the batch wins, as the first stored report does
        batch[trace_id] = Trace(
            id=trace_id,
            project_id=principal.project_id,
            model=fields["model"],
            prompt_id=fields.get("prompt_id"),
            version_no=fields.get("prompt_version"),
            input=fields.get("input") or {},
            output=fields.get("output") or "",
            context=fields.get("context"),
            latency_ms=fields.get("latency_ms"),
            input_tokens=fields.get("input_tokens"),
            output_tokens=fields.get("output_tokens"),
            cost_usd=fields.get("cost_usd"),
            timestamp=stamp,
            environment=fields.get("environment") or "production",
            metadata=fields.get("metadata") or {},
        )
    store = container().traces
    known = store.existing_ids(principal.project_id, list(batch))
    fresh = [t for i, t in batch.items() if i not in known]
    ttl = {t.id: int((t.timestamp + timedelta(days=days)).timestamp()) for t in fresh}
    if fresh:
        store.put_new(fresh, ttl=ttl, received_at=now)
    # a duplicate is any position whose id was stored before this request or appeared earlier in the batch
    seen: set[str] = set()
    duplicate_ids = []
    for trace_id in ids:
        if trace_id in known or trace_id in seen:
            duplicate_ids.append(trace_id)
        seen.add(trace_id)
    logger.info("traces ingested", received=len(ids), new=len(fresh), duplicate=len(duplicate_ids))
    return IngestResult(
        received=len(ids),
        new=len(fresh),
        duplicate=len(duplicate_ids),
        ids=ids,
        duplicate_ids=duplicate_ids,
        retention_days=days,
    )


def list_traces(
    principal: Principal,
    *,
    model: str | None,
    prompt_id: str | None,
    environment: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> TracePage:
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", field="since")
    return container().traces.list_page(
        principal.project_id,
        model=model,
        prompt_id=prompt_id,
        environment=environment,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
