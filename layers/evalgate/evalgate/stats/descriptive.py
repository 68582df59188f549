"""Descriptive statistics from run aggregates: O(1) in the number of results, never from raw results."""

from __future__ import annotations

import math
from collections.abc import Sequence

from evalgate.stats.special import normal_ppf, t_ppf

DEFAULT_QUANTILES: tuple[float, ...] = (0, 25, 50, 75, 90, 95, 99, 99.9, 100)


def confidence_z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return normal_ppf(0.5 + 0.5 * confidence)


def mean_std(n: int, total: float, sum_sq: float) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (n - 1 denominator) from a count, a sum and a sum of squares.

    ``(None, None)`` for n = 0; the std is None for n < 2. The one-pass formula loses precision when
    the mean is large against the spread (catastrophic cancellation); for scores in [0, 1] the
    error is far below anything reported. A slightly negative variance from rounding reads as 0.
    """
    if n <= 0:
        return None, None
    mean = total / n
    if n < 2:
        return mean, None
    variance = (sum_sq - total * total / n) / (n - 1)
    return mean, math.sqrt(max(0.0, variance))


def mean_interval(
    n: int, total: float, sum_sq: float, confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> tuple[float, float] | None:
    """Student t interval of the mean from aggregates (None for n < 2), optionally clipped to ``bounds``."""
    mean, std = mean_std(n, total, sum_sq)
    if mean is None or std is None:
        return None
    half = t_ppf(0.5 + 0.5 * confidence, n - 1) * std / math.sqrt(n)
    lo, hi = mean - half, mean + half
    if bounds is not None:
        lo, hi = max(bounds[0], lo), min(bounds[1], hi)
    return lo, hi


def quantile_key(q: float) -> str:
    """The dict key of a percentile: 50 -> "p50", 99.9 -> "p99.9"."""
    return f"p{q:g}"


def histogram_percentiles(
    bins: Sequence[int | float],
    lo: float = 0.0,
    hi: float = 1.0,
    qs: Sequence[float] = DEFAULT_QUANTILES,
) -> dict[str, float]:
    """Percentiles (keys ``"p50"``, ``"p99.9"``...) estimated from a fixed-width histogram over [lo, hi].

    The values in a bin are taken as spread evenly across it, so a percentile is interpolated
    linearly inside the bin that holds its rank: for percentile q over N values, the bin where the
    cumulative count first reaches q/100 * N. p0 is the lower edge of the first non-empty bin and
    p100 the upper edge of the last.

    Error bound: that bin also holds the sample percentile in its "inverted CDF" definition (the
    smallest value with at least q% of the values at or below it, numpy ``method="inverted_cdf"``),
    so the estimate is within one bin width, (hi - lo) / len(bins), of it. numpy's default
    ("linear") interpolates between two neighbouring values, which can sit in different bins: on
    dense data it stays within a bin width as well, on sparse data with empty bins between two
    neighbouring values it can be further off.

    An empty histogram gives an empty dict.
    """
    if not bins:
        raise ValueError("no bins")
    if hi <= lo:
        raise ValueError("hi must be above lo")
    total = sum(bins)
    if total <= 0:
        return {}
    width = (hi - lo) / len(bins)
    out: dict[str, float] = {}
    for q in qs:
        if not 0.0 <= q <= 100.0:
            raise ValueError(f"percentile must be in [0, 100], got {q!r}")
        target = q / 100.0 * total
        below = 0.0
        value = hi
        for b, count in enumerate(bins):
            if count > 0 and below + count >= target:
                fraction = (target - below) / count
                value = lo + (b + min(1.0, max(0.0, fraction))) * width
                break
            below += count
        out[quantile_key(q)] = value
    return out


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (no continuity correction); (0, 1) when n = 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    z = confidence_z(confidence)
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    lo = 0.0 if successes == 0 else max(0.0, center - half)  # exactly 0 / 1 at the ends, not 1 - 1e-16
    hi = 1.0 if successes == n else min(1.0, center + half)
    return lo, hi


def percentile_sorted(values: Sequence[float], q: float) -> float:
    """numpy's default ("linear") percentile of already sorted values."""
    if not values:
        raise ValueError("no values")
    h = (len(values) - 1) * q / 100.0
    i = math.floor(h)
    if i >= len(values) - 1:
        return float(values[-1])
    return float(values[i] + (h - i) * (values[i + 1] - values[i]))


def histogram(values: Sequence[float], bins: int = 10, lo: float = 0.0, hi: float = 1.0) -> list[int]:
    """Counts of `values` in `bins` equal-width bins over [lo, hi] (each bin [a, b), the last [a, hi]); values
    outside the range are clipped into the end bins, non-finite ones left out."""
    if bins < 1 or not hi > lo:
        raise ValueError("need bins >= 1 and hi > lo")
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in values:
        if not math.isfinite(v):
            continue
        counts[min(bins - 1, max(0, int((v - lo) // width)))] += 1
    return counts
