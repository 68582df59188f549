"""Agreement statistics (evalgate.stats.agreement) against scikit-learn, scipy and the krippendorff package.

The references are imported in a fixture, so only the xdist worker that runs these tests pays for them.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from scipy import stats

from evalgate.stats.agreement import (
    categorical_agreement,
    kappa_from_matrix,
    kappa_interval,
    krippendorff_alpha,
    rank_average,
    reviewer_agreement,
    score_agreement,
    spearman,
)


@pytest.fixture(scope="module")
def sk() -> Any:
    import sklearn.metrics  # lazy: heavy, only this module's tests need it

    return sklearn.metrics


@pytest.fixture(scope="module")
def kripp() -> Any:
    import krippendorff  # lazy: only this module's tests need it

    return krippendorff


def _labels(rng: random.Random, n: int, classes: list[str], agree: float) -> tuple[list[str], list[str]]:
    human = [rng.choice(classes) for _ in range(n)]
    judge = [h if rng.random() < agree else rng.choice(classes) for h in human]
    return judge, human


@pytest.mark.parametrize("seed", range(12))
def test_kappa_confusion_precision_recall_match_sklearn(seed: int, sk: Any) -> None:
    rng = random.Random(seed)
    classes = ["pass", "fail"] if seed % 2 == 0 else ["a", "b", "c", "fail"]
    n = rng.choice([10, 23, 60, 250])
    judge, human = _labels(rng, n, classes, agree=rng.random())
    got = categorical_agreement(judge, human, labels=sorted(classes))
    assert got.status == "ok"
    assert got.kappa == pytest.approx(sk.cohen_kappa_score(human, judge), abs=1e-12)
    assert got.matrix == sk.confusion_matrix(human, judge, labels=sorted(classes)).tolist()
    assert got.observed == pytest.approx(sk.accuracy_score(human, judge))
    fail = dict(labels=["fail"], average=None, zero_division=np.nan)
    if got.precision is not None and got.precision.value is not None:
        assert got.precision.value == pytest.approx(sk.precision_score(human, judge, **fail)[0])
    if got.recall is not None and got.recall.value is not None:
        assert got.recall.value == pytest.approx(sk.recall_score(human, judge, **fail)[0])
    assert got.kappa_interval is not None and got.kappa is not None
    lo, hi = got.kappa_interval
    assert lo <= got.kappa <= hi
    assert got.base_rate == pytest.approx(max(human.count(c) for c in classes) / n)


def test_kappa_standard_error_matches_the_sampling_spread() -> None:
    """The large-sample SE against the spread of kappa over 4000 simulated tables (numpy, vectorised)."""
    p = np.array([[0.25, 0.05], [0.10, 0.60]])  # rows human, columns judge
    n = 400
    rng = np.random.default_rng(3)
    tables = rng.multinomial(n, p.ravel(), size=4000).reshape(-1, 2, 2) / n
    po = tables[:, 0, 0] + tables[:, 1, 1]
    rows, cols = tables.sum(2), tables.sum(1)
    pe = (rows * cols).sum(1)
    kappas = (po - pe) / (1 - pe)
    figures = kappa_from_matrix([[100, 20], [40, 240]])
    assert figures is not None
    assert figures[1] == pytest.approx(kappas.std(), rel=0.08)


def test_perfect_agreement_has_kappa_one_and_a_real_interval() -> None:
    labels = ["pass"] * 12 + ["fail"] * 8
    got = categorical_agreement(labels, labels)
    assert got.status == "ok" and got.kappa == 1.0
    lo, hi = got.kappa_interval  # type: ignore[misc]
    assert hi == 1.0 and lo < 0.95  # 20 items do not prove kappa = 1
    assert got.precision and got.precision.value == 1.0 and got.recall and got.recall.value == 1.0


def test_all_one_class_is_inconclusive_like_sklearn_nan(sk: Any) -> None:
    same = ["pass"] * 30
    with pytest.warns(UserWarning):  # sklearn: "undefined and set to ... nan"
        assert math.isnan(sk.cohen_kappa_score(same, same))
    got = categorical_agreement(same, same)
    assert got.status == "inconclusive" and got.kappa is None and "undefined" in (got.reason or "")
    assert got.observed == 1.0 and got.base_rate == 1.0 and got.matrix == [[30]]


def test_humans_one_class_judge_two_gives_kappa_zero(sk: Any) -> None:
    human = ["pass"] * 20
    judge = ["pass"] * 15 + ["fail"] * 5
    got = categorical_agreement(judge, human)
    assert got.kappa == pytest.approx(sk.cohen_kappa_score(human, judge)) == pytest.approx(0.0)
    assert got.observed == 0.75 and got.base_rate == 1.0  # raw agreement below the base rate: useless judge
    assert got.recall is not None and got.recall.value is None  # no human said fail


def test_missing_labels_are_dropped_and_counted(sk: Any) -> None:
    rng = random.Random(9)
    judge, human = _labels(rng, 40, ["pass", "fail"], 0.8)
    judge_m: list[str | None] = list(judge)
    human_m: list[str | None] = list(human)
    for i in (1, 5, 9):
        judge_m[i] = None
    human_m[20] = None
    got = categorical_agreement(judge_m, human_m)
    keep = [i for i in range(40) if i not in (1, 5, 9, 20)]
    assert got.n == 36 and got.missing == 4
    assert got.kappa == pytest.approx(sk.cohen_kappa_score([human[i] for i in keep], [judge[i] for i in keep]))


def test_too_few_items_is_inconclusive_without_numbers() -> None:
    got = categorical_agreement(["pass", "fail"] * 4, ["pass", "fail"] * 4)
    assert got.status == "inconclusive" and got.kappa is None and got.kappa_interval is None
    assert got.n == 8 and "at least 10" in (got.reason or "")
    assert got.to_dict()["confusion_matrix"] == [[4, 0], [0, 4]]


def test_unequal_lengths_and_unknown_labels_are_errors() -> None:
    with pytest.raises(ValueError, match="length"):
        categorical_agreement(["pass"], ["pass", "fail"])
    with pytest.raises(ValueError, match="outside"):
        categorical_agreement(["maybe"] * 10, ["pass"] * 10, labels=["pass", "fail"])


def test_kappa_interval_is_within_bounds_and_narrows_with_n() -> None:
    small = kappa_interval([[8, 2], [2, 8]])
    big = kappa_interval([[800, 200], [200, 800]])
    assert small and big
    assert -1.0 <= small[0] < big[0] < 0.6 < big[1] < small[1] <= 1.0


@pytest.mark.parametrize("seed", range(8))
def test_spearman_matches_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 200))
    human = rng.integers(1, 6, n).astype(float)  # a 1-5 scale: many ties
    judge = np.clip(human + rng.normal(0, rng.uniform(0.3, 3), n).round(), 1, 5)
    want = stats.spearmanr(judge, human)
    got = score_agreement(judge.tolist(), human.tolist())
    assert got.status == "ok"
    assert got.spearman == pytest.approx(want.statistic, abs=1e-10)
    assert got.spearman_p == pytest.approx(want.pvalue, rel=1e-6, abs=1e-12)
    assert got.mean_abs_diff == pytest.approx(float(np.abs(judge - human).mean()))
    assert got.mean_diff == pytest.approx(float((judge - human).mean()))
    lo, hi = got.spearman_interval  # type: ignore[misc]
    assert lo < got.spearman < hi  # type: ignore[operator]


def test_rank_average_matches_scipy_rankdata() -> None:
    values = [3.0, 1.0, 3.0, 2.0, 3.0, 1.0]
    assert rank_average(values) == stats.rankdata(values).tolist()


def test_score_edge_cases() -> None:
    assert spearman([1.0] * 12, list(range(12))) is None
    constant = score_agreement([3.0] * 12, [float(i % 5) for i in range(12)])
    assert constant.status == "inconclusive" and constant.spearman is None and constant.mean_abs_diff is not None
    perfect = score_agreement([float(i) for i in range(12)], [float(i) for i in range(12)])
    assert perfect.spearman == pytest.approx(1.0) and perfect.mean_abs_diff == 0.0
    few = score_agreement([1.0, None, 2.0], [1.0, 2.0, None])
    assert few.status == "inconclusive" and few.n == 1 and few.missing == 2


def _units(rng: random.Random, items: int, values: list[Any], missing: float) -> list[list[Any]]:
    units = []
    for _ in range(items):
        truth = rng.choice(values)
        reviewers = [truth if rng.random() < 0.7 else rng.choice(values) for _ in range(4)]
        units.append([None if rng.random() < missing else v for v in reviewers])
    return units


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("seed", range(4))
def test_krippendorff_alpha_matches_package(level: str, seed: int, kripp: Any) -> None:
    rng = random.Random(seed)
    units = _units(rng, rng.choice([12, 40, 90]), [1, 2, 3, 4, 5], missing=0.3)
    matrix = np.array([[np.nan if v is None else v for v in unit] for unit in units], dtype=float).T
    want = kripp.alpha(reliability_data=matrix, level_of_measurement=level)
    assert krippendorff_alpha(units, level) == pytest.approx(want, abs=1e-10)  # type: ignore[arg-type]


def test_krippendorff_alpha_on_strings_and_edges(kripp: Any) -> None:
    units: list[list[str | None]] = [
        ["pass", "pass", None],
        ["fail", "pass", "fail"],
        ["pass", None, None],
        ["fail", "fail", "fail"],
    ] * 3
    codes = {"pass": 0.0, "fail": 1.0}
    matrix = np.array([[np.nan if v is None else codes[v] for v in u] for u in units]).T
    assert krippendorff_alpha(units) == pytest.approx(
        kripp.alpha(reliability_data=matrix, level_of_measurement="nominal")
    )
    assert krippendorff_alpha([["pass", "pass"]] * 20) is None  # one value throughout
    assert krippendorff_alpha([["pass"], [None, "fail"]]) is None  # nothing pairable
    perfect = reviewer_agreement([["pass", "pass"], ["fail", "fail"]] * 6)
    assert perfect.status == "ok" and perfect.alpha == 1.0
    few = reviewer_agreement([["pass", "fail"]] * 3 + [["pass"]] * 20)
    assert few.status == "inconclusive" and few.items == 3
