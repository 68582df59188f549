"""Statistics of runs, as the services compute them: domain models, independent of any API family.

The EvalGuard stats route (api/schemas/evals.py) and Humanloop's evaluation stats (api/schemas/humanloop.py)
map these to their own wire shapes at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the stats routes need not import the Humanloop models (cold start)
    from evalgate.models.domain import Run
    from evalgate.models.evaluations import Evaluation


@dataclass(frozen=True)
class ScoreSummary:
    """Mean, standard deviation and percentiles (from a fixed-bin histogram, `resolution` wide) of scores."""

    mean: float | None
    std: float | None
    percentiles: dict[str, float]  # "p0", "p25", ... "p100"
    resolution: float


@dataclass(frozen=True)
class PassRate:
    passed: int
    judged: int
    value: float | None  # passed / judged; None when nothing was judged
    ci95: tuple[float, float] | None  # Wilson score interval
    method: str = "wilson"


@dataclass(frozen=True)
class ScorerStats:
    name: str
    count: int
    nulls: int
    errors: int
    values: int  # results with a numeric score
    score: ScoreSummary
    pass_rate: PassRate


@dataclass(frozen=True)
class RateDelta:
    current: float | None
    control: float | None
    delta: float | None
    ci: tuple[float, float] | None
    ci_method: str | None


@dataclass(frozen=True)
class McNemar:
    current_only_passed: int | None
    control_only_passed: int | None
    p_value: float | None


@dataclass(frozen=True)
class DatasetCheck:
    """Whether a run and its control read the same dataset versions; when not, which cases changed between them
    (those are left out of the pairing: only the cases both versions share unchanged are compared)."""

    same: bool
    run_versions: dict[str, int]
    control_versions: dict[str, int]
    changed_cases: int = 0  # cases added, removed or edited between the two versions
    changed_sample: tuple[str, ...] = ()  # the first few of their names
    message: str = ""


@dataclass(frozen=True)
class Comparison:
    """A run against a control run over the cases both share (paired)."""

    control_run_id: int | None
    verdict: str  # better | worse | no_difference (evalgate.stats.gate.comparison_verdict)
    verdict_reason: str
    shared_cases: int
    pass_rate: RateDelta
    mcnemar: McNemar
    score: RateDelta  # delta is the mean paired score delta; its ci a paired bootstrap interval
    confidence: float
    datasets: DatasetCheck | None = None  # set by services.datasets.check_versions (kept apart from the figures)


@dataclass(frozen=True)
class RunStats:
    run: Run
    count: int
    passed: int
    failed: int
    errors: int
    nulls: int
    score: ScoreSummary
    pass_rate: PassRate
    latency_total_ms: float
    latency_mean_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    scorers: dict[str, ScorerStats] = field(default_factory=dict)
    comparison: Comparison | None = None


@dataclass(frozen=True)
class EvaluationStats:
    """A Humanloop-style evaluation's runs with their statistics; each run but the control carries its
    comparison with the control run (None when the control could not be read)."""

    evaluation: Evaluation
    runs: list[RunStats]
    control_run_id: int | None
