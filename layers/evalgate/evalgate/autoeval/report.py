"""Per-metric summaries of an auto-eval job and its drift report against a baseline.

    current = summarize(results)                       # stored on the job; the next job's baseline
    report = build_report(current, previous_summary_or_None, results, thresholds=monitor.thresholds)

A metric is a judge criterion (rubric, factuality, hallucination, relevance) or a deterministic scorer
(is-json, latency, ...). For every metric the summary keeps n, the passes and the scores (4 dp).

The report compares the current sample with the baseline, metric by metric:

- pass rate: two-proportion z test (pooled variance), or Fisher's exact test when an expected cell of the
  2x2 table (current/baseline x pass/fail) is below 5; two-sided;
- score distribution: two-sample Kolmogorov-Smirnov test, two-sided; skipped when every score on both
  sides is 0 or 1 (the scores then carry nothing beyond pass/fail, and a duplicate test would only cost
  power under the correction).

Holm's correction runs across ALL the tests of the report (every metric, both kinds), so the chance of
any false alarm in a report stays at most `alpha` whatever the number of metrics. `p_value` is the raw
p of a test, `p_adjusted` the Holm-adjusted one; `significant` = p_adjusted <= alpha.

Each pass-rate row also carries both sides' 1 - alpha Wilson intervals (`baseline_ci`, `current_ci`) and their
score distributions (`baseline_histogram`, `current_histogram`: counts in 10 bins of 0.1 over [0, 1]); each
score row the 1 - alpha Student t intervals of both means. They are figures to draw, not further tests.

Metrics found only in the baseline are not reported; metrics only in the current sample are reported
with their current figures, untested.

- verdict `inconclusive` (has_drift false, never an alarm) when there is no baseline yet, or either side
  has fewer than `min_samples` results, or no metric has min_samples results on both sides; a metric
  whose own n is below min_samples on a side is reported untested (test null) and left out of the
  correction;
- has_drift: any significant change, in either direction (verdict `drift`);
- regressions: the significant changes for the worse (pass rate or mean score down), plus the floors
  breached: a metric whose current pass rate is below its floor in `thresholds`, which needs no baseline
  (but min_samples current results, like every finding);
- overall_delta: the unweighted mean of the per-metric pass-rate deltas (current - baseline) over the
  metrics present on both sides, whatever their sample size or significance: a summary figure, not a
  test; null without a baseline;
- hallucinations: the samples whose hallucination criterion failed, with the judge's reason (the first
  MAX_LISTED_HALLUCINATIONS; `hallucination_count` has them all);
- alerts: one sentence per regression, per floor breached, and for the hallucination rate when any
  sample hallucinated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalgate.stats.descriptive import histogram, mean_interval, wilson_interval
from evalgate.stats.drift import ks_2samp
from evalgate.stats.inference import fisher_exact, holm, two_proportion_z

SUMMARY_VERSION = 1
MAX_LISTED_HALLUCINATIONS = 50
HISTOGRAM_BINS = 10  # score distributions in the report: counts in 10 bins of width 0.1 over [0, 1]
REASON_LIMIT = 300
HALLUCINATION = "hallucination"
_CRITERIA_ORDER = ("rubric", "factuality", "hallucination", "relevance")
PASS_RATE, SCORES = "pass_rate", "score_distribution"
TEST_Z, TEST_FISHER, TEST_KS = "two_proportion_z", "fisher_exact", "ks_2samp"
_TEST_NAMES = {TEST_Z: "two-proportion z test", TEST_FISHER: "Fisher's exact test", TEST_KS: "Kolmogorov-Smirnov test"}


@dataclass
class SampleResult:
    trace_id: str
    scores: dict[str, float] = field(default_factory=dict)
    passed: dict[str, bool] = field(default_factory=dict)
    hallucination_reason: str | None = None  # set when the hallucination criterion failed

    @classmethod
    def from_criteria(cls, trace_id: str, results: Mapping[str, Any]) -> SampleResult:
        """From {name: CriterionResult} (judge and deterministic scorers merged); the hallucination reason
        is taken from a failed `hallucination` criterion."""
        sample = cls(trace_id=trace_id)
        for name, result in results.items():
            sample.scores[name] = float(result.score)
            sample.passed[name] = bool(result.passed)
        failed = results.get(HALLUCINATION)
        if failed is not None and not failed.passed:
            sample.hallucination_reason = str(failed.reason or "") or "The judge found unsupported claims."
        return sample


# --- summaries -----------------------------------------------------------------------------------------------


def summarize(results: Sequence[SampleResult]) -> dict[str, Any]:
    """The job's figures, JSON-able: {"version", "n", "metrics": {name: {"n", "passes", "pass_rate",
    "mean_score", "scores"}}}.

    A metric counts for a sample when the sample has a pass flag or a score for it (a score alone passes
    at >= 0.5; a flag alone scores 1 or 0). Scores are rounded to 4 dp and sorted (their order carries
    nothing): about 4 x 1,000 numbers for a 1,000-sample job with the four criteria, well within an item.
    """
    collected: dict[str, tuple[list[int], list[float]]] = {}
    for result in results:
        for name in dict.fromkeys([*result.passed, *result.scores]):
            flag = result.passed.get(name)
            raw = result.scores.get(name)
            score = _finite(raw)
            if flag is None and score is None:
                continue
            if score is None:
                score = 1.0 if flag else 0.0
            if flag is None:
                flag = score >= 0.5
            passes, scores = collected.setdefault(name, ([], []))
            passes.append(1 if flag else 0)
            scores.append(round(min(1.0, max(0.0, score)), 4))
    metrics: dict[str, Any] = {}
    for name in _ordered(collected):
        passes, scores = collected[name]
        n = len(passes)
        metrics[name] = {
            "n": n,
            "passes": sum(passes),
            "pass_rate": round(sum(passes) / n, 4),
            "mean_score": round(math.fsum(scores) / n, 4),
            "scores": sorted(scores),
        }
    return {"version": SUMMARY_VERSION, "n": len(results), "metrics": metrics}


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ordered(names: Any) -> list[str]:
    names = list(names)
    first = [n for n in _CRITERIA_ORDER if n in names]
    return first + sorted(n for n in names if n not in _CRITERIA_ORDER)


@dataclass
class _Metric:
    n: int
    passes: int
    scores: list[float]

    @property
    def rate(self) -> float | None:
        return self.passes / self.n if self.n else None

    @property
    def mean(self) -> float | None:
        return math.fsum(self.scores) / len(self.scores) if self.scores else None


def _metrics(summary: Mapping[str, Any] | None, what: str) -> tuple[int, dict[str, _Metric]]:
    """(n, metrics) of a summary; ValueError for a malformed one."""
    if summary is None:
        return 0, {}
    if not isinstance(summary, Mapping) or not isinstance(summary.get("metrics"), Mapping):
        raise ValueError(f"the {what} summary has no 'metrics' (use summarize())")
    metrics: dict[str, _Metric] = {}
    for name, raw in summary["metrics"].items():
        if not isinstance(raw, Mapping):
            raise ValueError(f"the {what} summary's metric {name!r} is not an object")
        try:
            n, passes = int(raw.get("n", 0)), int(raw.get("passes", 0))
            scores = [float(s) for s in raw.get("scores") or []]
        except (TypeError, ValueError) as err:
            raise ValueError(f"the {what} summary's metric {name!r} has bad counts or scores") from err
        if not 0 <= passes <= n:
            raise ValueError(f"the {what} summary's metric {name!r} needs 0 <= passes <= n")
        metrics[str(name)] = _Metric(n, passes, [s for s in scores if math.isfinite(s)])
    size = summary.get("n")
    total = (
        int(size)
        if isinstance(size, int | float) and not isinstance(size, bool)
        else max((m.n for m in metrics.values()), default=0)
    )
    return total, metrics


# --- the report ----------------------------------------------------------------------------------------------


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _p(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def _ci(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [round(interval[0], 4), round(interval[1], 4)]


def _mean_ci(scores: Sequence[float], confidence: float) -> list[float] | None:
    return _ci(mean_interval(len(scores), math.fsum(scores), math.fsum(s * s for s in scores), confidence, (0.0, 1.0)))


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _fmt_p(value: float) -> str:
    return f"{value:.2g}" if value >= 0.001 else f"{value:.1e}"


def pass_rate_test(passes_cur: int, n_cur: int, passes_base: int, n_base: int) -> tuple[str, float]:
    """(test name, two-sided p) for a change of pass rate: Fisher's exact test when an expected cell of the
    2x2 table is below 5, else the two-proportion z test."""
    fails_cur, fails_base = n_cur - passes_cur, n_base - passes_base
    total = n_cur + n_base
    col_pass, col_fail = passes_cur + passes_base, fails_cur + fails_base
    expected = [r * c / total for r in (n_cur, n_base) for c in (col_pass, col_fail)]
    if min(expected) < 5:
        return TEST_FISHER, fisher_exact(passes_cur, fails_cur, passes_base, fails_base)
    return TEST_Z, two_proportion_z(passes_cur, n_cur, passes_base, n_base)


def _binary(scores: Sequence[float]) -> bool:
    return all(s in (0.0, 1.0) for s in scores)


def build_report(
    current: dict[str, Any],
    baseline: dict[str, Any] | None,
    results: Sequence[SampleResult],
    *,
    alpha: float = 0.05,
    min_samples: int = 30,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The drift report of a job (see the module docstring for every rule). `current` and `baseline` are
    summarize() outputs; `results` the current job's per-sample results (for the hallucinations)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be between 0 and 1")
    if min_samples < 1:
        raise ValueError("min_samples must be at least 1")
    current_n, cur = _metrics(current, "current")
    baseline_n, base = _metrics(baseline, "baseline")

    gate: str | None = None
    if baseline is None:
        gate = "No baseline yet: this job's results become the baseline of the next job of this target."
    elif current_n < min_samples or baseline_n < min_samples:
        gate = (
            f"Too few samples to test for drift: {current_n} current and {baseline_n} baseline results, "
            f"at least {min_samples} needed on each side."
        )

    rows: list[dict[str, Any]] = []
    tested: list[tuple[int, float]] = []
    deltas: list[float] = []
    for name in _ordered(cur):
        mc, mb = cur[name], base.get(name)
        small = mb is not None and min(mc.n, mb.n) < min_samples
        rate_b = mb.rate if mb is not None else None
        delta = mc.rate - rate_b if mc.rate is not None and rate_b is not None else None
        if delta is not None:
            deltas.append(delta)
        row: dict[str, Any] = {
            "metric": name,
            "kind": PASS_RATE,
            "baseline": _r(rate_b),
            "current": _r(mc.rate),
            "delta": _r(delta),
            "test": None,
            "p_value": None,
            "p_adjusted": None,
            "significant": False,
            "baseline_n": mb.n if mb is not None else None,
            "current_n": mc.n,
            # 1 - alpha Wilson intervals of each side's pass rate (what the console draws; it computes nothing)
            "baseline_ci": _ci(wilson_interval(mb.passes, mb.n, 1 - alpha)) if mb is not None and mb.n else None,
            "current_ci": _ci(wilson_interval(mc.passes, mc.n, 1 - alpha)) if mc.n else None,
            # the metric's score distributions (its one row that always exists carries them)
            "baseline_histogram": histogram(mb.scores, HISTOGRAM_BINS) if mb is not None else None,
            "current_histogram": histogram(mc.scores, HISTOGRAM_BINS),
        }
        if gate is None and mb is not None and not small and mc.n and mb.n:
            row["test"], p = pass_rate_test(mc.passes, mc.n, mb.passes, mb.n)
            tested.append((len(rows), p))
        elif gate is None and mb is not None:
            row["note"] = f"fewer than {min_samples} results on a side: not tested"
        rows.append(row)
        if mb is None or (_binary(mc.scores) and _binary(mb.scores)):
            continue
        mean_b, mean_c = mb.mean, mc.mean
        score_row: dict[str, Any] = {
            "metric": name,
            "kind": SCORES,
            "baseline": _r(mean_b),
            "current": _r(mean_c),
            "delta": _r(mean_c - mean_b) if mean_c is not None and mean_b is not None else None,
            "test": None,
            "p_value": None,
            "p_adjusted": None,
            "significant": False,
            "baseline_n": len(mb.scores),
            "current_n": len(mc.scores),
            # 1 - alpha Student t intervals of each side's mean score, clipped to [0, 1]
            "baseline_ci": _mean_ci(mb.scores, 1 - alpha),
            "current_ci": _mean_ci(mc.scores, 1 - alpha),
        }
        if gate is None and min(len(mc.scores), len(mb.scores)) >= min_samples:
            score_row["test"] = TEST_KS
            tested.append((len(rows), ks_2samp(mc.scores, mb.scores)[1]))
        elif gate is None:
            score_row["note"] = f"fewer than {min_samples} scores on a side: not tested"
        rows.append(score_row)

    adjusted = holm([p for _, p in tested]) if tested else []
    for (index, p), p_adj in zip(tested, adjusted, strict=True):
        rows[index].update(p_value=_p(p), p_adjusted=_p(p_adj), significant=p_adj <= alpha)

    if gate is None and not tested:
        gate = f"No metric has at least {min_samples} results in both the current sample and the baseline."
    has_drift = gate is None and any(row["significant"] for row in rows)
    verdict = "inconclusive" if gate is not None else ("drift" if has_drift else "no_drift")
    if gate is not None:
        reason = gate
    else:
        changed = sum(1 for row in rows if row["significant"])
        reason = (
            f"{changed} of {len(tested)} tests show a significant change (Holm-adjusted p <= {alpha:g})."
            if changed
            else f"No significant change in {len(tested)} tests (Holm-adjusted p > {alpha:g})."
        )

    regressions: list[dict[str, Any]] = []
    alerts: list[str] = []
    for row in rows:
        if not row["significant"] or row["delta"] is None or row["delta"] >= 0:
            continue
        regressions.append(
            {k: row[k] for k in ("metric", "kind", "baseline", "current", "delta", "test")}
            | {
                "p_value": row["p_value"],
                "p_adjusted": row["p_adjusted"],
            }
        )
        alerts.append(_regression_sentence(row, len(tested)))

    floors = _floors(cur, thresholds, min_samples)
    for floor in floors:
        if floor["breached"]:
            regressions.append(
                {
                    "metric": floor["metric"],
                    "kind": "floor",
                    "floor": floor["floor"],
                    "current": floor["current"],
                    "current_n": floor["current_n"],
                }
            )
            low, high = floor["interval"]
            alerts.append(
                f"{floor['metric']} pass rate {_pct(floor['current'])} ({floor['passes']} of {floor['current_n']}; "
                f"95% CI {_pct(low)}-{_pct(high)}) is below its floor of {_pct(floor['floor'])}."
            )

    hallucinations, count, judged = _hallucinations(results, cur)
    if count:
        example = hallucinations[0]
        alerts.append(
            f"Hallucinations in {count} of {judged} judged outputs ({_pct(count / judged)}), "
            f"e.g. trace {example['trace_id']}: {example['reason']}"
        )

    return {
        "has_drift": has_drift,
        "overall_delta": _r(math.fsum(deltas) / len(deltas)) if baseline is not None and deltas else None,
        "metric_deltas": rows,
        "regressions": regressions,
        "hallucinations": hallucinations,
        "hallucination_count": count,
        "hallucination_rate": _r(count / judged) if judged else None,
        "alerts": alerts,
        "verdict": verdict,
        "baseline_n": baseline_n if baseline is not None else None,
        "current_n": current_n,
        "reason": reason,
        "alpha": alpha,
        "min_samples": min_samples,
        "tests": len(tested),
        "floors": [{k: v for k, v in f.items() if k != "interval"} for f in floors],
    }


def _regression_sentence(row: dict[str, Any], tests: int) -> str:
    test = _TEST_NAMES[row["test"]]
    corrected = f"p = {_fmt_p(row['p_adjusted'])} after Holm correction over {tests} tests"
    if row["kind"] == PASS_RATE:
        return (
            f"{row['metric']} pass rate fell from {_pct(row['baseline'])} to {_pct(row['current'])} "
            f"({100 * row['delta']:+.1f} points; {test}, {corrected})."
        )
    return (
        f"{row['metric']} scores shifted down: mean {row['baseline']:.2f} -> {row['current']:.2f} "
        f"({test}, {corrected})."
    )


def _floors(cur: dict[str, _Metric], thresholds: Mapping[str, float] | None, min_samples: int) -> list[dict[str, Any]]:
    floors: list[dict[str, Any]] = []
    for name, raw in (thresholds or {}).items():
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0.0 <= float(raw) <= 1.0:
            raise ValueError(f"the floor of {name!r} must be a pass rate between 0 and 1")
        metric = cur.get(name)
        if metric is None or not metric.n:
            continue
        rate = metric.passes / metric.n
        enough = metric.n >= min_samples
        floors.append(
            {
                "metric": name,
                "floor": float(raw),
                "current": round(rate, 4),
                "passes": metric.passes,
                "current_n": metric.n,
                "breached": (rate < float(raw)) if enough else None,  # None: too few results to say
                "interval": wilson_interval(metric.passes, metric.n),
            }
        )
    return floors


def _hallucinations(results: Sequence[SampleResult], cur: dict[str, _Metric]) -> tuple[list[dict[str, str]], int, int]:
    """(listed hallucinations, how many, how many outputs were judged for hallucination)."""
    found: list[dict[str, str]] = []
    judged = 0
    for result in results:
        flag = result.passed.get(HALLUCINATION)
        if flag is not None or result.hallucination_reason:
            judged += 1
        if result.hallucination_reason or flag is False:
            reason = " ".join((result.hallucination_reason or "").split()) or "The judge found unsupported claims."
            if len(reason) > REASON_LIMIT:
                reason = reason[: REASON_LIMIT - 1] + "…"
            found.append({"trace_id": result.trace_id, "reason": reason})
    if not results and HALLUCINATION in cur:  # no per-sample results given: the summary's counts
        metric = cur[HALLUCINATION]
        return [], metric.n - metric.passes, metric.n
    return found[:MAX_LISTED_HALLUCINATIONS], len(found), judged
