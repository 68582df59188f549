"""OTLP/HTTP trace requests and responses, both encodings, without the protobuf runtime.

`decode_protobuf` reads an `ExportTraceServiceRequest` (opentelemetry/proto/collector/trace/v1) straight from
the protobuf wire format; `decode_json` reads its OTLP/JSON form (hex trace and span ids, lowerCamelCase or
original field names, 64-bit integers as numbers or strings). Both give the same flat list of `Span`s, each
with its resource's and scope's attributes. Only the fields the mapping needs are kept; unknown fields are
skipped, as protobuf readers do. A malformed request raises `InvalidInput` (the endpoint's 400).

The encoders write the `ExportTraceServiceResponse` (with `partial_success`) and the `google.rpc.Status` of
an error, in either encoding. docs/decisions.md (issue 14) says why this is hand-written.
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from evalgate.errors import InvalidInput, SchemaViolation
from evalgate.models import strict_json

# Span.status.code
STATUS_ERROR = 2


@dataclass
class Event:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass
class Span:
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    kind: int
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    events: list[Event]
    status_code: int
    status_message: str
    resource: dict[str, Any] = field(default_factory=dict)  # shared by the spans of one ResourceSpans
    scope: str = ""

    @property
    def trace_hex(self) -> str:
        return self.trace_id.hex()

    @property
    def span_hex(self) -> str:
        return self.span_id.hex()


# ---------------------------------------------------------------------------------------------- protobuf
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _malformed(what: str) -> InvalidInput:
    return InvalidInput(f"malformed OTLP protobuf: {what}", field="body")


class _Reader:
    """Fields of one message in buf[pos:end]: (number, wire type, value); a LEN value is a (start, stop) pair."""

    __slots__ = ("buf",)

    def __init__(self, buf: bytes) -> None:
        self.buf = bytes(buf)

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        buf = self.buf
        result = shift = 0
        while True:
            if pos >= end:
                raise _malformed("truncated varint")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result, pos
            shift += 7
            if shift > 63:
                raise _malformed("varint longer than 10 bytes")

    def fields(self, pos: int, end: int) -> list[tuple[int, int, Any]]:
        # hot loop: one-byte varints (most keys, lengths and small numbers) are read inline
        out: list[tuple[int, int, Any]] = []
        append = out.append
        buf = self.buf
        while pos < end:
            key = buf[pos]
            if key < 0x80:
                pos += 1
            else:
                key, pos = self.varint(pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise _malformed("field number 0")
            value: Any
            if wire == _LEN:
                if pos < end and buf[pos] < 0x80:
                    size = buf[pos]
                    pos += 1
                else:
                    size, pos = self.varint(pos, end)
                stop = pos + size
                if stop > end:
                    raise _malformed("a length-delimited field runs past the end of its message (truncated?)")
                append((number, _LEN, (pos, stop)))
                pos = stop
                continue
            if wire == _VARINT:
                if pos < end and buf[pos] < 0x80:
                    value = buf[pos]
                    pos += 1
                else:
                    value, pos = self.varint(pos, end)
            elif wire == _I64:
                if pos + 8 > end:
                    raise _malformed("truncated 64-bit field")
                value = (pos, pos + 8)
                pos += 8
            elif wire == _I32:
                if pos + 4 > end:
                    raise _malformed("truncated 32-bit field")
                value = (pos, pos + 4)
                pos += 4
            else:
                raise _malformed(f"unsupported wire type {wire}")
            append((number, wire, value))
        return out

    def text(self, span: tuple[int, int], what: str) -> str:
        try:
            return self.buf[span[0] : span[1]].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(f"{what} is not UTF-8") from exc

    def raw(self, span: tuple[int, int]) -> bytes:
        return bytes(self.buf[span[0] : span[1]])

    def fixed64(self, span: tuple[int, int]) -> int:
        return int.from_bytes(self.buf[span[0] : span[1]], "little")


def _expect(wire: int, wanted: int, what: str) -> None:
    if wire != wanted:
        raise _malformed(f"{what} has wire type {wire}, expected {wanted}")


def decode_protobuf(data: bytes) -> list[Span]:
    """The spans of a protobuf-encoded ExportTraceServiceRequest."""
    r = _Reader(data)
    spans: list[Span] = []
    for number, wire, value in r.fields(0, len(data)):
        if number == 1:  # resource_spans
            _expect(wire, _LEN, "resource_spans")
            _resource_spans(r, value, spans)
    return spans


def _resource_spans(r: _Reader, where: tuple[int, int], out: list[Span]) -> None:
    resource: dict[str, Any] = {}
    scopes: list[tuple[int, int]] = []
    for number, wire, value in r.fields(*where):
        if number == 1:  # resource
            _expect(wire, _LEN, "resource")
            for n2, w2, v2 in r.fields(*value):
                if n2 == 1:
                    _expect(w2, _LEN, "resource.attributes")
                    _key_value(r, v2, resource)
        elif number == 2:  # scope_spans
            _expect(wire, _LEN, "scope_spans")
            scopes.append(value)
    for where_scope in scopes:
        scope = ""
        start = len(out)
        for number, wire, value in r.fields(*where_scope):
            if number == 1:  # scope
                _expect(wire, _LEN, "scope")
                for n2, w2, v2 in r.fields(*value):
                    if n2 == 1 and w2 == _LEN:
                        scope = r.text(v2, "scope.name")
            elif number == 2:  # spans
                _expect(wire, _LEN, "span")
                out.append(_span(r, value, resource))
        for span in out[start:]:
            span.scope = scope


def _span(r: _Reader, where: tuple[int, int], resource: dict[str, Any]) -> Span:
    span = Span(b"", b"", b"", "", 0, 0, 0, {}, [], 0, "", resource)
    for number, wire, value in r.fields(*where):
        if number == 1:
            _expect(wire, _LEN, "span.trace_id")
            span.trace_id = r.raw(value)
        elif number == 2:
            _expect(wire, _LEN, "span.span_id")
            span.span_id = r.raw(value)
        elif number == 4:
            _expect(wire, _LEN, "span.parent_span_id")
            span.parent_span_id = r.raw(value)
        elif number == 5:
            _expect(wire, _LEN, "span.name")
            span.name = r.text(value, "span.name")
        elif number == 6:
            _expect(wire, _VARINT, "span.kind")
            span.kind = value
        elif number == 7:
            _expect(wire, _I64, "span.start_time_unix_nano")
            span.start_unix_nano = r.fixed64(value)
        elif number == 8:
            _expect(wire, _I64, "span.end_time_unix_nano")
            span.end_unix_nano = r.fixed64(value)
        elif number == 9:
            _expect(wire, _LEN, "span.attributes")
            _key_value(r, value, span.attributes)
        elif number == 11:
            _expect(wire, _LEN, "span.events")
            span.events.append(_event(r, value))
        elif number == 15:
            _expect(wire, _LEN, "span.status")
            for n2, w2, v2 in r.fields(*value):
                if n2 == 2 and w2 == _LEN:
                    span.status_message = r.text(v2, "span.status.message")
                elif n2 == 3 and w2 == _VARINT:
                    span.status_code = v2
    return span


def _event(r: _Reader, where: tuple[int, int]) -> Event:
    event = Event("", 0, {})
    for number, wire, value in r.fields(*where):
        if number == 1:
            _expect(wire, _I64, "event.time_unix_nano")
            event.time_unix_nano = r.fixed64(value)
        elif number == 2:
            _expect(wire, _LEN, "event.name")
            event.name = r.text(value, "event.name")
        elif number == 3:
            _expect(wire, _LEN, "event.attributes")
            _key_value(r, value, event.attributes)
    return event


def _key_value(r: _Reader, where: tuple[int, int], into: dict[str, Any]) -> None:
    fast = _key_value_fast(r, where)
    if fast is not None:
        into[fast[0]] = fast[1]
        return
    key = ""
    value: Any = None
    for number, wire, v in r.fields(*where):
        if number == 1:
            _expect(wire, _LEN, "attribute key")
            key = r.text(v, "attribute key")
        elif number == 2:
            _expect(wire, _LEN, "attribute value")
            value = _any_value(r, v)
    into[key] = value


def _key_value_fast(r: _Reader, where: tuple[int, int]) -> tuple[str, Any] | None:
    """The usual KeyValue (key, then value, one-byte lengths) read without the generic field loop; None
    sends anything else to the generic path, which gives the same result."""
    buf = r.buf
    pos, end = where
    if end - pos < 2 or buf[pos] != 0x0A or buf[pos + 1] >= 0x80:
        return None
    stop = pos + 2 + buf[pos + 1]
    if stop > end:
        return None
    key = r.text((pos + 2, stop), "attribute key")
    if stop == end:
        return key, None
    if end - stop < 2 or buf[stop] != 0x12 or buf[stop + 1] >= 0x80 or stop + 2 + buf[stop + 1] != end:
        return None
    return key, _any_value(r, (stop + 2, end))


def _any_value(r: _Reader, where: tuple[int, int]) -> Any:
    buf = r.buf
    pos, end = where
    if end - pos >= 2 and buf[pos] == 0x0A and buf[pos + 1] < 0x80 and pos + 2 + buf[pos + 1] == end:
        return r.text((pos + 2, end), "string value")  # the usual case: a short string and nothing else
    value: Any = None
    for number, wire, v in r.fields(*where):
        if number == 1 and wire == _LEN:
            value = r.text(v, "string value")
        elif number == 2 and wire == _VARINT:
            value = bool(v)
        elif number == 3 and wire == _VARINT:
            value = v - (1 << 64) if v >= 1 << 63 else v
        elif number == 4 and wire == _I64:
            value = struct.unpack("<d", r.raw(v))[0]
        elif number == 5 and wire == _LEN:
            value = [_any_value(r, v2) for n2, w2, v2 in r.fields(*v) if n2 == 1 and w2 == _LEN]
        elif number == 6 and wire == _LEN:
            kv: dict[str, Any] = {}
            for n2, w2, v2 in r.fields(*v):
                if n2 == 1 and w2 == _LEN:
                    _key_value(r, v2, kv)
            value = kv
        elif number == 7 and wire == _LEN:
            value = base64.b64encode(r.raw(v)).decode()
        elif number in (1, 2, 3, 4, 5, 6, 7):
            raise _malformed(f"attribute value field {number} has wire type {wire}")
    return value


# ---------------------------------------------------------------------------------------------- JSON
def _json_malformed(what: str) -> InvalidInput:
    return InvalidInput(f"malformed OTLP/JSON: {what}", field="body")


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """A field by its lowerCamelCase JSON name or its original protobuf name (receivers accept both)."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _obj(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _json_malformed(f"{what} must be an object")
    return value


