"""Issue 18 item 3 / issue 17: the paired gate's faster statistics give the old verdicts and (within the bootstrap's
Monte Carlo tolerance) the old intervals.

Above BOOTSTRAP_MAX_RESAMPLE shared cases the interval of a mean difference is the bootstrap's limit in closed form
(`bootstrap_mean_limit`) instead of 2,000 m-out-of-n replicates (`paired_bootstrap_ci`, kept as the reference);
at or below it the resampling bootstrap runs bit for bit as before. Two runs over the same cases skip the merge of
their keys. The tolerance is the one the bootstrap's own tests document: 6% of the interval's width.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from evalgate.stats import gate as gate_module
from evalgate.stats.cases import CaseColumns
from evalgate.stats.gate import GateConfig, RunFigures, check_gate, compare_paired
from evalgate.stats.inference import (
    BOOTSTRAP_MAX_RESAMPLE,
    bootstrap_mean_limit,
    paired_bootstrap_ci,
    paired_mean_ci,
)

TOLERANCE = 0.06  # of the interval's width (tests/unit/stats/test_inference.py's bound at 100k)

INTERVAL_FIELDS = ("delta_ci_low", "delta_ci_high", "score_delta_ci_low", "score_delta_ci_high")


def _deltas(kind: str, n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    if kind == "skewed":
        return (rng.exponential(0.2, n) - 0.19).tolist()
    if kind == "scores":  # a difference of two uniform scores
        return (rng.random(n) - rng.random(n)).tolist()
    if kind == "fractions":  # pass fractions of 3 repeats
        return ((rng.integers(0, 4, n) - rng.integers(0, 4, n)) / 3).tolist()
    return rng.choice([0.0] * 97 + [1.0, 1.0, -1.0], n).tolist()  # rare flips


@pytest.mark.parametrize(("kind", "n"), [("skewed", 30_000), ("fractions", 8_000), ("rare", 3_000)])
def test_closed_form_equals_the_old_bootstrap_within_its_monte_carlo_error(kind: str, n: int) -> None:
    deltas = _deltas(kind, n, seed=len(kind) + n)
    old_lo, old_hi = paired_bootstrap_ci(deltas)  # the gate's interval before: 2,000 x 2,000 draws
    new_lo, new_hi = paired_mean_ci(deltas)
    width = old_hi - old_lo
    assert width > 0
    assert abs(new_lo - old_lo) < TOLERANCE * width
    assert abs(new_hi - old_hi) < TOLERANCE * width


def test_closed_form_is_the_limit_of_the_full_bootstrap() -> None:
    # many replicates of the ordinary (n-out-of-n) bootstrap, vectorised: the closed form sits on their percentiles
    x = np.asarray(_deltas("skewed", 3_000, seed=7)) ** 3  # strongly skewed: the Cornish-Fisher terms matter
    rng = np.random.default_rng(8)
    means = np.concatenate([x[rng.integers(0, len(x), (2_000, len(x)))].mean(axis=1) for _ in range(5)])
    ref_lo, ref_hi = np.percentile(means, [2.5, 97.5])
    lo, hi = bootstrap_mean_limit(x.tolist())
    width = ref_hi - ref_lo
    assert abs(lo - ref_lo) < 0.03 * width and abs(hi - ref_hi) < 0.03 * width
    # a symmetric normal approximation alone misses the skew by more than that
    sem = x.std() / math.sqrt(len(x))
    assert abs((x.mean() + 1.959964 * sem) - ref_hi) > abs(hi - ref_hi)


def test_small_samples_keep_the_resampling_bootstrap_bit_for_bit() -> None:
    for n in (1, 25, 700, BOOTSTRAP_MAX_RESAMPLE):
        deltas = _deltas("scores", n, seed=n)
        assert paired_mean_ci(deltas, 0.9, iterations=300, seed=3) == paired_bootstrap_ci(
            deltas, 0.9, iterations=300, seed=3
        )


def test_closed_form_edge_cases() -> None:
    assert bootstrap_mean_limit([0.25] * 5_000) == (0.25, 0.25)  # no spread: the bootstrap's [mean, mean]
    lo, hi = bootstrap_mean_limit([0.0] * 4_999 + [1.0])  # one outlier: kept inside [min, max]
    assert 0.0 <= lo <= 1 / 5_000 <= hi <= 1.0
    with pytest.raises(ValueError):
        bootstrap_mean_limit([])
    with pytest.raises(ValueError):
        bootstrap_mean_limit([0.1, 0.2], confidence=1.0)


def _rows(seed: int, cases: int, p: float, shift: float, repeats: int, noise: int = 0) -> list[tuple[str, str, float]]:
    """Cases with the same base score in every run of a seed; `noise` seeds each run's own jitter."""
    r, jitter = random.Random(seed), random.Random(noise)
    rows = []
    for i in range(cases):
        base = r.random()
        for _ in range(repeats):
            score = min(1.0, max(0.0, base + shift + jitter.gauss(0.0, 0.1)))
            rows.append((f"case-{i:06d}", "p" if jitter.random() < p else "f", score))
    return rows


