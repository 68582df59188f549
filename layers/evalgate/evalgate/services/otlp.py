"""OTLP/HTTP trace export (`POST /v1/traces`): decode the request, map its LLM spans onto traces, store them
through the trace service (so auto-eval, monitors and drift reports read them like traces posted as JSON).

Spans that are no LLM call are ignored; LLM spans that cannot be stored are rejected one by one (the partial
success of the OTLP response counts them and says why) while the valid ones are stored. A span is stored
once however often it is re-sent: its trace id is `otel-<traceId>-<spanId>`, and the trace service stores
an id only once. Only a request that cannot be read at all is refused whole (400/413/415)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from evalgate.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from evalgate.models.domain import Principal
from evalgate.observability import logger
from evalgate.otlp import genai, wire
from evalgate.providers.pricing import cost_of
from evalgate.services import traces
from evalgate.services.container import utcnow

MAX_SPANS_PER_REQUEST = 10_000  # the SDK's BatchSpanProcessor sends 512 at most by default
MAX_INFLATED_BYTES = 24 * 1024 * 1024  # a gzip body may inflate to this much
WINDOW_MARGIN = timedelta(minutes=1)  # kept from the edges of the retention window, so ingest never refuses
REASONS_SHOWN = 5


class Encoding(StrEnum):
    protobuf = "application/x-protobuf"
    json = "application/json"


def encoding_of(content_type: str | None) -> Encoding:
    """The request's OTLP encoding from its Content-Type (415 for anything else)."""
    base = (content_type or "").split(";")[0].strip().lower()
    for encoding in Encoding:
        if base == encoding.value:
            return encoding
    raise UnsupportedMediaType(
        f"OTLP/HTTP takes application/x-protobuf or application/json, not {base or 'a body without Content-Type'}",
        field="Content-Type",
    )


@dataclass(frozen=True)
class ExportResult:
    spans: int  # in the request
    llm_spans: int
    stored: int  # new traces
    duplicate: int  # LLM spans stored before (or twice in this request)
    ignored: int  # spans that are no LLM call
    rejected: int  # LLM spans that could not be stored
    message: str  # why they were rejected (empty when none was)


def export(
    principal: Principal, body: bytes, *, content_type: str | None, content_encoding: str | None
) -> ExportResult:
    encoding = encoding_of(content_type)
    raw = inflate(body, content_encoding)
    spans = wire.decode_protobuf(raw) if encoding is Encoding.protobuf else wire.decode_json(raw)
    if len(spans) > MAX_SPANS_PER_REQUEST:
        raise PayloadTooLarge(
            f"an export holds at most {MAX_SPANS_PER_REQUEST} spans; this one has {len(spans)}: "
            "lower the exporter's batch size (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
            field="body",
            details={"limit": MAX_SPANS_PER_REQUEST, "received": len(spans)},
        )
    mapped = genai.map_spans(spans)
    rejected = list(mapped.rejected)
    keep = _in_window(mapped.traces, rejected)
    for fields in keep:
        _fill_cost(fields)
    stored = duplicate = 0
    for start in range(0, len(keep), traces.MAX_TRACES_PER_BATCH):
        result = traces.ingest(principal, keep[start : start + traces.MAX_TRACES_PER_BATCH], retention_days=None)
        stored += result.new
        duplicate += result.duplicate
    outcome = ExportResult(
        spans=len(spans),
        llm_spans=len(mapped.traces) + len(mapped.rejected),
        stored=stored,
        duplicate=duplicate,
        ignored=mapped.ignored,
        rejected=len(rejected),
        message=_message(rejected, len(mapped.traces) + len(mapped.rejected)),
    )
    logger.info(
        "otlp export",
        encoding=encoding.name,
        spans=outcome.spans,
        stored=outcome.stored,
        duplicate=outcome.duplicate,
        ignored=outcome.ignored,
        rejected=outcome.rejected,
    )
    return outcome


def inflate(body: bytes, content_encoding: str | None) -> bytes:
    """The body as sent, gunzipped when Content-Encoding says gzip (capped: a small body may not inflate past
    MAX_INFLATED_BYTES)."""
    name = (content_encoding or "").strip().lower()
    if name in ("", "identity"):
        return body
    if name != "gzip":
        raise UnsupportedMediaType(
            f"Content-Encoding {name[:40]} is not supported: send gzip or none", field="Content-Encoding"
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise InvalidInput("the body is not valid gzip", field="body") from exc
    if len(out) > MAX_INFLATED_BYTES:
        raise PayloadTooLarge(f"the gzip body inflates to more than {MAX_INFLATED_BYTES} bytes", field="body")
    if not inflater.eof:
        raise InvalidInput("the gzip body is truncated", field="body")
    return out


def _in_window(candidates: list[dict[str, Any]], rejected: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The traces the trace service will accept: stamped neither more than a day ahead of our clock nor before
    the retention window (a JSON batch with such a trace is refused whole; here only that span is)."""
    now = utcnow()
    oldest = now - timedelta(days=traces.default_retention_days()) + WINDOW_MARGIN
    newest = now + traces.FUTURE_SKEW - WINDOW_MARGIN
    keep = []
    for fields in candidates:
        stamp = fields["timestamp"]
        span_id = fields["metadata"]["otel"]["span_id"]
        if stamp is not None and stamp > newest:
            rejected.append((span_id, f"span {span_id}: starts more than a day in the future ({stamp.isoformat()})"))
        elif stamp is not None and stamp <= oldest:
            rejected.append((span_id, f"span {span_id}: older than the retention window ({stamp.isoformat()})"))
        else:
            keep.append(fields)
    return keep


def _fill_cost(fields: dict[str, Any]) -> None:
    """A span without a cost attribute is priced from its tokens with the gateway's table (if the model is in it)."""
    if fields["cost_usd"] is not None or fields["input_tokens"] is None or fields["output_tokens"] is None:
        return
    cost = cost_of(fields["model"], fields["input_tokens"], fields["output_tokens"])
    if cost.priced:
        fields["cost_usd"] = cost.usd


def _message(rejected: list[tuple[str, str]], llm_spans: int) -> str:
    if not rejected:
        return ""
    reasons = "; ".join(reason for _, reason in rejected[:REASONS_SHOWN])
    more = f" (and {len(rejected) - REASONS_SHOWN} more)" if len(rejected) > REASONS_SHOWN else ""
    return f"{len(rejected)} of {llm_spans} LLM spans rejected: {reasons}{more}"
