"""Auto-eval monitors on the wire: snake_case, as the EvalGuard auto-eval family writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from evalgate.api.schemas.traces import Environment, ModelName, SnakeModel, SnakeRequest
from evalgate.models.monitors import Monitor
from evalgate.models.prompt_ref import PromptRef

Schedule = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=256),
    Field(description="an EventBridge expression, UTC: rate(6 hours), cron(0 9 ? * MON-FRI *)"),
]
MetricName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
JobId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]


class MonitorTargetIn(SnakeRequest):
    model: ModelName
    prompt_id: PromptRef | None = None
    environment: Environment = "production"
    project_id: str | None = Field(default=None, max_length=100, description="the key's project, if given")


class MonitorJudgeIn(SnakeRequest):
    provider: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, description="extra parameters of judge calls")


SampleCount = Annotated[int, Field(ge=1, le=5000)]
SpendCap = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False, description="USD per UTC day")]
Thresholds = Annotated[
    dict[MetricName, Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]],
    Field(max_length=50, description="a floor (0-1) per metric's pass rate: below it, an alert"),
]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class MonitorCreate(SnakeRequest):
    name: str = Field(default="", max_length=200)
    target: MonitorTargetIn
    sample_count: SampleCount = 100
    schedule: Schedule
    scorers: list[dict[str, Any]] = Field(
        default_factory=list, max_length=50, description="deterministic scorers: is-json, contains, regex, latency..."
    )
    criteria: list[str] | None = Field(
        default=None,
        max_length=10,
        description="judge criteria: rubric, factuality, hallucination, relevance (default: all four)",
    )
    judge: MonitorJudgeIn | None = Field(default=None, description="default: the deployment's judge")
    rubric: str | None = Field(default=None, max_length=20_000)
    thresholds: Thresholds = Field(default_factory=dict)
    daily_spend_cap_usd: SpendCap | None = None
    webhook_url: Url | None = Field(default=None, description="https:// (http:// only to localhost)")
    enabled: bool = True
    baseline_job_id: JobId | None = Field(default=None, description="compare every run with this job")
    run_now: bool = Field(default=False, description="the first run is due at once, then the schedule continues")


class MonitorUpdate(SnakeRequest):
    """PATCH: only the fields sent change; null clears a nullable one."""

    name: str | None = Field(default=None, max_length=200)
    target: MonitorTargetIn | None = None
    sample_count: SampleCount | None = None
    schedule: Schedule | None = None
    scorers: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    criteria: list[str] | None = Field(default=None, max_length=10)
    judge: MonitorJudgeIn | None = None
    rubric: str | None = Field(default=None, max_length=20_000)
    thresholds: Thresholds | None = None
    daily_spend_cap_usd: SpendCap | None = None
    webhook_url: Url | None = None
    enabled: bool | None = None
    baseline_job_id: JobId | None = None
    rotate_webhook_secret: bool = Field(default=False, description="a new secret, shown once in the response")


class MonitorTargetOut(SnakeModel):
    model: str
    prompt_id: str | None
    environment: str


class MonitorJudgeOut(SnakeModel):
    provider: str
    model: str
    params: dict[str, Any]


class MonitorOut(SnakeModel):
    id: str
    name: str
    target: MonitorTargetOut
    sample_count: int
    schedule: str
    scorers: list[dict[str, Any]]
    criteria: list[str]
    judge: MonitorJudgeOut | None
    rubric: str | None
    thresholds: dict[str, float]
    daily_spend_cap_usd: float | None
    webhook_url: str | None
    has_webhook_secret: bool
    enabled: bool
    baseline_job_id: str | None
    next_run_at: datetime | None = Field(description="null while disabled")
    last_run_at: datetime | None
    last_job_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: Monitor) -> MonitorOut:
        return cls(
            id=m.id,
            name=m.name,
            target=MonitorTargetOut(**m.target.model_dump()),
            sample_count=m.sample_count,
            schedule=m.schedule,
            scorers=m.scorers,
            criteria=m.criteria,
            judge=MonitorJudgeOut(**m.judge.model_dump()) if m.judge else None,
            rubric=m.rubric,
            thresholds=m.thresholds,
            daily_spend_cap_usd=m.daily_spend_cap_usd,
            webhook_url=m.webhook_url,
            has_webhook_secret=m.webhook_secret_ref is not None,
            enabled=m.enabled,
            baseline_job_id=m.baseline_job_id,
            next_run_at=m.next_run_at if m.enabled else None,
            last_run_at=m.last_run_at,
            last_job_id=m.last_job_id,
            last_error=m.last_error,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class MonitorSaved(MonitorOut):
    webhook_secret: str | None = Field(
        default=None,
        description="the HMAC signing secret of the webhook: shown once, when first set or rotated; keep it",
    )

    @classmethod
    def saved(cls, m: Monitor, secret: str | None) -> MonitorSaved:
        return cls(**MonitorOut.of(m).model_dump(), webhook_secret=secret)


class MonitorPage(SnakeModel):
    items: list[MonitorOut]
    next_cursor: str | None = Field(default=None, serialization_alias="nextCursor")
