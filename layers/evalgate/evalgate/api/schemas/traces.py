"""Production traces on the wire: snake_case bodies, as the EvalGuard auto-eval family writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from evalgate.api.schemas.base import ShortRepr
from evalgate.models.prompt_ref import PromptRef
from evalgate.models.traces import Trace

Environment = Literal["production", "staging"]
TraceId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[!-~]+$")]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SnakeRequest(ShortRepr):
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), defer_build=True)


class SnakeModel(ShortRepr):
    model_config = ConfigDict(protected_namespaces=(), defer_build=True)


class TraceIn(SnakeRequest):
    id: TraceId | None = Field(
        default=None,
        description="the client's id of the call (printable ASCII, no spaces); re-sending an id stores nothing "
        "new. Left out: derived from a SHA-256 of the trace's content as sent",
    )
    model: ModelName
    prompt_id: PromptRef | None = None
    prompt_version: int | None = Field(default=None, ge=1, le=2**31)
    input: dict[str, Any] = Field(default_factory=dict, description="the prompt's input variables")
    output: str = Field(description="the model's answer")
    context: str | list[str] | None = Field(default=None, description="retrieved documents (RAG), if any")
    latency_ms: float | None = Field(default=None, ge=0, le=1e10, allow_inf_nan=False)
    input_tokens: int | None = Field(default=None, ge=0, le=2**53)
    output_tokens: int | None = Field(default=None, ge=0, le=2**53)
    cost_usd: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    timestamp: datetime | None = Field(default=None, description="ISO 8601 (UTC when no offset); default: now")
    environment: Environment = "production"
    metadata: dict[str, Any] = Field(default_factory=dict)


class TraceBatch(SnakeRequest):
    traces: list[TraceIn] = Field(min_length=1, description="at most 500 per request (413 above)")
    retention_days: int | None = Field(
        default=None, ge=1, le=365, description="keep these traces this many days (default: the deployment's)"
    )


class IngestOut(SnakeModel):
    received: int
    new: int = Field(description="traces stored by this request")
    duplicate: int = Field(description="traces already stored (or repeated in the batch): not stored again")
    ids: list[str] = Field(description="the id of every trace, in request order (derived ids included)")
    duplicate_ids: list[str]
    retention_days: int


class TraceOut(SnakeModel):
    id: str
    model: str
    prompt_id: str | None
    prompt_version: int | None
    input: dict[str, Any]
    output: str
    output_truncated: bool = Field(description="true when the output shown is a preview (the page was full)")
    context: str | list[str] | None
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    timestamp: datetime
    environment: str
    metadata: dict[str, Any]
    expires_at: datetime | None

    @classmethod
    def of(cls, t: Trace) -> TraceOut:
        return cls(
            id=t.id,
            model=t.model,
            prompt_id=t.prompt_id,
            prompt_version=t.version_no,
            input=t.input,
            output=t.output,
            output_truncated=t.truncated,
            context=t.context,
            latency_ms=t.latency_ms,
            input_tokens=t.input_tokens,
            output_tokens=t.output_tokens,
            cost_usd=t.cost_usd,
            timestamp=t.timestamp,
            environment=t.environment,
            metadata=t.metadata,
            expires_at=t.expires_at,
        )


class TracePage(SnakeModel):
    items: list[TraceOut]
    next_cursor: str | None = Field(default=None, serialization_alias="nextCursor")
