"""EvalGuard-compatible eval runs and results on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from evalgate.api.schemas.base import ApiModel, Name, Paged, RequestModel
from evalgate.models import domain, stats

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
    dataset_version: int | None = Field(
        default=None, ge=1, le=2**31, description="orchestrated eval: pin the dataset's version (default: latest)"
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
    dataset_versions: dict[str, int] = Field(description="dataset id -> the version the run read")
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
            dataset_versions=r.dataset_versions,
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


# -- stats (GET /api/v1/evals/{runId}/stats) -------------------------------------------------------------
class ScoreOut(ApiModel):
    mean: float | None
    std: float | None
    percentiles: dict[str, float]
    percentile_resolution: float

    @classmethod
    def of(cls, s: stats.ScoreSummary) -> ScoreOut:
        return cls(mean=s.mean, std=s.std, percentiles=s.percentiles, percentile_resolution=s.resolution)


class PassRateOut(ApiModel):
    value: float | None
    ci95: list[float] | None
    method: str

    @classmethod
    def of(cls, p: stats.PassRate) -> PassRateOut:
        return cls(value=p.value, ci95=list(p.ci95) if p.ci95 else None, method=p.method)


class ScorerPassRateOut(PassRateOut):
    judged: int
    passed: int


class ScorerStatsOut(ApiModel):
    count: int
    nulls: int
    errors: int
    values: int
    score: ScoreOut
    pass_rate: ScorerPassRateOut


class LatencyOut(ApiModel):
    total_ms: float
    mean_ms: float | None


class TokensOut(ApiModel):
    input: int
    output: int


class RateDeltaOut(ApiModel):
    current: float | None
    control: float | None
    delta: float | None
    ci: list[float] | None
    ci_method: str | None


class ScoreDeltaOut(ApiModel):
    current: float | None
    control: float | None
    mean_delta: float | None
    ci: list[float] | None
    ci_method: str | None


class McNemarOut(ApiModel):
    current_only_passed: int | None
    control_only_passed: int | None
    p_value: float | None


class DatasetCheckOut(ApiModel):
    """Whether the run and the control read the same dataset versions (when not, changed cases are left out)."""

    same: bool
    run_versions: dict[str, int]
    control_versions: dict[str, int]
    changed_cases: int
    changed_sample: list[str]
    message: str

    @classmethod
    def of(cls, d: stats.DatasetCheck | None) -> DatasetCheckOut | None:
        if d is None:
            return None
        return cls(
            same=d.same,
            run_versions=d.run_versions,
            control_versions=d.control_versions,
            changed_cases=d.changed_cases,
            changed_sample=list(d.changed_sample),
            message=d.message,
        )


class ComparisonOut(ApiModel):
    """The run against a control run, paired over the cases both share."""

    control_run_id: str | None
    verdict: str = Field(description="better, worse or no_difference: the one plain reading of the figures")
    verdict_reason: str
    shared_cases: int
    pass_rate: RateDeltaOut
    mcnemar: McNemarOut
    score: ScoreDeltaOut
    confidence: float
    datasets: DatasetCheckOut | None = None

    @classmethod
    def of(cls, c: stats.Comparison) -> ComparisonOut:
        return cls(
            control_run_id=str(c.control_run_id) if c.control_run_id is not None else None,
            verdict=c.verdict,
            verdict_reason=c.verdict_reason,
            shared_cases=c.shared_cases,
            pass_rate=RateDeltaOut(
                current=c.pass_rate.current,
                control=c.pass_rate.control,
                delta=c.pass_rate.delta,
                ci=list(c.pass_rate.ci) if c.pass_rate.ci else None,
                ci_method=c.pass_rate.ci_method,
            ),
            mcnemar=McNemarOut(
                current_only_passed=c.mcnemar.current_only_passed,
                control_only_passed=c.mcnemar.control_only_passed,
                p_value=c.mcnemar.p_value,
            ),
            score=ScoreDeltaOut(
                current=c.score.current,
                control=c.score.control,
                mean_delta=c.score.delta,
                ci=list(c.score.ci) if c.score.ci else None,
                ci_method=c.score.ci_method,
            ),
            confidence=c.confidence,
            datasets=DatasetCheckOut.of(c.datasets),
        )


class EvalStatsOut(ApiModel):
    """A run's statistics from its aggregates; `comparison` only with `controlRunId`."""

    run_id: str
    status: str
    count: int
    passed: int
    failed: int
    errors: int
    nulls: int
    score: ScoreOut
    pass_rate: PassRateOut
    latency: LatencyOut
    tokens: TokensOut
    cost_usd: float
    scorers: dict[str, ScorerStatsOut]
    comparison: ComparisonOut | None = None

    @classmethod
    def of(cls, s: stats.RunStats, status: str) -> EvalStatsOut:
        return cls(
            run_id=str(s.run.id),
            status=status,
            count=s.count,
            passed=s.passed,
            failed=s.failed,
            errors=s.errors,
            nulls=s.nulls,
            score=ScoreOut.of(s.score),
            pass_rate=PassRateOut.of(s.pass_rate),
            latency=LatencyOut(total_ms=s.latency_total_ms, mean_ms=s.latency_mean_ms),
            tokens=TokensOut(input=s.input_tokens, output=s.output_tokens),
            cost_usd=s.cost_usd,
            scorers={
                name: ScorerStatsOut(
                    count=x.count,
                    nulls=x.nulls,
                    errors=x.errors,
                    values=x.values,
                    score=ScoreOut.of(x.score),
                    pass_rate=ScorerPassRateOut(
                        **PassRateOut.of(x.pass_rate).model_dump(),
                        judged=x.pass_rate.judged,
                        passed=x.pass_rate.passed,
                    ),
                )
                for name, x in s.scorers.items()
            },
            comparison=ComparisonOut.of(s.comparison) if s.comparison else None,
        )
