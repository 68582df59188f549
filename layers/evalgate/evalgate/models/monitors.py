"""Auto-eval monitors: the domain model (the API shape is api/schemas/monitors.py; the items store/monitors.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from evalgate.models.prompt_ref import PromptRef


class MonitorTarget(BaseModel):
    model: str
    prompt_id: PromptRef | None = None
    environment: str = "production"


class JudgeSpec(BaseModel):
    provider: str
    model: str
    params: dict[str, Any] = Field(default_factory=dict)  # extra judge-call parameters


class Monitor(BaseModel):
    """A scheduled auto-eval of one target (the domain model; the API shape is api/schemas/monitors.py)."""

    id: str
    project_id: str
    name: str = ""
    target: MonitorTarget
    sample_count: int
    schedule: str
    scorers: list[dict[str, Any]] = Field(default_factory=list)
    criteria: list[str] = Field(default_factory=list)
    judge: JudgeSpec | None = None  # None: the deployment's default judge (EVALGATE_JUDGE_PROVIDER / _MODEL)
    rubric: str | None = None  # for the "rubric" criterion
    thresholds: dict[str, float] = Field(default_factory=dict)
    daily_spend_cap_usd: float | None = None
    webhook_url: str | None = None
    webhook_secret_ref: str | None = None  # a reference for alerts.send, never the secret
    enabled: bool = True
    baseline_job_id: str | None = None  # a pinned baseline job; None: the target's previous completed job
    next_run_at: datetime
    last_run_at: datetime | None = None
    last_job_id: str | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1
