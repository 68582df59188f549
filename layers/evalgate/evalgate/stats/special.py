"""Special functions and distributions in pure Python (stdlib ``math`` only).

Normal, Student t and chi-squared tails, the regularized incomplete gamma and beta functions, and
exact tail sums of the binomial and hypergeometric distributions. Accuracy is close to double
precision (relative error around 1e-13 or better over the ranges the gate and the drift tests
use); the unit tests compare every function with scipy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_EPS = 1e-16
_TINY = 1e-300
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_MAX_ITER = 100_000


# ---------------------------------------------------------------------------- normal distribution


def normal_cdf(x: float) -> float:
    """P[Z <= x] for a standard normal Z."""
    return 0.5 * math.erfc(-x / _SQRT2)


def normal_sf(x: float) -> float:
    """P[Z > x] for a standard normal Z, accurate far in the upper tail."""
    return 0.5 * math.erfc(x / _SQRT2)


def normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT2PI


# Acklam's rational approximation (relative error < 1.2e-9), refined by Halley steps below.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
      4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)


def normal_ppf(p: float) -> float:
    """The standard normal quantile: x with P[Z <= x] = p (-inf at 0, inf at 1)."""
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise ValueError(f"probability must be in [0, 1], got {p!r}")
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p > 0.5:
        return -normal_ppf(1.0 - p)  # exact subtraction for p in [0.5, 1]
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5])
            * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
        )
    # Halley refinement on P(x) - p; the density underflows only below x ~ -37.5 (p < 1e-307).
    for _ in range(2):
        pdf = normal_pdf(x)
        if pdf == 0.0:
            break
        u = (normal_cdf(x) - p) / pdf
        x -= u / (1.0 + 0.5 * x * u)
    return x


# -------------------------------------------------------------------- incomplete gamma / beta


def _stirling_tail(x: float) -> float:
    """lgamma(x) - [(x - 1/2) ln x - x + ln(2 pi)/2] for x >= 10 (the Stirling series, error < 1e-16)."""
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * 691 / 360360)))))


def log_beta(a: float, b: float) -> float:
    """ln B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b), without the cancellation of that sum for large a, b.

    Plain lgamma differences lose about 1e-13 (a few ulps of lgamma of a large argument); splitting
    off the Stirling terms analytically keeps the error near 1e-15.
    """
    p, q = min(a, b), max(a, b)
    if q < 10.0:
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)
    s = p + q
    if p < 10.0:
        # lgamma(q) - lgamma(q + p) = -(q - 1/2) ln(1 + p/q) - p ln(q + p) + p + tail(q) - tail(q + p)
        diff = -(q - 0.5) * math.log1p(p / q) - p * math.log(s) + p + _stirling_tail(q) - _stirling_tail(s)
        return math.lgamma(p) + diff
    return (
        0.5 * math.log(2.0 * math.pi)
        - 0.5 * math.log(q)
        + _stirling_tail(p)
        + _stirling_tail(q)
        - _stirling_tail(s)
        + (p - 0.5) * math.log(p / s)
        + q * math.log1p(-p / s)
    )


def _log1p_minus(u: float) -> float:
    """ln(1 + u) - u without cancellation for small u."""
    if abs(u) > 0.1:
        return math.log1p(u) - u
    term, total, k = u, 0.0, 2  # -u^2/2 + u^3/3 - ...
    while True:
        term *= -u
        step = term / k
        total += step
        if abs(step) <= abs(total) * _EPS:
            return total
        k += 1


def _log_gamma_front(a: float, x: float) -> float:
    """ln(x^a e^-x / Gamma(a)), the factor in front of both incomplete gamma expansions.

    For a >= 10 the Stirling terms are split off so that a ln x - x - lgamma(a) does not cancel.
    """
    if a < 10.0:
        return a * math.log(x) - x - math.lgamma(a)
    return a * _log1p_minus((x - a) / a) + 0.5 * math.log(a / (2.0 * math.pi)) - _stirling_tail(a)


def _gamma_series(a: float, x: float) -> float:
    """P(a, x) by its power series (converges fast for x < a + 1)."""
    ap = a
    term = total = 1.0 / a
    for _ in range(_MAX_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(_log_gamma_front(a, x))


def _gamma_cont_frac(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction, modified Lentz (converges fast for x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(_log_gamma_front(a, x)) * h


def gammainc(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x) (scipy.special.gammainc)."""
    if a <= 0.0:
        raise ValueError("a must be positive")
    if x <= 0.0:
        return 0.0
    if math.isinf(x):
        return 1.0
    return _gamma_series(a, x) if x < a + 1.0 else 1.0 - _gamma_cont_frac(a, x)


