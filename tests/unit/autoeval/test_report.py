"""The auto-eval report on synthetic data with known shifts; p-values against scipy; Holm by hand."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal

import pytest
from scipy import stats

from evalgate.autoeval.judge import CriterionResult
from evalgate.autoeval.report import (
    MAX_LISTED_HALLUCINATIONS,
    SampleResult,
    build_report,
    pass_rate_test,
    summarize,
)


def _results(rate: float, n: int, *, metric: str = "rubric", seed: int = 0, exact: bool = True) -> list[SampleResult]:
    """n samples of one metric: exactly round(rate * n) passes (exact) or Bernoulli(rate) draws."""
    rng = random.Random(seed)
    if exact:
        flags = [i < round(rate * n) for i in range(n)]
        rng.shuffle(flags)
    else:
        flags = [rng.random() < rate for _ in range(n)]
    return [SampleResult(f"t{i}", {metric: float(f)}, {metric: f}) for i, f in enumerate(flags)]


def _scored(values: list[float], metric: str = "relevance", threshold: float = 0.5) -> list[SampleResult]:
    return [SampleResult(f"s{i}", {metric: v}, {metric: v >= threshold}) for i, v in enumerate(values)]


def _report(current: list[SampleResult], baseline: list[SampleResult] | None, **kwargs: object) -> dict:
    return build_report(summarize(current), summarize(baseline) if baseline is not None else None, current, **kwargs)


def _row(report: dict, metric: str, kind: str = "pass_rate") -> dict:
    return next(r for r in report["metric_deltas"] if r["metric"] == metric and r["kind"] == kind)


def _z_scipy(k1: int, n1: int, k2: int, n2: int) -> float:
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2 * stats.norm.sf(abs(z)))


# --- summaries ---------------------------------------------------------------------------------------------


def test_summary_counts_passes_and_rounded_sorted_scores() -> None:
    results = [
        SampleResult("a", {"rubric": 0.912345, "latency": 1.0}, {"rubric": True, "latency": True}),
        SampleResult("b", {"rubric": 0.2}, {"rubric": False, "hallucination": False}, "made up"),
        SampleResult("c", {"relevance": 0.7}, {}),  # a score alone passes at >= 0.5
    ]
    summary = summarize(results)
    assert summary["version"] == 1 and summary["n"] == 3
    assert list(summary["metrics"]) == ["rubric", "hallucination", "relevance", "latency"]
    assert summary["metrics"]["rubric"] == {
        "n": 2,
        "passes": 1,
        "pass_rate": 0.5,
        "mean_score": 0.5562,
        "scores": [0.2, 0.9123],
    }
    assert summary["metrics"]["hallucination"]["scores"] == [0.0]  # a flag alone scores 0 or 1
    assert summary["metrics"]["relevance"]["passes"] == 1
    assert json.loads(json.dumps(summary)) == summary


def test_sample_result_from_criteria_keeps_the_hallucination_reason() -> None:
    sample = SampleResult.from_criteria(
        "t",
        {
            "rubric": CriterionResult(0.9, True, "ok"),
            "hallucination": CriterionResult(0.4, False, "'Berlin' is not in the context."),
        },
    )
    assert sample.scores == {"rubric": 0.9, "hallucination": 0.4}
    assert sample.passed == {"rubric": True, "hallucination": False}
    assert sample.hallucination_reason == "'Berlin' is not in the context."
    assert (
        SampleResult.from_criteria("u", {"hallucination": CriterionResult(1.0, True, "")}).hallucination_reason is None
    )


# --- drift on synthetic data with known shifts ---------------------------------------------------------------


def test_a_drop_from_90_to_70_percent_at_n_1000_is_flagged() -> None:
    report = _report(_results(0.7, 1000, seed=1), _results(0.9, 1000, seed=2))
    assert report["verdict"] == "drift" and report["has_drift"] is True
    row = _row(report, "rubric")
    assert row["test"] == "two_proportion_z"
    assert (row["baseline"], row["current"], row["delta"]) == (0.9, 0.7, -0.2)
    assert row["p_value"] == pytest.approx(_z_scipy(700, 1000, 900, 1000), rel=1e-5)
    assert row["significant"]
    assert report["regressions"][0]["metric"] == "rubric" and report["regressions"][0]["kind"] == "pass_rate"
    assert report["overall_delta"] == -0.2
    assert any("rubric pass rate fell from 90.0% to 70.0%" in a for a in report["alerts"])
    assert (report["current_n"], report["baseline_n"]) == (1000, 1000)


def test_no_shift_is_not_flagged() -> None:
    report = _report(_results(0.9, 1000, seed=3), _results(0.9, 1000, seed=4))
    assert report["verdict"] == "no_drift" and report["has_drift"] is False
    assert report["regressions"] == [] and report["alerts"] == []
    assert _row(report, "rubric")["p_value"] == 1.0
    assert "No significant change in 1 tests" in report["reason"]


def test_a_small_random_wobble_is_not_flagged() -> None:
    report = _report(_results(0.88, 1000, seed=5), _results(0.9, 1000, seed=6))
    assert not report["has_drift"] and report["verdict"] == "no_drift"
    assert _row(report, "rubric")["p_value"] > 0.05


def test_too_few_samples_is_inconclusive_never_an_alarm() -> None:
    # an extreme change, but only 20 samples a side
    report = _report(_results(0.0, 20), _results(1.0, 20))
    assert report["verdict"] == "inconclusive" and report["has_drift"] is False
    assert report["regressions"] == [] and report["alerts"] == []
    assert "at least 30 needed" in report["reason"]
    row = _row(report, "rubric")
    assert row["test"] is None and row["p_value"] is None and row["delta"] == -1.0
    assert report["tests"] == 0
    # the same with only the baseline too small
    assert _report(_results(0.0, 200), _results(1.0, 20))["verdict"] == "inconclusive"


def test_no_baseline_is_inconclusive_but_floors_still_alert() -> None:
    report = _report(_results(0.6, 100), None, thresholds={"rubric": 0.8, "relevance": 0.5})
    assert report["verdict"] == "inconclusive" and not report["has_drift"]
    assert "No baseline yet" in report["reason"]
    assert report["overall_delta"] is None and report["baseline_n"] is None
    assert report["regressions"] == [
        {"metric": "rubric", "kind": "floor", "floor": 0.8, "current": 0.6, "current_n": 100}
    ]
    assert report["alerts"] == ["rubric pass rate 60.0% (60 of 100; 95% CI 50.2%-69.1%) is below its floor of 80.0%."]
    assert report["floors"] == [
        {"metric": "rubric", "floor": 0.8, "current": 0.6, "passes": 60, "current_n": 100, "breached": True}
    ]


def test_a_floor_needs_min_samples_and_a_valid_value() -> None:
    report = _report(_results(0.1, 10), None, thresholds={"rubric": 0.8})
    assert report["floors"][0]["breached"] is None and report["alerts"] == [] and report["regressions"] == []
    assert _report(_results(0.9, 100), None, thresholds={"rubric": 0.8})["floors"][0]["breached"] is False
    with pytest.raises(ValueError, match="between 0 and 1"):
        _report(_results(0.9, 100), None, thresholds={"rubric": 80})


def test_fisher_exact_when_an_expected_cell_is_below_5() -> None:
    current, baseline = _results(33 / 40, 40), _results(40 / 40, 40)
    report = _report(current, baseline)
    row = _row(report, "rubric")
    assert row["test"] == "fisher_exact"
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[33, 7], [40, 0]])[1], rel=1e-5)
    assert report["verdict"] == "drift" and report["regressions"][0]["test"] == "fisher_exact"
    assert "Fisher's exact test" in report["alerts"][0]


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"),
    [(70, 100, 90, 100), (450, 500, 430, 480), (30, 40, 35, 40), (1, 60, 9, 60), (990, 1000, 975, 1000)],
)
def test_pass_rate_p_values_match_scipy(k1: int, n1: int, k2: int, n2: int) -> None:
    test, p = pass_rate_test(k1, n1, k2, n2)
    total = n1 + n2
    expected_cells = [r * c / total for r in (n1, n2) for c in (k1 + k2, total - k1 - k2)]
    if min(expected_cells) < 5:
        assert test == "fisher_exact"
        assert p == pytest.approx(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1], rel=1e-6)
    else:
        assert test == "two_proportion_z"
        assert p == pytest.approx(_z_scipy(k1, n1, k2, n2), rel=1e-6)


def test_a_score_shift_at_an_unchanged_pass_rate_is_caught_by_ks() -> None:
    rng = random.Random(11)
    baseline = [round(rng.uniform(0.6, 1.0), 4) for _ in range(300)]
    current = [round(rng.uniform(0.5, 0.9), 4) for _ in range(300)]
    report = _report(_scored(current), _scored(baseline))
    rate, scores = _row(report, "relevance"), _row(report, "relevance", "score_distribution")
    assert rate["delta"] == 0.0 and not rate["significant"]
    assert scores["test"] == "ks_2samp"
    assert scores["p_value"] == pytest.approx(float(stats.ks_2samp(current, baseline).pvalue), rel=1e-4)
    assert scores["significant"] and scores["delta"] < 0
    assert report["has_drift"] and [r["kind"] for r in report["regressions"]] == ["score_distribution"]
    assert "relevance scores shifted down" in report["alerts"][0]


def test_binary_scores_get_no_duplicate_ks_test() -> None:
    report = _report(_results(0.7, 500), _results(0.9, 500))
    assert [r["kind"] for r in report["metric_deltas"]] == ["pass_rate"]
    assert report["tests"] == 1


def test_holm_runs_across_every_test_of_the_report() -> None:
    # three metrics with moderate drops: p-values near the 5% line
    metrics = {"rubric": (0.85, 0.9), "factuality": (0.86, 0.9), "relevance": (0.8, 0.9)}
    current, baseline = [], []
    for name, (now, before) in metrics.items():
        current += _results(now, 400, metric=name)
        baseline += _results(before, 400, metric=name)
    # one result per trace is not needed: summarize counts each metric on its own
    report = build_report(summarize(current), summarize(baseline), current)
    rows = [_row(report, name) for name in ("rubric", "factuality", "relevance")]
    raw = [r["p_value"] for r in rows]
    for r, (now, before) in zip(rows, (metrics["rubric"], metrics["factuality"], metrics["relevance"]), strict=True):
        assert r["p_value"] == pytest.approx(_z_scipy(round(now * 400), 400, round(before * 400), 400), rel=1e-5)
    # Holm by hand: sort, multiply the i-th smallest by m - i + 1, keep the running maximum, cap at 1
    order = sorted(range(3), key=lambda i: raw[i])
    hand, running = [0.0] * 3, 0.0
    for i, index in enumerate(order):
        running = max(running, min(1.0, (3 - i) * raw[index]))
        hand[index] = running
    assert [r["p_adjusted"] for r in rows] == pytest.approx(hand, rel=1e-5)
    assert [r["significant"] for r in rows] == [h <= 0.05 for h in hand]
    # the correction matters here: rubric is significant alone (raw p < 0.05) but not after Holm
    assert raw[0] < 0.05 and not rows[0]["significant"]
    assert rows[2]["significant"]
    assert [r["metric"] for r in report["regressions"]] == ["relevance"]
    assert report["tests"] == 3
    assert report["overall_delta"] == pytest.approx(((0.85 - 0.9) + (0.86 - 0.9) + (0.8 - 0.9)) / 3, abs=1e-4)


def test_an_improvement_is_drift_but_not_a_regression() -> None:
    report = _report(_results(0.97, 500), _results(0.9, 500))
    assert report["verdict"] == "drift" and report["has_drift"]
    assert report["regressions"] == [] and report["alerts"] == []
    assert report["overall_delta"] == 0.07


def test_a_metric_measured_too_rarely_is_not_tested() -> None:
    current = _results(0.9, 200, seed=1)
    baseline = _results(0.9, 200, seed=2)
    for sample in current[:10] + baseline[:10]:
        sample.passed["latency"], sample.scores["latency"] = False, 0.0
    report = _report(current, baseline)
    latency = _row(report, "latency")
    assert latency["test"] is None and "not tested" in latency["note"]
    assert report["tests"] == 1 and report["verdict"] == "no_drift"


def test_metrics_only_in_the_current_sample_are_reported_untested() -> None:
    current = _results(0.9, 100)
    for sample in current:
        sample.passed["is-json"], sample.scores["is-json"] = True, 1.0
    report = _report(current, _results(0.9, 100))
    row = _row(report, "is-json")
    assert row["baseline"] is None and row["delta"] is None and row["test"] is None
    assert report["overall_delta"] == 0.0  # rubric only


def test_hallucinations_are_listed_counted_and_alerted() -> None:
    results = _results(0.9, 200)
    for i, sample in enumerate(results):
        sample.passed["hallucination"] = i >= 60
        sample.scores["hallucination"] = 1.0 if i >= 60 else 0.5
        if i < 59:
            sample.hallucination_reason = f"Not supported by the context: 'claim{i}'."
    report = build_report(summarize(results), None, results)
    assert report["hallucination_count"] == 60 and report["hallucination_rate"] == 0.3
    assert len(report["hallucinations"]) == MAX_LISTED_HALLUCINATIONS
    assert report["hallucinations"][0] == {"trace_id": "t0", "reason": "Not supported by the context: 'claim0'."}
    assert report["alerts"] == [
        "Hallucinations in 60 of 200 judged outputs (30.0%), e.g. trace t0: Not supported by the context: 'claim0'."
    ]
    # a failed hallucination flag without a reason still counts, with a generic reason
    lone = [SampleResult("x", {"hallucination": 0.0}, {"hallucination": False})]
    assert build_report(summarize(lone), None, lone)["hallucinations"] == [
        {"trace_id": "x", "reason": "The judge found unsupported claims."}
    ]


def test_the_report_is_json_and_survives_a_dynamodb_round_trip() -> None:
    current, baseline = _results(0.7, 300), _results(0.9, 300)
    # DynamoDB keeps numbers as Decimal; the store hands integral ones back as ints (store/table.py)
    as_decimal = json.loads(json.dumps(summarize(baseline)), parse_float=Decimal)
    stored = json.loads(json.dumps(as_decimal, default=lambda d: int(d) if d == int(d) else float(d)))
    assert stored["metrics"]["rubric"]["scores"][-1] == 1 and isinstance(stored["metrics"]["rubric"]["scores"][-1], int)
    report = build_report(summarize(current), stored, current)
    assert report == build_report(summarize(current), summarize(baseline), current)
    assert json.loads(json.dumps(report)) == report


@pytest.mark.parametrize(
    ("current", "baseline", "kwargs", "message"),
    [
        ({}, None, {}, "current summary has no 'metrics'"),
        ({"metrics": {"r": {"n": 2, "passes": 3}}}, None, {}, "0 <= passes <= n"),
        ({"metrics": {}}, {"metrics": {"r": "x"}}, {}, "not an object"),
        ({"metrics": {}}, None, {"alpha": 0}, "alpha"),
        ({"metrics": {}}, None, {"min_samples": 0}, "min_samples"),
    ],
)
def test_bad_inputs_raise(current: dict, baseline: dict | None, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_report(current, baseline, [], **kwargs)


def test_false_alarms_stay_near_alpha_without_a_shift() -> None:
    # 200 repetitions of two Bernoulli(0.9) samples of 200: Holm-controlled, about 5% alarms at most
    alarms = 0
    for rep in range(200):
        report = _report(
            _results(0.9, 200, seed=2 * rep, exact=False), _results(0.9, 200, seed=2 * rep + 1, exact=False)
        )
        alarms += report["has_drift"]
    assert alarms <= 18  # 5% of 200 = 10 expected at most; 18 is beyond 2.5 sd of binomial(200, 0.05)


# --- figures to draw: intervals and distributions (issue 12: the console draws them, computes nothing) ------


def test_rows_carry_intervals_and_score_distributions_against_scipy() -> None:
    rng = random.Random(7)
    base_scores = [min(1.0, max(0.0, rng.gauss(0.7, 0.15))) for _ in range(80)]
    cur_scores = [min(1.0, max(0.0, rng.gauss(0.5, 0.2))) for _ in range(60)]
    report = _report(_scored(cur_scores), _scored(base_scores), alpha=0.1)
    rate = _row(report, "relevance")
    for side, scores in (("baseline", base_scores), ("current", cur_scores)):
        passes = sum(round(s, 4) >= 0.5 for s in scores)
        lo, hi = stats.binomtest(passes, len(scores)).proportion_ci(0.9, method="wilson")
        assert rate[f"{side}_ci"] == pytest.approx([lo, hi], abs=1e-4)  # 1 - alpha, Wilson
        counts = rate[f"{side}_histogram"]
        assert counts == list(stats.binned_statistic([round(s, 4) for s in scores], None, "count", 10, (0, 1))[0])
        assert sum(counts) == len(scores)
    mean = _row(report, "relevance", "score_distribution")
    for side, scores in (("baseline", base_scores), ("current", cur_scores)):
        rounded = [round(s, 4) for s in scores]
        center = float(sum(rounded) / len(rounded))
        lo, hi = stats.t.interval(0.9, len(rounded) - 1, loc=center, scale=stats.sem(rounded))
        assert mean[f"{side}_ci"] == pytest.approx([max(0.0, lo), min(1.0, hi)], abs=1e-4)
    json.dumps(report)  # still plain JSON


def test_a_metric_without_baseline_has_only_its_current_figures() -> None:
    report = _report(_results(0.5, 40), None)
    row = _row(report, "rubric")
    assert row["baseline_ci"] is None and row["baseline_histogram"] is None
    assert row["current_histogram"] == [20, 0, 0, 0, 0, 0, 0, 0, 0, 20]
    assert row["current_ci"][0] < 0.5 < row["current_ci"][1]
