"""Every environment variable of the service, parsed once into typed settings.

This is the only module of the layer that reads `os.environ` (tests/unit/test_layering.py checks it). The
template sets each variable: the common ones in Globals, the others only on the functions that use them.
`get_settings()` parses them at cold start (the resolver and every event handler call it when their module
is imported); a variable every function needs (TABLE_NAME, BUCKET_NAME) fails there with its name, a value of
the wrong type fails there with its name, and a variable only some functions have fails with its name when
the code that needs it asks for it (`Settings.required`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_TRACE_RETENTION_DAYS = 365
# OPENAI_*, ANTHROPIC_* and EVALGATE_PROVIDER_<NAME>_* configure the model providers (providers/config.py)
_PROVIDER_VARIABLE = re.compile(r"^(OPENAI_|ANTHROPIC_|EVALGATE_PROVIDER_)[A-Z0-9_]+$")


class MissingSetting(RuntimeError):
    """A function was deployed without a variable its code needs: a deployment error, never the caller's."""


class AutoEvalSettings(BaseModel):
    """The auto-eval pipeline: job admission, redelivery, the judge, and its queues."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    max_active_jobs: int = Field(default=5, ge=1, alias="AUTOEVAL_MAX_ACTIVE_JOBS")
    max_receives: int = Field(default=3, ge=1, alias="AUTOEVAL_MAX_RECEIVES")
    judge_provider: str = Field(default="offline-judge", min_length=1, alias="EVALGATE_JUDGE_PROVIDER")
    judge_model: str = Field(default="offline-judge", min_length=1, alias="EVALGATE_JUDGE_MODEL")
    judge_params: dict[str, Any] = Field(default_factory=dict, alias="EVALGATE_JUDGE_PARAMS")
    judge_concurrency: int = Field(default=8, ge=1, alias="AUTOEVAL_JUDGE_CONCURRENCY")
    # judge calls a second per provider, shared by every scorer instance (0: no shared limit)
    judge_rate_per_s: int = Field(default=200, ge=0, alias="AUTOEVAL_JUDGE_RATE_PER_S")
    judge_rate_wait_s: float = Field(default=20.0, ge=0, alias="AUTOEVAL_JUDGE_RATE_WAIT_S")
    jobs_queue_url: str | None = Field(default=None, alias="AUTOEVAL_JOBS_QUEUE_URL")
    scoring_queue_url: str | None = Field(default=None, alias="AUTOEVAL_SCORING_QUEUE_URL")
    analyze_queue_url: str | None = Field(default=None, alias="AUTOEVAL_ANALYZE_QUEUE_URL")

    @field_validator("judge_params", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                raise ValueError("is not a JSON object") from None
        if not isinstance(value, dict):
            raise ValueError("is not a JSON object")
        return value


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field(min_length=1, alias="TABLE_NAME")
    bucket_name: str = Field(min_length=1, alias="BUCKET_NAME")
    stage: str = Field(default="dev", alias="EVALGATE_STAGE")
    # the deployed version (template parameter Version, stamped by `make deploy`); the package's otherwise
    version: str | None = Field(default=None, alias="EVALGATE_VERSION")
    # Lambda's synchronous payload limit is 6 MB; API Gateway HTTP APIs accept 10 MB.
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1, alias="EVALGATE_MAX_BODY_BYTES")
    # Items larger than this are written to the artifacts bucket with a pointer in the item.
    inline_item_max_bytes: int = Field(default=100_000, ge=1, alias="EVALGATE_INLINE_ITEM_MAX_BYTES")
    # Dataset imports larger than this must go through an S3 upload.
    import_inline_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1, alias="EVALGATE_IMPORT_INLINE_MAX_BYTES")
    import_max_cases: int = Field(default=100_000, ge=1, alias="EVALGATE_IMPORT_MAX_CASES")
    # imports with more cases than this run as a background job (202 + a status to poll) where the function has
    # the imports queue: one dataset's cases share a partition (1,000 writes/s), so 100,000 need minutes
    import_sync_max_cases: int = Field(default=2_000, ge=1, alias="EVALGATE_IMPORT_SYNC_MAX_CASES")
    dataset_imports_queue_url: str | None = Field(default=None, alias="DATASET_IMPORTS_QUEUE_URL")
    # a run that ends sends its id here (issue 17): the paired gate and comparison against the gate's control run
    # are computed in the background and cached; unset, they are computed (and cached) on the first request
    paired_gate_queue_url: str | None = Field(default=None, alias="PAIRED_GATE_QUEUE_URL")
    upload_url_ttl_seconds: int = 900
    # where presigned upload URLs point: boto3's own variables (the console's CSP allows that origin for its PUT)
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    aws_region: str | None = Field(default=None, alias="AWS_REGION")
    # suite runs with more batches than this go to S3 and a Distributed Map
    inline_max_batches: int = Field(default=100, ge=1, alias="EVALGATE_INLINE_MAX_BATCHES")
    # suite runs a project may have pending or running at once (429 with Retry-After above it)
    max_open_suite_runs: int = Field(default=10, ge=1, alias="EVALGATE_MAX_OPEN_SUITE_RUNS")
    # p95 seconds of one suite case (model call + judge): Prepare sizes batches so one takes <= 4 minutes
    suite_case_p95_s: float = Field(default=60.0, gt=0, le=900, alias="EVALGATE_SUITE_CASE_P95_SECONDS")
    # seconds an inline suite batch starts cases in one invocation before handing the rest to the next one
    suite_invocation_budget_s: float = Field(
        default=20.0, gt=0, le=600, alias="EVALGATE_SUITE_INVOCATION_BUDGET_SECONDS"
    )
    # requests per minute and API key (fixed one-minute windows); 0 = no limit
    rate_limit_per_minute: int = Field(default=0, ge=0, alias="EVALGATE_RATE_LIMIT_PER_MINUTE")
    # the functions' Timeout: no invocation outlives it, so leases taken by a request (an Idempotency-Key in
    # progress, a result claim of a batch) expire this long (+2 s) after it started, even if its worker was killed
    function_timeout_seconds: int = Field(default=28, ge=1, le=900, alias="EVALGATE_FUNCTION_TIMEOUT")
    # how long a reviewer holds an annotation-queue item before another may take it (a queue may set its own)
    annotation_claim_seconds: int = Field(default=600, ge=10, le=86_400, alias="EVALGATE_ANNOTATION_CLAIM_SECONDS")
    # --- set only on the functions that use them ---
    state_machine_arn: str | None = Field(default=None, alias="STATE_MACHINE_ARN")
    trace_retention_days: int | None = Field(
        default=None, ge=1, le=MAX_TRACE_RETENTION_DAYS, alias="TRACE_RETENTION_DAYS"
    )
    alerts_topic_arn: str | None = Field(default=None, alias="ALERTS_TOPIC_ARN")
    minilm_dir: str | None = Field(default=None, alias="EVALGATE_MINILM_DIR")
    autoeval: AutoEvalSettings = Field(default_factory=AutoEvalSettings)
    # the model providers' variables as set (keys and endpoints; parsed by providers/config.py)
    provider_environment: dict[str, str] = Field(default_factory=dict, repr=False)

    def required(self, name: str) -> Any:
        """A per-function setting that the calling code cannot do without: MissingSetting names its variable."""
        value = getattr(self, name)
        if value is None or value == "":
            raise MissingSetting(f"missing required environment variable {_variable(type(self), name)}")
        return value

    def required_queue(self, name: str) -> str:
        """An auto-eval queue URL (jobs, scoring, analyze)."""
        value = getattr(self.autoeval, f"{name}_queue_url")
        if not value:
            raise MissingSetting(
                f"missing required environment variable {_variable(AutoEvalSettings, f'{name}_queue_url')}"
            )
        return str(value)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Parse an environment; errors name the variable (MissingSetting)."""
        fields = {alias for alias in _aliases(cls)} | {alias for alias in _aliases(AutoEvalSettings)}
        present = {k: v for k, v in environ.items() if k in fields and v != ""}
        auto = {k: v for k, v in present.items() if k in _aliases(AutoEvalSettings)}
        values: dict[str, Any] = {k: v for k, v in present.items() if k in _aliases(cls)}
        values["autoeval"] = auto
        values["provider_environment"] = {k: v for k, v in environ.items() if _PROVIDER_VARIABLE.match(k)}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = [str(p) for p in first.get("loc", ())]
            variable = loc[-1] if loc else "?"
            if first.get("type") == "missing":
                raise MissingSetting(f"missing required environment variable {variable}") from None
            raise MissingSetting(f"environment variable {variable}: {first.get('msg', 'invalid')}") from None


def _aliases(model: type[BaseModel]) -> set[str]:
    return {f.alias for f in model.model_fields.values() if f.alias}


def _variable(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name.upper()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The function's environment, parsed once per execution environment (reset with cache_clear in tests)."""
    return Settings.from_environment(os.environ)
