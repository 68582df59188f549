"""OpenTelemetry in, over HTTP on the local runtime: a small app calls an OpenAI-compatible stub model through
the real `openai` client, instrumented by OpenInference's OpenAI instrumentation; the real OpenTelemetry SDK
exports its spans with the real OTLP/HTTP exporters (protobuf with gzip, then JSON), configured only by the
environment variables the README tells a team to set. Auto-eval then judges that traffic and reports drift."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JsonExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as ProtobufExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tests.e2e.conftest import Runtime
from tests.e2e.test_auto_eval import run_job, wait_for


class StubModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat completions endpoint: answers from the question; every `fail_every`-th answer
    carries the offline judge's failure marker (a model gone bad)."""

    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    fail_every = 0
    calls = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        question = request["messages"][-1]["content"]
        order = question.split("order ")[1].split(" ")[0]
        with StubModel.lock:
            StubModel.calls += 1
            bad = StubModel.fail_every and StubModel.calls % StubModel.fail_every == 0
        answer = f"Order {order} ships today from the warehouse." + (" [[fail]]" if bad else "")
        body = json.dumps(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": 1_800_000_000,
                "model": request["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Recording(SpanExporter):
    """The real exporter, with each export's result kept (the batch processor otherwise swallows failures)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[tuple[int, SpanExportResult]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append((len(spans), result))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


@pytest.fixture(scope="module")
def stub_model() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def run_app(stub_url: str, exporter: SpanExporter, model: str, orders: range) -> Recording:
    """The instrumented app: per question, a request span, an OpenInference RETRIEVER span (the context) and
    the chat completion the instrumentation records; then the batch processor flushes to evalgate."""
    import openai

    recording = Recording(exporter)
    provider = TracerProvider(resource=Resource.create())  # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
    provider.add_span_processor(BatchSpanProcessor(recording, max_export_batch_size=25, schedule_delay_millis=60_000))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=stub_url, api_key="sk-stub", max_retries=0)
        tracer = provider.get_tracer("shop-bot")
        for order in orders:
            with tracer.start_as_current_span("POST /ask"):
                with tracer.start_as_current_span("retrieve orders") as retrieval:
                    retrieval.set_attribute("openinference.span.kind", "RETRIEVER")
                    retrieval.set_attribute(
                        "retrieval.documents.0.document.content", f"Order {order} ships today from the warehouse."
                    )
                client.chat.completions.create(
                    model=model,
                    temperature=0,
                    messages=[
                        {"role": "system", "content": "Answer from the order records."},
                        {"role": "user", "content": f"When does order {order} ship?"},
                    ],
                )
        assert provider.force_flush(30_000)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    return recording


def test_otel_traffic_is_judged_by_auto_eval(
    runtime: Runtime, admin: requests.Session, stub_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = f"gpt-otel-{uuid.uuid4().hex[:8]}"
    prompt = admin.post(runtime.url("/api/prompts"), json={"name": f"otel {model}", "template": "{{question}}"})
    assert prompt.status_code == 201, prompt.text
    prompt_id = prompt.json()["id"]
    member = admin.post(
        runtime.url(f"/api/v1/projects/{runtime.project_id}/api-keys"), json={"name": "otel exporter", "role": "member"}
    ).json()["key"]
    # Given the three variables of the README on the app (and nothing else about evalgate in its code)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", runtime.base_url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{member}")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"deployment.environment=production,evalgate.prompt_id={prompt_id}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-bot")

    # When the app answers 30 questions well, exported as protobuf with gzip
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    StubModel.fail_every = 0
    sent = run_app(stub_model, ProtobufExporter(), model, range(30))
    # Then every export succeeded (30 x 3 spans in batches of 25) and the 30 chat spans are traces
    assert sum(n for n, _ in sent.results) == 90
    assert {r for _, r in sent.results} == {SpanExportResult.SUCCESS}
    listed = admin.get(
        runtime.url("/api/v1/traces"),
        params={"model": model, "prompt_id": prompt_id, "environment": "production", "limit": 100},
    ).json()["items"]
    assert len(listed) == 30
    one = listed[0]
    assert one["input"]["input"].startswith("system: Answer from the order records.\n\nuser: When does order")
    assert one["output"].endswith("ships today from the warehouse.")
    assert one["context"] == [one["output"]]
    assert (one["input_tokens"], one["output_tokens"]) == (20, 9) and one["latency_ms"] > 0
    assert one["metadata"]["otel"]["service"] == "shop-bot" and one["id"].startswith("otel-")

    # and a baseline auto-eval job over the target judges them (30: the report's minimum sample on each side)
    target = {"model": model, "prompt_id": prompt_id}
    baseline_id = run_job(runtime, admin, target, 30)
    baseline = wait_for(runtime, admin, baseline_id)
    assert baseline["status"] == "completed", baseline
    assert baseline["progress"]["scored"] == 30 and baseline["report"]["verdict"] == "inconclusive"

    # When the model goes bad (every second answer fails) and the app now exports OTLP/JSON
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_COMPRESSION")
    StubModel.fail_every, StubModel.calls = 2, 0
    sent = run_app(stub_model, JsonExporter(), model, range(1000, 1032))
    assert {r for _, r in sent.results} == {SpanExportResult.SUCCESS}
    # Then the next job samples the new traffic and reports the drift
    current = wait_for(runtime, admin, run_job(runtime, admin, target, 30))
    assert current["status"] == "completed" and current["baseline_job_id"] == baseline_id
    report = current["report"]
    assert report["has_drift"] is True and report["verdict"] == "drift", report
    assert report["overall_delta"] < 0
    assert report["hallucinations"] and all(h["trace_id"].startswith("otel-") for h in report["hallucinations"])
