"""LLM spans onto evalgate traces: which spans are LLM calls, and their model, input, output, context, timing,
tokens, cost, environment and prompt, read from the three conventions in use.

- OpenTelemetry GenAI semantic conventions: `gen_ai.operation.name`, `gen_ai.system` / `gen_ai.provider.name`,
  `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens` / `output_tokens` (older:
  `prompt_tokens` / `completion_tokens`), `gen_ai.response.finish_reasons`; messages as the attributes
  `gen_ai.input.messages` / `gen_ai.output.messages` / `gen_ai.system_instructions` (JSON), as span events
  (`gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`, `gen_ai.tool.message`,
  `gen_ai.choice`) or as the older `gen_ai.content.prompt` / `gen_ai.content.completion` events.
- OpenInference: `openinference.span.kind` (LLM spans are judged; RETRIEVER spans of the same trace give the
  context), `llm.model_name`, `llm.input_messages.N.message.*`, `llm.output_messages.N.message.*`,
  `input.value`, `output.value`, `llm.token_count.prompt` / `completion`, `llm.cost.total`,
  `retrieval.documents.N.document.content`.
- OpenLLMetry / Traceloop: `llm.request.type`, `gen_ai.prompt.N.role` / `content`,
  `gen_ai.completion.N.role` / `content` / `finish_reason`, `llm.usage.*`.

evalgate's own attributes, on the span or its resource: `evalgate.prompt_id`, `evalgate.prompt_version`,
`evalgate.context` (a text or a list of texts) and `evalgate.cost_usd`. The environment is the resource's
`deployment.environment.name` (or the older `deployment.environment`).

A span that is no LLM call is *ignored* (counted, never an error). An LLM call that cannot become a trace is
*rejected* with the reason (the OTLP response's partial success says how many and why).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evalgate.models.prompt_ref import prompt_ref
from evalgate.otlp.wire import STATUS_ERROR, Span

MAX_MODEL_CHARS = 200
MAX_PROMPT_VERSION = 2**31
MAX_TOKENS = 2**53
MAX_COST_USD = 1e9
ENVIRONMENTS = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
}
# gen_ai.operation.name values that are a model generating text (embeddings, tools and agents are not judged)
GENERATING_OPERATIONS = {"chat", "text_completion", "generate_content", "completion", "responses"}
TRACELOOP_TYPES = {"chat", "completion"}


class Rejected(Exception):
    """An LLM span that cannot become a trace; the message says why (it goes back to the exporter)."""


@dataclass
class SpanMapping:
    """What a request's spans became: trace fields (as `services.traces.ingest` takes them), spans ignored as
    no LLM call, and the LLM spans rejected with their reasons."""

    traces: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (span id hex, reason)


def map_spans(spans: Iterable[Span]) -> SpanMapping:
    spans = list(spans)
    out = SpanMapping()
    # OpenInference RETRIEVER spans give the documents of every LLM span in their trace (same request only)
    documents: dict[bytes, list[str]] = {}
    llm: list[Span] = []
    for span in spans:
        kind = span_kind(span)
        if kind == "llm":
            llm.append(span)
            continue
        out.ignored += 1
        if kind == "retriever":
            documents.setdefault(span.trace_id, []).extend(_retrieval_documents(span.attributes))
    for span in llm:
        try:
            out.traces.append(to_trace(span, documents.get(span.trace_id, [])))
        except Rejected as exc:
            out.rejected.append((span.span_hex or "(no span id)", str(exc)))
    return out


def span_kind(span: Span) -> str:
    """'llm' for a model call to judge, 'retriever' for an OpenInference retrieval, else 'other'."""
    a = span.attributes
    oi_kind = a.get("openinference.span.kind")
    if isinstance(oi_kind, str):
        kind = oi_kind.upper()
        return "llm" if kind == "LLM" else "retriever" if kind == "RETRIEVER" else "other"
    operation = a.get("gen_ai.operation.name")
    if isinstance(operation, str):
        return "llm" if operation.lower() in GENERATING_OPERATIONS else "other"
    request_type = a.get("llm.request.type")
    if isinstance(request_type, str):
        return "llm" if request_type.lower() in TRACELOOP_TYPES else "other"
    if any(k in a for k in ("gen_ai.system", "gen_ai.provider.name", "gen_ai.request.model", "llm.model_name")):
        return "llm"
    if any(k.startswith(("gen_ai.prompt.", "gen_ai.completion.")) for k in a):
        return "llm"
    return "other"


def to_trace(span: Span, retrieved: list[str]) -> dict[str, Any]:
    """The trace fields of one LLM span, or Rejected with the reason."""
    a = span.attributes
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise Rejected("a span needs a 16-byte, non-zero traceId")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise Rejected("a span needs an 8-byte, non-zero spanId")
    if span.status_code == STATUS_ERROR:
        raise Rejected(f"span {span.span_hex}: the call failed ({span.status_message or 'status ERROR'}): not judged")
    model = _first_text(a, "gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "llm.request.model")
    if not model:
        raise Rejected(
            f"span {span.span_hex}: no model (gen_ai.request.model, gen_ai.response.model or llm.model_name)"
        )
    if len(model) > MAX_MODEL_CHARS:
        raise Rejected(f"span {span.span_hex}: the model name is longer than {MAX_MODEL_CHARS} characters")
    messages = input_messages(span)
    output = output_text(span)
    if output is None:
        raise Rejected(
            f"span {span.span_hex}: no output text; enable message content capture in the instrumentation "
            "(e.g. OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)"
        )
    context = _context(span, retrieved)
    timestamp = datetime.fromtimestamp(span.start_unix_nano / 1e9, UTC) if span.start_unix_nano else None
    latency_ms = None
    if span.start_unix_nano and span.end_unix_nano >= span.start_unix_nano:
        latency_ms = (span.end_unix_nano - span.start_unix_nano) / 1e6
    metadata: dict[str, Any] = {
        "otel": {
            k: v
            for k, v in {
                "trace_id": span.trace_hex,
                "span_id": span.span_hex,
                "parent_span_id": span.parent_span_id.hex() or None,
                "name": span.name,
                "service": _text(span.resource.get("service.name")),
                "scope": span.scope or None,
                "system": _first_text(a, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
                "response_model": _first_text(a, "gen_ai.response.model"),
                "response_id": _first_text(a, "gen_ai.response.id"),
                "finish_reasons": _finish_reasons(a) or None,
            }.items()
            if v not in (None, "")
        }
    }
    if messages and (len(messages) > 1 or messages[0][0] != "user"):
        metadata["messages"] = [{"role": role, "content": text} for role, text in messages]
    return {
        "id": f"otel-{span.trace_hex}-{span.span_hex}",
        "model": model,
        "prompt_id": _prompt_ref(span),
        "prompt_version": _whole(span, "evalgate.prompt_version", 1, MAX_PROMPT_VERSION),
        "input": {"input": render_messages(messages)} if messages else {},
        "output": output,
        "context": context,
        "latency_ms": latency_ms,
        "input_tokens": _tokens(
            span,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "llm.usage.prompt_tokens",
        ),
        "output_tokens": _tokens(
            span,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "llm.usage.completion_tokens",
        ),
        "cost_usd": _cost(span),
        "timestamp": timestamp,
        "environment": _environment(span),
        "metadata": metadata,
    }


# ---------------------------------------------------------------------------------------------- messages
def input_messages(span: Span) -> list[tuple[str, str]]:
    """(role, text) of the request's messages, from the first convention the span carries."""
    a = span.attributes
    out: list[tuple[str, str]] = []
    system = _json(a.get("gen_ai.system_instructions"))
    if system is not None and (text := _content_text(system)):
        out.append(("system", text))
    structured = _json(a.get("gen_ai.input.messages"))
    if isinstance(structured, list):
        out += [(str(m.get("role") or "user"), _content_text(m)) for m in structured if isinstance(m, dict)]
        return [m for m in out if m[1]]
    for prefix, content in (("llm.input_messages", "message.content"), ("gen_ai.prompt", "content")):
        indexed = _indexed(a, prefix)
        if indexed:
            for item in indexed:
                role = _text(item.get("message.role") or item.get("role")) or "user"
                text = _text(item.get(content)) or _parts_text(item, "message.contents")
                if text:
                    out.append((role, text))
            return out
    for event in span.events:
        if event.name in (
            "gen_ai.system.message",
            "gen_ai.user.message",
            "gen_ai.assistant.message",
            "gen_ai.tool.message",
        ):
            role = event.name.split(".")[1]
            body = event.attributes.get("content", event.attributes.get("gen_ai.event.content"))
            if text := _content_text(_json(body)):
                out.append((role, text))
        elif event.name == "gen_ai.content.prompt":
            prompt = _json(event.attributes.get("gen_ai.prompt"))
            if isinstance(prompt, list):
                out += [(str(m.get("role") or "user"), _content_text(m)) for m in prompt if isinstance(m, dict)]
            elif text := _content_text(prompt):
                out.append(("user", text))
    if out:
        return [m for m in out if m[1]]
    value = _json(a.get("input.value"))
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return [
            (str(m.get("role") or "user"), _content_text(m))
            for m in value["messages"]
            if isinstance(m, dict) and _content_text(m)
        ]
    plain = _content_text(value) or _text(a.get("gen_ai.prompt"))
    return [("user", plain)] if plain else []


