"""Domain models: what services and the store exchange. Never raw items, never HTTP shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    """Ordered: each role may do what the ones before it may. A reviewer reads like a viewer and may also take
    and label annotation-queue items (issue 15); member and up review too."""

    viewer = "viewer"
    reviewer = "reviewer"
    member = "member"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "reviewer": 1, "member": 2, "admin": 3}[self.value]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


class Principal(BaseModel):
    """Who is calling: resolved from an API key."""

    model_config = ConfigDict(frozen=True)

    project_id: str
    key_id: str
    role: Role


class Project(BaseModel):
    id: str
    name: str
    description: str = ""
    parent_id: str | None = None
    created_at: datetime


class ApiKey(BaseModel):
    id: str
    project_id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class ModelConfig(BaseModel):
    """Model settings of a prompt version. Unknown provider parameters are kept as they are."""

    model_config = ConfigDict(extra="allow")

    provider: str = Field(default="openai", min_length=1, max_length=100)
    model: str = Field(default="gpt-4o-mini", min_length=1, max_length=200)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    top_p: float | None = Field(default=None, ge=0, le=1)


class Prompt(BaseModel):
    id: int
    project_id: str
    name: str
    description: str = ""
    latest_version: int = 0
    created_at: datetime
    updated_at: datetime


class PromptVersion(BaseModel):
    prompt_id: int
    version_no: int
    template: str
    settings: ModelConfig
    variables: list[str]
    message: str = ""
    created_at: datetime


class Dataset(BaseModel):
    id: int
    prompt_id: int
    name: str
    description: str = ""
    case_count: int = 0
    version: int = 1  # every change of its cases makes a new immutable version
    content_hash: str = ""  # of the cases of `version` (order-independent; see store/datasets.py)
    created_at: datetime
    updated_at: datetime


class DatasetVersion(BaseModel):
    """One immutable version of a dataset's cases."""

    dataset_id: int
    version: int
    content_hash: str
    case_count: int
    change: str = ""  # what made it: "created", "added case 'x'", "changed case 'x'", "removed case 'x'"
    created_at: datetime


class DatasetCase(BaseModel):
    name: str
    variables: dict[str, Any] = Field(default_factory=dict)
    expected_output: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class Page(BaseModel):
    """One page of a list plus the opaque cursor of the next page (None at the end)."""

    items: list[Any]
    next_cursor: str | None = None


class SuiteConfig(BaseModel):
    """How a suite runs: concurrency, the judge for model-graded assertions, the pass threshold."""

    model_config = ConfigDict(extra="forbid")

    max_concurrency: int = Field(default=10, ge=1, le=100)
    judge_provider: str | None = Field(default=None, max_length=100)
    judge_model: str | None = Field(default=None, max_length=200)
    judge_params: dict[str, Any] = Field(default_factory=dict)
    pass_threshold: float = Field(default=100.0, ge=0, le=100, description="run score (0-100) needed to pass")


class Suite(BaseModel):
    id: int
    prompt_id: int
    name: str
    description: str = ""
    config: SuiteConfig = Field(default_factory=SuiteConfig)
    test_count: int = 0
    created_at: datetime
    updated_at: datetime


class SuiteTest(BaseModel):
    id: int
    suite_id: int
    name: str
    variables: dict[str, Any] = Field(default_factory=dict)
    dataset_id: int | None = None
    dataset_version: int | None = None  # the dataset version a run reads (set when the run starts)
    case_names: list[str] | None = None
    expected_output: str | None = None  # tests of a spec run (inline cases) carry their expected output
    assertions: list[dict[str, Any]] = Field(default_factory=list)
    weight: float = 1.0
    threshold: float | None = None
    repeat: int = 1
    created_at: datetime
    updated_at: datetime


class RunStatus(StrEnum):
    pending = "pending"
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    error = "error"


TERMINAL = frozenset({RunStatus.completed, RunStatus.failed, RunStatus.cancelled, RunStatus.error})
SCORE_BINS = 20  # fixed-bin histogram of case scores in [0, 1], for percentiles without scanning results


