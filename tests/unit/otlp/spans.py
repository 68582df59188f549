"""Spans made by the real OpenTelemetry SDK (in memory, no exporter, no socket) and encoded by the SDK's own
OTLP encoders: what an instrumented app would send."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.json.common._internal.trace_encoder import encode_spans as encode_json
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_protobuf
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, Status, StatusCode


def record(build: Callable[[Any], None], resource: Mapping[str, Any] | None = None) -> Sequence[ReadableSpan]:
    """Run `build(tracer)` under a fresh provider and return the finished spans."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop-bot", **(resource or {})}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    build(provider.get_tracer("tests"))
    provider.shutdown()
    return memory.get_finished_spans()


def protobuf(spans: Sequence[ReadableSpan]) -> bytes:
    return bytes(encode_protobuf(spans).SerializeToString())


def otlp_json(spans: Sequence[ReadableSpan]) -> bytes:
    return str(encode_json(spans).to_json()).encode()


def genai_chat(
    span: Span,
    *,
    model: str = "gpt-4o-mini",
    question: str = "Capital of France?",
    answer: str = "Paris.",
    **extra: Any,
) -> None:
    """GenAI semantic conventions (latest): messages as JSON attributes."""
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.provider.name", "openai")
    span.set_attribute("gen_ai.request.model", model)
    span.set_attribute("gen_ai.response.model", model + "-2024-07-18")
    span.set_attribute("gen_ai.usage.input_tokens", 11)
    span.set_attribute("gen_ai.usage.output_tokens", 3)
    span.set_attribute("gen_ai.response.finish_reasons", ["stop"])
    span.set_attribute(
        "gen_ai.input.messages", f'[{{"role":"user","parts":[{{"type":"text","content":"{question}"}}]}}]'
    )
    span.set_attribute(
        "gen_ai.output.messages",
        f'[{{"role":"assistant","parts":[{{"type":"text","content":"{answer}"}}],"finish_reason":"stop"}}]',
    )
    for key, value in extra.items():
        span.set_attribute(key, value)


def failed(span: Span) -> None:
    span.set_status(Status(StatusCode.ERROR, "rate limited"))