def output_text(span: Span) -> str | None:
    """The model's answer (the first choice), from the first convention the span carries; None if absent."""
    a = span.attributes
    structured = _json(a.get("gen_ai.output.messages"))
    if isinstance(structured, list) and structured:
        first = structured[0]
        return _content_text(first) if isinstance(first, dict) else None
    for prefix, content in (("llm.output_messages", "message.content"), ("gen_ai.completion", "content")):
        indexed = _indexed(a, prefix)
        if indexed:
            item = indexed[0]
            return _text(item.get(content)) or _parts_text(item, "message.contents")
    for event in span.events:
        if event.name == "gen_ai.choice":
            message = _json(event.attributes.get("message", event.attributes.get("gen_ai.event.content")))
            if message is not None:
                return _content_text(message)
        elif event.name == "gen_ai.content.completion":
            completion = _json(event.attributes.get("gen_ai.completion"))
            if isinstance(completion, list) and completion:
                return _content_text(completion[0])
            if completion is not None:
                return _content_text(completion)
    value = _json(a.get("output.value"))
    if isinstance(value, dict) and isinstance(value.get("choices"), list) and value["choices"]:
        choice = value["choices"][0]
        if isinstance(choice, dict):
            return _content_text(choice.get("message") or choice.get("text") or "")
    if value is not None:
        return _content_text(value)
    completion = _text(a.get("gen_ai.completion"))
    return completion