def _arr(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _json_malformed(f"{what} must be an array")
    return value


def _int64(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise _json_malformed(f"{what} must be an integer (a number or a decimal string)")
    try:
        number = int(value) if not isinstance(value, float) else int(value) if value.is_integer() else None
    except ValueError:
        number = None
    if number is None:
        raise _json_malformed(f"{what} must be an integer, not {value!r}")
    return number


def _id(value: Any, size: int, what: str) -> bytes:
    """Trace and span ids are hex in OTLP/JSON; base64 (protobuf's generic JSON mapping) is read too: the two
    never have the same length for 8- or 16-byte ids."""
    if value in (None, ""):
        return b""
    if not isinstance(value, str):
        raise _json_malformed(f"{what} must be a string")
    try:
        if len(value) == 2 * size:
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise _json_malformed(f"{what} is neither hex nor base64") from exc


def decode_json(data: bytes) -> list[Span]:
    """The spans of an OTLP/JSON ExportTraceServiceRequest."""
    try:
        doc = strict_json.loads(data)  # as every JSON route: no NaN, no runaway nesting or integers
    except SchemaViolation as exc:
        raise _json_malformed(exc.message) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise _json_malformed("the body is not JSON") from exc
    doc = _obj(doc, "the request")
    spans: list[Span] = []
    for i, rs in enumerate(_arr(_get(doc, "resourceSpans", "resource_spans"), "resourceSpans")):
        rs = _obj(rs, f"resourceSpans[{i}]")
        resource = _attributes(_obj(rs.get("resource"), "resource").get("attributes"), f"resourceSpans[{i}].resource")
        for j, ss in enumerate(_arr(_get(rs, "scopeSpans", "scope_spans"), "scopeSpans")):
            ss = _obj(ss, f"resourceSpans[{i}].scopeSpans[{j}]")
            scope_name = _obj(ss.get("scope"), "scope").get("name") or ""
            for k, raw in enumerate(_arr(ss.get("spans"), "spans")):
                where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                spans.append(_json_span(_obj(raw, where), resource, str(scope_name), where))
    return spans


def _json_span(s: dict[str, Any], resource: dict[str, Any], scope: str, where: str) -> Span:
    status = _obj(s.get("status"), f"{where}.status")
    code = status.get("code", 0)
    if isinstance(code, str):  # enum by name
        code = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    events = []
    for n, e in enumerate(_arr(s.get("events"), f"{where}.events")):
        e = _obj(e, f"{where}.events[{n}]")
        events.append(
            Event(
                name=str(e.get("name") or ""),
                time_unix_nano=_int64(_get(e, "timeUnixNano", "time_unix_nano"), f"{where}.events[{n}].timeUnixNano"),
                attributes=_attributes(e.get("attributes"), f"{where}.events[{n}]"),
            )
        )
    kind = s.get("kind", 0)
    return Span(
        trace_id=_id(_get(s, "traceId", "trace_id"), 16, f"{where}.traceId"),
        span_id=_id(_get(s, "spanId", "span_id"), 8, f"{where}.spanId"),
        parent_span_id=_id(_get(s, "parentSpanId", "parent_span_id"), 8, f"{where}.parentSpanId"),
        name=str(s.get("name") or ""),
        kind=kind if isinstance(kind, int) else 0,
        start_unix_nano=_int64(_get(s, "startTimeUnixNano", "start_time_unix_nano"), f"{where}.startTimeUnixNano"),
        end_unix_nano=_int64(_get(s, "endTimeUnixNano", "end_time_unix_nano"), f"{where}.endTimeUnixNano"),
        attributes=_attributes(s.get("attributes"), where),
        events=events,
        status_code=code if isinstance(code, int) else 0,
        status_message=str(status.get("message") or ""),
        resource=resource,
        scope=scope,
    )


def _attributes(raw: Any, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, kv in enumerate(_arr(raw, f"{where}.attributes")):
        kv = _obj(kv, f"{where}.attributes[{n}]")
        out[str(kv.get("key", ""))] = _json_any(kv.get("value"), f"{where}.attributes[{n}].value")
    return out


def _json_any(raw: Any, where: str) -> Any:
    v = _obj(raw, where)
    if not v:
        return None
    if (s := _get(v, "stringValue", "string_value")) is not None:
        return str(s)
    if (b := _get(v, "boolValue", "bool_value")) is not None:
        return bool(b)
    if (i := _get(v, "intValue", "int_value")) is not None:
        return _int64(i, where)
    if (d := _get(v, "doubleValue", "double_value")) is not None:
        try:
            number = float(d)
        except (TypeError, ValueError) as exc:
            raise _json_malformed(f"{where}.doubleValue must be a number") from exc
        return number if math.isfinite(number) else None
    if (a := _get(v, "arrayValue", "array_value")) is not None:
        return [_json_any(x, f"{where}.arrayValue") for x in _arr(_obj(a, where).get("values"), where)]
    if (kv := _get(v, "kvlistValue", "kvlist_value")) is not None:
        return _attributes(_obj(kv, where).get("values"), where)
    if (by := _get(v, "bytesValue", "bytes_value")) is not None:
        return str(by)
    return None


# ---------------------------------------------------------------------------------------------- responses
def _enc_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _enc_varint(number << 3 | _LEN) + _enc_varint(len(payload)) + payload


def export_response_protobuf(rejected: int, message: str) -> bytes:
    """ExportTraceServiceResponse; `partial_success` only when something was rejected or there is a message."""
    if not rejected and not message:
        return b""
    partial = b""
    if rejected:
        partial += _enc_varint(1 << 3 | _VARINT) + _enc_varint(rejected)
    if message:
        partial += _len_field(2, message.encode())
    return _len_field(1, partial)


def export_response_json(rejected: int, message: str) -> dict[str, Any]:
    if not rejected and not message:
        return {}
    partial: dict[str, Any] = {}
    if rejected:
        partial["rejectedSpans"] = str(rejected)  # int64: a decimal string in proto3 JSON
    if message:
        partial["errorMessage"] = message
    return {"partialSuccess": partial}


def status_protobuf(code: int, message: str) -> bytes:
    """google.rpc.Status {code = 1, message = 2}: the body of every OTLP/HTTP error answered in protobuf."""
    out = _enc_varint(1 << 3 | _VARINT) + _enc_varint(code) if code else b""
    return out + _len_field(2, message.encode())