class RunAggregates(BaseModel):
    """Counters kept on the run item with atomic ADD updates as results arrive."""

    total: int = 0
    done: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0
    nulls: int = 0  # results reported with neither a score nor a pass/fail
    score_sum: float = 0.0
    score_sq_sum: float = 0.0
    weight_total: float = 0.0
    weight_passed: float = 0.0
    latency_ms_sum: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    cached_calls: int = 0
    histogram: list[int] = Field(default_factory=lambda: [0] * SCORE_BINS)


class ScorerAggregates(BaseModel):
    """One scorer's counters within a run: every result that reported it counts once."""

    name: str
    count: int = 0  # results that reported this scorer
    nulls: int = 0  # ... with no value
    errors: int = 0  # ... whose scorer failed
    values: int = 0  # ... with a numeric score
    judged: int = 0  # ... with a pass/fail
    passed: int = 0
    score_sum: float = 0.0
    score_sq_sum: float = 0.0
    histogram: list[int] = Field(default_factory=lambda: [0] * SCORE_BINS)


class Run(BaseModel):
    id: int
    project_id: str
    prompt_id: int | None = None
    suite_id: int | None = None
    version_no: int | None = None
    kind: str = "suite"  # suite | external
    name: str = ""
    model: str = ""
    total_latency: float | None = None
    status: RunStatus = RunStatus.pending
    verdict: str | None = None  # passed | failed | inconclusive
    config_hash: str = ""
    model_override: dict[str, Any] | None = None
    test_ids: list[int] | None = None
    score: float | None = None
    duration_ms: int | None = None
    error: str | None = None
    execution_arn: str | None = None
    has_spec: bool = False  # a run without a suite carries its own version, config and tests (its "spec")
    dataset_versions: dict[str, int] = Field(default_factory=dict)  # dataset id -> the version the run read
    aggregates: RunAggregates = Field(default_factory=RunAggregates)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RunResult(BaseModel):
    index: int
    name: str
    test_id: int | None = None
    case_name: str | None = None
    repeat: int = 0
    status: str  # passed | failed | errored
    score: float
    weight: float = 1.0
    duration_ms: float
    output: str | None = None
    error: str | None = None
    assertions: list[dict[str, Any]] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    variables: dict[str, Any] = Field(default_factory=dict)
    expected: str | None = None  # the case's expected output (a copy of at most RESULT_COPY_MAX characters)


class ExternalResult(BaseModel):
    """One result reported by an external runner (EvalGuard's EvalCaseResult)."""

    model_config = ConfigDict(extra="allow")

    id: str
    input: Any = None
    expected_output: Any = None
    actual_output: Any = None
    score: float | None = None
    passed: bool | None = None
    latency: float | None = None
    token_usage: dict[str, Any] = Field(default_factory=dict)
    scorer_results: dict[str, Any] = Field(default_factory=dict)
    cost: float | None = None


class JudgeAgreementRule(BaseModel):
    """A gate's condition on its judge (issue 15): the judge's verdicts count only when its Cohen's kappa against
    the reviewers of an annotation queue reaches `min_kappa` (its interval's lower bound, by default)."""

    model_config = ConfigDict(extra="forbid")

    queue_id: str
    criterion: str | None = None  # default: the queue's first judged pass/fail (or label) criterion
    min_kappa: float = Field(default=0.6, ge=-1, le=1)
    bound: Literal["lower", "estimate"] = "lower"


class GateSettings(BaseModel):
    """A prompt's quality gate: what a run must show to pass (Echostash GET/PUT /eval/gate)."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["pass_rate", "score"] = "pass_rate"
    threshold: float = Field(default=0.9, ge=0, le=1)
    mode: Literal["threshold", "significance", "non-inferiority"] = "threshold"
    margin: float = Field(default=0.05, ge=0, lt=1)
    min_samples: int = Field(default=10, ge=1, le=10_000_000)
    k_of_n: tuple[int, int] | None = None
    allow_inconclusive: bool = False
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    control_run_id: int | None = None
    # when the run and the control read different dataset versions: pair only the unchanged cases, or refuse
    on_dataset_change: Literal["compare_shared", "refuse"] = "compare_shared"
    judge_agreement: JudgeAgreementRule | None = None
