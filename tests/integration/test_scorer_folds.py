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

import json
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench.ingest_cliff import metered_store, open_run, result
from evalgate import keys
from evalgate.models.domain import ExternalResult, RunStatus
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
    monkeypatch.setattr(run_counts, "EPOCH", 0.02)
    monkeypatch.setattr(run_counts, "AGG_SHARDS", 1)


@pytest.fixture
def store() -> Iterator[tuple[Any, Any, str, int]]:
    with metered_store() as (s, meter):
        run = open_run(s, "p-fold")
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
    rows = [result(i, 16) for i in range(40)]  # sixteen scorers: a fold updates two parts
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


def test_figures_written_in_the_named_form_and_a_named_fold_left_pending_read_exactly(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run in progress when the coded form came: scorer figures under their names on parts 0-3 (a late judgment,
    a fold of the fourth pass), and such a fold killed after its first update. Read exactly, finished the way
    it began, and coded folds go on beside it."""
    s, _, project, run_id = store
    monkeypatch.setattr(run_counts, "PRUNE_AT", 10_000)  # no fold while the old state is made by hand
    monkeypatch.setattr(run_counts, "STUCK_FOLD_AGE", 1_000.0)  # the old fold is left to the run's end
    rows = [result(i, 20) for i in range(12)]
    for r in rows:
        s.record_external_batch(project, run_id, r.id, [r])
    # a fold as the fourth pass made it: record, guards taken into `pf|<label>`, then its named-form updates
    p0_key = keys.run_counter(project, run_id, 0, 0)
    p0 = s.table.get(p0_key) or {}
    owed = sorted(a for a in p0 if a.endswith(run_counts.OWED))
    old_fold = "F#0123456789ab~0"
    members = sorted((run_counts.label_of(a), str(p0[a]).partition("|")[2]) for a in owed)
    s.table.put({**keys.run_batch_marker(project, run_id, old_fold), "members": json.dumps(members), "at": 1.0})
    s.table.update(
        p0_key,
        "REMOVE " + ", ".join(f"#r{i}" for i in range(len(owed))) + " SET #p = :t ADD #c :one",
        names={**{f"#r{i}": a for i, a in enumerate(owed)}, "#p": f"{run_counts.PENDING}{old_fold}", "#c": "fc"},
        values={":t": round(time.time(), 3), ":one": 1},
    )
    scorers = s.counters.fold_scorers(project, run_id, old_fold)
    named = run_counts.plan({"run": {}, "scorers": scorers}, fold=True)
    assert len(named) > 1 and any(part == 0 for part, _ in named)  # the named form also wrote part 0
    monkeypatch.setattr(runs_store, "fault_hook", crash_on("fold-update-0"))
    with pytest.raises(Crash):
        s.counters.apply(project, run_id, old_fold, {"run": {}, "scorers": scorers})
    monkeypatch.setattr(runs_store, "fault_hook", None)
    # a late judgment adds its scorer at once, under its name
    late = result(500, 0)
    s.record_external_batch(project, run_id, late.id, [late])
    assert s.count_late_judgment(project, run_id, late.id, "judge", 0.75)
    items = s.table.batch_get(s.counters.keys(project, run_id))
    assert any(a.startswith(run_counts.SCORER) for i in items for a in i)  # figures under names are there
    want = {**expected(rows), "judge": (1, 1, 0.75)}
    assert figures(s, project, run_id) == want
    # more batches: coded folds beside the named one still pending
    monkeypatch.setattr(run_counts, "PRUNE_AT", 16)
    more = [result(i, 20) for i in range(12, 60)]
    for r in more:
        s.record_external_batch(project, run_id, r.id, [r])
    want = {**expected([*rows, *more]), "judge": (1, 1, 0.75)}
    assert folds_done(s, project, run_id) >= 1
    assert any(run_counts.decode(a) for i in s.table.batch_get(s.counters.keys(project, run_id)) for a in i)
    assert figures(s, project, run_id) == want
    assert old_fold in s.counters.unfinished(project, run_id)
    s.transition(project, run_id, RunStatus.completed, allowed_from=[RunStatus.running], now=datetime.now(UTC))
    assert figures(s, project, run_id) == want
    assert open_folds(s, project, run_id) == [] and s.counters.unfinished(project, run_id) == {}
    assert s.get_run(project, run_id).aggregates.done == len(rows) + len(more) + 1


def test_prune_notes_carry_only_done_units_guards_and_a_killed_unit_counts_once(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without scorers a part 0 item's old guards of units with a done item (batches of several results) are
    removed by this process's next update of it (no prune write of their own). A unit killed after its counter
    update keeps its guard through those notes (it has no done item), and its client's retry completes it once;
    another process's stale notes change nothing."""
    s, meter, project, run_id = store
    other = runs_store.RunStore(s.table, s.blobs)  # a second process on the same table: its own notes
    monkeypatch.setattr(run_counts, "NOTE_AT", 2)
    rows = [result(i, 0) for i in range(60)]
    pairs = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    killed = pairs[5]
    monkeypatch.setattr(runs_store, "fault_hook", crash_on("after-scorers"))
    with pytest.raises(Crash):
        s.record_external_batch(project, run_id, "killed", killed)
    monkeypatch.setattr(runs_store, "fault_hook", None)
    guard = next(a for i in s.table.batch_get(s.counters.keys(project, run_id, parts=(0,))) for a in i if "g|" in a)
    prunes = 0
    for n, pair in enumerate(p for p in pairs if p is not killed):
        time.sleep(0.01)
        meter.reset()
        (other if n % 5 == 4 else s).record_external_batch(project, run_id, f"b{n}", pair)
        prunes += sum(1 for size in meter.sizes[5:])  # beyond 2 claims, marker, counter update and done item
    assert s.counters.carried > 0
    assert prunes == 0, "a prune was written on its own"
    p0 = s.table.get(keys.run_counter(project, run_id, 0, 0)) or {}
    assert guard in p0  # the killed unit's guard stayed: it is not done
    assert sum(1 for a in p0 if a.startswith(run_counts.GUARD)) < run_counts.PRUNE_AT
    # the client retries the killed batch: completed, counted once
    s.record_external_batch(project, run_id, "killed", killed)
    run = s.get_run(project, run_id)
    assert run.aggregates.done == len(rows)
    assert len(s.list_external_results(project, run_id, limit=1000, cursor=None).items) == len(rows)
    assert s.counters.unfinished(project, run_id) == {}


def test_a_one_result_unit_killed_after_its_count_is_counted_once_and_needs_no_done_item(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-result unit is labelled with its epoch and writes no done item: killed right after its counter
    update it is counted (its guard says so, then the fold that takes it), its client's retry adds nothing, and
    its result is listed; the paired gate's outcomes have it once, before and after it is folded."""
    s, meter, project, run_id = store
    rows = [result(i, 3) for i in range(40)]
    monkeypatch.setattr(runs_store, "fault_hook", crash_on("after-scorers"))
    with pytest.raises(Crash):
        s.record_external_batch(project, run_id, rows[0].id, [rows[0]])
    monkeypatch.setattr(runs_store, "fault_hook", None)
    assert not s.record_external_batch(project, run_id, rows[0].id, [rows[0]])  # the retry: counted before
    assert s.get_run(project, run_id).aggregates.done == 1
    assert sorted(o[0] for o in s.iter_case_outcomes(project, run_id)) == [rows[0].id]
    for r in rows[1:]:
        time.sleep(0.005)
        meter.reset()
        assert s.record_external_batch(project, run_id, r.id, [r])
    pk, prefix = keys.run_batches_prefix(project, run_id)
    written = [str(i[keys.SK]) for i in s.table.query_all(pk, prefix)]
    assert not [k for k in written if k.startswith("BATCH#X#") and k.endswith("#D")], "a one-result unit's done item"
    assert not s.record_external_batch(project, run_id, rows[0].id, [rows[0]])  # retried after it was folded
    assert folds_done(s, project, run_id) >= 1
    p0 = s.table.get(keys.run_counter(project, run_id, 0, 0)) or {}
    assert int(p0[run_counts.FOLDED]) >= 0
    assert s.get_run(project, run_id).aggregates.done == len(rows)
    assert figures(s, project, run_id) == expected(rows)
    listed = s.list_external_results(project, run_id, limit=1000, cursor=None).items
    assert sorted(r.id for r in listed) == sorted(r.id for r in rows)
    outcomes = [o[0] for o in s.iter_case_outcomes(project, run_id)]
    assert sorted(outcomes) == sorted(r.id for r in rows)  # each once, folded or owed


def test_scorer_codes_are_given_once_per_name_whichever_process_asks(store: tuple[Any, Any, str, int]) -> None:
    s, _, project, run_id = store
    other = runs_store.RunStore(s.table, s.blobs)
    assert s.counters.codes(project, run_id, ["a", "b"], assign=True) == {"a": 0, "b": 1}
    assert other.counters.codes(project, run_id, ["c", "a"], assign=True) == {"c": 2, "a": 0}
    assert other.counters.codes(project, run_id, ["zz"], assign=False) == {}  # a reader gives none
    assert s.counters.codes(project, run_id, ["c", "d"], assign=True) == {"c": 2, "d": 3}
    assert other.counters.codes(project, run_id, ["d", "a", "b", "c"], assign=False) == {"d": 3, "a": 0, "b": 1, "c": 2}
    many = [f"scorer {i:03d} " + "x" * 180 for i in range(250)]  # more new names than one write gives codes to
    got = s.counters.codes(project, run_id, many, assign=True)
    assert sorted(got.values()) == list(range(4, 254))
    assert other.counters.codes(project, run_id, many[::-1], assign=False) == got


def test_a_one_result_unit_whose_epoch_was_folded_before_it_counted_is_labelled_again_once(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer slower than the fold lag between its claim and its count finds its epoch folded: its count is
    refused (the fold that covers the epoch does not name it), and its result moves to a fresh label and is
    counted there, once, whether the writer itself or a retry of the same result (another process) gets there
    first. The writer's move is answered refused although it landed (the SDK's retry of it): still counted."""
    s, _, project, run_id = store
    other = runs_store.RunStore(s.table, s.blobs)
    rows = [result(i, 2) for i in range(120)]
    feed = iter(rows)
    sent: list[ExternalResult] = []

    def folded() -> int:
        return int((s.table.get(keys.run_counter(project, run_id, 0, 0)) or {}).get(run_counts.FOLDED, -1))

    def stored(r: ExternalResult) -> dict[str, Any]:
        return s.table.get(keys.run_result_by_id(project, run_id, r.id)) or {}

    for retry in (False, True):
        r = next(feed)
        sent.append(r)
        paused: list[str] = []

        def hook(at: str, r: ExternalResult = r, retry: bool = retry, paused: list[str] = paused) -> None:
            if at != "after-marker":
                return
            monkeypatch.setattr(runs_store, "fault_hook", None)
            paused.append(str(stored(r)["batch"]))
            epoch = run_counts.epoch_of(paused[0])
            assert epoch is not None
            time.sleep(0.1)  # its epoch ends and ages past PRUNE_AGE; other writers fold it meanwhile
            for more in feed:
                time.sleep(0.005)
                other.record_external_batch(project, run_id, more.id, [more])
                sent.append(more)
                if folded() >= epoch:
                    break
            assert folded() >= epoch, "the paused unit's epoch was not folded"
            if retry:  # its client retries from another process: the retry moves it and counts it
                other.record_external_batch(project, run_id, r.id, [r])
                assert stored(r)["batch"] != paused[0]

        monkeypatch.setattr(runs_store, "fault_hook", hook)
        real_update, lost = s.table.update, []

        def update(key: Any, expr: str, real_update: Any = real_update, lost: list[str] = lost, **kw: Any) -> Any:
            got = real_update(key, expr, **kw)
            if expr.startswith("SET #b = :new") and not lost:  # the move landed, its answer lost, the retry refused
                lost.append(expr)
                raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, "UpdateItem")
            return got

        monkeypatch.setattr(s.table, "update", update)
        counted = s.record_external_batch(project, run_id, r.id, [r])
        monkeypatch.setattr(s.table, "update", real_update)
        assert paused, "the hook did not run"
        assert lost or retry, "the writer did not move its result"
        assert stored(r)["batch"] != paused[0], "its result kept the label whose epoch was folded"
        assert counted is (not retry)  # after a retry that counted it, the writer adds nothing
    run = s.get_run(project, run_id)
    assert run.aggregates.done == len(sent)
    assert figures(s, project, run_id) == expected(sent)
    listed = s.list_external_results(project, run_id, limit=1000, cursor=None).items
    assert sorted(x.id for x in listed) == sorted(x.id for x in sent)
    assert sorted(o[0] for o in s.iter_case_outcomes(project, run_id)) == sorted(x.id for x in sent)


def test_an_epoch_fold_whose_take_landed_but_was_answered_refused_is_finished_not_dropped(
    quick_folds: None, store: tuple[Any, Any, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK retries a write whose answer was lost; the retry is refused because the first landed. A fold's take
    (and a result's move to a fresh label) refused that way was taken: the fold is finished, not deleted (its
    record says which units it counted), and every figure, listing and lookup stays exact."""
    s, _, project, run_id = store
    real_update = s.table.update
    lost = {"take": 0}

    def update(key: Any, expr: str, **kw: Any) -> Any:
        got = real_update(key, expr, **kw)
        if ", #e = :el" in expr and lost["take"] < 2:  # the take landed; its answer was lost, the retry refused
            lost["take"] += 1
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "refused"}}, "UpdateItem"
            )
        return got

    monkeypatch.setattr(s.table, "update", update)
    rows = [result(i, 3) for i in range(80)]
    for r in rows:
        time.sleep(0.004)
        assert s.record_external_batch(project, run_id, r.id, [r])
    assert lost["take"] == 2
    assert s.get_run(project, run_id).aggregates.done == len(rows)
    assert figures(s, project, run_id) == expected(rows)
    listed = s.list_external_results(project, run_id, limit=1000, cursor=None).items
    assert sorted(x.id for x in listed) == sorted(x.id for x in rows)
    assert sorted(o[0] for o in s.iter_case_outcomes(project, run_id)) == sorted(x.id for x in rows)
    for r in rows[:10]:  # retries: counted before, nothing added
        assert not s.record_external_batch(project, run_id, r.id, [r])
    assert s.get_run(project, run_id).aggregates.done == len(rows)
