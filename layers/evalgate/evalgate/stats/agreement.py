"""Agreement between a judge and people, and among people (human review, issue 15).

Pure Python on the standard library: safe to import in any Lambda. Checked against scikit-learn's
``cohen_kappa_score`` / ``confusion_matrix`` / ``precision_score``, ``scipy.stats.spearmanr`` and the
``krippendorff`` package in ``tests/unit/stats/test_agreement.py``.

    from evalgate.stats.agreement import categorical_agreement, score_agreement, krippendorff_alpha
    figures = categorical_agreement(judge=["pass", "fail", ...], human=["pass", "pass", ...])
    figures.kappa, figures.kappa_interval, figures.observed, figures.base_rate, figures.status

Too few items (``min_items``), or a statistic that is undefined on the data (everybody said the same
thing, so chance agreement is 1) give ``status == "inconclusive"`` with a reason and no statistic: a kappa of
0.83 from six items looks precise and is not. Counts (the confusion matrix, n) are always given.

The kappa interval is the union of two intervals (docs/decisions.md, issue 15): the Fleiss-Cohen-Everitt
large-sample interval and the Wilson score interval of the observed agreement mapped through
kappa = (p_o - p_e) / (1 - p_e) with p_e held at its estimate. The large-sample interval alone covers the true
kappa in only 81-93% of repetitions at n <= 100 or kappa near 1 (it is empty-width at perfect agreement);
the union covers it in >= 95% (bench/agreement_coverage.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalgate.stats.descriptive import confidence_z, mean_interval, wilson_interval
from evalgate.stats.special import t_sf

MIN_ITEMS = 10  # fewer compared items than this: inconclusive
Status = Literal["ok", "inconclusive"]
Level = Literal["nominal", "ordinal", "interval"]


def _pairs(judge: Sequence[Any], human: Sequence[Any]) -> tuple[list[tuple[Any, Any]], int]:
    """The (judge, human) pairs where both gave a label; the number dropped for a missing one."""
    if len(judge) != len(human):
        raise ValueError(f"judge and human labels differ in length: {len(judge)} against {len(human)}")
    pairs = [(j, h) for j, h in zip(judge, human, strict=True) if j is not None and h is not None]
    return pairs, len(judge) - len(pairs)


def _label_order(values: Sequence[Hashable], labels: Sequence[Hashable] | None) -> list[Hashable]:
    if labels is not None:
        unknown = {v for v in values if v not in set(labels)}
        if unknown:
            raise ValueError(f"labels outside the given set: {sorted(map(str, unknown))}")
        return list(labels)
    try:
        return sorted(set(values))  # type: ignore[type-var]
    except TypeError:
        return sorted(set(values), key=str)


def confusion_matrix(
    judge: Sequence[Hashable], human: Sequence[Hashable], labels: Sequence[Hashable]
) -> list[list[int]]:
    """Counts with rows = the human's label and columns = the judge's (scikit-learn's order: true, predicted)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for j, h in zip(judge, human, strict=True):
        matrix[index[h]][index[j]] += 1
    return matrix


def kappa_from_matrix(matrix: Sequence[Sequence[int]]) -> tuple[float, float, float, float] | None:
    """Cohen's kappa, its large-sample standard error (Fleiss, Cohen & Everitt 1969), p_o and p_e.

    None when kappa is undefined (no items, or chance agreement p_e = 1: both raters used one label only).
    """
    k = len(matrix)
    n = sum(sum(row) for row in matrix)
    if n == 0:
        return None
    p = [[cell / n for cell in row] for row in matrix]
    rows = [sum(p[i]) for i in range(k)]  # human marginals
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]  # judge marginals
    po = sum(p[i][i] for i in range(k))
    pe = sum(rows[i] * cols[i] for i in range(k))
    if pe >= 1.0 - 1e-12:
        return None
    kappa = (po - pe) / (1.0 - pe)
    diagonal = sum(p[i][i] * (1.0 - (rows[i] + cols[i]) * (1.0 - kappa)) ** 2 for i in range(k))
    off = sum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j)
    variance = (diagonal + (1.0 - kappa) ** 2 * off - (kappa - pe * (1.0 - kappa)) ** 2) / (n * (1.0 - pe) ** 2)
    return kappa, math.sqrt(max(0.0, variance)), po, pe


