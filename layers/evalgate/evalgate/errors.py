"""Domain errors: HTTP-agnostic, mapped to status codes once in evalgate.api.errors."""

from __future__ import annotations


class EvalgateError(Exception):
    """Base of every error the service raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class Unauthorized(EvalgateError):
    code = "unauthorized"


class Forbidden(EvalgateError):
    code = "forbidden"


class NotFound(EvalgateError):
    code = "not_found"


class Conflict(EvalgateError):
    code = "conflict"


class InvalidInput(EvalgateError):
    """Input that passed the schema but cannot be used (a malformed file, a bad reference)."""

    code = "invalid_input"


class SchemaViolation(EvalgateError):
    """The request does not match the schema (raised before the resolver validates, e.g. bad encoding)."""

    code = "validation_error"


class UnsupportedMediaType(EvalgateError):
    code = "unsupported_media_type"


class PayloadTooLarge(EvalgateError):
    code = "payload_too_large"


class Throttled(EvalgateError):
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(EvalgateError):
    """A backing service could not be reached; the request may be retried."""

    code = "unavailable"