def render_messages(messages: list[tuple[str, str]]) -> str:
    """One text for the judge: a lone user message as is, else `role: text` blocks."""
    if len(messages) == 1 and messages[0][0] == "user":
        return messages[0][1]
    return "\n\n".join(f"{role}: {text}" for role, text in messages)


def _content_text(value: Any) -> str:
    """Text of a message, a part list, a content field (string or parts), or a plain value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(t for t in (_content_text(v) for v in value) if t)
    if isinstance(value, dict):
        if "parts" in value:
            return _content_text(value["parts"])
        if "content" in value:
            return _content_text(value["content"])
        if value.get("type") in (None, "text", "output_text", "input_text") and "text" in value:
            return _content_text(value["text"])
        if "message" in value:
            return _content_text(value["message"])
        return ""
    return str(value)


def _parts_text(item: Mapping[str, Any], prefix: str) -> str:
    parts = _indexed(item, prefix)
    return "\n".join(t for p in parts if (t := _text(p.get("message_content.text"))))


def _indexed(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """`prefix.N.rest` attributes grouped by N, in index order: [{rest: value}, ...]."""
    groups: dict[int, dict[str, Any]] = {}
    dotted = prefix + "."
    for key, value in attrs.items():
        if not key.startswith(dotted):
            continue
        head, _, rest = key[len(dotted) :].partition(".")
        if head.isdigit() and rest:
            groups.setdefault(int(head), {})[rest] = value
    return [groups[n] for n in sorted(groups)]


# ---------------------------------------------------------------------------------------------- other fields
def _context(span: Span, retrieved: list[str]) -> str | list[str] | None:
    explicit = _attr(span, "evalgate.context")
    if isinstance(explicit, str) and explicit.strip():
        return explicit
    if isinstance(explicit, list):
        docs = [d for d in (_text(x) for x in explicit) if d]
        if docs:
            return docs
    docs = _retrieval_documents(span.attributes) + retrieved
    return docs or None


def _retrieval_documents(attrs: Mapping[str, Any]) -> list[str]:
    return [d for item in _indexed(attrs, "retrieval.documents") if (d := _text(item.get("document.content")))]


def _environment(span: Span) -> str:
    raw = _attr(span, "deployment.environment.name")
    if raw is None:
        raw = _attr(span, "deployment.environment")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "production"
    name = str(raw).strip().lower()
    if name not in ENVIRONMENTS:
        raise Rejected(
            f"span {span.span_hex}: deployment.environment {str(raw)[:50]!r} is not production or staging "
            "(auto-eval judges those two)"
        )
    return ENVIRONMENTS[name]


def _attr(span: Span, name: str) -> Any:
    """A span attribute, else the resource's."""
    value = span.attributes.get(name)
    return span.resource.get(name) if value is None else value


