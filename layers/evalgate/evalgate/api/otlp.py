"""The OTLP/HTTP side of the API: a resolver that takes protobuf bodies and answers errors as OTLP asks.

OTLP/HTTP wants every response in the request's encoding: the ExportTraceServiceResponse on success, and a
`google.rpc.Status` for 4xx/5xx. A protobuf request's error is that Status in protobuf; a JSON request's
error is evalgate's error body with the Status fields (`code`, `message`) beside it, so both OTLP clients
and evalgate's own error handling read it. 429 and 503 carry Retry-After (the OTLP retry signal)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response

from evalgate.api.http import EvalgateResolver
from evalgate.otlp import wire
from evalgate.services.otlp import Encoding, ExportResult

PROTOBUF = Encoding.protobuf.value
RETRY_AFTER_UNAVAILABLE = "5"
# HTTP status -> google.rpc.Code, for the Status of an error
GRPC_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 8, 415: 3, 422: 3, 429: 8, 500: 13, 503: 14}


class OtlpResolver(EvalgateResolver):
    json_only = False

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        response = super().resolve(event, context)
        status = int(response.get("statusCode", 200))
        if status < 400:
            return response
        return otlp_error(response, wants_protobuf(event))


def wants_protobuf(event: Mapping[str, Any]) -> bool:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return headers.get("content-type", "").split(";")[0].strip().lower() == PROTOBUF


def otlp_error(response: dict[str, Any], protobuf: bool) -> dict[str, Any]:
    """An evalgate error response recast as OTLP's Status (see the module docstring)."""
    status = int(response["statusCode"])
    headers = {k: v for k, v in (response.get("headers") or {}).items() if k.lower() != "content-type"}
    if status == 503 and not any(k.lower() == "retry-after" for k in headers):
        headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE
    raw = response.get("body") or "{}"
    try:
        body = json.loads(base64.b64decode(raw) if response.get("isBase64Encoded") else raw)
        error = body["error"]
    except (ValueError, KeyError, TypeError):
        body, error = {}, {"code": "internal", "message": "internal error; the request id is in the logs"}
    code = GRPC_CODE.get(status, 2)
    if protobuf:
        return {
            **response,
            "headers": {**headers, "Content-Type": PROTOBUF},
            "body": base64.b64encode(wire.status_protobuf(code, str(error.get("message", "")))).decode(),
            "isBase64Encoded": True,
        }
    return {
        **response,
        "headers": {**headers, "Content-Type": "application/json"},
        "body": json.dumps({"code": code, "message": error.get("message", ""), **body}),
        "isBase64Encoded": False,
    }


def export_response(result: ExportResult, encoding: Encoding) -> Response[bytes]:
    """200 with the ExportTraceServiceResponse in the request's encoding (partial success when spans were
    rejected); a header sums up what happened to every span."""
    headers = {
        "X-Evalgate-Spans": (
            f"received={result.spans}; stored={result.stored}; duplicate={result.duplicate}; "
            f"ignored={result.ignored}; rejected={result.rejected}"
        )
    }
    if encoding is Encoding.protobuf:
        body: Any = wire.export_response_protobuf(result.rejected, result.message)  # bytes: sent base64-encoded
    else:
        body = json.dumps(wire.export_response_json(result.rejected, result.message))
    return Response(status_code=200, content_type=encoding.value, body=body, headers=headers)
