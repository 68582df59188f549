"""evalgate.otlp.genai: LLM spans of the three conventions (GenAI semconv, OpenInference, OpenLLMetry) become
trace fields; other spans are ignored; LLM spans that cannot be stored are rejected with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from evalgate.otlp import genai, wire
from tests.unit.otlp.spans import failed, genai_chat, protobuf, record


def mapped(build: Any, resource: dict[str, Any] | None = None) -> genai.SpanMapping:
    return genai.map_spans(wire.decode_protobuf(protobuf(record(build, resource))))


def test_genai_semconv_span_becomes_a_trace() -> None:
    # Given an app span around a GenAI chat span (latest conventions), on a staging deployment with a prompt id
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("POST /ask"), tracer.start_as_current_span("chat gpt-4o-mini") as span:
            genai_chat(span, **{"evalgate.prompt_version": 2})

    result = mapped(app, {"deployment.environment.name": "staging", "evalgate.prompt_id": 7})
    # Then the chat span is one trace and the HTTP span is ignored
    assert result.ignored == 1 and result.rejected == []
    (trace,) = result.traces
    assert trace["model"] == "gpt-4o-mini"
    assert trace["input"] == {"input": "Capital of France?"} and trace["output"] == "Paris."
    assert (trace["input_tokens"], trace["output_tokens"]) == (11, 3)
    assert (trace["environment"], trace["prompt_id"], trace["prompt_version"]) == ("staging", "7", 2)
    assert trace["id"].startswith("otel-") and len(trace["id"]) == 5 + 32 + 1 + 16
    assert trace["latency_ms"] is not None and trace["latency_ms"] >= 0
    assert isinstance(trace["timestamp"], datetime) and trace["timestamp"].tzinfo == UTC
    otel = trace["metadata"]["otel"]
    assert otel["system"] == "openai" and otel["response_model"] == "gpt-4o-mini-2024-07-18"
    assert otel["finish_reasons"] == ["stop"] and otel["service"] == "shop-bot" and otel["parent_span_id"]


def test_openinference_llm_span_with_retrieved_context() -> None:
    # Given an OpenInference RETRIEVER span and an LLM span of the same trace
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("rag"):
            with tracer.start_as_current_span("retrieve") as r:
                r.set_attribute("openinference.span.kind", "RETRIEVER")
                r.set_attribute("retrieval.documents.0.document.content", "Paris is the capital of France.")
                r.set_attribute("retrieval.documents.1.document.content", "France is in Europe.")
            with tracer.start_as_current_span("ChatCompletion") as s:
                s.set_attribute("openinference.span.kind", "LLM")
                s.set_attribute("llm.model_name", "gpt-4o")
                s.set_attribute("llm.input_messages.0.message.role", "system")
                s.set_attribute("llm.input_messages.0.message.content", "Answer from the context.")
                s.set_attribute("llm.input_messages.1.message.role", "user")
                s.set_attribute("llm.input_messages.1.message.content", "Capital of France?")
                s.set_attribute("llm.output_messages.0.message.role", "assistant")
                s.set_attribute("llm.output_messages.0.message.content", "Paris.")
                s.set_attribute("llm.token_count.prompt", 40)
                s.set_attribute("llm.token_count.completion", 2)
                s.set_attribute("llm.cost.total", 0.00012)

    result = mapped(app)
    # Then the LLM span is a trace whose context is the retrieved documents; the chain and retriever are ignored
    assert result.ignored == 2
    (trace,) = result.traces
    assert trace["model"] == "gpt-4o" and trace["output"] == "Paris."
    assert trace["input"] == {"input": "system: Answer from the context.\n\nuser: Capital of France?"}
    assert trace["context"] == ["Paris is the capital of France.", "France is in Europe."]
    assert (trace["input_tokens"], trace["output_tokens"], trace["cost_usd"]) == (40, 2, 0.00012)
    assert trace["metadata"]["messages"][0] == {"role": "system", "content": "Answer from the context."}


def test_openinference_input_and_output_values() -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("llm") as s:
            s.set_attribute("openinference.span.kind", "LLM")
            s.set_attribute("llm.model_name", "gpt-4o")
            s.set_attribute("input.value", json.dumps({"messages": [{"role": "user", "content": "Hi?"}]}))
            s.set_attribute("output.value", json.dumps({"choices": [{"message": {"content": "Hello!"}}]}))

    (trace,) = mapped(app).traces
    assert trace["input"] == {"input": "Hi?"} and trace["output"] == "Hello!"


def test_openllmetry_indexed_prompt_and_completion() -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("openai.chat") as s:
            s.set_attribute("llm.request.type", "chat")
            s.set_attribute("gen_ai.system", "OpenAI")
            s.set_attribute("gen_ai.request.model", "gpt-3.5-turbo")
            s.set_attribute("gen_ai.prompt.0.role", "user")
            s.set_attribute("gen_ai.prompt.0.content", "Tell me a joke")
            s.set_attribute("gen_ai.completion.0.role", "assistant")
            s.set_attribute("gen_ai.completion.0.content", "Why did the chicken...")
            s.set_attribute("gen_ai.completion.0.finish_reason", "stop")
            s.set_attribute("gen_ai.usage.prompt_tokens", 5)
            s.set_attribute("gen_ai.usage.completion_tokens", 6)
            s.set_attribute("evalgate.context", ["jokes are short"])

    (trace,) = mapped(app).traces
    assert trace["input"] == {"input": "Tell me a joke"} and trace["output"] == "Why did the chicken..."
    assert (trace["input_tokens"], trace["output_tokens"]) == (5, 6)
    assert trace["context"] == ["jokes are short"] and trace["metadata"]["otel"]["finish_reasons"] == ["stop"]


def test_genai_span_events() -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("chat") as s:
            s.set_attribute("gen_ai.operation.name", "chat")
            s.set_attribute("gen_ai.request.model", "claude-3-5-haiku")
            s.add_event("gen_ai.system.message", {"content": "Be brief."})
            s.add_event("gen_ai.user.message", {"content": "2+2?"})
            s.add_event("gen_ai.choice", {"index": 0, "message": json.dumps({"role": "assistant", "content": "4"})})

    (trace,) = mapped(app).traces
    assert trace["input"] == {"input": "system: Be brief.\n\nuser: 2+2?"} and trace["output"] == "4"


def test_spans_without_llm_attributes_and_non_generating_operations_are_ignored() -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("GET /health") as s:
            s.set_attribute("http.method", "GET")
        with tracer.start_as_current_span("embeddings") as s:
            s.set_attribute("gen_ai.operation.name", "embeddings")
            s.set_attribute("gen_ai.request.model", "text-embedding-3-small")
        with tracer.start_as_current_span("tool") as s:
            s.set_attribute("openinference.span.kind", "TOOL")

    result = mapped(app)
    assert (result.traces, result.rejected, result.ignored) == ([], [], 3)


@pytest.mark.parametrize(
    ("extra", "resource", "reason"),
    [
        ({"gen_ai.request.model": "", "gen_ai.response.model": ""}, {}, "no model"),
        ({"gen_ai.output.messages": "[]"}, {}, None),  # an empty list: the first-choice text is absent
        ({"evalgate.prompt_id": "seven days#1"}, {}, "evalgate.prompt_id must be a prompt identifier"),
        ({"gen_ai.usage.input_tokens": -1}, {}, "gen_ai.usage.input_tokens must be a whole number"),
        ({}, {"deployment.environment": "dev"}, "is not production or staging"),
        ({"evalgate.cost_usd": "lots"}, {}, "evalgate.cost_usd must be a number"),
    ],
    ids=["no model", "no output", "bad prompt id", "negative tokens", "unknown environment", "bad cost"],
)
def test_llm_spans_that_cannot_be_stored_are_rejected_with_the_reason(
    extra: dict[str, Any], resource: dict[str, Any], reason: str | None
) -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("good") as ok:
            genai_chat(ok)
        with tracer.start_as_current_span("bad") as bad:
            genai_chat(bad)
            for key, value in extra.items():
                bad.set_attribute(key, value)

    result = mapped(app, resource)
    if resource:  # the resource applies to both spans
        assert result.traces == [] and len(result.rejected) == 2
    else:
        assert len(result.traces) == 1 and len(result.rejected) == 1
    assert reason is None or reason in result.rejected[0][1], result.rejected


def test_failed_calls_are_rejected_not_judged() -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("chat") as s:
            genai_chat(s)
            failed(s)

    result = mapped(app)
    assert result.traces == [] and "the call failed (rate limited)" in result.rejected[0][1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("prod", "production"), ("Production", "production"), ("stg", "staging"), ("", "production")],
)
def test_environment_names(value: str, expected: str) -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("chat") as s:
            genai_chat(s)

    (trace,) = mapped(app, {"deployment.environment": value}).traces
    assert trace["environment"] == expected


def test_span_attribute_wins_over_resource_and_same_span_id_gives_same_id() -> None:
    def app(tracer: Any) -> None:
        with tracer.start_as_current_span("chat") as s:
            genai_chat(s, **{"evalgate.prompt_id": 3})

    spans = wire.decode_protobuf(protobuf(record(app, {"evalgate.prompt_id": 9})))
    first = genai.map_spans(spans).traces[0]
    again = genai.map_spans(spans).traces[0]
    assert first["prompt_id"] == "3" and first["id"] == again["id"]
