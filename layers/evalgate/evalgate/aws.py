"""Lazily built, cached boto3 clients: nothing is created at import time."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    # lazy: the AWS SDK loads on first use, not at import (cold start)
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
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
