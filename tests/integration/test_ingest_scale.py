"""Issue 17: result ingestion has no cliff. A run with 50 scorers takes many single-result batches (the issue's
10,000 are in bench/ingest_cliff.py; here a size that runs in seconds): none is refused, each result is counted
once (run, every scorer, listing), and a batch costs the same write units at the end of the run as early on
(no item grows with the run). Write units are metered as DynamoDB bills them (bench/wcu.py)."""

from __future__ import annotations

from bench.ingest_cliff import metered_store, open_run, result, run_cliff
from bench.wcu import item_size
from evalgate import keys


def test_fifty_scorers_single_result_batches_no_cliff_counted_once_flat_cost() -> None:
    # every 4th batch is sent twice (a client retry); each scorer keeps to one histogram bin, so an item's
    # attributes are all there after its first write and any growth would come from the run's length
    f = run_cliff(8, 1, 50, resend_every=4, steady=True)
    assert f.errors == 0
    assert f.exact, (f.counted, f.scorer_counts, f.listed)
    plain = [u for b, u in enumerate(f.units_per_batch) if b % 4]
    assert max(plain[3:]) <= max(plain[:3]) + 1, plain  # flat: the last batches cost what the first did
    assert f.largest_item < 16_000  # far below DynamoDB's 400 KB, whatever the number of batches


def test_write_units_per_result_small_and_large_batches() -> None:
    one = run_cliff(20, 1, 0)
    hundred = run_cliff(3, 100, 0)
    assert one.exact and hundred.exact
    assert one.per_result() <= 3.0, one.units_per_batch
    assert hundred.per_result() <= 1.1, hundred.units_per_batch


def test_a_retried_hundred_result_batch_is_counted_once() -> None:
    f = run_cliff(2, 100, 3, resend_every=1)
    assert f.exact and f.errors == 0, (f.counted, f.scorer_counts, f.listed)


def test_a_big_result_body_is_stored_compressed_and_read_back_whole() -> None:
    """50 scorers' figures (~1 KB of JSON) and a long output: the body is stored zlib-compressed (billed by its
    bytes), so the result item stays within one write unit; every read path returns it exactly as sent."""
    with metered_store() as (store, meter):
        run = open_run(store, "p")
        small = result(0, 0)
        big = result(1, 50).model_copy(update={"actual_output": "a long answer " * 40})
        for r in (small, big):
            meter.reset()
            store.record_external_batch("p", run.id, "", [r])
        stored = {r.id: store.table.get(keys.run_result_by_id("p", run.id, r.id)) for r in (small, big)}
        assert isinstance(stored[big.id]["body"], bytes) and isinstance(stored[small.id]["body"], str)
        key = keys.run_result_by_id("p", run.id, big.id)
        raw = store.table.client.get_item(TableName=store.table.name, Key={k: {"S": v} for k, v in key.items()})
        assert item_size(raw["Item"]) <= 1024, item_size(raw["Item"])  # one write unit (its JSON body: ~1.6 KB)
        listed = store.list_external_results("p", run.id, limit=10, cursor=None).items
        assert {r.id: r for r in listed} == {small.id: small, big.id: big}
        assert store.get_run("p", run.id).aggregates.done == 2
        assert {a.count for a in store.scorer_aggregates("p", run.id)} == {1}
