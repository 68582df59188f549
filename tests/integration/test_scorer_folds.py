"""Issue 17: per-scorer figures are folded, not rewritten by every small batch, and a hot run widens its counters.

A result batch adds only the run's figures (part 0 of its shard, with an "owed" guard); its scorer figures are
added later by a fold (store/run_counts.py). These tests drive the store on in-process moto (writes metered as
DynamoDB bills them) with the fold's timings shortened, so that folds happen after a few dozen batches:
- the cliff at a small size: many single-result batches with 50 scorers, every figure exact (not just counts),
  item sizes bounded, the cost per batch flat and below what a batch paid when every scorer was rewritten;
- a fold killed at each of its steps: the figures stay exact while it is stuck (readers merge the pending fold),
  and the fold is redone once (by a later writer, or when the run ends), never twice;
- a run taking a hot stream widens to more shards and still counts every result once.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.ingest_cliff import metered_store, result
from evalgate import keys
from evalgate.models.domain import ExternalResult, Run, RunStatus
from evalgate.store import run_counts
from evalgate.store import runs as runs_store


class Crash(Exception):
    pass


@pytest.fixture
def quick_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards may go (and be folded) 50 ms after their unit is done instead of 1 s (same-process clocks); one
    shard instead of eight, so its part 0 reaches PRUNE_AT guards after PRUNE_AT batches."""
    monkeypatch.setattr(run_counts, "PRUNE_AGE", 0.05)
    monkeypatch.setattr(run_counts, "CLOCK_MARGIN", 0.02)
    monkeypatch.setattr(run_counts, "AGG_SHARDS", 1)


@pytest.fixture
def store() -> Iterator[tuple[Any, Any, str, int]]:
    with metered_store() as (s, meter):
        run = Run(
            id=s.new_run_id(),
            project_id="p-fold",
            kind="external",
            status=RunStatus.running,
            created_at=datetime.now(UTC),
        )
        s.create_run(run)
        yield s, meter, run.project_id, run.id


def expected(rows: list[ExternalResult]) -> dict[str, tuple[int, int, float]]:
    """Per scorer: (count, values, sum of values) as the rows report them."""
    out: dict[str, list[float]] = {}
    for r in rows:
        for name, value in r.scorer_results.items():
            out.setdefault(name, []).append(float(value))
    return {name: (len(v), len(v), round(sum(v), 6)) for name, v in out.items()}


def figures(s: Any, project: str, run_id: int) -> dict[str, tuple[int, int, float]]:
    return {a.name: (a.count, a.values, round(a.score_sum, 6)) for a in s.scorer_aggregates(project, run_id)}


def pending_folds(s: Any, project: str, run_id: int) -> list[str]:
    items = s.table.batch_get(s.counters.keys(project, run_id))
    return [a for i in items for a in i if a.startswith(run_counts.PENDING)]


def open_folds(s: Any, project: str, run_id: int) -> list[str]:
    """Pending marks of folds that are not done (a done fold's mark stays until the next fold clears it)."""
    marks = [a[len(run_counts.PENDING) :] for a in pending_folds(s, project, run_id)]
    done = s.table.batch_get([keys.run_batch_done(project, run_id, f) for f in marks])
    return sorted(set(marks) - {str(d[keys.SK])[len("BATCH#") : -2] for d in done})


def crash_on(point: str) -> Any:
    def hook(at: str) -> None:
        if at == point:
            raise Crash(at)

    return hook


def folds_done(s: Any, project: str, run_id: int) -> int:
    pk, prefix = keys.run_batches_prefix(project, run_id)
    return sum(1 for i in s.table.query_all(pk, prefix + run_counts.FOLD) if str(i[keys.SK]).endswith("#D"))


def test_fifty_scorers_many_single_result_batches_exact_bounded_and_flat(
    quick_folds: None, store: tuple[Any, Any, str, int]
) -> None:
    s, meter, project, run_id = store
    rows = [result(i, 50) for i in range(64)]
    units: list[float] = []
    largest = 0
    for r in rows:
        meter.reset()
        assert s.record_external_batch(project, run_id, r.id, [r])
        units.append(meter.units)
        largest = max(largest, *meter.sizes)
    assert folds_done(s, project, run_id) >= 3  # folds really ran
    want = expected(rows)
    assert figures(s, project, run_id) == want
    assert s.get_run(project, run_id).aggregates.done == len(rows)
    listed = s.list_external_results(project, run_id, limit=1000, cursor=None).items
    assert len(listed) == len(rows)
    # bounded: no counter item grows with the run (the largest write is a scorer part or a result item)
    assert largest < 8_000, largest
    for item in s.table.batch_get(s.counters.keys(project, run_id)):
        assert sum(1 for a in item if a.startswith(run_counts.GUARD)) <= 2 * run_counts.PRUNE_AT
    # flat, and below the ~9.4-11 WCU a 50-scorer batch paid when every batch rewrote every scorer's figures
    third = len(units) // 3
    assert statistics.mean(units[-third:]) <= statistics.mean(units[third : 2 * third]) + 1.5, units
    assert statistics.mean(units) < 8.0, units
    # a late judgment (added at once, not owed) and a retry of a counted batch still land exactly
    assert not s.record_external_batch(project, run_id, rows[0].id, [rows[0]])
    assert figures(s, project, run_id) == want