def kappa_interval(matrix: Sequence[Sequence[int]], confidence: float = 0.95) -> tuple[float, float] | None:
    """The kappa interval: the large-sample interval widened by the mapped Wilson interval of p_o (module doc)."""
    figures = kappa_from_matrix(matrix)
    if figures is None:
        return None
    kappa, se, _, pe = figures
    n = sum(sum(row) for row in matrix)
    z = confidence_z(confidence)
    agreed = sum(matrix[i][i] for i in range(len(matrix)))
    w_lo, w_hi = wilson_interval(agreed, n, confidence)
    lo = min(kappa - z * se, (w_lo - pe) / (1.0 - pe))
    hi = max(kappa + z * se, (w_hi - pe) / (1.0 - pe))
    return max(-1.0, lo), min(1.0, hi)


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson interval; value None when the denominator is 0."""

    value: float | None
    successes: int
    n: int
    interval: tuple[float, float] | None

    @classmethod
    def of(cls, successes: int, n: int, confidence: float) -> Rate:
        if n == 0:
            return cls(None, 0, 0, None)
        return cls(successes / n, successes, n, wilson_interval(successes, n, confidence))

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "successes": self.successes,
            "n": self.n,
            "interval": list(self.interval) if self.interval else None,
        }


@dataclass(frozen=True)
class CategoricalAgreement:
    """Judge against humans on a pass/fail or label criterion."""

    status: Status
    reason: str | None
    n: int  # items with both labels
    missing: int  # items dropped because one side had no label
    labels: list[Hashable]
    matrix: list[list[int]]  # rows: human label, columns: judge label (in `labels` order)
    kappa: float | None = None
    kappa_se: float | None = None
    kappa_interval: tuple[float, float] | None = None
    observed: float | None = None  # raw agreement
    expected: float | None = None  # chance agreement from the marginals
    base_rate: float | None = None  # share of the humans' most common label: what "always say X" scores
    base_label: Hashable | None = None
    positive: Hashable | None = None  # the verdict precision/recall are about ("fail")
    precision: Rate | None = None  # of the judge's `positive` verdicts, the share humans agree with
    recall: Rate | None = None  # of the humans' `positive` labels, the share the judge found
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "status": self.status,
            "reason": self.reason,
            "n": self.n,
            "missing": self.missing,
            "labels": [str(label) for label in self.labels],
            "confusion_matrix": self.matrix,
            "kappa": self.kappa,
            "kappa_se": self.kappa_se,
            "kappa_interval": list(self.kappa_interval) if self.kappa_interval else None,
            "observed_agreement": self.observed,
            "chance_agreement": self.expected,
            "base_rate": self.base_rate,
            "base_label": None if self.base_label is None else str(self.base_label),
            "positive": None if self.positive is None else str(self.positive),
            "precision": self.precision.to_dict() if self.precision else None,
            "recall": self.recall.to_dict() if self.recall else None,
            "confidence": self.confidence,
        }


def categorical_agreement(
    judge: Sequence[Hashable | None],
    human: Sequence[Hashable | None],
    *,
    labels: Sequence[Hashable] | None = None,
    positive: Hashable | None = "fail",
    confidence: float = 0.95,
    min_items: int = MIN_ITEMS,
) -> CategoricalAgreement:
    """kappa with its interval, raw agreement beside the base rate, the confusion matrix and precision/recall of
    the judge's ``positive`` verdict (``"fail"``). ``None`` labels are missing: the pair is dropped."""
    pairs, missing = _pairs(judge, human)
    js = [j for j, _ in pairs]
    hs = [h for _, h in pairs]
    order = _label_order(js + hs, labels)
    matrix = confusion_matrix(js, hs, order)
    n = len(pairs)
    base: dict[str, Any] = dict(
        n=n, missing=missing, labels=order, matrix=matrix, confidence=confidence, positive=positive
    )
    if n < min_items:
        return CategoricalAgreement(
            status="inconclusive", reason=f"{n} compared items, at least {min_items} needed", **base
        )
    figures = kappa_from_matrix(matrix)
    counts = Counter(hs)
    base_label, base_count = max(counts.items(), key=lambda kv: (kv[1], str(kv[0])))
    observed = sum(matrix[i][i] for i in range(len(order))) / n
    precision = recall = None
    if positive is not None and positive in order:
        i = order.index(positive)
        both = matrix[i][i]
        precision = Rate.of(both, sum(matrix[r][i] for r in range(len(order))), confidence)
        recall = Rate.of(both, sum(matrix[i]), confidence)
    common: dict[str, Any] = dict(
        observed=observed,
        base_rate=base_count / n,
        base_label=base_label,
        precision=precision,
        recall=recall,
    )
    if figures is None:
        return CategoricalAgreement(
            status="inconclusive",
            reason="kappa is undefined: judge and humans each used a single label, so chance agreement is 1",
            **base,
            **common,
        )
    kappa, se, _, pe = figures
    return CategoricalAgreement(
        status="ok",
        reason=None,
        kappa=kappa,
        kappa_se=se,
        kappa_interval=kappa_interval(matrix, confidence),
        expected=pe,
        **base,
        **common,
    )


