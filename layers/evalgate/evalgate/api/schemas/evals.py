"""EvalGuard-compatible eval runs and results on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from evalgate.api.schemas.base import ApiModel, Name, Paged, RequestModel
from evalgate.models import domain

EvalStatus = Literal["pending", "queued", "running", "passed", "failed", "error"]


class EvalCreate(RequestModel):
    name: Name
    model: str = Field(default="", max_length=200)
    prompt_id: int | None = Field(default=None, ge=1, le=2**53)
    prompt_version: int | None = Field(default=None, ge=1, le=2**31)
    metadata: dict[str, Any] = Field(default_factory=dict)
    cases: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=10_000,
        description="orchestrated eval: cases to run, each {name?, variables | input, expectedOutput?}",
    )
    dataset_id: int | None = Field(
        default=None, ge=1, le=2**53, description="orchestrated eval: run a dataset of the prompt instead of cases"
    )
    prompt_template: str | None = Field(
        default=None, max_length=200_000, description="orchestrated eval: the template (else the prompt version's)"
    )
    scorers: list[Any] | None = Field(
        default=None,
        max_length=50,
        description="orchestrated eval: assertions (objects as in suite tests, or type names) scoring every case",
    )
    provider: str | None = Field(default=None, max_length=100, description="orchestrated eval: the model's provider")
    model_params: dict[str, Any] | None = Field(
        default=None, description="orchestrated eval: more model settings (temperature, max_tokens, ...)"
    )
    max_concurrency: int | None = Field(default=None, ge=1, le=100)
    pass_threshold: float | None = Field(default=None, ge=0, le=100, description="run score (0-100) needed to pass")

    @property
    def orchestrated(self) -> bool:
        return any(v is not None for v in (self.cases, self.dataset_id, self.prompt_template, self.scorers))


class EvalSummaryIn(RequestModel):
    score: float | None = Field(default=None, allow_inf_nan=False)
    total_latency: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class EvalUpdate(RequestModel):
    status: EvalStatus
    summary: EvalSummaryIn | None = None


class EvalSummary(ApiModel):
    score: float | None
    total_latency: float | None
    total: int
    passed: int
    failed: int
    errored: int
    pass_rate: float | None


class EvalRunOut(ApiModel):
    id: str
    name: str
    model: str
    prompt_id: int | None
    prompt_version: int | None
    status: str
    summary: EvalSummary
    metadata: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, r: domain.Run, status: str) -> EvalRunOut:
        a = r.aggregates
        return cls(
            id=str(r.id),
            name=r.name,
            model=r.model,
            prompt_id=r.prompt_id,
            prompt_version=r.version_no,
            status=status,
            summary=EvalSummary(
                score=r.score,
                total_latency=r.total_latency if r.total_latency is not None else (a.latency_ms_sum or None),
                total=a.done,
                passed=a.passed,
                failed=a.failed,
                errored=a.errored,
                pass_rate=round(a.passed / a.done, 6) if a.done else None,
            ),
            metadata=r.metadata,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )


class EvalCaseResult(ApiModel):
    """A result as an external runner reports it; unknown fields are kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True)

    id: str | None = Field(default=None, max_length=200)
    input: Any = None
    expected_output: Any = None
    actual_output: Any = None
    score: float | None = Field(default=None, allow_inf_nan=False)
    passed: bool | None = None
    latency: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    token_usage: dict[str, Any] = Field(default_factory=dict)
    scorer_results: dict[str, Any] = Field(default_factory=dict)
    cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class ResultsBatch(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True)

    results: list[EvalCaseResult]


class Success(ApiModel):
    success: bool


class EvalRunPage(Paged[EvalRunOut]):
    pass


class EvalCaseResultPage(Paged[EvalCaseResult]):
    pass
