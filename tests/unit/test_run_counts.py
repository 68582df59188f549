"""Issue 17: the pure parts of folded scorer figures and widened runs (store/run_counts.py)."""

from __future__ import annotations

from typing import Any

from evalgate.store import run_counts as rc


def test_a_label_names_its_shard_when_the_run_is_wide_else_hashes_into_the_first_eight() -> None:
    assert rc.shard_of("X#0123456789abcdef~97") == 97
    assert rc.shard_of("F#0123456789ab~5") == 5
    plain = [rc.shard_of(f"X#{i:016x}") for i in range(200)]
    assert set(plain) == set(range(rc.AGG_SHARDS))
    assert rc.shard_of("S#batch~x") < rc.AGG_SHARDS  # not a shard number: hashed
    assert rc.shard_of("S#suite-batch~900") < rc.AGG_SHARDS  # a suite batch's label is its id: always hashed


def test_result_batches_with_scorers_owe_their_scorer_figures_others_add_them_at_once() -> None:
    with_scorers = {"run": {"aggDone": 1}, "scorers": {"exact": {"n": 1}}}
    without = {"run": {"aggDone": 1}, "scorers": {}}
    assert rc.defers_scorers("X#abc", with_scorers) and rc.defers_scorers("S#abc", with_scorers)
    assert not rc.defers_scorers("X#abc", without)
    assert not rc.defers_scorers("J#abc", with_scorers)  # a late judgment adds its scorer at once
    assert not rc.defers_scorers("F#abc~0", with_scorers)  # a fold is what adds them


def test_a_folds_plan_has_no_empty_run_update_and_guard_labels_parse() -> None:
    scorers = {f"s{i}": {"n": 2, "sum": 1.5} for i in range(12)}
    fold = rc.plan({"run": {}, "scorers": scorers}, fold=True)
    unit = rc.plan({"run": {}, "scorers": scorers})
    assert all(clauses for _, clauses in fold)
    assert sum(len(c) for _, c in fold) == sum(len(c) for _, c in unit) == 24
    assert len(unit) == len(fold) + (0 if any(p == 0 for p, _ in fold) else 1)
    assert rc.label_of("g|X#0123456789abcdef~3.s") == "X#0123456789abcdef~3"
    assert rc.label_of("g|F#0123456789ab~3.2") == "F#0123456789ab~3"


def test_adding_scorer_fields() -> None:
    into: dict[str, dict[str, float]] = {"a": {"n": 1}}
    rc.add_fields(into, {"a": {"n": 2, "sum": 0.5}, "b": {"n": 1}})
    assert into == {"a": {"n": 3, "sum": 0.5}, "b": {"n": 1}}


def test_a_coded_plan_keeps_part_0_free_names_its_guards_by_part_and_decodes() -> None:
    few = {f"s{i}": {"n": 3, "sum": 1.5} for i in range(5)}
    assert [p for p, _, _ in rc.coded_plan(few, {f"s{i}": i for i in range(5)})] == [1]  # a few scorers: one part
    n = rc.CODES_PER_PART * rc.CODED_PARTS
    scorers = {f"s{i}": {"n": 3, "sum": 1.5, "h05": 2, "nulls": 0} for i in range(n)}
    codes = {f"s{i}": i for i in range(n)}
    updates = rc.coded_plan(scorers, codes)
    assert {part for part, _, _ in updates} == set(range(1, rc.CODED_PARTS + 1))  # never part 0
    assert [suffix for _, suffix, _ in updates] == [f".{p}" for p in range(1, rc.CODED_PARTS + 1)]
    clauses = [c for _, _, cs in updates for c in cs]
    assert len(clauses) == 3 * n  # zero fields are not written
    assert ("7s", 1.5) in clauses and ("7F", 2) in clauses and (f"{n}n", 3) not in clauses
    assert rc.decode("7s") == (7, "sum") and rc.decode("123F") == (123, "h05") and rc.decode("12n") == (12, "n")
    assert rc.decode("s|x|n") is None and rc.decode("r3") is None and rc.decode("7") is None
    assert all(f"{rc.GUARD}F#vx~0{suffix}" in rc.coded_guards("F#vx~0", part) for part, suffix, _ in updates)
    # more clauses than one update holds: several updates of that part, each guarded
    wide = {f"w{i}": {f"h{b:02d}": 1 for b in range(20)} for i in range(40)}
    many = rc.coded_plan(wide, {f"w{i}": i * rc.CODED_PARTS * rc.CODES_PER_PART for i in range(40)})  # all on part 1
    assert [s for _, s, _ in many] == [".1", ".1_1", ".1_2", ".1_3", ".1_4", ".1_5", ".1_6"]
    assert rc.label_of("g|F#vabc~3.1_2") == "F#vabc~3"


def test_a_one_result_units_label_names_its_epoch_and_shard_and_its_guard_time_follows_from_it(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(rc.time, "time", lambda: 1_800_000_000.1)
    label = rc.epoch_label(8)
    assert rc.epoch_of(label) == int(1_800_000_000.1 / rc.EPOCH)
    assert 0 <= rc.shard_of(label) < 8 and label.rpartition("~")[2].isdigit()
    assert max(rc.shard_of(rc.epoch_label(512)) for _ in range(200)) >= 8  # a wide run: all its shards
    assert rc.epoch_of("X#0123456789abcdef") is None and rc.epoch_of("X#e12zz.ab~0") is None
    assert rc.epoch_of("X#eab") is None and rc.epoch_of("F#vw000.0000000000ab.abc~0") is None
    guard = f"{rc.GUARD}{label}{rc.OWED}"
    assert rc._guard_time(guard, "|r-1") == rc.epoch_of(label) * rc.EPOCH  # the value carries only the result id
    assert rc._guard_time(f"{rc.GUARD}X#abc.s", "1799999999.5|r-2") == 1799999999.5
    assert rc._solo_of("|r-1") == "r-1"
    # a fold's record sorts by shard, then by the last epoch it covers: the first at or after an epoch is found
    assert rc.epoch_fold_key(3, 0x1F) < rc.epoch_fold_key(3, 0x20) < rc.epoch_fold_key(4, 0)
    assert rc.epoch_fold_key(3, 0x20) < f"{rc.EPOCH_FOLD}{3:03x}/"
