"""Distribution-shift tests: two-sample Kolmogorov-Smirnov, population stability index, chi-squared.

Generic helpers for comparing a window of results against a baseline (pure Python).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from evalgate.stats.special import chi2_sf

# ---------------------------------------------------------------------- Kolmogorov-Smirnov

KS_EXACT_MAX_N = 10_000  # scipy's 'auto': exact when both samples are at most this large
KS_EXACT_MAX_STEPS = 5_000_000  # pure-Python budget of the exact lattice-path count (unequal sizes), ~0.5 s


def _ks_exact_equal(n: int, h: int) -> float:
    """P[D >= h/n] for two samples of n each: 2 * sum_k (-1)^(k-1) C(2n, n - kh) / C(2n, n).

    The alternating sum is evaluated as A1 (1 - A2 (1 - A3 (...))) with A_k the ratio of
    consecutive terms, which avoids most of the cancellation.
    """
    total = 0.0
    for k in range(n // h, -1, -1):
        ratio = 1.0  # C(2n, n - (k+1)h) / C(2n, n - kh)
        start = k * h
        for j in range(h):
            ratio = ratio * (n - start - j) / (n + start + j + 1)
        total = ratio * (1.0 - total)
    return 2.0 * total


def _ks_exact_unequal(m: int, n: int, g: int, h: int) -> float:
    """P[D >= h / lcm(m, n)] by counting lattice paths (Hodges' inside method, in Viehmann's 1 - p form).

    A path from (0, 0) to (m, n) takes a step right per value of the first sample and up per value
    of the second in sorted order; D >= d when it leaves the band |x/m - y/n| < d. Q(x, y) is the
    share of the paths reaching (x, y) that have left the band: 1 outside it and
    Q(x, y) = (x Q(x-1, y) + y Q(x, y-1)) / (x + y) inside. The answer is Q(m, n).
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    # inside the band: |ng * x - mg * y| < h
    column = [1.0] * (n + 1)
    for j in range(min(-(-h // mg), n + 1)):
        column[j] = 0.0
    previous_lo = 0
    for i in range(1, m + 1):
        lo = max((ng * i - h) // mg + 1, 0)
        hi = min(-(-(ng * i + h) // mg), n + 1)
        if hi <= lo:
            return 1.0
        for j in range(previous_lo, lo):
            column[j] = 1.0
        below = 0.0 if lo == 0 else 1.0
        for j in range(lo, hi):
            below = (column[j] * i + below * j) / (i + j)
            column[j] = below
        previous_lo = lo
    return column[n]


def _smirnov_sf(n: int, d: float) -> float:
    """P[D+_n >= d], the exact one-sided one-sample statistic (Birnbaum-Tingey sum, in logs)."""
    if d <= 0.0:
        return 1.0
    if d >= 1.0:
        return 0.0
    logs = []
    for j in range(math.floor(n * (1.0 - d)) + 1):
        first = 1.0 - d - j / n
        if first <= 0.0:
            continue
        logs.append(
            math.lgamma(n + 1)
            - math.lgamma(j + 1)
            - math.lgamma(n - j + 1)
            + (n - j) * math.log(first)
            + (j - 1) * math.log(d + j / n)
        )
    if not logs:
        return 0.0
    top = max(logs)
    return min(1.0, d * math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def _pelz_good_cdf(n: int, x: float) -> float:
    """Pelz-Good (1976) expansion of P[D_n <= x] to order n^-3/2 (the Li-Chien/Korolyuk series)."""
    z = math.sqrt(n) * x
    if z < 0.0418:  # the leading term underflows
        return 0.0
    z2, z4, z6 = z * z, z**4, z**6
    pi2, pi4, pi6 = math.pi**2, math.pi**4, math.pi**6
    s0 = s1 = s2 = s3 = 0.0
    terms = math.ceil(16.0 * z / math.pi)
    for k in range(terms, 0, -1):
        m2 = (2 * k - 1) ** 2
        w = math.exp(-m2 * pi2 / (8.0 * z2))
        s0 += w
        s1 += (pi2 * m2 / 4.0 - z2) * w
        s2 += (6 * z6 + 2 * z4 + (2 * z4 - 5 * z2) * pi2 * m2 / 4 + pi4 * (1 - 2 * z2) * m2 * m2 / 16) * w
        s3 += (
            -30 * z6
            - 90 * z**8
            + pi2 * (135 * z4 - 96 * z6) * m2 / 4
            + pi4 * (-60 * z2 + 212 * z4) * m2 * m2 / 16
            + pi6 * (5 - 30 * z2) * m2**3 / 64
        ) * w
    e2 = e3 = 0.0
    for k in range(terms, 0, -1):
        w = k * k * math.exp(-k * k * pi2 / (2.0 * z2))
        e2 += w
        e3 += (3 * z2 - pi2 * k * k) * w
    root = math.sqrt(2.0 * math.pi)
    k0 = root / z * s0
    k1 = root / (6 * z4) * s1
    k2 = root / (72 * z**7) * s2 - pi2 * root / (36 * z**3) * e2
    k3 = root / (6480 * z**10) * s3 + pi2 * root / (216 * z6) * e3
    return k0 + k1 / math.sqrt(n) + k2 / n + k3 / n**1.5


def kolmogorov_sf(n: int, d: float) -> float:
    """P[D_n >= d] for the two-sided one-sample Kolmogorov-Smirnov statistic of n values (scipy's kstwo.sf).

    Simard & L'Ecuyer's choice of methods, simplified: exact closed forms near the ends, twice the
    exact one-sided probability for large n*d^2, else the Pelz-Good expansion (scipy uses the
    exact Durbin/Pomeranz recursions in part of that region; the difference is about 1e-4 at
    worst for n near 100 and shrinks like n^-2).
    """
    if d >= 1.0:
        return 0.0
    t = n * d
    if t <= 0.5:
        return 1.0
    if t <= 1.0:  # Ruben-Gambino: P[D_n <= d] = n!/n^n (2t - 1)^n
        return 1.0 - math.exp(math.lgamma(n + 1) - n * math.log(n) + n * math.log(2.0 * t - 1.0))
    if t >= n - 1:
        return 2.0 * (1.0 - d) ** n
    if d >= 0.5:
        return min(1.0, 2.0 * _smirnov_sf(n, d))
    nd2 = t * d
    if nd2 >= 370.0:
        return 0.0
    if nd2 >= 2.2:
        return min(1.0, 2.0 * _smirnov_sf(n, d))
    return min(1.0, max(0.0, 1.0 - _pelz_good_cdf(n, d)))


def ks_2samp(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Two-sample two-sided Kolmogorov-Smirnov test: (D, p-value), as scipy.stats.ks_2samp's default.

    D = max |F_x - F_y| over the pooled values (ties handled like scipy). p follows scipy's
    ``method="auto"``: exact when both samples have at most 10,000 values, asymptotic otherwise.
    Exact is the lattice-path count (O(n) for equal sizes; about m * 2 D n steps otherwise); when
    that would exceed KS_EXACT_MAX_STEPS in pure Python, the asymptotic p is used instead: the
    one-sample distribution of round(m n / (m + n)) values (scipy's asymptotic). With samples of up
    to 10,000 that only happens for a large D, where p is below about 0.005 and the two agree to
    about 1e-5 (exact: about 0.5 s at the budget).
    """
    xs, ys = sorted(float(v) for v in x), sorted(float(v) for v in y)
    n1, n2 = len(xs), len(ys)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    if any(math.isnan(v) for v in xs) or any(math.isnan(v) for v in ys):
        raise ValueError("samples must not contain NaN")
    i = j = 0
    best = 0  # max |i n2 - j n1| = n1 n2 D, kept in integers
    while i < n1 and j < n2:
        v = xs[i] if xs[i] <= ys[j] else ys[j]
        while i < n1 and xs[i] <= v:
            i += 1
        while j < n2 and ys[j] <= v:
            j += 1
        best = max(best, abs(i * n2 - j * n1))
    g = math.gcd(n1, n2)
    h = best // g  # D in units of 1 / lcm(n1, n2)
    statistic = best / (n1 * n2)
    if h == 0:
        return statistic, 1.0
    m, n = max(n1, n2), min(n1, n2)
    if m <= KS_EXACT_MAX_N:
        if n1 == n2:
            return statistic, min(1.0, max(0.0, _ks_exact_equal(n1, h)))
        if (m + 1) * (2 * h // (m // g) + 2) <= KS_EXACT_MAX_STEPS:
            return statistic, min(1.0, max(0.0, _ks_exact_unequal(n1, n2, g, h)))
    return statistic, kolmogorov_sf(round(m * n / (m + n)), statistic)


# -------------------------------------------------------------------------------------- PSI


def psi(expected_bins: Sequence[float], actual_bins: Sequence[float], epsilon: float = 1e-4) -> float:
    """Population stability index of an actual distribution against an expected (baseline) one.

    Both are bin counts (or proportions) over the same bins; each is normalised to proportions and
    PSI = sum (a_i - e_i) ln(a_i / e_i). A proportion of 0 is raised to ``epsilon`` so an empty bin
    does not make it infinite (no renormalisation after). Rule of thumb: < 0.1 stable,
    0.1-0.25 moderate shift, > 0.25 major shift.
    """
    if len(expected_bins) != len(actual_bins):
        raise ValueError("expected and actual need the same bins")
    if not expected_bins:
        raise ValueError("no bins")
    if min(expected_bins) < 0 or min(actual_bins) < 0:
        raise ValueError("bin counts must be non-negative")
    e_total, a_total = float(sum(expected_bins)), float(sum(actual_bins))
    if e_total <= 0 or a_total <= 0:
        raise ValueError("both distributions need a positive total")
    value = 0.0
    for e_count, a_count in zip(expected_bins, actual_bins, strict=True):
        e = max(e_count / e_total, epsilon)
        a = max(a_count / a_total, epsilon)
        value += (a - e) * math.log(a / e)
    return value


# --------------------------------------------------------------------------- chi-squared


def chi2_contingency(table: Sequence[Sequence[float]], correction: bool = True) -> tuple[float, float, int]:
    """Pearson's chi-squared test of independence on an r x c table of counts: (chi2, p, dof).

    As scipy.stats.chi2_contingency (with Yates' continuity correction when dof = 1 unless
    ``correction=False``), except that rows and columns that are all zero are dropped first (a
    label seen in neither window), where scipy raises. A table with fewer than two non-empty rows
    or columns gives (0.0, 1.0, 0).
    """
    rows = [[float(v) for v in row] for row in table]
    if not rows or any(len(row) != len(rows[0]) for row in rows):
        raise ValueError("table must be a non-empty rectangle")
    if any(v < 0 or math.isnan(v) for row in rows for v in row):
        raise ValueError("counts must be non-negative")
    rows = [row for row in rows if sum(row) > 0]
    keep = [c for c in range(len(rows[0]) if rows else 0) if sum(row[c] for row in rows) > 0]
    rows = [[row[c] for c in keep] for row in rows]
    if len(rows) < 2 or len(keep) < 2:
        return 0.0, 1.0, 0
    row_sums = [sum(row) for row in rows]
    col_sums = [sum(row[c] for row in rows) for c in range(len(keep))]
    total = sum(row_sums)
    dof = (len(rows) - 1) * (len(keep) - 1)
    chi2 = 0.0
    for r, row in enumerate(rows):
        for c, observed in enumerate(row):
            expected = row_sums[r] * col_sums[c] / total
            diff = abs(observed - expected)
            if correction and dof == 1:
                diff = max(0.0, diff - 0.5)  # scipy moves each cell by min(0.5, |o - e|) toward e
            chi2 += diff * diff / expected
    return chi2, chi2_sf(chi2, dof), dof
