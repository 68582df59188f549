"""Runs, results and explore on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from evalgate.api.schemas.base import ApiModel, Paged, RequestModel, Template
from evalgate.api.schemas.suites import TestIn
from evalgate.models import domain

# -- runs ------------------------------------------------------------------------------------------
DatasetVersionNo = Annotated[int, Field(ge=1, le=2**31)]
DatasetIdKey = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,15}$")]


class RunRequest(RequestModel):
    suite_id: int = Field(ge=1, le=2**53, description="which suite to run")
    version_no: int = Field(ge=1, le=2**31, description="prompt version to test")
    model_config_: dict[str, Any] | None = Field(
        default=None, alias="modelConfig", description="overrides of the version's model settings"
    )
    test_ids: list[Annotated[int, Field(ge=1, le=2**53)]] | None = Field(
        default=None, max_length=500, description="run a subset of tests"
    )
    dataset_version: DatasetVersionNo | dict[DatasetIdKey, DatasetVersionNo] | None = Field(
        default=None,
        description="pin dataset versions: a number for the one dataset the tests read, or {datasetId: version} "
        "for some of several (the others: their latest)",
    )


class RunSummary(ApiModel):
    total: int
    passed: int
    failed: int
    errored: int


class RunProgress(ApiModel):
    done: int
    total: int


class RunOut(ApiModel):
    id: int
    prompt_id: int | None
    suite_id: int | None
    version_no: int | None
    config_hash: str
    dataset_versions: dict[str, int] = Field(description="dataset id -> the version the run read")
    status: str
    verdict: str | None
    summary: RunSummary
    progress: RunProgress
    score: int | None = Field(description="0-100, an integer as Echostash's document shows (the pass rate in %)")
    duration_ms: int | None
    cost_usd: float = Field(default=0.0, description="model cost of the run's results so far, in USD")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, r: domain.Run) -> RunOut:
        a = r.aggregates
        return cls(
            id=r.id,
            prompt_id=r.prompt_id,
            suite_id=r.suite_id,
            version_no=r.version_no,
            config_hash=r.config_hash,
            dataset_versions=r.dataset_versions,
            status=r.status.value,
            verdict=r.verdict,
            summary=RunSummary(total=a.total, passed=a.passed, failed=a.failed, errored=a.errored),
            progress=RunProgress(done=a.done, total=a.total),
            score=None if r.score is None else round(r.score),
            duration_ms=None if r.duration_ms is None else round(r.duration_ms),
            cost_usd=round(a.cost_usd, 9),
            error=r.error,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )


class AssertionOut(ApiModel):
    operator: str
    status: str
    expected: Any = None
    actual: Any = None
    score: float | None = None
    weight: float | None = None
    reason: str | None = None


class ResultOut(ApiModel):
    name: str
    status: str
    duration_ms: int = Field(description="milliseconds, an integer (Echostash)")
    score: float
    assertions: list[AssertionOut]
    output: str | None
    error: str | None
    test_id: int | None
    case_name: str | None
    repeat: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool
    variables: dict[str, Any] = Field(
        default_factory=dict, description="the case's variables (kept with the result while small)"
    )
    expected_output: str | None = Field(
        default=None, description="the case's expected output (kept with the result while small)"
    )

    @classmethod
    def of(cls, r: domain.RunResult) -> ResultOut:
        return cls(
            name=r.name,
            status=r.status,
            duration_ms=round(r.duration_ms),
            score=r.score,
            assertions=[AssertionOut.model_validate(a) for a in r.assertions],
            output=r.output,
            error=r.error,
            test_id=r.test_id,
            case_name=r.case_name,
            repeat=r.repeat,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cost_usd=r.cost_usd,
            cached=r.cached,
            variables=r.variables,
            expected_output=r.expected,
        )


class RunWithResults(RunOut):
    results: list[ResultOut]
    next_cursor: str | None = Field(default=None, description="cursor of the next page of results")


class RunPage(Paged[RunOut]):
    pass


class ExploreRequest(RequestModel):
    version_no: int | None = Field(default=None, ge=1, le=2**31, description="the version to try")
    template: Template | None = Field(default=None, description="or an unsaved template")
    model_config_: dict[str, Any] | None = Field(default=None, alias="modelConfig")
    suite_id: int | None = Field(default=None, ge=1, le=2**53, description="run this suite's tests")
    test_ids: list[Annotated[int, Field(ge=1, le=2**53)]] | None = Field(default=None, max_length=500)
    tests: list[TestIn] = Field(default_factory=list, max_length=50, description="or ad-hoc tests")
    use_cache: bool = True


class ExploreOut(ApiModel):
    summary: RunSummary
    score: float
    duration_ms: int
    results: list[ResultOut]


class CompareRequest(RequestModel):
    run_ids: list[Annotated[int, Field(ge=1, le=2**53)]] = Field(
        min_length=2,
        max_length=10,
        description="finished runs of one suite (one per prompt version or provider), in the order the outputs "
        "are compared: the judge sees them in this order and max-score's ties go to the earlier one",
    )
    cursor: str | None = Field(default=None, max_length=20, description="nextCursor of the previous page")
    limit: int = Field(default=25, ge=1, le=50, description="cases read per page")


class OutputComparisonOut(ApiModel):
    operator: str = Field(description="select-best or max-score")
    status: str = Field(description="passed or failed")
    score: float
    reason: str
    named_scores: dict[str, float] | None = Field(
        default=None, description="max-score: maxScore (the output's aggregate), assertionCount, totalWeight"
    )


class ComparedOutputOut(ApiModel):
    run_id: int
    status: str = Field(description="the output's verdict with the comparisons folded in (promptfoo's rules)")
    score: float
    reason: str | None = Field(default=None, description="why a comparison failed an output that had passed")
    comparisons: list[OutputComparisonOut]


class ComparedCaseOut(ApiModel):
    index: int
    name: str
    case_name: str | None = None
    outputs: list[ComparedOutputOut] = Field(description="one per run, in the order of runIds")


class CompareOut(ApiModel):
    cases: list[ComparedCaseOut] = Field(
        description="the page's cases whose test has a comparison assertion (a page may hold none)"
    )
    next_cursor: str | None = None
