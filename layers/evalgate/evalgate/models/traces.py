"""Production traces: the domain model (the API shape is api/schemas/traces.py; the items store/traces.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from evalgate.models.prompt_ref import PromptRef


class Trace(BaseModel):
    """One recorded production LLM call (the domain model; the API shape is api/schemas/traces.py)."""

    id: str
    project_id: str
    model: str
    prompt_id: PromptRef | None = None  # the app's identifier (items written before ids were strings: ints)
    version_no: int | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    output: str = ""
    context: str | list[str] | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    timestamp: datetime
    environment: str = "production"
    metadata: dict[str, Any] = Field(default_factory=dict)
    expires_at: datetime | None = None
    # True only when a read chose not to load a large body (see TraceStore.list_page's byte budget)
    truncated: bool = False


@dataclass(frozen=True)
class TracePage:
    items: list[Trace]
    next_cursor: str | None
