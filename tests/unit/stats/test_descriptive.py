"""Mean/std, the Wilson interval and histogram percentiles against numpy and the statsmodels formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evalgate.models.domain import SCORE_BINS
from evalgate.stats import histogram_percentiles, mean_interval, mean_std, wilson_interval


def _statsmodels_wilson(count: int, nobs: int, alpha: float) -> tuple[float, float]:
    """statsmodels.stats.proportion.proportion_confint(method="wilson"), written out."""
    crit = stats.norm.isf(alpha / 2.0)
    q = count / nobs
    crit2 = crit**2
    denom = 1 + crit2 / nobs
    center = (q + crit2 / (2 * nobs)) / denom
    dist = crit * np.sqrt(q * (1.0 - q) / nobs + crit2 / (4.0 * nobs**2)) / denom
    return max(0.0, center - dist), min(1.0, center + dist)


def _bin_of(score: float) -> int:
    """As the run store fills the histogram."""
    return min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))


def _histogram(values: np.ndarray) -> list[int]:
    bins = [0] * SCORE_BINS
    for v in values:
        bins[_bin_of(float(v))] += 1
    return bins


def test_mean_std_from_sums_matches_numpy() -> None:
    rng = np.random.default_rng(21)
    for n in (2, 3, 10, 1000, 100_000):
        x = rng.beta(2, 5, n)
        mean, std = mean_std(n, float(x.sum()), float((x * x).sum()))
        assert mean == pytest.approx(x.mean(), abs=1e-13)
        assert std == pytest.approx(x.std(ddof=1), abs=1e-9)
    assert mean_std(0, 0.0, 0.0) == (None, None)
    assert mean_std(1, 0.7, 0.49) == (0.7, None)
    # identical values: rounding can make the variance slightly negative; it reads as 0
    assert mean_std(3, 0.3, 0.03)[1] == pytest.approx(0.0, abs=1e-8)


def test_mean_interval_is_the_student_t_interval() -> None:
    rng = np.random.default_rng(22)
    for n in (2, 5, 30, 400):
        x = rng.uniform(0, 1, n)
        lo, hi = mean_interval(n, float(x.sum()), float((x * x).sum()), 0.9) or (math.nan, math.nan)
        e_lo, e_hi = stats.t.interval(0.9, n - 1, loc=x.mean(), scale=stats.sem(x))
        assert lo == pytest.approx(e_lo, abs=1e-12) and hi == pytest.approx(e_hi, abs=1e-12)
    assert mean_interval(1, 0.5, 0.25) is None
    assert mean_interval(2, 1.0, 0.5) == (0.5, 0.5)  # two values of 0.5: no spread
    # 0, 0, 0.1: the t interval reaches below 0 and is clipped to the bounds
    upper = 0.1 / 3 + stats.t.ppf(0.975, 2) * np.std([0, 0, 0.1], ddof=1) / math.sqrt(3)
    assert mean_interval(3, 0.1, 0.01, bounds=(0.0, 1.0)) == (0.0, pytest.approx(upper, abs=1e-12))


def test_wilson_matches_the_statsmodels_formula() -> None:
    rng = np.random.default_rng(23)
    worst = 0.0
    for _ in range(3000):
        n = int(rng.integers(1, 5000))
        k = int(rng.integers(0, n + 1))
        conf = float(rng.choice([0.8, 0.9, 0.95, 0.99, 0.999]))
        lo, hi = wilson_interval(k, n, conf)
        e_lo, e_hi = _statsmodels_wilson(k, n, 1 - conf)
        worst = max(worst, abs(lo - e_lo), abs(hi - e_hi))
    assert worst < 1e-14
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    lo, hi = wilson_interval(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)  # textbook value
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.0)


@pytest.mark.parametrize("seed", range(8))
def test_histogram_percentiles_are_within_one_bin_of_numpy(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 3000))
    kind = seed % 4
    if kind == 0:
        x = rng.beta(5, 2, n)
    elif kind == 1:
        x = rng.uniform(0, 1, n)
    elif kind == 2:  # discrete scores: many values exactly on bin edges
        x = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], n)
    else:  # sparse: a few values with empty bins between them
        x = rng.uniform(0, 1, min(n, 7))
    width = 1.0 / SCORE_BINS
    qs = (0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100)
    got = histogram_percentiles(_histogram(x), qs=qs)
    assert list(got) == [f"p{q:g}" for q in qs]
    for q in qs:
        # the guarantee: the inverted-CDF percentile lies in the same bin
        assert abs(got[f"p{q:g}"] - np.percentile(x, q, method="inverted_cdf")) <= width + 1e-12, q
    values = list(got.values())
    assert values == sorted(values)


def test_histogram_percentiles_track_numpy_linear_on_dense_data() -> None:
    rng = np.random.default_rng(31)
    x = rng.beta(2, 2, 20_000)
    got = histogram_percentiles(_histogram(x))
    for q in (0, 25, 50, 75, 90, 95, 99, 99.9, 100):
        assert abs(got[f"p{q:g}"] - np.percentile(x, q)) <= 1.0 / SCORE_BINS, q
    # uniform data inside a bin: interpolation is much better than the bound
    assert got["p50"] == pytest.approx(np.percentile(x, 50), abs=0.005)


def test_histogram_percentiles_by_hand_and_other_ranges() -> None:
    # 10 values: 4 in [0, 0.5), 6 in [0.5, 1] on a 2-bin histogram
    got = histogram_percentiles([4, 6], qs=(0, 20, 40, 50, 100))
    assert got == {"p0": 0.0, "p20": 0.25, "p40": 0.5, "p50": 0.5 + 0.5 * (1 / 6), "p100": 1.0}
    # a latency histogram over [0, 2000) ms
    assert histogram_percentiles([0, 10, 0, 0], lo=0, hi=2000, qs=(50,)) == {"p50": 750.0}
    assert histogram_percentiles([0] * 20) == {}
    with pytest.raises(ValueError):
        histogram_percentiles([1, 2], qs=(101,))


def test_histogram_bins_clips_and_skips_non_finite() -> None:
    from evalgate.stats.descriptive import histogram

    assert histogram([0.0, 0.05, 0.1, 0.99, 1.0, 1.5, -0.2, float("nan")], bins=10) == [3, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert histogram([], bins=4) == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        histogram([0.5], bins=0)
