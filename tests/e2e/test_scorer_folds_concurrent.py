"""Issue 17: concurrent single-result batches into one run, against the moto SERVER (in-process moto loses ADDs
under threads), with scorer figures folded and the run widening while it is written: every result counted once
in the run and in every scorer, and a reader running alongside never sees a scorer count go down or past the
number of results sent (a unit counted both owed and folded would show as a count too high). Every fourth result
has no scorer: its guard is not owed, and the writers remove such guards in their next update of the item (prune
notes, each writer its own), racing each other's notes, prunes and folds: the second test makes every writer
return to the same item, so that the notes are really carried."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import Runtime

WRITERS = 4
PER_WRITER = 24
SCORERS = 5


def test_concurrent_single_result_batches_fold_and_widen_exactly(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # folds every few batches (also once the run is wide), guards removable after 0.2 s (the writes last ~1 s),
    # epochs of 20 ms; widening after a few young guards; any prunable guard noted for the writer's next update
    _tune(monkeypatch, PRUNE_AGE=0.2, CLOCK_MARGIN=0.08, EPOCH=0.02, AGG_SHARDS=2, WIDEN_AT=3, PRUNE_AT=3, NOTE_AT=1)
    got = _write_concurrently(runtime)
    assert got["widened"], "the run did not widen while it was written"


def test_concurrent_writers_carry_their_prune_notes_exactly(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # one shard, no widening: every writer comes back to the same part 0 item, and carries what it noted there
    _tune(
        monkeypatch,
        PRUNE_AGE=0.05,
        CLOCK_MARGIN=0.02,
        EPOCH=0.02,
        AGG_SHARDS=1,
        WIDEN_AT=10_000,
        PRUNE_AT=12,
        NOTE_AT=1,
    )
    got = _write_concurrently(runtime, pairs=True)  # a one-result unit's guard is folded, never noted
    assert got["carried"] > 0, "no prune was carried by a later update"


def test_concurrent_one_result_batches_whose_epochs_are_folded_under_them_count_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fold lag of ~2 ms: folds close epochs while their units' counts are in flight, so writers (and the
    second writer sending the same result) are refused and label their results again, racing each other and the
    folds. Every figure exact, every result listed once, and the paired gate's outcomes each given once."""
    from evalgate.store import runs as runs_store

    _tune(
        monkeypatch,
        PRUNE_AGE=0.02,
        FOLD_LAG=0.1,
        CLOCK_MARGIN=0.01,
        EPOCH=0.002,
        AGG_SHARDS=1,
        WIDEN_AT=10_000,
        PRUNE_AT=4,
    )
    relabels: list[str] = []
    real = runs_store.RunStore._relabel

    def counted_relabel(self: Any, project_id: str, run_id: int, label: str, *args: Any, **kwargs: Any) -> bool:
        relabels.append(label)
        return real(self, project_id, run_id, label, *args, **kwargs)

    monkeypatch.setattr(runs_store.RunStore, "_relabel", counted_relabel)
    paused = itertools.count()

    def slow_writer(at: str) -> None:  # every other writer pauses between its claim and its count
        if at == "after-marker" and next(paused) % 2 == 0:
            time.sleep(0.08)

    monkeypatch.setattr(runs_store, "fault_hook", slow_writer)
    got = _write_concurrently(runtime, outcomes=True)
    assert relabels, "no unit was refused in a folded epoch"
    assert got["epoch_folds"] > 0


def _tune(monkeypatch: pytest.MonkeyPatch, **values: float) -> None:
    """The counters' timings and sizes for a test (store/run_counts.py's constants)."""
    from evalgate.store import run_counts

    for name, value in values.items():
        assert hasattr(run_counts, name), name
        monkeypatch.setattr(run_counts, name, value)


def _write_concurrently(runtime: Runtime, *, pairs: bool = False, outcomes: bool = False) -> dict[str, int]:
    """WRITERS threads (each its own store: its own prune notes) send their results one a batch (`pairs`: two),
    and some of the others' again; a reader reads scorer figures meanwhile. Asserts every figure exact; returns
    what happened."""
    import boto3

    from evalgate.models.domain import ExternalResult, Run
    from evalgate.store.blobs import Blobs
    from evalgate.store.runs import RunStore
    from evalgate.store.table import Table

    def store() -> RunStore:
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        client = session.client("dynamodb", endpoint_url=runtime.moto_url)
        return RunStore(Table("evalgate-local-Table", client), Blobs("unused", None))

    stores = [store() for _ in range(WRITERS + 1)]
    project = runtime.project_id
    run = Run(id=stores[0].new_run_id(), project_id=project, created_at=datetime.now(UTC))
    stores[0].create_run(run)
    n = WRITERS * PER_WRITER
    rows = [
        ExternalResult(
            id=f"r{i}",
            passed=i % 3 != 0,
            score=(i % 10) / 10,
            scorer_results={f"s{k}": (i + k) % 4 for k in range(SCORERS)} if i % 4 != 3 else {},
        )
        for i in range(n)
    ]
    scored = [i for i in range(n) if i % 4 != 3]
    barrier = threading.Barrier(WRITERS + 1)
    stop = threading.Event()
    seen: list[int] = []

    def write(w: int) -> None:
        mine = rows[w::WRITERS]
        theirs = rows[(w + 1) % WRITERS :: WRITERS][:6]  # sent again by a second writer: a concurrent retry
        barrier.wait(timeout=30)
        step = 2 if pairs else 1  # pairs: units with a done item (writer 3's have no scorer: prune notes)
        for i in range(0, len(mine), step):
            stores[w].record_external_batch(project, run.id, mine[i].id, mine[i : i + step])
            if i < len(theirs):
                stores[w].record_external_batch(project, run.id, theirs[i].id, theirs[i : i + step])

    def read() -> None:
        barrier.wait(timeout=30)
        while not stop.is_set():
            aggs = stores[WRITERS].scorer_aggregates(project, run.id)
            seen.append(min((a.count for a in aggs), default=0))
            seen.append(max((a.count for a in aggs), default=0))

    with ThreadPoolExecutor(max_workers=WRITERS + 1) as pool:
        reader = pool.submit(read)
        list(pool.map(write, range(WRITERS)))
        stop.set()
        reader.result()

    got = stores[0].get_run(project, run.id).aggregates
    assert (got.done, got.passed) == (n, sum(1 for r in rows if r.passed))
    aggs = {a.name: a for a in stores[0].scorer_aggregates(project, run.id)}
    for k in range(SCORERS):
        a = aggs[f"s{k}"]
        assert (a.count, a.values) == (len(scored), len(scored))
        assert a.score_sum == pytest.approx(sum((i + k) % 4 for i in scored))
    listed = stores[0].list_external_results(project, run.id, limit=1000, cursor=None).items
    assert len(listed) == n
    assert seen and max(seen) <= len(scored), seen  # never counted twice, even for a moment
    folds = [
        i
        for i in stores[0].table.query_all(f"PROJECT#{project}#RUN#{run.id}", "BATCH#F#")
        if str(i["SK"]).endswith("#D")
    ]
    assert folds, "no fold ran"
    if outcomes:  # the paired gate's outcomes: each counted result once, folded or owed
        assert sorted(o[0] for o in stores[0].iter_case_outcomes(project, run.id)) == sorted(r.id for r in rows)
    return {
        "widened": int(stores[0]._width(project, run.id) > 8),
        "carried": sum(s.counters.carried for s in stores),
        "epoch_folds": sum(1 for i in folds if str(i["SK"]).startswith("BATCH#F#vw")),
    }
