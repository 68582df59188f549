"""Issue 17: result ingestion has no cliff. A run with 50 scorers takes many single-result batches (the issue's
10,000 are in bench/ingest_cliff.py; here a size that runs in seconds): none is refused, each result is counted
once (run, every scorer, listing), and a batch costs the same write units at the end of the run as early on
(no item grows with the run). Write units are metered as DynamoDB bills them (bench/wcu.py)."""

from __future__ import annotations

from bench.ingest_cliff import run_cliff


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
