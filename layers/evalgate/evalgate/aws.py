"""Lazily built, cached boto3 clients: nothing is created at import time."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    # lazy: the AWS SDK loads on first use, not at import (cold start)
    import boto3
    from botocore.config import Config

    made = boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=3,
            read_timeout=20,
            # DynamoDB requests are built by the stores' own code and validated again by the service; botocore's
            # client-side walk over every attribute value was ~7 % of an ingest request's CPU (100 results: ~250
            # values in 4 claim requests). Other services keep it (their parameters come closer to callers' input).
            parameter_validation=service != "dynamodb",
        ),
    )
    if service == "dynamodb":
        wire_json(made)
    return made


class _NotWire(TypeError):
    """A parameter value that is not already the wire's JSON (botocore's own serializer handles the request)."""


def _blob(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise _NotWire(type(value).__name__)


class WireJson:
    """botocore's serializer for a JSON-protocol client (DynamoDB), with a fast path: when every parameter value is
    a JSON value or bytes, the body is `json.dumps` of the parameters (bytes in base64), which is what botocore's
    shape walk writes for DynamoDB's input shapes (no member renamed, no timestamp or float member in what the
    stores send; `tests/unit/test_aws_wire.py` compares the two for every operation the stores call). The walk was
    ~0.9 ms of CPU per 25-item request (a 100-result batch's claims: 4 of them) against ~0.2 ms. Anything else
    (a datetime, a Decimal, a set) goes through botocore's serializer unchanged."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def serialize_to_request(self, parameters: Any, operation_model: Any) -> Any:
        try:
            body = json.dumps(parameters, separators=(",", ":"), default=_blob)
        except _NotWire:
            return self._inner.serialize_to_request(parameters, operation_model)
        request = self._inner.serialize_to_request({}, operation_model)  # method, URL, target and content type
        request["body"] = body.encode("utf-8")
        return request


def wire_json(made: Any) -> None:
    """Give a JSON-protocol client the fast serializer (a client without botocore's `_serializer` keeps its own)."""
    from botocore.serialize import JSONSerializer  # loaded already: the client was just made

    # botocore's own JSON serializer, not wrapped by its parameter validation (which would refuse the empty
    # parameters the fast path serializes for the request's envelope)
    inner = getattr(made, "_serializer", None)
    if type(inner) is JSONSerializer:
        made._serializer = WireJson(inner)