def _old_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "paired_mean_ci", paired_bootstrap_ci)


@pytest.mark.parametrize(
    ("metric", "repeats", "margin", "expected"),
    [
        ("score", 1, 0.02, "passed"),  # current scores 0.005 lower, margin 0.02
        ("score", 1, 0.0005, "failed"),
        ("score", 1, 0.005, "inconclusive"),
        ("pass_rate", 3, 0.002, "inconclusive"),  # pass fractions of 3 repeats: the bootstrap path
        ("pass_rate", 1, 0.03, "passed"),  # one result per case: Newcombe's interval, unchanged
    ],
)
def test_gate_verdicts_and_figures_match_the_old_computation(
    monkeypatch: pytest.MonkeyPatch, metric: str, repeats: int, margin: float, expected: str
) -> None:
    cur, ctl = _runs(repeats)
    config = GateConfig(mode="non-inferiority", metric=metric, margin=margin)
    new = check_gate(config, cur, ctl)
    with monkeypatch.context() as m:
        _old_check(m)
        old = check_gate(config, cur, ctl)
    assert new.verdict == old.verdict == expected
    assert set(new.figures) == set(old.figures)
    for name, value in old.figures.items():
        if name in INTERVAL_FIELDS:
            width = old.figures[name.replace("low", "high")] - old.figures[name.replace("high", "low")]
            assert abs(new.figures[name] - value) < TOLERANCE * width, name
        else:
            assert new.figures[name] == value, name


def test_comparison_matches_the_old_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    cur, ctl = _runs(3)
    new = compare_paired(cur, ctl)
    with monkeypatch.context() as m:
        _old_check(m)
        old = compare_paired(cur, ctl)
    assert (new.verdict, new.shared_cases, new.mcnemar) == (old.verdict, old.shared_cases, old.mcnemar)
    for new_side, old_side in ((new.score, old.score), (new.pass_rate, old.pass_rate)):
        assert (new_side.current, new_side.control, new_side.delta) == (
            old_side.current,
            old_side.control,
            old_side.delta,
        )
        assert new_side.ci is not None and old_side.ci is not None
        width = old_side.ci[1] - old_side.ci[0]
        assert abs(new_side.ci[0] - old_side.ci[0]) < TOLERANCE * width
        assert abs(new_side.ci[1] - old_side.ci[1]) < TOLERANCE * width


def _runs(repeats: int) -> tuple[RunFigures, RunFigures]:
    cases = 4_000
    current = CaseColumns.build(_rows(1, cases, 0.80, -0.005, repeats, noise=2))
    control = CaseColumns.build(_rows(1, cases, 0.80, 0.0, repeats, noise=3))
    n = cases * repeats
    return RunFigures(n, 0, 0.0, 0.0, cases=current), RunFigures(n, 0, 0.0, 0.0, cases=control)


@pytest.mark.parametrize("repeats", [1, 2])
def test_runs_over_the_same_cases_pair_as_the_dict_form(repeats: int) -> None:
    # same keys in both runs: `pairs` skips the merge; the figures equal the dict form's to the bit
    rows_cur, rows_ctl = _rows(3, 200, 0.8, 0.0, repeats), _rows(4, 200, 0.75, 0.0, repeats)
    cur_cols, ctl_cols = CaseColumns.build(rows_cur), CaseColumns.build(rows_ctl)
    assert cur_cols.same_cases(ctl_cols)
    figures = []
    for cur_case, ctl_case in ((cur_cols, ctl_cols), (cur_cols.where(lambda _k: True), ctl_cols)):
        outcomes, means = cur_case.as_dicts()
        c_outcomes, c_means = ctl_case.as_dicts()
        plain = check_gate(
            GateConfig(mode="non-inferiority", metric="score"),
            RunFigures(1, 0, 0.0, 0.0, case_outcomes=outcomes, case_scores=means),
            RunFigures(1, 0, 0.0, 0.0, case_outcomes=c_outcomes, case_scores=c_means),
        )
        compact = check_gate(
            GateConfig(mode="non-inferiority", metric="score"),
            RunFigures(1, 0, 0.0, 0.0, cases=cur_case),
            RunFigures(1, 0, 0.0, 0.0, cases=ctl_case),
        )
        assert compact.figures == plain.figures
        figures.append(compact.figures)
    # and the merge path (one case missing from the control) pairs the rest the same way
    fewer = ctl_cols.where(lambda k: k != "case-000007")
    assert not cur_cols.same_cases(fewer)
    merged = check_gate(
        GateConfig(mode="non-inferiority", metric="score"),
        RunFigures(1, 0, 0.0, 0.0, cases=cur_cols),
        RunFigures(1, 0, 0.0, 0.0, cases=fewer),
    )
    assert merged.figures["shared_scored_cases"] == 199
