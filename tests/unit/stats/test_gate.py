"""The quality gate's verdicts: threshold, significance, non-inferiority, min_samples and k-of-n."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evalgate.models.domain import RunAggregates
from evalgate.stats import GateConfig, RunFigures, check_gate, mcnemar_exact, newcombe_paired_interval


def _rate(passed: int, n: int) -> RunFigures:
    return RunFigures(n=n, passed=passed, score_sum=float(passed), score_sq_sum=float(passed))


def _paired_runs(outcomes: list[tuple[bool, bool]]) -> tuple[RunFigures, RunFigures]:
    """Current and control runs from (current passed, control passed) per case, one repeat each."""
    cur = {f"case-{i}": [c] for i, (c, _) in enumerate(outcomes)}
    ctl = {f"case-{i}": [k] for i, (_, k) in enumerate(outcomes)}

    def run(cases: dict[str, list[bool]]) -> RunFigures:
        passed = sum(v[0] for v in cases.values())
        scores = {key: 1.0 if v[0] else 0.0 for key, v in cases.items()}
        return RunFigures(len(cases), passed, float(passed), float(passed), case_outcomes=cases, case_scores=scores)

    return run(cur), run(ctl)


def _table(a: int, b: int, c: int, d: int) -> list[tuple[bool, bool]]:
    return [(True, True)] * a + [(True, False)] * b + [(False, True)] * c + [(False, False)] * d


# ----------------------------------------------------------------------------- significance


def test_required_significance_examples() -> None:
    config = GateConfig(mode="significance", threshold=0.9)
    r = check_gate(config, _rate(8, 10))
    assert (r.verdict, r.passed) == ("inconclusive", False)
    assert r.reason == "pass rate 0.80 (95% CI 0.49\u20130.94, n=10) does not settle whether it meets 0.90"
    r = check_gate(config, _rate(800, 1000))
    assert (r.verdict, r.passed) == ("failed", False)
    assert r.figures["ci_high"] < 0.9
    r = check_gate(config, _rate(990, 1000))
    assert (r.verdict, r.passed) == ("passed", True)
    assert r.figures["ci_low"] >= 0.9
    assert r.reason.startswith("pass rate 0.99 (95% CI 0.98\u20130.99, n=1,000) is at or above 0.90")


def test_significance_figures_are_the_wilson_interval_and_the_exact_binomial_p() -> None:
    r = check_gate(GateConfig(mode="significance", threshold=0.9, confidence=0.9), _rate(80, 100))
    crit = stats.norm.ppf(0.95)
    center = (0.8 + crit**2 / 200) / (1 + crit**2 / 100)
    half = crit * math.sqrt(0.8 * 0.2 / 100 + crit**2 / 40_000) / (1 + crit**2 / 100)
    assert r.figures["ci_low"] == pytest.approx(center - half, abs=1e-14)
    assert r.figures["ci_high"] == pytest.approx(center + half, abs=1e-14)
    assert r.figures["p_value"] == pytest.approx(stats.binomtest(80, 100, 0.9).pvalue, rel=1e-9)
    assert r.verdict == "failed" and "90% CI" in r.reason


def test_significance_on_the_mean_score_uses_the_t_interval() -> None:
    rng = np.random.default_rng(71)
    scores = rng.beta(9, 1, 60)
    run = RunFigures(n=60, passed=0, score_sum=float(scores.sum()), score_sq_sum=float((scores**2).sum()))
    r = check_gate(GateConfig(metric="score", mode="significance", threshold=0.8), run)
    lo, hi = stats.t.interval(0.95, 59, loc=scores.mean(), scale=stats.sem(scores))
    assert r.figures["ci_low"] == pytest.approx(lo, abs=1e-10)
    assert r.figures["ci_high"] == pytest.approx(min(1.0, hi), abs=1e-10)
    assert r.figures["p_value"] == pytest.approx(stats.ttest_1samp(scores, 0.8).pvalue, rel=1e-8)
    assert r.verdict == "passed" and r.reason.startswith("mean score 0.9")
    r = check_gate(GateConfig(metric="score", mode="significance", threshold=float(scores.mean())), run)
    assert r.verdict == "inconclusive"
    r = check_gate(GateConfig(metric="score", mode="significance", threshold=0.99), run)
    assert r.verdict == "failed"


# ----------------------------------------------------------------------------- threshold


def test_threshold_mode_and_min_samples() -> None:
    config = GateConfig(threshold=0.9)
    r = check_gate(config, _rate(9, 10))
    assert r.verdict == "passed" and r.reason == "pass rate 0.90 (n=10) meets the threshold 0.90"
    r = check_gate(config, _rate(8, 10))
    assert r.verdict == "failed" and r.reason == "pass rate 0.80 (n=10) is below the threshold 0.90"
    r = check_gate(config, _rate(5, 5))
    assert r.verdict == "inconclusive" and not r.passed
    assert r.reason == "only 5 results (minimum 10), too few to decide"
    assert check_gate(GateConfig(min_samples=0), _rate(0, 0)).verdict == "inconclusive"
    # digits grow until the value and the threshold print differently
    r = check_gate(config, _rate(899, 1000))
    assert r.reason == "pass rate 0.899 (n=1,000) is below the threshold 0.900"


def test_threshold_on_the_mean_score_tolerates_rounding() -> None:
    run = RunFigures(n=10, passed=0, score_sum=sum([0.6] * 10), score_sq_sum=sum([0.36] * 10))
    assert run.score_sum / run.n < 0.6  # 5.999999999999999 / 10
    assert check_gate(GateConfig(metric="score", threshold=0.6), run).verdict == "passed"


# ----------------------------------------------------------------------------- k-of-n


def test_k_of_n_counts_cases_and_treats_missing_repeats_as_failures() -> None:
    outcomes = {
        "a": [True, False, True],  # 2 of 3: passes
        "b": [False, False, True],  # 1 of 3: fails
        "c": [True, True],  # 2 of 2 present: passes even with a repeat missing
        "d": [True],  # 1 present, 2 missing: fails
        "e": [False, False, True, True],  # only the first 3 repeats count: fails
        "f": [],  # no repeat at all: fails
    }
    run = RunFigures(n=15, passed=9, score_sum=0.0, score_sq_sum=0.0, case_outcomes=outcomes)
    r = check_gate(GateConfig(k_of_n=(2, 3), threshold=0.3, min_samples=1), run)
    f = r.figures
    assert (f["n"], f["passed"], f["unit"], f["incomplete_cases"], f["k_of_n"]) == (6, 2, "cases", 3, [2, 3])
    assert (
        r.verdict == "passed" and r.reason == "pass rate 0.33 (2-of-3 repeats per case, n=6) meets the threshold 0.30"
    )
    r = check_gate(GateConfig(k_of_n=(2, 3), threshold=0.34, min_samples=1), run)
    assert r.verdict == "failed"
    # too few cases, even with many results
    assert check_gate(GateConfig(k_of_n=(2, 3), threshold=0.3), run).verdict == "inconclusive"
    r = check_gate(GateConfig(k_of_n=(2, 3)), _rate(100, 100))
    assert r.verdict == "inconclusive" and "needs per-case outcomes" in r.reason


def test_k_of_n_config_accepts_a_json_list_and_rejects_nonsense() -> None:
    assert GateConfig(k_of_n=[1, 3]).k_of_n == (1, 3)  # type: ignore[arg-type]
    for bad in ({"k_of_n": (4, 3)}, {"k_of_n": (0, 3)}, {"mode": "vibes"}, {"metric": "f1"}, {"threshold": 1.5}):
        with pytest.raises(ValueError):
            GateConfig(**bad)
    with pytest.raises(ValueError):
        GateConfig(confidence=1.0)


# ----------------------------------------------------------------------------- non-inferiority


def test_non_inferiority_on_the_pass_rate_passes_fails_and_is_inconclusive() -> None:
    config = GateConfig(mode="non-inferiority", margin=0.05)
    # 400 cases, 10 better and 12 worse: difference -0.005, interval well inside -0.05
    cur, ctl = _paired_runs(_table(340, 10, 12, 38))
    r = check_gate(config, cur, ctl)
    assert r.verdict == "passed" and r.passed
    f = r.figures
    assert (f["shared_cases"], f["mcnemar_b"], f["mcnemar_c"]) == (400, 10, 12)
    assert f["mcnemar_p"] == pytest.approx(stats.binomtest(10, 22, 0.5).pvalue, rel=1e-10)
    assert (f["delta_ci_low"], f["delta_ci_high"]) == newcombe_paired_interval(340, 10, 12, 38)
    assert f["delta"] == pytest.approx(-2 / 400) and f["delta_ci_method"] == "newcombe-paired"
    assert r.reason.startswith("pass rate change -0.01 against the control (95% CI -0.03 to 0.02, 400 shared cases)")
    assert r.reason.endswith("stays within the non-inferiority margin of 0.05")
    # 60 cases lost, 5 gained: clearly worse than the margin
    cur, ctl = _paired_runs(_table(300, 5, 60, 35))
    r = check_gate(config, cur, ctl)
    assert r.verdict == "failed" and r.figures["delta_ci_high"] < -0.05
    assert r.figures["mcnemar_p"] == pytest.approx(mcnemar_exact(5, 60))
    # identical outcomes on only 20 cases: no difference seen, but too little data to rule one out
    cur, ctl = _paired_runs(_table(15, 0, 0, 5))
    r = check_gate(config, cur, ctl)
    assert r.verdict == "inconclusive" and r.figures["delta_ci_low"] < -0.05 < 0 < r.figures["delta_ci_high"]
    assert "does not settle" in r.reason


def test_non_inferiority_pairs_only_shared_cases() -> None:
    cur, ctl = _paired_runs(_table(340, 10, 12, 38))
    assert cur.case_outcomes is not None and ctl.case_outcomes is not None
    cur.case_outcomes["new-case"] = [False]
    del ctl.case_outcomes["case-0"]
    r = check_gate(GateConfig(mode="non-inferiority"), cur, ctl)
    assert r.figures["shared_cases"] == 399
    # below min_samples shared cases
    few_cur, few_ctl = _paired_runs(_table(5, 0, 0, 0))
    r = check_gate(GateConfig(mode="non-inferiority"), few_cur, few_ctl)
    assert r.verdict == "inconclusive" and r.reason.startswith("only 5 cases are shared with the control")


def test_non_inferiority_needs_a_control_and_per_case_data() -> None:
    r = check_gate(GateConfig(mode="non-inferiority"), _rate(95, 100))
    assert r.verdict == "inconclusive" and r.reason == "non-inferiority needs a control run and none was given"
    r = check_gate(GateConfig(mode="non-inferiority"), _rate(95, 100), _rate(90, 100))
    assert r.verdict == "inconclusive" and "per-case outcomes" in r.reason
    r = check_gate(GateConfig(mode="non-inferiority", metric="score"), _rate(95, 100), _rate(90, 100))
    assert r.verdict == "inconclusive" and "per-case scores" in r.reason


def test_non_inferiority_on_scores_uses_the_paired_bootstrap() -> None:
    rng = np.random.default_rng(72)
    base = rng.beta(6, 2, 300)

    def runs(shift: float, noise: float) -> tuple[RunFigures, RunFigures]:
        current = np.clip(base + shift + rng.normal(0, noise, base.size), 0, 1)
        keys = [f"c{i}" for i in range(base.size)]
        cur = RunFigures(
            300, 0, float(current.sum()), float((current**2).sum()), case_scores=dict(zip(keys, current, strict=True))
        )
        ctl = RunFigures(
            300, 0, float(base.sum()), float((base**2).sum()), case_scores=dict(zip(keys, base, strict=True))
        )
        return cur, ctl

    config = GateConfig(metric="score", mode="non-inferiority", margin=0.05)
    r = check_gate(config, *runs(0.0, 0.05))
    assert r.verdict == "passed" and r.figures["delta_ci_method"] == "paired-bootstrap"
    assert r.figures["delta_ci_low"] == r.figures["score_delta_ci_low"] > -0.05
    r = check_gate(config, *runs(-0.12, 0.05))
    assert r.verdict == "failed" and r.figures["delta_ci_high"] < -0.05
    r = check_gate(config, *runs(-0.05, 0.2))
    assert r.verdict == "inconclusive"
    assert "mcnemar_p" not in r.figures  # no pass/fail outcomes given


def test_repeats_without_k_of_n_compare_pass_fractions_by_bootstrap() -> None:
    cur = {f"c{i}": [True, i % 3 != 0, True] for i in range(60)}
    ctl = {f"c{i}": [True, True, i % 4 != 0] for i in range(60)}
    r = check_gate(
        GateConfig(mode="non-inferiority", margin=0.1),
        RunFigures(180, 0, 0, 0, case_outcomes=cur),
        RunFigures(180, 0, 0, 0, case_outcomes=ctl),
    )
    f = r.figures
    assert f["mcnemar_p"] is None and f["delta_ci_method"] == "paired-bootstrap"
    assert f["delta"] == pytest.approx(
        (sum(2 + (i % 3 != 0) for i in range(60)) - sum(2 + (i % 4 != 0) for i in range(60))) / 180
    )
    assert r.verdict == "passed"


def test_a_control_adds_mcnemar_and_the_score_bootstrap_in_every_mode() -> None:
    cur, ctl = _paired_runs(_table(80, 4, 9, 7))
    r = check_gate(GateConfig(mode="significance", threshold=0.8), cur, ctl)
    f = r.figures
    assert f["mcnemar_p"] == pytest.approx(stats.binomtest(4, 13, 0.5).pvalue, rel=1e-10)
    assert f["score_delta_mean"] == pytest.approx(-5 / 100)
    assert f["score_delta_ci_low"] < f["score_delta_mean"] < f["score_delta_ci_high"]
    assert f["control_value"] == pytest.approx(0.89) and f["value"] == pytest.approx(0.84)
    assert r.verdict == "inconclusive"


def test_figures_from_run_aggregates() -> None:
    aggregates = RunAggregates(done=20, passed=17, failed=2, errored=1, score_sum=17.5, score_sq_sum=16.0)
    run = RunFigures.from_aggregates(aggregates)
    assert (run.n, run.passed, run.score_sum, run.score_sq_sum) == (20, 17, 17.5, 16.0)
    r = check_gate(GateConfig(threshold=0.85), run)
    assert r.verdict == "passed" and r.figures["n"] == 20
