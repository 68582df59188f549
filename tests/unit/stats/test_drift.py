"""Kolmogorov-Smirnov, chi-squared and PSI against scipy and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evalgate.stats import chi2_contingency, drift, kolmogorov_sf, ks_2samp, psi


def _samples(rng: np.random.Generator, n1: int, n2: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(0, 1, n1)
    y = rng.normal(rng.uniform(0, 0.6), rng.uniform(0.8, 1.3), n2)
    if ties:  # scores on a coarse grid
        x, y = np.round(x, 1), np.round(y, 1)
    return x, y


def test_ks_2samp_exact_small_samples_match_scipy() -> None:
    rng = np.random.default_rng(61)
    worst = 0.0
    for i in range(300):
        n1 = int(rng.integers(1, 300))
        n2 = n1 if i % 3 == 0 else int(rng.integers(1, 300))
        x, y = _samples(rng, n1, n2, ties=i % 4 == 0)
        d, p = ks_2samp(x.tolist(), y.tolist())
        expected = stats.ks_2samp(x, y)
        assert d == pytest.approx(expected.statistic, abs=1e-15)
        worst = max(worst, abs(p - expected.pvalue))
    assert worst < 1e-12


@pytest.mark.parametrize(
    ("n1", "n2", "tolerance"),
    [
        (2000, 2000, 1e-12),  # exact, equal sizes
        (4000, 3000, 1e-12),  # exact lattice count within budget
        (9000, 10_000, 1e-5),  # exact in scipy; at the largest shift over our budget: asymptotic here
        (12_000, 15_000, 1e-9),  # asymptotic in both
        (20_000, 150, 1e-4),  # asymptotic with a small effective n (Pelz-Good vs scipy's exact kstwo)
    ],
)
def test_ks_2samp_larger_samples(n1: int, n2: int, tolerance: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    for shift in (0.0, 0.02, 0.05):
        x, y = rng.normal(0, 1, n1), rng.normal(shift, 1, n2)
        d, p = ks_2samp(x.tolist(), y.tolist())
        expected = stats.ks_2samp(x, y)
        assert d == pytest.approx(expected.statistic, abs=1e-15)
        assert p == pytest.approx(expected.pvalue, abs=tolerance, rel=1e-6)


def test_ks_2samp_edges() -> None:
    assert ks_2samp([1.0, 2.0], [1.0, 2.0]) == (0.0, 1.0)
    d, p = ks_2samp([0.0] * 5, [1.0] * 5)
    assert d == 1.0 and p == pytest.approx(stats.ks_2samp([0.0] * 5, [1.0] * 5).pvalue, abs=1e-15)
    with pytest.raises(ValueError):
        ks_2samp([], [1.0])
    with pytest.raises(ValueError):
        ks_2samp([math.nan], [1.0])


def test_kolmogorov_sf_matches_scipy_kstwo() -> None:
    for n, tolerance, points in ((50, 3e-5, 150), (150, 5e-6, 150), (1000, 1e-7, 150), (20_000, 1e-12, 25)):
        for x in np.linspace(0.0005, 0.7, points):
            assert kolmogorov_sf(n, float(x)) == pytest.approx(stats.kstwo.sf(x, n), abs=tolerance), (n, x)


def test_exact_ks_helpers_agree_with_each_other() -> None:
    # equal sizes through the lattice count give the same answer as the closed form
    for n, h in ((10, 3), (57, 9), (200, 31)):
        assert drift._ks_exact_unequal(n, n, n, h) == pytest.approx(drift._ks_exact_equal(n, h), abs=1e-13)


def test_chi2_contingency_matches_scipy() -> None:
    rng = np.random.default_rng(62)
    worst_stat = worst_p = 0.0
    for _ in range(400):
        table = rng.integers(0, 60, (int(rng.integers(2, 6)), int(rng.integers(2, 6))))
        table[:, 0] += 1  # no empty row
        table[0, :] += 1  # no empty column
        for correction in (True, False):
            chi2, p, dof = chi2_contingency(table.tolist(), correction=correction)
            expected = stats.chi2_contingency(table, correction=correction)
            assert dof == expected.dof
            worst_stat = max(worst_stat, abs(chi2 - expected.statistic) / max(1.0, expected.statistic))
            worst_p = max(worst_p, abs(p - expected.pvalue))
    assert worst_stat < 1e-12 and worst_p < 1e-12


def test_chi2_contingency_drops_empty_labels() -> None:
    # a label seen in neither window is left out (scipy raises on its zero expected counts)
    with_empty = [[10, 0, 20, 5], [14, 0, 9, 8]]
    without = [[10, 20, 5], [14, 9, 8]]
    assert chi2_contingency(with_empty) == pytest.approx(chi2_contingency(without))
    assert chi2_contingency([[5, 0], [7, 0]]) == (0.0, 1.0, 0)


def test_psi_by_hand() -> None:
    expected = [50, 30, 20]
    actual = [30, 30, 40]
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi(expected, actual) == pytest.approx(by_hand, rel=1e-14)
    assert psi(expected, [5, 3, 2]) == pytest.approx(0.0, abs=1e-15)  # proportions, not counts
    # an empty bin is floored at epsilon
    assert psi([1, 1], [2, 0]) == pytest.approx((1 - 0.5) * math.log(2) + (1e-4 - 0.5) * math.log(1e-4 / 0.5))
    with pytest.raises(ValueError):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])
