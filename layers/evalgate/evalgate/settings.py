"""Environment parsed once into a typed settings model (STYLE 4)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    # Lambda's synchronous payload limit is 6 MB; API Gateway HTTP APIs accept 10 MB.
    max_body_bytes: int = 6 * 1024 * 1024
    # Items larger than this are written to the artifacts bucket with a pointer in the item.
    inline_item_max_bytes: int = 100_000
    # Dataset imports larger than this must go through an S3 upload.
    import_inline_max_bytes: int = 5 * 1024 * 1024
    import_max_cases: int = 100_000
    upload_url_ttl_seconds: int = 900
    # suite runs with more batches than this go to S3 and a Distributed Map
    inline_max_batches: int = 100
    # requests per minute and API key (fixed one-minute windows); 0 = no limit
    rate_limit_per_minute: int = Field(default=0, ge=0)
    # the functions' Timeout: no invocation outlives it, so leases taken by a request (an Idempotency-Key in
    # progress, a run's ingest lock) expire this long (+2 s) after it started, even if its worker was killed
    function_timeout_seconds: int = Field(default=28, ge=1, le=900)
    stage: str = "dev"


def _env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise RuntimeError(f"missing required environment variable {name}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the function environment once; required variables have no silent default."""
    optional = {
        "max_body_bytes": os.environ.get("EVALGATE_MAX_BODY_BYTES"),
        "inline_item_max_bytes": os.environ.get("EVALGATE_INLINE_ITEM_MAX_BYTES"),
        "import_inline_max_bytes": os.environ.get("EVALGATE_IMPORT_INLINE_MAX_BYTES"),
        "import_max_cases": os.environ.get("EVALGATE_IMPORT_MAX_CASES"),
        "stage": os.environ.get("EVALGATE_STAGE"),
        "inline_max_batches": os.environ.get("EVALGATE_INLINE_MAX_BATCHES"),
        "rate_limit_per_minute": os.environ.get("EVALGATE_RATE_LIMIT_PER_MINUTE"),
        "function_timeout_seconds": os.environ.get("EVALGATE_FUNCTION_TIMEOUT"),
    }
    values: dict[str, object] = {"table_name": _env("TABLE_NAME"), "bucket_name": _env("BUCKET_NAME")}
    values.update({k: v for k, v in optional.items() if v is not None})
    return Settings.model_validate(values)
