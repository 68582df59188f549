"""Domain errors → HTTP status codes, in one place; and the one error body shape."""

from __future__ import annotations

import json
from typing import Any

from evalgate.errors import (
    Conflict,
    EvalgateError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    SchemaViolation,
    Throttled,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

STATUS: dict[type[EvalgateError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    SchemaViolation: 422,
    Throttled: 429,
    Unavailable: 503,
}
VALIDATION_STATUS = 422  # chosen once for every schema error (docs/decisions.md)


def status_of(exc: EvalgateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, message: str, field: str | None = None, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        error["details"] = details
    return {"error": error}


def headers_of(exc: EvalgateError) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return headers


def raw_error_response(exc: EvalgateError) -> dict[str, Any]:
    """An API Gateway v2 response for errors raised before the resolver runs."""
    return {
        "statusCode": status_of(exc),
        "headers": headers_of(exc),
        "body": json.dumps(error_body(exc.code, exc.message, exc.field, exc.details or None)),
        "isBase64Encoded": False,
    }