@pytest.mark.parametrize("point", ["fold-pending", "fold-update-1", "fold-applied", "fold-done"])
def test_a_fold_killed_midway_is_redone_once(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    s, _, project, run_id = store
    armed = {"on": True}

    def hook(at: str) -> None:
        if armed["on"] and at == point:
            armed["on"] = False
            raise Crash(at)

    monkeypatch.setattr(runs_store, "fault_hook", hook)
    monkeypatch.setattr(s, "claim_lease_seconds", 0.05)
    rows = [result(i, 6) for i in range(40)]  # six scorers: a fold updates more than one part
    sent: list[ExternalResult] = []
    crashed: ExternalResult | None = None
    for r in rows:
        try:
            s.record_external_batch(project, run_id, r.id, [r])
        except Crash:
            crashed = r
        sent.append(r)
        if crashed is not None:
            break
    assert crashed is not None, "no fold ran"
    # while the fold is stuck (its writer dead), the figures are exact: owed units and the pending fold merged
    assert figures(s, project, run_id) == expected(sent)
    if point == "fold-done":  # killed after its done item: complete, its mark left for the next fold to clear
        assert pending_folds(s, project, run_id) and not open_folds(s, project, run_id)
    else:
        assert open_folds(s, project, run_id), "the killed fold is left pending"
    # the client retries the failed batch; more batches come; a later writer completes the stuck fold
    monkeypatch.setattr(run_counts, "STUCK_FOLD_AGE", 0.0)
    s.record_external_batch(project, run_id, crashed.id, [crashed])
    for n, r in enumerate(rows[len(sent) : len(sent) + 12]):
        s.record_external_batch(project, run_id, r.id, [r])
        sent.append(r)
        if n % 3 == 0:
            assert figures(s, project, run_id) == expected(sent)
    # ending the run finishes whatever is left (a fold, a unit) once
    s.transition(project, run_id, RunStatus.completed, allowed_from=[RunStatus.running], now=datetime.now(UTC))
    assert figures(s, project, run_id) == expected(sent)
    assert s.get_run(project, run_id).aggregates.done == len(sent)
    assert s.counters.unfinished(project, run_id) == {}
    assert open_folds(s, project, run_id) == []


def test_a_fold_killed_and_never_resumed_is_finished_when_the_run_ends(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _, project, run_id = store

    monkeypatch.setattr(runs_store, "fault_hook", crash_on("fold-pending"))
    rows = [result(i, 2) for i in range(40)]
    crashes = 0
    for r in rows:
        try:
            s.record_external_batch(project, run_id, r.id, [r])
        except Crash:
            crashes += 1
    assert crashes >= 1
    assert figures(s, project, run_id) == expected(rows)
    monkeypatch.setattr(runs_store, "fault_hook", None)
    assert s.finish_begun_units(project, run_id) >= crashes
    assert figures(s, project, run_id) == expected(rows)
    assert s.counters.unfinished(project, run_id) == {}
    listed = s.list_external_results(project, run_id, limit=1000, cursor=None).items
    assert len(listed) == len(rows) and s.get_run(project, run_id).aggregates.done == len(rows)


def test_a_hot_run_widens_and_counts_once(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _, project, run_id = store
    monkeypatch.setattr(run_counts, "WIDEN_AT", 4)
    monkeypatch.setattr(run_counts, "PRUNE_AGE", 5.0)  # every guard stays young: the run looks hot
    rows = [result(i, 2) for i in range(16)]
    for r in rows:
        s.record_external_batch(project, run_id, r.id, [r])
    width = s._width(project, run_id)
    assert width >= 8 * run_counts.WIDEN_BY
    labels = {i["batch"] for i in s.table.query_all(*keys.run_results_prefix(project, run_id)) if i.get("batch")}
    assert any(run_counts.shard_of(label) >= 8 for label in labels)  # counted beyond the first eight shards
    # a batch killed after it began counting in a wide shard is still found and finished when the run ends
    monkeypatch.setattr(runs_store, "fault_hook", crash_on("after-scorers"))
    extra = result(999, 4)
    with pytest.raises(Crash):
        s.record_external_batch(project, run_id, extra.id, [extra])
    monkeypatch.setattr(runs_store, "fault_hook", None)
    s.transition(project, run_id, RunStatus.completed, allowed_from=[RunStatus.running], now=datetime.now(UTC))
    everything = [*rows, extra]
    assert figures(s, project, run_id) == expected(everything)
    assert s.get_run(project, run_id).aggregates.done == len(everything)
    assert len(s.list_external_results(project, run_id, limit=1000, cursor=None).items) == len(everything)


def test_folds_leave_no_growing_items(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folds every few batches: the folds' own guards on the scorer parts are pruned too (else a part item would
    grow by a guard per fold, ~625,000 folds in a 10M-result run)."""
    s, _, project, run_id = store
    monkeypatch.setattr(run_counts, "PRUNE_AT", 4)
    monkeypatch.setattr(run_counts, "PRUNE_AGE", 0.0)
    monkeypatch.setattr(run_counts, "CLOCK_MARGIN", 0.0)
    rows = [result(i, 6) for i in range(60)]
    for r in rows:
        s.record_external_batch(project, run_id, r.id, [r])
    assert folds_done(s, project, run_id) >= 10
    for item in s.table.batch_get(s.counters.keys(project, run_id)):
        guards = [a for a in item if a.startswith(run_counts.GUARD)]
        assert len(guards) <= 3 * run_counts.PRUNE_AT, (item["PK"], guards)
    assert figures(s, project, run_id) == expected(rows)
