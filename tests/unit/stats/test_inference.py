"""Exact tests, Holm, Newcombe's paired interval and the bootstrap against scipy/numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evalgate.stats import (
    BOOTSTRAP_MAX_RESAMPLE,
    binomial_test,
    fisher_exact,
    holm,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap_ci,
    resample_indices,
    two_proportion_z,
    wilson_interval,
)

ALTERNATIVES = ("two-sided", "less", "greater")


def _close(got: float, expected: float, rel: float = 1e-9) -> bool:
    # scipy's own tails underflow near 1e-300, where ours keep going: compare absolutely there
    return abs(got - expected) <= max(rel * abs(expected), 1e-250)


def test_binomial_test_matches_scipy_binomtest() -> None:
    rng = np.random.default_rng(41)
    worst = 0.0
    for i in range(600):
        n = int(rng.integers(1, 60)) if i % 2 else int(rng.integers(1, 5000))
        p = float(rng.uniform(0.001, 0.999))
        k = int(np.clip(rng.binomial(n, p) + rng.integers(-3, 4) * max(1, int(math.sqrt(n))), 0, n))
        for alt in ALTERNATIVES:
            got, expected = binomial_test(k, n, p, alt), stats.binomtest(k, n, p, alternative=alt).pvalue
            assert _close(got, expected), (k, n, p, alt, got, expected)
            if expected > 1e-250:
                worst = max(worst, abs(got - expected) / expected)
    assert worst < 1e-9


def test_binomial_test_edges() -> None:
    assert binomial_test(5, 10, 0.5) == 1.0
    assert binomial_test(0, 0, 0.3) == 1.0
    assert binomial_test(0, 5, 0.0) == 1.0 and binomial_test(1, 5, 0.0) == 0.0
    assert binomial_test(4, 5, 1.0, "less") == 0.0 and binomial_test(4, 5, 1.0, "greater") == 1.0
    # hand value: P[X <= 1] for Bin(10, 1/2) = 11/1024, two-sided doubles it
    assert binomial_test(1, 10, 0.5, "less") == pytest.approx(11 / 1024, rel=1e-14)
    assert binomial_test(1, 10, 0.5) == pytest.approx(22 / 1024, rel=1e-14)
    with pytest.raises(ValueError):
        binomial_test(3, 2, 0.5)
    with pytest.raises(ValueError):
        binomial_test(1, 2, 0.5, "sideways")


def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs() -> None:
    rng = np.random.default_rng(42)
    for _ in range(500):
        b, c = (int(v) for v in rng.integers(0, 400, 2))
        if b + c == 0:
            continue
        assert _close(mcnemar_exact(b, c), stats.binomtest(b, b + c, 0.5).pvalue, 1e-10)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(7, 7) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64, rel=1e-14)


def test_fisher_exact_matches_scipy() -> None:
    rng = np.random.default_rng(43)
    worst = 0.0
    for i in range(600):
        high = 25 if i % 3 == 0 else (300 if i % 3 == 1 else 3000)
        a, b, c, d = (int(v) for v in rng.integers(0, high, 4))
        for alt in ALTERNATIVES:
            got = fisher_exact(a, b, c, d, alt)
            expected = stats.fisher_exact([[a, b], [c, d]], alternative=alt).pvalue
            assert _close(got, expected), (a, b, c, d, alt, got, expected)
            if expected > 1e-250:
                worst = max(worst, abs(got - expected) / expected)
    assert worst < 1e-9
    # the tea-tasting table: p = 0.4857 two-sided
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857142857142857, rel=1e-12)
    assert fisher_exact(0, 0, 3, 4) == 1.0


def test_two_proportion_z_matches_the_uncorrected_chi_squared_and_the_one_sided_formula() -> None:
    rng = np.random.default_rng(44)
    for _ in range(500):
        n1, n2 = (int(v) for v in rng.integers(5, 3000, 2))
        k1, k2 = int(rng.integers(1, n1)), int(rng.integers(1, n2))
        table = [[k1, n1 - k1], [k2, n2 - k2]]
        # the pooled two-sided z test is Pearson's chi-squared on the 2x2 table (z^2 = chi2)
        assert two_proportion_z(k1, n1, k2, n2) == pytest.approx(
            stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9, abs=1e-300
        )
        pooled = (k1 + k2) / (n1 + n2)
        z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        assert two_proportion_z(k1, n1, k2, n2, "greater") == pytest.approx(stats.norm.sf(z), rel=1e-12, abs=1e-300)
        assert two_proportion_z(k1, n1, k2, n2, "less") == pytest.approx(stats.norm.cdf(z), rel=1e-12, abs=1e-300)
    assert two_proportion_z(10, 10, 20, 20) == 1.0  # no variance at all
    with pytest.raises(ValueError):
        two_proportion_z(0, 0, 1, 2)


def test_holm_by_hand_and_against_a_direct_computation() -> None:
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> kept monotone at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []
    rng = np.random.default_rng(45)
    for _ in range(200):
        p = rng.uniform(0, 0.2, int(rng.integers(1, 12)))
        order = np.argsort(p, kind="stable")
        m = len(p)
        expected = np.empty(m)
        expected[order] = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
        assert holm(p.tolist()) == pytest.approx(expected.tolist(), abs=1e-15)


def test_newcombe_paired_interval_published_value_and_coverage() -> None:
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables", ch. 8 (Cavo et al. 2012):
    # the Newcombe square-and-add interval is -0.0621 (95% CI -0.1186 to -0.0046)
    lo, hi = newcombe_paired_interval(59, 6, 16, 80)
    assert (round(lo, 4), round(hi, 4)) == (-0.1186, -0.0046)
    assert newcombe_paired_interval(0, 0, 0, 0) == (-1.0, 1.0)
    # Bentur et al. 2009, (1, 1, 7, 12): ad - bc = 5 <= n/2, so the correlation is attenuated to 0
    # and the interval is the plain square-and-add of the two Wilson intervals
    (l1, u1), (l2, u2) = wilson_interval(2, 21), wilson_interval(8, 21)
    p1, p2 = 2 / 21, 8 / 21
    lower = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = p1 - p2 + math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    assert newcombe_paired_interval(1, 1, 7, 12) == pytest.approx((lower, upper), abs=1e-15)
    # all concordant: centred on 0, but with a real width at small n
    lo, hi = newcombe_paired_interval(6, 0, 0, 4)
    assert lo < -0.15 and hi > 0.15 and lo == pytest.approx(-hi, abs=1e-12)
    # coverage of the true difference over simulated paired tables near the nominal 95%
    rng = np.random.default_rng(46)
    probabilities = np.array([0.55, 0.2, 0.1, 0.15])  # both, only first, only second, neither
    truth = probabilities[1] - probabilities[2]
    covered = 0
    trials = 2000
    for counts in rng.multinomial(40, probabilities, trials):
        lo, hi = newcombe_paired_interval(*(int(v) for v in counts))
        covered += lo <= truth <= hi
    assert 0.93 <= covered / trials <= 0.975


def _numpy_bootstrap(values: list[float], indices: np.ndarray, confidence: float) -> tuple[float, float]:
    x = np.asarray(values)
    n, m = len(values), indices.shape[1]
    means = x[indices].mean(axis=1)
    if m < n:
        means = x.mean() + (means - x.mean()) * math.sqrt(m / n)
    tail = 50 * (1 - confidence)
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


@pytest.mark.parametrize(("n", "confidence"), [(1, 0.95), (37, 0.9), (500, 0.95), (6000, 0.99)])
def test_bootstrap_equals_a_numpy_percentile_bootstrap_on_the_same_indices(n: int, confidence: float) -> None:
    rng = np.random.default_rng(47 + n)
    deltas = (rng.normal(0.02, 0.3, n) ** 3).tolist()  # skewed
    got = paired_bootstrap_ci(deltas, confidence, iterations=400, seed=5)
    indices = np.array(list(resample_indices(n, 400, seed=5)))
    assert indices.shape == (400, min(n, BOOTSTRAP_MAX_RESAMPLE))
    assert got == pytest.approx(_numpy_bootstrap(deltas, indices, confidence), abs=1e-12)


def test_bootstrap_is_deterministic_and_agrees_with_an_independent_bootstrap() -> None:
    rng = np.random.default_rng(48)
    deltas = rng.choice([-1.0, 0.0, 0.0, 0.0, 1.0, 1.0], 800).tolist()
    a = paired_bootstrap_ci(deltas)
    assert a == paired_bootstrap_ci(deltas)
    assert a != paired_bootstrap_ci(deltas, seed=1)
    x = np.asarray(deltas)
    means = x[np.random.default_rng(0).integers(0, len(x), (4000, len(x)))].mean(axis=1)
    e_lo, e_hi = np.percentile(means, [2.5, 97.5])
    width = e_hi - e_lo
    assert abs(a[0] - e_lo) < 0.05 * width and abs(a[1] - e_hi) < 0.05 * width
    with pytest.raises(ValueError):
        paired_bootstrap_ci([])


def test_bootstrap_of_100k_deltas_matches_the_full_bootstrap_spread() -> None:
    # (its speed is a benchmark's business: bench/ingest_stats.py times the paired gate, no timed assert here)
    rng = np.random.default_rng(49)
    deltas = rng.exponential(0.2, 100_000) - 0.19
    lo, hi = paired_bootstrap_ci(deltas.tolist())
    # the full bootstrap of a mean of 100k values is normal to well within Monte Carlo error
    sem = deltas.std(ddof=1) / math.sqrt(len(deltas))
    z = stats.norm.ppf(0.975)
    width = 2 * z * sem
    assert abs(lo - (deltas.mean() - z * sem)) < 0.06 * width
    assert abs(hi - (deltas.mean() + z * sem)) < 0.06 * width
