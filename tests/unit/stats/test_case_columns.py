"""Issue 17: the paired gate and comparison on compact per-case columns give the same figures and verdicts as
the dict form, in a bounded memory per result (1M results per run within 512 MB; the time at 1M is in
bench/paired_gate.py)."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from evalgate.stats.cases import CaseColumns
from evalgate.stats.gate import GateConfig, RunFigures, check_gate, compare_paired


def _rows(seed: int, cases: int, p: float, *, repeats: int = 1, drop: float = 0.0) -> list[tuple[str, str, float]]:
    r = random.Random(seed)
    rows = []
    for i in range(cases):
        if r.random() < drop:
            continue
        for _ in range(r.randint(1, repeats)):
            status = "p" if r.random() < p else ("f" if r.random() < 0.9 else "e")
            rows.append((f"case-{i:05d}-é", status, round(r.random(), 6)))
    r.shuffle(rows)  # arrival order is not key order
    return rows


def _both(rows: list[tuple[str, str, float]]) -> tuple[RunFigures, RunFigures]:
    """The same run as dicts (the form before issue 17) and as columns."""
    outcomes: dict[str, list[bool]] = {}
    scores: dict[str, list[float]] = {}
    for key, status, score in rows:
        outcomes.setdefault(key, []).append(status == "p")
        scores.setdefault(key, []).append(score)
    passed = sum(1 for _, s, _ in rows if s == "p")
    total = sum(s for _, _, s in rows)
    sq = sum(s * s for _, _, s in rows)
    means = {k: sum(v) / len(v) for k, v in scores.items()}
    plain = RunFigures(len(rows), passed, total, sq, case_outcomes=outcomes, case_scores=means)
    compact = RunFigures(len(rows), passed, total, sq, cases=CaseColumns.build(rows))
    return plain, compact


@pytest.mark.parametrize("repeats", [1, 3])
def test_columns_give_the_same_figures_and_verdicts_as_dicts(repeats: int) -> None:
    cur_plain, cur_cols = _both(_rows(1, 300, 0.82, repeats=repeats, drop=0.05))
    ctl_plain, ctl_cols = _both(_rows(2, 300, 0.78, repeats=repeats, drop=0.05))
    assert compare_paired(cur_cols, ctl_cols) == compare_paired(cur_plain, ctl_plain)
    configs = [
        GateConfig(mode="non-inferiority", margin=0.05),
        GateConfig(mode="threshold", threshold=0.8, k_of_n=(2, 3)),
        GateConfig(mode="non-inferiority", margin=0.05, k_of_n=(1, 2)),
    ]
    for config in configs:
        plain = check_gate(config, cur_plain, ctl_plain)
        compact = check_gate(config, cur_cols, ctl_cols)
        assert (compact.verdict, compact.reason, compact.figures) == (plain.verdict, plain.reason, plain.figures)


def test_columns_round_trip_and_sort_by_key() -> None:
    rows = [("b", "p", 0.5), ("a", "f", 0.25), ("b", "f", 0.75), ("ä", "p", 1.0)]
    cols = CaseColumns.build(rows)
    outcomes, means = cols.as_dicts()
    assert list(outcomes) == ["a", "b", "ä"]
    assert outcomes == {"a": [False], "b": [True, False], "ä": [True]}
    assert means == {"a": 0.25, "b": 0.625, "ä": 1.0}
    assert (len(cols), cols.results, cols.single) == (3, 4, False)


def test_memory_per_result_fits_a_million_results_per_run_in_512_mb() -> None:
    """Both runs' columns and their pairing, measured at 20,000 results each: under 150 bytes a result, so two runs
    of 1M results take ~300 MB with the interpreter's own ~60 MB (the full size is measured in bench/)."""
    n = 20_000
    cur = [(f"case-{i:07d}", "p" if i % 5 else "f", (i % 97) / 97) for i in range(n)]
    ctl = [(f"case-{i:07d}", "p" if i % 4 else "f", (i % 89) / 89) for i in range(n)]
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        a, b = CaseColumns.build(iter(cur)), CaseColumns.build(iter(ctl))
        (va, vb), (sa, sb) = a.pairs(b, None)
        deltas = [x - y for x, y in zip(sa, sb, strict=True)]  # what the bootstrap copies
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(va) == len(vb) == len(deltas) == n
    assert peak / (2 * n) < 150, f"{peak / (2 * n):.0f} bytes per result"


def test_where_keeps_only_the_accepted_cases_in_order() -> None:
    rows = [("b", "p", 1.0), ("a", "f", 0.0), ("c", "p", 0.5), ("a", "p", 1.0)]
    cols = CaseColumns.build(rows).where(lambda key: key != "b")
    assert [cols.key(i) for i in range(len(cols))] == [b"a", b"c"]
    assert [cols.count(i) for i in range(len(cols))] == [2, 1]
    assert cols.results == 3 and list(cols.passed) == [0, 1, 1] and list(cols.scores) == [0.0, 1.0, 0.5]


@pytest.mark.parametrize("repeats", [1, 3])
def test_columns_kept_as_bytes_read_back_the_same(repeats: int) -> None:
    """What the paired-gate worker keeps for a run (`to_bytes`) reads back (`from_bytes`) as the same columns, and
    the gate on them gives the same figures."""
    rows = _rows(11, 500, 0.8, repeats=repeats, drop=0.1)
    built = CaseColumns.build(rows)
    back = CaseColumns.from_bytes(built.to_bytes())
    assert back is not None and len(back) == len(built) and back.results == built.results
    assert back.single == built.single
    assert [back.key(i) for i in range(len(back))] == [built.key(i) for i in range(len(built))]
    assert [back.count(i) for i in range(len(back))] == [built.count(i) for i in range(len(built))]
    assert list(back.passed) == list(built.passed) and list(back.scores) == list(built.scores)
    control = CaseColumns.build(_rows(12, 500, 0.8, repeats=repeats))
    config = GateConfig(metric="score", mode="non-inferiority", threshold=0.8, margin=0.05, min_samples=10)

    def figures(cases: CaseColumns) -> RunFigures:
        scores = list(cases.scores)
        return RunFigures(
            n=len(scores),
            passed=sum(cases.passed),
            score_sum=sum(scores),
            score_sq_sum=sum(s * s for s in scores),
            cases=cases,
        )

    assert check_gate(config, figures(back), figures(control)) == check_gate(config, figures(built), figures(control))
    empty = CaseColumns.from_bytes(CaseColumns.build([]).to_bytes())
    assert empty is not None and len(empty) == 0


def test_a_kept_blob_that_is_not_whole_is_not_read() -> None:
    """Cut short, grown, of another format or byte order: None (the gate then streams the markers again)."""
    data = CaseColumns.build(_rows(13, 50, 0.8)).to_bytes()
    assert CaseColumns.from_bytes(data[:-1]) is None
    assert CaseColumns.from_bytes(data + b"\x00") is None
    assert CaseColumns.from_bytes(b"junk") is None
    other = data[:5] + (b"B" if data[5:6] == b"L" else b"L") + data[6:]
    assert CaseColumns.from_bytes(other) is None
