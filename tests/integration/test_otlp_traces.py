"""POST /v1/traces (OTLP/HTTP) in-process on moto: spans recorded by the real OpenTelemetry SDK and encoded by
its own encoders become traces the JSON route lists; re-sent spans are stored once; bad payloads get the
status OTLP specifies with a Status body in the request's encoding; partial success keeps every valid span."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from evalgate import keys
from evalgate.errors import Unavailable
from evalgate.services import container as container_module
from local.http_front import build_event
from tests.integration.conftest import APP, FakeContext, Stack, key_for, load_function
from tests.unit.otlp.spans import genai_chat, otlp_json, protobuf, record

PB = "application/x-protobuf"
JSON = "application/json"


def export(
    stack: Stack, key: str | None, body: bytes, content_type: str | None = PB, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """POST /v1/traces as API Gateway would deliver it; the raw response body (base64 undone)."""
    all_headers = {k.replace("_", "-"): v for k, v in headers.items()}
    if content_type:
        all_headers["content-type"] = content_type
    if key:
        all_headers["authorization"] = f"Bearer {key}"
    route, params = APP.match("POST", "/v1/traces") or (None, None)
    assert route is not None
    event = build_event(
        "POST", "/v1/traces", "", list(all_headers.items()), body, route.route_key, params or {}, "127.0.0.1", "x"
    )
    result = load_function(route.function).lambda_handler(event, FakeContext())
    raw = result.get("body") or ""
    data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    return result["statusCode"], dict(result.get("headers") or {}), data


def listed(stack: Stack, key: str) -> list[dict[str, Any]]:
    reply = stack.call("GET", "/api/v1/traces", key=key, query="limit=100")
    assert reply.status == 200, reply.text
    return list(reply.json()["items"])


def app_spans(tracer: Any, n: int = 1, answer: str = "answer", **attrs: Any) -> None:
    with tracer.start_as_current_span("POST /ask"):
        for i in range(n):
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                genai_chat(span, question=f"question {i}", answer=f"{answer} {i}", **attrs)


def spans_header(headers: dict[str, str]) -> dict[str, int]:
    return {k: int(v) for k, v in (part.split("=") for part in headers["X-Evalgate-Spans"].split("; "))}


def test_protobuf_export_stores_llm_spans_once_in_either_encoding(stack: Stack, admin: str) -> None:
    member = key_for(admin, stack, "member")
    # Given an app's spans: one HTTP span around two GenAI chat spans, on a deployment with a prompt id
    spans = record(lambda t: app_spans(t, 2), {"deployment.environment": "production", "evalgate.prompt_id": 4})
    # When a member key exports them as protobuf
    status, headers, body = export(stack, member, protobuf(spans))
    # Then 200 in protobuf with no partial success, and the chat spans are traces
    assert status == 200 and headers["Content-Type"] == PB and body == b""
    assert spans_header(headers) == {"received": 3, "stored": 2, "duplicate": 0, "ignored": 1, "rejected": 0}
    traces = sorted(listed(stack, member), key=lambda t: t["input"]["input"])
    assert [t["output"] for t in traces] == ["answer 0", "answer 1"]
    first = traces[0]
    assert (first["model"], first["prompt_id"], first["environment"]) == ("gpt-4o-mini", "4", "production")
    assert (first["input_tokens"], first["output_tokens"]) == (11, 3)
    assert first["cost_usd"] == pytest.approx((11 * 0.15 + 3 * 0.60) / 1e6)  # priced from the gateway's table
    assert first["metadata"]["otel"]["service"] == "shop-bot"
    # When the same spans come again, as protobuf and then as OTLP/JSON (gzip)
    again = export(stack, member, protobuf(spans))
    status, headers, body = export(stack, member, gzip.compress(otlp_json(spans)), JSON, content_encoding="gzip")
    # Then nothing new is stored, and the JSON answer is JSON
    assert spans_header(again[1])["duplicate"] == 2 and spans_header(again[1])["stored"] == 0
    assert status == 200 and headers["Content-Type"] == JSON and json.loads(body) == {}
    assert spans_header(headers)["duplicate"] == 2
    assert len(listed(stack, member)) == 2


def test_a_batch_mixing_valid_and_invalid_spans_is_a_partial_success(stack: Stack, admin: str) -> None:
    old = int((datetime.now(UTC) - timedelta(days=400)).timestamp() * 1e9)

    def build(tracer: Any) -> None:
        app_spans(tracer, 3)
        with tracer.start_as_current_span("no model") as span:
            genai_chat(span, **{"gen_ai.request.model": "", "gen_ai.response.model": ""})
        with tracer.start_as_current_span("bad prompt id") as span:
            genai_chat(span, **{"evalgate.prompt_id": "v2 #1"})
        with tracer.start_as_current_span("ancient", start_time=old) as span:
            genai_chat(span)
        with tracer.start_as_current_span("health check") as span:
            span.set_attribute("http.route", "/health")

    status, headers, body = export(stack, admin, protobuf(record(build)))
    assert status == 200
    reply = ExportTraceServiceResponse.FromString(body)
    assert reply.partial_success.rejected_spans == 3
    message = reply.partial_success.error_message
    assert message.startswith("3 of 6 LLM spans rejected") and "no model" in message
    assert "evalgate.prompt_id must be a prompt identifier" in message and "older than the retention window" in message
    assert spans_header(headers) == {"received": 8, "stored": 3, "duplicate": 0, "ignored": 2, "rejected": 3}
    assert len(listed(stack, admin)) == 3  # every valid span kept

    # the same in JSON: partialSuccess in proto3 JSON
    status, _, body = export(stack, admin, otlp_json(record(build)), JSON)
    partial = json.loads(body)["partialSuccess"]
    assert status == 200 and partial["rejectedSpans"] == "3" and "no model" in partial["errorMessage"]


def test_spans_without_llm_attributes_are_accepted_and_ignored(stack: Stack, admin: str) -> None:
    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("GET /") as span:
            span.set_attribute("http.method", "GET")
        with tracer.start_as_current_span("SELECT"):
            pass

    status, headers, body = export(stack, admin, protobuf(record(build)))
    assert (status, body) == (200, b"")
    assert spans_header(headers) == {"received": 2, "stored": 0, "duplicate": 0, "ignored": 2, "rejected": 0}
    assert listed(stack, admin) == []


def test_a_large_output_goes_to_s3_like_any_trace(stack: Stack, admin: str) -> None:
    answer = "long answer " * 6_000  # 72 KB: above the 50 KB kept in the item
    spans = record(lambda t: app_spans(t, 1, answer=answer))
    status, _, _ = export(stack, admin, protobuf(spans))
    assert status == 200
    (trace,) = listed(stack, admin)
    assert trace["output"] == answer + " 0"
    project_id = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    item = stack.client("dynamodb").get_item(
        TableName=stack.names.refs["Table"],
        Key={k: {"S": v} for k, v in keys.trace(project_id, trace["id"]).items()},
    )["Item"]
    assert "bodyKey" in item and "body" not in item
    assert int(item["ttl"]["N"]) > int(datetime.now(UTC).timestamp())


def test_truncated_protobuf_is_400_with_a_status_and_stores_nothing(stack: Stack, admin: str) -> None:
    body = protobuf(record(lambda t: app_spans(t, 2)))
    status, headers, reply = export(stack, admin, body[: len(body) // 2])
    assert status == 400 and headers["Content-Type"] == PB
    error = Status.FromString(reply)
    assert error.code == 3 and "malformed OTLP protobuf" in error.message
    assert listed(stack, admin) == []


@pytest.mark.parametrize(
    ("content_type", "headers", "status", "text"),
    [
        ("text/plain", {}, 415, "application/x-protobuf or application/json"),
        (None, {}, 415, "without Content-Type"),
        (PB, {"content_encoding": "br"}, 415, "Content-Encoding br"),
        (PB, {"content_encoding": "gzip"}, 400, "not valid gzip"),
        (JSON, {}, 400, "malformed OTLP/JSON"),
    ],
    ids=["wrong content type", "no content type", "unsupported encoding", "bad gzip", "protobuf sent as JSON"],
)
def test_unreadable_requests(
    stack: Stack, admin: str, content_type: str | None, headers: dict[str, str], status: int, text: str
) -> None:
    body = protobuf(record(lambda t: app_spans(t, 1)))
    got, _, reply = export(stack, admin, body, content_type, **headers)
    assert got == status
    if content_type == PB:
        assert text in Status.FromString(reply).message
    else:  # evalgate's error body with the Status fields beside it
        error = json.loads(reply)
        assert text in error["message"] and error["code"] == 3 and text in error["error"]["message"]
    assert listed(stack, admin) == []


def test_oversize_batches_are_413(stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # too many spans (the limit is lowered so the test stays small)
    monkeypatch.setattr("evalgate.services.otlp.MAX_SPANS_PER_REQUEST", 3)
    status, _, reply = export(stack, admin, protobuf(record(lambda t: app_spans(t, 3))))  # 4 spans
    assert status == 413 and "at most 3 spans" in Status.FromString(reply).message
    # a gzip body that inflates past the cap
    monkeypatch.setattr("evalgate.services.otlp.MAX_INFLATED_BYTES", 1_000_000)
    status, _, reply = export(stack, admin, gzip.compress(b"\x00" * 1_000_001), content_encoding="gzip")
    assert status == 413 and "inflates to more than" in Status.FromString(reply).message
    # a body over the request limit
    monkeypatch.setenv("EVALGATE_MAX_BODY_BYTES", "1000")
    container_module.reset_container()
    from evalgate.settings import get_settings

    get_settings.cache_clear()
    try:
        status, _, reply = export(stack, admin, b"\x0a" * 1_001)
    finally:
        get_settings.cache_clear()
    assert status == 413 and "the limit is 1000 bytes" in Status.FromString(reply).message
    assert listed(stack, admin) == []


def test_keys_and_roles(stack: Stack, admin: str) -> None:
    body = protobuf(record(lambda t: app_spans(t, 1)))
    status, _, reply = export(stack, None, body)
    assert status == 401 and Status.FromString(reply).code == 16
    status, _, reply = export(stack, "eg_not-a-key", body, JSON)
    assert status == 401 and json.loads(reply)["error"]["code"] == "unauthorized"
    status, _, reply = export(stack, key_for(admin, stack, "viewer"), body)
    assert status == 403 and Status.FromString(reply).code == 7
    assert export(stack, key_for(admin, stack, "member"), body)[0] == 200


def test_throttling_is_429_or_503_with_retry_after(stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = protobuf(record(lambda t: app_spans(t, 1)))
    # a key over its per-minute limit
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "1")
    monkeypatch.setattr("evalgate.services.projects.time.time", lambda: 1_800_000_030.0)
    container_module.reset_container()
    assert export(stack, admin, body)[0] == 200
    status, headers, reply = export(stack, admin, body)
    assert status == 429 and headers["Retry-After"] == "30" and Status.FromString(reply).code == 8
    # the data store unreachable: 503, which OTLP exporters retry after Retry-After
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "0")
    container_module.reset_container()

    def down(*args: Any, **kwargs: Any) -> Any:
        raise Unavailable("the data store could not be reached")

    monkeypatch.setattr("evalgate.services.traces.ingest", down)
    spans = record(lambda t: app_spans(t, 1))
    status, headers, reply = export(stack, admin, otlp_json(spans), JSON)
    assert status == 503 and headers["Retry-After"] == "5" and json.loads(reply)["code"] == 14