def rank_average(values: Sequence[float]) -> list[float]:
    """Ranks 1..n with ties given their average rank (scipy.stats.rankdata's default)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2.0 + 1.0
        for m in range(i, j + 1):
            ranks[order[m]] = rank
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float] | None:
    """Spearman's rho and its two-sided p-value (t approximation, as scipy.stats.spearmanr); None if a side is
    constant."""
    rho = pearson(rank_average(x), rank_average(y))
    if rho is None:
        return None
    n = len(x)
    if n <= 2 or abs(rho) >= 1.0:
        return rho, 0.0 if abs(rho) >= 1.0 and n > 2 else 1.0
    t = rho * math.sqrt((n - 2) / ((1.0 - rho) * (1.0 + rho)))
    return rho, min(1.0, 2.0 * t_sf(abs(t), n - 2))


def spearman_interval(rho: float, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Fisher-z interval of rho with the Bonett-Wright (2000) variance (1 + rho^2/2) / (n - 3)."""
    if n < 4:
        return None
    if abs(rho) >= 1.0:
        return (rho, rho)
    z = math.atanh(rho)
    half = confidence_z(confidence) * math.sqrt((1.0 + rho * rho / 2.0) / (n - 3))
    return math.tanh(z - half), math.tanh(z + half)


@dataclass(frozen=True)
class ScoreAgreement:
    """Judge against humans on a score criterion."""

    status: Status
    reason: str | None
    n: int
    missing: int
    spearman: float | None = None
    spearman_interval: tuple[float, float] | None = None
    spearman_p: float | None = None
    mean_abs_diff: float | None = None
    mean_abs_diff_interval: tuple[float, float] | None = None
    mean_diff: float | None = None  # judge - human: > 0 when the judge is more lenient
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "score",
            "status": self.status,
            "reason": self.reason,
            "n": self.n,
            "missing": self.missing,
            "spearman": self.spearman,
            "spearman_interval": list(self.spearman_interval) if self.spearman_interval else None,
            "spearman_p": self.spearman_p,
            "mean_abs_diff": self.mean_abs_diff,
            "mean_abs_diff_interval": list(self.mean_abs_diff_interval) if self.mean_abs_diff_interval else None,
            "mean_diff": self.mean_diff,
            "confidence": self.confidence,
        }


def score_agreement(
    judge: Sequence[float | None],
    human: Sequence[float | None],
    *,
    confidence: float = 0.95,
    min_items: int = MIN_ITEMS,
) -> ScoreAgreement:
    """Spearman's rho (with interval) and the mean absolute difference (with a t interval)."""
    pairs, missing = _pairs(judge, human)
    n = len(pairs)
    if n < min_items:
        return ScoreAgreement("inconclusive", f"{n} compared items, at least {min_items} needed", n, missing)
    js = [float(j) for j, _ in pairs]
    hs = [float(h) for _, h in pairs]
    diffs = [abs(a - b) for a, b in zip(js, hs, strict=True)]
    mad = sum(diffs) / n
    mad_interval = mean_interval(n, sum(diffs), sum(d * d for d in diffs), confidence, bounds=(0.0, math.inf))
    mean_diff = sum(a - b for a, b in zip(js, hs, strict=True)) / n
    common: dict[str, Any] = dict(
        n=n,
        missing=missing,
        mean_abs_diff=mad,
        mean_abs_diff_interval=mad_interval,
        mean_diff=mean_diff,
        confidence=confidence,
    )
    rho = spearman(js, hs)
    if rho is None:
        return ScoreAgreement(
            "inconclusive", "Spearman's rho is undefined: the judge or the humans gave one score only", **common
        )
    return ScoreAgreement(
        "ok",
        None,
        spearman=rho[0],
        spearman_p=rho[1],
        spearman_interval=spearman_interval(rho[0], n, confidence),
        **common,
    )