def gammaincc(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x) (scipy.special.gammaincc)."""
    if a <= 0.0:
        raise ValueError("a must be positive")
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return 1.0 - _gamma_series(a, x) if x < a + 1.0 else _gamma_cont_frac(a, x)


def chi2_sf(x: float, dof: float) -> float:
    """P[X > x] for X chi-squared with ``dof`` degrees of freedom."""
    return gammaincc(0.5 * dof, 0.5 * x)


def _beta_cont_frac(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _betainc2(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) given both x and y = 1 - x (so callers can pass an exact complement)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log(y) - log_beta(a, b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cont_frac(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cont_frac(b, a, y) / b


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (scipy.special.betainc)."""
    if a <= 0.0 or b <= 0.0:
        raise ValueError("a and b must be positive")
    return _betainc2(a, b, x, 1.0 - x)


# ------------------------------------------------------------------------------- Student t


def t_sf(t: float, df: float) -> float:
    """P[T > t] for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("df must be positive")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    t2 = t * t
    # P[|T| > |t|] = I_{df/(df+t^2)}(df/2, 1/2), with the complement t^2/(df+t^2) passed exactly
    two_tail = _betainc2(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2))
    return 0.5 * two_tail if t >= 0 else 1.0 - 0.5 * two_tail


def t_cdf(t: float, df: float) -> float:
    """P[T <= t] for Student's t with ``df`` degrees of freedom."""
    return t_sf(-t, df)


def t_pdf(t: float, df: float) -> float:
    log_pdf = (
        math.lgamma(0.5 * (df + 1.0))
        - math.lgamma(0.5 * df)
        - 0.5 * math.log(df * math.pi)
        - 0.5 * (df + 1.0) * math.log1p(t * t / df)
    )
    return math.exp(log_pdf)


def t_ppf(p: float, df: float) -> float:
    """The Student t quantile: t with P[T <= t] = p."""
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise ValueError(f"probability must be in [0, 1], got {p!r}")
    if df <= 0:
        raise ValueError("df must be positive")
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p == 0.5:
        return 0.0
    if p > 0.5:
        return -t_ppf(1.0 - p, df)
    # now p < 0.5: find s > 0 with P[T > s] = p, then return -s
    if df == 1.0:  # Cauchy: tan(pi (p - 1/2)) = -1 / tan(pi p), accurate for tiny p
        return -1.0 / math.tan(math.pi * p)
    if df == 2.0:
        return (2.0 * p - 1.0) / math.sqrt(2.0 * p * (1.0 - p))
    z = -normal_ppf(p)
    if df > 1e7:
        return -z
    # Cornish-Fisher start, then safeguarded Newton on log P[T > s] (well scaled in the tail)
    s = z + (z**3 + z) / (4.0 * df) + (5.0 * z**5 + 16.0 * z**3 + 3.0 * z) / (96.0 * df * df)
    lo, hi = 0.0, math.inf
    log_p = math.log(p)
    for _ in range(200):
        sf = t_sf(s, df)
        if sf > p:
            lo = s
        else:
            hi = s
        # Newton on log sf: d/ds log sf = -pdf / sf
        s_new = 0.5 * (lo + hi) if sf <= 0.0 else s + (math.log(sf) - log_p) * sf / t_pdf(s, df)
        if not lo < s_new < hi:
            s_new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * max(s, 1.0)
        if abs(s_new - s) <= 1e-15 * max(1.0, abs(s)):
            s = s_new
            break
        s = s_new
    return -s


# ------------------------------------------------------------------ discrete tail sums


def log_comb(n: int, k: int) -> float:
    """log C(n, k) for 0 <= k <= n: -ln(n + 1) - ln B(k + 1, n - k + 1)."""
    return -math.log(n + 1) - log_beta(k + 1, n - k + 1)


