"""evalgate.otlp.wire: requests encoded by the OpenTelemetry SDK's own encoders decode to the same spans in
both encodings; malformed bodies are refused with a reason; responses decode with the official messages."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from evalgate.errors import InvalidInput
from evalgate.otlp import wire
from tests.unit.otlp.spans import genai_chat, otlp_json, protobuf, record


def _app(tracer: Any) -> None:
    with tracer.start_as_current_span("handle request") as parent:
        parent.set_attribute("http.route", "/ask")
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            genai_chat(span, **{"x.float": 0.25, "x.bool": True, "x.list": ["a", "b"], "x.neg": -7})
            span.add_event("gen_ai.choice", {"index": 0, "message": '{"content":"Paris."}'})


def test_both_encodings_decode_to_the_same_spans() -> None:
    # Given two spans recorded by the real SDK
    spans = record(_app, {"deployment.environment": "staging"})
    # When the SDK's protobuf and JSON encodings are decoded
    from_pb = wire.decode_protobuf(protobuf(spans))
    from_json = wire.decode_json(otlp_json(spans))
    # Then they agree with each other and with the SDK's spans
    assert from_pb == from_json
    by_name = {s.name: s for s in from_pb}
    chat, parent = by_name["chat gpt-4o-mini"], by_name["handle request"]
    sdk_chat = next(s for s in spans if s.name == "chat gpt-4o-mini")
    assert chat.trace_id == sdk_chat.context.trace_id.to_bytes(16, "big")
    assert chat.span_id == sdk_chat.context.span_id.to_bytes(8, "big")
    assert chat.parent_span_id == parent.span_id
    assert chat.start_unix_nano == sdk_chat.start_time and chat.end_unix_nano == sdk_chat.end_time
    assert chat.attributes["gen_ai.usage.input_tokens"] == 11
    assert chat.attributes["x.float"] == 0.25 and chat.attributes["x.bool"] is True
    assert chat.attributes["x.list"] == ["a", "b"] and chat.attributes["x.neg"] == -7
    assert chat.events[0].name == "gen_ai.choice" and chat.events[0].attributes["index"] == 0
    assert chat.resource["service.name"] == "shop-bot" and chat.resource["deployment.environment"] == "staging"
    assert chat.scope == "tests"


def test_every_value_type_and_status_of_a_hand_built_message() -> None:
    # Given a request built with the official protobuf classes (kvlist, bytes, status)
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "svc"
    span = rs.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "s"
    kv = span.attributes.add(key="nested").value.kvlist_value.values.add(key="inner")
    kv.value.double_value = -1.5
    span.attributes.add(key="blob").value.bytes_value = b"\xff\x00"
    span.status.code = PbSpan.SPAN_KIND_INTERNAL + 1  # STATUS_CODE_ERROR = 2
    span.status.message = "boom"
    # When decoded
    (decoded,) = wire.decode_protobuf(request.SerializeToString())
    # Then
    assert decoded.attributes == {"nested": {"inner": -1.5}, "blob": base64.b64encode(b"\xff\x00").decode()}
    assert decoded.status_code == wire.STATUS_ERROR and decoded.status_message == "boom"
    assert decoded.resource == {"service.name": "svc"}


def test_truncated_protobuf_is_refused_at_every_cut() -> None:
    body = protobuf(record(_app))
    # the body is one length-delimited resource_spans field: a cut anywhere inside it is refused
    with pytest.raises(InvalidInput, match="malformed OTLP protobuf"):
        wire.decode_protobuf(body[:-1])
    refused = 0
    for cut in range(1, len(body), 7):
        try:
            wire.decode_protobuf(body[:cut])
        except InvalidInput:
            refused += 1
    assert refused == len(range(1, len(body), 7))


@pytest.mark.parametrize(
    "body",
    [b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\x0b", b"\x08\x01", b"\x00\x01", b"\x0a\x02\x2a\x80"],
    ids=["varint too long", "group wire type", "resource_spans as varint", "field 0", "truncated nested"],
)
def test_malformed_protobuf_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        wire.decode_protobuf(body)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"resourceSpans": {}}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId": 5}]}]}]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano": "soon"}]}]}]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId": "zz"}]}]}]}',
    ],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput, match="malformed OTLP/JSON"):
        wire.decode_json(body)


def test_json_reads_snake_case_names_and_base64_ids() -> None:
    body = {
        "resource_spans": [
            {
                "scope_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": base64.b64encode(b"\x0a" * 16).decode(),
                                "span_id": "0b0b0b0b0b0b0b0b",
                                "start_time_unix_nano": 1_700_000_000_000_000_000,
                                "attributes": [{"key": "n", "value": {"int_value": "42"}}],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (span,) = wire.decode_json(json.dumps(body).encode())
    assert span.trace_id == b"\x0a" * 16 and span.span_id == b"\x0b" * 8
    assert span.start_unix_nano == 1_700_000_000_000_000_000 and span.attributes == {"n": 42}


def test_responses_decode_with_the_official_messages() -> None:
    assert wire.export_response_protobuf(0, "") == b""
    reply = ExportTraceServiceResponse.FromString(wire.export_response_protobuf(3, "3 spans rejected"))
    assert reply.partial_success.rejected_spans == 3
    assert reply.partial_success.error_message == "3 spans rejected"
    assert wire.export_response_json(2, "why") == {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "why"}}
    from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]

    status = Status.FromString(wire.status_protobuf(3, "bad payload"))
    assert (status.code, status.message) == (3, "bad payload")