def _delta(level: Level, values: list[Any], totals: dict[Any, float]) -> dict[tuple[Any, Any], float]:
    """Krippendorff's squared difference delta^2 between every two values of the domain."""
    out: dict[tuple[Any, Any], float] = {}
    if level == "nominal":
        for c in values:
            for k in values:
                out[c, k] = 0.0 if c == k else 1.0
    elif level == "interval":
        for c in values:
            for k in values:
                out[c, k] = (float(c) - float(k)) ** 2
    else:  # ordinal: ranks through the marginal counts of the values between c and k
        ordered = sorted(values)
        position = {v: i for i, v in enumerate(ordered)}
        cumulative = [0.0]
        for v in ordered:
            cumulative.append(cumulative[-1] + totals[v])
        for c in values:
            for k in values:
                a, b = sorted((position[c], position[k]))
                between = cumulative[b + 1] - cumulative[a]
                out[c, k] = (between - (totals[ordered[a]] + totals[ordered[b]]) / 2.0) ** 2
    return out


def krippendorff_alpha(units: Sequence[Sequence[Any]], level: Level = "nominal") -> float | None:
    """Krippendorff's alpha over units (items), each the values its reviewers gave (None = missing).

    Units with fewer than two values are not pairable and do not count. None when alpha is undefined (fewer
    than two pairable values, or a single value throughout so expected disagreement is 0).
    """
    coincidence: dict[tuple[Any, Any], float] = {}
    for unit in units:
        given = [v for v in unit if v is not None]
        m = len(given)
        if m < 2:
            continue
        counts = Counter(given)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nc - 1) if c == k else nc * nk
                if pairs:
                    coincidence[c, k] = coincidence.get((c, k), 0.0) + pairs / (m - 1)
    totals: dict[Any, float] = {}
    for (c, _), o in coincidence.items():
        totals[c] = totals.get(c, 0.0) + o
    n = sum(totals.values())
    if n < 2:
        return None
    values = list(totals)
    delta = _delta(level, values, totals)
    observed = sum(o * delta[c, k] for (c, k), o in coincidence.items())
    expected = sum(totals[c] * totals[k] * delta[c, k] for c in values for k in values) / (n - 1)
    if expected <= 0:
        return None
    return 1.0 - observed / expected


@dataclass(frozen=True)
class ReviewerAgreement:
    """Humans among themselves on one criterion: Krippendorff's alpha over items with several reviewers."""

    status: Status
    reason: str | None
    items: int  # items with at least two reviewers' labels
    values: int  # labels on those items
    level: Level
    alpha: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "items": self.items,
            "labels": self.values,
            "level": self.level,
            "krippendorff_alpha": self.alpha,
        }


def reviewer_agreement(
    units: Sequence[Sequence[Any]], level: Level = "nominal", *, min_items: int = MIN_ITEMS
) -> ReviewerAgreement:
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [unit for unit in pairable if len(unit) >= 2]
    items, values = len(pairable), sum(len(u) for u in pairable)
    if items < min_items:
        return ReviewerAgreement(
            "inconclusive",
            f"{items} items with two or more reviewers, at least {min_items} needed",
            items,
            values,
            level,
        )
    alpha = krippendorff_alpha(pairable, level)
    if alpha is None:
        return ReviewerAgreement(
            "inconclusive", "alpha is undefined: every reviewer gave the same value", items, values, level
        )
    return ReviewerAgreement("ok", None, items, values, level, alpha)