class _Discrete:
    """A unimodal discrete distribution on [lo, hi] with its pmf ratio recurrences.

    Tail sums start at the requested point and walk away from the mode (so the terms decrease),
    stopping once a term no longer changes the sum; a tail that would cross the mode is computed
    as one minus the opposite tail.
    """

    def __init__(
        self,
        lo: int,
        hi: int,
        mode: int,
        logpmf: Callable[[int], float],
        up: Callable[[int], float],
        down: Callable[[int], float],
    ) -> None:
        self.lo, self.hi, self.mode = lo, hi, mode
        self.logpmf, self.up, self.down = logpmf, up, down

    def pmf(self, x: int) -> float:
        if x < self.lo or x > self.hi:
            return 0.0
        return math.exp(self.logpmf(x))

    def _walk(self, x: int, step: int) -> float:
        term = self.pmf(x)
        total = term
        ratio = self.up if step > 0 else self.down
        end = self.hi if step > 0 else self.lo
        while x != end and term > 0.0:
            term *= ratio(x)
            x += step
            total += term
            if term < total * 1e-17:
                break
        return total

    def cdf(self, x: int) -> float:
        """P[X <= x]."""
        if x < self.lo:
            return 0.0
        if x >= self.hi:
            return 1.0
        if x <= self.mode:
            return min(1.0, self._walk(x, -1))
        return max(0.0, 1.0 - self._walk(x + 1, +1))

    def sf_from(self, x: int) -> float:
        """P[X >= x]."""
        if x <= self.lo:
            return 1.0
        if x > self.hi:
            return 0.0
        if x >= self.mode:
            return min(1.0, self._walk(x, +1))
        return max(0.0, 1.0 - self._walk(x - 1, -1))

    def two_sided(self, x: int, rel_tol: float) -> float:
        """Sum of the probabilities of every outcome no more likely than ``x`` (the exact two-sided p).

        Outcomes whose probability is within ``rel_tol`` (relative) of P[X = x] count as equally
        likely, which absorbs rounding in the pmf.
        """
        d = self.pmf(x)
        threshold = d * (1.0 + rel_tol)
        if self.pmf(self.mode) <= threshold:
            return 1.0
        if x < self.mode:
            # smallest j in [mode, hi] with pmf(j) <= threshold (pmf is non-increasing there)
            lo, hi = self.mode, self.hi + 1
            while lo < hi:
                mid = (lo + hi) // 2
                if self.pmf(mid) <= threshold:
                    hi = mid
                else:
                    lo = mid + 1
            return min(1.0, self.cdf(x) + self.sf_from(lo))
        # largest j in [lo, mode] with pmf(j) <= threshold (pmf is non-decreasing there)
        lo, hi = self.lo - 1, self.mode
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.pmf(mid) <= threshold:
                lo = mid
            else:
                hi = mid - 1
        return min(1.0, self.sf_from(x) + self.cdf(lo))


def binomial_dist(n: int, p: float) -> _Discrete:
    """Binomial(n, p) with 0 < p < 1."""
    log_p, log_q = math.log(p), math.log1p(-p)
    odds = p / (1.0 - p)
    mode = min(n, math.floor((n + 1) * p))
    return _Discrete(
        0,
        n,
        mode,
        lambda k: log_comb(n, k) + k * log_p + (n - k) * log_q,
        lambda k: (n - k) / (k + 1) * odds,
        lambda k: k / ((n - k + 1) * odds),
    )


def hypergeom_dist(total: int, successes: int, draws: int) -> _Discrete:
    """Hypergeometric: ``draws`` taken without replacement from ``total`` items, ``successes`` of them marked."""
    big_n, k_, n_ = total, successes, draws
    lo, hi = max(0, n_ - (big_n - k_)), min(k_, n_)
    mode = min(hi, max(lo, int((n_ + 1) * (k_ + 1) // (big_n + 2))))
    log_denominator = log_comb(big_n, n_)
    return _Discrete(
        lo,
        hi,
        mode,
        lambda x: log_comb(k_, x) + log_comb(big_n - k_, n_ - x) - log_denominator,
        lambda x: (k_ - x) * (n_ - x) / ((x + 1) * (big_n - k_ - n_ + x + 1)),
        lambda x: x * (big_n - k_ - n_ + x) / ((k_ - x + 1) * (n_ - x + 1)),
    )