def _whole(span: Span, name: str, low: int, high: int) -> int | None:
    raw = _attr(span, name)
    if raw is None or raw == "":
        return None
    number: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, float) and raw.is_integer():
        number = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit():
        number = int(raw.strip())
    if number is None or not low <= number <= high:
        raise Rejected(f"span {span.span_hex}: {name} must be a whole number {low}-{high}, not {str(raw)[:40]!r}")
    return number


def _prompt_ref(span: Span) -> str | None:
    """`evalgate.prompt_id`: the app's identifier of the prompt (a string, or an int meaning its digits)."""
    raw = _attr(span, "evalgate.prompt_id")
    if raw is None or raw == "":
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        raw = raw.strip()
    try:
        return prompt_ref(raw)
    except ValueError:
        raise Rejected(
            f"span {span.span_hex}: evalgate.prompt_id must be a prompt identifier (1-128 letters, digits, "
            f"._:/@+-) or a whole number, not {str(raw)[:40]!r}"
        ) from None


def _tokens(span: Span, *names: str) -> int | None:
    for name in names:
        if span.attributes.get(name) is not None:
            return _whole(span, name, 0, MAX_TOKENS)
    return None


def _cost(span: Span) -> float | None:
    for name in ("evalgate.cost_usd", "gen_ai.usage.cost", "llm.cost.total"):
        raw = _attr(span, name)
        if raw is None:
            continue
        try:
            cost = float(raw)
        except (TypeError, ValueError):
            cost = math.nan
        if not (math.isfinite(cost) and 0 <= cost <= MAX_COST_USD):
            raise Rejected(f"span {span.span_hex}: {name} must be a number of dollars 0-{MAX_COST_USD:g}")
        return cost
    return None


def _finish_reasons(a: Mapping[str, Any]) -> list[str]:
    raw = a.get("gen_ai.response.finish_reasons")
    if isinstance(raw, list):
        return [str(r) for r in raw]
    if isinstance(raw, str):
        return [raw]
    indexed = [r for item in _indexed(a, "gen_ai.completion") if (r := _text(item.get("finish_reason")))]
    single = _text(a.get("llm.finish_reason"))  # OpenInference
    return indexed or ([single] if single else [])


def _first_text(a: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        if (text := _text(a.get(name))) is not None:
            return text
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _json(value: Any) -> Any:
    """A JSON-encoded attribute (conventions put message lists in string attributes) decoded; else as is."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
