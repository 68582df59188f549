"""Issue 17: the pure parts of folded scorer figures and widened runs (store/run_counts.py)."""

from __future__ import annotations

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
