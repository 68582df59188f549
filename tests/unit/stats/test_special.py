"""Special functions against scipy on seeded random arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from evalgate.stats import (
    betainc,
    chi2_sf,
    gammainc,
    gammaincc,
    normal_cdf,
    normal_ppf,
    normal_sf,
    t_cdf,
    t_ppf,
    t_sf,
)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def test_normal_cdf_and_sf_match_scipy() -> None:
    rng = np.random.default_rng(11)
    for x in rng.normal(0, 6, 2000):
        assert abs(normal_cdf(x) - stats.norm.cdf(x)) < 1e-15
        # far-tail relative accuracy of the survival function
        assert _rel(normal_sf(x), stats.norm.sf(x)) < 1e-12


def test_normal_ppf_matches_scipy_to_double_precision() -> None:
    rng = np.random.default_rng(12)
    ps = np.concatenate(
        [rng.uniform(0, 1, 2000), 10 ** rng.uniform(-300, -1, 500), 1 - 10 ** rng.uniform(-15, -1, 200)]
    )
    worst = max(abs(normal_ppf(p) - stats.norm.ppf(p)) / max(1.0, abs(stats.norm.ppf(p))) for p in ps)
    assert worst < 1e-14
    assert normal_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-15)
    assert normal_ppf(0.0) == -math.inf and normal_ppf(1.0) == math.inf
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError):
            normal_ppf(bad)


def test_incomplete_gamma_matches_scipy() -> None:
    rng = np.random.default_rng(13)
    a_s, x_s = rng.uniform(0.05, 300, 3000), rng.uniform(0, 400, 3000)
    for a, x in zip(a_s, x_s, strict=True):
        assert abs(gammainc(a, x) - special.gammainc(a, x)) < 1e-12
        expected = special.gammaincc(a, x)
        if expected > 1e-290:  # relative accuracy in the upper tail (chi-squared p-values)
            assert _rel(gammaincc(a, x), expected) < 1e-11
    assert gammainc(2.0, 0.0) == 0.0 and gammaincc(2.0, 0.0) == 1.0
    assert gammaincc(3.0, math.inf) == 0.0


def test_chi2_sf_matches_scipy() -> None:
    rng = np.random.default_rng(14)
    for dof in (1, 2, 3, 7, 20, 99, 500):
        for x in rng.uniform(0, 3 * dof + 60, 200):
            assert _rel(chi2_sf(x, dof), stats.chi2.sf(x, dof)) < 1e-11


def test_incomplete_beta_matches_scipy() -> None:
    rng = np.random.default_rng(15)
    for a, b, x in zip(
        rng.uniform(0.05, 200, 3000), rng.uniform(0.05, 200, 3000), rng.uniform(0, 1, 3000), strict=True
    ):
        assert abs(betainc(a, b, x) - special.betainc(a, b, x)) < 1e-12


def test_student_t_matches_scipy() -> None:
    rng = np.random.default_rng(16)
    dfs = np.concatenate([rng.uniform(0.5, 500, 400), [1.0, 2.0, 3.0, 4.0, 30.0]])
    for df in dfs:
        t = rng.normal(0, 5)
        assert _rel(t_sf(t, df), stats.t.sf(t, df)) < 1e-10
        assert abs(t_cdf(t, df) - stats.t.cdf(t, df)) < 1e-13
        for p in (rng.uniform(0, 1), 10 ** rng.uniform(-12, -1), 0.975, 0.025):
            expected = stats.t.ppf(p, df)
            assert abs(t_ppf(p, df) - expected) / max(1.0, abs(expected)) < 1e-11, (p, df)
    assert t_ppf(0.5, 7) == 0.0
    assert t_ppf(0.975, 9) == pytest.approx(2.262157162798205, abs=1e-13)
