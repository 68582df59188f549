"""The quality gate: does a run meet its bar, with what confidence, compared with what.

``check_gate(config, current, control)`` reads O(1) figures of a run (its aggregates, plus the
per-case pass/fail and scores for k-of-n and paired comparisons) and returns a verdict: passed,
failed or inconclusive, with one sentence saying why and every figure it used.

Modes
- ``threshold``: the metric >= threshold passes (n >= min_samples, else inconclusive).
- ``significance``: a two-sided ``confidence`` interval of the metric (Wilson for the pass rate,
  Student t for the mean score) entirely at or above the threshold passes, entirely below fails,
  straddling it is inconclusive. 8 of 10 against 0.9: inconclusive; 800 of 1,000: failed;
  990 of 1,000: passed.
- ``non-inferiority``: against the control run over the cases both share (paired by case key):
  the interval of the difference current - control with its lower bound >= -margin passes, its
  upper bound < -margin fails, else inconclusive. Pass rate: Newcombe's paired square-and-add
  interval when every case has a single pass/fail outcome (k-of-n, or one repeat each; it uses the
  discordant pairs like McNemar's test and behaves at small n and at rates near 0 or 1), otherwise
  a paired bootstrap of the per-case pass fractions. Score: a paired bootstrap of the per-case
  score differences.

Whenever a control is given the figures also carry McNemar's exact p on the pass/fail pairs and
the paired bootstrap interval of the mean score difference.

k-of-n: a case passes when at least k of its first n repeats passed. Repeats missing from a case
count as failures (a case with 2 repeats under 2-of-3 passes only if both passed) - the
conservative reading for a gate; ``incomplete_cases`` in the figures counts them. k-of-n changes
the unit of the pass rate from results to cases; it does not affect the score metric.

Small samples: a percentile bootstrap narrows to nothing when every paired difference is equal
(20 cases scoring exactly as in the control give the interval [0, 0]) and a t interval likewise
when every score is equal, so the score metric leans on ``min_samples`` more than the pass rate,
whose Wilson/Newcombe intervals keep a width that reflects n.

Comparisons tolerate 1e-12 of rounding (a mean of 0.8999999999999999 meets 0.9).
``GateResult.passed`` is True only for a passed verdict; the caller applies ``allow_inconclusive``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import mul, sub
from typing import Any

from evalgate.models.stats import Comparison, McNemar, RateDelta
from evalgate.stats.cases import CaseColumns
from evalgate.stats.descriptive import confidence_z, mean_interval, mean_std, wilson_interval
from evalgate.stats.inference import (
    binomial_test,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_mean_ci,
)
from evalgate.stats.special import t_sf

METRICS = ("pass_rate", "score")
MODES = ("threshold", "significance", "non-inferiority")
PASSED, FAILED, INCONCLUSIVE = "passed", "failed", "inconclusive"
_TOL = 1e-12
BOOTSTRAP_ITERATIONS = 2000
BOOTSTRAP_SEED = 0


@dataclass
class GateConfig:
    metric: str = "pass_rate"  # "pass_rate" (0-1) or "score" (mean score 0-1)
    threshold: float = 0.9
    mode: str = "threshold"  # "threshold" | "significance" | "non-inferiority"
    margin: float = 0.05  # non-inferiority margin (absolute, on the metric)
    min_samples: int = 10
    k_of_n: tuple[int, int] | None = None  # a case passes when at least k of its n repeats passed
    allow_inconclusive: bool = False
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold!r}")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"margin must be in [0, 1), got {self.margin!r}")
        if self.min_samples < 0:
            raise ValueError("min_samples must be non-negative")
        confidence_z(self.confidence)  # validates (0, 1)
        if self.k_of_n is not None:
            k, n = (int(v) for v in self.k_of_n)  # a JSON list is fine
            if not 1 <= k <= n:
                raise ValueError(f"k_of_n needs 1 <= k <= n, got {self.k_of_n!r}")
            self.k_of_n = (k, n)


@dataclass
class RunFigures:
    """What the gate reads for one run (from its aggregates)."""

    n: int
    passed: int
    score_sum: float
    score_sq_sum: float
    case_outcomes: dict[str, list[bool]] | None = None  # per case key: pass/fail of each repeat
    case_scores: dict[str, float] | None = None  # per case key: mean score (for paired deltas)
    cases: CaseColumns | None = None  # the same, compact (large runs): used when both runs compared have it

    @classmethod
    def from_aggregates(
        cls,
        aggregates: Any,
        case_outcomes: dict[str, list[bool]] | None = None,
        case_scores: dict[str, float] | None = None,
    ) -> RunFigures:
        """From a ``RunAggregates`` (duck-typed): every recorded result counts, errored ones as not passed."""
        return cls(
            n=int(aggregates.done),
            passed=int(aggregates.passed),
            score_sum=float(aggregates.score_sum),
            score_sq_sum=float(aggregates.score_sq_sum),
            case_outcomes=case_outcomes,
            case_scores=case_scores,
        )


@dataclass
class GateResult:
    passed: bool
    verdict: str  # "passed" | "failed" | "inconclusive"
    reason: str  # one human sentence with the figures
    figures: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------- formatting


def _fmt(x: float, *others: float) -> str:
    """x with 2 decimals, or more (up to 4) when 2 would print it equal to a different value it is compared with."""
    for digits in (2, 3, 4):
        text = f"{x:.{digits}f}"
        if all(text != f"{o:.{digits}f}" or abs(o - x) <= _TOL for o in others):
            break
    return "0.00" if text.strip("-0.") == "" else text  # no "-0.00"


def _interval(lo: float, hi: float, *others: float) -> str:
    a, b = _fmt(lo, *others), _fmt(hi, *others)
    return f"{a}{_EN_DASH}{b}" if lo >= 0 else f"{a} to {b}"


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


_EN_DASH = "\u2013"
_LABEL = {"pass_rate": "pass rate", "score": "mean score"}


# ------------------------------------------------------------------------------- per-run figures


def _case_passes(outcomes: list[bool], k_of_n: tuple[int, int]) -> bool:
    k, n = k_of_n
    return sum(1 for o in outcomes[:n] if o) >= k


def _case_values(config: GateConfig, run: RunFigures) -> dict[str, float] | None:
    """Per case: 1/0 under k-of-n, else the fraction of its repeats that passed (0 with no repeats)."""
    if run.case_outcomes is None:
        return None
    values: dict[str, float] = {}
    for key, outcomes in run.case_outcomes.items():
        if config.k_of_n is not None:
            values[key] = 1.0 if _case_passes(outcomes, config.k_of_n) else 0.0
        else:
            values[key] = sum(1 for o in outcomes if o) / len(outcomes) if outcomes else 0.0
    return values


@dataclass
class _Measure:
    n: int
    value: float | None
    unit: str
    figures: dict[str, Any]
    problem: str | None = None  # why the run cannot be judged


def _measure(config: GateConfig, run: RunFigures) -> _Measure:
    """The metric of one run with its interval and p-value against the threshold."""
    z_conf = config.confidence
    if config.metric == "pass_rate":
        if config.k_of_n is not None:
            k, reps = config.k_of_n
            if run.case_outcomes is None and run.cases is None:
                return _Measure(0, None, "cases", {}, f"{k}-of-{reps} needs per-case outcomes and the run has none")
            if run.case_outcomes is not None:
                outcomes = run.case_outcomes
                n = len(outcomes)
                passed = sum(1 for o in outcomes.values() if _case_passes(o, config.k_of_n))
                incomplete = sum(1 for o in outcomes.values() if len(o) < reps)
            else:
                assert run.cases is not None
                cols = run.cases
                n = len(cols)
                passed = sum(1 for i in range(n) if cols.passes_first(i, reps) >= k)
                incomplete = sum(1 for i in range(n) if cols.count(i) < reps)
            unit = "cases"
            extra: dict[str, Any] = {
                "k_of_n": [k, reps],
                "incomplete_cases": incomplete,
                "results": run.n,
            }
        else:
            n, passed, unit, extra = run.n, run.passed, "results", {}
        if n <= 0:
            return _Measure(0, None, unit, {"n": 0, "passed": 0, **extra})
        value = passed / n
        lo, hi = wilson_interval(passed, n, z_conf)
        figures = {
            "n": n,
            "passed": passed,
            "value": value,
            "ci_low": lo,
            "ci_high": hi,
            "ci_method": "wilson",
            "p_value": binomial_test(passed, n, config.threshold),
            "p_value_test": "exact binomial, two-sided, against the threshold",
            **extra,
        }
        return _Measure(n, value, unit, figures)
    n = run.n
    if n <= 0:
        return _Measure(0, None, "results", {"n": 0})
    mean, std = mean_std(n, run.score_sum, run.score_sq_sum)
    assert mean is not None
    figures = {"n": n, "value": mean, "std": std, "ci_low": None, "ci_high": None, "p_value": None}
    interval = mean_interval(n, run.score_sum, run.score_sq_sum, z_conf, bounds=(0.0, 1.0))
    if interval is not None and std is not None:
        figures.update(ci_low=interval[0], ci_high=interval[1], ci_method="student-t")
        if std > 0:
            t = (mean - config.threshold) / (std / math.sqrt(n))
            figures["p_value"] = min(1.0, 2.0 * t_sf(abs(t), n - 1))
        else:
            figures["p_value"] = 1.0 if abs(mean - config.threshold) <= _TOL else 0.0
        figures["p_value_test"] = "one-sample t, two-sided, against the threshold"
    return _Measure(n, mean, "results", figures)


# ------------------------------------------------------------------------------- paired figures


@dataclass
class _Paired:
    shared: int
    figures: dict[str, Any]
    interval: tuple[float, float] | None = None  # of the metric difference, for non-inferiority
    delta: float | None = None
    current_value: float | None = None
    control_value: float | None = None
    problem: str | None = None
    score: _Paired | None = None  # the mean-score side (its delta, interval and values), whatever the metric


def _shared_columns(
    config: GateConfig, current: RunFigures, control: RunFigures
) -> tuple[tuple[Sequence[float], Sequence[float]] | None, tuple[Sequence[float], Sequence[float]] | None]:
    """The shared cases' (current, control) values and (current, control) mean scores, in case-key order: from
    the compact columns when both runs have them, else from the dicts (None where a run lacks them)."""
    if current.cases is not None and control.cases is not None:
        return current.cases.pairs(control.cases, config.k_of_n)
    pass_pairs = None
    cur_values, ctl_values = _case_values(config, current), _case_values(config, control)
    if cur_values is not None and ctl_values is not None:
        shared = sorted(cur_values.keys() & ctl_values.keys())
        pass_pairs = ([cur_values[k] for k in shared], [ctl_values[k] for k in shared])
    score_pairs = None
    if current.case_scores is not None and control.case_scores is not None:
        shared = sorted(current.case_scores.keys() & control.case_scores.keys())
        score_pairs = (
            [float(current.case_scores[k]) for k in shared],
            [float(control.case_scores[k]) for k in shared],
        )
    return pass_pairs, score_pairs


def _binary(values: Sequence[float]) -> bool:
    """Every value is 0 or 1 (counted in C on an array)."""
    if isinstance(values, array):
        return values.count(0.0) + values.count(1.0) == len(values)
    return all(x in (0.0, 1.0) for x in values)


def _paired(config: GateConfig, current: RunFigures, control: RunFigures) -> _Paired:
    figures: dict[str, Any] = {}
    conf = config.confidence
    result = _Paired(0, figures)

    pass_pairs, score_pairs = _shared_columns(config, current, control)
    if pass_pairs is not None:
        cur_v, ctl_v = pass_pairs
        shared = len(cur_v)
        binary = _binary(cur_v) and _binary(ctl_v)
        figures["shared_cases"] = shared
        if shared and binary:
            # on 0/1 values: both passed = the sum of the products; the sums are exact (integers below 2**53)
            a = int(sum(map(mul, cur_v, ctl_v)))
            b = int(sum(cur_v)) - a
            c = int(sum(ctl_v)) - a
            d = shared - a - b - c
            figures.update(mcnemar_b=b, mcnemar_c=c, mcnemar_p=mcnemar_exact(b, c))
            if config.metric == "pass_rate":
                result.interval = newcombe_paired_interval(a, b, c, d, conf)
                figures["delta_ci_method"] = "newcombe-paired"
        else:
            figures.update(mcnemar_b=None, mcnemar_c=None, mcnemar_p=None)
        if config.metric == "pass_rate" and shared:
            deltas = array("d", map(sub, cur_v, ctl_v))
            if result.interval is None:
                result.interval = paired_mean_ci(deltas, conf, BOOTSTRAP_ITERATIONS, BOOTSTRAP_SEED)
                figures["delta_ci_method"] = "paired-bootstrap"
            result.shared = shared
            result.delta = sum(deltas) / len(deltas)
            result.current_value = sum(cur_v) / shared
            result.control_value = sum(ctl_v) / shared
    elif config.metric == "pass_rate":
        result.problem = "needs per-case outcomes of both runs"

    if score_pairs is not None:
        cur_s, ctl_s = score_pairs
        shared = len(cur_s)
        figures["shared_scored_cases"] = shared
        if shared:
            deltas = array("d", map(sub, cur_s, ctl_s))
            lo, hi = paired_mean_ci(deltas, conf, BOOTSTRAP_ITERATIONS, BOOTSTRAP_SEED)
            mean_delta = sum(deltas) / len(deltas)
            figures.update(score_delta_mean=mean_delta, score_delta_ci_low=lo, score_delta_ci_high=hi)
            result.score = _Paired(shared, {}, (lo, hi), mean_delta, sum(cur_s) / shared, sum(ctl_s) / shared)
            if config.metric == "score":
                result.shared = shared
                result.interval = (lo, hi)
                result.delta = mean_delta
                result.current_value = sum(cur_s) / shared
                result.control_value = sum(ctl_s) / shared
                figures["delta_ci_method"] = "paired-bootstrap"
    elif config.metric == "score":
        result.problem = "needs per-case scores of both runs"
    return result


# ------------------------------------------------------------------------------- the gate


def check_gate(config: GateConfig, current: RunFigures, control: RunFigures | None = None) -> GateResult:
    """The verdict of a run against the gate (see the module docstring for the semantics)."""
    label = _LABEL[config.metric]
    pct = _pct(config.confidence)
    figures: dict[str, Any] = {
        "metric": config.metric,
        "mode": config.mode,
        "threshold": config.threshold,
        "confidence": config.confidence,
        "min_samples": config.min_samples,
    }
    measure = _measure(config, current)
    figures.update(measure.figures)
    figures["unit"] = measure.unit

    paired: _Paired | None = None
    if control is not None:
        control_measure = _measure(config, control)
        figures["control_n"] = control_measure.n
        figures["control_value"] = control_measure.value
        paired = _paired(config, current, control)
        figures.update(paired.figures)

    def result(verdict: str, reason: str) -> GateResult:
        figures["verdict"] = verdict
        return GateResult(verdict == PASSED, verdict, reason, figures)

    if config.mode == "non-inferiority":
        figures["margin"] = config.margin
        if paired is None:
            return result(INCONCLUSIVE, "non-inferiority needs a control run and none was given")
        if paired.problem is not None:
            return result(INCONCLUSIVE, f"non-inferiority on the {label} {paired.problem}")
        if paired.shared < max(1, config.min_samples):
            return result(
                INCONCLUSIVE,
                f"only {paired.shared:,} cases are shared with the control (minimum {config.min_samples:,}), "
                "too few to decide",
            )
        assert paired.interval is not None and paired.delta is not None
        lo, hi = paired.interval
        figures.update(
            delta=paired.delta,
            delta_ci_low=lo,
            delta_ci_high=hi,
            shared_current_value=paired.current_value,
            shared_control_value=paired.control_value,
            p_value=None,  # the test against the threshold does not apply here
        )
        figures.pop("p_value_test", None)
        bound = -config.margin
        text = (
            f"{label} change {_fmt(paired.delta, bound)} against the control "
            f"({pct} CI {_interval(lo, hi, bound)}, {paired.shared:,} shared cases)"
        )
        if lo >= bound - _TOL:
            return result(PASSED, f"{text} stays within the non-inferiority margin of {_fmt(config.margin)}")
        if hi < bound - _TOL:
            return result(FAILED, f"{text} is worse than the non-inferiority margin of {_fmt(config.margin)}")
        return result(
            INCONCLUSIVE,
            f"{text} does not settle whether it stays within the non-inferiority margin of {_fmt(config.margin)}",
        )

    if measure.problem is not None:
        return result(INCONCLUSIVE, measure.problem)
    unit = measure.unit
    if measure.n < max(1, config.min_samples) or measure.value is None:
        return result(INCONCLUSIVE, f"only {measure.n:,} {unit} (minimum {config.min_samples:,}), too few to decide")
    value, thr = measure.value, config.threshold
    per = f"{config.k_of_n[0]}-of-{config.k_of_n[1]} repeats per case, " if unit == "cases" and config.k_of_n else ""

    if config.mode == "threshold":
        text = f"{label} {_fmt(value, thr)} ({per}n={measure.n:,})"
        if value >= thr - _TOL:
            return result(PASSED, f"{text} meets the threshold {_fmt(thr, value)}")
        return result(FAILED, f"{text} is below the threshold {_fmt(thr, value)}")

    # significance
    ci_lo, ci_hi = figures.get("ci_low"), figures.get("ci_high")
    if ci_lo is None or ci_hi is None:
        return result(INCONCLUSIVE, f"{label} {_fmt(value)} needs at least 2 {unit} for an interval, too few to decide")
    text = f"{label} {_fmt(value, thr)} ({pct} CI {_interval(ci_lo, ci_hi, thr)}, {per}n={measure.n:,})"
    if ci_lo >= thr - _TOL:
        return result(PASSED, f"{text} is at or above {_fmt(thr, ci_lo)} with {pct} confidence")
    if ci_hi < thr - _TOL:
        return result(FAILED, f"{text} is below {_fmt(thr, ci_hi)} with {pct} confidence")
    return result(INCONCLUSIVE, f"{text} does not settle whether it meets {_fmt(thr, ci_lo, ci_hi)}")


def compare_paired(current: RunFigures, control: RunFigures, confidence: float = 0.95) -> Comparison:
    """A run against a control run over the cases both share (the figures need per-case outcomes and scores):
    pass rates and mean scores on the shared cases, their paired deltas, McNemar's exact p-value of the
    pass/fail flips (cases with one result each), and paired intervals of both deltas."""
    rate = _paired(GateConfig(metric="pass_rate", confidence=confidence), current, control)
    score = rate.score or _Paired(0, {})  # the score side is the same whichever metric the pairing was made for
    f = rate.figures
    verdict, why = comparison_verdict(
        rate.delta, rate.interval, f.get("mcnemar_p"), score.delta, score.interval, 1 - confidence
    )
    return Comparison(
        control_run_id=None,
        verdict=verdict,
        verdict_reason=why,
        shared_cases=rate.shared,
        pass_rate=RateDelta(
            current=rate.current_value,
            control=rate.control_value,
            delta=rate.delta,
            ci=(rate.interval[0], rate.interval[1]) if rate.interval else None,
            ci_method=f.get("delta_ci_method"),
        ),
        mcnemar=McNemar(
            current_only_passed=f.get("mcnemar_b"),
            control_only_passed=f.get("mcnemar_c"),
            p_value=f.get("mcnemar_p"),
        ),
        score=RateDelta(
            current=score.current_value,
            control=score.control_value,
            delta=score.delta,
            ci=(score.interval[0], score.interval[1]) if score.interval else None,
            ci_method="paired-bootstrap" if score.interval else None,
        ),
        confidence=confidence,
    )


def comparison_verdict(
    rate_delta: float | None,
    rate_ci: tuple[float, float] | None,
    mcnemar_p: float | None,
    score_delta: float | None,
    score_ci: tuple[float, float] | None,
    alpha: float,
) -> tuple[str, str]:
    """One plain verdict of a paired comparison: `better`, `worse` or `no_difference` (what a console badge shows).

    A signal is significant when the paired pass-rate interval excludes 0, McNemar's p is below alpha, or the
    bootstrap interval of the mean score delta excludes 0; its direction is the sign of its delta. Signals
    pointing both ways (pass rate up, score down) are no detectable difference, said so in the reason."""
    signals: list[tuple[int, str]] = []
    if rate_delta is not None and rate_ci is not None and (rate_ci[0] > _TOL or rate_ci[1] < -_TOL):
        signals.append((1 if rate_delta > 0 else -1, "the pass-rate delta's interval excludes 0"))
    if rate_delta is not None and mcnemar_p is not None and mcnemar_p < alpha and abs(rate_delta) > _TOL:
        signals.append((1 if rate_delta > 0 else -1, f"McNemar's p = {mcnemar_p:.3g} < {alpha:.3g}"))
    if score_delta is not None and score_ci is not None and (score_ci[0] > _TOL or score_ci[1] < -_TOL):
        signals.append((1 if score_delta > 0 else -1, "the score delta's bootstrap interval excludes 0"))
    directions = {d for d, _ in signals}
    if not signals:
        return "no_difference", "no interval excludes 0 and McNemar's p is not below alpha"
    if len(directions) > 1:
        return "no_difference", "the signals disagree: " + "; ".join(w for _, w in signals)
    return ("better" if directions == {1} else "worse"), "; ".join(w for _, w in signals)
